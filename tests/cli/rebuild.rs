//! `rebuild` of a release built from manifests that were not committed (an
//! add-on release): the copies kept in `.releases/manifests/` go into the
//! worktree, so it reproduces byte for byte here and in another clone; a
//! missing or altered copy is refused before anything is built.

use std::path::Path;

use fs_err as fs;

use crate::support::*;

const MANIFEST: &str = "[package]\nname = \"myapp\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\nmemcache = \"0.1\"\n";

const MAIN: &str = "fn main() { println!(\"memcache {}\", memcache::VERSION); }\n";

/// `myapp` in the folder `dir` of its git repository (`""`: at its top),
/// printing the memcache it was built with: v1 runs memcache 0.1.0, v2 is
/// `addons:add memcache@0.2.0`, v3 sets a config var. Then only `.releases/`
/// is committed: the commit lacks cargo's edit of Cargo.toml and Cargo.lock.
fn addon_release(dir: &str) -> Project {
    let at = |file: &str| format!("{dir}{}{file}", if dir.is_empty() { "" } else { "/" });
    let (manifest, main, ignore) = (at("Cargo.toml"), at("src/main.rs"), at(".gitignore"));
    let p = Project::with_crates(
        REGISTRY,
        &[
            (manifest.as_str(), MANIFEST),
            (main.as_str(), MAIN),
            (ignore.as_str(), "/target\n"),
        ],
    );
    p.cargo(&["update", "--offline", "--manifest-path", &manifest]);
    p.cargo(&[
        "update",
        "--offline",
        "--manifest-path",
        &manifest,
        "memcache",
        "--precise",
        "0.1.0",
    ]);
    p.commit("pin memcache 0.1.0");
    let tool = |args: &[&str]| {
        let mut all = vec!["--manifest-path", &manifest];
        all.extend_from_slice(args);
        p.ok(&all);
    };
    tool(&["deploy"]);
    p.advance(60);
    tool(&["addons:add", "memcache@0.2.0"]);
    p.advance(60);
    tool(&["config", "set", "MYVAR=1"]);
    p.advance(60);
    p.git(&["add", &at(".releases")]);
    p.git(&["commit", "-q", "-m", "the ledger, not the manifests"]);
    let edited = p.git(&["diff", "--name-only", "--", &manifest, &at("Cargo.lock")]);
    assert_eq!(edited, format!("{}\n{manifest}", at("Cargo.lock")));
    p
}

/// The sha256 v2 records for `myapp`.
fn recorded(p: &Project, dir: &str) -> String {
    let v2 = p.read(&format!("{dir}.releases/v2.toml"));
    regex::Regex::new(r#"sha256 = "([0-9a-f]{64})""#)
        .unwrap()
        .captures(&v2)
        .unwrap()[1]
        .to_owned()
}

/// The sha256 of the `myapp` stored as `sha` in the workspace at `root`.
fn stored(root: &Path, sha: &str) -> String {
    sha256_hex(&fs::read(root.join(".releases/slugs").join(sha).join("myapp")).unwrap())
}

/// The copy of v2's uncommitted `file`, from the workspace root.
fn copy_of(p: &Project, dir: &str, file: &str) -> String {
    let v2 = p.read(&format!("{dir}.releases/v2.toml"));
    let pattern = format!(r#""?{}"? = "sha256:([0-9a-f]{{64}})""#, regex::escape(file));
    let hex = &regex::Regex::new(&pattern)
        .unwrap()
        .captures(&v2)
        .unwrap_or_else(|| panic!("no {file} in v2:\n{v2}"))[1];
    format!(".releases/manifests/{hex}.toml")
}

#[test]
fn an_addon_release_built_from_uncommitted_manifests_is_reproduced() {
    let p = addon_release("");
    let sha = recorded(&p, "");
    fs::remove_dir_all(p.path(".releases/slugs")).unwrap();
    let rebuild = ok(&p, &["rebuild", "v2"]);
    assert!(
        rebuild
            .stdout
            .contains("myapp: sha256 [SHA] matches the record; stored"),
        "{rebuild}"
    );
    assert!(
        rebuild
            .stdout
            .contains("v2 can be run and rolled back to here."),
        "{rebuild}"
    );
    assert!(!rebuild.stdout.contains("may not reproduce"), "{rebuild}");
    assert!(
        rebuild
            .changes
            .iter()
            .any(|c| c == "+ .releases/slugs/[SHA256]/myapp"),
        "{rebuild}"
    );
    assert_eq!(stored(&p.path(""), &sha), sha, "the same bytes as v2 ran");
    assert_eq!(p.git(&["worktree", "list"]).lines().count(), 1);
    // The worktree had its own copies: the workspace's edit is as it was.
    assert!(p.read("Cargo.toml").contains("memcache = \"0.2.0\""));
    assert_eq!(p.ok(&["run"]), "memcache 0.2.0\n");
}

#[test]
fn another_clone_reproduces_an_addon_release_from_the_committed_copies() {
    let p = addon_release("");
    let sha = recorded(&p, "");
    let other = p.clone_repo("other");
    assert!(
        !fs::read_to_string(other.join("Cargo.toml"))
            .unwrap()
            .contains("0.2.0"),
        "the clone has the commit's manifests"
    );
    assert!(!other.join(".releases/slugs").join(&sha).exists());
    let (code, stdout, stderr) = p.run_in(&other, &["rebuild", "v2"], &[]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.contains("myapp: sha256 [SHA] matches the record; stored"),
        "{stdout}"
    );
    assert_eq!(stored(&other, &sha), sha, "the same bytes as v2 ran");
    let (code, stdout, stderr) = p.run_in(&other, &["run"], &[]);
    assert_eq!((code, stdout.as_str()), (0, "memcache 0.2.0\n"), "{stderr}");
    p.advance(60);
    let (code, stdout, stderr) = p.run_in(&other, &["rollback", "v2"], &[]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.starts_with("Rolled back to v2"), "{stdout}");
    let (code, stdout, stderr) = p.run_in(&other, &["run"], &[]);
    assert_eq!((code, stdout.as_str()), (0, "memcache 0.2.0\n"), "{stderr}");
}

#[test]
fn a_workspace_in_a_subfolder_of_its_repository_is_reproduced_in_another_clone() {
    let p = addon_release("app");
    let sha = recorded(&p, "app/");
    let other = p.clone_repo("other").join("app");
    let (code, stdout, stderr) = p.run_in(&other, &["rebuild", "v2"], &[]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.contains("myapp: sha256 [SHA] matches the record; stored"),
        "{stdout}"
    );
    assert_eq!(stored(&other, &sha), sha, "the same bytes as v2 ran");
    let (code, stdout, stderr) = p.run_in(&other, &["run"], &[]);
    assert_eq!((code, stdout.as_str()), (0, "memcache 0.2.0\n"), "{stderr}");
}

#[test]
fn a_missing_or_altered_copy_is_refused_before_building() {
    let p = addon_release("");
    fs::remove_dir_all(p.path(".releases/slugs")).unwrap();
    let lock = copy_of(&p, "", "Cargo.lock");
    let kept = p.read(&lock);

    fs::remove_file(p.path(&lock)).unwrap();
    let missing = refused(&p, &["rebuild", "v2"]);
    assert_eq!(missing.code, 1, "{missing}");
    let expected = format!(
        "error: cannot rebuild v2: it was built with an uncommitted Cargo.lock, whose copy \
         `{}` is not here; the copy comes with git from the clone that made v2\n",
        redact(&lock, p.root())
    );
    assert!(missing.stderr.starts_with(&expected), "{missing}");
    assert!(missing.stderr.contains("\nhelp: "), "{missing}");
    assert!(!missing.stderr.contains("Compiling"), "{missing}");

    // Same name, other bytes: not what v2 was built with.
    p.write(&lock, &kept.replace("0.2.0", "0.1.1"));
    let altered = refused(&p, &["rebuild", "v2"]);
    assert_eq!(altered.code, 1, "{altered}");
    assert!(
        altered.stderr.starts_with(&format!(
            "error: cannot rebuild v2: it was built with an uncommitted Cargo.lock, whose copy \
             `{}` does not hold it (its bytes do not hash to its name)",
            redact(&lock, p.root())
        )),
        "{altered}"
    );
    assert!(!altered.stderr.contains("Compiling"), "{altered}");

    // A release file comes from any clone: one naming a path outside the
    // workspace, with a copy that verifies, writes nothing there.
    p.write(&lock, &kept);
    let outside = p.scratch().join("outside").join("Cargo.toml");
    let v2 = p.read(".releases/v2.toml");
    let hostile = v2.replacen(
        "\"Cargo.lock\" = ",
        &format!("{:?} = ", outside.display().to_string()),
        1,
    );
    assert_ne!(v2, hostile);
    p.write(".releases/v2.toml", &hostile);
    let crafted = refused(&p, &["rebuild", "v2"]);
    assert!(
        crafted.stderr.contains(
            "as a manifest it was built with, which is not a Cargo.toml or Cargo.lock inside \
             the workspace; nothing was built"
        ),
        "{crafted}"
    );
    assert!(!crafted.stderr.contains("Compiling"), "{crafted}");
    assert!(!outside.parent().unwrap().exists());

    assert!(!p.exists(".releases/slugs"), "nothing was stored");
    assert_eq!(p.git(&["worktree", "list"]).lines().count(), 1);
}
