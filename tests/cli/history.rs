//! `releases` and `info`: the history read back as Heroku shows it.

use crate::snap;
use crate::support::*;

#[test]
fn empty_history() {
    let p = Project::new();
    let run = p.run(&["releases"]);
    assert_eq!(run.code, 0);
    assert_eq!(run.stdout, "myapp has no releases.\n");
    assert!(run.changes.is_empty());
    assert_eq!(p.ok(&["releases", "--json"]), "[]\n");
}

#[test]
fn one_release() {
    let p = Project::new();
    p.ok(&["deploy"]);
    p.advance(5 * 60);
    snap!(p.run(&["releases"]));
}

/// Many releases over two days: relative times under a day, absolute after,
/// newest first, 15 rows unless `-n` says otherwise.
fn many() -> Project {
    let p = Project::new();
    p.ok(&["deploy", "-m", "first light"]);
    for i in 0..17 {
        p.advance(3 * 3600);
        p.ok(&["config", "set", &format!("STEP={i}")]);
    }
    p.advance(60);
    p.ok(&["config", "set", "AWS_S3_KEY=abc", "RACK_ENV=production"]);
    p.advance(2 * 60);
    p
}

#[test]
fn many_releases() {
    let p = many();
    snap!(p.run(&["releases"]));
    let all = p.ok(&["history", "-n", "100"]);
    assert_eq!(all.lines().count(), 2 + 19);
    assert_eq!(p.ok(&["list", "-n", "2"]).lines().count(), 4);
}

#[test]
fn narrow_terminal_shortens_change_but_pipes_never_cut() {
    let p = many();
    p.terminal_width(Some(60));
    let narrow = p.run(&["releases", "-n", "3"]);
    snap!(narrow);
    assert!(
        narrow.stdout.lines().all(|l| l.chars().count() <= 60),
        "{narrow}"
    );
    p.terminal_width(None);
    let piped = p.ok(&["releases", "-n", "3"]);
    assert!(piped.contains("Config add AWS_S3_KEY, RACK_ENV"));
}

#[test]
fn releases_json() {
    let p = Project::new();
    p.ok(&["deploy"]);
    p.ok(&["config", "set", "MYVAR=42"]);
    let json: serde_json::Value = serde_json::from_str(&p.ok(&["releases", "--json"])).unwrap();
    let versions: Vec<u64> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["version"].as_u64().unwrap())
        .collect();
    assert_eq!(versions, [2, 1]);
    assert_eq!(json[0]["change"], "Config add MYVAR");
    assert_eq!(json[0]["config"]["MYVAR"], "42");
    assert_eq!(json[1]["status"], "succeeded");
}

#[test]
fn info_of_current_and_named_releases() {
    let p = Project::new();
    p.ok(&["deploy"]);
    p.advance(3600);
    p.ok(&["config", "set", "MY_CONFIG_VAR=42", "RACK_ENV=production"]);
    p.advance(6 * 3600);
    snap!(p.run(&["info"]));
    snap!(p.run(&["releases:info", "v1"]));
    assert_eq!(p.ok(&["info", "2"]), p.ok(&["info"]));
    assert_eq!(
        vars(p.ok(&["info", "v2", "--shell"])),
        "MY_CONFIG_VAR=42\nRACK_ENV=production\n"
    );
    let json: serde_json::Value = serde_json::from_str(&p.ok(&["info", "v1", "--json"])).unwrap();
    assert_eq!(json["version"], 1);
    assert_eq!(json["eligible-for-rollback"], true);
    assert_eq!(json["current"], false);
}

#[test]
fn absolute_times_after_a_day() {
    let p = Project::new();
    p.ok(&["deploy"]);
    p.advance(2 * 86400);
    let out = p.ok(&["info"]);
    // 2026-01-15 12:00:00 UTC in Los Angeles.
    assert!(out.contains("When:   2026-01-15 04:00:00 -0800"), "{out}");
}
