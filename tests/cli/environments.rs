//! Environments and `promote`: staging and production, each with its own history and config.

use crate::support::*;

/// Replaces `from` with `to` in Cargo.toml and commits it as `message`.
fn edit_manifest(p: &Project, from: &str, to: &str, message: &str) {
    let manifest = p.read("Cargo.toml");
    assert!(manifest.contains(from), "{manifest}");
    p.write("Cargo.toml", &manifest.replace(from, to));
    p.commit(message);
}

/// What a read command printed as JSON, unredacted (digests included).
fn json(p: &Project, args: &[&str]) -> serde_json::Value {
    let output = p.command(args).output().unwrap();
    assert!(output.status.success(), "{args:?}: {output:?}");
    serde_json::from_slice(&output.stdout).unwrap()
}

fn sha256s(info: &serde_json::Value) -> Vec<String> {
    info["code"]["slug"]["executables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["sha256"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn staging_to_production() {
    let p = Project::with_pipeline();
    let env_before = p.exists(".cargo/config.toml");
    let deploy = ok(&p, &["--env", "staging", "deploy"]);
    assert!(deploy.stdout.contains("done, v1"), "{deploy}");
    change_code(&p, "v2");
    ok(&p, &["--env", "staging", "deploy"]);
    ok(
        &p,
        &["--env", "staging", "config", "set", "MYVAR=staging-value"],
    );
    p.run(&[
        "--env",
        "production",
        "config",
        "set",
        "MYVAR=production-value",
    ])
    .assert_refused_nothing();

    // Production has no release to set config on yet: the first promotion
    // needs the vars staging's release has, or `--allow-missing`.
    let missing = refused(&p, &["promote", "staging", "production"]);
    assert_eq!(
        missing.stderr,
        "error: `production` lacks config var that staging v3 has: MYVAR\n\
         help: `production` has no release yet to set them on: promote with `--allow-missing`, \
         then set them (`cargo release-log --env production config set NAME=…`)\n"
    );
    let promoted = ok(&p, &["promote", "staging", "production", "--allow-missing"]);
    insta::assert_snapshot!(promoted, @r"
    $ cargo release-log promote staging production --allow-missing
    exit: 0
    --- stdout
    Promoting myapp staging v3 to production... done, v1
    production v1 runs the executables of staging v3 (same sha256, not rebuilt) with its own config vars.
    It lacks config var that staging v3 has: MYVAR.
    --- files
    + .releases/environments/production/.gitignore
    + .releases/environments/production/current
    + .releases/environments/production/v1.toml
    ");
    ok(
        &p,
        &[
            "--env",
            "production",
            "config",
            "set",
            "MYVAR=production-value",
        ],
    );

    // The same executables, byte for byte, in both environments.
    let staging = json(&p, &["--env", "staging", "info", "--json"]);
    let production = json(&p, &["--env", "production", "info", "--json"]);
    assert_eq!(sha256s(&staging), sha256s(&production));
    assert_eq!(staging["code"]["commit"], production["code"]["commit"]);
    assert_eq!(production["kind"], "config");
    let promotion = json(&p, &["--env", "production", "info", "v1", "--json"]);
    assert_eq!(promotion["kind"], "promote");
    assert_eq!(
        promotion["change"]
            .as_str()
            .unwrap()
            .split(' ')
            .take(3)
            .collect::<Vec<_>>(),
        ["Promote", "staging", "v3"]
    );
    assert_eq!(promotion["promoted-from"]["environment"], "staging");
    assert_eq!(promotion["promoted-from"]["version"], 3);

    // Each runs with its own config vars; the default environment's `[env]`
    // never holds another environment's.
    assert_eq!(
        p.ok(&["--env", "production", "run"]),
        "hello from v2 (MYVAR=Some(\"production-value\"), args=[])\n"
    );
    assert_eq!(
        p.ok(&["--env", "staging", "run"]),
        "hello from v2 (MYVAR=Some(\"staging-value\"), args=[])\n"
    );
    assert_eq!(p.exists(".cargo/config.toml"), env_before);
    assert_eq!(
        p.ok(&["--env", "production", "config", "get", "MYVAR"]),
        "production-value\n"
    );
    let shell = vars(p.ok(&["--env", "production", "config", "--shell"]));
    assert_eq!(shell, "MYVAR=production-value\n");

    // Production rolls back on its own; staging stays.
    let rollback = ok(&p, &["--env", "production", "rollback"]);
    assert!(rollback.stdout.contains("Rolled back to v1"), "{rollback}");
    assert_eq!(
        json(&p, &["--env", "staging", "info", "--json"])["version"],
        3,
        "staging stays"
    );
    assert_eq!(
        p.ok(&["--env", "production", "run"]),
        "hello from v2 (MYVAR=None, args=[])\n"
    );

    // Production takes promotions only.
    let deploy = refused(&p, &["--env", "production", "deploy"]);
    assert_eq!(
        deploy.stderr,
        "error: `production` takes its releases by promotion from `staging` only\n\
         help: ship to it with `cargo release-log promote staging production`\n"
    );
    refused(&p, &["--env", "production", "addons", "add", "itoa"]);
    // … and from staging only.
    let wrong = refused(&p, &["promote", "default", "production"]);
    assert!(
        wrong
            .stderr
            .starts_with("error: `production` takes promotions from `staging` only"),
        "{wrong}"
    );

    // Once production has releases, the vars it lacks (the rollback left
    // MYVAR out) are set there first.
    ok(&p, &["--env", "staging", "config", "set", "NEWVAR=1"]);
    let run = refused(&p, &["promote", "staging", "production"]);
    assert_eq!(
        run.stderr,
        "error: `production` lacks config vars that staging v4 has: MYVAR, NEWVAR\n\
         help: set them first (`cargo release-log --env production config set MYVAR=…`), or \
         pass `--allow-missing` to promote without them\n"
    );

    // Each environment numbers its own releases, and `check` verifies them all.
    let history = p.ok(&["--env", "production", "releases"]);
    assert!(history.contains("v3  "), "{history}");
    let check = ok(&p, &["check", "--json"]);
    let report: serde_json::Value = serde_json::from_str(&check.stdout).unwrap();
    assert_eq!(report["environments"]["production"], 3);
    assert_eq!(report["environments"]["staging"], 4);
    assert!(
        !p.exists(".releases/v1.toml"),
        "the default environment has no release"
    );
}

#[test]
fn a_failed_release_is_not_promoted() {
    let p = Project::with_pipeline();
    ok(&p, &["--env", "staging", "deploy"]);
    break_the_build(&p, "broken");
    let failed = p.run(&["--env", "staging", "deploy"]);
    assert_ne!(failed.code, 0);
    let run = refused(&p, &["promote", "staging", "production", "v2"]);
    assert_eq!(
        run.stderr.lines().next().unwrap(),
        "error: cannot promote staging v2: its build failed"
    );
    // A release that does not exist names those that do.
    let run = refused(&p, &["promote", "staging", "production", "v9"]);
    assert!(
        run.stderr.starts_with("error: release v9 does not exist"),
        "{run}"
    );
    // The current one, v1, goes.
    let run = ok(&p, &["promote", "staging", "production"]);
    assert!(
        run.stdout.contains("staging v1 to production... done, v1"),
        "{run}"
    );
}

#[test]
fn unknown_environments_are_refused() {
    let p = Project::with_pipeline();
    let run = refused(&p, &["--env", "prodution", "deploy"]);
    assert_eq!(
        run.stderr,
        "error: unknown environment `prodution`; the environments are default, production, staging\n\
         help: declare it in Cargo.toml, as `[workspace.metadata.release-log.environments.NAME]`\n"
    );
    let run = refused(&p, &["--env", "Prod/../x", "releases"]);
    assert!(
        run.stderr.starts_with("error: invalid environment name"),
        "{run}"
    );
    // The variable selects one as `--env` does.
    p.set_env(vec![("CARGO_RELEASE_LOG_ENV".into(), "nope".into())]);
    refused(&p, &["releases"]);
}

#[test]
fn environments_share_slugs_that_retention_keeps() {
    let p = Project::with_pipeline();
    // Staging keeps one step; production keeps what it runs.
    edit_manifest(
        &p,
        "[package.metadata.release-log.environments.staging]\n",
        "[package.metadata.release-log.environments.staging]\ntier = \"basic\"\n",
        "basic staging",
    );
    ok(&p, &["--env", "staging", "deploy"]);
    ok(&p, &["promote", "staging", "production"]);
    let first = sha256s(&json(&p, &["--env", "production", "info", "--json"]));
    for what in ["v2", "v3", "v4"] {
        change_code(&p, what);
        ok(&p, &["--env", "staging", "deploy"]);
    }
    // Staging pruned v1 and its slug's other users, but production still runs it.
    assert!(!p.exists(".releases/environments/staging/v1.toml"));
    for sha in &first {
        assert!(
            p.exists(&format!(".releases/slugs/{sha}")),
            "slug {sha} was pruned"
        );
    }
    assert_eq!(
        p.ok(&["--env", "production", "run"]),
        "hello from v1 (MYVAR=None, args=[])\n"
    );
    ok(&p, &["check"]);
}

trait NothingWritten {
    fn assert_refused_nothing(&self);
}

impl NothingWritten for Run {
    /// A change to an environment with no release yet is refused, writing nothing.
    fn assert_refused_nothing(&self) {
        let run = self;
        assert_ne!(run.code, 0, "{run}");
        assert!(run.changes.is_empty(), "{run}");
        assert_eq!(
            run.stderr,
            "error: `production` has no releases yet; it takes them by promotion from `staging`\n\
             help: `cargo release-log promote staging production` ships staging's current release\n"
        );
    }
}

#[test]
fn the_pipeline_side_by_side_and_diffs_across_environments() {
    let p = Project::with_pipeline();
    ok(&p, &["--env", "staging", "deploy"]);
    ok(&p, &["promote", "staging", "production"]);
    change_code(&p, "v2");
    ok(&p, &["--env", "staging", "deploy"]);
    p.advance(60);
    let side_by_side = ok(&p, &["releases", "--all-envs"]);
    insta::assert_snapshot!(side_by_side.stdout, @r"
    Env         Rel  Change                        By               When
    ----------  ---  ----------------------------  ---------------  ------------
    default     -    (no releases)
    production  v1   Promote staging v1 (4625f89)  jim@example.com  1 minute ago
    staging     v2   Deploy 02e06e4                jim@example.com  1 minute ago

    staging has 1 commit that production does not run yet:
      02e06e4 say v2
    ");
    let all: serde_json::Value = json(&p, &["releases", "--all-envs", "--json"]);
    assert_eq!(all[1]["environment"], "production");
    assert_eq!(all[1]["promote-from"], "staging");
    assert_eq!(all[1]["not-promoted"][0]["subject"], "say v2");

    let diff = ok(&p, &["diff", "production", "staging"]);
    assert!(
        diff.stdout.starts_with("=== production v1 => staging v2\nCode:   4625f89 => 02e06e4\n        + 02e06e4 say v2\n"),
        "{diff}"
    );
    assert!(diff.stdout.ends_with("Slug:   ~ myapp\n"), "{diff}");
    let same = ok(&p, &["diff", "staging:v1", "production:v1"]);
    insta::assert_snapshot!(same.stdout, @r"
    === staging v1 => production v1
    Code:   4625f89, unchanged
    Config: unchanged
    Addons: unchanged
    Slug:   unchanged
    ");
    let run = p.run(&["diff", "staging:vx"]);
    assert_eq!(run.code, 2, "{run}");
}

/// A ledger recorded before environments existed (`tests/fixtures/legacy-ledger`:
/// a deploy and two config changes of [`Project::new`]'s commit) is the
/// default environment as it is: no migration, no change to its files.
#[test]
fn a_ledger_from_before_environments_keeps_working_unchanged() {
    let p = Project::new();
    let fixture =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/legacy-ledger");
    for name in [
        "v1.toml",
        "v2.toml",
        "v3.toml",
        ".gitignore",
        ".gitattributes",
    ] {
        p.write(
            &format!(".releases/{name}"),
            &fs_err::read_to_string(fixture.join(name)).unwrap(),
        );
    }
    p.write(
        ".cargo/config.toml",
        &fs_err::read_to_string(fixture.join("config.toml")).unwrap(),
    );
    assert_eq!(
        p.git(&["rev-parse", "--short", "HEAD"]),
        "7d38e88",
        "the fixture's commit"
    );
    p.git(&["add", "-f", ".releases", ".cargo"]);
    p.commit("the ledger, as a team commits it");
    let before = p.snapshot_files();

    let history = ok(&p, &["releases"]);
    insta::assert_snapshot!(history.stdout, @r"
    Rel   Change            By               When
    ----  ----------------  ---------------  -------------
    v3    Config add A      jim@example.com  0 seconds ago
    v2    Config add MYVAR  jim@example.com  0 seconds ago
    v1    Deploy 7d38e88    jim@example.com  0 seconds ago
    ");
    assert_eq!(p.ok(&["config", "get", "MYVAR"]), "42\n");
    ok(&p, &["check"]);

    // It goes on growing and rolling back as the default environment.
    ok(&p, &["deploy", "--force"]);
    ok(&p, &["config", "set", "B=2"]);
    let back = ok(&p, &["rollback"]);
    assert!(back.stdout.starts_with("Rolled back to v4\n"), "{back}");
    assert_eq!(
        p.ok(&["run"]),
        "hello from v1 (MYVAR=Some(\"42\"), args=[])\n"
    );
    let check = ok(&p, &["check", "--json"]);
    assert!(check.stdout.contains("\"current\": 6"), "{check}");
    assert!(!p.exists(".releases/environments"));
    let after = p.snapshot_files();
    for (path, bytes) in &before {
        if path.starts_with(".releases/v") || path == ".releases/.gitattributes" {
            assert_eq!(after.get(path), Some(bytes), "{path} changed");
        }
    }
    // The ignores a newer version needs are added at the end, nothing else changes.
    let gitignore = &after[".releases/.gitignore"];
    assert!(gitignore.starts_with(&before[".releases/.gitignore"]));
    assert!(String::from_utf8_lossy(gitignore).ends_with("/.journal/\n"));
}

#[cfg(unix)]
#[test]
fn a_linked_environments_folder_is_refused() {
    let p = Project::with_pipeline();
    ok(&p, &["--env", "staging", "deploy"]);
    let outside = p.scratch().join("elsewhere");
    fs_err::create_dir_all(outside.join("production")).unwrap();
    std::os::unix::fs::symlink(&outside, p.path(".releases/environments-link")).unwrap();
    fs_err::rename(p.path(".releases/environments"), p.scratch().join("moved")).unwrap();
    fs_err::rename(
        p.path(".releases/environments-link"),
        p.path(".releases/environments"),
    )
    .unwrap();
    let run = refused(&p, &["--env", "production", "releases"]);
    assert!(run.stderr.contains("link"), "{run}");
    refused(&p, &["promote", "staging", "production"]);
    assert!(
        fs_err::read_dir(outside.join("production"))
            .unwrap()
            .next()
            .is_none()
    );
}

#[test]
fn check_names_a_broken_environment_by_its_files() {
    let p = Project::with_pipeline();
    ok(&p, &["--env", "staging", "deploy"]);
    ok(&p, &["promote", "staging", "production"]);
    ok(&p, &["--env", "production", "config", "set", "A=1"]);
    assert_eq!(
        p.ok(&["check"]),
        "myapp: 3 releases checked, none in the default environment; the ledger is intact.\n  \
         production: v2 current\n  staging: v1 current\n"
    );
    // A hand edit of an older production release breaks its chain.
    let v1 = p.read(".releases/environments/production/v1.toml");
    p.write(
        ".releases/environments/production/v1.toml",
        &v1.replace("by = \"jim@example.com\"", "by = \"mallory@example.com\""),
    );
    let run = p.run(&["check"]);
    assert_eq!(run.code, 1, "{run}");
    assert_eq!(
        run.stdout,
        ".releases/environments/production/v1.toml: it changed after v2 was recorded \
         (v2's link to it, its previous-digest, is broken)\n"
    );
    // Staging's own check does not look at production.
    ok(&p, &["--env", "staging", "check"]);
}

#[test]
fn init_writes_an_environments_tier_into_its_own_table() {
    let p = Project::with_pipeline();
    let run = ok(&p, &["--env", "staging", "init", "--tier", "basic"]);
    assert!(
        run.stdout
            .contains("[package.metadata.release-log.environments.staging]"),
        "{run}"
    );
    assert!(
        p.read("Cargo.toml").ends_with(
            "[package.metadata.release-log.environments.staging]\ntier = \"basic\"\n\n\
             [package.metadata.release-log.environments.production]\npromote-from = \"staging\"\n"
        ),
        "{}",
        p.read("Cargo.toml")
    );
    assert!(
        !p.read("Cargo.toml")
            .contains("[package.metadata.release-log]\n")
    );
}

#[test]
fn promote_fetches_from_the_slug_store_the_source_shares_through() {
    let p = Project::with_pipeline();
    edit_manifest(
        &p,
        "[package.metadata.release-log.environments.staging]\n",
        "[package.metadata.release-log.environments.staging]\nslug-store = \"../store\"\n",
        "staging shares its slugs",
    );
    // Production shares its own slugs elsewhere, which lacks staging's.
    edit_manifest(
        &p,
        "promote-from = \"staging\"\n",
        "promote-from = \"staging\"\nslug-store = \"../production-store\"\n",
        "production shares its slugs elsewhere",
    );
    fs_err::create_dir(p.scratch().join("store")).unwrap();
    fs_err::create_dir(p.scratch().join("production-store")).unwrap();
    let deploy = ok(&p, &["--env", "staging", "deploy"]);
    assert!(deploy.stdout.contains("Uploaded myapp"), "{deploy}");
    // Another machine: the slug is not here, only in staging's store.
    fs_err::remove_dir_all(p.path(".releases/slugs")).unwrap();
    let run = ok(&p, &["promote", "staging", "production"]);
    assert!(run.stdout.starts_with("Fetched myapp"), "{run}");
    assert_eq!(
        p.ok(&["--env", "production", "run"]),
        "hello from v1 (MYVAR=None, args=[])\n"
    );
}

#[test]
fn promote_runs_the_targets_own_release_command() {
    let p = Project::with_pipeline();
    let manifest = p.read("Cargo.toml");
    // Only production has a release phase: the promoted executable itself,
    // told which release it is.
    p.write(
        "Cargo.toml",
        &format!("{manifest}release-command = [\"myapp\", \"exit=0\"]\n"),
    );
    p.commit("production migrates");
    let staging = ok(&p, &["--env", "staging", "deploy"]);
    assert!(!staging.stderr.contains("hello"), "{staging}");
    assert!(
        !p.read(".releases/environments/staging/v1.toml")
            .contains("release-phase")
    );
    let promoted = ok(&p, &["promote", "staging", "production"]);
    assert!(
        promoted
            .stderr
            .contains("hello from v1 (MYVAR=None, args=[\"exit=0\"])"),
        "{promoted}"
    );
    let v1 = p.read(".releases/environments/production/v1.toml");
    assert!(v1.contains("[release-phase]\nstatus = \"passed\""), "{v1}");
    assert_eq!(
        p.ok(&["--env", "production", "releases", "output"]),
        "hello from v1 (MYVAR=None, args=[\"exit=0\"])\n"
    );
}

#[test]
fn gc_with_keep_slugs_keeps_what_another_environment_runs() {
    let p = Project::with_pipeline();
    edit_manifest(
        &p,
        "[package.metadata.release-log.environments.staging]\n",
        "[package.metadata.release-log]\nkeep-slugs = 1\n\n\
             [package.metadata.release-log.environments.staging]\n",
        "keep one slug here",
    );
    ok(&p, &["--env", "staging", "deploy"]);
    change_code(&p, "v2");
    ok(&p, &["deploy"]);
    change_code(&p, "v3");
    ok(&p, &["deploy"]);
    ok(&p, &["gc"]);
    assert_eq!(
        p.ok(&["--env", "staging", "run"]),
        "hello from v1 (MYVAR=None, args=[])\n"
    );
}
