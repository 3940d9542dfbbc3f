//! Cargo's own files in a cloned repository are untrusted input too: a
//! huge manifest, a FIFO or a device at `Cargo.lock` or
//! `.cargo/config.toml` is refused at once with a short error, and no
//! `cargo metadata` is left waiting on it.

use std::io::Read as _;
use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fs_err as fs;

use crate::support::*;

/// How one watched command ended.
struct Watched {
    code: i32,
    /// stdout and stderr, redacted.
    output: String,
    /// How many bytes it printed in all.
    printed: usize,
}

impl std::fmt::Display for Watched {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown: String = self.output.chars().take(2000).collect();
        write!(f, "exit {}, {} bytes:\n{shown}", self.code, self.printed)
    }
}

/// Runs `cargo release-log <args>` in its own process group, with at most
/// 4 GiB of address space (a tool reading a device or a sparse file into
/// memory fails rather than taking the machine's); after 60 s it is killed
/// with everything it started and the test fails. Fails too when anything
/// it started is still running once it returned.
fn watched(p: &Project, args: &[&str]) -> Watched {
    let mut cmd = p.program("sh");
    cmd.args(["-c", "ulimit -v 4194304 && exec \"$0\" \"$@\""])
        .arg(env!("CARGO_BIN_EXE_cargo-release-log"))
        .arg("release-log")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let mut child = cmd.spawn().unwrap();
    let readers = [
        Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
        Box::new(child.stderr.take().unwrap()),
    ]
    .map(|pipe| {
        std::thread::spawn(move || {
            // Kept: the start; counted: everything.
            let mut kept = Vec::new();
            let mut pipe = pipe;
            (&mut pipe).take(64 << 10).read_to_end(&mut kept).unwrap();
            let rest = std::io::copy(&mut pipe, &mut std::io::sink()).unwrap();
            (kept, rest as usize)
        })
    });
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(60) {
            kill_group(child.id());
            let _ = child.wait();
            kill_leftovers(p);
            panic!("`cargo release-log {}` hung", args.join(" "));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let code = child.wait().unwrap().code().unwrap_or(-1);
    let left = leftovers(p);
    if !left.is_empty() {
        kill_leftovers(p);
        panic!(
            "`cargo release-log {}` left processes running: {left:?}",
            args.join(" ")
        );
    }
    let mut output = String::new();
    let mut printed = 0;
    for reader in readers {
        let (kept, rest) = reader.join().unwrap();
        printed += kept.len() + rest;
        output.push_str(&redact(&String::from_utf8_lossy(&kept), p.root()));
    }
    Watched {
        code,
        output,
        printed,
    }
}

fn kill_group(leader: u32) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{leader}")])
        .status();
}

/// The processes (pid, command line) that name this project's folder, as
/// `cargo metadata --manifest-path <root>/Cargo.toml` does.
fn leftovers(p: &Project) -> Vec<(u32, String)> {
    let root = p.root().display().to_string();
    let me = std::process::id();
    let mut found = Vec::new();
    for entry in fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if pid != me && cmdline.contains(&root) {
            found.push((pid, cmdline));
        }
    }
    found
}

fn kill_leftovers(p: &Project) {
    for (pid, _) in leftovers(p) {
        let _ = Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status();
    }
}

fn mkfifo(path: &Path) {
    let made = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(made.success());
}

/// Asserts that `run` failed with one `error:` line of a few hundred bytes
/// that contains each of `needles`.
fn one_short_error(run: &Watched, needles: &[&str]) {
    assert_ne!(run.code, 0, "{run}");
    assert!(run.printed < 600, "{run}");
    assert!(
        run.output.starts_with("error: ") && run.output.trim_end().lines().count() == 1,
        "{run}"
    );
    for needle in needles {
        assert!(run.output.contains(needle), "no `{needle}` in {run}");
    }
}

#[test]
fn a_huge_or_garbled_manifest_is_refused_in_one_short_line() {
    let p = Project::new();
    // 8 MiB of NUL bytes: over the limit, refused unread.
    fs::write(p.path("Cargo.toml"), vec![0u8; 8 << 20]).unwrap();
    for args in [&["releases"][..], &["check"]] {
        let run = watched(&p, args);
        one_short_error(&run, &["[ROOT]/Cargo.toml", "is larger than 4 MiB"]);
    }
    // 1 MiB of them: parsed, and the error shows a short, escaped excerpt.
    fs::write(p.path("Cargo.toml"), vec![0u8; 1 << 20]).unwrap();
    for args in [&["releases"][..], &["check"]] {
        let run = watched(&p, args);
        one_short_error(
            &run,
            &[
                "failed to parse `[ROOT]/Cargo.toml` at line 1, column ",
                "near `…\\u{0}\\u{0}",
            ],
        );
    }
    // 2 GiB on paper, a few blocks on disk: refused by its size alone.
    let sparse = fs::File::create(p.path("Cargo.toml")).unwrap();
    sparse.set_len(2 << 30).unwrap();
    let run = watched(&p, &["releases"]);
    one_short_error(&run, &["[ROOT]/Cargo.toml", "is larger than 4 MiB"]);
    // A FIFO is named, not waited on nor passed over.
    fs::remove_file(p.path("Cargo.toml")).unwrap();
    mkfifo(&p.path("Cargo.toml"));
    let run = watched(&p, &["releases"]);
    one_short_error(
        &run,
        &["`[ROOT]/Cargo.toml` is not a regular file (a folder, FIFO or device)"],
    );
}

#[test]
fn a_fifo_for_a_member_manifest_ends_addons_at_once() {
    let p = Project::new();
    p.ok(&["deploy"]);
    let manifest = p.read("Cargo.toml");
    p.write(
        "Cargo.toml",
        &format!("{manifest}\n[workspace]\nmembers = [\"crates/*\"]\n"),
    );
    fs::create_dir_all(p.path("crates/api")).unwrap();
    mkfifo(&p.path("crates/api/Cargo.toml"));
    let run = watched(&p, &["addons"]);
    one_short_error(
        &run,
        &["`[ROOT]/crates/api/Cargo.toml` is not a regular file (a folder, FIFO or device)"],
    );
}

#[test]
fn fifos_and_devices_at_cargo_files_end_check_and_addons_at_once() {
    let p = Project::new();
    p.ok(&["deploy"]);
    let lock = p.read("Cargo.lock");
    fs::create_dir_all(p.path(".cargo")).unwrap();
    for rel in ["Cargo.lock", ".cargo/config.toml"] {
        let path = p.path(rel);
        let _ = fs::remove_file(&path);
        mkfifo(&path);
        for args in [&["check"][..], &["addons"]] {
            let run = watched(&p, args);
            assert_ne!(run.code, 0, "{run}");
            assert!(
                run.output.contains(&format!(
                    "`[ROOT]/{rel}` is not a regular file (a folder, FIFO or device)"
                )),
                "{run}"
            );
        }
        fs::remove_file(&path).unwrap();
        std::os::unix::fs::symlink("/dev/zero", &path).unwrap();
        for args in [&["check"][..], &["addons"]] {
            let run = watched(&p, args);
            assert_ne!(run.code, 0, "{run}");
            assert!(
                run.output.contains(&format!(
                    "`[ROOT]/{rel}` leads out of the workspace, to `/dev/zero`"
                )) || run
                    .output
                    .contains(&format!("`[ROOT]/{rel}` is a symbolic link")),
                "{run}"
            );
        }
        fs::remove_file(&path).unwrap();
    }
    // Put back, the workspace reads as before.
    p.write("Cargo.lock", &lock);
    let run = watched(&p, &["check"]);
    assert_eq!(run.code, 0, "{run}");
    let run = watched(&p, &["addons"]);
    assert_eq!(run.code, 0, "{run}");
}
