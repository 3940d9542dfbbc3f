//! Tiers: `init --tier`, what the basic and advanced tiers keep, and rollback within them.

use fs_err as fs;

use crate::snap;
use crate::support::*;

/// How many slugs `.releases/slugs/` holds.
fn slug_count(p: &Project) -> usize {
    fs::read_dir(p.path(".releases/slugs")).unwrap().count()
}

/// A project in the basic tier, committed, with its first release deployed.
fn basic() -> Project {
    let p = Project::new();
    p.ok(&["init", "--tier", "basic"]);
    p.commit("basic tier");
    p.ok(&["deploy"]);
    p.advance(60);
    p
}

#[test]
fn init_writes_the_tier_once() {
    let p = Project::new();
    let first = ok(&p, &["init", "--tier", "basic"]);
    assert!(
        first
            .stdout
            .starts_with("Set tier = \"basic\" in [package.metadata.release-log] of Cargo.toml (commit it before the next deploy)\n"),
        "{first}"
    );
    let manifest = p.read("Cargo.toml");
    assert_eq!(
        manifest,
        "[package]\nname = \"myapp\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
         [package.metadata.release-log]\ntier = \"basic\"\n\n[dependencies]\n"
    );
    let again = ok(&p, &["init", "--tier", "basic"]);
    assert!(again.changes.is_empty(), "{again}");
    // Without `--tier`, the tier set stays.
    let plain = ok(&p, &["init"]);
    assert!(plain.changes.is_empty(), "{plain}");
    snap!(format!(
        "$ cargo release-log init --tier basic\n--- files\n{}\n--- Cargo.toml\n{manifest}\n{}",
        first.changes.join("\n"),
        transcript(&[again, plain])
    ));
}

#[test]
fn init_says_it_created_the_ledger() {
    let p = Project::new();
    let run = ok(&p, &["init"]);
    assert_eq!(
        run.stdout,
        "Created .releases/ (commit its v*.toml files; slugs stay local)\n\
         myapp keeps its releases in .releases/ (tier: advanced)\n"
    );
}

#[test]
fn init_writes_the_tier_of_a_virtual_workspace() {
    let p = Project::with_files(&[
        (
            "Cargo.toml",
            "[workspace]\nmembers = [\"app\"]\nresolver = \"2\"\n",
        ),
        (
            "app/Cargo.toml",
            "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
        ),
        ("app/src/main.rs", "fn main() {}\n"),
    ]);
    let run = ok(&p, &["init", "--tier", "basic"]);
    assert!(
        run.stdout.starts_with(
            "Set tier = \"basic\" in [workspace.metadata.release-log] of Cargo.toml (commit it before the next deploy)\n"
        ),
        "{run}"
    );
    assert_eq!(
        p.read("Cargo.toml"),
        "[workspace]\nmembers = [\"app\"]\nresolver = \"2\"\n\n[workspace.metadata.release-log]\ntier = \"basic\"\n"
    );
    p.commit("basic tier");
    p.ok(&["deploy"]);
    for i in 0..3 {
        p.advance(60);
        p.ok(&["config", "set", &format!("N={i}")]);
    }
    assert_eq!(p.release_files(), ["v3.toml", "v4.toml"]);
}

#[test]
fn basic_keeps_two_release_files_and_numbers_go_on() {
    let p = basic();
    for i in 1..=6 {
        p.ok(&["config", "set", &format!("N{i}={i}")]);
        p.advance(60);
        assert!(p.release_files().len() <= 2, "{:?}", p.release_files());
    }
    assert_eq!(p.release_files(), ["v6.toml", "v7.toml"]);
    assert_eq!(slug_count(&p), 1, "every release runs v1's slug");

    let releases = ok(&p, &["releases"]);
    let runs = vec![
        refused(&p, &["rollback", "v2"]),
        refused(&p, &["rollback", "v5"]),
        refused(&p, &["rollback", "v99"]),
        refused(&p, &["rollback", "v7"]),
    ];
    for run in &runs[..2] {
        assert!(run.stderr.contains("tier = \"advanced\""), "{run}");
    }
    let bare = ok(&p, &["rollback"]);
    assert!(bare.stdout.starts_with("Rolled back to v6\n"), "{bare}");
    assert_eq!(p.release_files(), ["v7.toml", "v8.toml"]);
    assert_eq!(p.ok(&["config", "get", "N5"]), "5\n");
    assert!(p.run(&["config", "get", "N6"]).code != 0);
    p.advance(60);
    // The previous release can be named too: here, undoing the rollback.
    let named = ok(&p, &["rollback", "v7"]);
    assert_eq!(p.release_files(), ["v8.toml", "v9.toml"]);
    assert_eq!(p.ok(&["config", "get", "N6"]), "6\n");
    snap!(format!(
        "{releases}\n{}\n{bare}\n{named}",
        transcript(&runs)
    ));
}

#[test]
fn advanced_is_the_default_and_keeps_every_release() {
    let p = Project::new();
    p.ok(&["deploy"]);
    p.advance(60);
    for i in 1..=6 {
        p.ok(&["config", "set", &format!("N{i}={i}")]);
        p.advance(60);
    }
    assert_eq!(p.release_files().len(), 7);
    let run = ok(&p, &["rollback", "v2"]);
    assert!(run.stdout.starts_with("Rolled back to v2\n"), "{run}");
    assert_eq!(vars(p.ok(&["info", "--shell"])), "N1=1\n");
    assert_eq!(p.release_files().len(), 8);
    assert!(
        !p.read("Cargo.toml").contains("release-log"),
        "the default is not written"
    );
}

#[test]
fn switching_to_basic_prunes_at_once() {
    let p = Project::new();
    p.ok(&["deploy"]);
    p.advance(60);
    change_code(&p, "v2");
    p.ok(&["deploy"]);
    p.advance(60);
    change_code(&p, "v3");
    p.ok(&["deploy"]);
    p.advance(60);
    p.ok(&["config", "set", "MYVAR=42"]);
    p.advance(60);
    assert_eq!(p.release_files().len(), 4);
    assert_eq!(slug_count(&p), 3);

    let init = ok(&p, &["init", "--tier", "basic", "--yes"]);
    assert_eq!(p.release_files(), ["v3.toml", "v4.toml"]);
    assert_eq!(slug_count(&p), 1, "only v3's slug is still referred to");
    p.commit("basic tier");
    p.advance(60);

    // The kept releases still roll back, run, and number on.
    let rollback = ok(&p, &["rollback"]);
    assert!(
        rollback.stdout.starts_with("Rolled back to v3\n"),
        "{rollback}"
    );
    assert_eq!(p.ok(&["run"]), "hello from v3 (MYVAR=None, args=[])\n");
    assert_eq!(p.release_files(), ["v4.toml", "v5.toml"]);
    p.advance(60);

    // Back to advanced: nothing more is pruned, nothing comes back.
    let advanced = ok(&p, &["init", "--tier", "advanced"]);
    p.commit("advanced tier");
    p.advance(60);
    p.ok(&["config", "set", "A=1"]);
    p.advance(60);
    p.ok(&["config", "set", "B=2"]);
    assert_eq!(
        p.release_files(),
        ["v4.toml", "v5.toml", "v6.toml", "v7.toml"]
    );
    snap!(transcript(&[init, advanced]));
}

#[test]
fn a_tier_set_by_hand_applies_at_the_next_release() {
    let p = Project::new();
    p.ok(&["deploy"]);
    for i in 1..=3 {
        p.advance(60);
        p.ok(&["config", "set", &format!("N{i}={i}")]);
    }
    let manifest = p.read("Cargo.toml") + "\n[package.metadata.release-log]\ntier = \"basic\"\n";
    p.write("Cargo.toml", &manifest);
    p.commit("basic tier");
    assert_eq!(p.release_files().len(), 4);
    p.advance(60);
    p.ok(&["config", "set", "N4=4"]);
    assert_eq!(p.release_files(), ["v4.toml", "v5.toml"]);
}

#[test]
fn info_releases_and_rollback_agree_before_a_new_tier_prunes() {
    let p = Project::new();
    p.ok(&["deploy"]);
    for i in 1..=2 {
        p.advance(60);
        p.ok(&["config", "set", &format!("N{i}={i}")]);
    }
    let manifest = p.read("Cargo.toml") + "\n[package.metadata.release-log]\ntier = \"basic\"\n";
    p.write("Cargo.toml", &manifest);
    // Nothing is pruned until the next release, but the basic tier already
    // rolls back one step only: every command says so alike.
    assert_eq!(p.release_files().len(), 3);
    let info = p.ok(&["info", "v1"]);
    let basic = "the basic tier keeps only the current and the previous release";
    assert!(
        info.contains(&format!("Eligible for Rollback?: No ({basic}")),
        "{info}"
    );
    assert!(
        p.ok(&["info", "v2"])
            .contains("Eligible for Rollback?: Yes")
    );
    let json: serde_json::Value = serde_json::from_str(&p.ok(&["releases", "--json"])).unwrap();
    let eligible: Vec<(u64, bool)> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["version"].as_u64().unwrap(),
                r["eligible-for-rollback"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(eligible, [(3, false), (2, true), (1, false)]);
    let refused = refused(&p, &["rollback", "v1"]);
    assert!(refused.stderr.contains(basic), "{refused}");
    ok(&p, &["rollback", "v2"]);
}

#[test]
fn a_failed_deploy_keeps_the_release_a_rollback_goes_to() {
    let p = basic();
    p.ok(&["config", "set", "A=1"]);
    p.advance(60);
    break_the_build(&p, "broken");
    let failed = p.run(&["deploy"]);
    assert_ne!(failed.code, 0, "{failed}");
    // v2 is current, v1 what a rollback goes to, v3 the newest number.
    assert_eq!(p.release_files(), ["v1.toml", "v2.toml", "v3.toml"]);
    p.advance(60);

    change_code(&p, "v4");
    p.ok(&["deploy"]);
    assert_eq!(p.release_files(), ["v2.toml", "v4.toml"]);
    p.advance(60);
    let releases = ok(&p, &["releases"]);
    let rollback = ok(&p, &["rollback"]);
    assert!(
        rollback.stdout.starts_with("Rolled back to v2\n"),
        "{rollback}"
    );
    assert_eq!(p.ok(&["run"]), "hello from v1 (MYVAR=None, args=[])\n");
    assert_eq!(p.release_files(), ["v4.toml", "v5.toml"]);
    snap!(transcript(&[releases, rollback]));
}

#[test]
fn basic_rolled_back_code_is_temporary_after_the_deploy_file_is_pruned() {
    let p = Project::new();
    p.ok(&["deploy"]);
    p.advance(60);
    change_code(&p, "v2");
    p.ok(&["deploy"]);
    p.advance(60);
    p.ok(&["rollback", "v1"]);
    p.advance(60);
    p.ok(&["rollback", "v1"]);
    p.advance(60);
    // Basic keeps v4 and v3, both rollbacks to v1's code: no deploy file is left.
    p.ok(&["init", "--tier", "basic", "--yes"]);
    p.commit("basic tier");
    assert_eq!(p.release_files(), ["v3.toml", "v4.toml"]);
    assert_eq!(p.ok(&["run"]), "hello from v1 (MYVAR=None, args=[])\n");
    p.advance(60);

    let set = ok(&p, &["config", "set", "MYVAR=1"]);
    assert!(
        set.stdout.contains(
            "Rolled-back code is temporary: v5 runs the code of v2, the latest deploy, again.\n"
        ),
        "{set}"
    );
    assert_eq!(
        p.ok(&["run"]),
        "hello from v2 (MYVAR=Some(\"1\"), args=[])\n"
    );
    assert_eq!(p.release_files(), ["v4.toml", "v5.toml"]);
    snap!(set);
}

#[test]
fn basic_rolled_back_code_is_temporary() {
    let p = basic();
    change_code(&p, "v2");
    p.ok(&["deploy"]);
    p.advance(60);
    p.ok(&["rollback"]);
    assert_eq!(p.ok(&["run"]), "hello from v1 (MYVAR=None, args=[])\n");
    p.advance(60);
    let set = ok(&p, &["config", "set", "MYVAR=1"]);
    assert!(set.stdout.contains("v4 runs the code of v2"), "{set}");
    assert_eq!(
        p.ok(&["run"]),
        "hello from v2 (MYVAR=Some(\"1\"), args=[])\n"
    );
    assert_eq!(p.release_files(), ["v3.toml", "v4.toml"]);
}

#[test]
fn basic_keeps_the_previous_release_even_when_it_cannot_be_rolled_back_to() {
    let p = basic();
    add_path_addon(&p);
    p.ok(&["deploy"]);
    // v1 has other add-ons, so no rollback goes there, but it is the previous release.
    assert_eq!(p.release_files(), ["v1.toml", "v2.toml"]);
    p.ok(&["config", "set", "A=1"]);
    assert_eq!(p.release_files(), ["v2.toml", "v3.toml"]);
    let run = p.run(&["info", "v1"]);
    run.assert_refused();
    assert_eq!(
        run.stderr,
        "error: release v1 is no longer stored; the releases kept are v2, v3\n"
    );
}

#[test]
fn a_pruned_release_between_kept_ones_is_reported_as_pruned() {
    let p = basic();
    break_the_build(&p, "broken");
    assert_eq!(p.run(&["deploy"]).code, 1);
    p.write("src/main.rs", &MAIN_RS.replace("from v1", "from v3"));
    p.commit("fixed");
    p.ok(&["deploy"]);
    p.ok(&["config", "set", "A=1"]);
    assert_eq!(p.release_files(), ["v3.toml", "v4.toml"]);
    let run = p.run(&["info", "v2"]);
    assert!(
        run.stderr.contains("release v2 is no longer stored"),
        "{run}"
    );
}
