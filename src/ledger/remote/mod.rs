//! The shared slug store: executables kept by content in a directory or an S3-compatible bucket.
//!
//! `slug-store = "…"` names it; objects are keyed `<prefix>/<sha256>/<name>`,
//! like `.releases/slugs/`. The crate is synchronous: `object_store` is async,
//! so each [`RemoteStore`] runs it on a private current-thread tokio runtime
//! that never leaves this module. (As with `reqwest::blocking`, a store must
//! not be used from inside another async runtime.)
//!
//! An object counts as in the store only once its bytes were read and hashed
//! to the sha256 its release records. What was verified is remembered in
//! `.releases/.store-verified` ([`Remembered`]) by what identifies the
//! object's current version, so that an unchanged object is not read again.

mod transfer;

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};
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
    /// Set for a directory store: the folder its objects are files in.
    dir: Option<PathBuf>,
    /// The objects this clone verified, when it has a ledger folder.
    remembered: Option<Remembered>,
}

/// What [`RemoteStore::upload`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Uploaded {
    /// The object was not in the store; this many bytes were sent.
    Sent {
        /// The executable's size.
        bytes: u64,
    },
    /// An object with that content and name was already there (also when
    /// another uploader stored it first): its bytes were verified against
    /// the sha256, now or, while the object is unchanged, before.
    Skipped,
    /// The object there was not the recorded bytes, so could never be
    /// fetched; it was replaced with these bytes.
    Repaired {
        /// The executable's size.
        bytes: u64,
        /// What was wrong with the object replaced.
        damage: Damage,
    },
}

/// What is wrong with an object that is not the executable recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Damage {
    /// It has another size: this many bytes (or more, when its reading stopped).
    Size(u64),
    /// It has the right size and other bytes: this sha256.
    Bytes(String),
}

impl fmt::Display for Damage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Damage::Size(size) => write!(f, "it has {size} bytes"),
            Damage::Bytes(sha256) => write!(f, "its bytes hash to {sha256}"),
        }
    }
}

/// What the store holds for an executable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Found {
    /// The recorded bytes, verified against the sha256.
    Verified,
    /// No object.
    Missing,
    /// An object that is not the recorded bytes.
    Wrong(Damage),
}

/// Whether [`RemoteStore::examine`] may go by what was verified before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Trust {
    /// An object whose identity is unchanged since it was verified is not
    /// read again; what is verified now is remembered.
    Remembered,
    /// Every object is read and hashed, and nothing is remembered.
    Nothing,
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
        let store = match url_scheme(spec) {
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
        }?;
        Ok(store.remembering(workspace_root))
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
        let mut store = Self::new(Arc::new(store), Key::ROOT, dir.display().to_string(), None)?;
        store.dir = Some(dir.to_owned());
        Ok(store)
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
            dir: None,
            remembered: None,
        })
    }

    /// Remembers the objects verified in `<workspace_root>/.releases/.store-verified`.
    fn remembering(mut self, workspace_root: &Path) -> Self {
        let base = crate::ledger::Environment::base(workspace_root);
        self.remembered = Some(Remembered::new(base));
        self
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
    /// object of another size could never be fetched). Its bytes are not
    /// read: [`RemoteStore::examine`] verifies them.
    pub(crate) fn contains(&self, exe: &Executable) -> anyhow::Result<bool> {
        Ok(self.size_of(exe)? == Some(exe.size))
    }

    /// The size of the executable's object, `None` when there is none; its bytes are not read.
    pub(crate) fn size_of(&self, exe: &Executable) -> anyhow::Result<Option<u64>> {
        let key = self.key(exe)?;
        Ok(self.head(&key)?.map(|meta| meta.size))
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
        if let Some(remembered) = &self.remembered {
            remembered.forget(&self.scope(), &key);
        }
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

    /// Where the executable's object is, as users can look for it: a
    /// file's path in a directory store, `s3://bucket/prefix/<sha256>/<name>`.
    pub(crate) fn object_name(&self, exe: &Executable) -> anyhow::Result<String> {
        let key = self.key(exe)?;
        Ok(match &self.dir {
            Some(dir) => dir.join(key.as_ref()).display().to_string(),
            None => {
                let bucket = self
                    .location
                    .split('/')
                    .take(3)
                    .collect::<Vec<_>>()
                    .join("/");
                format!("{bucket}/{key}")
            }
        })
    }

    /// Which objects the remembered verifications are about: the store, and
    /// for S3 the server too (one bucket name on two servers is two buckets).
    fn scope(&self) -> String {
        match &self.endpoint {
            Some(endpoint) => format!("{} at {endpoint}", self.location),
            None => self.location.clone(),
        }
    }

    /// What identifies the version of the object `key` that `meta`
    /// describes, without reading it: a file's size, modification and
    /// change times, inode and device (and the boot, see
    /// [`crate::files::stamp`]) in a directory store; elsewhere its size,
    /// ETag, time and version, which every write of an object changes.
    /// `None` when nothing identifies it (no ETag): it is read every time.
    fn identity(&self, key: &Key, meta: &object_store::ObjectMeta) -> Option<String> {
        match &self.dir {
            Some(dir) => {
                let file = std::fs::metadata(dir.join(key.as_ref())).ok()?;
                (file.is_file() && file.len() == meta.size)
                    .then(|| format!("file {}", crate::files::stamp(&file)))
            }
            None => Some(format!(
                "object {} {} {} {}",
                meta.size,
                meta.e_tag.as_deref()?,
                meta.last_modified,
                meta.version.as_deref().unwrap_or("-")
            )),
        }
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

/// The store objects this clone read and found to be the recorded bytes,
/// each with the identity the object had then (see
/// [`RemoteStore::identity`]), kept in `.releases/.store-verified` (local,
/// ignored by git): an object whose identity is unchanged is not read again.
///
/// It only ever saves time: an entry is used only for an object whose
/// identity, store, key, sha256 and size are all the same now, so any write
/// to the object (which changes its identity) has it read and hashed again.
/// Best effort: a file that cannot be read is no cache, one that cannot be
/// written is not kept.
///
/// One line per object: `<sha256> <size>\t<store>\t<key>\t<identity>`.
#[derive(Debug)]
struct Remembered {
    /// `.releases/`, which must exist: no ledger, nothing remembered.
    base: PathBuf,
    /// The lines, once read.
    lines: RefCell<Option<BTreeSet<String>>>,
}

/// The cache's file name in `.releases/`, and the line its `.gitignore` needs.
pub(crate) const REMEMBERED: &str = ".store-verified";

/// At most this many objects are remembered (some 4 MiB): the oldest
/// sha256s go first.
const MAX_REMEMBERED: usize = 20_000;

impl Remembered {
    fn new(base: PathBuf) -> Self {
        Self {
            base,
            lines: RefCell::new(None),
        }
    }

    fn path(&self) -> PathBuf {
        self.base.join(REMEMBERED)
    }

    /// The line for an object, or `None` when a field cannot be written on one.
    fn line(exe: &Executable, scope: &str, key: &Key, identity: &str) -> Option<String> {
        let fields = [scope, key.as_ref(), identity];
        if fields
            .iter()
            .any(|f| f.is_empty() || f.contains(['\t', '\n', '\r']))
        {
            return None;
        }
        Some(format!(
            "{} {}\t{scope}\t{key}\t{identity}",
            exe.sha256, exe.size
        ))
    }

    /// The object's fields a line starts with, whatever its identity.
    fn object_prefix(line: &str) -> Option<&str> {
        let mut end = 0;
        for (i, field) in line.split('\t').enumerate().take(3) {
            end += field.len() + usize::from(i > 0);
        }
        line.get(..end)
    }

    fn read(&self) -> BTreeSet<String> {
        let Ok(Some(bytes)) = crate::files::read_bounded(&self.path(), 16 * crate::files::MAX_FILE)
        else {
            return BTreeSet::new();
        };
        String::from_utf8_lossy(&bytes)
            .lines()
            .filter(|line| {
                let fields: Vec<&str> = line.split('\t').collect();
                fields.len() == 4
                    && fields[0].split_once(' ').is_some_and(|(sha256, size)| {
                        is_sha256(sha256) && size.parse::<u64>().is_ok()
                    })
            })
            .map(str::to_owned)
            .collect()
    }

    /// Whether the object `key`, as `identity` identifies it now, was verified to be `exe`.
    fn trusts(&self, exe: &Executable, scope: &str, key: &Key, identity: &str) -> bool {
        let Some(line) = Self::line(exe, scope, key, identity) else {
            return false;
        };
        let mut lines = self.lines.borrow_mut();
        lines.get_or_insert_with(|| self.read()).contains(&line)
    }

    /// Remembers that the object `key`, as `identity` identifies it, is `exe`.
    fn remember(&self, exe: &Executable, scope: &str, key: &Key, identity: &str) {
        if let Some(line) = Self::line(exe, scope, key, identity) {
            self.update(|lines| {
                let prefix = Self::object_prefix(&line).unwrap_or(&line).to_owned();
                lines.retain(|l| Self::object_prefix(l) != Some(prefix.as_str()));
                lines.insert(line);
            });
        }
    }

    /// Forgets the object `key` (deleted, or about to be).
    fn forget(&self, scope: &str, key: &Key) {
        let infix = format!("\t{scope}\t{key}\t");
        self.update(|lines| lines.retain(|l| !l.contains(&infix)));
    }

    /// Changes the lines as the file has them now (another process may have
    /// added some), and writes them back.
    fn update(&self, change: impl FnOnce(&mut BTreeSet<String>)) {
        if !crate::files::real_dir(&self.base).unwrap_or(false) {
            return;
        }
        let mut lines = self.read();
        let before = lines.clone();
        change(&mut lines);
        while lines.len() > MAX_REMEMBERED {
            lines.pop_first();
        }
        if lines != before {
            // Best effort: without it, the objects are read again next time.
            let _ = self.write(&lines);
        }
        *self.lines.borrow_mut() = Some(lines);
    }

    fn write(&self, lines: &BTreeSet<String>) -> anyhow::Result<()> {
        let mut text = String::from(
            "# Written by cargo release-log: slug-store objects whose bytes matched their \
             sha256, by what identified each then. Local to this clone; never commit it.\n",
        );
        for line in lines {
            text.push_str(line);
            text.push('\n');
        }
        ignore_in_git(&self.base)?;
        replace_file(&self.path(), text.as_bytes())
    }
}

/// Adds `/.store-verified` to `.releases/.gitignore` when it lacks it, as
/// `/output/` is added there once a release phase's output is kept.
fn ignore_in_git(base: &Path) -> anyhow::Result<()> {
    let path = base.join(".gitignore");
    let Some(old) = crate::files::read_bounded(&path, crate::files::MAX_FILE)? else {
        // Written with the ledger, with every line it needs.
        return Ok(());
    };
    let entry = format!("/{REMEMBERED}");
    let old = String::from_utf8_lossy(&old);
    if old.lines().any(|l| l.trim() == entry) {
        return Ok(());
    }
    let mut new = old.into_owned();
    if !new.is_empty() && !new.ends_with('\n') {
        new.push('\n');
    }
    new.push_str(&entry);
    new.push('\n');
    replace_file(&path, new.as_bytes())
}

/// Replaces `path` by renaming a finished temporary file over it, so that a
/// reader sees the old file or the new one, never a mix. (`.tmp-*` beside
/// it is ignored by git, and removed when an interrupted run left it.)
fn replace_file(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write as _;
    let dir = path.parent().context("a file with no folder")?;
    let mut builder = tempfile::Builder::new();
    builder.prefix(".tmp-");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        // As any file the tool writes: 0666 less the umask, not 0600.
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let mut tmp = builder
        .tempfile_in(dir)
        .with_context(|| format!("failed to create a temporary file in `{}`", dir.display()))?;
    tmp.write_all(bytes)
        .with_context(|| format!("failed to write `{}`", tmp.path().display()))?;
    tmp.persist(path)
        .map_err(|e| e.error)
        .with_context(|| format!("failed to replace `{}`", path.display()))?;
    Ok(())
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
mod tests;
