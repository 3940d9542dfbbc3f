//! A ledger of ten thousand releases, generated through the library: every
//! everyday command still answers correctly (how fast is the benchmarks'
//! business, not the tests').

use crate::support::*;

const COUNT: u64 = 10_000;

/// A project whose ledger holds `COUNT` releases: a deploy of the checked
/// out commit, then config changes `N<v % 5>=<v>`, one a second, ending
/// well before the project's clock.
fn ten_thousand() -> Project {
    let p = Project::new();
    p.cargo(&["build", "--quiet"]);
    let head = p.git(&["rev-parse", "HEAD"]);
    cargo_release_log::fixtures::write_ledger(
        p.root(),
        COUNT,
        head.trim(),
        &p.path("target/debug/myapp"),
        START - 2 * COUNT as i64,
    )
    .unwrap();
    p
}

/// Runs a command that must succeed, without [`Project::run`]'s record of
/// every file before and after (ten thousand of them).
fn ok(p: &Project, args: &[&str]) -> String {
    let output = p.command(args).output().unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "`{}` failed:\n{stdout}{stderr}",
        args.join(" ")
    );
    stdout
}

#[test]
fn ten_thousand_releases_list_show_check_roll_back_and_prune() {
    let p = ten_thousand();

    // The newest fifteen, newest first, the newest current.
    let releases = ok(&p, &["releases"]);
    let rows: Vec<&str> = releases.lines().skip(2).collect();
    assert_eq!(rows.len(), 15, "{releases}");
    assert!(rows[0].starts_with("v10000  Config add N0"), "{releases}");
    assert!(rows[14].starts_with("v9986 "), "{releases}");
    let json = ok(&p, &["releases", "--json", "-n", "3"]);
    assert!(
        json.contains("\"version\": 10000") && json.contains("\"version\": 9998"),
        "{json}"
    );
    assert!(!json.contains("\"version\": 9997"), "{json}");

    // Any release, however old, by name.
    assert!(ok(&p, &["info", "v1"]).starts_with("=== Release v1\nChange: Deploy "));
    let info = ok(&p, &["info", "v5000"]);
    assert!(info.contains("Change: Config add N0\n"), "{info}");
    assert!(info.ends_with("Eligible for Rollback?: Yes\n"), "{info}");

    // The whole chain holds.
    let check = ok(&p, &["check"]);
    assert!(
        check.contains("10000 releases checked, v10000 current"),
        "{check}"
    );

    // A rollback far back brings that release's config, as the next number.
    let rollback = ok(&p, &["rollback", "v9000"]);
    assert!(rollback.starts_with("Rolled back to v9000\n"), "{rollback}");
    let current = ok(&p, &["info"]);
    assert!(
        current.starts_with("=== Release v10001\nChange: Rollback to v9000\n"),
        "{current}"
    );
    let config = ok(&p, &["config", "--json"]);
    for (name, value) in [("N0", 9000), ("N1", 8996), ("N4", 8999)] {
        assert!(
            config.contains(&format!("\"{name}\": \"{value}\"")),
            "{config}"
        );
    }
    assert!(ok(&p, &["check"]).contains("10001 releases checked, v10001 current"));

    // A file changed in the middle breaks the chain there, and only there.
    let v5000 = p.read(".releases/v5000.toml");
    p.write(".releases/v5000.toml", &v5000.replace("N0", "N9"));
    let output = p.command(&["check"]).output().unwrap();
    let check = String::from_utf8(output.stdout).unwrap();
    assert_eq!(output.status.code(), Some(1), "{check}");
    assert!(check.contains("v5000.toml"), "{check}");
    assert_eq!(check.matches("changed after").count(), 1, "{check}");
    p.write(".releases/v5000.toml", &v5000);

    // The basic tier keeps the current release and the one before it.
    ok(&p, &["init", "--tier", "basic", "--yes"]);
    assert_eq!(p.release_files(), ["v10000.toml", "v10001.toml"]);
    let releases = ok(&p, &["releases"]);
    assert_eq!(releases.lines().count(), 4, "{releases}");
    ok(&p, &["check"]);
    assert!(ok(&p, &["config", "set", "A=1"]).contains("v10002"));
}
