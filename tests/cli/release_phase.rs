//! Releases that act: the release phase, the health check, post-release hooks and release metadata.

use crate::support::*;

/// `myapp`, whose own subcommands serve as the release's commands: `migrate`
/// fails when `MIGRATE=fail` or a file `db-down` exists, `health` fails when
/// `HEALTH=bad` or a file `unhealthy` exists, `meta` prints the release
/// metadata, `sleep` waits a minute (after writing its pid), `fail` exits 4.
const APP: &str = r#"use std::path::Path;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let var = |k: &str| std::env::var(k).unwrap_or_default();
    match args.first().map(String::as_str) {
        Some("migrate") => {
            println!("migrating to {} (MIGRATE={})", var("RELEASE_LOG_VERSION"), var("MIGRATE"));
            if var("MIGRATE") == "fail" || Path::new("db-down").exists() {
                eprintln!("migration failed");
                std::process::exit(1);
            }
        }
        Some("health") => {
            if var("HEALTH") == "bad" || Path::new("unhealthy").exists() {
                eprintln!("unhealthy");
                std::process::exit(3);
            }
        }
        Some("meta") => {
            for k in ["VERSION", "COMMIT", "CREATED_AT", "CHANGE", "EXECUTABLE", "STATUS", "ENV"] {
                let k = format!("RELEASE_LOG_{k}");
                println!("{k}={}", var(&k));
            }
        }
        Some("sleep") => {
            std::fs::write("sleeping.pid", std::process::id().to_string()).unwrap();
            std::thread::sleep(std::time::Duration::from_secs(60));
        }
        Some("fail") => std::process::exit(4),
        _ => println!("hello (MIGRATE={:?})", std::env::var("MIGRATE").ok()),
    }
}
"#;

/// A workspace whose release settings are `settings` (lines of
/// `[package.metadata.release-log]`).
fn app(settings: &str) -> Project {
    Project::with_files(&[
        (
            "Cargo.toml",
            &format!(
                "[package]\nname = \"myapp\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
                 [package.metadata.release-log]\n{settings}\n"
            ),
        ),
        ("src/main.rs", APP),
        (".gitignore", "/target\ndb-down\nunhealthy\nsleeping.pid\n"),
    ])
}

fn release_file(p: &Project, version: u64) -> String {
    p.read(&format!(".releases/v{version}.toml"))
}

#[test]
fn a_failing_release_phase_records_a_failed_release_and_keeps_the_current_one() {
    let p = app(r#"release-command = ["myapp", "migrate"]"#);
    let deploy = ok(&p, &["deploy"]);
    assert!(
        deploy.stderr.contains("migrating to v1 (MIGRATE=)\n"),
        "{deploy}"
    );
    assert!(release_file(&p, 1).contains("[release-phase]\nstatus = \"passed\""));
    assert_eq!(
        p.ok(&["releases", "output", "v1"]),
        "migrating to v1 (MIGRATE=)\n"
    );

    // A config change whose value makes the release command fail.
    let env_before = p.snapshot_files().get(".cargo/config.toml").cloned();
    let failed = p.run(&["config", "set", "MIGRATE=fail"]);
    assert_eq!(failed.code, 1, "{failed}");
    assert!(
        failed.stderr.ends_with(
            "migration failed\nerror: the release phase of v2 failed (exit status: 1); recorded \
             v2 as failed, v1 is still the current release\n"
        ),
        "{failed}"
    );
    assert!(release_file(&p, 2).contains("status = \"failed\""));
    assert_eq!(
        p.snapshot_files().get(".cargo/config.toml").cloned(),
        env_before,
        "[env] kept v1's config"
    );
    assert_eq!(p.ok(&["run"]), "hello (MIGRATE=None)\n");
    assert_eq!(
        p.ok(&["releases", "output", "v2"]),
        "migrating to v2 (MIGRATE=fail)\nmigration failed\n"
    );
    let info = p.ok(&["info", "v2"]);
    assert!(
        info.contains("Phase:  failed (exit status: 1) after "),
        "{info}"
    );
    let check = ok(&p, &["check"]);
    assert!(check.stdout.contains("v1 current"), "{check}");

    // The next change goes on from v1, and passes.
    ok(&p, &["config", "set", "MIGRATE=ok"]);
    assert_eq!(p.ok(&["run"]), "hello (MIGRATE=Some(\"ok\"))\n");

    // A rollback runs its target's release command, with the target's config.
    let back = ok(&p, &["rollback", "v1"]);
    assert!(
        back.stderr.contains("migrating to v4 (MIGRATE=)\n"),
        "{back}"
    );
    assert_eq!(p.ok(&["run"]), "hello (MIGRATE=None)\n");

    // In an emergency the release phase is skipped, and the release says so.
    ok(
        &p,
        &["--skip-release-phase", "config", "set", "MIGRATE=fail"],
    );
    assert!(release_file(&p, 5).contains("[release-phase]\nstatus = \"skipped\""));
    let info = p.ok(&["info", "v5"]);
    assert!(
        info.contains("Phase:  skipped (--skip-release-phase)"),
        "{info}"
    );
}

#[test]
fn retry_records_the_failed_release_again() {
    let p = app(r#"release-command = ["myapp", "migrate"]"#);
    ok(&p, &["deploy"]);
    p.write("db-down", "");
    let failed = p.run(&["config", "set", "A=1"]);
    assert_eq!(failed.code, 1, "{failed}");
    // Nothing to retry while the database is down: it fails again.
    assert_eq!(p.run(&["releases", "retry"]).code, 1);
    std::fs::remove_file(p.path("db-down")).unwrap();
    let retried = ok(&p, &["releases:retry"]);
    assert!(
        retried.stdout.starts_with("Retrying v3... done, v4\n"),
        "{retried}"
    );
    let v4 = release_file(&p, 4);
    assert!(
        v4.contains("change = \"Retry v3: Retry v2: Config add A\""),
        "{v4}"
    );
    assert!(v4.contains("status = \"succeeded\""), "{v4}");
    let refused = refused(&p, &["releases", "retry"]);
    assert!(
        refused
            .stderr
            .contains("succeeded: there is no failed release"),
        "{refused}"
    );
}

#[test]
fn a_failing_health_check_rolls_back_once() {
    let p =
        app("health-check = [\"myapp\", \"health\"]\nhealth-retries = 1\nhealth-timeout = \"10s\"");
    ok(&p, &["deploy"]);
    ok(&p, &["config", "set", "HEALTH=good"]);
    let bad = p.run(&["config", "set", "HEALTH=bad"]);
    assert_eq!(bad.code, 1, "{bad}");
    assert!(
        bad.stderr.ends_with(
            "error: the health check of v3 failed (exit status: 3); rolled back to v2 as v4\n"
        ),
        "{bad}"
    );
    assert!(
        release_file(&p, 4).contains("change = \"Rollback to v2 (health check of v3 failed)\"")
    );
    assert_eq!(p.ok(&["config", "get", "HEALTH"]), "good\n");
    // No later rollback goes back to the release that failed its check.
    let plan = ok(&p, &["rollback", "--dry-run"]);
    assert!(
        plan.stdout.starts_with(
            "Skipped v3: its health check failed, and it was rolled back from.\n\
             Would roll back from v4 to v2"
        ),
        "{plan}"
    );
    let run = refused(&p, &["rollback", "v3"]);
    assert!(run.stderr.contains("its health check failed"), "{run}");

    // When the release rolled back to fails its check too, it stops there.
    p.write("unhealthy", "");
    let worse = p.run(&["config", "set", "B=1"]);
    assert_eq!(worse.code, 1, "{worse}");
    assert!(
        worse.stderr.ends_with(
            "error: the health check of v5 failed (exit status: 3); rolled back to v4 as v6\n"
        ),
        "{worse}"
    );
    assert_eq!(p.release_files().last().unwrap(), "v6.toml");
}

#[test]
fn hooks_and_programs_see_the_release_metadata() {
    let p = app(r#"post-release = ["myapp", "meta"]"#);
    let deploy = ok(&p, &["deploy"]);
    let commit = p.git(&["rev-parse", "HEAD"]);
    let exe = p.path(".releases/slugs");
    let sha = std::fs::read_dir(&exe)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .file_name();
    let exe = exe.join(sha).join("myapp");
    let expected = |status: &str| {
        format!(
            "RELEASE_LOG_VERSION=v1\nRELEASE_LOG_COMMIT={commit}\n\
             RELEASE_LOG_CREATED_AT=2026-01-15T04:00:00-08:00\n\
             RELEASE_LOG_CHANGE=Deploy {}\nRELEASE_LOG_EXECUTABLE={}\n\
             RELEASE_LOG_STATUS={status}\nRELEASE_LOG_ENV=default\n",
            &commit[..7],
            redact(&exe.display().to_string(), p.root()),
        )
    };
    assert!(deploy.stderr.contains(&expected("succeeded")), "{deploy}");
    assert_eq!(p.ok(&["run", "--", "meta"]), expected(""));
    let shell = p.ok(&["config", "--shell"]);
    assert!(
        shell.contains(&format!("RELEASE_LOG_COMMIT={commit}\n")),
        "{shell}"
    );

    // A failing hook is a warning: the release stays current, and `info` says so.
    let manifest = p.read("Cargo.toml");
    p.write("Cargo.toml", &manifest.replace("\"meta\"", "\"fail\""));
    p.commit("a failing hook");
    let run = ok(&p, &["deploy"]);
    assert!(
        run.stderr
            .contains("warning: the post-release hook of v2 failed (exit status: 4)"),
        "{run}"
    );
    let info = p.ok(&["info"]);
    assert!(
        info.contains("Hook:   post-release failed (exit status: 4)"),
        "{info}"
    );
    assert!(info.contains("Current: Yes"), "{info}");
}

#[cfg(unix)]
#[test]
fn ctrl_c_stops_the_release_phase_and_records_it_failed() {
    use std::os::unix::process::CommandExt as _;
    let p = app(r#"release-command = ["myapp", "sleep"]"#);
    ok(&p, &["--skip-release-phase", "deploy"]);
    let mut tool = p.command(&["config", "set", "A=1"]);
    tool.process_group(0);
    let child = tool
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid_file = p.path("sleeping.pid");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !pid_file.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "the release phase never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let sleeper = std::fs::read_to_string(&pid_file).unwrap();
    // As a terminal does: the signal goes to the tool's process group.
    let group = format!("-{}", child.id());
    let status = std::process::Command::new("kill")
        .args(["-INT", "--", &group])
        .status()
        .unwrap();
    assert!(status.success());
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(130), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("the release phase of v2 failed (interrupted)"),
        "{stderr}"
    );
    assert!(release_file(&p, 2).contains("reason = \"interrupted\""));
    assert_eq!(p.ok(&["run"]), "hello (MIGRATE=None)\n");
    // No child is left: the release command's whole group was stopped.
    let alive = std::process::Command::new("kill")
        .args(["-0", sleeper.trim()])
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(!alive.success(), "the release command is still running");
}

#[test]
fn settings_are_argv_arrays_and_durations() {
    let p = app(r#"release-command = "myapp migrate""#);
    let run = refused(&p, &["deploy"]);
    assert!(
        run.stderr
            .contains("expected a command as an array of strings"),
        "{run}"
    );
    let p = app("release-command = [\"myapp\", \"migrate\"]\nrelease-timeout = \"soon\"");
    let run = refused(&p, &["deploy"]);
    assert!(
        run.stderr.contains("expected a duration like \"10m\""),
        "{run}"
    );
}

#[test]
fn a_rollback_shows_its_choice() {
    let p = app(r#"release-command = ["myapp", "migrate"]"#);
    ok(&p, &["deploy"]);
    ok(&p, &["config", "set", "A=1"]);
    assert_eq!(p.run(&["config", "set", "MIGRATE=fail"]).code, 1);
    assert_eq!(p.run(&["config", "set", "MIGRATE=fail", "B=2"]).code, 1);
    ok(&p, &["config", "set", "C=3"]);

    let plan = ok(&p, &["rollback", "--dry-run"]);
    assert!(plan.changes.is_empty(), "{plan}");
    insta::assert_snapshot!(plan.stdout, @r"
    Skipped v4, v3: its release phase failed.
    Would roll back from v5 to v2 (nothing changed: --dry-run)
    Code:    3a25ae5, unchanged
    Config:  - C (was 3)
    Addons:  unchanged
    Release phase: myapp migrate
    ");
    let eligible = p.ok(&["releases", "--eligible"]);
    insta::assert_snapshot!(eligible, @r"
    Rel  Change                 Rollback?
    ---  ---------------------  ----------------------------
    v5   Config add C           current
    v4   Config add MIGRATE, B  no: its release phase failed
    v3   Config add MIGRATE     no: its release phase failed
    v2   Config add A           yes
    v1   Deploy 3a25ae5         yes
    ");
    let back = ok(&p, &["rollback"]);
    assert!(
        back.stdout
            .starts_with("Skipped v4, v3: its release phase failed.\nRolled back to v2\n"),
        "{back}"
    );
}

#[test]
fn the_release_phase_output_travels_through_the_slug_store() {
    let p = app("release-command = [\"myapp\", \"migrate\"]\nslug-store = \"../store\"");
    std::fs::create_dir(p.scratch().join("store")).unwrap();
    ok(&p, &["deploy"]);
    // Another clone has the release file but not the output kept here.
    std::fs::remove_dir_all(p.path(".releases/output")).unwrap();
    assert_eq!(
        p.ok(&["releases", "output"]),
        "migrating to v1 (MIGRATE=)\n"
    );
    // gc keeps it: a retained release names it.
    ok(&p, &["gc"]);
    std::fs::remove_dir_all(p.path(".releases/output")).unwrap();
    assert_eq!(
        p.ok(&["releases", "output", "v1"]),
        "migrating to v1 (MIGRATE=)\n"
    );
}

#[test]
fn secret_values_are_masked_in_what_the_release_phase_prints() {
    let p = app(r#"release-command = ["sh", "-c", "echo token=$API_TOKEN"]"#);
    ok(&p, &["--skip-release-phase", "deploy"]);
    let set = ok(&p, &["config", "set", "API_TOKEN=hunter2-secret"]);
    assert!(set.stderr.contains("token=<secret>\n"), "{set}");
    assert!(!set.stderr.contains("hunter2"), "{set}");
    let kept = p.ok(&["releases", "output"]);
    assert_eq!(kept, "token=<secret>\n");
    for (path, bytes) in p.snapshot_files() {
        assert!(
            !String::from_utf8_lossy(&bytes).contains("hunter2"),
            "{path} holds the secret"
        );
    }
}

#[test]
fn a_release_command_that_cannot_start_fails_the_release() {
    let p = app(r#"release-command = ["no-such-program-anywhere"]"#);
    let run = p.run(&["deploy"]);
    assert_eq!(run.code, 1, "{run}");
    assert!(
        run.stderr.contains(
            "the release phase of v1 failed (could not start `no-such-program-anywhere`: it is \
             neither an executable of v1 nor on PATH)"
        ),
        "{run}"
    );
    assert!(release_file(&p, 1).contains("status = \"failed\""));
}

#[cfg(unix)]
#[test]
fn ctrl_c_during_the_health_check_rolls_nothing_back() {
    use std::os::unix::process::CommandExt as _;
    let p = app(r#"health-check = ["myapp", "sleep"]"#);
    // The first release has nothing to roll back to; the second does.
    let mut first = p.command(&["deploy"]);
    first.process_group(0);
    let first = first.stderr(std::process::Stdio::piped()).spawn().unwrap();
    interrupt_once_sleeping(&p, first);
    let mut tool = p.command(&["config", "set", "A=1"]);
    tool.process_group(0);
    let tool = tool.stderr(std::process::Stdio::piped()).spawn().unwrap();
    let output = interrupt_once_sleeping(&p, tool);
    assert_eq!(output.status.code(), Some(130), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("interrupted; the health check of v2 was stopped; v2 stays current"),
        "{stderr}"
    );
    assert_eq!(
        p.release_files().last().unwrap(),
        "v2.toml",
        "nothing rolled back"
    );
}

/// Sends SIGINT to `tool`'s process group once its health check sleeps.
#[cfg(unix)]
fn interrupt_once_sleeping(p: &Project, tool: std::process::Child) -> std::process::Output {
    let pid_file = p.path("sleeping.pid");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !pid_file.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "the check never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    std::fs::remove_file(&pid_file).unwrap();
    let group = format!("-{}", tool.id());
    std::process::Command::new("kill")
        .args(["-INT", "--", &group])
        .status()
        .unwrap();
    tool.wait_with_output().unwrap()
}

#[test]
fn a_release_command_that_runs_too_long_fails_the_release() {
    let p = app("release-command = [\"myapp\", \"sleep\"]\nrelease-timeout = \"1s\"");
    ok(&p, &["--skip-release-phase", "deploy"]);
    let run = p.run(&["config", "set", "A=1"]);
    assert_eq!(run.code, 1, "{run}");
    assert!(
        run.stderr
            .contains("the release phase of v2 failed (timed out after 1s)"),
        "{run}"
    );
    assert!(release_file(&p, 2).contains("reason = \"timed out after 1s\""));
    assert_eq!(p.ok(&["run"]), "hello (MIGRATE=None)\n");
}
