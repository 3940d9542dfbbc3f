//! Bad input: a clear one-line error, a non-zero exit, nothing written, no panic.

use crate::snap;
use crate::support::*;

#[test]
fn bad_release_references() {
    let p = Project::new();
    p.ok(&["deploy"]);
    p.ok(&["deploy"]);
    let mut out = String::new();
    for reference in [
        "v0",
        "0",
        "v-1",
        "-1",
        "v99999999999999999999999",
        "v../x",
        "latest",
        "v",
        "v9",
        "12",
    ] {
        let run = p.run(&["info", reference]);
        run.assert_refused();
        assert!(!run.stderr.contains("panicked"));
        out.push_str(&run.to_string());
    }
    snap!(out);
}

#[test]
fn corrupt_release_file_names_the_file() {
    let p = Project::new();
    p.ok(&["deploy"]);
    p.write(".releases/v1.toml", "format = 1\nversion = \n");
    let mut out = String::new();
    for args in [&["releases"][..], &["info", "v1"], &["deploy"], &["run"]] {
        let run = p.run(args);
        run.assert_refused();
        out.push_str(&run.to_string());
    }
    snap!(out);
}

#[test]
fn future_format_is_refused_not_misread() {
    let p = Project::new();
    p.ok(&["deploy"]);
    let text = p
        .read(".releases/v1.toml")
        .replace("format = 1", "format = 2\nnew-field = \"from the future\"");
    p.write(".releases/v1.toml", &text);
    let run = p.run(&["info", "v1"]);
    run.assert_refused();
    snap!(run);
}

#[test]
fn unknown_fields_and_mismatched_numbers_are_refused() {
    let p = Project::new();
    p.ok(&["deploy"]);
    let v1 = p.read(".releases/v1.toml");
    p.write(
        ".releases/v1.toml",
        &v1.replace(
            "status = \"succeeded\"",
            "status = \"succeeded\"\nsurprise = true",
        ),
    );
    let run = p.run(&["info", "v1"]);
    run.assert_refused();
    snap!(run);
    p.write(
        ".releases/v1.toml",
        &v1.replace("version = 1", "version = 7"),
    );
    let run = p.run(&["info", "v1"]);
    run.assert_refused();
    assert!(
        run.stderr
            .contains("the file says `version = 7`, but its name says v1"),
        "{run}"
    );
    p.write(
        ".releases/v1.toml",
        &v1.replace("status = \"succeeded\"", "status = \"great\""),
    );
    let run = p.run(&["releases"]);
    run.assert_refused();
    assert!(run.stderr.contains("unknown variant `great`"), "{run}");
    // A commit that is not a sha (here with multi-byte characters) is refused, not sliced.
    let sha = v1.split("commit = \"").nth(1).unwrap()[..40].to_owned();
    p.write(".releases/v1.toml", &v1.replace(&sha, "ééééééé"));
    let run = p.run(&["info", "v1"]);
    run.assert_refused();
    assert!(
        run.stderr
            .contains("`commit = \"ééééééé\"` is not a full git commit sha"),
        "{run}"
    );
}

#[test]
fn not_a_git_repository() {
    let p = Project::new();
    std::fs::remove_dir_all(p.path(".git")).unwrap();
    let run = p.run(&["deploy"]);
    assert_ne!(run.code, 0);
    snap!(run);
    assert!(!p.exists(".releases/v1.toml"));
}

#[test]
fn outside_a_workspace() {
    let p = Project::new();
    let dir = tempfile::tempdir().unwrap();
    let output = p
        .command(&["releases"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with("error: could not read the Cargo workspace\n"),
        "{stderr}"
    );
    let run = p.run(&["--manifest-path", "nope/Cargo.toml", "releases"]);
    run.assert_refused();
    assert_eq!(
        run.stderr,
        "error: the manifest path `nope/Cargo.toml` does not exist\n"
    );
}

#[test]
fn invalid_tier_setting() {
    let p = Project::new();
    let manifest = p.read("Cargo.toml") + "\n[package.metadata.release-log]\ntier = \"gold\"\n";
    p.write("Cargo.toml", &manifest);
    p.commit("gold tier");
    // Where the tier matters, it is refused before anything is built or written.
    let run = p.run(&["deploy"]);
    run.assert_refused();
    snap!(run);
    p.run(&["init"]).assert_refused();
    // `sync` still repairs the workspace; it only keeps every release.
    assert!(p.ok(&["sync"]).contains("nothing to sync"));
    // Reading the history does not depend on it, and `init --tier` repairs it.
    assert_eq!(p.ok(&["releases"]), "myapp has no releases.\n");
    p.ok(&["init", "--tier", "basic"]);
    assert!(
        p.read("Cargo.toml")
            .ends_with("[package.metadata.release-log]\ntier = \"basic\"\n")
    );
}

#[test]
fn bad_clock_is_a_clear_error() {
    let p = Project::new();
    let output = p
        .command(&["releases"])
        .env("CARGO_RELEASE_LOG_NOW", "soon")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "error: CARGO_RELEASE_LOG_NOW=`soon` is neither seconds since the epoch nor an RFC 3339 time\n"
    );
    // An RFC 3339 time fixes it too.
    p.ok(&["deploy"]);
    let output = p
        .command(&["releases"])
        .env("CARGO_RELEASE_LOG_NOW", "2026-01-15T12:05:00Z")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&output.stdout).contains("5 minutes ago"));
}

#[test]
fn source_date_epoch_is_not_the_clock() {
    // Nix shells export SOURCE_DATE_EPOCH=315532800 (1980) for builds.
    let p = Project::new();
    let mut cmd = p.command(&["deploy", "--no-build"]);
    cmd.env("SOURCE_DATE_EPOCH", "315532800")
        .env_remove("CARGO_RELEASE_LOG_NOW");
    assert!(cmd.output().unwrap().status.success());
    let v1 = p.read(".releases/v1.toml");
    assert!(
        !v1.contains("when = \"1979") && !v1.contains("when = \"1980"),
        "{v1}"
    );
}

#[test]
fn merge_conflicts_in_release_files_are_named() {
    let p = Project::new();
    p.ok(&["deploy"]);
    let v1 = p.read(".releases/v1.toml");
    p.write(
        ".releases/v1.toml",
        &format!("<<<<<<< HEAD\n{v1}=======\n{v1}>>>>>>> other\n"),
    );
    let run = p.run(&["releases"]);
    run.assert_refused();
    snap!(run);
}
