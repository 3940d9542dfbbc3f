//! Puts files back as they were when a change fails part-way.

use std::path::PathBuf;

use fs_err as fs;

use crate::files::{self, Scratch};

/// The bytes of some files (or that they did not exist), written back when
/// the guard is dropped unless [`Backup::keep`] was called: an error
/// returned with `?`, or a panic, leaves the files as they were.
pub(crate) struct Backup {
    files: Vec<(PathBuf, Option<Vec<u8>>)>,
    scratch: Scratch,
    armed: bool,
}

impl Backup {
    pub(crate) fn take(
        paths: impl IntoIterator<Item = PathBuf>,
        scratch: &Scratch,
    ) -> anyhow::Result<Self> {
        let mut files = Vec::new();
        for path in paths {
            let bytes = match fs::read(&path) {
                Ok(bytes) => Some(bytes),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                Err(e) => return Err(e.into()),
            };
            files.push((path, bytes));
        }
        Ok(Self {
            files,
            scratch: scratch.clone(),
            armed: true,
        })
    }

    /// Whether any file differs from its backup now.
    pub(crate) fn changed(&self) -> bool {
        self.files.iter().any(|(path, bytes)| {
            let now = fs::read(path).ok();
            now != *bytes
        })
    }

    /// The changes stay: nothing is restored.
    pub(crate) fn keep(mut self) {
        self.armed = false;
    }

    /// Writes every file back now; a file that did not exist is removed.
    pub(crate) fn restore(mut self) -> anyhow::Result<()> {
        self.armed = false;
        self.put_back()
    }

    fn put_back(&self) -> anyhow::Result<()> {
        for (path, bytes) in &self.files {
            match bytes {
                Some(bytes) => {
                    self.scratch.write(path, bytes)?;
                }
                None => files::remove(path)?,
            }
        }
        Ok(())
    }
}

impl Drop for Backup {
    fn drop(&mut self) {
        if self.armed {
            // Best effort: the error that dropped the guard is the one to report.
            let _ = self.put_back();
        }
    }
}
