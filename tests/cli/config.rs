//! Config vars: `config`, `config get/set/unset` and their Heroku spellings, `[env]` edits, hand edits and `sync`.

use std::process::Command;

use crate::snap;
use crate::support::*;

/// A project with its first release deployed.
fn deployed() -> Project {
    let p = Project::new();
    p.ok(&["deploy"]);
    p.advance(60);
    p
}

const CONFIG_TOML: &str = r#"# Settings for this workspace; keep them tidy.
[alias]
b = "build"  # short for build
xtask = "run --package xtask --"

[build]
jobs = 2

# Variables every process started by cargo sees.
[env]
# How much to log.
RUST_LOG = "info"   # noisy in production
DATABASE_URL = { value = "postgres://localhost/dev", force = true }
# OLD_VAR = "gone"

[term]
verbose = false
"#;

#[test]
fn config_vars_with_heroku_spellings() {
    let p = deployed();
    let mut runs = vec![ok(&p, &["config"])];
    p.advance(60);
    let add = ok(&p, &["config:add", "MYVAR=42"]);
    assert_eq!(
        add.stdout,
        "Adding config vars:\n  MYVAR => 42\nUpdating vars and restarting app... done, v2\n"
    );
    assert_eq!(
        add.changes,
        [
            "+ .cargo/config.toml",
            "~ .releases/current",
            "+ .releases/v2.toml"
        ]
    );
    runs.push(add);
    p.advance(60);
    runs.push(ok(
        &p,
        &[
            "config",
            "set",
            r#"GREETING=it's a "test""#,
            "URL=http://x/?a=b&c",
        ],
    ));
    p.advance(60);
    runs.push(ok(&p, &["config"]));
    runs.push(ok(&p, &["config", "--json"]));
    runs.push(ok(&p, &["config", "--shell"]));
    runs.push(ok(&p, &["config", "get", "MYVAR"]));
    runs.push(ok(&p, &["config:get", "GREETING"]));
    runs.push(ok(&p, &["config", "unset", "URL"]));
    p.advance(60);
    runs.push(ok(&p, &["config:remove", "MYVAR"]));
    p.advance(60);
    runs.push(ok(&p, &["releases"]));
    snap!(transcript(&runs));

    assert_eq!(p.ok(&["config", "get", "GREETING"]), "it's a \"test\"\n");
    // What cargo reads back from the file is the value as given.
    let file: toml::Table = p.read(".cargo/config.toml").parse().unwrap();
    assert_eq!(file["env"]["GREETING"].as_str(), Some(r#"it's a "test""#));
    assert_eq!(file["env"].as_table().unwrap().len(), 1);
    assert!(p.ok(&["run"]).starts_with("hello from v1 (MYVAR=None,"));
}

#[test]
fn config_set_and_unset_spellings_are_all_accepted() {
    let p = deployed();
    let spellings: [&[&str]; 8] = [
        &["config", "set", "A=1"],
        &["config:set", "B=2"],
        &["config", "add", "C=3"],
        &["config:add", "D=4"],
        &["config", "unset", "A"],
        &["config:unset", "B"],
        &["config", "remove", "C"],
        &["config:remove", "D"],
    ];
    for (i, args) in spellings.iter().enumerate() {
        let run = ok(&p, args);
        assert!(
            run.stdout.ends_with(&format!("... done, v{}\n", i + 2)),
            "{run}"
        );
        p.advance(60);
    }
    assert_eq!(
        p.release_files(),
        [
            "v1.toml", "v2.toml", "v3.toml", "v4.toml", "v5.toml", "v6.toml", "v7.toml", "v8.toml",
            "v9.toml"
        ]
    );
    assert_eq!(p.ok(&["config", "--json"]), "{}\n");
}

#[test]
fn shell_output_reads_back_as_the_same_values() {
    let p = deployed();
    let tricky = r#"it's "quoted" $HOME `date` \n and spaces"#;
    p.ok(&[
        "config",
        "set",
        &format!("TRICKY={tricky}"),
        "EMPTY=",
        "PLAIN=a-b_c",
    ]);
    let lines = p.ok(&["config", "--shell"]);
    let output = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "{lines}printf '%s|%s|%s' \"$TRICKY\" \"$EMPTY\" \"$PLAIN\""
        ))
        .output()
        .unwrap();
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        format!("{tricky}||a-b_c")
    );
    // `info --shell` prints the same lines.
    assert_eq!(p.ok(&["info", "--shell"]), lines);
}

#[test]
fn env_edits_keep_the_rest_of_config_toml() {
    let p = Project::new();
    p.write(".cargo/config.toml", CONFIG_TOML);
    p.commit("cargo config");
    let deploy = ok(&p, &["deploy"]);
    assert!(
        !deploy.changes.iter().any(|c| c.contains("config.toml")),
        "{deploy}"
    );
    p.advance(60);
    assert_eq!(
        p.ok(&["config"]),
        "=== myapp Config Vars\nDATABASE_URL: postgres://localhost/dev [force]\nRUST_LOG:     info\n"
    );

    let set = ok(
        &p,
        &[
            "config",
            "set",
            "RUST_LOG=debug",
            "NEW_VAR=1",
            "DATABASE_URL=postgres://db/prod",
        ],
    );
    let after_set = p.read(".cargo/config.toml");
    assert_eq!(
        after_set,
        CONFIG_TOML
            .replace(r#"RUST_LOG = "info""#, r#"RUST_LOG = "debug""#)
            .replace(
                r#"{ value = "postgres://localhost/dev", force = true }"#,
                "{ value = \"postgres://db/prod\", force = true }\nNEW_VAR = \"1\""
            )
    );
    p.advance(60);

    let unset = ok(&p, &["config", "unset", "RUST_LOG"]);
    let after_unset = p.read(".cargo/config.toml");
    assert_eq!(
        after_unset,
        after_set.replace(
            "# How much to log.\nRUST_LOG = \"debug\"   # noisy in production\n",
            ""
        )
    );
    snap!(format!(
        "{set}--- .cargo/config.toml\n{after_set}\n{unset}--- .cargo/config.toml\n{after_unset}"
    ));

    // The release holds what the file holds, and the build still reads the file.
    assert_eq!(
        p.ok(&["config", "--json"]),
        "{\n  \"DATABASE_URL\": \"postgres://db/prod\",\n  \"NEW_VAR\": \"1\"\n}\n"
    );
}

#[test]
fn config_toml_is_created_when_missing() {
    let p = deployed();
    assert!(!p.exists(".cargo"));
    let set = ok(&p, &["config", "set", "MYVAR=42"]);
    assert!(
        set.changes.contains(&"+ .cargo/config.toml".to_owned()),
        "{set}"
    );
    assert_eq!(p.read(".cargo/config.toml"), "[env]\nMYVAR = \"42\"\n");
    p.advance(60);
    // A legacy `.cargo/config` is used when it is the only one.
    let q = Project::new();
    q.write(".cargo/config", "[build]\njobs = 1\n");
    q.commit("legacy config");
    q.ok(&["deploy"]);
    q.advance(60);
    q.ok(&["config", "set", "MYVAR=1"]);
    assert_eq!(
        q.read(".cargo/config"),
        "[build]\njobs = 1\n\n[env]\nMYVAR = \"1\"\n"
    );
    assert!(!q.exists(".cargo/config.toml"));
}

#[test]
fn invalid_names_are_refused() {
    let p = deployed();
    p.ok(&["config", "set", "MYVAR=42"]);
    p.advance(60);
    let runs = vec![
        refused(&p, &["config", "set", "1X=a"]),
        refused(&p, &["config", "set", "A-B=1"]),
        refused(&p, &["config", "set", "=x"]),
        refused(&p, &["config", "set", "NOEQUALS"]),
        refused(&p, &["config", "set", "OK=1", "A B=2"]),
        refused(&p, &["config", "set", "É=1"]),
        refused(&p, &["config", "unset", "1X"]),
        refused(&p, &["config", "get", "A-B"]),
    ];
    snap!(transcript(&runs));
    assert_eq!(p.release_files(), ["v1.toml", "v2.toml"]);
}

#[test]
fn a_name_given_twice_is_refused() {
    let p = deployed();
    let run = refused(&p, &["config", "set", "A=1", "B=2", "A=3"]);
    snap!(run);
}

#[test]
fn unsetting_a_var_not_set_is_refused() {
    let p = deployed();
    p.ok(&["config", "set", "MYVAR=42"]);
    p.advance(60);
    let runs = vec![
        refused(&p, &["config", "unset", "NOPE"]),
        refused(&p, &["config", "unset", "MYVAR", "NOPE", "ALSO_NOT"]),
        refused(&p, &["config", "get", "NOPE"]),
    ];
    snap!(transcript(&runs));
    assert_eq!(p.ok(&["config", "get", "MYVAR"]), "42\n");
}

#[test]
fn config_changes_before_the_first_release_are_refused() {
    let p = Project::new();
    assert_eq!(p.ok(&["config"]), "myapp has no config vars.\n");
    assert_eq!(p.ok(&["config", "--json"]), "{}\n");
    let set = refused(&p, &["config", "set", "A=1"]);
    assert!(
        set.stderr.starts_with("error: myapp has no releases yet"),
        "{set}"
    );
    refused(&p, &["config", "unset", "A"]);
}

/// Edits `[env]` by hand: one value changed, one added.
fn hand_edit(p: &Project) -> String {
    let text = p.read(".cargo/config.toml").replace(
        "MYVAR = \"42\"",
        "MYVAR = \"43\" # tried by hand\nEXTRA = \"yes\"",
    );
    p.write(".cargo/config.toml", &text);
    text
}

#[test]
fn a_hand_edit_is_refused_and_sync_discards_it() {
    let p = deployed();
    p.ok(&["config", "set", "MYVAR=42", "OTHER=1"]);
    p.advance(60);
    let edited = hand_edit(&p);

    let set = refused(&p, &["config", "set", "B=1"]);
    let unset = refused(&p, &["config", "unset", "OTHER"]);
    assert_eq!(
        p.read(".cargo/config.toml"),
        edited,
        "the edit is kept as the user left it"
    );
    // Reading still shows the release's config, not the edit.
    assert_eq!(p.ok(&["config", "get", "MYVAR"]), "42\n");
    p.advance(60);

    let sync = ok(&p, &["sync"]);
    let synced = p.read(".cargo/config.toml");
    assert_eq!(
        synced,
        "[env]\nMYVAR = \"42\" # tried by hand\nOTHER = \"1\"\n"
    );
    let again = ok(&p, &["sync"]);
    assert!(again.changes.is_empty(), "{again}");
    snap!(format!(
        "{}\n{sync}--- .cargo/config.toml\n{synced}\n{again}",
        transcript(&[set, unset])
    ));

    p.advance(60);
    ok(&p, &["config", "set", "B=1"]);
    assert_eq!(p.release_files().len(), 3);
}

#[test]
fn deploy_records_a_hand_edit_as_a_new_release() {
    let p = deployed();
    p.ok(&["config", "set", "MYVAR=42"]);
    p.advance(60);
    hand_edit(&p);
    refused(&p, &["config", "set", "B=1"]);

    let deploy = ok(&p, &["deploy"]);
    assert!(deploy.stdout.ends_with("done, v3\n"), "{deploy}");
    assert_eq!(
        p.ok(&["config", "--json"]),
        "{\n  \"EXTRA\": \"yes\",\n  \"MYVAR\": \"43\"\n}\n"
    );
    assert!(
        p.ok(&["run"])
            .starts_with("hello from v1 (MYVAR=Some(\"43\"),")
    );
    p.advance(60);
    // Now the edit is recorded, config changes go on from it.
    ok(&p, &["config", "unset", "EXTRA"]);
    assert_eq!(
        p.read(".cargo/config.toml"),
        "[env]\nMYVAR = \"43\" # tried by hand\n"
    );
}

#[test]
fn edits_that_keep_the_values_are_not_hand_edits() {
    let p = deployed();
    p.ok(&["config", "set", "MYVAR=42"]);
    p.advance(60);
    // Comments, a dotted spelling and the `{ value = … }` form hold the same values.
    let text = "env.MYVAR = { value = \"42\" } # same value\n\n[build]\njobs = 1 # mine\n";
    p.write(".cargo/config.toml", text);
    ok(&p, &["config", "set", "B=1"]);
    assert_eq!(
        p.read(".cargo/config.toml"),
        "env.B = \"1\"\nenv.MYVAR = { value = \"42\" } # same value\n\n[build]\njobs = 1 # mine\n"
    );
}

#[test]
fn sync_repairs_an_env_entry_that_is_not_a_string() {
    let p = deployed();
    p.ok(&["config", "set", "MYVAR=42"]);
    p.advance(60);
    p.write(".cargo/config.toml", "[env]\nMYVAR = 42\n");
    let set = refused(&p, &["config", "set", "B=1"]);
    assert!(set.stderr.contains("cargo release-log sync"), "{set}");
    ok(&p, &["sync"]);
    assert_eq!(p.read(".cargo/config.toml"), "[env]\nMYVAR = \"42\"\n");
}

#[cfg(unix)]
#[test]
fn a_created_config_toml_is_readable_as_usual() {
    use std::os::unix::fs::PermissionsExt as _;
    let p = deployed();
    p.ok(&["config", "set", "MYVAR=42"]);
    let mode = |rel: &str| std::fs::metadata(p.path(rel)).unwrap().permissions().mode() & 0o777;
    // Cargo.toml was written by the test, with the process's umask.
    assert_eq!(mode(".cargo/config.toml"), mode("Cargo.toml"));
    assert_eq!(mode(".releases/v2.toml"), mode("Cargo.toml"));
}

#[test]
fn sync_regenerates_env_and_current() {
    let p = deployed();
    p.ok(&["config", "set", "MYVAR=42", "KEEP=1"]);
    p.advance(60);
    let current = p.read(".releases/current");
    let config = p.read(".cargo/config.toml");

    std::fs::remove_file(p.path(".releases/current")).unwrap();
    p.write(".cargo/config.toml", "[env]\nKEEP = \"1\"\nSTRAY = \"x\"\n");
    let sync = ok(&p, &["sync"]);
    assert_eq!(p.read(".releases/current"), current);
    assert_eq!(
        p.read(".cargo/config.toml"),
        "[env]\nKEEP = \"1\"\nMYVAR = \"42\"\n"
    );
    assert_eq!(
        p.ok(&["config", "--json"]),
        "{\n  \"KEEP\": \"1\",\n  \"MYVAR\": \"42\"\n}\n"
    );
    let again = ok(&p, &["sync"]);
    assert!(again.changes.is_empty(), "{again}");
    snap!(transcript(&[sync, again]));
    // The regenerated text equals the one the config change wrote.
    assert_eq!(p.read(".cargo/config.toml"), config);
    assert_eq!(p.release_files(), ["v1.toml", "v2.toml"]);
}

#[test]
fn sync_with_no_releases_says_so_and_writes_nothing() {
    let p = Project::new();
    let run = ok(&p, &["sync"]);
    assert_eq!(run.stdout, "myapp has no releases; nothing to sync.\n");
    assert!(run.changes.is_empty(), "{run}");
}

/// Puts the workspace back to how it was before the newest release's
/// `[env]` and `current` were written, as if the process had been killed
/// right after writing the release file.
fn interrupt(p: &Project, current_before: &str, config_before: &str) {
    p.write(".releases/current", current_before);
    p.write(".cargo/config.toml", config_before);
}

#[test]
fn an_interrupted_change_is_finished_not_refused() {
    let p = deployed();
    p.ok(&["config", "set", "A=1"]);
    p.advance(60);
    let (current_v2, config_v2) = (p.read(".releases/current"), p.read(".cargo/config.toml"));
    p.ok(&["config", "set", "B=2"]);
    p.advance(60);
    interrupt(&p, &current_v2, &config_v2);

    let set = ok(&p, &["config", "set", "C=3"]);
    assert!(set.stdout.ends_with("done, v4\n"), "{set}");
    assert_eq!(
        p.read(".cargo/config.toml"),
        "[env]\nA = \"1\"\nB = \"2\"\nC = \"3\"\n"
    );
    assert!(p.read(".releases/current").contains("release = 4\n"));
    assert_eq!(
        vars(p.ok(&["info", "--shell"])),
        "A=1\nB=2\nC=3\n",
        "the interrupted change B=2 is kept"
    );
}

#[test]
fn sync_finishes_an_interrupted_change() {
    let p = deployed();
    p.ok(&["config", "set", "A=1"]);
    p.advance(60);
    let (current_v2, config_v2) = (p.read(".releases/current"), p.read(".cargo/config.toml"));
    p.ok(&["config", "set", "B=2"]);
    p.advance(60);
    let (current_v3, config_v3) = (p.read(".releases/current"), p.read(".cargo/config.toml"));
    interrupt(&p, &current_v2, &config_v2);

    let sync = ok(&p, &["sync"]);
    snap!(sync);
    assert_eq!(p.read(".releases/current"), current_v3);
    assert_eq!(p.read(".cargo/config.toml"), config_v3);
}

#[test]
fn a_hand_edit_after_an_interrupted_change_is_still_refused() {
    let p = deployed();
    p.ok(&["config", "set", "A=1"]);
    p.advance(60);
    let current_v2 = p.read(".releases/current");
    p.ok(&["config", "set", "B=2"]);
    p.advance(60);
    // Neither v2's config nor v3's: an edit made by hand.
    interrupt(&p, &current_v2, "[env]\nA = \"changed\"\n");
    let set = refused(&p, &["config", "set", "C=3"]);
    assert!(set.stderr.contains("A => changed"), "{set}");
}

#[test]
fn an_env_that_is_not_a_table_is_refused_before_anything_is_written() {
    let p = deployed();
    p.write(".cargo/config.toml", "env = \"oops\"\n");
    let run = refused(&p, &["config", "set", "A=1"]);
    assert!(
        run.stderr.contains("`env` is not a table of config vars"),
        "{run}"
    );
    assert_eq!(p.release_files(), ["v1.toml"]);
    let sync = ok(&p, &["sync"]);
    assert!(sync.stdout.starts_with("Regenerated [env]"), "{sync}");
    assert_eq!(p.read(".cargo/config.toml"), "");
    ok(&p, &["config", "set", "A=1"]);
    assert_eq!(p.read(".cargo/config.toml"), "[env]\nA = \"1\"\n");
}

#[test]
fn a_deploy_after_an_interrupted_change_keeps_that_change() {
    let p = deployed();
    let (current_v1, config_v1) = (p.read(".releases/current"), String::new());
    p.ok(&["config", "set", "A=1"]);
    interrupt(&p, &current_v1, &config_v1);
    p.ok(&["deploy"]);
    assert_eq!(vars(p.ok(&["info", "--shell"])), "A=1\n");
    assert_eq!(p.read(".cargo/config.toml"), "[env]\nA = \"1\"\n");
}

#[cfg(unix)]
#[test]
fn a_symlinked_config_toml_is_refused_and_its_target_untouched() {
    let p = deployed();
    let outside = p.root().parent().unwrap().join("outside.toml");
    fs_err::write(&outside, "# not the workspace's\n[env]\nA = \"1\"\n").unwrap();
    fs_err::create_dir_all(p.path(".cargo")).unwrap();
    std::os::unix::fs::symlink(&outside, p.path(".cargo/config.toml")).unwrap();
    for args in [
        &["deploy", "--allow-dirty"][..],
        &["config", "set", "B=2"],
        &["sync"],
    ] {
        let run = p.run(args);
        run.assert_refused();
        assert!(run.stderr.contains("is a symbolic link"), "{run}");
    }
    assert!(p.path(".cargo/config.toml").is_symlink());
    assert_eq!(
        fs_err::read_to_string(&outside).unwrap(),
        "# not the workspace's\n[env]\nA = \"1\"\n"
    );
}

#[test]
fn a_clone_without_env_keeps_the_releases_config() {
    let p = deployed();
    p.ok(&["config", "set", "A=1", "B=2"]);
    // A teammate's clone: the release files, but no .cargo/config.toml yet.
    std::fs::remove_file(p.path(".cargo/config.toml")).unwrap();
    std::fs::remove_file(p.path(".releases/current")).unwrap();
    ok(&p, &["config", "set", "C=3"]);
    assert_eq!(
        p.read(".cargo/config.toml"),
        "[env]\nA = \"1\"\nB = \"2\"\nC = \"3\"\n"
    );
    // The same for a deploy from a fresh clone.
    std::fs::remove_file(p.path(".cargo/config.toml")).unwrap();
    std::fs::remove_file(p.path(".releases/current")).unwrap();
    let deploy = ok(&p, &["deploy"]);
    assert!(!deploy.stdout.contains("Recording config vars"), "{deploy}");
    assert_eq!(vars(p.ok(&["config", "--shell"])), "A=1\nB=2\nC=3\n");
    // Where [env] was written before, removing it is a hand edit like any other.
    std::fs::remove_file(p.path(".cargo/config.toml")).unwrap();
    let set = refused(&p, &["config", "set", "D=4"]);
    assert!(set.stderr.contains("  - A (was 1)\n"), "{set}");
}

#[test]
fn config_warns_when_env_differs_from_the_release() {
    let p = deployed();
    p.ok(&["config", "set", "MYVAR=42"]);
    p.write(".cargo/config.toml", "[env]\nMYVAR = \"hand\"\n");
    let run = ok(&p, &["config", "get", "MYVAR"]);
    // The value is the release's, on stdout alone; the difference goes to stderr.
    assert_eq!(run.stdout, "42\n");
    assert_eq!(
        run.stderr,
        "warning: `[env]` in .cargo/config.toml differs from v2:\n  ~ MYVAR => hand (was 42)\n\
         `cargo release-log sync` discards the edit, `deploy` records it\n"
    );
}

#[test]
fn control_characters_in_values_are_shown_escaped() {
    let p = deployed();
    ok(&p, &["config", "set", "MULTI=line1\nline2\u{1b}[31m"]);
    let shown = ok(&p, &["config"]);
    assert_eq!(
        shown.stdout,
        "=== myapp Config Vars\nMULTI: line1\\nline2\\u{1b}[31m\n"
    );
    // The value itself is kept as given.
    assert_eq!(
        p.ok(&["config", "get", "MULTI"]),
        "line1\nline2\u{1b}[31m\n"
    );
}

#[test]
fn sync_in_a_fresh_clone_says_the_build_is_missing() {
    let p = deployed();
    std::fs::remove_dir_all(p.path(".releases/slugs")).unwrap();
    std::fs::remove_file(p.path(".releases/current")).unwrap();
    let run = ok(&p, &["sync"]);
    assert_eq!(
        run.stdout,
        "Switched .releases/current to v1\n\
         The executables of v1 are not stored here (slugs are not committed), \
         so `cargo release-log run` cannot start it; `cargo release-log deploy` builds \
         and records the checked-out commit\n"
    );
}

#[test]
fn a_value_that_looks_like_a_conflict_marker_is_just_a_value() {
    let p = deployed();
    ok(&p, &["config", "set", "A=x\n>>>>>>> y\n<<<<<<< z"]);
    assert_eq!(p.ok(&["config", "get", "A"]), "x\n>>>>>>> y\n<<<<<<< z\n");
    ok(&p, &["releases"]);
}
