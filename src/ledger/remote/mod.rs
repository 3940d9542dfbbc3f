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
mod verified;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context as _, bail};
use fs_err as fs;
use futures_util::StreamExt as _;
use object_store::path::Path as Key;
use object_store::{ObjectStore, ObjectStoreExt as _};
use transfer::PART_SIZE;
use verified::Remembered;

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
mod tests;
