//! A command killed at any moment leaves nothing half-done: the next
//! command that takes the lock finishes the change (its release was
//! recorded) or undoes it (it was not), and `check` passes after it.

use std::os::unix::process::{CommandExt as _, ExitStatusExt as _};
use std::process::Stdio;
use std::time::{Duration, Instant};

use fs_err as fs;

use crate::support::*;

/// Where the tool kills itself with SIGKILL, in the order a change reaches them.
const CRASH_AT: &str = "CARGO_RELEASE_LOG_CRASH_AT";

/// Runs `args` with the tool set to SIGKILL itself at `point`; says whether it did.
fn killed_at(p: &Project, point: &str, args: &[&str]) -> bool {
    let output = p.command(args).env(CRASH_AT, point).output().unwrap();
    output.status.signal() == Some(9)
}

/// The plain vars `[env]` holds, as `config` lists them.
fn config(p: &Project) -> String {
    p.ok(&["config"])
}

fn manifests(p: &Project) -> (Vec<u8>, Vec<u8>) {
    (
        fs::read(p.path("Cargo.toml")).unwrap(),
        fs::read(p.path("Cargo.lock")).unwrap(),
    )
}

#[test]
fn a_config_change_killed_at_each_step_is_finished_or_undone_by_the_next_command() {
    let p = Project::new();
    p.ok(&["deploy"]);
    let steps = ["journaled", "recorded", "env-written", "switched"];
    for (i, step) in steps.iter().enumerate() {
        let releases = p.release_files().len();
        assert!(
            killed_at(&p, step, &["config", "set", &format!("K{i}=killed")]),
            "{step}"
        );
        let recorded = *step != "journaled";
        assert_eq!(p.release_files().len(), releases + usize::from(recorded));
        // The next change finishes the interrupted one first, and goes on top of it.
        let next = ok(&p, &["config", "set", &format!("N{i}=next")]);
        assert_eq!(
            next.stderr
                .contains("was recorded by a command that was interrupted"),
            recorded,
            "{step}: {next}"
        );
        let shown = config(&p);
        assert_eq!(
            shown.contains(&format!("K{i}")),
            recorded,
            "{step}: {shown}"
        );
        assert!(shown.contains(&format!("N{i}")), "{step}: {shown}");
        ok(&p, &["check"]);
        assert!(!p.exists(".releases/.journal/intent.toml"));
    }
    // `[env]` holds exactly what the current release records.
    assert_eq!(
        p.read(".cargo/config.toml"),
        "[env]\nK1 = \"killed\"\nK2 = \"killed\"\nK3 = \"killed\"\nN0 = \"next\"\nN1 = \"next\"\nN2 = \"next\"\nN3 = \"next\"\n"
    );
}

#[test]
fn two_interrupted_changes_in_a_row_are_not_a_hand_edit() {
    let p = Project::new();
    p.ok(&["deploy"]);
    assert!(killed_at(&p, "env-written", &["config", "set", "A=1"]));
    assert!(killed_at(&p, "recorded", &["config", "set", "B=2"]));
    // A deploy records what the ledger holds: neither var is dropped.
    let deploy = ok(&p, &["deploy", "--no-build", "--force"]);
    assert!(deploy.stdout.contains("v4"), "{deploy}");
    let info = p.ok(&["info"]);
    assert!(info.contains("A => 1") && info.contains("B => 2"), "{info}");
    assert_eq!(
        p.read(".cargo/config.toml"),
        "[env]\nA = \"1\"\nB = \"2\"\n"
    );
    ok(&p, &["check"]);
}

#[test]
fn a_rollback_killed_after_its_release_file_is_applied_by_sync() {
    let p = Project::new();
    p.ok(&["deploy"]);
    p.ok(&["config", "set", "A=1"]);
    assert!(killed_at(&p, "recorded", &["rollback"]));
    assert_eq!(p.release_files().len(), 3);
    let sync = ok(&p, &["sync"]);
    assert!(
        sync.stderr
            .contains("v3 was recorded by a command that was interrupted"),
        "{sync}"
    );
    assert_eq!(p.read(".cargo/config.toml"), "");
    assert!(p.read(".releases/current").contains("release = 3"));
    ok(&p, &["check"]);
}

/// `myapp` depending on nothing, with the local registry served, deployed as v1.
fn registry_app() -> Project {
    let p = Project::with_registry();
    p.ok(&["deploy"]);
    p
}

#[test]
fn an_addon_release_killed_at_each_step_leaves_the_manifests_as_recorded() {
    let p = registry_app();
    let before = manifests(&p);
    // Killed after the manifests were journaled, before cargo ran.
    assert!(killed_at(&p, "journaled", &["addons:add", "itoa"]));
    let sync = ok(&p, &["sync"]);
    assert_eq!(manifests(&p), before, "{sync}");
    ok(&p, &["check"]);

    // Killed after the release file: the add-on stays, and runs.
    assert!(killed_at(&p, "recorded", &["addons:add", "itoa"]));
    ok(&p, &["sync"]);
    assert!(p.read("Cargo.toml").contains("itoa"));
    assert!(p.read(".releases/current").contains("release = 2"));
    ok(&p, &["check"]);
    ok(&p, &["deploy", "--no-build", "--force"]);
}

#[test]
fn an_addon_release_killed_while_cargo_builds_puts_the_manifests_back() {
    let p = registry_app();
    let before = manifests(&p);
    let mut child = p
        .command(&["addons:add", "itoa"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .unwrap();
    // Once cargo has edited the manifests, the build is under way.
    let start = Instant::now();
    while manifests(&p) == before && start.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_ne!(manifests(&p), before, "cargo add edited the manifests");
    kill_group(&mut child);
    // A deploy is not refused for the manifests the killed change left.
    let deploy = ok(&p, &["deploy", "--force"]);
    assert!(
        deploy
            .stderr
            .contains("Cargo.lock and Cargo.toml are as they were"),
        "{deploy}"
    );
    assert_eq!(manifests(&p), before);
    ok(&p, &["addons:add", "itoa"]);
    assert_eq!(p.release_files().len(), 3);
    ok(&p, &["check"]);
}

#[test]
fn a_committed_current_link_or_fifo_refuses_a_change_before_it_is_recorded() {
    let p = Project::new();
    p.ok(&["deploy"]);
    p.ok(&["config", "set", "A=0"]);
    let outside = p.scratch().join("outside");
    fs::write(&outside, "untouched").unwrap();
    for kind in ["link", "fifo"] {
        let current = p.path(".releases/current");
        fs::remove_file(&current).unwrap();
        if kind == "link" {
            std::os::unix::fs::symlink(&outside, &current).unwrap();
        } else {
            let made = std::process::Command::new("mkfifo")
                .arg(&current)
                .status()
                .unwrap();
            assert!(made.success());
        }
        // git tracks a link; a FIFO it cannot, but one can be made here.
        if kind == "link" {
            p.git(&["add", "-f", ".releases/current"]);
            p.git(&["commit", "-qm", "a clone's current"]);
        }
        for args in [
            &["config", "set", "A=1"][..],
            &["config", "unset", "A"],
            &["deploy", "--no-build", "--force"],
            &["rollback"],
        ] {
            let run = p.run(args);
            assert_ne!(run.code, 0, "{run}");
            assert!(run.stderr.contains("cargo release-log sync"), "{run}");
            assert!(run.changes.is_empty(), "nothing is recorded: {run}");
        }
        let sync = ok(&p, &["sync"]);
        assert!(sync.stderr.contains("was not a regular file"), "{sync}");
        ok(
            &p,
            &["config", "set", &format!("{}=1", kind.to_uppercase())],
        );
        assert_eq!(fs::read_to_string(&outside).unwrap(), "untouched");
        if kind == "link" {
            p.git(&["rm", "-q", "--cached", ".releases/current"]);
            p.git(&["commit", "-qm", "untrack current"]);
        }
    }
}

/// Sends SIGKILL to the process group of `child` (the tool and the cargo
/// it runs), as closing a terminal or cancelling a CI job does.
fn kill_group(child: &mut std::process::Child) -> bool {
    let _ = std::process::Command::new("kill")
        .args(["-KILL", "--", &format!("-{}", child.id())])
        .status();
    child.wait().unwrap().signal() == Some(9)
}

/// Runs `args` again and again until `kills` runs were killed, at moments
/// spread over an uninterrupted run's length; after each kill the next
/// command (`sync`) must leave a ledger `check` passes, and the manifests
/// as they were unless a release was recorded.
fn kill_loop(p: &Project, kills: usize, args: impl Fn(usize) -> Vec<String>) {
    // An uninterrupted run's length, warm (a first one may compile more).
    let mut length = Duration::MAX;
    for i in 0..2 {
        let timed = Instant::now();
        let args = args(i);
        ok(p, &args.iter().map(String::as_str).collect::<Vec<_>>());
        length = length.min(timed.elapsed());
    }
    let mut killed = 0;
    let mut i = 1;
    while killed < kills {
        assert!(i <= 4 * kills, "only {killed} of {i} runs were killed");
        let before = (p.release_files().len(), manifests(p));
        let args = args(i);
        let mut child = p
            .command(&args.iter().map(String::as_str).collect::<Vec<_>>())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap();
        // 0%, 37%, 74%, 11%, … of the run: every moment, in no order.
        std::thread::sleep(length.mul_f64((i * 37 % 100) as f64 / 100.0));
        i += 1;
        if !kill_group(&mut child) {
            continue;
        }
        killed += 1;
        let sync = p.run(&["sync"]);
        assert_eq!(
            sync.code,
            0,
            "after kill {i} of `{}`: {sync}",
            args.join(" ")
        );
        let check = p.run(&["check"]);
        assert_eq!(
            check.code,
            0,
            "after kill {i} of `{}`: {check}",
            args.join(" ")
        );
        if p.release_files().len() == before.0 {
            assert!(manifests(p) == before.1, "kill {i}: manifests changed");
        }
    }
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| a.to_string()).collect()
}

#[test]
fn killed_config_changes_always_recover() {
    let p = Project::new();
    p.ok(&["deploy"]);
    kill_loop(&p, 90, |i| {
        if i % 3 == 2 {
            strings(&["config", "unset", &format!("V{}", i - 1)])
        } else {
            strings(&["config", "set", &format!("V{i}={i}")])
        }
    });
}

#[test]
fn killed_rollbacks_and_deploys_always_recover() {
    let p = Project::new();
    p.ok(&["deploy"]);
    p.ok(&["config", "set", "A=1"]);
    kill_loop(&p, 50, |_| strings(&["rollback"]));
    kill_loop(&p, 50, |_| strings(&["deploy", "--no-build", "--force"]));
}

#[test]
fn killed_addon_releases_always_recover() {
    let p = registry_app();
    kill_loop(&p, 25, |_| {
        let has = p.read("Cargo.toml").contains("itoa");
        strings(&[if has { "addons:remove" } else { "addons:add" }, "itoa"])
    });
}

#[test]
fn a_journal_a_clone_committed_is_never_replayed() {
    let p = Project::new();
    p.ok(&["deploy"]);
    let manifest = p.read("Cargo.toml");
    p.write(
        ".releases/.journal/intent.toml",
        "env = \"default\"\nrelease = 9\n[[file]]\npath = \"Cargo.toml\"\ncopy = \"0.orig\"\n",
    );
    p.write(".releases/.journal/0.orig", "[package]\nname = \"evil\"\n");
    p.git(&["add", "-f", ".releases/.journal"]);
    p.git(&["commit", "-qm", "a clone's journal"]);
    let set = ok(&p, &["config", "set", "A=1"]);
    assert!(set.stderr.contains("is tracked by git"), "{set}");
    assert_eq!(p.read("Cargo.toml"), manifest);
    // A journal that does not read is removed, never obeyed.
    p.git(&["rm", "-rq", "--cached", ".releases/.journal"]);
    p.write(
        ".releases/.journal/intent.toml",
        "env = \"default\"\nrelease = 9\n[[file]]\npath = \"src/main.rs\"\n",
    );
    let set = ok(&p, &["config", "set", "B=1"]);
    assert!(
        set.stderr
            .contains("does not read as cargo release-log writes it"),
        "{set}"
    );
    assert!(!p.exists(".releases/.journal/intent.toml"));
    ok(&p, &["check"]);
}

#[test]
fn a_change_killed_in_one_environment_is_finished_by_a_command_in_another() {
    let p = Project::with_pipeline();
    p.ok(&["deploy"]);
    p.ok(&["--env", "staging", "deploy", "--no-build"]);
    assert!(killed_at(&p, "recorded", &["config", "set", "A=1"]));
    // A staging command takes the lock first: the default environment's
    // `[env]` and `current` are switched to the release it recorded.
    let staging = ok(&p, &["--env", "staging", "config", "set", "B=2"]);
    assert!(
        staging
            .stderr
            .contains("v2 was recorded by a command that was interrupted"),
        "{staging}"
    );
    assert_eq!(p.read(".cargo/config.toml"), "[env]\nA = \"1\"\n");
    assert!(p.read(".releases/current").contains("release = 2"));
    ok(&p, &["check"]);
    ok(&p, &["config", "set", "C=3"]);
    assert_eq!(
        p.read(".cargo/config.toml"),
        "[env]\nA = \"1\"\nC = \"3\"\n"
    );
}

#[test]
fn gc_push_and_rebuild_finish_an_interrupted_change_before_their_own_work() {
    let p = Project::new();
    p.write(
        "Cargo.toml",
        &(p.read("Cargo.toml") + "\n[package.metadata.release-log]\nslug-store = \"../store\"\n"),
    );
    p.commit("share slugs");
    fs::create_dir(p.root().parent().unwrap().join("store")).unwrap();
    p.ok(&["deploy"]);
    for (i, args) in [&["gc"][..], &["push"], &["rebuild"]]
        .into_iter()
        .enumerate()
    {
        // Recorded but not applied: finished.
        assert!(killed_at(
            &p,
            "recorded",
            &["config", "set", &format!("R{i}=1")]
        ));
        let out = ok(&p, args);
        assert!(
            out.stderr
                .contains("was recorded by a command that was interrupted"),
            "{args:?}: {out}"
        );
        assert!(config(&p).contains(&format!("R{i}")), "{args:?}");
        assert!(!p.exists(".releases/.journal/intent.toml"), "{args:?}");
        ok(&p, &["check"]);
        // Journaled but not recorded: undone, nothing left behind.
        let before = p.read(".cargo/config.toml");
        assert!(killed_at(
            &p,
            "journaled",
            &["config", "set", &format!("U{i}=1")]
        ));
        assert!(p.exists(".releases/.journal/intent.toml"), "{args:?}");
        ok(&p, args);
        assert_eq!(p.read(".cargo/config.toml"), before, "{args:?}");
        assert!(!p.exists(".releases/.journal/intent.toml"), "{args:?}");
        ok(&p, &["check"]);
    }
}

#[test]
fn a_release_of_the_same_number_pulled_after_a_kill_is_not_taken_for_the_killed_change() {
    let p = registry_app();
    let before = manifests(&p);
    let other = p.share_and_clone("machine-b");
    let (code, _, stderr) = p.run_in(&other, &["config", "set", "X=1"], &[]);
    assert_eq!(code, 0, "{stderr}");
    let in_other = |args: &[&str]| {
        let status = std::process::Command::new("git")
            .arg("-C")
            .arg(&other)
            .args(args)
            .status()
            .unwrap();
        assert!(status.success(), "git {args:?}");
    };
    in_other(&["add", "-A"]);
    in_other(&[
        "-c",
        "user.name=b",
        "-c",
        "user.email=b@example.com",
        "commit",
        "-qm",
        "v2",
    ]);
    // Killed once the manifests were journaled; cargo's edit stands in the
    // workspace, then a teammate's v2 arrives.
    assert!(killed_at(&p, "manifests-saved", &["addons:add", "itoa"]));
    p.write("Cargo.toml", &(p.read("Cargo.toml") + "itoa = \"1\"\n"));
    p.git(&["pull", "-q", "--no-rebase", other.to_str().unwrap(), "HEAD"]);
    let sync = ok(&p, &["sync"]);
    assert_eq!(manifests(&p), before, "{sync}");
    assert!(config(&p).contains("X"), "{sync}");
    ok(&p, &["check"]);
}
