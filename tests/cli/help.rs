//! `--help` is what users read first: snapshot it.

use crate::snap;
use crate::support::*;

#[test]
fn help_texts() {
    let p = Project::new();
    for args in [
        &["--help"][..],
        &["deploy", "--help"],
        &["releases", "--help"],
        &["config", "--help"],
        &["rollback", "--help"],
        &["init", "--help"],
        &["info", "--help"],
        &["sync", "--help"],
        &["run", "--help"],
        &["addons", "--help"],
        &["addons", "add", "--help"],
        &["diff", "--help"],
        &["promote", "--help"],
    ] {
        let run = p.run(args);
        assert_eq!(run.code, 0);
        snap!(run);
    }
}

#[test]
fn works_as_cargo_subcommand_and_directly() {
    let p = Project::new();
    let direct = p.command(&[]).arg("--version").output().unwrap();
    assert!(direct.status.success());
    // Without the `release-log` word cargo passes, as `cargo-release-log --version`.
    let bare = clean(std::process::Command::new(env!(
        "CARGO_BIN_EXE_cargo-release-log"
    )))
    .arg("--version")
    .output()
    .unwrap();
    assert_eq!(bare.stdout, direct.stdout);
    assert!(String::from_utf8_lossy(&bare.stdout).starts_with("cargo-release-log "));
}

#[test]
fn usage_errors_exit_2() {
    let p = Project::new();
    let run = p.run(&["deploy", "--no-such-flag"]);
    assert_eq!(run.code, 2);
    assert!(run.changes.is_empty());
    let run = p.run(&["releases", "-n", "0"]);
    assert_eq!(run.code, 2);
}

#[test]
fn color_follows_flag_then_cargo_term_color() {
    let p = Project::new();
    let stderr = |args: &[&str], env: Option<&str>| {
        let mut cmd = p.command(args);
        if let Some(value) = env {
            cmd.env("CARGO_TERM_COLOR", value);
        }
        String::from_utf8(cmd.output().unwrap().stderr).unwrap()
    };
    // Bold, then red: how anstyle writes cargo's bold red.
    let red = "\u{1b}[1m\u{1b}[31merror\u{1b}[0m: ";
    assert!(stderr(&["info", "v9"], None).starts_with("error: "));
    assert!(stderr(&["--color", "always", "info", "v9"], None).starts_with(red));
    assert!(stderr(&["info", "v9"], Some("always")).starts_with(red));
    assert!(stderr(&["--color", "never", "info", "v9"], Some("always")).starts_with("error: "));
}

#[test]
fn quiet_keeps_results_and_errors_only() {
    let p = Project::new();
    let run = p.run(&["-q", "deploy"]);
    assert_eq!(run.code, 0);
    assert_eq!(run.stdout, "");
    assert!(p.exists(".releases/v1.toml"));
    assert!(p.ok(&["-q", "releases"]).contains("v1"));
    assert!(
        p.run(&["-q", "info", "v7"])
            .stderr
            .starts_with("error: release v7 does not exist")
    );
}

#[test]
fn usage_mistakes_are_explained() {
    let p = Project::new();
    let run = p.run(&["releases", "-n", "0"]);
    assert!(
        run.stderr
            .starts_with("error: invalid value '0' for '--num <N>': must be at least 1\n"),
        "{run}"
    );
    let run = p.run(&["deploy", "--no-build", "--profile", "dev"]);
    assert_eq!(run.code, 2, "{run}");
    let run = p.run(&["--manifest-path", ".", "releases"]);
    run.assert_refused();
    assert_eq!(
        run.stderr,
        "error: the manifest path `.` is a folder; pass the path to its Cargo.toml\n"
    );
}
