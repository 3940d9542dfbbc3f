//! A temporary workspace under git, and a runner that snapshots what a command did.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use fs_err as fs;

/// 2026-01-15 12:00:00 UTC: the clock every test starts at.
pub const START: i64 = 1_768_478_400;

/// A workspace in a temporary folder, committed to a fresh git repository.
pub struct Project {
    _dir: tempfile::TempDir,
    root: PathBuf,
    clock: Cell<i64>,
    width: Cell<Option<usize>>,
}

/// A binary crate `myapp` that prints a greeting, its args and `MYVAR`.
pub const MAIN_RS: &str = r#"fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    println!("hello from v1 (MYVAR={:?}, args={args:?})", std::env::var("MYVAR").ok());
    if let Some(code) = args.first().and_then(|a| a.strip_prefix("exit=")) {
        std::process::exit(code.parse().unwrap());
    }
}
"#;

impl Project {
    /// A one-package workspace `myapp`, with Cargo.lock committed.
    pub fn new() -> Self {
        Self::with_files(&[
            (
                "Cargo.toml",
                "[package]\nname = \"myapp\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\n",
            ),
            ("src/main.rs", MAIN_RS),
        ])
    }

    /// A workspace of the given files (plus `.gitignore`), committed.
    pub fn with_files(files: &[(&str, &str)]) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("release-log-")
            .tempdir()
            .unwrap();
        let root = dir.path().canonicalize().unwrap().join("myapp");
        fs::create_dir_all(&root).unwrap();
        let project = Self {
            _dir: dir,
            root,
            clock: Cell::new(START),
            width: Cell::new(None),
        };
        project.write(".gitignore", "/target\n");
        for (path, text) in files {
            project.write(path, text);
        }
        project.git(&["init", "-q", "-b", "main"]);
        project.git(&["config", "user.email", "jim@example.com"]);
        project.git(&["config", "user.name", "Jim"]);
        project.cargo(&["generate-lockfile", "--offline"]);
        project.commit("initial");
        project
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    pub fn write(&self, rel: &str, text: &str) {
        let path = self.path(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    pub fn read(&self, rel: &str) -> String {
        fs::read_to_string(self.path(rel)).unwrap()
    }

    pub fn exists(&self, rel: &str) -> bool {
        self.path(rel).exists()
    }

    /// Moves the fixed clock forward.
    pub fn advance(&self, seconds: i64) {
        self.clock.set(self.clock.get() + seconds);
    }

    /// Runs the next commands as if on a terminal this wide.
    pub fn terminal_width(&self, width: Option<usize>) {
        self.width.set(width);
    }

    /// Runs git with a fixed author and date, so commit shas are the same on every run.
    pub fn git(&self, args: &[&str]) -> String {
        let date = format!("{} +0000", self.clock.get());
        let output = clean(Command::new("git"))
            .args(args)
            .current_dir(&self.root)
            .env("GIT_AUTHOR_DATE", &date)
            .env("GIT_COMMITTER_DATE", &date)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap().trim().to_owned()
    }

    pub fn cargo(&self, args: &[&str]) {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let output = clean(Command::new(cargo))
            .args(args)
            .current_dir(&self.root)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "cargo {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// Commits everything but the ledger, as a user would before deploying.
    pub fn commit(&self, message: &str) -> String {
        self.git(&["add", "-A", "--", ".", ":(exclude).releases"]);
        self.git(&["commit", "-q", "--allow-empty", "-m", message]);
        self.git(&["rev-parse", "HEAD"])
    }

    /// The command for `cargo release-log <args>` in this workspace.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = clean(Command::new(env!("CARGO_BIN_EXE_cargo-release-log")));
        cmd.arg("release-log")
            .args(args)
            .current_dir(&self.root)
            .env("SOURCE_DATE_EPOCH", self.clock.get().to_string());
        if let Some(width) = self.width.get() {
            cmd.env("CARGO_RELEASE_LOG_TERM_WIDTH", width.to_string());
        }
        cmd
    }

    /// Runs `cargo release-log <args>` and records what it printed and changed on disk.
    pub fn run(&self, args: &[&str]) -> Run {
        let before = self.snapshot_files();
        let output = self.command(args).output().unwrap();
        let after = self.snapshot_files();
        Run::new(self, args, output, before, after)
    }

    /// Runs and asserts success, returning stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let run = self.run(args);
        assert_eq!(run.code, 0, "`{}` failed:\n{run}", args.join(" "));
        run.stdout
    }

    /// Every file outside `.git/` and `target/`, with its content (binary files by size).
    pub fn snapshot_files(&self) -> BTreeMap<String, Vec<u8>> {
        let mut files = BTreeMap::new();
        walk(&self.root, &self.root, &mut files);
        files
    }

    /// The release file numbers on disk.
    pub fn release_files(&self) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(self.path(".releases"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.starts_with('v') && n.ends_with(".toml"))
            .collect();
        names.sort_by_key(|n| n[1..n.len() - 5].parse::<u64>().unwrap());
        names
    }
}

fn walk(root: &Path, dir: &Path, files: &mut BTreeMap<String, Vec<u8>>) {
    for entry in fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let path = entry.path();
        let rel = path
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        if rel == ".git" || rel == "target" {
            continue;
        }
        if entry.file_type().unwrap().is_dir() {
            walk(root, &path, files);
        } else {
            files.insert(rel, fs::read(&path).unwrap());
        }
    }
}

/// A command environment that does not depend on the machine or the CI:
/// no color forcing, no inherited target dir, no user git config, a fixed time zone.
pub fn clean(mut cmd: Command) -> Command {
    for var in [
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
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_INDEX_FILE",
        "GIT_AUTHOR_EMAIL",
        "GIT_COMMITTER_EMAIL",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("TZ", "America/Los_Angeles")
        .env("USER", "tester")
        .env("CARGO_NET_OFFLINE", "true")
        .env("CARGO_INCREMENTAL", "0");
    cmd
}

/// What one command did: exit code, output, and the files it changed.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub changes: Vec<String>,
    args: String,
}

impl Run {
    fn new(
        project: &Project,
        args: &[&str],
        output: Output,
        before: BTreeMap<String, Vec<u8>>,
        after: BTreeMap<String, Vec<u8>>,
    ) -> Self {
        let mut changes = Vec::new();
        for (path, content) in &after {
            match before.get(path) {
                None => changes.push(format!("+ {path}")),
                Some(old) if old != content => changes.push(format!("~ {path}")),
                Some(_) => {}
            }
        }
        for path in before.keys().filter(|p| !after.contains_key(*p)) {
            changes.push(format!("- {path}"));
        }
        let redact = |s: &[u8]| redact(&String::from_utf8_lossy(s), project.root());
        Self {
            code: output.status.code().unwrap_or(-1),
            stdout: redact(&output.stdout),
            stderr: redact(&output.stderr),
            changes: changes.iter().map(|c| redact(c.as_bytes())).collect(),
            args: args.join(" "),
        }
    }

    /// Asserts that the command failed and changed nothing on disk.
    pub fn assert_refused(&self) -> &Self {
        assert_ne!(self.code, 0, "expected a failure:\n{self}");
        assert!(
            self.changes.is_empty(),
            "a refused command changed files:\n{self}"
        );
        assert!(
            self.stderr.starts_with("error: "),
            "no `error:` line:\n{self}"
        );
        self
    }
}

impl fmt::Display for Run {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "$ cargo release-log {}", self.args)?;
        writeln!(f, "exit: {}", self.code)?;
        if !self.stdout.is_empty() {
            write!(f, "--- stdout\n{}", self.stdout)?;
        }
        if !self.stderr.is_empty() {
            write!(f, "--- stderr\n{}", self.stderr)?;
        }
        if !self.changes.is_empty() {
            writeln!(f, "--- files\n{}", self.changes.join("\n"))?;
        }
        Ok(())
    }
}

/// Replaces what differs between machines: the temporary root, build times,
/// executable sizes and digests (they depend on the compiler).
pub fn redact(text: &str, root: &Path) -> String {
    let text = text.replace(&root.display().to_string(), "[ROOT]");
    let rules: [(&str, &str); 6] = [
        (r"in \d+\.\d+s", "in [TIME]"),
        (r"slug size is \d+(\.\d)?[KMG]?B", "slug size is [SIZE]"),
        (r"stays at \d+(\.\d)?[KMG]?B", "stays at [SIZE]"),
        (r"size = \d+", "size = [SIZE]"),
        (r"[0-9a-f]{64}", "[SHA256]"),
        (r"Slug:   \d+(\.\d)?[KMG]?B", "Slug:   [SIZE]"),
    ];
    let mut text = text;
    for (pattern, replacement) in rules {
        text = regex::Regex::new(pattern)
            .unwrap()
            .replace_all(&text, replacement)
            .into_owned();
    }
    text
}

/// Runs a command that must succeed and keeps it for a transcript.
pub fn ok(p: &Project, args: &[&str]) -> Run {
    let run = p.run(args);
    assert_eq!(run.code, 0, "`{}` failed:\n{run}", args.join(" "));
    run
}

/// Runs a command that must be refused, writing nothing.
pub fn refused(p: &Project, args: &[&str]) -> Run {
    let run = p.run(args);
    run.assert_refused();
    run
}

/// The runs one after the other, as a terminal would show them.
pub fn transcript(runs: &[Run]) -> String {
    runs.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

/// Changes the greeting of `src/main.rs` to `hello from <what>` and commits.
pub fn change_code(p: &Project, what: &str) {
    p.write(
        "src/main.rs",
        &MAIN_RS.replace("hello from v1", &format!("hello from {what}")),
    );
    p.commit(&format!("say {what}"));
}

/// Adds a dependency on a path crate `addon` outside the workspace (an
/// add-on), updates Cargo.lock offline and commits.
pub fn add_path_addon(p: &Project) {
    p.write(
        "../addon/Cargo.toml",
        "[package]\nname = \"addon\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    );
    p.write("../addon/src/lib.rs", "pub fn hi() {}\n");
    let manifest = p.read("Cargo.toml") + "addon = { path = \"../addon\" }\n";
    p.write("Cargo.toml", &manifest);
    p.cargo(&["generate-lockfile", "--offline"]);
    p.commit("use addon");
}

/// Snapshots into the top-level `snapshots/` folder, named after the test module.
#[macro_export]
macro_rules! snap {
    ($value:expr) => {{
        let mut settings = insta::Settings::clone_current();
        settings.set_snapshot_path(concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots"));
        settings.set_prepend_module_to_snapshot(true);
        settings.set_omit_expression(true);
        settings.bind(|| insta::assert_snapshot!(format!("{}", $value)));
    }};
}
