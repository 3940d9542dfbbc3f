//! A cloned repository can commit a symbolic link at any folder of the
//! ledger, and the ledger's local caches: no link is followed on the way
//! down from `.releases`, and a cache only ever saves time.

use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use fs_err as fs;

use crate::support::*;

fn symlink(target: &Path, link: &Path) {
    std::os::unix::fs::symlink(target, link).unwrap();
}

/// Commits `paths`, which `.releases/.gitignore` ignores, as a clone can.
fn commit_forced(p: &Project, paths: &[&str]) {
    for path in paths {
        p.git(&["add", "-f", path]);
    }
    p.git(&["commit", "-q", "-m", "what a clone committed"]);
}

/// The sha256 release `version` records for its (only) executable.
fn recorded_sha256(p: &Project, version: u64) -> String {
    let release = p.read(&format!(".releases/v{version}.toml"));
    let line = release
        .lines()
        .find(|l| l.starts_with("sha256 = "))
        .expect("a recorded executable");
    line.trim_start_matches("sha256 = ")
        .trim_matches('"')
        .to_owned()
}

/// A folder beside the workspace, outside it.
fn outside(p: &Project, name: &str) -> PathBuf {
    let dir = p.root().parent().unwrap().join(name);
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// An executable script at `path` that leaves `marker` behind when it runs.
fn marker_script(path: &Path, marker: &Path) {
    fs::write(
        path,
        format!("#!/bin/sh\necho ran > '{}'\n", marker.display()),
    )
    .unwrap();
    fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// What identifies `path` without reading it, as the tool's stamp of a
/// file it verified said it: size, modification and change times, inode,
/// device and boot.
fn identity(path: &Path) -> String {
    let meta = fs::metadata(path).unwrap();
    let modified = meta
        .modified()
        .unwrap()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let changed = i128::from(meta.ctime()) * 1_000_000_000 + i128::from(meta.ctime_nsec());
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .map_or_else(|_| "-".to_owned(), |id| id.trim().to_owned());
    format!(
        "{} {modified} {changed} {} {} {boot}",
        meta.len(),
        meta.ino(),
        meta.dev()
    )
}

/// The single `error:` line a refused command printed.
fn error_line(run: &Run) -> &str {
    assert_ne!(run.code, 0, "{run}");
    let errors: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("error: "))
        .collect();
    assert_eq!(errors.len(), 1, "{run}");
    errors[0]
}

#[test]
fn a_committed_slugs_link_is_never_followed() {
    let p = Project::new();
    p.ok(&["deploy"]);
    let sha = recorded_sha256(&p, 1);

    // `.releases/slugs` leads to a folder elsewhere holding the very bytes
    // recorded: `run` would start them from there and leave a stamp there.
    let elsewhere = outside(&p, "elsewhere");
    fs::create_dir(elsewhere.join(&sha)).unwrap();
    fs::copy(
        p.path(&format!(".releases/slugs/{sha}/myapp")),
        elsewhere.join(&sha).join("myapp"),
    )
    .unwrap();
    fs::remove_dir_all(p.path(".releases/slugs")).unwrap();
    symlink(&elsewhere, &p.path(".releases/slugs"));
    commit_forced(&p, &[".releases/slugs"]);

    let run = p.run(&["run"]);
    let error = error_line(&run);
    assert!(
        error.contains("`[ROOT]/.releases/slugs` is a symbolic link"),
        "{run}"
    );
    assert!(
        !run.stdout.contains("hello"),
        "the slug elsewhere ran:\n{run}"
    );
    assert_eq!(
        fs::read_dir(elsewhere.join(&sha)).unwrap().count(),
        1,
        "a stamp was written outside the workspace"
    );

    let check = p.run(&["check"]);
    assert_ne!(check.code, 0, "{check}");
    assert!(
        check.stdout.contains(".releases/slugs") && check.stdout.contains("symbolic link"),
        "{check}"
    );
}

#[test]
fn a_committed_link_at_a_slug_folder_is_never_followed() {
    let p = Project::new();
    p.ok(&["deploy"]);
    let sha = recorded_sha256(&p, 1);

    // `.releases/slugs/<sha256>` leads elsewhere, to other bytes with a
    // stamp that vouches for them.
    let elsewhere = outside(&p, "elsewhere");
    let marker = elsewhere.join("marker");
    marker_script(&elsewhere.join("myapp"), &marker);
    fs::write(
        elsewhere.join(".verified-myapp"),
        identity(&elsewhere.join("myapp")),
    )
    .unwrap();
    let folder = format!(".releases/slugs/{sha}");
    fs::remove_dir_all(p.path(&folder)).unwrap();
    symlink(&elsewhere, &p.path(&folder));
    commit_forced(&p, &[&folder]);

    let run = p.run(&["run"]);
    let error = error_line(&run);
    assert!(
        error.contains("`[ROOT]/.releases/slugs/[SHA256]` is a symbolic link"),
        "{run}"
    );
    assert!(!marker.exists(), "the executable elsewhere ran");

    let check = p.run(&["check"]);
    assert_ne!(check.code, 0, "{check}");
    assert!(check.stdout.contains("symbolic link"), "{check}");
    assert!(!marker.exists());
}

#[test]
fn links_at_an_environment_and_the_output_folder_are_refused() {
    let p = Project::with_files(&[
        (
            "Cargo.toml",
            "[package]\nname = \"myapp\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
             [package.metadata.release-log]\nrelease-command = [\"myapp\"]\n",
        ),
        ("src/main.rs", MAIN_RS),
    ]);
    p.ok(&["deploy"]);
    assert!(
        p.ok(&["releases", "output", "v1"])
            .starts_with("hello from v1")
    );

    // The release phase's output, kept elsewhere through a link.
    let kept = outside(&p, "kept-output");
    for entry in fs::read_dir(p.path(".releases/output")).unwrap() {
        let entry = entry.unwrap();
        fs::copy(entry.path(), kept.join(entry.file_name())).unwrap();
    }
    fs::remove_dir_all(p.path(".releases/output")).unwrap();
    symlink(&kept, &p.path(".releases/output"));
    // An environment's folder elsewhere.
    let staging = outside(&p, "staging");
    fs::copy(p.path(".releases/v1.toml"), staging.join("v1.toml")).unwrap();
    fs::create_dir(p.path(".releases/environments")).unwrap();
    symlink(&staging, &p.path(".releases/environments/staging"));
    commit_forced(&p, &[".releases/output", ".releases/environments/staging"]);

    let output = p.run(&["releases", "output", "v1"]);
    assert!(
        error_line(&output).contains("`[ROOT]/.releases/output` is a symbolic link"),
        "{output}"
    );
    assert!(!output.stdout.contains("hello"), "{output}");
    // An environment only a link stands for is none.
    let staged = p.run(&["--env", "staging", "releases"]);
    assert!(
        error_line(&staged).contains("unknown environment"),
        "{staged}"
    );

    let check = p.run(&["check"]);
    assert_ne!(check.code, 0, "{check}");
    for link in [".releases/output", ".releases/environments/staging"] {
        assert!(check.stdout.contains(link), "{link}:\n{check}");
    }
}

#[test]
fn a_forged_digest_cache_changes_nothing_deploy_records() {
    let p = Project::new();
    p.ok(&["deploy"]);
    let built = || sha256_hex(&fs::read(p.path("target/release/myapp")).unwrap());
    assert_eq!(recorded_sha256(&p, 1), built());

    // A digest cache, `.built`, with an entry for the output as it is (its
    // size, times, inode, device and this boot) and a made-up digest.
    let made_up = "ab".repeat(32);
    let output = p.path("target/release/myapp");
    let meta = fs::metadata(&output).unwrap();
    let modified = meta
        .modified()
        .unwrap()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let changed = i128::from(meta.ctime()) * 1_000_000_000 + i128::from(meta.ctime_nsec());
    let boot = fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap();
    let stamp = format!(
        "{} {modified} {changed} {} {} {}",
        meta.len(),
        meta.ino(),
        meta.dev(),
        boot.trim()
    );
    p.write(
        ".releases/.built",
        &format!("{made_up} {stamp}\t{}\n", output.display()),
    );
    // The same output recorded again: what is recorded is what it hashes to.
    p.ok(&["deploy", "--force"]);
    assert_eq!(recorded_sha256(&p, 2), built());
    assert!(!p.exists(&format!(".releases/slugs/{made_up}")));
    assert!(p.ok(&["run"]).starts_with("hello from v1"));
}

#[test]
fn a_forged_verified_stamp_does_not_let_run_start_other_bytes() {
    let p = Project::new();
    p.ok(&["deploy"]);
    let sha = recorded_sha256(&p, 1);
    let exe = p.path(&format!(".releases/slugs/{sha}/myapp"));

    // Other bytes in place of the stored executable, and a stamp of them.
    let marker = p.root().parent().unwrap().join("marker");
    marker_script(&exe, &marker);
    fs::write(
        p.path(&format!(".releases/slugs/{sha}/.verified-myapp")),
        identity(&exe),
    )
    .unwrap();

    let run = p.run(&["run"]);
    assert!(
        error_line(&run).contains("was changed after it was stored"),
        "{run}"
    );
    assert!(!marker.exists(), "bytes that are not the record ran");
}

#[test]
fn caches_a_clone_committed_are_ignored_with_a_warning() {
    let p = Project::new();
    p.ok(&["deploy"]);
    p.ok(&["config", "set", "A=1"]);

    // An index with the folder's stamp that hides v2, a pointer at v1.
    let index = p.read(".releases/.index");
    let mut lines: Vec<String> = index.lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 4, "{index}");
    assert_eq!(lines[2], "1-2", "{index}");
    lines[2] = "1".to_owned();
    lines[3] = "count 1".to_owned();
    p.write(".releases/.index", &(lines.join("\n") + "\n"));
    p.write(
        ".releases/current",
        &p.read(".releases/current")
            .replace("release = 2", "release = 1"),
    );
    p.write(".releases/.chain", "not this clone's\n");
    commit_forced(
        &p,
        &[".releases/.index", ".releases/.chain", ".releases/current"],
    );

    // Another machine clones it: what the index vouches for is not its folder.
    p.git(&["add", ".releases"]);
    p.git(&["commit", "-q", "-m", "the release files"]);
    let clone = p.clone_repo("machine-b");
    let (code, releases, _) = p.run_in(&clone, &["releases"], &[]);
    assert_eq!(code, 0, "{releases}");
    assert!(releases.contains("v2"), "{releases}");
    let (_, check, _) = p.run_in(&clone, &["check"], &[]);
    for cache in [".releases/.index", ".releases/.chain", ".releases/current"] {
        assert!(
            check.contains(&format!(
                "`{cache}` is a local cache of this clone, but git tracks it"
            )) && check.contains(&format!("git rm --cached {cache}")),
            "{cache}:\n{check}"
        );
    }
    assert!(check.contains("v2"), "{check}");
}
