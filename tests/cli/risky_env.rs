//! Config vars that change how programs start (`LD_PRELOAD`, `PATH`, …)
//! are recorded, but nothing starts a program with them or prints them for
//! a shell unless the workspace allows them with `allow-env`. And a `PATH`
//! without git says so.

use std::path::PathBuf;

use fs_err as fs;

use crate::support::*;

/// Adds `settings` to the manifest's release-log table.
fn allow(p: &Project, settings: &str) {
    let manifest = p.read("Cargo.toml");
    p.write(
        "Cargo.toml",
        &format!("{manifest}\n[package.metadata.release-log]\n{settings}\n"),
    );
}

#[test]
fn a_crafted_release_cannot_preload_a_library_or_change_path() {
    let p = Project::new();
    p.ok(&["deploy"]);
    p.ok(&["config", "set", "MYVAR=1"]);
    craft_config(&p, ".releases/v2.toml", "LD_PRELOAD = \"/tmp/evil.so\"");
    for args in [&["run"][..], &["config", "--shell"], &["info", "--shell"]] {
        let run = refused_saying(
            &p,
            args,
            "config var `LD_PRELOAD` changes how programs start, so it is not applied unless \
             the workspace allows it: add `allow-env = [\"LD_PRELOAD\"]` to \
             `[workspace.metadata.release-log]` (or `[package.metadata.release-log]`) in \
             Cargo.toml\n",
        );
        assert!(!run.stdout.contains("LD_PRELOAD"), "{run}");
    }
    // `PATH` the same way.
    let v2 = p.read(".releases/v2.toml");
    p.write(
        ".releases/v2.toml",
        &v2.replace("LD_PRELOAD = \"/tmp/evil.so\"", "PATH = \"/tmp/evil\""),
    );
    refused_saying(&p, &["run"], "config var `PATH` changes how programs start");

    // Allowed by the workspace, both apply.
    allow(&p, "allow-env = [\"PATH\", \"LD_*\"]");
    let run = ok(&p, &["config", "--shell"]);
    assert!(run.stdout.lines().any(|l| l.starts_with("PATH=")), "{run}");
    p.write(
        ".releases/v2.toml",
        &v2.replace("LD_PRELOAD = \"/tmp/evil.so\"", "LD_PRELOAD = \"\""),
    );
    let run = ok(&p, &["config", "--shell"]);
    assert!(
        run.stdout.lines().any(|l| l.starts_with("LD_PRELOAD=")),
        "{run}"
    );
    let run = ok(&p, &["run"]);
    assert_eq!(
        run.stdout, "hello from v1 (MYVAR=Some(\"1\"), args=[])\n",
        "{run}"
    );
}

#[test]
fn setting_a_risky_var_records_it_with_a_warning() {
    let p = Project::new();
    p.ok(&["deploy"]);
    let run = ok(&p, &["config", "set", "PATH=/usr/bin:/bin"]);
    assert!(
        run.stderr.contains(
            "warning: `PATH` changes how programs start: it is recorded, but `run`, `--shell` \
             and the release's commands refuse it until `allow-env = [\"PATH\"]` is added to"
        ),
        "{run}"
    );
    assert_eq!(p.release_files().len(), 2);
    refused(&p, &["run"]);
    allow(&p, "allow-env = [\"PATH\"]");
    let run = ok(&p, &["config", "set", "PATH=/usr/local/bin:/usr/bin:/bin"]);
    assert!(!run.stderr.contains("warning"), "{run}");
    let run = ok(&p, &["run"]);
    assert!(run.stdout.starts_with("hello from v1"), "{run}");
}

#[test]
fn the_release_commands_never_get_a_risky_var_unless_allowed() {
    let p = Project::new();
    allow(&p, "release-command = [\"true\"]");
    p.commit("a release phase");
    p.ok(&["deploy"]);
    // Refused before anything is recorded: the release phase would get it.
    let run = refused(&p, &["config", "set", "BASH_ENV=/tmp/evil.sh"]);
    assert!(
        run.stderr.contains(
            "config var `BASH_ENV` changes how programs start, so it is not applied unless the \
             workspace allows it: add `allow-env = [\"BASH_ENV\"]` to \
             `[package.metadata.release-log]` in Cargo.toml"
        ),
        "{run}"
    );
    assert_eq!(p.release_files(), ["v1.toml"]);
    let manifest = p.read("Cargo.toml");
    p.write(
        "Cargo.toml",
        &manifest.replace(
            "release-command",
            "allow-env = [\"BASH_ENV\"]\nrelease-command",
        ),
    );
    p.ok(&["config", "set", "BASH_ENV=/tmp/evil.sh"]);
    assert_eq!(p.release_files().len(), 2);
}

/// `program` as the tests' own `PATH` finds it.
fn on_path(program: &str) -> PathBuf {
    std::env::split_paths(&std::env::var_os("PATH").unwrap())
        .map(|dir| dir.join(program))
        .find(|path| path.is_file())
        .unwrap_or_else(|| panic!("no {program} on PATH"))
}

#[test]
fn no_git_on_path_is_named_in_one_line() {
    let p = Project::new();
    // A `PATH` with cargo and rustc, and no git.
    let bin = p.scratch().join("bin-without-git");
    fs::create_dir_all(&bin).unwrap();
    for program in ["cargo", "rustc"] {
        std::os::unix::fs::symlink(on_path(program), bin.join(program)).unwrap();
    }
    for args in [&["deploy"][..], &["deploy", "--no-build"]] {
        let output = p.command(args).env("PATH", &bin).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains(
                "`git` was not found on PATH: cargo release-log runs it; install git, or add \
                 its folder to PATH"
            ),
            "{stderr}"
        );
        assert!(!stderr.contains("No such file or directory"), "{stderr}");
    }
}
