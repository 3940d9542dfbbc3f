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
        let mut options = fs::OpenOptions::new();
        options.create(true).truncate(false).write(true);
        #[cfg(unix)]
        {
            use fs_err::os::unix::fs::OpenOptionsExt as _;
            // A committed link or FIFO named `.lock` is refused, never followed or waited on.
            options.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
        }
        let file = options.open(path).map_err(|e| {
            if path.is_symlink() {
                anyhow::anyhow!(
                    "`{}` is a symbolic link; remove it, and the next command makes the lock file",
                    path.display()
                )
            } else {
                e.into()
            }
        })?;
        if !file.metadata()?.is_file() {
            anyhow::bail!(
                "`{}` is not a regular file; remove it, and the next command makes the lock file",
                path.display()
            );
        }
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
