//! The library as an xtask would use it: the clock and the user are inputs, nothing is printed.

use cargo_release_log::Context;
use cargo_release_log::commands::{config, deploy, releases, rollback};
use cargo_release_log::ledger::Version;
use cargo_release_log::workspace::Workspace;

use crate::support::*;

#[test]
fn deploy_config_and_rollback_through_the_library() {
    let p = Project::new();
    let ws = Workspace::load(Some(&p.path("Cargo.toml"))).unwrap();
    let now = jiff::Timestamp::from_second(START)
        .unwrap()
        .to_zoned_datetime(jiff::tz::TimeZone::UTC);
    let mut ctx = Context::new(now);
    ctx.user = Some("ci@example.com".to_owned());

    // No build: the library's cargo would not run in the tests' clean environment.
    let opts = deploy::DeployOptions {
        no_build: true,
        ..Default::default()
    };
    let v1 = deploy::deploy(&ws, &ctx, &opts).unwrap().release;
    assert_eq!(
        (v1.version, v1.by.as_str(), v1.when.as_str()),
        (1, "ci@example.com", "2026-01-15T12:00:00+00:00")
    );

    let v2 = config::set(&ws, &ctx, &["MYVAR=42".to_owned()])
        .unwrap()
        .release;
    assert_eq!(v2.change, "Config add MYVAR");
    assert_eq!(p.read(".cargo/config.toml"), "[env]\nMYVAR = \"42\"\n");

    let back = rollback::rollback(&ws, &ctx, Some(Version(1))).unwrap();
    assert_eq!(
        (back.release.version, back.target, back.previous),
        (3, 1, 2)
    );
    assert_eq!(p.read(".cargo/config.toml"), "");

    let history: Vec<u64> = releases::list(&ws, 10)
        .unwrap()
        .iter()
        .map(|r| r.version)
        .collect();
    assert_eq!(history, [3, 2, 1]);
    let err = config::unset(&ws, &ctx, &["MYVAR".to_owned()]).unwrap_err();
    assert_eq!(err.to_string(), "config var `MYVAR` is not set");
}
