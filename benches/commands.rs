//! Whole-process benchmarks of the tool's everyday commands, each timed in
//! the same run as what git, cargo, `sha256sum` or `cp` take for the same
//! kind of work, on ledgers of 10 to 100,000 releases.
//!
//! `cargo bench` measures everything (some minutes on two cores);
//! `cargo bench -- --quick` only ledgers of 10 and 1,000 releases, with
//! fewer runs; any other word keeps the operations whose name contains it
//! (`cargo bench -- --quick check`). Nothing is measured without `--bench`,
//! which `cargo bench` passes, so `cargo test --benches` only builds this.
//!
//! No criterion or divan: they time closures in this process, and what
//! matters here is whole processes, a binary started next to another one.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fs_err as fs;

/// The binary under test, built by `cargo bench` with the bench profile
/// (which is the release profile).
const TOOL: &str = env!("CARGO_BIN_EXE_cargo-release-log");

/// 2026-01-15 12:00:00 UTC: the time of the first generated release, and
/// of the first commit of the git histories.
const START: i64 = 1_768_478_400;

/// The tool's clock: a day after the newest generated release, so that no
/// new release goes back in time.
const NOW: i64 = START + 100_000 + 86_400;

/// The executable whose storing is measured: 50 MiB of pseudo-random bytes
/// compiled into a binary.
const BLOB_SIZE: usize = 50 * 1024 * 1024;

/// The peak RSS `check` may reach: 50 MB.
const CHECK_RSS: u64 = 50_000_000;

/// What a repeat deploy of an unchanged binary may write beyond what
/// cargo's no-op build writes: its release file and the `current` pointer,
/// a few KiB; a copy of the slug would be 50 MiB.
const REPEAT_WRITE: u64 = 1024 * 1024;

/// The release whose `info` and `rollback` are measured: an old one.
const OLD: &str = "v5";

/// Environment variables that would make a run depend on the machine or the
/// CI: the ones the tests clear.
const CLEARED: &[&str] = &[
    "CARGO_TERM_COLOR",
    "CARGO_TERM_PROGRESS_WHEN",
    "CLICOLOR",
    "CLICOLOR_FORCE",
    "NO_COLOR",
    "CI",
    "CARGO_TARGET_DIR",
    "CARGO_BUILD_TARGET_DIR",
    "CARGO_BUILD_TARGET",
    "RUSTFLAGS",
    "CARGO_ENCODED_RUSTFLAGS",
    "CARGO_RELEASE_LOG_TERM_WIDTH",
    "COLUMNS",
    "SOURCE_DATE_EPOCH",
    "XDG_DATA_HOME",
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_AUTHOR_EMAIL",
    "GIT_COMMITTER_EMAIL",
];

/// The targets of the issue, one verdict line each at the end.
mod goal {
    pub const APPEND: &str = "append a release (config set) <= 1.5x git commit --allow-empty";
    pub const RELEASES_SCALE: &str = "releases (15 rows) on 100,000 <= 1.2x on 10 releases";
    pub const RELEASES_GIT: &str = "releases (15 rows) <= 2x git log --oneline -n 15";
    pub const INFO_SCALE: &str = "info v5 on 100,000 <= 1.2x on 10 releases";
    pub const ROLLBACK_SCALE: &str = "rollback v5 on 100,000 <= 1.2x on 10 releases";
    pub const APPEND_SCALE: &str =
        "config set on 100,000 (chain verified first) <= 1.2x on 10 releases";
    pub const DEPLOY: &str = "deploy --no-build <= 1.5x cargo metadata --offline --no-deps";
    pub const CHECK: &str = "check <= 5x sha256sum of the release files, peak RSS <= 50 MB";
    pub const SLUG: &str = "slug store of a 50 MiB binary <= 1.5x cp";
    pub const REPEAT: &str = "repeat deploy of an unchanged binary writes ~0 bytes";
    pub const PHASE: &str = "config set with a release phase of `true` <= 1.3x config set without";
}

fn main() {
    let Some(settings) = Settings::from_args() else {
        println!("commands: run by `cargo bench` (it passes --bench); nothing measured");
        return;
    };
    let env = Env::new();
    let fixtures = Fixtures::new(&env);
    let mut bench = Bench {
        settings: &settings,
        env: &env,
        fixtures: &fixtures,
        rows: Vec::new(),
    };
    let load_before = load_average();
    let started = Instant::now();
    bench.run_all();
    let elapsed = started.elapsed();
    if bench.rows.is_empty() {
        println!(
            "commands: no operation matches; they are: releases, info, check, \
             deploy --no-build, config set, release phase, rollback, slug store"
        );
        return;
    }
    print!(
        "{}",
        report(&settings, &bench.rows, &fixtures, elapsed, &load_before)
    );
    eprintln!("commands: removing the generated files (slow on a disk mounted with `discard`)");
}

/// How much to measure.
struct Settings {
    quick: bool,
    sizes: Vec<u64>,
    /// Untimed runs of each command before the timed ones.
    warmup: usize,
    min_runs: usize,
    max_runs: usize,
    /// About how long the timed runs of one comparison should take.
    budget: Duration,
    /// Only operations whose name contains this.
    filter: Option<String>,
}

impl Settings {
    /// `None` when not run by `cargo bench`.
    fn from_args() -> Option<Self> {
        let mut bench = false;
        let mut quick = false;
        let mut filter = None;
        for arg in std::env::args().skip(1) {
            match arg.as_str() {
                "--bench" => bench = true,
                "--quick" => quick = true,
                other if other.starts_with('-') => {
                    eprintln!("commands: ignoring unknown option `{other}`");
                }
                other => filter = Some(other.to_lowercase()),
            }
        }
        if !bench {
            return None;
        }
        Some(if quick {
            Self {
                quick,
                sizes: vec![10, 1_000],
                warmup: 1,
                min_runs: 5,
                max_runs: 20,
                budget: Duration::from_secs(1),
                filter,
            }
        } else {
            Self {
                quick,
                sizes: vec![10, 1_000, 10_000, 100_000],
                warmup: 3,
                min_runs: 20,
                max_runs: 100,
                budget: Duration::from_secs(4),
                filter,
            }
        })
    }

    fn wants(&self, operation: &str) -> bool {
        self.filter
            .as_ref()
            .is_none_or(|f| operation.to_lowercase().contains(f))
    }
}

/// The temporary folder everything is generated in, and the clean
/// environment every command runs with (as the tests give the tool).
struct Env {
    dir: tempfile::TempDir,
    cargo: OsString,
}

impl Env {
    fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("release-log-bench-")
            .tempdir()
            .expect("a temporary folder");
        fs::create_dir_all(dir.path().join("cargo-home")).unwrap();
        Self {
            dir,
            cargo: std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `program` in `cwd`: no user or system git config, a cargo home of
    /// its own, offline, a fixed clock and time zone.
    fn command(&self, program: impl AsRef<OsStr>, cwd: &Path) -> Command {
        let mut cmd = Command::new(program);
        for var in CLEARED {
            cmd.env_remove(var);
        }
        cmd.current_dir(cwd)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("TZ", "America/Los_Angeles")
            .env("USER", "bench")
            .env("CARGO", &self.cargo)
            .env("CARGO_HOME", self.path("cargo-home"))
            .env("CARGO_NET_OFFLINE", "true")
            .env("CARGO_INCREMENTAL", "0")
            .env("CARGO_RELEASE_LOG_NOW", NOW.to_string())
            .env("CARGO_RELEASE_LOG_SECRETS", self.path("secrets"));
        cmd
    }

    fn git(&self, repo: &Path, args: &[&str]) -> Command {
        let mut cmd = self.command("git", repo);
        cmd.args(args);
        cmd
    }

    fn cargo(&self, ws: &Path, args: &[&str]) -> Command {
        let mut cmd = self.command(&self.cargo, ws);
        cmd.args(args);
        cmd
    }

    /// A step of a [`Job`]: `program args` in `cwd`, built afresh for each run.
    fn step<'a, S: AsRef<OsStr>>(
        &'a self,
        program: impl AsRef<OsStr>,
        cwd: &Path,
        args: impl IntoIterator<Item = S>,
    ) -> Step<'a> {
        let program = program.as_ref().to_owned();
        let cwd = cwd.to_owned();
        let args: Vec<OsString> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
        Box::new(move || {
            let mut cmd = self.command(&program, &cwd);
            cmd.args(&args);
            cmd
        })
    }

    /// `cargo release-log <args>` in `ws`, as cargo starts it: this build's
    /// binary, or the one `RELEASE_LOG_BENCH_TOOL` names (an older build,
    /// to compare two on the same machine).
    fn tool(&self, ws: &Path, args: &[&str]) -> Step<'_> {
        let tool = std::env::var_os("RELEASE_LOG_BENCH_TOOL").unwrap_or_else(|| TOOL.into());
        self.step(
            tool,
            ws,
            std::iter::once("release-log").chain(args.iter().copied()),
        )
    }

    /// `cp from to`.
    fn cp(&self, from: &Path, to: &Path) -> Step<'_> {
        self.step("cp", Path::new("/"), [from, to])
    }
}

/// A preparation that removes `path`, a file or a folder, if it exists.
fn removing(path: PathBuf) -> impl Fn() {
    move || {
        let _ = fs::remove_file(&path).or_else(|_| fs::remove_dir_all(&path));
    }
}

/// Runs a setup command, returning its trimmed stdout; panics with its
/// stderr when it fails.
fn setup(mut cmd: Command) -> String {
    let output = cmd.output().expect("a setup command starts");
    assert!(
        output.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// The workspaces and git histories, each generated the first time it is used.
struct Fixtures<'a> {
    env: &'a Env,
    ledgers: RefCell<BTreeMap<u64, PathBuf>>,
    histories: RefCell<BTreeMap<u64, PathBuf>>,
    slug: RefCell<Option<SlugWorkspace>>,
    /// What was generated, and how long it took.
    log: RefCell<Vec<String>>,
}

/// The workspace whose build produces a 50 MiB executable.
#[derive(Clone)]
struct SlugWorkspace {
    root: PathBuf,
    /// The built executable, in the workspace's target folder.
    built: PathBuf,
    /// Where `cp` copies it.
    copy: PathBuf,
}

/// The package of every generated workspace, with the Cargo.lock cargo would write.
const MANIFEST: &str =
    "[package]\nname = \"myapp\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\n";
const LOCKFILE: &str = "# This file is automatically @generated by Cargo.\n\
     # It is not intended for manual editing.\n\
     version = 4\n\n\
     [[package]]\n\
     name = \"myapp\"\n\
     version = \"0.1.0\"\n";

impl<'a> Fixtures<'a> {
    fn new(env: &'a Env) -> Self {
        Self {
            env,
            ledgers: RefCell::default(),
            histories: RefCell::default(),
            slug: RefCell::default(),
            log: RefCell::default(),
        }
    }

    fn timed<T>(&self, what: String, make: impl FnOnce() -> T) -> T {
        eprintln!("commands: generating {what}…");
        let started = Instant::now();
        let made = make();
        let line = format!("{what}: {}", seconds(started.elapsed()));
        eprintln!("commands: {line}");
        self.log.borrow_mut().push(line);
        made
    }

    /// A workspace `myapp` committed to a fresh git repository.
    fn workspace(&self, name: &str, main_rs: &str) -> PathBuf {
        let root = self.env.path(name);
        fs::create_dir_all(root.join("src")).unwrap();
        fs::write(root.join("Cargo.toml"), MANIFEST).unwrap();
        fs::write(root.join("Cargo.lock"), LOCKFILE).unwrap();
        fs::write(root.join(".gitignore"), "/target\n").unwrap();
        fs::write(root.join("src/main.rs"), main_rs).unwrap();
        init_repo(self.env, &root);
        setup(self.env.git(&root, &["add", "-A"]));
        setup(self.env.git(&root, &["commit", "-q", "-m", "initial"]));
        root
    }

    /// Writes a ledger of `count` releases of `root`'s commit through the
    /// library, and commits it (release files are meant to be).
    fn record_ledger(&self, root: &Path, count: u64) {
        let head = setup(self.env.git(root, &["rev-parse", "HEAD"]));
        cargo_release_log::fixtures::write_ledger(root, count, &head, &self.executable(), START)
            .expect("the ledger is written");
        commit_all(self.env, root, "Record the releases");
    }

    /// A workspace with a ledger of `count` releases, written through the
    /// library, and committed (release files are meant to be).
    fn ledger(&self, count: u64) -> PathBuf {
        if let Some(root) = self.ledgers.borrow().get(&count) {
            return root.clone();
        }
        let root = self.timed(format!("a ledger of {} releases", thousands(count)), || {
            let root = self.workspace(&format!("ledger-{count}"), "fn main() {}\n");
            self.record_ledger(&root, count);
            root
        });
        self.ledgers.borrow_mut().insert(count, root.clone());
        root
    }

    /// A ledger of ten releases whose workspace runs `true` as its release
    /// phase: what a release command costs beyond starting a process.
    fn ledger_with_release_phase(&self) -> PathBuf {
        self.timed(
            "a ledger of 10 releases with a release phase".to_owned(),
            || {
                let root = self.workspace("ledger-phase", "fn main() {}\n");
                let manifest = fs::read_to_string(root.join("Cargo.toml")).unwrap();
                fs::write(
                    root.join("Cargo.toml"),
                    format!(
                        "{manifest}\n[package.metadata.release-log]\nrelease-command = [\"true\"]\n"
                    ),
                )
                .unwrap();
                commit_all(self.env, &root, "A release phase");
                self.record_ledger(&root, 10);
                root
            },
        )
    }

    /// The slug of generated ledgers: a small executable named like the package.
    fn executable(&self) -> PathBuf {
        let path = self.env.path("exe/myapp");
        if !path.exists() {
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::copy("/bin/true", &path)
                .or_else(|_| fs::write(&path, b"#!/bin/sh\n").map(|()| 0))
                .unwrap();
        }
        path
    }

    /// A git repository of `count` commits, each with a release-like message.
    fn history(&self, count: u64) -> PathBuf {
        if let Some(repo) = self.histories.borrow().get(&count) {
            return repo.clone();
        }
        let repo = self.timed(
            format!("a git history of {} commits", thousands(count)),
            || {
                let repo = self.env.path(&format!("history-{count}"));
                fs::create_dir_all(&repo).unwrap();
                init_repo(self.env, &repo);
                let mut stream = String::new();
                for i in 1..=count {
                    let message = if i == 1 {
                        "Initial".to_owned()
                    } else {
                        format!("Config add N{}", i % 50)
                    };
                    let _ = write!(
                        stream,
                        "commit refs/heads/main\n\
                     committer Bench <bench@example.com> {} +0000\n\
                     data {}\n{message}\n",
                        START + i as i64,
                        message.len(),
                    );
                    if i == 1 {
                        stream.push_str("M 644 inline README\ndata 6\nbench\n");
                    }
                    stream.push('\n');
                }
                let mut child = self
                    .env
                    .git(&repo, &["fast-import", "--quiet"])
                    .stdin(Stdio::piped())
                    .spawn()
                    .expect("git fast-import starts");
                child
                    .stdin
                    .take()
                    .unwrap()
                    .write_all(stream.as_bytes())
                    .unwrap();
                assert!(child.wait().unwrap().success(), "git fast-import failed");
                setup(self.env.git(&repo, &["reset", "-q", "--hard"]));
                repo
            },
        );
        self.histories.borrow_mut().insert(count, repo.clone());
        repo
    }

    /// A workspace whose release build is a 50 MiB executable (a binary that
    /// embeds a blob), built once so that a deploy's build is cargo's no-op.
    fn slug(&self) -> SlugWorkspace {
        if let Some(slug) = self.slug.borrow().as_ref() {
            return slug.clone();
        }
        let slug = self.timed("a 50 MiB executable, built".to_owned(), || {
            let blob = self.env.path("blob.bin");
            fs::write(&blob, pseudo_random(BLOB_SIZE)).unwrap();
            let main_rs = format!(
                "static BLOB: &[u8] = include_bytes!({:?});\n\n\
                 fn main() {{\n    \
                     let i = std::env::args().count() % BLOB.len();\n    \
                     println!(\"{{}}\", BLOB[i]);\n\
                 }}\n",
                blob.display().to_string()
            );
            let root = self.workspace("slug", &main_rs);
            setup(
                self.env
                    .cargo(&root, &["build", "--release", "--locked", "--quiet"]),
            );
            SlugWorkspace {
                built: root.join("target/release/myapp"),
                copy: self.env.path("copy-of-myapp"),
                root,
            }
        });
        *self.slug.borrow_mut() = Some(slug.clone());
        slug
    }
}

/// `git add -A && git commit`, with every file streamed into one pack
/// (bulk checkin, which git keeps for big files) rather than written as a
/// loose object: on a disk mounted with `discard`, deleting 100,000 loose
/// objects at the end takes most of a minute.
fn commit_all(env: &Env, repo: &Path, message: &str) {
    setup(env.git(repo, &["-c", "core.bigFileThreshold=1", "add", "-A"]));
    setup(env.git(repo, &["commit", "-q", "-m", message]));
}

fn init_repo(env: &Env, repo: &Path) {
    setup(env.git(repo, &["init", "-q", "-b", "main"]));
    setup(env.git(repo, &["config", "user.email", "bench@example.com"]));
    setup(env.git(repo, &["config", "user.name", "Bench"]));
    // A `git gc --auto` starting in the middle of timed commits would
    // measure a repack, not a commit.
    setup(env.git(repo, &["config", "gc.auto", "0"]));
}

/// Bytes that neither compress nor repeat (xorshift64*).
fn pseudo_random(len: usize) -> Vec<u8> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut bytes = Vec::with_capacity(len + 8);
    while bytes.len() < len {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        bytes.extend_from_slice(&state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    bytes.truncate(len);
    bytes
}

/// One process of a [`Job`], built afresh for each run.
type Step<'a> = Box<dyn Fn() -> Command + 'a>;

/// A command line to time: one process or several in a row, after an
/// untimed preparation.
struct Job<'a> {
    label: String,
    steps: Vec<Step<'a>>,
    prepare: Box<dyn Fn() + 'a>,
}

impl<'a> Job<'a> {
    fn new(label: impl Into<String>, step: impl Fn() -> Command + 'a) -> Self {
        Self {
            label: label.into(),
            steps: vec![Box::new(step)],
            prepare: Box::new(|| {}),
        }
    }

    fn then(mut self, step: impl Fn() -> Command + 'a) -> Self {
        self.steps.push(Box::new(step));
        self
    }

    fn prepared(mut self, prepare: impl Fn() + 'a) -> Self {
        self.prepare = Box::new(prepare);
        self
    }

    /// One run, checked, with what it printed kept for the error message.
    fn run_checked(&self) -> Duration {
        (self.prepare)();
        let started = Instant::now();
        for step in &self.steps {
            let mut cmd = step();
            let output = cmd.stdin(Stdio::null()).output().unwrap();
            assert!(
                output.status.success(),
                "`{}` failed ({}): {cmd:?}\n--- stdout\n{}--- stderr\n{}",
                self.label,
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr),
            );
        }
        started.elapsed()
    }

    /// One timed run, its output thrown away.
    fn run_timed(&self) -> Duration {
        (self.prepare)();
        let mut cmds: Vec<Command> = self.steps.iter().map(|step| step()).collect();
        let started = Instant::now();
        for cmd in &mut cmds {
            let status = cmd
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .unwrap();
            assert!(status.success(), "`{}` failed ({status})", self.label);
        }
        started.elapsed()
    }

    /// One run under GNU time: the peak RSS of the largest process of each
    /// step's tree, and the bytes they wrote to the file system (counted
    /// when written to the page cache, whether or not they reach the disk).
    fn usage(&self, scratch: &Path) -> Option<Usage> {
        if !Path::new("/usr/bin/time").exists() {
            return None;
        }
        (self.prepare)();
        let out = scratch.join("time.out");
        let mut usage = Usage::default();
        for step in &self.steps {
            let cmd = step();
            let mut timed = Command::new("/usr/bin/time");
            timed
                .args(["-f", "%M %O", "-o"])
                .arg(&out)
                .arg(cmd.get_program())
                .args(cmd.get_args());
            for (key, value) in cmd.get_envs() {
                match value {
                    Some(value) => timed.env(key, value),
                    None => timed.env_remove(key),
                };
            }
            if let Some(dir) = cmd.get_current_dir() {
                timed.current_dir(dir);
            }
            let status = timed
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .ok()?;
            assert!(status.success(), "`{}` failed ({status})", self.label);
            let text = fs::read_to_string(&out).ok()?;
            let mut fields = text.lines().last()?.split_whitespace();
            let rss_kib: u64 = fields.next()?.parse().ok()?;
            let blocks: u64 = fields.next()?.parse().ok()?;
            usage.peak_rss = usage.peak_rss.max(rss_kib * 1024);
            usage.written += blocks * 512;
        }
        Some(usage)
    }
}

impl Job<'_> {
    /// The peak RSS of a one-process job's own process, without its
    /// children's: its VmHWM, sampled from /proc until it exits (a high-water
    /// mark, so a late sample still sees an earlier peak). Samples taken
    /// before the exec, when /proc shows this process's memory, are skipped.
    fn own_peak(&self) -> Option<u64> {
        let [step] = &self.steps[..] else {
            return None;
        };
        (self.prepare)();
        let mut cmd = step();
        let program = Path::new(cmd.get_program()).file_name()?.to_string_lossy();
        // The kernel keeps 15 bytes of a program's name.
        let name: String = program.chars().take(15).collect();
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let status = format!("/proc/{}/status", child.id());
        let mut peak = None;
        while child.try_wait().ok()?.is_none() {
            if let Ok(text) = std::fs::read_to_string(&status)
                && text
                    .lines()
                    .any(|l| l.strip_prefix("Name:").map(str::trim) == Some(name.as_str()))
            {
                let kib = text
                    .lines()
                    .find_map(|l| l.strip_prefix("VmHWM:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok());
                peak = kib.map(|k| k * 1024).or(peak);
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        peak
    }
}

#[derive(Debug, Default, Clone, Copy)]
struct Usage {
    /// Bytes.
    peak_rss: u64,
    /// Bytes written to files.
    written: u64,
}

/// What one comparison's runs have to meet.
#[derive(Clone, Copy)]
enum Target {
    /// The tool's median over the comparison's.
    Ratio(f64),
    /// A ratio, and a peak RSS in bytes.
    RatioAndRss(f64, u64),
    /// At most these bytes written beyond the comparison's, and nothing
    /// added to the watched folder.
    Written(u64),
    /// Measured for the diagnosis only.
    Info,
}

/// One comparison: the tool's command next to another, on the same data.
struct Case<'a> {
    operation: String,
    size: String,
    goal: Option<&'static str>,
    tool: Job<'a>,
    compared: Job<'a>,
    target: Target,
    /// A folder whose growth over one run of the tool is reported.
    watch: Option<PathBuf>,
    /// Whether to sample the tool's own peak RSS too, apart from the
    /// processes it starts.
    own_peak: bool,
}

/// One line of the table.
struct Row {
    operation: String,
    size: String,
    goal: Option<&'static str>,
    tool: Duration,
    compared: Duration,
    compared_label: String,
    target: Target,
    tool_usage: Option<Usage>,
    compared_usage: Option<Usage>,
    /// The watched folder's growth over one run, in bytes.
    grew: Option<u64>,
    /// The tool's own peak RSS, without its children's.
    own_peak: Option<u64>,
    runs: usize,
}

impl Row {
    fn ratio(&self) -> f64 {
        self.tool.as_secs_f64() / self.compared.as_secs_f64().max(1e-9)
    }

    fn written_beyond(&self) -> Option<u64> {
        let tool = self.tool_usage?.written;
        let compared = self.compared_usage?.written;
        Some(tool.saturating_sub(compared))
    }

    /// `None` for a row measured for information only.
    fn verdict(&self) -> Option<Result<(), String>> {
        let ratio_ok = |max: f64| {
            if self.ratio() <= max {
                Ok(())
            } else {
                Err(format!("{:.2}x > {max}x", self.ratio()))
            }
        };
        match self.target {
            Target::Info => None,
            Target::Ratio(max) => Some(ratio_ok(max)),
            Target::RatioAndRss(max, rss) => {
                Some(ratio_ok(max).and_then(|()| match self.tool_usage {
                    Some(u) if u.peak_rss > rss => Err(format!(
                        "peak RSS {} > {}",
                        megabytes(u.peak_rss),
                        megabytes(rss)
                    )),
                    _ => Ok(()),
                }))
            }
            Target::Written(max) => Some(match (self.grew, self.written_beyond()) {
                (Some(grew), _) if grew > 0 => {
                    Err(format!("the slug store grew by {}", bytes(grew)))
                }
                (_, Some(written)) if written > max => {
                    Err(format!("wrote {} more than cargo", bytes(written)))
                }
                _ => Ok(()),
            }),
        }
    }

    fn target_text(&self) -> String {
        match self.target {
            Target::Ratio(max) | Target::RatioAndRss(max, _) => format!("<= {max}x"),
            Target::Written(_) => "~0 B".to_owned(),
            Target::Info => "-".to_owned(),
        }
    }
}

struct Bench<'a> {
    settings: &'a Settings,
    env: &'a Env,
    fixtures: &'a Fixtures<'a>,
    rows: Vec<Row>,
}

impl<'a> Bench<'a> {
    /// Read-only operations first, so that the smaller ledgers are still
    /// their size when read; then the ones that add a release per run.
    fn run_all(&mut self) {
        let sizes = self.settings.sizes.clone();
        let (smallest, larger) = (sizes[0], &sizes[1..]);
        let (env, fx) = (self.env, self.fixtures);
        let case = |operation: &str, n: u64, goal, tool, compared, target| Case {
            operation: operation.to_owned(),
            size: thousands(n),
            goal: Some(goal),
            tool,
            compared,
            target,
            watch: None,
            own_peak: false,
        };

        if self.settings.wants("releases") {
            for &n in &sizes {
                let (ws, repo) = (fx.ledger(n), fx.history(n));
                self.measure(case(
                    "releases",
                    n,
                    goal::RELEASES_GIT,
                    Job::new("releases", env.tool(&ws, &["releases"])),
                    Job::new(
                        "git log --oneline -n 15",
                        env.step("git", &repo, ["log", "--oneline", "-n", "15"]),
                    ),
                    Target::Ratio(2.0),
                ));
            }
            for &n in larger {
                self.scale("releases", goal::RELEASES_SCALE, n, smallest, &["releases"]);
            }
        }
        if self.settings.wants("info") {
            for &n in larger {
                self.scale("info v5", goal::INFO_SCALE, n, smallest, &["info", OLD]);
            }
        }
        if self.settings.wants("check") {
            for &n in &sizes {
                let ws = fx.ledger(n);
                let script = "find .releases -maxdepth 1 -name 'v*.toml' -print0 \
                              | xargs -0 sha256sum";
                // `check` runs `cargo metadata`, whose RSS would hide its own.
                self.measure(Case {
                    own_peak: true,
                    ..case(
                        "check",
                        n,
                        goal::CHECK,
                        Job::new("check", env.tool(&ws, &["check"])),
                        Job::new(
                            "sha256sum .releases/v*.toml",
                            env.step("sh", &ws, ["-c", script]),
                        ),
                        Target::RatioAndRss(5.0, CHECK_RSS),
                    )
                });
            }
        }
        if self.settings.wants("deploy --no-build") {
            for &n in &sizes {
                let ws = fx.ledger(n);
                let metadata = [
                    "metadata",
                    "--offline",
                    "--no-deps",
                    "--format-version",
                    "1",
                ];
                self.measure(case(
                    "deploy --no-build",
                    n,
                    goal::DEPLOY,
                    Job::new(
                        "deploy --no-build",
                        env.tool(&ws, &["deploy", "--no-build"]),
                    ),
                    Job::new(
                        "cargo metadata --offline --no-deps",
                        env.step(&env.cargo, &ws, metadata),
                    ),
                    Target::Ratio(1.5),
                ));
                // The dirt check is git's: on a large ledger whose files are
                // committed, git's own index of them is what it costs.
                let mut status: Vec<String> = [
                    "--no-optional-locks",
                    "status",
                    "--porcelain=v2",
                    "--untracked-files=all",
                    "--",
                ]
                .map(String::from)
                .to_vec();
                status.extend(top_level_entries(&ws));
                self.measure(Case {
                    goal: None,
                    ..case(
                        "deploy --no-build",
                        n,
                        goal::DEPLOY,
                        Job::new(
                            "deploy --no-build",
                            env.tool(&ws, &["deploy", "--no-build"]),
                        ),
                        Job::new("git status (the same paths)", env.step("git", &ws, status)),
                        Target::Info,
                    )
                });
                // The first deploy of a fresh clone: the tool makes its own
                // index of the workspace's files, reading each once.
                self.measure(Case {
                    goal: None,
                    ..case(
                        "deploy --no-build, no own index",
                        n,
                        goal::DEPLOY,
                        Job::new(
                            "deploy --no-build",
                            env.tool(&ws, &["deploy", "--no-build"]),
                        )
                        .prepared(removing(ws.join(".git/cargo-release-log"))),
                        Job::new(
                            "cargo metadata --offline --no-deps",
                            env.step(&env.cargo, &ws, metadata),
                        ),
                        Target::Info,
                    )
                });
            }
        }
        if self.settings.wants("config set") {
            for &n in &sizes {
                let (ws, repo) = (fx.ledger(n), fx.history(n));
                // Each run sets a new value: an unchanged one records nothing.
                let value = Cell::new(0_u64);
                let set = move || {
                    value.set(value.get() + 1);
                    env.tool(&ws, &["config", "set", &format!("BENCH={}", value.get())])()
                };
                self.measure(case(
                    "config set",
                    n,
                    goal::APPEND,
                    Job::new("config set BENCH=<i>", set),
                    Job::new(
                        "git commit --allow-empty",
                        env.step(
                            "git",
                            &repo,
                            ["commit", "--allow-empty", "-m", "Config add BENCH"],
                        ),
                    ),
                    Target::Ratio(1.5),
                ));
            }
            self.config_set_scaling(smallest, larger);
        }
        if self.settings.wants("release phase") {
            let (with, without) = (fx.ledger_with_release_phase(), fx.ledger(smallest));
            let setter = |ws: PathBuf| {
                let value = Cell::new(0_u64);
                move || {
                    value.set(value.get() + 1);
                    env.tool(&ws, &["config", "set", &format!("BENCH={}", value.get())])()
                }
            };
            self.measure(case(
                "config set, release phase `true`",
                10,
                goal::PHASE,
                Job::new("config set BENCH=<i> (release phase)", setter(with)),
                Job::new("config set BENCH=<i> (none)", setter(without)),
                Target::Ratio(1.3),
            ));
        }
        if self.settings.wants("rollback") {
            for &n in larger {
                let args = ["rollback", OLD];
                self.scale("rollback v5", goal::ROLLBACK_SCALE, n, smallest, &args);
            }
        }
        if self.settings.wants("slug store") {
            self.slug_store();
        }
    }

    /// `config set` on `n` releases and on `smallest`: a writer verifies the
    /// chain it extends, through the verified prefix it cached. Then the
    /// same after the folder changed under it (as a checkout or pull
    /// changes it), when the writer lists the folder and reads every
    /// release file once again: measured for the diagnosis only.
    fn config_set_scaling(&mut self, smallest: u64, larger: &[u64]) {
        let (env, fx) = (self.env, self.fixtures);
        let setter = |ws: PathBuf, name: &'static str| {
            let value = Cell::new(0_u64);
            move || {
                value.set(value.get() + 1);
                env.tool(&ws, &["config", "set", &format!("{name}={}", value.get())])()
            }
        };
        // A file made and removed: the folder's time moves, as a checkout moves it.
        let touch = |ws: PathBuf| {
            move || {
                let path = ws.join(".releases/.bench-touch");
                std::fs::write(&path, "").unwrap();
                std::fs::remove_file(&path).unwrap();
            }
        };
        for &n in larger {
            let (big, small) = (fx.ledger(n), fx.ledger(smallest));
            let same = format!("the same on {} releases", thousands(smallest));
            self.measure(Case {
                operation: "config set (scaling)".to_owned(),
                size: thousands(n),
                goal: Some(goal::APPEND_SCALE),
                tool: Job::new("config set SCALE=<i>", setter(big.clone(), "SCALE")),
                compared: Job::new(same.clone(), setter(small.clone(), "SCALE")),
                target: Target::Ratio(1.2),
                watch: None,
                own_peak: false,
            });
            self.measure(Case {
                operation: "config set, folder changed".to_owned(),
                size: thousands(n),
                goal: None,
                tool: Job::new("config set TOUCHED=<i>", setter(big.clone(), "TOUCHED"))
                    .prepared(touch(big)),
                compared: Job::new(same, setter(small.clone(), "TOUCHED")).prepared(touch(small)),
                target: Target::Info,
                watch: None,
                own_peak: false,
            });
        }
    }

    /// The same command on `n` releases and on `smallest`.
    fn scale(&mut self, operation: &str, goal: &'static str, n: u64, smallest: u64, args: &[&str]) {
        let (big, small) = (self.fixtures.ledger(n), self.fixtures.ledger(smallest));
        self.measure(Case {
            operation: format!("{operation} (scaling)"),
            size: thousands(n),
            goal: Some(goal),
            tool: Job::new(operation, self.env.tool(&big, args)),
            compared: Job::new(
                format!("the same on {} releases", thousands(smallest)),
                self.env.tool(&small, args),
            ),
            target: Target::Ratio(1.2),
            watch: None,
            own_peak: false,
        });
    }

    /// Storing a 50 MiB executable: a deploy whose build is cargo's no-op,
    /// with the slug store emptied before each run, next to the same no-op
    /// build and a `cp` of the executable; then a repeat deploy of the
    /// unchanged executable, and what it writes.
    fn slug_store(&mut self) {
        let env = self.env;
        let slug = self.fixtures.slug();
        let store = slug.root.join(".releases/slugs");
        let build = [
            "build",
            "--workspace",
            "--bins",
            "--profile",
            "release",
            "--locked",
        ];
        let no_op_build = || env.step(&env.cargo, &slug.root, build);
        let case = |operation: &str, goal, tool, compared, target| Case {
            operation: operation.to_owned(),
            size: "50 MiB".to_owned(),
            goal,
            tool,
            compared,
            target,
            watch: None,
            own_peak: false,
        };

        self.measure(case(
            "slug store: deploy",
            Some(goal::SLUG),
            Job::new("deploy (new slug)", env.tool(&slug.root, &["deploy"]))
                .prepared(removing(store.clone())),
            Job::new("cargo build (no-op) + cp", no_op_build())
                .then(env.cp(&slug.built, &slug.copy))
                .prepared(removing(slug.copy.clone())),
            Target::Ratio(1.5),
        ));
        self.measure(Case {
            watch: Some(store.clone()),
            ..case(
                "slug store: repeat deploy",
                Some(goal::REPEAT),
                Job::new("deploy (unchanged)", env.tool(&slug.root, &["deploy"])),
                Job::new("cargo build (no-op)", no_op_build()),
                Target::Written(REPEAT_WRITE),
            )
        });
        // The store step alone: what the deploy of a new slug costs more
        // than a repeat deploy, next to what `cp` costs more than nothing.
        if let [.., new, repeat] = &self.rows[..] {
            let row = Row {
                operation: "slug store: store step".into(),
                size: "50 MiB".into(),
                goal: None,
                tool: new.tool.saturating_sub(repeat.tool),
                compared: new.compared.saturating_sub(repeat.compared),
                compared_label: "cp (the two rows above, less no-ops)".into(),
                target: Target::Info,
                tool_usage: None,
                compared_usage: None,
                grew: None,
                own_peak: None,
                runs: new.runs.min(repeat.runs),
            };
            self.rows.push(row);
        }
        // A new slug again, with the executable's stamp changed (its mode set again,
        // which cargo does not look at): the digest remembered for it is no
        // longer trusted, so the deploy hashes 50 MiB, as after a real build.
        let rehash = {
            let (store, built) = (store.clone(), slug.built.clone());
            move || {
                removing(store.clone())();
                let mode = fs::metadata(&built).unwrap().permissions();
                fs::set_permissions(&built, mode).unwrap();
            }
        };
        self.measure(case(
            "slug store: deploy, hashed",
            None,
            Job::new(
                "deploy (new slug, hashed)",
                env.tool(&slug.root, &["deploy"]),
            )
            .prepared(rehash),
            Job::new("cargo build (no-op) + cp", no_op_build())
                .then(env.cp(&slug.built, &slug.copy))
                .prepared(removing(slug.copy.clone())),
            Target::Info,
        ));
        // What durability would cost `cp`: the store does not sync the
        // executables it copies (see docs/ledger.md).
        self.measure(case(
            "reference: cp + fsync",
            None,
            Job::new("cp + sync FILE", env.cp(&slug.built, &slug.copy))
                .then(env.step("sync", Path::new("/"), [&slug.copy]))
                .prepared(removing(slug.copy.clone())),
            Job::new("cp", env.cp(&slug.built, &slug.copy)).prepared(removing(slug.copy.clone())),
            Target::Info,
        ));
    }

    /// Warms up, measures resources once, then times the two commands
    /// alternately (in turn first), so that a change in the machine's load
    /// weighs on both alike.
    fn measure(&mut self, case: Case<'_>) {
        let settings = self.settings;
        eprintln!(
            "commands: {} on {}: `{}` vs `{}`",
            case.operation, case.size, case.tool.label, case.compared.label
        );
        let mut pair = Duration::ZERO;
        for i in 0..settings.warmup.max(1) {
            let (tool, compared) = if i == 0 {
                (case.tool.run_checked(), case.compared.run_checked())
            } else {
                (case.tool.run_timed(), case.compared.run_timed())
            };
            pair = tool + compared;
        }
        let before = case.watch.as_deref().map(folder_size);
        let tool_usage = case.tool.usage(self.env.dir.path());
        let grew = case
            .watch
            .as_deref()
            .zip(before)
            .map(|(dir, before)| folder_size(dir).saturating_sub(before));
        let compared_usage = case.compared.usage(self.env.dir.path());
        let own_peak = case.own_peak.then(|| case.tool.own_peak()).flatten();
        // Seconds-long runs vary little: ten of them give a steady median.
        let min_runs = if pair > Duration::from_secs(2) {
            settings.min_runs.min(10)
        } else {
            settings.min_runs
        };
        let runs = ((settings.budget.as_secs_f64() / pair.as_secs_f64().max(1e-6)) as usize)
            .clamp(min_runs, settings.max_runs);
        let (mut tool, mut compared) = (Vec::with_capacity(runs), Vec::with_capacity(runs));
        for i in 0..runs {
            if i.is_multiple_of(2) {
                tool.push(case.tool.run_timed());
                compared.push(case.compared.run_timed());
            } else {
                compared.push(case.compared.run_timed());
                tool.push(case.tool.run_timed());
            }
        }
        let row = Row {
            operation: case.operation,
            size: case.size,
            goal: case.goal,
            tool: median(&mut tool),
            compared: median(&mut compared),
            compared_label: case.compared.label,
            target: case.target,
            tool_usage,
            compared_usage,
            grew,
            own_peak,
            runs,
        };
        eprintln!(
            "commands:   {} vs {}: {:.2}x",
            millis(row.tool),
            millis(row.compared),
            row.ratio()
        );
        self.rows.push(row);
    }
}

fn median(samples: &mut [Duration]) -> Duration {
    samples.sort_unstable();
    let mid = samples.len() / 2;
    if samples.len().is_multiple_of(2) {
        (samples[mid - 1] + samples[mid]) / 2
    } else {
        samples[mid]
    }
}

/// The total size of the files under `dir` (0 when it does not exist).
fn folder_size(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| match entry.file_type() {
            Ok(kind) if kind.is_dir() => folder_size(&entry.path()),
            Ok(kind) if kind.is_file() => entry.metadata().map_or(0, |m| m.len()),
            _ => 0,
        })
        .sum()
}

/// The table, the generated data, a verdict per target and the machine.
fn report(
    settings: &Settings,
    rows: &[Row],
    fixtures: &Fixtures<'_>,
    elapsed: Duration,
    load_before: &str,
) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\ncargo release-log: whole-process medians of the release binary, each next to its \
         comparison in the same run ({} mode)\n",
        if settings.quick { "quick" } else { "full" }
    );
    let _ = writeln!(
        out,
        "{:<26} {:>8} {:>9}  {:<36} {:>9} {:>7} {:>7}  {:<7} {:>19} {:>4}",
        "operation",
        "ledger",
        "tool",
        "compared with",
        "time",
        "ratio",
        "target",
        "verdict",
        "peak RSS tool/comp.",
        "runs"
    );
    let _ = writeln!(out, "{}", "-".repeat(141));
    for row in rows {
        let verdict = match row.verdict() {
            None => "info",
            Some(Ok(())) => "PASS",
            Some(Err(_)) => "FAIL",
        };
        let rss = match (row.tool_usage, row.compared_usage) {
            (Some(t), Some(c)) => format!("{} / {}", megabytes(t.peak_rss), megabytes(c.peak_rss)),
            _ => "-".to_owned(),
        };
        let _ = writeln!(
            out,
            "{:<26} {:>8} {:>9}  {:<36} {:>9} {:>6.2}x {:>7}  {:<7} {:>19} {:>4}",
            row.operation,
            row.size,
            millis(row.tool),
            row.compared_label,
            millis(row.compared),
            row.ratio(),
            row.target_text(),
            verdict,
            rss,
            row.runs,
        );
    }
    let own: Vec<String> = rows
        .iter()
        .filter_map(|r| Some(format!("{} on {}", megabytes(r.own_peak?), r.size)))
        .collect();
    if !own.is_empty() {
        let _ = writeln!(
            out,
            "\ncheck's own peak RSS, without the cargo metadata it runs (VmHWM sampled from \
             /proc): {}.",
            own.join(", ")
        );
    }
    for row in rows
        .iter()
        .filter(|r| matches!(r.target, Target::Written(_)))
    {
        let (Some(tool), Some(compared)) = (row.tool_usage, row.compared_usage) else {
            continue;
        };
        let _ = writeln!(
            out,
            "\n{}: the deploy wrote {} ({} more than cargo's no-op build, which wrote {}); \
             the slug store grew by {}.",
            row.operation,
            bytes(tool.written),
            bytes(row.written_beyond().unwrap_or(0)),
            bytes(compared.written),
            bytes(row.grew.unwrap_or(0)),
        );
    }
    let _ = writeln!(
        out,
        "\nTimes are medians of wall-clock time from spawn to exit, warm file cache, the tool and \
         its comparison alternating.\nPeak RSS is GNU time's %M: the largest process of the \
         command's tree (cargo's, when the tool runs cargo). Release files are committed to git, \
         as the README asks.\nconfig set, rollback and deploy add one release per run. The slug \
         store rows deploy a workspace whose binary embeds a 50 MiB blob: its build is cargo's \
         no-op, so the\ndeploy is dominated by storing the executable (the store is emptied \
         before each run of the first and the \"hashed\" rows, not the second). A deploy \
         trusts the digest\nit remembers for an executable whose size, times and inode did not \
         change, as git trusts its index;\nthe \"hashed\" row changes the executable's stamp \
         first, so that its 50 MiB are hashed, as after a real build."
    );

    let _ = writeln!(out, "\nGenerated:");
    for line in fixtures.log.borrow().iter() {
        let _ = writeln!(out, "  {line}");
    }

    let _ = writeln!(out, "\nVerdicts:");
    let mut goals: Vec<&'static str> = Vec::new();
    for goal in rows.iter().filter_map(|r| r.goal) {
        if !goals.contains(&goal) {
            goals.push(goal);
        }
    }
    for goal in goals {
        let failures: Vec<String> = rows
            .iter()
            .filter(|r| r.goal == Some(goal))
            .filter_map(|r| match r.verdict() {
                Some(Err(why)) => Some(format!("{} at {}", why, r.size)),
                _ => None,
            })
            .collect();
        if failures.is_empty() {
            let _ = writeln!(out, "  PASS  {goal}");
        } else {
            let _ = writeln!(out, "  FAIL  {goal}: {}", failures.join("; "));
        }
    }
    if settings.quick {
        let _ = writeln!(
            out,
            "  (quick mode: ledgers of at most 1,000 releases; `cargo bench` measures 100,000)"
        );
    }

    let _ = writeln!(
        out,
        "\nMachine: {} CPUs ({}), {}, Linux {}; load average {} before, {} after; {} in all.",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        cpu_model(),
        memory(),
        read_trimmed("/proc/sys/kernel/osrelease"),
        load_before,
        load_average(),
        seconds(elapsed),
    );
    let _ = writeln!(out, "Tool: {}", tool_version());
    out
}

fn cpu_model() -> String {
    read_trimmed("/proc/cpuinfo")
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|l| l.trim_start_matches([' ', '\t', ':']).to_owned())
        .unwrap_or_else(|| "unknown CPU".to_owned())
}

fn memory() -> String {
    read_trimmed("/proc/meminfo")
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|l| l.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or_else(
            || "unknown memory".to_owned(),
            |kib| format!("{:.0} GiB RAM", kib as f64 / 1024.0 / 1024.0),
        )
}

fn load_average() -> String {
    read_trimmed("/proc/loadavg")
        .split_whitespace()
        .next()
        .unwrap_or("?")
        .to_owned()
}

/// The commit the measured code was built from, as far as git knows.
fn tool_version() -> String {
    let describe = Command::new("git")
        .args(["describe", "--always", "--dirty", "--abbrev=7"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    format!(
        "cargo-release-log {} ({})",
        env!("CARGO_PKG_VERSION"),
        describe.unwrap_or_else(|| "commit unknown".to_owned())
    )
}

fn read_trimmed(path: &str) -> String {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_owned())
        .unwrap_or_default()
}

fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn millis(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms >= 1000.0 {
        format!("{:.2} s", ms / 1000.0)
    } else if ms >= 100.0 {
        format!("{ms:.0} ms")
    } else if ms >= 10.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{ms:.2} ms")
    }
}

fn seconds(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

fn megabytes(n: u64) -> String {
    format!("{:.1} MB", n as f64 / 1e6)
}

fn bytes(n: u64) -> String {
    if n >= 1_000_000 {
        megabytes(n)
    } else if n >= 1_000 {
        format!("{:.1} kB", n as f64 / 1e3)
    } else {
        format!("{n} B")
    }
}

/// The pathspecs naming what the tool asks git about in workspace `ws`:
/// each top-level entry but `.git`, `.releases` and `target`.
fn top_level_entries(ws: &Path) -> Vec<String> {
    let mut entries: Vec<String> = fs::read_dir(ws)
        .expect("the workspace lists")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|name| ![".git", ".releases", "target"].contains(&name.as_str()))
        .map(|name| format!(":(literal){name}"))
        .collect();
    entries.sort();
    entries
}
