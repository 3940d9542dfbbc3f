//! Content-addressed storage of built executables under `.releases/slugs/<sha256>/<name>`.

use std::collections::BTreeSet;
use std::io::Read as _;
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

    /// Copies a built executable into the store, once per content and name.
    pub(crate) fn store(
        &self,
        name: &str,
        built: &Path,
        scratch: &Scratch,
    ) -> anyhow::Result<Executable> {
        let (sha256, size) = sha256_file(built)?;
        let exe = Executable {
            name: name.to_owned(),
            size,
            sha256,
        };
        let target = self.path(&exe);
        if !files::is_regular_file(&target) {
            files::create_real_dir(&self.dir)?;
            files::create_real_dir(&self.dir.join(&exe.sha256))?;
            scratch.copy_in(built, &target)?;
        }
        Ok(exe)
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
    /// recorded: what `run` starts is what was built. A full hash is done
    /// once; its result is remembered beside the file by size, time and
    /// inode, so later runs only stat it.
    pub(crate) fn verify(&self, exe: &Executable, scratch: Option<&Scratch>) -> anyhow::Result<()> {
        let path = self.path(exe);
        let Some(file) = files::open_regular(&path)? else {
            bail!("`{}` is not stored", path.display());
        };
        let stamp_path = self
            .dir
            .join(&exe.sha256)
            .join(format!(".verified-{}", exe.name));
        let stamp = stamp_of(&file.metadata()?);
        let remembered = files::read_bounded(&stamp_path, 1024).ok().flatten();
        if remembered.as_deref() == Some(stamp.as_bytes()) {
            return Ok(());
        }
        let (sha256, size) = sha256_file(&path)?;
        if sha256 != exe.sha256 || size != exe.size {
            bail!(
                "`{}` was changed after it was stored: its sha256 is {sha256}, not {}; \
                 it is not started (deploy again to store a good copy)",
                path.display(),
                exe.sha256
            );
        }
        if let Some(scratch) = scratch {
            // Best effort: without it the next run hashes again.
            let _ = scratch.write(&stamp_path, stamp.as_bytes());
        }
        Ok(())
    }
}

/// What identifies a file's content cheaply: its size, modification time and inode.
fn stamp_of(meta: &std::fs::Metadata) -> String {
    let modified = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(meta);
    #[cfg(not(unix))]
    let inode = 0;
    format!("{} {modified} {inode}\n", meta.len())
}

/// The hex sha256 and size of a file, streamed.
pub(crate) fn sha256_file(path: &Path) -> anyhow::Result<(String, u64)> {
    let mut file = fs::File::open(path)?;
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
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
