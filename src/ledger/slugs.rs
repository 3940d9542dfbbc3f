//! Content-addressed storage of built executables under `.releases/slugs/<sha256>/<name>`.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use fs_err as fs;
use sha2::{Digest as _, Sha256};

use super::release::{Executable, Slug, is_sha256};
use super::remote::{Fetched, RemoteStore};
use crate::files::{self, Scratch};

#[derive(Debug, Clone)]
pub(crate) struct SlugStore {
    dir: PathBuf,
}

impl SlugStore {
    pub(crate) fn new(dir: PathBuf) -> Self {
        Self { dir }
    }

    pub(crate) fn path(&self, exe: &Executable) -> PathBuf {
        self.dir.join(&exe.sha256).join(&exe.name)
    }

    /// Copies the build output `output`, whose digest is `sha256`, into the
    /// store once per content and name: an executable stored already is not
    /// written again. The copy is remembered as verified, so the first run
    /// does not hash it again.
    pub(crate) fn store(
        &self,
        name: &str,
        output: &Output,
        sha256: String,
        scratch: &Scratch,
    ) -> anyhow::Result<Executable> {
        let exe = Executable {
            name: name.to_owned(),
            size: output.size,
            sha256,
        };
        let target = self.path(&exe);
        if !files::is_regular_file(&target) {
            files::create_real_dir(&self.dir)?;
            files::create_real_dir(&self.dir.join(&exe.sha256))?;
            scratch.copy_in(&output.file, &output.path, &target)?;
            let meta = fs::symlink_metadata(&target)?;
            if meta.len() != exe.size {
                // Written to while it was copied; what is stored is unknown.
                files::remove(&target)?;
                bail!(
                    "`{}` changed while it was stored (another build?); nothing was recorded, \
                     try again",
                    output.path.display()
                );
            }
            // Best effort: without it the first run hashes the copy.
            let _ = files::overwrite_cache(
                &self.verified_path(&exe),
                verified_stamp(&exe, &meta).as_bytes(),
            );
        }
        Ok(exe)
    }

    /// Hashes the file at `path` and stores it as `name`.
    pub(crate) fn store_file(
        &self,
        name: &str,
        path: &Path,
        scratch: &Scratch,
    ) -> anyhow::Result<Executable> {
        let output = Output::open(path)?;
        let sha256 = output.sha256()?;
        self.store(name, &output, sha256, scratch)
    }

    /// Where the stamp of a stored executable checked against its digest is kept.
    fn verified_path(&self, exe: &Executable) -> PathBuf {
        self.dir
            .join(&exe.sha256)
            .join(format!(".verified-{}", exe.name))
    }

    /// Whether `exe` is stored here as a regular file; an error names a
    /// symbolic link on its path (at `slugs`, `slugs/<sha256>` or the file),
    /// which is never followed.
    pub(crate) fn is_stored(&self, exe: &Executable) -> anyhow::Result<bool> {
        let path = self.path(exe);
        let Some((dir, name)) = files::beneath::parent_of(&path)? else {
            return Ok(false);
        };
        match dir.lstat(name) {
            Ok(Some(entry)) if entry.kind == files::beneath::Kind::Link => {
                bail!("{}", files::link_refused(&path))
            }
            Ok(entry) => Ok(entry.is_some_and(|e| e.kind == files::beneath::Kind::File)),
            Err(e) => Err(e).with_context(|| format!("failed to look at `{}`", path.display())),
        }
    }

    /// The executables of `slug` that are not stored here (a link in the
    /// store is not a stored executable).
    pub(crate) fn missing<'a>(&self, slug: &'a Slug) -> Vec<&'a Executable> {
        slug.executables
            .iter()
            .filter(|e| !files::is_regular_file(&self.path(e)))
            .collect()
    }

    /// Deletes every stored executable whose digest is not in `keep`. Only
    /// real folders named by a digest are deleted, never through a link.
    /// Returns how many folders went, and their bytes.
    pub(crate) fn retain(&self, keep: &BTreeSet<&str>) -> anyhow::Result<(usize, u64)> {
        let doomed = self.unneeded(keep)?;
        let bytes = doomed.iter().map(|(_, size)| size).sum();
        for (path, _) in &doomed {
            fs::remove_dir_all(path)?;
        }
        Ok((doomed.len(), bytes))
    }

    /// The folders `retain` would delete, with their bytes.
    pub(crate) fn unneeded(&self, keep: &BTreeSet<&str>) -> anyhow::Result<Vec<(PathBuf, u64)>> {
        if !files::real_dir(&self.dir)? {
            return Ok(Vec::new());
        }
        let mut doomed = Vec::new();
        for entry in fs::read_dir(&self.dir)? {
            let entry = entry?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if is_sha256(name) && !keep.contains(name) && entry.file_type()?.is_dir() {
                let mut size = 0;
                for file in fs::read_dir(entry.path())? {
                    let file = file?;
                    if file.file_type()?.is_file() {
                        size += file.metadata()?.len();
                    }
                }
                doomed.push((entry.path(), size));
            }
        }
        Ok(doomed)
    }

    /// Fetches from `remote` each executable of `slug` not stored here,
    /// verified against its sha256 before it takes its place; returns those
    /// fetched with their bytes. Without a store nothing is fetched.
    pub(crate) fn fetch_missing(
        &self,
        slug: &Slug,
        remote: Option<&RemoteStore>,
    ) -> anyhow::Result<Vec<(Executable, u64)>> {
        let Some(remote) = remote else {
            return Ok(Vec::new());
        };
        let mut fetched = Vec::new();
        for exe in self.missing(slug) {
            files::create_real_dir(&self.dir)?;
            files::create_real_dir(&self.dir.join(&exe.sha256))?;
            if let Fetched::Downloaded { bytes } = remote.fetch(exe, &self.path(exe))? {
                fetched.push((exe.clone(), bytes));
            }
        }
        Ok(fetched)
    }

    /// Checks that the stored `exe` is a regular file whose bytes are those
    /// recorded: what `run` starts is what was built. No link on its path
    /// is followed. A full hash is done once; its result is remembered
    /// beside the file by the recorded digest and size and the file's
    /// identity (size, times, inode, boot), so later runs only stat it: a
    /// remembered stamp never vouches for other bytes, nor for another
    /// digest.
    pub(crate) fn verify(&self, exe: &Executable) -> anyhow::Result<()> {
        let path = self.path(exe);
        let Some(file) = files::open_regular(&path)? else {
            bail!("`{}` is not stored", path.display());
        };
        let stamp_path = self.verified_path(exe);
        let stamp = verified_stamp(exe, &file.metadata()?);
        let remembered = files::read_bounded(&stamp_path, 1024).ok().flatten();
        if remembered.as_deref() == Some(stamp.as_bytes()) {
            return Ok(());
        }
        // The bytes of the file opened, not of whatever the path holds next.
        let (sha256, size) = sha256_read(&file, &path)?;
        if sha256 != exe.sha256 || size != exe.size {
            bail!(
                "`{}` was changed after it was stored: its sha256 is {sha256}, not {}; \
                 it is not started (deploy again to store a good copy)",
                path.display(),
                exe.sha256
            );
        }
        // Best effort: without it the next run hashes again.
        let _ = files::overwrite_cache(&stamp_path, stamp.as_bytes());
        Ok(())
    }
}

/// What a `.verified-<name>` file holds once the stored `exe` hashed to
/// its record: the recorded digest and size, and the file's identity then.
fn verified_stamp(exe: &Executable, meta: &std::fs::Metadata) -> String {
    format!(
        "verified {} {} {}",
        exe.sha256,
        exe.size,
        files::stamp(meta)
    )
}

/// A build's output opened to be stored: hashed and copied through one
/// descriptor, so what is recorded is what is stored.
#[derive(Debug)]
pub(crate) struct Output {
    path: PathBuf,
    file: std::fs::File,
    stamp: String,
    size: u64,
    /// Its sha256, once hashed.
    sha256: std::sync::OnceLock<String>,
}

impl Output {
    /// Opens the regular file at `path`.
    pub(crate) fn open(path: &Path) -> anyhow::Result<Self> {
        let Some(file) = files::open_regular(path)? else {
            bail!("`{}` does not exist", path.display());
        };
        let meta = file
            .metadata()
            .with_context(|| format!("failed to read the metadata of `{}`", path.display()))?;
        Ok(Self {
            path: path.to_owned(),
            stamp: files::stamp(&meta),
            size: meta.len(),
            file,
            sha256: std::sync::OnceLock::new(),
        })
    }

    /// What identifies its content without reading it (see [`files::stamp`]).
    pub(crate) fn stamp(&self) -> &str {
        &self.stamp
    }

    /// The file's sha256, read from its start (once).
    pub(crate) fn sha256(&self) -> anyhow::Result<String> {
        use std::io::Seek as _;
        if let Some(sha256) = self.sha256.get() {
            return Ok(sha256.clone());
        }
        let mut file = &self.file;
        file.seek(std::io::SeekFrom::Start(0))
            .with_context(|| format!("failed to read `{}`", self.path.display()))?;
        let sha256 = sha256_read(file, &self.path)?.0;
        Ok(self.sha256.get_or_init(|| sha256).clone())
    }
}

/// The hex sha256 and size of regular file `path`, streamed; no link on
/// its path under `.releases/` is followed.
pub(crate) fn sha256_file(path: &Path) -> anyhow::Result<(String, u64)> {
    let Some(file) = files::open_regular(path)? else {
        bail!("`{}` does not exist", path.display());
    };
    sha256_read(file, path)
}

/// The hex sha256 and size of what `file` (named `path` in errors) holds from where it is.
fn sha256_read(mut file: impl Read, path: &Path) -> anyhow::Result<(String, u64)> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0; 64 * 1024];
    let mut size = 0;
    loop {
        let n = file
            .read(&mut buf)
            .with_context(|| format!("failed to read `{}`", path.display()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    Ok((hex(&hasher.finalize()), size))
}

pub(crate) fn sha256_bytes(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        text.push(char::from(DIGITS[usize::from(b >> 4)]));
        text.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    text
}
