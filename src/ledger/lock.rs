//! The ledger's writer lock: an OS lock on `.releases/.lock`, released by the OS when the process ends.

use std::fs::TryLockError;
use std::path::Path;

use anyhow::Context as _;
use fs_err as fs;

/// Held while a process changes the ledger; dropping it unlocks.
#[derive(Debug)]
pub(crate) struct LedgerLock {
    _file: fs::File,
}

impl LedgerLock {
    /// Takes the lock, calling `on_wait` once if another process holds it and
    /// this one has to wait. The lock file itself is never renamed or
    /// removed, so two processes can never lock different files.
    pub(crate) fn acquire(path: &Path, on_wait: &dyn Fn()) -> anyhow::Result<Self> {
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)?;
        match file.file().try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                on_wait();
                file.file()
                    .lock()
                    .with_context(|| format!("failed to lock `{}`", path.display()))?;
            }
            Err(TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("failed to lock `{}`", path.display()));
            }
        }
        Ok(Self { _file: file })
    }
}
