//! `check`: a CI gate that fails on any drift or tampering and passes otherwise.

use fs_err as fs;

use crate::snap;
use crate::support::*;

/// v1 deploy, v2 `MYVAR=42`, v3 `OTHER=1`.
fn three_releases() -> Project {
    let p = Project::new();
    p.ok(&["deploy"]);
    p.advance(60);
    p.ok(&["config", "set", "MYVAR=42"]);
    p.advance(60);
    p.ok(&["config", "set", "OTHER=1"]);
    p.advance(60);
    p
}

/// `check`, expected to fail: exit 1, and nothing written.
fn failing(p: &Project) -> Run {
    let run = p.run(&["check"]);
    assert_eq!(run.code, 1, "{run}");
    assert!(run.changes.is_empty(), "{run}");
    run
}

#[test]
fn a_clean_ledger_and_workspace_pass() {
    let p = three_releases();
    let run = ok(&p, &["check"]);
    assert!(run.changes.is_empty());
    snap!(run);
    snap!(p.ok(&["check", "--json"]));
}

#[test]
fn a_hand_edit_of_env_fails() {
    let p = three_releases();
    p.write(".cargo/config.toml", "[env]\nMYVAR = \"43\"\nNEW = \"x\"\n");
    snap!(failing(&p));
}

#[test]
fn a_hand_cargo_add_fails() {
    let p = Project::with_crates(
        REGISTRY,
        &[
            (
                "Cargo.toml",
                "[package]\nname = \"myapp\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\n",
            ),
            ("src/main.rs", MAIN_RS),
        ],
    );
    p.ok(&["deploy"]);
    p.cargo(&["add", "--offline", "itoa@1.0.0"]);
    let run = failing(&p);
    assert_eq!(
        run.stdout,
        "add-on itoa: Cargo.toml and Cargo.lock have itoa 1.0.1, which the latest build (v1) lacks\n"
    );
    // Recorded as a release, it is no longer drift.
    p.commit("itoa");
    p.ok(&["deploy"]);
    ok(&p, &["check"]);
}

#[test]
fn a_one_byte_change_in_an_old_release_breaks_the_next_link() {
    let p = three_releases();
    let v2 = p.read(".releases/v2.toml");
    p.write(
        ".releases/v2.toml",
        &v2.replace("MYVAR = \"42\"", "MYVAR = \"43\""),
    );
    let run = failing(&p);
    assert_eq!(
        run.stdout,
        "v2.toml: it changed after v3 was recorded (v3's link to it, its previous-digest, is broken)\n"
    );
}

#[test]
fn a_deleted_middle_release_is_missing() {
    let p = three_releases();
    fs::remove_file(p.path(".releases/v2.toml")).unwrap();
    let run = failing(&p);
    assert_eq!(
        run.stdout,
        "v2.toml: v2.toml is missing between v1.toml and v3.toml: the advanced tier keeps every release (unless they were pruned while the tier was basic)\n"
    );
}

#[test]
fn releases_made_on_two_branches_are_named_after_the_merge() {
    let p = Project::new();
    p.ok(&["deploy"]);
    let commit_all = |message: &str| {
        p.git(&["add", "-A"]);
        p.git(&["commit", "-q", "-m", message]);
    };
    commit_all("v1");
    p.git(&["checkout", "-q", "-b", "feature"]);
    p.advance(60);
    p.ok(&["config", "set", "A=1"]);
    commit_all("A on feature");
    p.git(&["checkout", "-q", "main"]);
    p.ok(&["sync"]);
    p.advance(60);
    p.ok(&["config", "set", "B=1"]);
    p.advance(60);
    p.ok(&["config", "set", "C=1"]);
    commit_all("B and C on main");
    let output = p
        .program("git")
        .args(["merge", "-q", "feature"])
        .output()
        .unwrap();
    assert!(!output.status.success(), "the merge conflicts");
    let conflict = failing(&p);
    // Resolved by keeping main's v2 and renumbering feature's as v4.
    let theirs = p.git(&["show", "feature:.releases/v2.toml"]) + "\n";
    p.git(&[
        "checkout",
        "--ours",
        ".releases/v2.toml",
        ".cargo/config.toml",
    ]);
    p.write(
        ".releases/v4.toml",
        &theirs.replace("version = 2", "version = 4"),
    );
    let fork = failing(&p);
    assert!(
        fork.stdout
            .contains("v4.toml: v4 follows v1, as v2 does: releases were recorded on two branches"),
        "{fork}"
    );
    snap!(transcript(&[conflict, fork]));
}

#[test]
fn missing_and_corrupted_slugs() {
    let p = three_releases();
    let current = p.read(".releases/current");
    let slug = current
        .lines()
        .find_map(|l| l.strip_prefix("myapp = \""))
        .unwrap()
        .trim_end_matches('"')
        .to_owned();
    let path = p.path(&format!(".releases/{slug}"));
    let mut bytes = fs::read(&path).unwrap();
    bytes.push(0);
    fs::write(&path, &bytes).unwrap();
    let corrupt = failing(&p);
    assert!(corrupt.stdout.contains(": its bytes hash to "), "{corrupt}");
    fs::remove_file(&path).unwrap();
    let missing = failing(&p);
    assert!(
        missing
            .stdout
            .contains("the executable `myapp` of v3 is not stored here; `run` cannot start the current release"),
        "{missing}"
    );
    snap!(transcript(&[corrupt, missing]));
}

#[test]
fn a_crlf_checkout_keeps_the_chain_thanks_to_gitattributes() {
    let p = three_releases();
    p.git(&["add", "-A"]);
    p.git(&["commit", "-q", "-m", "releases"]);
    assert!(p.exists(".releases/.gitattributes"));
    let clone = |name: &str| {
        let dir = p.root().parent().unwrap().join(name);
        let output = clean(std::process::Command::new("git"))
            .args(["-c", "core.autocrlf=true", "clone", "-q"])
            .arg(p.root())
            .arg(&dir)
            .output()
            .unwrap();
        assert!(output.status.success());
        let mut cmd = p.command(&["check"]);
        let output = cmd.current_dir(&dir).output().unwrap();
        (dir, output)
    };
    let (dir, output) = clone("crlf-clone");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    assert!(
        !fs::read_to_string(dir.join(".releases/v1.toml"))
            .unwrap()
            .contains('\r')
    );

    // Without the attributes, the conversion is named, not every link.
    p.git(&["rm", "-q", ".releases/.gitattributes"]);
    p.git(&["commit", "-q", "-m", "no attributes"]);
    let (_, output) = clone("crlf-clone-2");
    assert_eq!(output.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(stdout.lines().count(), 3 + 1, "{stdout}");
    assert!(
        stdout
            .lines()
            .take(3)
            .all(|l| l.contains("line endings were converted")),
        "{stdout}"
    );
}

#[test]
fn a_clock_going_backwards_is_a_warning() {
    let p = Project::new();
    p.ok(&["deploy"]);
    p.advance(-3600);
    p.ok(&["config", "set", "A=1"]);
    let run = ok(&p, &["check"]);
    assert!(
        run.stdout.starts_with("warning: v2.toml: it was recorded at 2026-01-15T03:00:00-08:00, before the release it follows"),
        "{run}"
    );
}
