//! The library as an xtask would use it: the clock and the user are inputs, nothing is printed.

use cargo_release_log::{Context, DeployOptions, Error, PromoteOptions, Version, Workspace};

use crate::support::*;

#[test]
fn deploy_config_and_rollback_through_the_library() {
    let p = Project::new();
    let ws = Workspace::open(&p.path("Cargo.toml")).unwrap();
    let now = jiff::Timestamp::from_second(START)
        .unwrap()
        .to_zoned_datetime(jiff::tz::TimeZone::UTC);
    let ctx = Context::new(now).with_user("ci@example.com");

    // No build: the library's cargo would not run in the tests' clean environment.
    let mut opts = DeployOptions::default();
    opts.no_build = true;
    let v1 = ws.deploy(&ctx, &opts).unwrap().release;
    assert_eq!(
        (v1.version, v1.by.as_str(), v1.when.as_str()),
        (1, "ci@example.com", "2026-01-15T12:00:00+00:00")
    );

    let v2 = ws
        .config_set(&ctx, &["MYVAR=42".to_owned()])
        .unwrap()
        .release;
    assert_eq!(v2.change, "Config add MYVAR");
    assert_eq!(p.read(".cargo/config.toml"), "[env]\nMYVAR = \"42\"\n");

    let back = ws.rollback(&ctx, Some(Version(1))).unwrap();
    assert_eq!(
        (back.release.version, back.target, back.previous),
        (3, 1, 2)
    );
    assert_eq!(p.read(".cargo/config.toml"), "");

    let history: Vec<u64> = ws
        .releases(10)
        .unwrap()
        .iter()
        .map(|r| r.release.version)
        .collect();
    assert_eq!(history, [3, 2, 1]);
    // Refusals can be matched.
    let err = ws.config_unset(&ctx, &["MYVAR".to_owned()]).unwrap_err();
    assert!(matches!(err, Error::ConfigVarNotSet(_)), "{err:?}");
    assert!(err.is_refusal());
    assert_eq!(err.to_string(), "config var `MYVAR` is not set");
}

/// The `xtask` example, built by `cargo test` beside the test binaries
/// (built here when a narrower `cargo test` skipped it).
fn xtask_example() -> std::path::PathBuf {
    let deps = std::env::current_exe().unwrap();
    let dir = deps.parent().unwrap().parent().unwrap().join("examples");
    let exe = dir.join(format!("xtask{}", std::env::consts::EXE_SUFFIX));
    if !exe.is_file() {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let status = std::process::Command::new(cargo)
            .args(["build", "--example", "xtask"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .unwrap();
        assert!(status.success());
    }
    exe
}

#[test]
fn the_xtask_example_ships_and_rolls_back_through_the_library() {
    // A release that fails its smoke test once GREETING is set.
    let p = Project::new();
    p.write(
        "src/main.rs",
        "fn main() {\n    if std::env::var_os(\"GREETING\").is_some() {\n        std::process::exit(3);\n    }\n}\n",
    );
    p.commit("fails with GREETING");
    let output = p
        .program(xtask_example())
        .arg(p.path("Cargo.toml"))
        .arg("GREETING=hi")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}{stderr}");
    let stdout = redact(&stdout, p.root());
    let stdout = regex::Regex::new(r"\d+ bytes")
        .unwrap()
        .replace(&stdout, "[SIZE] bytes");
    assert_eq!(
        stdout,
        "deployed v1 (27392eb), 1 executable(s), [SIZE] bytes\n\
         config v2: Config add GREETING\n\
         smoke test failed (exit status: 3); rolled back to v1 as v3\n\
         v3 Rollback Rollback to v1 current=true eligible=false\n\
         v2 Config Config add GREETING current=false eligible=true\n\
         v1 Deploy Deploy 27392eb current=false eligible=true\n"
    );
    assert_eq!(stderr, "", "the library printed nothing; cargo was quiet");
    assert!(
        p.read(".releases/v3.toml")
            .contains("by = \"xtask@example.com\"")
    );
    assert!(p.exists(".releases/v3.toml") && !p.exists(".releases/v4.toml"));
}

/// A caller that has seen Ctrl-C (the flag set) gets the add-on change
/// stopped before cargo runs: nothing changes.
#[test]
fn an_interrupted_addon_change_changes_nothing() {
    use std::sync::Arc;
    use std::sync::atomic::AtomicBool;
    let p = Project::new();
    let ws = Workspace::open(&p.path("Cargo.toml")).unwrap();
    let now = jiff::Timestamp::from_second(START)
        .unwrap()
        .to_zoned_datetime(jiff::tz::TimeZone::UTC);
    let mut opts = DeployOptions::default();
    opts.no_build = true;
    let ctx = Context::new(now.clone()).with_user("ci@example.com");
    ws.deploy(&ctx, &opts).unwrap();
    let before = p.snapshot_files();

    let ctx = Context::new(now)
        .with_user("ci@example.com")
        .interrupted_by(Arc::new(AtomicBool::new(true)));
    let change = cargo_release_log::AddonChange::remove("anything", None);
    let err = ws.change_addons(&ctx, &change).unwrap_err();
    assert!(matches!(err, Error::Interrupted(_)), "{err:?}");
    assert!(err.is_refusal());
    assert_eq!(err.to_string(), "interrupted; nothing was changed");
    assert_eq!(p.snapshot_files(), before);
}

#[test]
fn an_xtask_promotes_and_matches_each_refusal() {
    let p = Project::with_pipeline();
    p.ok(&["--env", "staging", "deploy"]);
    p.ok(&["--env", "staging", "config", "set", "MYVAR=1"]);
    let now = jiff::Timestamp::from_second(START)
        .unwrap()
        .to_zoned_datetime(jiff::tz::TimeZone::UTC);
    let ctx = Context::new(now).with_user("ci@example.com");
    let ws = Workspace::open(&p.path("Cargo.toml")).unwrap();
    let before = p.snapshot_files();

    let opts = PromoteOptions::default();
    let err = ws.promote(&ctx, "staging", "prod", &opts).unwrap_err();
    assert!(
        matches!(&err, Error::UnknownEnvironment { name, known } if name == "prod" && known.len() == 3),
        "{err:?}"
    );
    let err = ws
        .promote(&ctx, "default", "production", &opts)
        .unwrap_err();
    assert!(
        matches!(&err, Error::PromotionSource { expected, .. } if expected == "staging"),
        "{err:?}"
    );
    let err = ws
        .promote(&ctx, "staging", "production", &opts)
        .unwrap_err();
    assert!(
        matches!(&err, Error::MissingConfigVars { names, version: 2, .. } if names == &["MYVAR"]),
        "{err:?}"
    );
    let mut old = PromoteOptions::default();
    old.version = Some(Version(7));
    let err = ws.promote(&ctx, "staging", "production", &old).unwrap_err();
    assert!(matches!(err, Error::NoSuchRelease { .. }), "{err:?}");
    let production = Workspace::open(&p.path("Cargo.toml"))
        .unwrap()
        .with_env("production")
        .unwrap();
    let mut deploy = DeployOptions::default();
    deploy.no_build = true;
    let err = production.deploy(&ctx, &deploy).unwrap_err();
    assert!(
        matches!(&err, Error::PromotionOnly { from, .. } if from == "staging"),
        "{err:?}"
    );
    assert!(err.is_refusal());
    assert_eq!(p.snapshot_files(), before, "a refusal wrote something");

    let mut allow = PromoteOptions::default();
    allow.allow_missing = true;
    let done = ws.promote(&ctx, "staging", "production", &allow).unwrap();
    assert_eq!((done.release.version, done.source), (1, 2));
    assert_eq!(done.missing_vars, ["MYVAR"]);
    assert_eq!(
        done.release.change,
        format!("Promote staging v2 ({})", &done.release.code.commit[..7])
    );
    assert_eq!(production.releases(5).unwrap().len(), 1);
}
