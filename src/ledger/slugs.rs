//! Content-addressed storage of built executables under `.releases/slugs/<sha256>/<name>`.

use std::collections::BTreeSet;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use fs_err as fs;
use sha2::{Digest as _, Sha256};

use super::atomic;
use super::release::{Executable, Slug, is_sha256};

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
    pub(crate) fn store(&self, name: &str, built: &Path) -> anyhow::Result<Executable> {
        let (sha256, size) = sha256_file(built)?;
        let exe = Executable {
            name: name.to_owned(),
            size,
            sha256,
        };
        let folder = self.dir.join(&exe.sha256);
        let target = folder.join(&exe.name);
        if !target.is_file() {
            fs::create_dir_all(&folder)?;
            let tmp = folder.join(format!(".tmp-{name}"));
            fs::copy(built, &tmp)?;
            fs::File::open(&tmp)?.sync_all()?;
            fs::rename(&tmp, &target)?;
            atomic::sync_dir(&folder)?;
        }
        Ok(exe)
    }

    /// The executables of `slug` that are no longer in the store.
    pub(crate) fn missing<'a>(&self, slug: &'a Slug) -> Vec<&'a Executable> {
        slug.executables
            .iter()
            .filter(|e| !self.path(e).is_file())
            .collect()
    }

    /// Deletes every stored executable whose digest is not in `keep`.
    pub(crate) fn retain(&self, keep: &BTreeSet<&str>) -> anyhow::Result<usize> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(e.into()),
        };
        let mut removed = 0;
        for entry in entries {
            let entry = entry?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if is_sha256(name) && !keep.contains(name) {
                fs::remove_dir_all(entry.path())?;
                removed += 1;
            }
        }
        Ok(removed)
    }
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
