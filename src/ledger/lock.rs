//! The ledger's lock: an OS lock on `.releases/.lock`, released by the OS when the process ends.
//!
//! Writers take it exclusive, one at a time; `check` takes it shared, so
//! that it never reads a change half made while writers wait for it. The
//! exclusive holder writes its process id and command line into the file
//! (it alone holds the lock, so no one else's record is cut), and empties
//! it again before letting go: a process that has to wait names who it
//! waits for, and says so when that process is stopped.

use std::fs::TryLockError;
use std::path::Path;

use anyhow::Context as _;
use fs_err as fs;

/// The longest command line recorded in the lock file.
const MAX_COMMAND: usize = 300;

/// Held while a process changes (or `check` reads) the ledger; dropping it unlocks.
#[derive(Debug)]
pub(crate) struct LedgerLock {
    file: fs::File,
    exclusive: bool,
}

impl Drop for LedgerLock {
    fn drop(&mut self) {
        if self.exclusive {
            // Best effort: a record left by a killed holder is checked
            // against the running processes before it is believed.
            let _ = self.file.file().set_len(0);
        }
    }
}

impl LedgerLock {
    /// Takes the lock exclusive, calling `on_wait` once, with who holds it
    /// when that is known, if another process holds it and this one has to
    /// wait. The lock file itself is never renamed or removed, so two
    /// processes can never lock different files.
    pub(crate) fn acquire(path: &Path, on_wait: &dyn Fn(Option<&str>)) -> anyhow::Result<Self> {
        let file = open(path, true)?;
        lock(&file, path, true, on_wait)?;
        let lock = Self {
            file,
            exclusive: true,
        };
        lock.record_holder();
        Ok(lock)
    }

    /// Takes the lock shared, as a reader that must see no change half
    /// made. `None` when there is no lock file and none can be made (a
    /// read-only checkout, where no writer can run either).
    pub(crate) fn acquire_shared(
        path: &Path,
        on_wait: &dyn Fn(Option<&str>),
    ) -> anyhow::Result<Option<Self>> {
        let file = match open(path, true) {
            Ok(file) => file,
            Err(e) if is_read_only(&e) => match open(path, false) {
                Ok(file) => file,
                Err(e) if not_found(&e) => return Ok(None),
                Err(e) => return Err(e),
            },
            Err(e) => return Err(e),
        };
        lock(&file, path, false, on_wait)?;
        Ok(Some(Self {
            file,
            exclusive: false,
        }))
    }

    /// Writes this process's id and command line into the lock file.
    fn record_holder(&self) {
        use std::io::Write as _;
        let command = shown_command(std::env::args());
        let record = format!("{}\n{}\n", std::process::id(), command);
        let mut file = self.file.file();
        let _ = file.set_len(0);
        #[cfg(unix)]
        {
            use std::os::unix::fs::FileExt as _;
            let _ = file.write_all_at(record.as_bytes(), 0);
        }
        #[cfg(not(unix))]
        let _ = file.write_all(record.as_bytes());
        let _ = file.flush();
    }
}

/// Opens the lock file, for writing (made if missing) or only for reading.
fn open(path: &Path, write: bool) -> anyhow::Result<fs::File> {
    let mut options = fs::OpenOptions::new();
    if write {
        options.create(true).truncate(false).read(true).write(true);
    } else {
        options.read(true);
    }
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
            anyhow::Error::from(e)
        }
    })?;
    if !file.metadata()?.is_file() {
        anyhow::bail!(
            "`{}` is not a regular file; remove it, and the next command makes the lock file",
            path.display()
        );
    }
    Ok(file)
}

fn io_kind(err: &anyhow::Error) -> Option<std::io::ErrorKind> {
    err.downcast_ref::<std::io::Error>()
        .map(std::io::Error::kind)
}

fn is_read_only(err: &anyhow::Error) -> bool {
    matches!(
        io_kind(err),
        Some(std::io::ErrorKind::ReadOnlyFilesystem | std::io::ErrorKind::PermissionDenied)
    )
}

fn not_found(err: &anyhow::Error) -> bool {
    io_kind(err) == Some(std::io::ErrorKind::NotFound)
}

fn lock(
    file: &fs::File,
    path: &Path,
    exclusive: bool,
    on_wait: &dyn Fn(Option<&str>),
) -> anyhow::Result<()> {
    let file = file.file();
    let tried = if exclusive {
        file.try_lock()
    } else {
        file.try_lock_shared()
    };
    match tried {
        Ok(()) => Ok(()),
        Err(TryLockError::WouldBlock) => {
            on_wait(holder(file).as_deref());
            if exclusive {
                file.lock()
            } else {
                file.lock_shared()
            }
            .with_context(|| format!("failed to lock `{}`", path.display()))
        }
        Err(TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("failed to lock `{}`", path.display()))
        }
    }
}

/// Who holds the lock, as the lock file records it, when that process
/// still runs that command: `process 1234 (cargo release-log config set
/// A=1)`, and whether it is stopped.
fn holder(file: &std::fs::File) -> Option<String> {
    let mut bytes = vec![0; 1024];
    #[cfg(unix)]
    let read = {
        use std::os::unix::fs::FileExt as _;
        file.read_at(&mut bytes, 0).ok()?
    };
    #[cfg(not(unix))]
    let read = {
        use std::io::Read as _;
        let _ = file;
        0
    };
    bytes.truncate(read);
    let text = String::from_utf8_lossy(&bytes);
    let mut lines = text.lines();
    let pid: u32 = lines.next()?.parse().ok()?;
    let command = clip(lines.next().unwrap_or_default());
    if pid == std::process::id() || pid == 0 {
        return None;
    }
    let state = process_state(pid, &command)?;
    let mut said = format!("process {pid} ({command})");
    if state == 'T' || state == 't' {
        said.push_str(&format!(
            ", which is stopped: resume it (`kill -CONT {pid}`) or end it (`kill {pid}`)"
        ));
    }
    Some(said)
}

/// The state letter of process `pid` (`R`, `S`, `T` for stopped...), when
/// it runs `command`: a record left by a killed holder whose number was
/// reused names no one. Where there is no `/proc`, nothing is known.
fn process_state(pid: u32, command: &str) -> Option<char> {
    let proc = Path::new("/proc").join(pid.to_string());
    let cmdline = std::fs::read(proc.join("cmdline")).ok()?;
    let running: Vec<String> = cmdline
        .split(|&b| b == 0)
        .filter(|arg| !arg.is_empty())
        .map(|arg| String::from_utf8_lossy(arg).into_owned())
        .collect();
    if shown_command(running.into_iter()) != command {
        return None;
    }
    let stat = std::fs::read_to_string(proc.join("stat")).ok()?;
    // `pid (name) S ...`: the name may hold anything, the state follows its last `)`.
    stat.rsplit_once(')')?.1.trim_start().chars().next()
}

/// What a lock file says of the command holding it: the program and its
/// leading words (`cargo-release-log release-log config set`), up to the
/// first argument that may carry a value (`A=1`, a message, a secret):
/// the file is readable by others, and waiting commands print it.
fn shown_command(args: impl Iterator<Item = String>) -> String {
    let words: Vec<String> = args
        .enumerate()
        .take_while(|(i, arg)| {
            *i == 0
                || arg.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b':' | b'_')
                })
        })
        .map(|(_, arg)| arg)
        .collect();
    clip(&words.join(" "))
}

/// A command line on one line, control characters replaced, cut to a bound.
fn clip(command: &str) -> String {
    let mut clipped: String = command
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .take(MAX_COMMAND)
        .collect();
    if command.chars().count() > MAX_COMMAND {
        clipped.push('…');
    }
    clipped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_holder_is_named_only_while_it_runs_what_it_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".lock");
        let held = LedgerLock::acquire(&path, &|_| {}).unwrap();
        let record = std::fs::read_to_string(&path).unwrap();
        assert!(record.starts_with(&format!("{}\n", std::process::id())));
        drop(held);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "");
        // A record of a process that does not run that command names no one.
        std::fs::write(&path, "1\nnot what init runs\n").unwrap();
        let file = std::fs::File::open(&path).unwrap();
        assert_eq!(holder(&file), None);
        // Readers share the lock; a writer would wait for them.
        let a = LedgerLock::acquire_shared(&path, &|_| panic!("waited"))
            .unwrap()
            .unwrap();
        let b = LedgerLock::acquire_shared(&path, &|_| panic!("waited"))
            .unwrap()
            .unwrap();
        drop((a, b));
        assert!(LedgerLock::acquire_shared(&dir.path().join("missing/.lock"), &|_| {}).is_err());
    }

    #[test]
    fn command_lines_are_clipped_to_one_line() {
        assert_eq!(clip("a\nb"), "a?b");
        assert_eq!(clip(&"x".repeat(400)).chars().count(), MAX_COMMAND + 1);
    }
}
