//! A slug store that heals: slugs built before the store was set up reach
//! it with `push`, an object of the right size with wrong bytes is found
//! (`check --store`) and replaced from a verified copy here (`deploy`,
//! `push`), and what was verified is remembered only while the object is
//! unchanged.

use std::path::Path;
use std::time::{Duration, SystemTime};

use fs_err as fs;

use crate::s3::S3Server;
use crate::store::objects;
use crate::support::*;

/// A workspace sharing its slugs through `spec` (committed), nothing deployed yet.
fn team(spec: &str, env: Vec<(String, String)>) -> Project {
    let p = Project::new();
    p.set_env(env);
    share_slugs(&p, spec);
    p
}

/// Names the slug store `spec` in the manifest, and commits it.
fn share_slugs(p: &Project, spec: &str) {
    p.write(
        "Cargo.toml",
        &(p.read("Cargo.toml")
            + &format!("\n[package.metadata.release-log]\nslug-store = \"{spec}\"\n")),
    );
    p.commit("share slugs");
}

/// The sha256 release `version` records for its (only) executable.
fn recorded_sha256(p: &Project, version: u64) -> String {
    let release = p.read(&format!(".releases/v{version}.toml"));
    release
        .split("sha256 = \"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("an executable's sha256")
        .to_owned()
}

/// Flips a byte of the store's object in place: same size, other bytes.
/// `s3` says the folder is an S3 server's, where every write of an object
/// gives it a new ETag and Last-Modified: s3s-fs keeps the ETag beside the
/// file and takes the time from the file's (to the second), so the edit is
/// given another second, as a write through S3 would be.
fn corrupt(object: &Path, s3: bool) {
    let mut bytes = fs::read(object).unwrap();
    bytes[100] ^= 0xff;
    fs::write(object, &bytes).unwrap();
    if s3 {
        let earlier = SystemTime::now() - Duration::from_secs(3600);
        fs::File::options()
            .write(true)
            .open(object)
            .unwrap()
            .set_modified(earlier)
            .unwrap();
    }
}

/// What every store must do with an object of the right size and other bytes.
fn heals(p: &Project, store: &Path, s3: bool) {
    let deploy = ok(p, &["deploy"]);
    assert!(
        deploy.stdout.contains("-----> Uploaded myapp ("),
        "{deploy}"
    );
    let sha = recorded_sha256(p, 1);
    let object = store.join(&sha).join("myapp");
    let good = fs::read(p.path(&format!(".releases/slugs/{sha}/myapp"))).unwrap();
    assert_eq!(fs::read(&object).unwrap(), good);
    ok(p, &["check", "--store"]);

    // The object is damaged in the store.
    corrupt(&object, s3);
    // Plain `check` reads nothing from the store, as before.
    ok(p, &["check"]);
    let check = p.run(&["check", "--store"]);
    assert_eq!(check.code, 1, "{check}");
    assert!(
        check
            .stdout
            .contains("/[SHA256]/myapp: the executable `myapp` of v1 in slug store `"),
        "{check}"
    );
    assert!(
        check
            .stdout
            .contains("is not the bytes recorded: its bytes hash to [SHA256], not "),
        "{check}"
    );
    assert!(
        check
            .stdout
            .contains("`cargo release-log push` uploads the copy here"),
        "{check}"
    );
    assert!(
        check.stderr.contains("error: check found 1 problem"),
        "{check}"
    );
    // A fresh clone refuses it.
    let other = p.share_and_clone("other");
    let (code, _, stderr) = p.run_in(&other, &["run"], &[]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("is corrupt"), "{stderr}");

    // A deploy of the same slug finds it and repairs it from the copy here.
    p.advance(60);
    let again = ok(p, &["deploy", "--force"]);
    assert!(
        again.stdout.contains("-----> Repaired myapp in ")
            && again.stdout.contains(
                ": the object there was not the bytes recorded (its bytes hash to [SHA256]); \
                 replaced it with the verified copy here ("
            ),
        "{again}"
    );
    assert!(!again.stdout.contains("already has"), "{again}");
    assert_eq!(fs::read(&object).unwrap(), good);
    let check = ok(p, &["check", "--store"]);
    assert!(
        check
            .stdout
            .contains("  slug store: 1 executable read from "),
        "{check}"
    );

    // Damaged again: `push` finds it and repairs it.
    corrupt(&object, s3);
    assert_eq!(p.run(&["check", "--store"]).code, 1);
    let dry = ok(p, &["push", "--dry-run"]);
    assert!(
        dry.stdout
            .starts_with("Would repair myapp (sha256 [SHA]) in "),
        "{dry}"
    );
    assert_ne!(fs::read(&object).unwrap(), good, "a dry run repaired it");
    let push = ok(p, &["push"]);
    assert!(
        push.stdout.starts_with("Repaired myapp (sha256 [SHA]) in ")
            && push.stdout.contains(
                ": the object there was not the bytes recorded (its bytes hash to [SHA256]); \
                 replaced it with the verified copy here, "
            )
            && push.stdout.contains("; for v1, v2\n"),
        "{push}"
    );
    assert!(
        push.stdout
            .contains("Pushed 1 object for myapp's retained releases to "),
        "{push}"
    );
    assert!(push.stdout.ends_with(": 1 repaired\n"), "{push}");
    assert_eq!(fs::read(&object).unwrap(), good);
    ok(p, &["check", "--store"]);
    // Nothing is uploaded twice.
    let push = ok(p, &["push"]);
    assert!(
        push.stdout.starts_with("Already in ")
            && push
                .stdout
                .contains(", sha256 verified: myapp (sha256 [SHA]); for v1, v2\n")
            && push.stdout.ends_with(": 1 already there (verified)\n"),
        "{push}"
    );
    // And the fresh clone runs it now.
    let (code, stdout, stderr) = p.run_in(&other, &["run"], &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.starts_with("hello from v1"), "{stdout}");
}

#[test]
fn a_folder_store_heals() {
    let p = team("../shared-slugs", Vec::new());
    let store = p.scratch().join("shared-slugs");
    fs::create_dir(&store).unwrap();
    heals(&p, &store, false);
}

#[test]
fn an_s3_store_heals() {
    let server = S3Server::start();
    let p = team("s3://slugs/team", server.env());
    heals(&p, &server.bucket_dir().join("team"), true);
}

/// What was verified is remembered, locally, only for the object as it
/// was: a changed object is read again, even with its time put back.
#[test]
fn what_was_verified_is_forgotten_when_the_object_changes() {
    let p = team("../store", Vec::new());
    let store = p.scratch().join("store");
    fs::create_dir(&store).unwrap();
    ok(&p, &["deploy"]);
    let sha = recorded_sha256(&p, 1);
    let object = store.join(&sha).join("myapp");
    let good = fs::read(p.path(&format!(".releases/slugs/{sha}/myapp"))).unwrap();
    let again = ok(&p, &["deploy", "--force"]);
    assert!(
        again
            .stdout
            .contains("-----> The slug store already has 1 executable of this slug"),
        "{again}"
    );

    // Changed in place, with its modification time put back: its change
    // time and so its identity are new, and it is read again.
    let modified = fs::metadata(&object).unwrap().modified().unwrap();
    corrupt(&object, false);
    fs::File::options()
        .write(true)
        .open(&object)
        .unwrap()
        .set_modified(modified)
        .unwrap();
    p.advance(60);
    let repaired = ok(&p, &["deploy", "--force"]);
    assert!(
        repaired.stdout.contains("-----> Repaired myapp in "),
        "{repaired}"
    );
    assert!(!repaired.stdout.contains("already has"), "{repaired}");
    assert_eq!(fs::read(&object).unwrap(), good);
    assert!(
        again.stdout.contains(
            "-----> The slug store already has 1 executable of this slug (sha256 verified)"
        ),
        "{again}"
    );

    // Remembered in the ledger folder, by the object's identity; not committed.
    let remembered = p.read(".releases/.store-verified");
    let line = format!("{sha} {}\t", good.len());
    assert!(
        remembered
            .lines()
            .any(|l| l.starts_with(&line) && l.contains("\tfile ")),
        "{remembered}"
    );
    assert!(
        p.read(".releases/.gitignore")
            .lines()
            .any(|l| l == "/.store-verified")
    );
    p.git(&["add", "-A"]);
    assert!(
        !p.git(&["ls-files", ".releases"])
            .contains(".store-verified"),
        "the cache is committed"
    );

    // A remembered line for another identity of the object is no proof.
    corrupt(&object, false);
    let forged: String = p
        .read(".releases/.store-verified")
        .lines()
        .map(|l| {
            if l.starts_with(&sha) {
                let (head, _) = l.rsplit_once('\t').unwrap();
                format!("{head}\tfile 0 0 0 0 0 -\n")
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    p.write(".releases/.store-verified", &forged);
    let push = ok(&p, &["push"]);
    assert!(push.stdout.starts_with("Repaired myapp "), "{push}");
    assert_eq!(fs::read(&object).unwrap(), good);
}

/// Five releases deployed before the team set up a store: one `push`
/// uploads them all, and a fresh clone can run and roll back to each.
#[test]
fn push_shares_the_slugs_built_before_the_store() {
    let server = S3Server::start();
    let p = Project::new();
    p.set_env(server.env());
    let store = server.bucket_dir().join("team");
    p.ok(&["deploy"]);
    for i in 2..=5 {
        p.advance(60);
        change_code(&p, &format!("v{i}"));
        p.ok(&["deploy"]);
    }
    // Without a store, there is nothing to push to.
    let refused = p.run(&["push"]);
    refused.assert_refused();
    assert!(
        refused
            .stderr
            .contains("myapp has no slug store to push to: name one with `slug-store = "),
        "{refused}"
    );
    let refused = p.run(&["check", "--store"]);
    refused.assert_refused();
    assert!(
        refused
            .stderr
            .contains("`check --store` has no slug store to read"),
        "{refused}"
    );

    share_slugs(&p, "s3://slugs/team");
    // The releases' executables are here only: a fresh clone cannot run them.
    let check = p.run(&["check", "--store"]);
    assert_eq!(check.code, 1, "{check}");
    assert!(
        check
            .stdout
            .contains("the executable `myapp` of v5 is not in slug store `s3://slugs/team`"),
        "{check}"
    );
    let dry = ok(&p, &["push", "--dry-run"]);
    assert_eq!(
        dry.stdout
            .matches("Would upload myapp (sha256 [SHA]), ")
            .count(),
        5,
        "{dry}"
    );
    assert!(
        dry.stdout.ends_with(
            "Would push 5 objects for myapp's retained releases to s3://slugs/team: 5 uploaded\n"
        ),
        "{dry}"
    );
    assert_eq!(objects(&store), Vec::<String>::new());

    let push = ok(&p, &["push"]);
    for v in 1..=5 {
        assert!(
            push.stdout
                .contains(&format!(" to s3://slugs/team; for v{v}\n")),
            "{push}"
        );
    }
    let expected: Vec<String> = {
        let mut all: Vec<String> = (1..=5)
            .map(|v| format!("{}/myapp", recorded_sha256(&p, v)))
            .collect();
        all.sort();
        all
    };
    assert_eq!(objects(&store), expected);
    for v in 1..=5 {
        let sha = recorded_sha256(&p, v);
        assert_eq!(
            fs::read(store.join(&sha).join("myapp")).unwrap(),
            fs::read(p.path(&format!(".releases/slugs/{sha}/myapp"))).unwrap()
        );
    }
    ok(&p, &["check", "--store"]);
    let again = ok(&p, &["push"]);
    assert!(
        again.stdout.ends_with(": 5 already there (verified)\n"),
        "{again}"
    );

    // Another machine: the release files, no slugs; each release runs.
    let other = p.share_and_clone("other");
    let (code, stdout, stderr) = p.run_in(&other, &["run"], &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.starts_with("hello from v5"), "{stdout}");
    for v in 1..=4 {
        let (code, stdout, stderr) = p.run_in(&other, &["rollback", &format!("v{v}")], &[]);
        assert_eq!(code, 0, "{stderr}");
        assert!(stdout.starts_with("Fetched myapp ("), "{stdout}");
        let (_, stdout, _) = p.run_in(&other, &["run"], &[]);
        assert!(stdout.starts_with(&format!("hello from v{v}")), "{stdout}");
    }
    // What is neither here nor in the store is named by release, and fails.
    fs::remove_dir_all(store.join(recorded_sha256(&p, 2))).unwrap();
    fs::remove_dir_all(p.path(&format!(".releases/slugs/{}", recorded_sha256(&p, 2)))).unwrap();
    let push = p.run(&["push"]);
    assert_eq!(push.code, 1, "{push}");
    assert!(
        push.stdout.contains(
            "Neither here nor in s3://slugs/team: myapp (sha256 [SHA]) (`cargo release-log \
             rebuild v2` builds it again); for v2\n"
        ),
        "{push}"
    );
    assert!(
        push.stderr.contains(
            "error: 1 executable of the retained releases is neither here nor in the slug store"
        ),
        "{push}"
    );
}

/// A clone can commit `.releases/.store-verified`, vouching for an object
/// whose S3 identity every machine sees alike: a tracked cache is neither
/// read nor written, so a wrong object is still found and replaced.
#[test]
fn a_committed_cache_vouches_for_nothing() {
    let server = S3Server::start();
    let p = team("s3://slugs/planted", server.env());
    ok(&p, &["deploy"]);
    let sha = recorded_sha256(&p, 1);
    let object = server.bucket_dir().join("planted").join(&sha).join("myapp");
    let good = fs::read(&object).unwrap();
    assert!(p.exists(".releases/.store-verified"));
    p.git(&["add", "-f", ".releases/.store-verified"]);
    p.git(&["commit", "-q", "-m", "a cache from elsewhere"]);
    // Changed in place with its time put back: the same ETag and time.
    let modified = fs::metadata(&object).unwrap().modified().unwrap();
    corrupt(&object, false);
    fs::File::options()
        .write(true)
        .open(&object)
        .unwrap()
        .set_modified(modified)
        .unwrap();
    let cache = p.read(".releases/.store-verified");
    let repaired = ok(&p, &["deploy", "--force"]);
    assert!(
        repaired.stdout.contains("-----> Repaired myapp in "),
        "{repaired}"
    );
    assert_eq!(fs::read(&object).unwrap(), good);
    // The tracked file is left as it came.
    assert_eq!(p.read(".releases/.store-verified"), cache);
}
