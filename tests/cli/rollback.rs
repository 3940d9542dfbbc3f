//! Rollback: to the previous release and to `vN`, what it regenerates, what it refuses, and that rolled-back code is temporary.

use fs_err as fs;

use crate::snap;
use crate::support::*;

/// What `cargo release-log run` prints.
fn run_output(p: &Project) -> String {
    p.ok(&["run"])
}

const CARGO_CONFIG: &str = "# Local cargo settings.\n[alias]\nb = \"build\" # short\n";

/// v1 deploy (code 1, no vars), v2 `MYVAR=1`, v3 deploy (code 2), v4 `MYVAR=42`;
/// returns the `.cargo/config.toml` text after each.
fn four_releases(p: &Project) -> [String; 4] {
    p.write(".cargo/config.toml", CARGO_CONFIG);
    p.commit("cargo config");
    let mut files = Vec::new();
    p.ok(&["deploy"]);
    files.push(p.read(".cargo/config.toml"));
    p.advance(60);
    p.ok(&["config", "set", "MYVAR=1"]);
    files.push(p.read(".cargo/config.toml"));
    p.advance(60);
    change_code(p, "v2");
    p.ok(&["deploy"]);
    files.push(p.read(".cargo/config.toml"));
    p.advance(60);
    p.ok(&["config", "set", "MYVAR=42"]);
    files.push(p.read(".cargo/config.toml"));
    p.advance(60);
    files.try_into().unwrap()
}

#[test]
fn rollback_to_the_previous_release_and_to_vn() {
    let p = Project::new();
    let files = four_releases(&p);
    assert_eq!(files[0], CARGO_CONFIG);
    assert_eq!(
        run_output(&p),
        "hello from v2 (MYVAR=Some(\"42\"), args=[])\n"
    );

    // Bare: the newest eligible release before the current one.
    let bare = ok(&p, &["rollback"]);
    assert!(bare.stdout.starts_with("Rolled back to v3\n"), "{bare}");
    assert_eq!(p.read(".cargo/config.toml"), files[2]);
    assert_eq!(
        run_output(&p),
        "hello from v2 (MYVAR=Some(\"1\"), args=[])\n"
    );
    let info = ok(&p, &["info"]);
    assert!(info.stdout.contains("Change: Rollback to v3\n"), "{info}");
    p.advance(60);

    let to_v1 = ok(&p, &["rollback", "v1"]);
    assert_eq!(
        p.read(".cargo/config.toml"),
        CARGO_CONFIG,
        "v1 had no config vars"
    );
    assert_eq!(run_output(&p), "hello from v1 (MYVAR=None, args=[])\n");
    let info_v1 = ok(&p, &["info", "v1"]);
    p.advance(60);

    // Heroku's spelling, and undoing to the release before the rollbacks.
    let undo = ok(&p, &["releases:rollback", "v4"]);
    assert_eq!(p.read(".cargo/config.toml"), files[3]);
    assert_eq!(
        run_output(&p),
        "hello from v2 (MYVAR=Some(\"42\"), args=[])\n"
    );
    p.advance(60);
    let to_v2 = ok(&p, &["rollback", "2"]);
    assert_eq!(p.read(".cargo/config.toml"), files[1]);
    assert_eq!(
        run_output(&p),
        "hello from v1 (MYVAR=Some(\"1\"), args=[])\n"
    );
    p.advance(60);
    let releases = ok(&p, &["releases"]);
    snap!(transcript(&[
        bare, info, to_v1, info_v1, undo, to_v2, releases
    ]));
}

#[test]
fn rollback_regenerates_env_exactly_and_keeps_the_rest_of_the_file() {
    let p = Project::new();
    let text = "# Shared settings\n[build]\njobs = 2\n\n[env]\n# the port\nPORT = { value = \"8080\", force = true } # dev\nMODE = \"dev\"\n\n[alias]\nb = \"build\"\n";
    p.write(".cargo/config.toml", text);
    p.commit("cargo config");
    p.ok(&["deploy"]);
    p.advance(60);
    p.ok(&["config", "set", "PORT=80", "MODE=prod", "EXTRA=1"]);
    p.advance(60);
    p.ok(&["config", "unset", "MODE"]);
    p.advance(60);
    ok(&p, &["rollback", "v1"]);
    assert_eq!(p.read(".cargo/config.toml"), text);
    assert_eq!(vars(p.ok(&["info", "--shell"])), "MODE=dev\nPORT=8080\n");
}

#[test]
fn bad_references_are_refused() {
    let p = Project::new();
    p.ok(&["deploy"]);
    p.advance(60);
    p.ok(&["config", "set", "MYVAR=42"]);
    p.advance(60);
    let runs = vec![
        refused(&p, &["rollback", "v0"]),
        refused(&p, &["rollback", "v99"]),
        refused(&p, &["rollback", "abc"]),
        refused(&p, &["rollback", "v2"]),
        refused(&p, &["releases:rollback", "v-1"]),
    ];
    snap!(transcript(&runs));
    assert_eq!(p.release_files(), ["v1.toml", "v2.toml"]);
}

#[test]
fn nothing_to_roll_back_to() {
    let p = Project::new();
    p.ok(&["deploy"]);
    p.advance(60);
    let run = refused(&p, &["rollback"]);
    snap!(run);
}

#[test]
fn rollback_before_the_first_release_writes_nothing() {
    let p = Project::new();
    let run = refused(&p, &["rollback"]);
    assert!(run.stderr.contains("no releases yet"), "{run}");
}

#[test]
fn rolling_back_to_a_failed_release_is_refused() {
    let p = Project::new();
    p.ok(&["deploy"]);
    p.advance(60);
    break_the_build(&p, "broken");
    let failed = p.run(&["deploy"]);
    assert_ne!(failed.code, 0, "{failed}");
    assert!(failed.stderr.contains("recorded v2 as failed"), "{failed}");
    p.advance(60);

    let runs = vec![
        refused(&p, &["rollback", "v2"]),
        refused(&p, &["rollback"]),
        ok(&p, &["info", "v2"]),
    ];
    assert!(
        runs[2]
            .stdout
            .contains("Eligible for Rollback?: No (its build failed)\n")
    );

    // After a fixed deploy, a bare rollback skips the failed release.
    change_code(&p, "v3");
    p.ok(&["deploy"]);
    p.advance(60);
    let bare = ok(&p, &["rollback"]);
    assert!(
        bare.stdout
            .starts_with("Skipped v2: its build failed.\nRolled back to v1\n"),
        "{bare}"
    );
    assert_eq!(run_output(&p), "hello from v1 (MYVAR=None, args=[])\n");
    snap!(transcript(&runs));
}

#[test]
fn rolled_back_code_is_temporary() {
    let p = Project::new();
    p.ok(&["deploy"]);
    p.advance(60);
    p.ok(&["config", "set", "X=1"]);
    p.advance(60);
    change_code(&p, "v2");
    p.ok(&["deploy"]);
    p.advance(60);
    let rollback = ok(&p, &["rollback", "v2"]);
    assert_eq!(run_output(&p), "hello from v1 (MYVAR=None, args=[])\n");
    p.advance(60);

    let set = ok(&p, &["config", "set", "MYVAR=2"]);
    assert!(
        set.stdout.contains(
            "Rolled-back code is temporary: v5 runs the code of v3, the latest deploy, again.\n"
        ),
        "{set}"
    );
    assert_eq!(
        run_output(&p),
        "hello from v2 (MYVAR=Some(\"2\"), args=[])\n"
    );
    let info = ok(&p, &["info"]);
    p.advance(60);

    // The same holds for an unset; once back on the deploy's code, nothing is said.
    ok(&p, &["rollback", "v2"]);
    assert_eq!(run_output(&p), "hello from v1 (MYVAR=None, args=[])\n");
    p.advance(60);
    let unset = ok(&p, &["config", "unset", "X"]);
    assert!(unset.stdout.contains("v7 runs the code of v3"), "{unset}");
    assert_eq!(run_output(&p), "hello from v2 (MYVAR=None, args=[])\n");
    p.advance(60);
    let plain = ok(&p, &["config", "set", "Y=2"]);
    assert!(!plain.stdout.contains("temporary"), "{plain}");
    snap!(transcript(&[rollback, set, info, unset]));
}

#[test]
fn a_deploy_that_added_an_addon_can_be_backed_out() {
    let p = Project::new();
    p.ok(&["deploy"]);
    p.advance(60);

    add_path_addon(&p);
    let deploy = ok(&p, &["deploy"]);
    assert!(deploy.stdout.contains("  + addon 0.1.0\n"), "{deploy}");
    p.advance(60);

    assert!(
        p.ok(&["info", "v1"])
            .contains("Eligible for Rollback?: Yes")
    );
    let back = ok(&p, &["rollback"]);
    assert!(
        back.stdout.contains("It leaves out addon (now 0.1.0).\n"),
        "{back}"
    );
    assert!(p.ok(&["info"]).contains("Addons: none\n"));
}

#[test]
fn a_hand_edit_refuses_rollback() {
    let p = Project::new();
    p.ok(&["deploy"]);
    p.advance(60);
    p.ok(&["config", "set", "MYVAR=42"]);
    p.advance(60);
    p.write(".cargo/config.toml", "[env]\nMYVAR = \"43\"\n");
    let run = refused(&p, &["rollback"]);
    snap!(run);
    assert_eq!(p.read(".cargo/config.toml"), "[env]\nMYVAR = \"43\"\n");
}

#[test]
fn a_release_whose_slug_is_gone_is_not_eligible() {
    let p = Project::new();
    p.ok(&["deploy"]);
    p.advance(60);
    change_code(&p, "v2");
    p.ok(&["deploy"]);
    p.advance(60);
    // As in a fresh clone of the repository: release files, but not v1's slug.
    let v1 = p.read(".releases/v1.toml");
    let sha = regex::Regex::new(r#"sha256 = "([0-9a-f]{64})""#)
        .unwrap()
        .captures(&v1)
        .unwrap()[1]
        .to_owned();
    fs::remove_dir_all(p.path(&format!(".releases/slugs/{sha}"))).unwrap();

    let runs = vec![
        refused(&p, &["rollback", "v1"]),
        refused(&p, &["rollback"]),
        ok(&p, &["info", "v1"]),
    ];
    snap!(transcript(&runs));
}

#[test]
fn leaving_rolled_back_code_names_the_latest_deploy_after_a_no_build_deploy() {
    let p = Project::new();
    p.ok(&["deploy"]);
    change_code(&p, "v2");
    p.ok(&["deploy", "--no-build"]);
    p.ok(&["rollback", "v1"]);
    let set = ok(&p, &["config", "set", "A=1"]);
    assert!(
        set.stdout.contains(
            "Rolled-back code is temporary: v4 runs the code of v2, the latest deploy, again.\n"
        ),
        "{set}"
    );
}

#[test]
fn a_rollback_regenerates_cargos_options_and_run_honours_relative() {
    let p = Project::new();
    p.write(
        ".cargo/config.toml",
        "[env]\nMYVAR = { value = \"data/dir\", relative = true, force = true }\n",
    );
    p.commit("a relative config var");
    p.ok(&["deploy"]);
    // The run output has the workspace root redacted as [ROOT].
    assert_eq!(
        p.ok(&["run"]),
        "hello from v1 (MYVAR=Some(\"[ROOT]/data/dir\"), args=[])\n"
    );
    assert!(
        p.ok(&["info"])
            .contains("Config: MYVAR => data/dir [force, relative]\n")
    );
    p.ok(&["config", "unset", "MYVAR"]);
    assert_eq!(p.read(".cargo/config.toml"), "");
    p.ok(&["rollback", "v1"]);
    assert_eq!(
        p.read(".cargo/config.toml"),
        "[env]\nMYVAR = { value = \"data/dir\", force = true, relative = true }\n"
    );
    // A changed value keeps the var's options.
    p.ok(&["config", "set", "MYVAR=other"]);
    assert_eq!(
        p.read(".cargo/config.toml"),
        "[env]\nMYVAR = { value = \"other\", force = true, relative = true }\n"
    );
}
