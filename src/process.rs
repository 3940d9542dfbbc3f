//! One builder for the `git` and `cargo` processes the tool spawns, and a
//! runner for those that read a cloned repository's files on their own
//! (`cargo metadata`): in a process group of their own, with their output
//! bounded and a deadline after which the whole group is killed.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

/// A command to spawn, never through a shell; its `Display` shows it the way
/// a user would type it, so failures say exactly what ran.
#[derive(Debug, Clone)]
pub(crate) struct ProcessBuilder {
    program: OsString,
    args: Vec<OsString>,
    cwd: Option<PathBuf>,
    envs: Vec<(OsString, OsString)>,
    removed: Vec<OsString>,
}

impl ProcessBuilder {
    pub(crate) fn new(program: impl AsRef<OsStr>) -> Self {
        Self {
            program: program.as_ref().to_owned(),
            args: Vec::new(),
            cwd: None,
            envs: Vec::new(),
            removed: Vec::new(),
        }
    }

    /// `git`, as found on `PATH`.
    pub(crate) fn git(cwd: &Path) -> Self {
        Self::new("git").cwd(cwd)
    }

    /// The `cargo` that started us (`$CARGO`), else the one on `PATH`, in
    /// the environment a user's own `cargo` would see: without what `cargo
    /// run` (the repository's alias, an xtask) or a build script sets for the
    /// program it starts, which would make build scripts rerun and their
    /// crates rebuild whenever a build alternates with a plain one.
    pub(crate) fn cargo() -> Self {
        let mut cargo = Self::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
        cargo.removed = std::env::vars_os()
            .map(|(name, _)| name)
            .filter(|name| name.to_str().is_some_and(set_by_cargo_for_a_program))
            .collect();
        cargo
    }

    pub(crate) fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    pub(crate) fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    pub(crate) fn cwd(mut self, cwd: &Path) -> Self {
        self.cwd = Some(cwd.to_owned());
        self
    }

    /// Sets `key` in the process's environment.
    pub(crate) fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.envs
            .push((key.as_ref().to_owned(), value.as_ref().to_owned()));
        self
    }

    pub(crate) fn command(&self) -> Command {
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.args);
        for name in &self.removed {
            cmd.env_remove(name);
        }
        cmd.envs(self.envs.iter().map(|(k, v)| (k, v)));
        if let Some(cwd) = &self.cwd {
            cmd.current_dir(cwd);
        }
        cmd
    }

    /// Runs to completion capturing its output; a non-zero exit is an error
    /// that carries the command, its exit status and its stderr.
    pub(crate) fn output(&self) -> anyhow::Result<Output> {
        let output = self.output_unchecked()?;
        if !output.status.success() {
            bail!(self.failure(&output));
        }
        Ok(output)
    }

    /// Runs to completion capturing its output, whatever its exit status.
    pub(crate) fn output_unchecked(&self) -> anyhow::Result<Output> {
        self.command()
            .stdin(Stdio::null())
            .output()
            .map_err(|e| self.not_started(e))
    }

    /// Why it could not be started: a program that is not installed is
    /// named in one line, as the way out.
    pub(crate) fn not_started(&self, err: std::io::Error) -> anyhow::Error {
        let cwd_missing = self.cwd.as_ref().is_some_and(|cwd| !cwd.is_dir());
        if err.kind() != std::io::ErrorKind::NotFound || cwd_missing {
            return anyhow::Error::new(err).context(format!("could not execute process `{self}`"));
        }
        let program = Path::new(&self.program);
        let name = program
            .file_name()
            .unwrap_or(program.as_os_str())
            .to_string_lossy();
        if program.components().count() > 1 {
            anyhow::anyhow!("`{name}` was not found at `{}`", program.display())
        } else {
            anyhow::anyhow!(
                "`{name}` was not found on PATH: cargo release-log runs it; install {name}, \
                 or add its folder to PATH"
            )
        }
    }

    /// The stdout of a successful run, trimmed, as UTF-8.
    pub(crate) fn read(&self) -> anyhow::Result<String> {
        let output = self.output()?;
        let text = String::from_utf8(output.stdout)
            .with_context(|| format!("`{self}` printed output that is not UTF-8"))?;
        Ok(text.trim_end().to_owned())
    }

    /// Starts it in a process group of its own, its stdout and stderr read
    /// as they come, each up to `limit` bytes (what comes after is read and
    /// dropped). Dropped before [`Running::finish`], it is killed with
    /// everything it started.
    pub(crate) fn start(&self, limit: usize) -> anyhow::Result<Running> {
        let mut cmd = self.command();
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let mut child = cmd
            .spawn()
            .with_context(|| format!("could not execute process `{self}`"))?;
        let (sender, received) = mpsc::channel();
        let pipes: [Option<Box<dyn std::io::Read + Send>>; 2] = [
            child.stdout.take().map(|p| Box::new(p) as _),
            child.stderr.take().map(|p| Box::new(p) as _),
        ];
        for (which, pipe) in pipes.into_iter().enumerate() {
            let sender = sender.clone();
            std::thread::spawn(move || {
                let read = pipe.map_or_else(|| Ok((Vec::new(), false)), |p| drain(p, limit));
                let _ = sender.send((which, read));
            });
        }
        Ok(Running {
            shown: self.to_string(),
            child: Some(child),
            started: Instant::now(),
            received,
        })
    }

    pub(crate) fn failure(&self, output: &Output) -> String {
        let mut msg = format!(
            "process didn't exit successfully: `{self}` ({})",
            output.status
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        let stderr = stderr.trim_end();
        if !stderr.is_empty() {
            msg.push_str("\n--- stderr\n");
            msg.push_str(stderr);
        }
        msg
    }
}

/// What was read from a pipe: its first bytes, and whether there was more.
type Drained = (Vec<u8>, bool);

/// Reads `pipe` to its end, keeping its first `limit` bytes.
fn drain(mut pipe: Box<dyn std::io::Read + Send>, limit: usize) -> std::io::Result<Drained> {
    let mut kept = Vec::new();
    (&mut pipe).take(limit as u64).read_to_end(&mut kept)?;
    let more = std::io::copy(&mut pipe, &mut std::io::sink())? > 0;
    Ok((kept, more))
}

/// A process [`ProcessBuilder::start`] started, in a process group of its own.
#[derive(Debug)]
pub(crate) struct Running {
    shown: String,
    child: Option<Child>,
    started: Instant,
    /// Each pipe's bytes (0 stdout, 1 stderr) once it is closed.
    received: mpsc::Receiver<(usize, std::io::Result<Drained>)>,
}

impl Running {
    /// Its process id, which is also its process group's.
    #[cfg(test)]
    fn id(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Waits until it exits, at most until `timeout` after it started:
    /// then it is killed with everything it started, and that is the
    /// error. A pipe that went over its limit is an error too.
    pub(crate) fn finish(mut self, timeout: Duration) -> anyhow::Result<Output> {
        let deadline = self.started + timeout;
        let timed_out = |this: &mut Self| {
            this.stop();
            anyhow::anyhow!(
                "`{}` did not finish within {}; it was stopped, with everything it started",
                this.shown,
                shown_duration(timeout)
            )
        };
        let mut pipes: [Option<Drained>; 2] = [None, None];
        while pipes.iter().any(Option::is_none) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.received.recv_timeout(left) {
                Ok((which, read)) => {
                    let read =
                        read.with_context(|| format!("failed to read from `{}`", self.shown))?;
                    pipes[which] = Some(read);
                }
                Err(mpsc::RecvTimeoutError::Timeout) => return Err(timed_out(&mut self)),
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
        // Both pipes are closed: it has exited, or is about to.
        let status = loop {
            let child = self.child.as_mut().context("the process is gone")?;
            if let Some(status) = child.try_wait()? {
                self.child = None;
                break status;
            }
            if Instant::now() >= deadline {
                return Err(timed_out(&mut self));
            }
            std::thread::sleep(Duration::from_millis(1));
        };
        let [stdout, stderr] = pipes.map(Option::unwrap_or_default);
        if stdout.1 {
            bail!(
                "`{}` printed more than {} MiB, more than it ever does; it was not read",
                self.shown,
                stdout.0.len() >> 20
            );
        }
        Ok(Output {
            status,
            stdout: stdout.0,
            stderr: stderr.0,
        })
    }

    /// Kills it and its process group, and waits for it.
    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            #[cfg(unix)]
            signal_group(child.id(), "-KILL");
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Stopped with everything it started when it was not waited for.
impl Drop for Running {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Sends `sig` (`-TERM`, `-KILL`) to the process group `leader` leads.
#[cfg(unix)]
pub(crate) fn signal_group(leader: u32, sig: &str) {
    let group = format!("-{leader}");
    let _ = Command::new("kill")
        .args([sig, "--", &group])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// `2m`, `30s`, as settings write durations.
fn shown_duration(duration: Duration) -> String {
    jiff::SignedDuration::try_from(duration)
        .map(|d| format!("{d:#}"))
        .unwrap_or_else(|_| format!("{duration:?}"))
}

/// Whether cargo sets `name` for a program it runs or a build script it
/// starts (its "environment variables Cargo sets for crates"), rather than a
/// user setting it to configure cargo.
fn set_by_cargo_for_a_program(name: &str) -> bool {
    const NAMES: [&str; 12] = [
        "CARGO_MANIFEST_DIR",
        "CARGO_MANIFEST_PATH",
        "CARGO_MANIFEST_LINKS",
        "CARGO_CRATE_NAME",
        "CARGO_BIN_NAME",
        "CARGO_PRIMARY_PACKAGE",
        "CARGO_TARGET_TMPDIR",
        "CARGO_RUSTC_CURRENT_DIR",
        "CARGO_MAKEFLAGS",
        "OUT_DIR",
        "NUM_JOBS",
        "RUSTC_LINKER",
    ];
    const PREFIXES: [&str; 5] = [
        "CARGO_PKG_",
        "CARGO_CFG_",
        "CARGO_FEATURE_",
        "CARGO_BIN_EXE_",
        "__CARGO_",
    ];
    NAMES.contains(&name) || PREFIXES.iter().any(|p| name.starts_with(p))
}

impl fmt::Display for ProcessBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let program = Path::new(&self.program)
            .file_name()
            .unwrap_or(&self.program)
            .to_string_lossy();
        f.write_str(&program)?;
        for arg in &self.args {
            let arg = arg.to_string_lossy();
            if arg.contains(' ') || arg.is_empty() {
                write!(f, " '{arg}'")?;
            } else {
                write!(f, " {arg}")?;
            }
        }
        Ok(())
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    /// Whether any process is left in process group `group`, waiting a
    /// little for the killed to be reaped.
    fn group_alive(group: u32) -> bool {
        let alive = || {
            Command::new("kill")
                .args(["-0", "--", &format!("-{group}")])
                .stderr(Stdio::null())
                .status()
                .unwrap()
                .success()
        };
        for _ in 0..500 {
            if !alive() {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        true
    }

    #[test]
    fn a_process_past_its_deadline_is_killed_with_what_it_started() {
        // A child that never ends, and one it left behind in the background.
        let running = ProcessBuilder::new("sh")
            .args(["-c", "sleep 600 & echo started; exec sleep 600"])
            .start(1024)
            .unwrap();
        let group = running.id().unwrap();
        let err = running.finish(Duration::from_millis(300)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "`sh -c 'sleep 600 & echo started; exec sleep 600'` did not finish within 300ms; \
             it was stopped, with everything it started"
        );
        assert!(!group_alive(group), "process group {group} still runs");
    }

    #[test]
    fn one_dropped_unfinished_is_killed_with_what_it_started() {
        let running = ProcessBuilder::new("sh")
            .args(["-c", "sleep 600 & exec sleep 600"])
            .start(1024)
            .unwrap();
        let group = running.id().unwrap();
        drop(running);
        assert!(!group_alive(group), "process group {group} still runs");
    }

    #[test]
    fn output_is_bounded_and_finished_runs_report_it() {
        let out = ProcessBuilder::new("sh")
            .args(["-c", "echo out; echo err >&2; exit 3"])
            .start(1024)
            .unwrap()
            .finish(Duration::from_secs(60))
            .unwrap();
        assert_eq!(out.status.code(), Some(3));
        assert_eq!(
            (&out.stdout[..], &out.stderr[..]),
            (&b"out\n"[..], &b"err\n"[..])
        );
        // Too much on stdout is refused; on stderr it is cut.
        let err = ProcessBuilder::new("sh")
            .args(["-c", "head -c 3000000 /dev/zero"])
            .start(1 << 20)
            .unwrap()
            .finish(Duration::from_secs(60))
            .unwrap_err();
        assert!(err.to_string().contains("printed more than 1 MiB"), "{err}");
        let out = ProcessBuilder::new("sh")
            .args(["-c", "head -c 3000000 /dev/zero >&2"])
            .start(1 << 20)
            .unwrap()
            .finish(Duration::from_secs(60))
            .unwrap();
        assert_eq!(out.stderr.len(), 1 << 20);
    }
}
