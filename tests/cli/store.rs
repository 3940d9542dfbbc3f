//! A slug store shared by a team, as a folder and as a real S3-compatible
//! server: deploys upload, fresh clones fetch and verify, corrupt objects
//! are refused, nothing is uploaded twice, and `gc` frees what no release needs.

use std::path::Path;

use fs_err as fs;

use crate::s3::S3Server;
use crate::support::*;

/// A team's workspace sharing slugs through `spec`, with v1 and v2 deployed.
fn team(spec: &str, env: Vec<(String, String)>) -> Project {
    let p = Project::new();
    p.set_env(env);
    p.write(
        "Cargo.toml",
        &(p.read("Cargo.toml")
            + &format!("\n[package.metadata.release-log]\nslug-store = \"{spec}\"\n")),
    );
    p.commit("share slugs");
    p
}

/// Every file under `dir`, as paths relative to it.
pub fn objects(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                out.push(path.strip_prefix(root).unwrap().display().to_string());
            }
        }
    }
    let mut out = Vec::new();
    if dir.exists() {
        walk(dir, dir, &mut out);
    }
    out.sort();
    out
}

/// What every store must do, given where its objects live on disk.
fn shares_slugs(p: &Project, store: &Path, spec: &str) {
    let deploy = ok(p, &["deploy"]);
    assert!(
        deploy.stdout.contains("-----> Uploaded myapp ("),
        "{deploy}"
    );
    assert!(
        deploy.stdout.contains(&format!(") to {spec}\n")),
        "{deploy}"
    );
    let after_first = objects(store);
    assert_eq!(after_first.len(), 1, "{after_first:?}");
    // Nothing is uploaded twice.
    let again = ok(p, &["deploy", "--force"]);
    assert!(
        again
            .stdout
            .contains("-----> The slug store already has 1 executable of this slug"),
        "{again}"
    );
    assert_eq!(objects(store), after_first);
    p.advance(60);
    change_code(p, "v3");
    p.ok(&["deploy"]);
    assert_eq!(objects(store).len(), 2);

    // Another machine: the release files, no slugs; run and rollback fetch.
    let other = p.share_and_clone("other");
    let (code, stdout, stderr) = p.run_in(&other, &["run"], &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.starts_with("hello from v3"), "{stdout}");
    assert!(
        stderr.starts_with("Fetched myapp (") && stderr.contains(", sha256 verified) from "),
        "{stderr}"
    );
    let (code, stdout, stderr) = p.run_in(&other, &["rollback", "v1"], &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.starts_with("Fetched myapp ("), "{stdout}");
    let (_, stdout, _) = p.run_in(&other, &["run"], &[]);
    assert!(stdout.starts_with("hello from v1"), "{stdout}");

    // A corrupt object is refused, and never replaces a good local copy.
    for object in objects(store) {
        let path = store.join(&object);
        let mut bytes = fs::read(&path).unwrap();
        bytes[100] ^= 0xff;
        fs::write(&path, bytes).unwrap();
    }
    let third = p.share_and_clone("third");
    let (code, _, stderr) = p.run_in(&third, &["run"], &[]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("corrupt"), "{stderr}");
    assert!(
        objects(&third.join(".releases/slugs")).is_empty(),
        "nothing corrupt was kept"
    );
    // The first machine's copies are good, and stay.
    assert!(p.ok(&["run"]).starts_with("hello from v3"));
    ok(p, &["check"]);
}

#[test]
fn a_folder_shares_slugs() {
    let p = team("../shared-slugs", Vec::new());
    let store = p.root().parent().unwrap().join("shared-slugs");
    // A shared folder is mounted, not made: a missing one is refused first.
    let refused = refused(&p, &["deploy"]);
    assert!(
        refused.stderr.contains("is the shared folder mounted?"),
        "{refused}"
    );
    assert!(
        !refused.stderr.contains("Compiling"),
        "refused before building: {refused}"
    );
    fs::create_dir(&store).unwrap();
    let shown = redact(&store.display().to_string(), p.root());
    shares_slugs(&p, &store, &shown);
}

#[test]
fn an_s3_bucket_shares_slugs() {
    let server = S3Server::start();
    let p = team("s3://slugs/team", server.env());
    shares_slugs(&p, &server.bucket_dir().join("team"), "s3://slugs/team");
    // The credentials never show.
    let run = p.run(&["deploy", "--force"]);
    assert!(!run.to_string().contains(crate::s3::SECRET_KEY), "{run}");
}

#[test]
fn gc_frees_what_no_release_needs_here_and_in_the_store() {
    let server = S3Server::start();
    let p = team("s3://slugs/gc", server.env());
    let store = server.bucket_dir().join("gc");
    p.ok(&["deploy"]);
    for i in 2..=4 {
        p.advance(60);
        change_code(&p, &format!("v{i}"));
        p.ok(&["deploy"]);
    }
    assert_eq!(objects(&store).len(), 4);
    assert_eq!(fs::read_dir(p.path(".releases/slugs")).unwrap().count(), 4);
    // The basic tier keeps v3 and v4: v1's and v2's slugs are gone here
    // at once, and `gc` deletes them from the store.
    p.ok(&["init", "--tier", "basic", "--yes"]);
    assert_eq!(fs::read_dir(p.path(".releases/slugs")).unwrap().count(), 2);
    let dry = ok(&p, &["gc", "--dry-run"]);
    assert!(
        dry.stdout
            .contains("Would delete 2 executables from s3://slugs/gc"),
        "{dry}"
    );
    assert_eq!(objects(&store).len(), 4);
    let gc = ok(&p, &["gc"]);
    assert!(
        gc.stdout.starts_with(
            "Deleted 0 stored slugs here (0B freed)\nDeleted 2 executables from s3://slugs/gc ("
        ),
        "{gc}"
    );
    assert_eq!(objects(&store).len(), 2);
}

#[test]
fn keep_slugs_keeps_the_newest_builds_here_and_fetches_the_rest() {
    let p = Project::new();
    p.write(
        "Cargo.toml",
        &(p.read("Cargo.toml")
            + "\n[package.metadata.release-log]\nslug-store = \"../store\"\nkeep-slugs = 1\n"),
    );
    p.commit("keep one slug here");
    fs::create_dir(p.root().parent().unwrap().join("store")).unwrap();
    p.ok(&["deploy"]);
    for i in 2..=4 {
        p.advance(60);
        change_code(&p, &format!("v{i}"));
        p.ok(&["deploy"]);
    }
    // The newest build, and the one a bare rollback goes to; every release file stays.
    assert_eq!(fs::read_dir(p.path(".releases/slugs")).unwrap().count(), 2);
    assert_eq!(p.release_files().len(), 4);
    // v1's slug is in the store: it can be rolled back to, and is fetched.
    let info = ok(&p, &["info", "v1"]);
    assert!(info.stderr.starts_with("Fetched myapp ("), "{info}");
    assert!(
        info.stdout.contains("Eligible for Rollback?: Yes"),
        "{info}"
    );
    p.advance(60);
    ok(&p, &["rollback", "v1"]);
    assert!(p.ok(&["run"]).starts_with("hello from v1"));
}
