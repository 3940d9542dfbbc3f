//! What readers and writers trust: `check` reads no change half made, lists
//! the ledger's folder itself, and says `sync` where `sync` fixes it;
//! writers extend only a chain that verifies; stray names block nothing;
//! a writer that waits names who holds the lock.

use std::io::{BufRead as _, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support::*;

/// A workspace in the basic tier, which prunes as it records.
fn basic_tier() -> Project {
    let p = Project::new();
    p.write(
        "Cargo.toml",
        &(p.read("Cargo.toml") + "\n[package.metadata.release-log]\ntier = \"basic\"\n"),
    );
    p.commit("basic tier");
    p
}

fn commit_all(p: &Project, message: &str) {
    p.git(&["add", "-A"]);
    p.git(&["commit", "-q", "--allow-empty", "-m", message]);
}

/// The number of releases `check --json` read.
fn releases_checked(p: &Project) -> u64 {
    let output = p.command(&["check", "--json"]).output().unwrap();
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    json["releases"].as_u64().unwrap()
}

#[test]
fn check_while_writers_run_reports_no_false_problems() {
    let p = basic_tier();
    p.ok(&["deploy"]);
    // Each change writes a release file, `[env]` and `current`, and prunes.
    let writes: Vec<_> = (0..60)
        .map(|i| p.command(&["config", "set", &format!("W{}={i}", i % 3)]))
        .collect();
    let writer = std::thread::spawn(move || {
        for mut cmd in writes {
            let output = cmd.output().unwrap();
            assert!(output.status.success(), "{output:?}");
        }
    });
    let mut checks = 0;
    let mut failures = Vec::new();
    while !writer.is_finished() || checks < 10 {
        let output = p.command(&["check"]).output().unwrap();
        if !output.status.success() {
            failures.push(String::from_utf8_lossy(&output.stdout).into_owned());
        }
        checks += 1;
    }
    writer.join().unwrap();
    assert!(
        failures.is_empty(),
        "{} of {checks} checks failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn a_forged_index_hides_no_release_from_check() {
    let p = Project::new();
    p.ok(&["deploy"]);
    p.ok(&["config", "set", "A=1"]);
    p.ok(&["config", "set", "B=2"]);
    assert_eq!(releases_checked(&p), 3);
    // The index names the folder's stamp; rewritten in place, the stamp
    // still matches, and it claims v2 is not there.
    let index = p.read(".releases/.index");
    assert!(index.contains("\n1-3\ncount 3\n"), "{index}");
    p.write(
        ".releases/.index",
        &index.replace("\n1-3\ncount 3\n", "\n1 3\ncount 2\n"),
    );
    assert_eq!(releases_checked(&p), 3);
}

/// Two branches each record v3 on top of v2, and are merged, keeping one
/// branch's v3 and the other's renumbered as v4.
fn forked() -> Project {
    let p = Project::new();
    p.ok(&["deploy"]);
    p.ok(&["config", "set", "A=1"]);
    commit_all(&p, "v1 and v2");
    p.git(&["checkout", "-q", "-b", "feature"]);
    p.ok(&["config", "set", "B=1"]);
    commit_all(&p, "B on feature");
    p.git(&["checkout", "-q", "main"]);
    p.ok(&["sync"]);
    p.ok(&["config", "set", "C=1"]);
    commit_all(&p, "C on main");
    let merge = p.program("git").args(["merge", "-q", "feature"]).output();
    assert!(!merge.unwrap().status.success(), "the merge conflicts");
    let theirs = p.git(&["show", "feature:.releases/v3.toml"]) + "\n";
    p.git(&[
        "checkout",
        "--ours",
        ".releases/v3.toml",
        ".cargo/config.toml",
    ]);
    p.write(
        ".releases/v4.toml",
        &theirs.replace("version = 3", "version = 4"),
    );
    commit_all(&p, "merged");
    // The workspace runs the newest release, as after any merge.
    p.ok(&["sync"]);
    p
}

#[test]
fn a_forked_ledger_is_not_extended() {
    let p = forked();
    let check = p.run(&["check"]);
    assert!(
        check.stdout.contains("v4 follows v2, as v3 does"),
        "{check}"
    );
    let run = refused(&p, &["config", "set", "D=1"]);
    assert!(
        run.stderr.contains("v4 follows v2, as v3 does")
            && run.stderr.contains("`cargo release-log check`")
            && run.stderr.contains("keep one branch's releases"),
        "{run}"
    );
    assert_eq!(run.stderr.trim_end().lines().count(), 1, "{run}");
    assert_eq!(p.release_files().last().unwrap(), "v4.toml");
}

#[test]
fn a_changed_older_release_is_not_extended() {
    let p = Project::new();
    p.ok(&["deploy"]);
    for var in ["A=1", "B=2", "C=3"] {
        p.ok(&["config", "set", var]);
    }
    // Another clone changes v2 and the change is pulled, as a checkout
    // writes files: anew.
    let other = p.share_and_clone("other");
    let v2 = other.join(".releases/v2.toml");
    let text = std::fs::read_to_string(&v2).unwrap();
    std::fs::write(&v2, text.replace("Config add A", "Config add X")).unwrap();
    let git = |dir: &std::path::Path, args: &[&str]| {
        let output = p
            .program("git")
            .current_dir(dir)
            .args(args)
            .output()
            .unwrap();
        assert!(output.status.success(), "git {args:?}: {output:?}");
    };
    git(
        &other,
        &[
            "-c",
            "user.name=Mallory",
            "-c",
            "user.email=mallory@example.com",
            "commit",
            "-q",
            "-am",
            "rewrite history",
        ],
    );
    git(
        p.root(),
        &["pull", "-q", "--no-rebase", other.to_str().unwrap(), "main"],
    );
    assert!(p.read(".releases/v2.toml").contains("Config add X"));
    let run = refused(&p, &["config", "set", "D=4"]);
    assert!(
        run.stderr
            .contains(".releases/v2.toml: it changed after v3 was recorded")
            && run.stderr.contains("`cargo release-log check`"),
        "{run}"
    );
    assert_eq!(p.release_files().last().unwrap(), "v4.toml");

    // Restored, the ledger grows again; the file before the newest,
    // changed in place, is caught too.
    git(
        p.root(),
        &["checkout", "-q", "HEAD~1", "--", ".releases/v2.toml"],
    );
    p.ok(&["config", "set", "D=4"]);
    assert!(p.exists(".releases/v5.toml"));
    let v4 = p.read(".releases/v4.toml");
    std::fs::write(
        p.path(".releases/v4.toml"),
        v4.replace("Config add C", "Config add X"),
    )
    .unwrap();
    let run = refused(&p, &["config", "set", "E=5"]);
    assert!(
        run.stderr
            .contains(".releases/v4.toml: it changed after v5 was recorded"),
        "{run}"
    );
}

#[test]
fn check_says_sync_for_an_interrupted_change() {
    let p = Project::new();
    p.ok(&["deploy"]);
    p.ok(&["config", "set", "A=1"]);
    let env = p.read(".cargo/config.toml");
    let current = p.read(".releases/current");
    p.ok(&["config", "set", "B=2"]);
    // As a change killed after recording v3: `[env]` and `current` still v2's.
    p.write(".cargo/config.toml", &env);
    p.write(".releases/current", &current);
    let run = p.run(&["check"]);
    assert_ne!(run.code, 0);
    assert!(
        run.stdout.contains("`[env]` lacks B (v3 has")
            && run.stdout.contains(
                "; `[env]` is behind the ledger (a change was interrupted, or git \
                 brought newer releases): `cargo release-log sync` applies v3"
            ),
        "{run}"
    );
    assert!(
        run.stdout
            .contains(".releases/current: it points at v2, not at the current release v3"),
        "{run}"
    );
    p.ok(&["sync"]);
    ok(&p, &["check"]);
}

#[test]
fn names_that_are_not_release_files_are_reported_and_block_nothing() {
    let p = basic_tier();
    p.ok(&["deploy"]);
    let v1 = p.read(".releases/v1.toml");
    for i in 0..4 {
        p.ok(&["config", "set", &format!("A={i}")]);
    }
    // The oldest kept file links to one that was pruned: writers go on,
    // also when they read every kept file again.
    assert!(!p.exists(".releases/v1.toml"));
    let _ = std::fs::remove_file(p.path(".releases/.chain"));
    p.ok(&["config", "set", "B=1"]);
    ok(&p, &["check"]);
    let strays = ["v0.toml", "v04.toml", "v18446744073709551615.toml"];
    for name in strays {
        p.write(&format!(".releases/{name}"), &v1);
    }
    let check = p.run(&["check"]);
    assert_ne!(check.code, 0, "{check}");
    for name in strays {
        assert!(
            check
                .stdout
                .contains(&format!("{name}: it is not a release file")),
            "{check}"
        );
    }
    assert!(check.stdout.contains("rename it or remove it"), "{check}");
    p.ok(&["config", "set", "C=1"]);
    assert!(p.exists(".releases/v7.toml"));
    p.ok(&["releases"]);
}

#[test]
fn a_writer_waiting_names_a_stopped_lock_holder() {
    use std::os::unix::process::CommandExt as _;
    let started = tempfile::NamedTempFile::new().unwrap().into_temp_path();
    std::fs::remove_file(&started).unwrap();
    let p = Project::with_files(&[
        (
            "Cargo.toml",
            &format!(
                "[package]\nname = \"myapp\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
                 [package.metadata.release-log]\n\
                 release-command = [\"sh\", \"-c\", \"touch '{}'; sleep 60\"]\n",
                started.display()
            ),
        ),
        ("src/main.rs", MAIN_RS),
    ]);
    p.ok(&["--skip-release-phase", "deploy"]);
    // A writer holds the lock through its release phase, and is stopped.
    let mut holder = p.command(&["config", "set", "A=1"]);
    holder.process_group(0);
    let mut holder = holder
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !started.exists() {
        assert!(Instant::now() < deadline, "the release phase never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    let signal = |sig: &str, target: &str| {
        std::process::Command::new("kill")
            .args([sig, "--", target])
            .status()
            .unwrap()
    };
    assert!(signal("-STOP", &holder.id().to_string()).success());
    // A writer and `check` (a reader that waits for writers) both say who.
    let lines: Vec<String> = [&["config", "set", "B=2"][..], &["check"]]
        .iter()
        .map(|args| {
            let mut waiter = p
                .command(args)
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            let mut line = String::new();
            BufReader::new(waiter.stderr.take().unwrap())
                .read_line(&mut line)
                .unwrap();
            waiter.kill().unwrap();
            waiter.wait().unwrap();
            line
        })
        .collect();
    signal("-KILL", &format!("-{}", holder.id()));
    holder.wait().unwrap();
    let pid = holder.id();
    for line in lines {
        assert!(
            line.starts_with(
                "    Blocking waiting for file lock on the release ledger, held by process"
            ) && line.contains(&format!("process {pid} ("))
                && line.contains("config set)")
                && line.contains(&format!("which is stopped: resume it (`kill -CONT {pid}`)")),
            "{line}"
        );
    }
}
