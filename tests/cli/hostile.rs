//! A cloned repository is untrusted input: links, FIFOs, huge files and
//! crafted names are refused, and nothing outside the workspace changes.
//! Also: crashes, concurrency, and files that cannot be written.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fs_err as fs;

use crate::support::*;

/// A folder outside the workspace with files in it, to prove nothing there changes.
struct Sentinel {
    dir: std::path::PathBuf,
}

impl Sentinel {
    fn new(p: &Project) -> Self {
        let dir = p.root().parent().unwrap().join("outside");
        fs::create_dir_all(dir.join("a".repeat(64))).unwrap();
        fs::write(dir.join("victim.toml"), "untouched\n").unwrap();
        fs::write(dir.join("a".repeat(64)).join("myapp"), "not a slug\n").unwrap();
        Self { dir }
    }

    /// Every file under the folder with its bytes.
    fn tree(&self) -> BTreeMap<String, Vec<u8>> {
        fn walk(dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
            for entry in fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    walk(&path, out);
                } else {
                    out.insert(path.display().to_string(), fs::read(&path).unwrap());
                }
            }
        }
        let mut out = BTreeMap::new();
        walk(&self.dir, &mut out);
        out
    }
}

fn symlink(target: &Path, link: &Path) {
    let _ = fs::remove_file(link);
    std::os::unix::fs::symlink(target, link).unwrap();
}

#[test]
fn links_out_of_the_workspace_are_refused_and_nothing_outside_changes() {
    let p = Project::new();
    p.ok(&["deploy"]);
    p.ok(&["config", "set", "A=1"]);
    let sentinel = Sentinel::new(&p);
    let before = sentinel.tree();
    let victim = sentinel.dir.join("victim.toml");

    // `.releases/current` leads outside.
    symlink(&victim, &p.path(".releases/current"));
    for args in [&["config", "set", "B=2"][..], &["rollback"]] {
        let run = p.run(args);
        assert_ne!(run.code, 0, "{run}");
        assert!(run.stderr.contains("is a symbolic link"), "{run}");
        assert!(run.stderr.contains("run `cargo release-log sync`"), "{run}");
    }
    // `sync` replaces the link itself, never what it points at.
    let sync = ok(&p, &["sync"]);
    assert!(sync.stderr.contains("was not a regular file"), "{sync}");
    assert!(!p.path(".releases/current").is_symlink());

    // The lock file leads outside (to a file not there yet).
    let ghost = sentinel.dir.join("created-by-the-lock");
    symlink(&ghost, &p.path(".releases/.lock"));
    let run = p.run(&["config", "set", "B=2"]);
    assert!(run.stderr.contains("is a symbolic link"), "{run}");
    assert!(!ghost.exists());
    fs::remove_file(p.path(".releases/.lock")).unwrap();

    // The slug store leads outside, where pruning would delete folders.
    let slugs = p.path(".releases/slugs");
    fs::rename(&slugs, p.path("slugs-moved")).unwrap();
    symlink(&sentinel.dir, &slugs);
    p.write(
        "Cargo.toml",
        &(p.read("Cargo.toml") + "\n[package.metadata.release-log]\ntier = \"basic\"\n"),
    );
    let run = p.run(&["config", "set", "C=3"]);
    assert!(run.stderr.contains("is a symbolic link"), "{run}");

    // `.releases` itself, and `.cargo`, lead outside.
    fs::remove_file(&slugs).unwrap();
    fs::rename(p.path("slugs-moved"), &slugs).unwrap();
    fs::rename(p.path(".releases"), p.path("releases-moved")).unwrap();
    symlink(&sentinel.dir, &p.path(".releases"));
    for args in [
        &["releases"][..],
        &["config", "set", "D=4"],
        &["deploy"],
        &["check"],
    ] {
        let run = p.run(args);
        assert_ne!(run.code, 0, "{run}");
        assert!(run.stderr.contains("is a symbolic link"), "{run}");
    }
    fs::remove_file(p.path(".releases")).unwrap();
    fs::rename(p.path("releases-moved"), p.path(".releases")).unwrap();
    fs::rename(p.path(".cargo"), p.path("cargo-moved")).unwrap();
    symlink(&sentinel.dir, &p.path(".cargo"));
    let run = p.run(&["config", "set", "E=5"]);
    assert!(run.stderr.contains("is a symbolic link"), "{run}");

    assert_eq!(
        sentinel.tree(),
        before,
        "something outside the workspace changed"
    );
}

/// Runs `args` and fails the test if it takes longer than a few seconds (a
/// FIFO waited on, a device read without end).
fn within_seconds(p: &Project, args: &[&str]) -> Run {
    let start = Instant::now();
    let mut child = p
        .command(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(20) {
            child.kill().unwrap();
            panic!("`{}` hung", args.join(" "));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    p.run(args)
}

#[test]
fn fifos_devices_and_huge_files_are_refused_without_waiting() {
    let p = Project::new();
    p.ok(&["deploy"]);
    let fifo = p.path(".releases/v9.toml");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    for args in [
        &["releases"][..],
        &["info", "v9"],
        &["sync"],
        &["check"],
        &["config", "set", "A=1"],
    ] {
        let run = within_seconds(&p, args);
        assert_ne!(run.code, 0, "{run}");
        assert!(
            run.stderr.contains("v9.toml") || run.stdout.contains("v9.toml"),
            "{run}"
        );
    }
    fs::remove_file(&fifo).unwrap();

    symlink(Path::new("/dev/zero"), &p.path(".releases/v9.toml"));
    let run = within_seconds(&p, &["releases"]);
    assert!(run.stderr.contains("is a symbolic link"), "{run}");
    fs::remove_file(p.path(".releases/v9.toml")).unwrap();

    fs::write(p.path(".releases/v9.toml"), vec![b'#'; 2 << 20]).unwrap();
    let run = within_seconds(&p, &["releases"]);
    assert!(run.stderr.contains("is larger than 1024 KiB"), "{run}");
    assert!(
        run.stderr.contains("remove it if it is not a release"),
        "{run}"
    );
}

#[test]
fn an_impossible_newest_file_names_itself_and_the_way_out() {
    let p = Project::new();
    p.ok(&["deploy"]);
    let stray = ".releases/v9223372036854775807.toml";
    p.write(stray, &p.read(".releases/v1.toml"));
    let run = p.run(&["config", "set", "A=1"]);
    run.assert_refused();
    assert!(run.stderr.contains("v9223372036854775807.toml"), "{run}");
    assert!(
        run.stderr.contains("remove it if it is not a release"),
        "{run}"
    );
    fs::remove_file(p.path(stray)).unwrap();
    p.ok(&["config", "set", "A=1"]);
}

#[test]
fn crafted_names_never_reach_a_shell() {
    let p = Project::new();
    p.ok(&["deploy"]);
    // An `[env]` key that would run a command if printed unquoted.
    p.write(".cargo/config.toml", "[env]\n\"X;touch pwned;Y\" = \"1\"\n");
    p.commit("crafted");
    let run = p.run(&["deploy"]);
    run.assert_refused();
    assert!(run.stderr.contains("X;touch pwned;Y"), "{run}");
    p.write(".cargo/config.toml", "");
    p.commit("clean");
    p.ok(&["sync"]);
    // A release file carrying such a name is refused when read.
    let v1 = p.read(".releases/v1.toml");
    p.write(
        ".releases/v1.toml",
        &v1.replace("[config]", "[config]\n\"X;touch pwned;Y\" = \"1\""),
    );
    let run = p.run(&["info", "v1", "--shell"]);
    run.assert_refused();
    p.write(".releases/v1.toml", &v1);
    // Values reach the shell quoted, whatever they hold.
    p.ok(&["config", "set", "CMD=$(touch pwned); `touch pwned`"]);
    let lines = p.ok(&["config", "--shell"]);
    let output = p
        .program("sh")
        .args(["-c", &format!("{lines}\nprintf %s \"$CMD\"")])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "$(touch pwned); `touch pwned`"
    );
    assert!(!p.exists("pwned"));
}

/// Runs the tool with `.cargo` read-only: with a read-only bind mount in a
/// mount namespace when running as root (who writes through permissions),
/// else by taking the write permission away.
fn with_read_only_cargo(p: &Project, args: &[&str]) -> Run {
    let root = running_as_root();
    if !root {
        let dir = p.path(".cargo");
        let mut perms = fs::metadata(&dir).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o555);
        fs::set_permissions(&dir, perms).unwrap();
        let run = p.run(args);
        let mut perms = fs::metadata(&dir).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
        fs::set_permissions(&dir, perms).unwrap();
        return run;
    }
    let tool = env!("CARGO_BIN_EXE_cargo-release-log");
    let script = format!(
        "mount --bind .cargo .cargo && mount -o remount,bind,ro .cargo && exec {tool} release-log \"$@\""
    );
    let mut all = vec!["-rm", "sh", "-c", &script, "sh"];
    all.extend(args);
    p.run_program("unshare", &all)
}

/// Whether the tests run as root, who writes through file permissions.
fn running_as_root() -> bool {
    let output = Command::new("id").arg("-u").output().unwrap();
    String::from_utf8_lossy(&output.stdout).trim() == "0"
}

#[test]
fn a_config_file_that_cannot_be_written_leaves_no_unapplied_releases() {
    let p = Project::new();
    p.ok(&["deploy"]);
    p.ok(&["config", "set", "A=1"]);
    let first = with_read_only_cargo(&p, &["config", "set", "A=2"]);
    assert_eq!(first.code, 1, "{first}");
    assert!(
        first.stderr.contains("run `cargo release-log sync`"),
        "{first}"
    );
    // Retries record nothing more: the unapplied release is finished first.
    for _ in 0..3 {
        let retry = with_read_only_cargo(&p, &["config", "set", "A=3"]);
        assert_eq!(retry.code, 1, "{retry}");
        assert!(
            retry
                .stderr
                .contains("v3 was recorded, but the workspace could not be switched"),
            "{retry}"
        );
    }
    assert_eq!(p.release_files(), ["v1.toml", "v2.toml", "v3.toml"]);
    // Writable again, the next command finishes v3, then records its own.
    p.ok(&["config", "set", "A=4"]);
    assert_eq!(p.release_files().len(), 4);
    assert_eq!(p.read(".cargo/config.toml"), "[env]\nA = \"4\"\n");
    ok(&p, &["check"]);
}

#[test]
fn a_killed_config_set_never_blocks_the_next_deploy() {
    let p = Project::new();
    p.ok(&["deploy"]);
    let mut rng = 0x9e37_79b9_u64;
    for i in 0..40 {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let mut child = p
            .command(&["config", "set", &format!("N{i}={i}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_micros(rng % 6000));
        let _ = child.kill();
        let _ = child.wait();
    }
    // Whatever was interrupted, deploy goes on (no leftover counts as
    // uncommitted work) and the ledger checks out.
    let deploy = ok(&p, &["deploy", "--force"]);
    assert!(
        deploy.stdout.contains("-----> Launching... done"),
        "{deploy}"
    );
    ok(&p, &["check"]);
    let scratch: Vec<_> = fs::read_dir(p.path(".releases/.tmp")).unwrap().collect();
    assert!(scratch.is_empty(), "the scratch folder was emptied");
    assert!(
        p.git(&["status", "--porcelain", "--ignored", ".cargo"])
            .lines()
            .all(|l| !l.contains(".tmp"))
    );
}

#[test]
fn concurrent_writers_and_readers_with_pruning() {
    let p = Project::new();
    p.write(
        "Cargo.toml",
        &(p.read("Cargo.toml") + "\n[package.metadata.release-log]\ntier = \"basic\"\n"),
    );
    p.commit("basic tier");
    p.ok(&["deploy"]);
    let writers: Vec<_> = (0..6)
        .map(|i| {
            let args: Vec<String> = if i % 3 == 0 {
                vec!["deploy".into(), "--no-build".into(), "--force".into()]
            } else {
                vec!["config".into(), "set".into(), format!("W{i}={i}")]
            };
            p.command(&args.iter().map(String::as_str).collect::<Vec<_>>())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut failures = Vec::new();
    let start = Instant::now();
    let mut reads = 0;
    while reads < 40 || start.elapsed() < Duration::from_millis(500) {
        for args in [&["releases"][..], &["info"], &["config"]] {
            let run = p.run(args);
            if run.code != 0 {
                failures.push(run.to_string());
            }
        }
        reads += 1;
        if reads > 400 {
            break;
        }
    }
    for child in writers {
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    assert!(
        failures.is_empty(),
        "readers failed:\n{}",
        failures.join("\n")
    );
    // Seven releases were made; the basic tier keeps two, numbers go on.
    let files = p.release_files();
    assert_eq!(files.last().unwrap(), "v7.toml", "{files:?}");
    ok(&p, &["check"]);
}

#[test]
fn crlf_and_a_bom_in_config_toml_are_kept() {
    let p = Project::new();
    p.write(
        ".cargo/config.toml",
        "\u{feff}# settings\r\n[alias]\r\nb = \"build\"\r\n\r\n[env]\r\nA = \"1\"\r\n",
    );
    p.commit("windows config");
    p.ok(&["deploy"]);
    p.ok(&["config", "set", "B=2"]);
    assert_eq!(
        p.read(".cargo/config.toml"),
        "\u{feff}# settings\r\n[alias]\r\nb = \"build\"\r\n\r\n[env]\r\nA = \"1\"\r\nB = \"2\"\r\n"
    );
    // A malformed file is named by position, never by its text.
    p.write(".cargo/config.toml", "[env]\nTOKEN = \"s3cr3t\" oops\n");
    let run = p.run(&["config", "set", "C=3"]);
    run.assert_refused();
    assert!(run.stderr.contains("at line 2, column"), "{run}");
    assert!(!run.stderr.contains("s3cr3t"), "{run}");
}
