//! The commands a release runs: its release phase, health check and post-release hook.
//!
//! Each is an argv array from the manifest, started without a shell in the
//! workspace root with the release's config vars and metadata, in a process
//! group of its own so that a timeout or Ctrl-C stops everything it
//! started. Its output is handed to the caller as it comes (the library
//! never prints) and kept; nothing it prints is read as configuration.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::Context as _;

use crate::context::Context;
use crate::files;
use crate::ledger::{Executable, Ledger, LockedLedger, PhaseStatus, Release, ReleasePhase};
#[cfg(unix)]
use crate::process::signal_group;
use crate::workspace::Workspace;

/// The most output kept of one run: enough for any migration log, bounded
/// so that a runaway command cannot fill the disk through the tool.
const MAX_OUTPUT: usize = 16 * 1024 * 1024;

/// A command to run for a release, and how.
pub(crate) struct Launch<'a> {
    /// Its argv, as the manifest gives it.
    pub(crate) argv: &'a [String],
    /// Set over the tool's own environment.
    pub(crate) env: &'a [(String, String)],
    /// Values masked in what it prints.
    pub(crate) secrets: &'a [String],
    /// How long it may run.
    pub(crate) timeout: Duration,
}

/// How one run of a command ended.
#[derive(Debug)]
pub(crate) struct Ran {
    /// `None` when it exited 0; else why it failed, for people.
    pub(crate) failure: Option<String>,
    /// Its exit code, when it exited.
    pub(crate) exit_code: Option<i32>,
    pub(crate) duration: Duration,
    /// What it printed, stdout and stderr as they came (capped).
    pub(crate) output: Vec<u8>,
    /// Whether Ctrl-C stopped it.
    pub(crate) interrupted: bool,
}

impl Ran {
    /// A command that did not run, and why.
    fn not_run(why: String) -> Self {
        Self {
            failure: Some(why),
            exit_code: None,
            duration: Duration::ZERO,
            output: Vec::new(),
            interrupted: false,
        }
    }

    pub(crate) fn passed(&self) -> bool {
        self.failure.is_none()
    }
}

/// The variables every command a release runs gets, besides its config
/// vars: which release it is, and where its executable is stored.
pub(crate) fn metadata(
    ws: &Workspace,
    ledger: &Ledger,
    release: &Release,
) -> Vec<(String, String)> {
    let mut vars = vec![
        (
            "RELEASE_LOG_VERSION".to_owned(),
            format!("v{}", release.version),
        ),
        ("RELEASE_LOG_COMMIT".to_owned(), release.code.commit.clone()),
        ("RELEASE_LOG_CREATED_AT".to_owned(), release.when.clone()),
        ("RELEASE_LOG_CHANGE".to_owned(), release.change.clone()),
        ("RELEASE_LOG_ENV".to_owned(), ws.env().name().to_owned()),
    ];
    if let Some(exe) = main_executable(ws, &release.code.slug.executables) {
        let path = ledger.slugs().path(exe);
        vars.push((
            "RELEASE_LOG_EXECUTABLE".to_owned(),
            std::path::absolute(&path)
                .unwrap_or(path)
                .display()
                .to_string(),
        ));
    }
    vars
}

/// The executable a release is about: the only one, else the one named
/// after the workspace, else the first.
fn main_executable<'a>(ws: &Workspace, exes: &'a [Executable]) -> Option<&'a Executable> {
    exes.iter()
        .find(|e| exes.len() == 1 || e.name == ws.name())
        .or_else(|| exes.first())
}

/// Runs `argv` for `release`: a first word that names one of the release's
/// executables runs that stored executable, anything else is found on
/// `PATH`. `env` is set over the tool's own environment.
pub(crate) fn run(
    ctx: &Context,
    ws: &Workspace,
    ledger: &Ledger,
    release: &Release,
    launch: &Launch<'_>,
) -> anyhow::Result<Ran> {
    let argv = launch.argv;
    if ctx.interrupted() {
        return Ok(Ran {
            interrupted: true,
            ..Ran::not_run("interrupted".to_owned())
        });
    }
    let program = match program(ledger, release, &argv[0])? {
        Ok(program) => program,
        Err(why) => return Ok(Ran::not_run(why)),
    };
    // One pipe for stdout and stderr, so that what is kept reads in the
    // order the command wrote it.
    let (reader, writer) = std::io::pipe().context("could not create a pipe")?;
    let mut cmd = Command::new(&program);
    cmd.args(&argv[1..])
        .current_dir(ws.root())
        .envs(launch.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(writer.try_clone().context("could not create a pipe")?)
        .stderr(writer);
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt as _;
        cmd.process_group(0);
    }
    let started = Instant::now();
    let spawned = cmd.spawn();
    // The command holds the pipe's writing ends: once it is gone, the
    // reader sees the end when the program (and what it started) closes them.
    drop(cmd);
    let mut child = match spawned {
        Ok(child) => child,
        Err(e) => {
            return Ok(Ran::not_run(format!(
                "could not start `{}`: {e}",
                shown(argv)
            )));
        }
    };
    let (sender, chunks) = mpsc::channel::<Vec<u8>>();
    let reader = std::thread::spawn(move || pump(Box::new(reader), &sender));
    let mut sink = Sink::new(ctx, launch.secrets);
    let (status, stopped) = supervise(ctx, &mut child, &chunks, &mut sink, launch.timeout)?;
    // What it printed before it ended, to the last byte. A process it left
    // running still holds the pipe: it goes with the command (its whole
    // group), and the tool does not wait for it.
    let deadline = Instant::now() + Duration::from_secs(1);
    let closed = loop {
        match chunks.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(chunk) => sink.take(&chunk, false),
            Err(mpsc::RecvTimeoutError::Disconnected) => break true,
            Err(mpsc::RecvTimeoutError::Timeout) => break false,
        }
    };
    if closed {
        let _ = reader.join();
    } else {
        #[cfg(unix)]
        signal_group(child.id(), "-KILL");
    }
    sink.take(&[], true);
    let interrupted = stopped.as_deref() == Some("interrupted");
    let failure = match (stopped, status.code()) {
        (Some(why), _) => Some(why),
        (None, Some(0)) => None,
        (None, Some(code)) => Some(format!("exit status: {code}")),
        (None, None) => Some(signal_text(&status)),
    };
    Ok(Ran {
        failure,
        exit_code: status.code(),
        duration: started.elapsed(),
        output: sink.output,
        interrupted,
    })
}

/// The program `name` names for `release`: one of its stored executables
/// (checked against its record), else one on the tool's own `PATH` (a
/// config var named `PATH` never decides which program runs); `Err` inside
/// says why there is none to run.
fn program(
    ledger: &Ledger,
    release: &Release,
    name: &str,
) -> anyhow::Result<Result<PathBuf, String>> {
    let stored = release
        .code
        .slug
        .executables
        .iter()
        .find(|e| e.name == name);
    Ok(match stored {
        Some(exe) => match ledger.slugs().verify(exe) {
            Ok(()) => Ok(std::path::absolute(ledger.slugs().path(exe))?),
            Err(e) => Err(format!("{e:#}")),
        },
        None => on_path(name).ok_or_else(|| {
            format!(
                "could not start `{name}`: it is neither an executable of v{} nor on PATH",
                release.version
            )
        }),
    })
}

/// Waits for `child` while handing on what it prints; stops its group on
/// Ctrl-C or once `timeout` passed. Returns how it ended, and why it was
/// stopped, if it was.
fn supervise(
    ctx: &Context,
    child: &mut std::process::Child,
    chunks: &mpsc::Receiver<Vec<u8>>,
    sink: &mut Sink<'_>,
    timeout: Duration,
) -> anyhow::Result<(std::process::ExitStatus, Option<String>)> {
    let started = Instant::now();
    let mut stopped: Option<String> = None;
    loop {
        match chunks.recv_timeout(Duration::from_millis(50)) {
            Ok(chunk) => sink.take(&chunk, false),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            // Its output is closed, and it runs on: wait without spinning.
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        if let Some(status) = child.try_wait()? {
            return Ok((status, stopped));
        }
        if stopped.is_none() {
            if ctx.interrupted() {
                stopped = Some("interrupted".to_owned());
            } else if started.elapsed() >= timeout {
                stopped = Some(format!(
                    "timed out after {}",
                    jiff::SignedDuration::try_from(timeout)
                        .map(|d| format!("{d:#}"))
                        .unwrap_or_else(|_| format!("{timeout:?}"))
                ));
            }
            if stopped.is_some() {
                stop_group(child);
            }
        }
    }
}

/// Where a command's output goes: to the caller a line at a time (so that
/// a secret value is masked whole), and kept, up to [`MAX_OUTPUT`].
struct Sink<'a> {
    ctx: &'a Context,
    secrets: &'a [String],
    pending: Vec<u8>,
    output: Vec<u8>,
}

impl<'a> Sink<'a> {
    fn new(ctx: &'a Context, secrets: &'a [String]) -> Self {
        Self {
            ctx,
            secrets,
            pending: Vec::new(),
            output: Vec::new(),
        }
    }

    /// Takes `chunk`; hands on the complete lines, or everything when `last`.
    fn take(&mut self, chunk: &[u8], last: bool) {
        self.pending.extend_from_slice(chunk);
        let upto = if last {
            self.pending.len()
        } else {
            self.pending
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |i| i + 1)
        };
        if upto == 0 {
            return;
        }
        let lines = mask(&self.pending[..upto], self.secrets);
        self.pending.drain(..upto);
        self.ctx.release_output(&lines);
        let room = MAX_OUTPUT.saturating_sub(self.output.len());
        self.output
            .extend_from_slice(&lines[..lines.len().min(room)]);
    }
}

/// Sends what `stream` yields to `sender` until it ends.
fn pump(mut stream: Box<dyn std::io::Read + Send>, sender: &mpsc::Sender<Vec<u8>>) {
    let mut buf = [0u8; 8192];
    loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if sender.send(buf[..n].to_vec()).is_err() {
                    return;
                }
            }
        }
    }
}

/// `text` with every secret value replaced by `<secret>`: what a command
/// prints is kept and shown, and a secret must not be.
fn mask(text: &[u8], secrets: &[String]) -> Vec<u8> {
    let mut text = text.to_vec();
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        let needle = secret.as_bytes();
        let mut out = Vec::with_capacity(text.len());
        let mut i = 0;
        while i < text.len() {
            if text[i..].starts_with(needle) {
                out.extend_from_slice(b"<secret>");
                i += needle.len();
            } else {
                out.push(text[i]);
                i += 1;
            }
        }
        text = out;
    }
    text
}

/// `program` as the tool's own `PATH` finds it (a path is taken as it is).
fn on_path(program: &str) -> Option<PathBuf> {
    if program.contains(std::path::MAIN_SEPARATOR) {
        return Some(PathBuf::from(program));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| files::is_regular_file(candidate) || candidate.is_file())
}

/// Stops the command and everything it started: its process group is
/// sent SIGTERM, then SIGKILL a few seconds later if it is still there.
fn stop_group(child: &mut std::process::Child) {
    #[cfg(unix)]
    {
        let leader = child.id();
        let signal = |sig: &str| signal_group(leader, sig);
        signal("-TERM");
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if matches!(child.try_wait(), Ok(Some(_))) {
                // The leader is gone; what it started goes too.
                signal("-KILL");
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        signal("-KILL");
    }
    let _ = child.kill();
}

#[cfg(unix)]
fn signal_text(status: &std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt as _;
    match status.signal() {
        Some(signal) => format!("killed by signal {signal}"),
        None => status.to_string(),
    }
}

#[cfg(not(unix))]
fn signal_text(status: &std::process::ExitStatus) -> String {
    status.to_string()
}

/// `a b c`, as a user would type it.
pub(crate) fn shown(argv: &[String]) -> String {
    argv.iter()
        .map(|w| crate::text::shell_quote(w).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Where the kept output of release `version`'s `kind` (`release-phase`,
/// `post-release`) lives: beside the ledger, ignored by git.
pub(crate) fn output_path(ws: &Workspace, version: u64, kind: &str) -> PathBuf {
    output_dir(ws.root()).join(format!("{}-v{version}.{kind}.log", ws.env().name()))
}

/// `.releases/output/`.
fn output_dir(root: &Path) -> PathBuf {
    crate::ledger::Environment::base(root).join(OUTPUT)
}

const OUTPUT: &str = "output";

/// Keeps `bytes` as release `version`'s `kind` output, in a folder git
/// ignores (the ledger's `.gitignore` learns it the first time); returns
/// its `sha256:<hex>` and size.
pub(crate) fn keep_output(
    ledger: &LockedLedger,
    ws: &Workspace,
    version: u64,
    kind: &str,
    bytes: &[u8],
) -> anyhow::Result<(String, u64)> {
    let dir = output_dir(ws.root());
    files::create_real_dir(&dir)?;
    ignore_output(ledger, ws.root())?;
    ledger
        .scratch()
        .write(&output_path(ws, version, kind), bytes)?;
    Ok((crate::ledger::file_digest(bytes), bytes.len() as u64))
}

/// The name a release phase's output has in the slug store, beside the
/// executables, content-addressed by `sha256` (`sha256:<hex>`).
pub(crate) fn output_object(sha256: &str, size: u64) -> Executable {
    Executable {
        name: "release-phase.log".to_owned(),
        size,
        sha256: sha256.trim_start_matches("sha256:").to_owned(),
    }
}

/// Keeps why the post-release hook of `version` failed, for `info`.
pub(crate) fn keep_failure(
    ledger: &LockedLedger,
    ws: &Workspace,
    version: u64,
    why: &str,
) -> anyhow::Result<()> {
    keep_output(ledger, ws, version, "post-release-failed", why.as_bytes()).map(|_| ())
}

/// Why the post-release hook of `version` failed here, if it did.
pub(crate) fn post_release_failure(ws: &Workspace, version: u64) -> Option<String> {
    let path = output_path(ws, version, "post-release-failed");
    let bytes = files::read_bounded(&path, 64 * 1024).ok()??;
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

/// Adds `/output/` to `.releases/.gitignore` when it lacks it.
fn ignore_output(ledger: &LockedLedger, root: &Path) -> anyhow::Result<()> {
    let path = crate::ledger::Environment::base(root).join(".gitignore");
    let old = files::read_bounded(&path, files::MAX_FILE)?.unwrap_or_default();
    let old = String::from_utf8_lossy(&old);
    if old.lines().any(|l| l.trim() == "/output/") {
        return Ok(());
    }
    let mut new = old.into_owned();
    if !new.is_empty() && !new.ends_with('\n') {
        new.push('\n');
    }
    new.push_str("/output/\n");
    ledger.scratch().write(&path, new.as_bytes())?;
    Ok(())
}

/// What the release file records of a run of the release phase.
pub(crate) fn phase_record(ran: &Ran, (sha256, size): (String, u64)) -> ReleasePhase {
    ReleasePhase {
        status: if ran.passed() {
            PhaseStatus::Passed
        } else {
            PhaseStatus::Failed
        },
        reason: ran.failure.clone(),
        exit_code: ran.exit_code,
        duration_ms: u64::try_from(ran.duration.as_millis()).unwrap_or(u64::MAX),
        output_sha256: Some(sha256),
        output_size: size,
    }
}

/// What the release file records of a release phase skipped on purpose.
pub(crate) fn skipped() -> ReleasePhase {
    ReleasePhase {
        status: PhaseStatus::Skipped,
        reason: None,
        exit_code: None,
        duration_ms: 0,
        output_sha256: None,
        output_size: 0,
    }
}
