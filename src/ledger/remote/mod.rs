//! The shared slug store: executables kept by content in a directory or an S3-compatible bucket.
//!
//! `slug-store = "…"` names it; objects are keyed `<prefix>/<sha256>/<name>`,
//! like `.releases/slugs/`. The crate is synchronous: `object_store` is async,
//! so each [`RemoteStore`] runs it on a private current-thread tokio runtime
//! that never leaves this module. (As with `reqwest::blocking`, a store must
//! not be used from inside another async runtime.)

mod transfer;

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use fs_err as fs;
use futures_util::StreamExt as _;
use object_store::path::Path as Key;
use object_store::{ObjectStore, ObjectStoreExt as _};
use transfer::PART_SIZE;

use super::release::{Executable, is_sha256};

/// The setting that names the store, for messages.
const SETTING: &str = "slug-store";

/// A slug store shared by everyone who deploys a workspace: a directory (a
/// shared mount) or an S3-compatible bucket.
pub(crate) struct RemoteStore {
    store: Arc<dyn ObjectStore>,
    /// Where the objects live inside the store (`prefix` of `s3://bucket/prefix`).
    prefix: Key,
    /// What users call the store: the setting's directory, or `s3://bucket/prefix`.
    location: String,
    /// Set for S3: where requests go (`AWS_ENDPOINT`), credentials removed.
    endpoint: Option<String>,
    runtime: tokio::runtime::Runtime,
    part_size: usize,
}

/// What [`RemoteStore::upload`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Uploaded {
    /// The object was not in the store; this many bytes were sent.
    Sent {
        /// The executable's size.
        bytes: u64,
    },
    /// An object with that content and name was already there (also when
    /// another uploader stored it first).
    Skipped,
    /// The object there had the wrong size, so could never be fetched; it
    /// was replaced with these bytes.
    Repaired {
        /// The executable's size.
        bytes: u64,
    },
}

/// What [`RemoteStore::fetch`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fetched {
    /// The object was downloaded and verified; this many bytes.
    Downloaded {
        /// The executable's size.
        bytes: u64,
    },
    /// The destination already held the right bytes; nothing was read from the store.
    AlreadyHere,
}

impl RemoteStore {
    /// Opens the store a `slug-store` setting names: `s3://bucket/prefix`, a
    /// `file://` URL or a directory path (relative to `workspace_root`).
    /// S3 takes its endpoint, region and credentials from the `AWS_*`
    /// environment variables, as `object_store`'s `AmazonS3Builder::from_env` does.
    pub(crate) fn parse(spec: &str, workspace_root: &Path) -> anyhow::Result<Self> {
        Self::parse_with_env(spec, workspace_root, std::env::vars_os())
    }

    /// [`RemoteStore::parse`] with the environment given, so tests need not change the process's.
    pub(crate) fn parse_with_env(
        spec: &str,
        workspace_root: &Path,
        env: impl IntoIterator<Item = (std::ffi::OsString, std::ffi::OsString)>,
    ) -> anyhow::Result<Self> {
        let spec = spec.trim();
        if spec.is_empty() {
            bail!("`{SETTING}` is empty: name a directory or an S3 bucket (`s3://bucket/prefix`)");
        }
        // `s3://key:secret@bucket`, `https://user:password@host`: the setting
        // is committed and shown in errors, so it is refused unechoed.
        if let Some((_, rest)) = spec.split_once("://")
            && rest
                .split('/')
                .next()
                .is_some_and(|authority| authority.contains('@'))
        {
            bail!(
                "`{SETTING}` must not hold credentials: give them in AWS_ACCESS_KEY_ID and \
                 AWS_SECRET_ACCESS_KEY (or another way the AWS tools read)"
            );
        }
        match url_scheme(spec) {
            None => Self::directory(&workspace_root.join(spec)),
            Some("file") => {
                let path = url::Url::parse(spec)
                    .ok()
                    .and_then(|url| url.to_file_path().ok())
                    .with_context(|| {
                        format!(
                            "`{SETTING} = \"{spec}\"` is not a local `file://` URL \
                             (write `file:///absolute/path`, or just the path)"
                        )
                    })?;
                Self::directory(&path)
            }
            Some("s3") => s3::open(spec, env),
            Some(_) => bail!(
                "`{SETTING} = \"{spec}\"` is not supported: the slug store is a directory \
                 (a path or a `file://` URL) or an S3-compatible bucket (`s3://bucket/prefix`)"
            ),
        }
    }

    /// A store in a directory that must exist: a shared mount that is not
    /// mounted must not silently become a local folder.
    fn directory(dir: &Path) -> anyhow::Result<Self> {
        // `slugs/`, `slugs` and `ws/../slugs` are one store, and messages
        // show it one way: `..` is taken lexically, as the setting reads.
        let mut normal = std::path::PathBuf::new();
        for part in dir.components() {
            match part {
                std::path::Component::ParentDir if normal.file_name().is_some() => {
                    normal.pop();
                }
                std::path::Component::CurDir => {}
                other => normal.push(other),
            }
        }
        let dir = normal;
        let dir = dir.as_path();
        let meta = fs::metadata(dir).with_context(|| {
            format!(
                "the `{SETTING}` directory `{}` cannot be used (is the shared folder mounted?)",
                dir.display()
            )
        })?;
        if !meta.is_dir() {
            bail!(
                "the `{SETTING}` directory `{}` is not a directory",
                dir.display()
            );
        }
        let store = object_store::local::LocalFileSystem::new_with_prefix(dir)
            .with_context(|| {
                format!(
                    "failed to open the `{SETTING}` directory `{}`",
                    dir.display()
                )
            })?
            // A deleted slug leaves no empty `<sha256>/` folder behind.
            .with_automatic_cleanup(true)
            // A crash must not leave a half-written object that looks whole.
            .with_fsync(true);
        Self::new(Arc::new(store), Key::ROOT, dir.display().to_string(), None)
    }

    fn new(
        store: Arc<dyn ObjectStore>,
        prefix: Key,
        location: String,
        endpoint: Option<String>,
    ) -> anyhow::Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("failed to start the runtime that talks to the slug store")?;
        Ok(Self {
            store,
            prefix,
            location,
            endpoint,
            runtime,
            part_size: PART_SIZE,
        })
    }

    /// The object key of an executable: `<prefix>/<sha256>/<name>`.
    fn key(&self, exe: &Executable) -> anyhow::Result<Key> {
        self.key_of(&exe.sha256, &exe.name)
    }

    fn key_of(&self, sha256: &str, name: &str) -> anyhow::Result<Key> {
        // Release files are validated on reading; this guards the store
        // against a caller that builds an `Executable` by hand.
        if !is_sha256(sha256) {
            bail!("`{sha256}` is not a sha256 digest");
        }
        if !is_plain_file_name(name) {
            bail!("executable name `{name}` is not a plain file name");
        }
        Ok(self.prefix.clone().join(sha256).join(name))
    }

    /// Whether the store holds the executable, with the right size (an
    /// object of another size could never be fetched).
    pub(crate) fn contains(&self, exe: &Executable) -> anyhow::Result<bool> {
        let key = self.key(exe)?;
        Ok(self.head(&key)?.is_some_and(|meta| meta.size == exe.size))
    }

    /// The object's metadata, `None` when it is not there.
    fn head(&self, key: &Key) -> anyhow::Result<Option<object_store::ObjectMeta>> {
        match self.runtime.block_on(self.store.head(key)) {
            Ok(meta) => Ok(Some(meta)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e).with_context(|| format!("failed to look up `{key}` in {self}")),
        }
    }

    /// Every executable in the store, by digest and name; `size` is the
    /// object's size, unverified. Other objects under the prefix are ignored.
    pub(crate) fn list(&self) -> anyhow::Result<Vec<Executable>> {
        let prefix = (self.prefix != Key::ROOT).then_some(&self.prefix);
        let objects: Vec<object_store::ObjectMeta> = self
            .runtime
            .block_on(async {
                let mut found = Vec::new();
                let mut stream = self.store.list(prefix);
                while let Some(meta) = stream.next().await {
                    found.push(meta?);
                }
                Ok::<_, object_store::Error>(found)
            })
            .with_context(|| format!("failed to list {self}"))?;
        let mut executables: Vec<Executable> = objects
            .into_iter()
            .filter_map(|meta| {
                let parts: Vec<_> = meta.location.prefix_match(&self.prefix)?.collect();
                let [sha256, name] = parts.as_slice() else {
                    return None;
                };
                let (sha256, name) = (sha256.as_ref(), name.as_ref());
                (is_sha256(sha256) && is_plain_file_name(name)).then(|| Executable {
                    name: name.to_owned(),
                    size: meta.size,
                    sha256: sha256.to_owned(),
                })
            })
            .collect();
        executables.sort_by(|a, b| (&a.sha256, &a.name).cmp(&(&b.sha256, &b.name)));
        Ok(executables)
    }

    /// Deletes one executable from the store; returns the bytes freed (0
    /// when it was not there).
    pub(crate) fn delete(&self, sha256: &str, name: &str) -> anyhow::Result<u64> {
        let key = self.key_of(sha256, name)?;
        let Some(meta) = self.head(&key)? else {
            return Ok(0);
        };
        match self.runtime.block_on(self.store.delete(&key)) {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(meta.size),
            Err(e) => Err(e).with_context(|| format!("failed to delete `{key}` from {self}")),
        }
    }
}

/// `slug store s3://bucket/prefix (at http://…)`, `slug store /mnt/slugs`.
impl RemoteStore {
    /// What users call the store: the setting's directory, or `s3://bucket/prefix`.
    pub(crate) fn location(&self) -> &str {
        &self.location
    }
}

impl fmt::Display for RemoteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "slug store `{}`", self.location)?;
        if let Some(endpoint) = &self.endpoint {
            write!(f, " at {endpoint}")?;
        }
        Ok(())
    }
}

/// Written by hand: the `object_store` client holds the credentials.
impl fmt::Debug for RemoteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteStore")
            .field("location", &self.location)
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

/// `s3` of `s3://…`; `None` for a path (`C:\…` included).
fn url_scheme(spec: &str) -> Option<&str> {
    let (scheme, _) = spec.split_once("://")?;
    let mut chars = scheme.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
    valid.then_some(scheme)
}

fn is_plain_file_name(s: &str) -> bool {
    !s.is_empty() && s != "." && s != ".." && !s.contains(['/', '\\', '\0'])
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(feature = "s3")]
mod s3;

/// Without the `s3` feature, an S3 store is refused for what it is.
#[cfg(not(feature = "s3"))]
mod s3 {
    use super::{RemoteStore, SETTING};

    pub(super) fn open(
        spec: &str,
        _env: impl IntoIterator<Item = (std::ffi::OsString, std::ffi::OsString)>,
    ) -> anyhow::Result<RemoteStore> {
        super::split_s3(spec)?;
        anyhow::bail!(
            "`{SETTING} = \"{spec}\"` names an S3 bucket, but this cargo-release-log was \
             built without S3 support; install it with `--features s3`"
        )
    }
}

/// `("bucket", "prefix")` of `s3://bucket/prefix`, refusing what cannot be a bucket.
fn split_s3(spec: &str) -> anyhow::Result<(&str, &str)> {
    let rest = &spec["s3://".len()..];
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty()
        || !bucket
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._".contains(c))
    {
        bail!("`{SETTING} = \"{spec}\"` does not name a bucket: write `s3://bucket/prefix`");
    }
    Ok((bucket, prefix))
}

#[cfg(all(test, feature = "s3"))]
#[path = "../../../tests/cli/s3.rs"]
mod s3_server;

#[cfg(test)]
mod tests {
    use std::ffi::OsString;
    use std::path::PathBuf;

    use sha2::{Digest as _, Sha256};

    use super::*;

    /// An executable's record and its bytes.
    fn exe(name: &str, bytes: &[u8]) -> Executable {
        Executable {
            name: name.to_owned(),
            size: bytes.len() as u64,
            sha256: hex(&Sha256::digest(bytes)),
        }
    }

    /// Bytes that differ at every size, so a digest tells them apart.
    fn bytes(len: usize, seed: u8) -> Vec<u8> {
        let mut x = u32::from(seed) | 1;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect()
    }

    /// A temporary folder holding `file` with `contents`.
    fn local_file(contents: &[u8]) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("built");
        fs::write(&path, contents).unwrap();
        (dir, path)
    }

    fn no_env() -> Vec<(OsString, OsString)> {
        Vec::new()
    }

    /// The names in `dir`, sorted.
    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }

    fn directory_store() -> (tempfile::TempDir, RemoteStore) {
        let root = tempfile::tempdir().unwrap();
        fs::create_dir(root.path().join("shared")).unwrap();
        let store = RemoteStore::parse_with_env("shared", root.path(), no_env()).unwrap();
        (root, store)
    }

    #[test]
    fn parse_directories() {
        let root = tempfile::tempdir().unwrap();
        let shared = root.path().join("mnt slugs");
        fs::create_dir(&shared).unwrap();
        // Relative to the workspace root, absolute, and as a file:// URL.
        for spec in [
            "mnt slugs".to_owned(),
            shared.display().to_string(),
            url::Url::from_directory_path(&shared).unwrap().to_string(),
        ] {
            let store = RemoteStore::parse(&spec, root.path()).unwrap();
            assert_eq!(store.location, shared.display().to_string(), "{spec}");
            assert_eq!(
                store.to_string(),
                format!("slug store `{}`", shared.display())
            );
        }
    }

    #[test]
    fn parse_refuses_what_is_no_store() {
        let root = tempfile::tempdir().unwrap();
        fs::write(root.path().join("file"), "").unwrap();
        let cases = [
            ("", "`slug-store` is empty"),
            ("  ", "`slug-store` is empty"),
            ("missing", "is the shared folder mounted?"),
            ("file", "is not a directory"),
            (
                "gs://bucket/slugs",
                "`slug-store = \"gs://bucket/slugs\"` is not supported",
            ),
            ("https://example.com/slugs", "is not supported"),
            ("file://host/slugs", "is not a local `file://` URL"),
            ("s3://", "does not name a bucket"),
            ("s3:///slugs", "does not name a bucket"),
            ("s3://bu?cket/x", "does not name a bucket"),
            ("s3://Bucket Name/x", "does not name a bucket"),
        ];
        for (spec, expected) in cases {
            let err = RemoteStore::parse_with_env(spec, root.path(), no_env()).unwrap_err();
            let text = format!("{err:#}");
            assert!(text.contains(expected), "{spec:?}: {text}");
        }
    }

    #[test]
    fn credentials_in_the_url_are_refused_unechoed() {
        let root = tempfile::tempdir().unwrap();
        for spec in [
            "s3://AKIAEXAMPLE:wJalrXUtnFEMI@bucket/slugs",
            "https://AKIAEXAMPLE:wJalrXUtnFEMI@example.com/slugs",
            "file://AKIAEXAMPLE:wJalrXUtnFEMI@/slugs",
        ] {
            let err = RemoteStore::parse_with_env(spec, root.path(), no_env()).unwrap_err();
            let text = format!("{err:#} {err:?}");
            assert!(text.contains("must not hold credentials"), "{text}");
            assert!(
                !text.contains("wJalrXUtnFEMI") && !text.contains("AKIAEXAMPLE"),
                "{text}"
            );
        }
    }

    #[test]
    #[cfg(unix)]
    fn fetch_refuses_a_symlinked_folder() {
        let (_root, store) = directory_store();
        let contents = bytes(100, 10);
        let app = exe("app", &contents);
        let (_dir, built) = local_file(&contents);
        store.upload(&app, &built).unwrap();
        let fresh = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), fresh.path().join("slug")).unwrap();
        let err = store
            .fetch(&app, &fresh.path().join("slug/app"))
            .unwrap_err();
        assert!(format!("{err:#}").contains("is a symbolic link"), "{err:#}");
        assert_eq!(names(outside.path()), Vec::<String>::new());
        // Nor is a symlink where the executable goes replaced.
        std::os::unix::fs::symlink(&built, fresh.path().join("app")).unwrap();
        let err = store.fetch(&app, &fresh.path().join("app")).unwrap_err();
        assert!(format!("{err:#}").contains("not a regular file"), "{err:#}");
    }

    #[test]
    #[cfg(not(feature = "s3"))]
    fn s3_needs_the_feature() {
        let root = tempfile::tempdir().unwrap();
        let err =
            RemoteStore::parse_with_env("s3://bucket/slugs", root.path(), no_env()).unwrap_err();
        assert!(format!("{err}").contains("--features s3"), "{err}");
    }

    #[test]
    fn directory_upload_skip_fetch() {
        let (_root, store) = directory_store();
        let contents = bytes(3000, 1);
        let app = exe("app", &contents);
        let (_dir, built) = local_file(&contents);

        assert!(!store.contains(&app).unwrap());
        assert_eq!(
            store.upload(&app, &built).unwrap(),
            Uploaded::Sent { bytes: 3000 }
        );
        assert!(store.contains(&app).unwrap());
        let object = Path::new(&store.location).join(&app.sha256).join("app");
        assert_eq!(fs::read(&object).unwrap(), contents);
        // Content-addressed: the second upload sends nothing.
        let written = fs::metadata(&object).unwrap().modified().unwrap();
        assert_eq!(store.upload(&app, &built).unwrap(), Uploaded::Skipped);
        assert_eq!(fs::metadata(&object).unwrap().modified().unwrap(), written);
        assert_eq!(store.list().unwrap(), std::slice::from_ref(&app));

        let fresh = tempfile::tempdir().unwrap();
        let dest = fresh.path().join("slugs").join(&app.sha256).join("app");
        assert_eq!(
            store.fetch(&app, &dest).unwrap(),
            Fetched::Downloaded { bytes: 3000 }
        );
        assert_eq!(fs::read(&dest).unwrap(), contents);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = fs::metadata(&dest).unwrap().permissions().mode();
            assert_eq!(mode & 0o111, 0o111, "{mode:o}");
        }
        // Fetching what is already here reads nothing from the store.
        fs::remove_file(&object).unwrap();
        assert_eq!(store.fetch(&app, &dest).unwrap(), Fetched::AlreadyHere);
        assert_eq!(names(dest.parent().unwrap()), ["app"]);
    }

    #[test]
    fn directory_big_files_go_in_parts() {
        let (_root, mut store) = directory_store();
        store.part_size = 64 * 1024;
        let contents = bytes(200 * 1024 + 17, 2);
        let app = exe("app", &contents);
        let (_dir, built) = local_file(&contents);
        assert_eq!(
            store.upload(&app, &built).unwrap(),
            Uploaded::Sent { bytes: app.size }
        );
        assert_eq!(store.upload(&app, &built).unwrap(), Uploaded::Skipped);
        assert_eq!(store.list().unwrap(), std::slice::from_ref(&app));
        let fresh = tempfile::tempdir().unwrap();
        let dest = fresh.path().join("app");
        store.fetch(&app, &dest).unwrap();
        assert_eq!(fs::read(&dest).unwrap(), contents);
    }

    #[test]
    fn upload_refuses_a_local_file_that_is_not_the_record() {
        let (_root, mut store) = directory_store();
        let app = exe("app", &bytes(5000, 3));
        for part_size in [PART_SIZE, 1024] {
            store.part_size = part_size;
            for wrong in [bytes(5000, 4), bytes(4999, 3), bytes(6000, 3)] {
                let (_dir, built) = local_file(&wrong);
                let err = store.upload(&app, &built).unwrap_err();
                let text = format!("{err:#}");
                assert!(text.contains("is not the `app` recorded"), "{text}");
                assert!(text.contains(&app.sha256), "{text}");
            }
            assert_eq!(store.list().unwrap(), []);
        }
        // An aborted upload may leave an empty `<sha256>/` folder, never a file.
        for name in names(Path::new(&store.location)) {
            let dir = Path::new(&store.location).join(name);
            assert_eq!(names(&dir), Vec::<String>::new());
        }
    }

    #[test]
    fn upload_refuses_a_symlink() {
        let (_root, store) = directory_store();
        let contents = bytes(100, 5);
        let app = exe("app", &contents);
        let (dir, built) = local_file(&contents);
        let link = dir.path().join("link");
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(&built, &link).unwrap();
            let err = store.upload(&app, &link).unwrap_err();
            assert!(format!("{err:#}").contains("not a regular file"), "{err:#}");
        }
    }

    /// A good local copy, a damaged one, and none, each fetched from a corrupt store.
    fn corrupt_objects_are_refused(store: &RemoteStore, object_file: &Path) {
        let contents = bytes(4096, 6);
        let app = exe("app", &contents);
        let (_dir, built) = local_file(&contents);
        store.upload(&app, &built).unwrap();
        let key = format!("{}/app", app.sha256);

        // Same size, other bytes: only the digest can tell.
        let mut bad = contents.clone();
        bad[100] ^= 1;
        fs::write(object_file.join(&app.sha256).join("app"), &bad).unwrap();
        let bad_sha256 = hex(&Sha256::digest(&bad));

        let fresh = tempfile::tempdir().unwrap();
        let dest = fresh.path().join("app");
        let err = store.fetch(&app, &dest).unwrap_err();
        let text = format!("{err:#}");
        assert!(text.contains(&key), "{text}");
        assert!(text.contains("is corrupt"), "{text}");
        assert!(
            text.contains(&bad_sha256) && text.contains(&app.sha256),
            "{text}"
        );
        assert_eq!(
            names(fresh.path()),
            Vec::<String>::new(),
            "a temporary file was left"
        );

        // A good local copy is kept, and the store is not even read.
        fs::write(&dest, &contents).unwrap();
        assert_eq!(store.fetch(&app, &dest).unwrap(), Fetched::AlreadyHere);
        assert_eq!(fs::read(&dest).unwrap(), contents);

        // A damaged local copy is not replaced by a corrupt object either.
        fs::write(&dest, b"truncat").unwrap();
        assert!(store.fetch(&app, &dest).is_err());
        assert_eq!(fs::read(&dest).unwrap(), b"truncat");
        assert_eq!(names(fresh.path()), ["app"]);

        // A shorter object is refused by its size, before anything is downloaded.
        fs::write(object_file.join(&app.sha256).join("app"), &contents[..4000]).unwrap();
        let err = store.fetch(&app, &dest).unwrap_err();
        let text = format!("{err:#}");
        let expected = format!(
            "it has 4000 bytes, but `app` (sha256 {}) has 4096",
            app.sha256
        );
        assert!(text.contains(&expected), "{text}");
        assert!(!store.contains(&app).unwrap());

        // A deploy that has the right bytes repairs it.
        assert_eq!(
            store.upload(&app, &built).unwrap(),
            Uploaded::Repaired { bytes: 4096 }
        );
        assert_eq!(
            store.fetch(&app, &dest).unwrap(),
            Fetched::Downloaded { bytes: 4096 }
        );
        assert_eq!(fs::read(&dest).unwrap(), contents);
        assert_eq!(names(fresh.path()), ["app"]);
    }

    /// A missing object names its key and the store.
    fn missing_objects_are_named(store: &RemoteStore) {
        let app = exe("app", b"never uploaded");
        let fresh = tempfile::tempdir().unwrap();
        let err = store.fetch(&app, &fresh.path().join("app")).unwrap_err();
        let text = format!("{err:#}");
        assert!(
            text.contains(&format!("{}/app` is not in {store}", app.sha256)),
            "{text}"
        );
        assert_eq!(names(fresh.path()), Vec::<String>::new());
        assert!(!store.contains(&app).unwrap());
        assert_eq!(store.delete(&app.sha256, "app").unwrap(), 0);
    }

    #[test]
    fn directory_corrupt_and_missing() {
        let (_root, store) = directory_store();
        corrupt_objects_are_refused(&store, Path::new(&store.location));
        missing_objects_are_named(&store);
    }

    #[test]
    fn directory_delete() {
        let (_root, store) = directory_store();
        let contents = bytes(1234, 7);
        let app = exe("app", &contents);
        let (_dir, built) = local_file(&contents);
        store.upload(&app, &built).unwrap();
        assert_eq!(store.delete(&app.sha256, "app").unwrap(), 1234);
        assert_eq!(store.list().unwrap(), []);
        // No empty `<sha256>/` folder is left behind.
        assert_eq!(names(Path::new(&store.location)), Vec::<String>::new());
        assert!(store.delete("x", "app").is_err());
        assert!(store.delete(&app.sha256, "../app").is_err());
    }

    #[test]
    fn list_ignores_other_objects() {
        let (_root, store) = directory_store();
        let dir = Path::new(&store.location);
        fs::create_dir_all(dir.join("notes")).unwrap();
        fs::write(dir.join("notes/readme"), "").unwrap();
        fs::write(dir.join("loose"), "").unwrap();
        let app = exe("app", b"x");
        fs::create_dir_all(dir.join(&app.sha256).join("deeper")).unwrap();
        fs::write(dir.join(&app.sha256).join("deeper/app"), "x").unwrap();
        assert_eq!(store.list().unwrap(), []);
        fs::write(dir.join(&app.sha256).join("app"), "x").unwrap();
        assert_eq!(store.list().unwrap(), [app]);
    }

    #[cfg(feature = "s3")]
    mod s3 {
        use object_store::{PutMode, PutPayload};

        use super::super::s3_server::{BUCKET, S3Server, SECRET_KEY};
        use super::*;

        fn env(server: &S3Server) -> Vec<(OsString, OsString)> {
            server
                .env()
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect()
        }

        fn s3_store(server: &S3Server, spec: &str) -> RemoteStore {
            let root = tempfile::tempdir().unwrap();
            RemoteStore::parse_with_env(spec, root.path(), env(server)).unwrap()
        }

        /// The file s3s-fs keeps an object in, and its identity: a re-put replaces the file.
        fn identity(path: &Path) -> (u64, std::time::SystemTime) {
            use std::os::unix::fs::MetadataExt as _;
            let meta = fs::metadata(path).unwrap();
            (meta.ino(), meta.modified().unwrap())
        }

        #[test]
        fn upload_once_then_fetch() {
            let server = S3Server::start();
            let store = s3_store(&server, &format!("s3://{BUCKET}/team/slugs/"));
            let contents = bytes(70_000, 8);
            let app = exe("app", &contents);
            let (_dir, built) = local_file(&contents);

            assert!(!store.contains(&app).unwrap());
            assert_eq!(
                store.upload(&app, &built).unwrap(),
                Uploaded::Sent { bytes: 70_000 }
            );
            let object = server
                .bucket_dir()
                .join("team/slugs")
                .join(&app.sha256)
                .join("app");
            assert_eq!(fs::read(&object).unwrap(), contents);
            let before = identity(&object);
            assert_eq!(store.upload(&app, &built).unwrap(), Uploaded::Skipped);
            assert_eq!(identity(&object), before, "the object was put again");
            assert_eq!(store.list().unwrap(), std::slice::from_ref(&app));

            // Two uploaders that both missed the object: the one that comes
            // second finds it there (create-if-absent) and writes nothing.
            let key = store.key(&app).unwrap();
            let again = PutPayload::from(contents.clone());
            assert!(!store.put_new(&key, again, PutMode::Create).unwrap());
            assert_eq!(identity(&object), before, "the object was put again");

            // Someone else's fresh clone fetches and verifies it.
            let other = s3_store(&server, &format!("s3://{BUCKET}/team/slugs"));
            let fresh = tempfile::tempdir().unwrap();
            let dest = fresh
                .path()
                .join(".releases/slugs")
                .join(&app.sha256)
                .join("app");
            assert_eq!(
                other.fetch(&app, &dest).unwrap(),
                Fetched::Downloaded { bytes: 70_000 }
            );
            assert_eq!(fs::read(&dest).unwrap(), contents);
            assert_eq!(other.fetch(&app, &dest).unwrap(), Fetched::AlreadyHere);

            assert_eq!(other.delete(&app.sha256, "app").unwrap(), 70_000);
            assert_eq!(store.list().unwrap(), []);
            assert!(!object.exists());
        }

        #[test]
        fn big_files_stream_in_parts() {
            let server = S3Server::start();
            let mut store = s3_store(&server, &format!("s3://{BUCKET}"));
            // S3's smallest part, so that the test stays quick with several parts.
            store.part_size = 5 * 1024 * 1024;
            let contents = bytes(11 * 1024 * 1024 + 5, 9);
            let app = exe("server", &contents);
            let (_dir, built) = local_file(&contents);
            assert_eq!(
                store.upload(&app, &built).unwrap(),
                Uploaded::Sent { bytes: app.size }
            );
            let object = server.bucket_dir().join(&app.sha256).join("server");
            let before = identity(&object);
            assert_eq!(store.upload(&app, &built).unwrap(), Uploaded::Skipped);
            assert_eq!(identity(&object), before, "the object was put again");
            assert_eq!(store.list().unwrap(), std::slice::from_ref(&app));

            let fresh = tempfile::tempdir().unwrap();
            let dest = fresh.path().join("server");
            assert_eq!(
                store.fetch(&app, &dest).unwrap(),
                Fetched::Downloaded { bytes: app.size }
            );
            assert!(fs::read(&dest).unwrap() == contents);

            // A local file that changed after it was stored is never completed into an object.
            let mut changed = contents.clone();
            changed[6 * 1024 * 1024] ^= 1;
            let other = exe("other", &contents);
            let (_dir, built) = local_file(&changed);
            let err = store.upload(&other, &built).unwrap_err();
            assert!(
                format!("{err:#}").contains("is not the `other` recorded"),
                "{err:#}"
            );
            assert_eq!(store.list().unwrap(), [app]);
        }

        #[test]
        fn corrupt_and_missing() {
            let server = S3Server::start();
            let store = s3_store(&server, &format!("s3://{BUCKET}/slugs"));
            corrupt_objects_are_refused(&store, &server.bucket_dir().join("slugs"));
            missing_objects_are_named(&store);
        }

        #[test]
        fn secrets_never_show() {
            let server = S3Server::start();
            let store = s3_store(&server, &format!("s3://{BUCKET}/slugs"));
            let shown = format!("{store} {store:?}");
            assert!(shown.contains(server.endpoint()), "{shown}");
            assert!(!shown.contains(SECRET_KEY), "{shown}");

            // A wrong secret and credentials in the endpoint URL: the errors name neither.
            let root = tempfile::tempdir().unwrap();
            let mut env = env(&server);
            let wrong = "wrong-secret-9fQ2";
            for (key, value) in &mut env {
                if key == "AWS_SECRET_ACCESS_KEY" {
                    *value = wrong.into();
                }
                if key == "AWS_ENDPOINT" {
                    let with_user = server.endpoint().replace("http://", "http://user:pw-3kT@");
                    *value = with_user.into();
                }
            }
            let store =
                RemoteStore::parse_with_env(&format!("s3://{BUCKET}/slugs"), root.path(), env)
                    .unwrap();
            let app = exe("app", b"contents");
            let (_dir, built) = local_file(b"contents");
            let errors = [
                store.upload(&app, &built).unwrap_err(),
                store.fetch(&app, &root.path().join("app")).unwrap_err(),
                store.list().unwrap_err(),
            ];
            for err in errors {
                let text = format!("{store} {store:?} {err:#} {err:?}");
                for secret in [SECRET_KEY, wrong, "pw-3kT"] {
                    assert!(!text.contains(secret), "{secret} shows in: {text}");
                }
            }
            assert_eq!(names(&server.bucket_dir()), Vec::<String>::new());
        }

        #[test]
        fn parse_errors() {
            let root = tempfile::tempdir().unwrap();
            let err =
                RemoteStore::parse_with_env("s3://slugs/a//b", root.path(), no_env()).unwrap_err();
            assert!(format!("{err:#}").contains("the prefix of"), "{err:#}");
        }
    }
}
