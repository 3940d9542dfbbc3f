//! `deploy` and `init`: releases recorded, slugs stored, dirty trees, failed builds.

use crate::snap;
use crate::support::*;

#[test]
fn first_deploy() {
    let p = Project::new();
    let run = p.run(&["deploy"]);
    snap!(run);
    snap!(redact(&p.read(".releases/v1.toml"), p.root()));
    assert_eq!(
        p.read(".releases/.gitattributes").lines().last(),
        Some("*.toml -text")
    );
    assert_eq!(
        p.read(".releases/.gitignore"),
        "# Written by cargo release-log. Commit the release files (v*.toml);\n\
         # the built slugs, the current pointer and the lock stay local.\n\
         /slugs/\n/current\n/.lock\n/.index\n/.chain\n/.built\n/.tmp/\n/.tmp-*\n/.journal/\n"
    );
    // The ledger's own files are ignored, so git only sees the release file.
    assert_eq!(
        p.git(&["status", "--porcelain", "--untracked-files=all"]),
        "?? .releases/.gitattributes\n?? .releases/.gitignore\n?? .releases/v1.toml"
    );
}

#[test]
fn second_deploy_links_to_the_first() {
    let p = Project::new();
    p.ok(&["deploy"]);
    p.advance(420);
    p.write("src/main.rs", &MAIN_RS.replace("from v1", "from v2"));
    let sha = p.commit("say v2");
    let run = p.run(&["deploy", "-m", "greet as v2"]);
    snap!(run);
    let v2 = p.read(".releases/v2.toml");
    snap!(redact(&v2, p.root()));
    assert!(v2.contains(&format!("commit = \"{sha}\"")));
    let digest = sha256_hex(&std::fs::read(p.path(".releases/v1.toml")).unwrap());
    assert!(
        v2.contains(&format!("previous-digest = \"sha256:{digest}\"")),
        "{v2}"
    );
    // Two different executables are stored, each once.
    assert_eq!(
        std::fs::read_dir(p.path(".releases/slugs"))
            .unwrap()
            .count(),
        2
    );
    assert!(p.read(".releases/current").contains("release = 2"));
}

#[test]
fn identical_builds_share_one_slug() {
    let p = Project::new();
    p.ok(&["deploy"]);
    p.ok(&["deploy"]);
    assert_eq!(
        std::fs::read_dir(p.path(".releases/slugs"))
            .unwrap()
            .count(),
        1
    );
}

#[test]
fn dirty_tree_is_refused_then_allowed() {
    let p = Project::new();
    p.ok(&["deploy"]);
    p.write(
        "src/main.rs",
        &MAIN_RS.replace("from v1", "from a dirty tree"),
    );
    p.write("notes.txt", "untracked\n");
    let run = p.run(&["deploy"]);
    run.assert_refused();
    snap!(run);

    let run = p.run(&["deploy", "--allow-dirty"]);
    assert_eq!(run.code, 0, "{run}");
    assert!(p.read(".releases/v2.toml").contains("dirty = true"));
    assert!(p.ok(&["run"]).starts_with("hello from a dirty tree"));
}

#[test]
fn a_deleted_file_or_folder_is_dirt() {
    let p = Project::new();
    p.write("README.md", "readme\n");
    p.write("docs/guide.md", "guide\n");
    p.commit("docs");
    p.ok(&["deploy"]);
    std::fs::remove_file(p.path("README.md")).unwrap();
    let run = p.run(&["deploy"]);
    run.assert_refused();
    assert!(run.stderr.contains("README.md"), "{run}");
    p.git(&["checkout", "--", "README.md"]);
    std::fs::remove_dir_all(p.path("docs")).unwrap();
    let run = p.run(&["deploy"]);
    run.assert_refused();
    assert!(run.stderr.contains("docs/guide.md"), "{run}");
    assert!(!p.path(".releases/v2.toml").exists());
}

#[test]
fn paths_the_tool_manages_are_not_dirt() {
    let p = Project::new();
    p.ok(&["deploy"]);
    p.ok(&["config", "set", "MYVAR=1"]);
    // `.releases/` and `.cargo/config.toml` changed and are uncommitted.
    assert!(!p.git(&["status", "--porcelain"]).is_empty());
    p.ok(&["deploy"]);
}

#[test]
fn failed_build_is_recorded_and_keeps_the_current_release() {
    let p = Project::new();
    p.ok(&["deploy"]);
    p.advance(60);
    break_the_build(&p, "break the build");
    let run = p.run(&["deploy"]);
    assert_eq!(run.code, 1);
    snap!(run);
    assert!(p.read(".releases/v2.toml").contains("status = \"failed\""));
    assert!(p.read(".releases/current").contains("release = 1"));
    assert!(p.ok(&["run"]).starts_with("hello from v1"));
    assert!(p.ok(&["releases"]).contains("v2    Deploy"));
    assert!(p.ok(&["releases"]).contains("(failed)"));
    // The failed number is used: the next deploy is v3.
    p.write("src/main.rs", &MAIN_RS.replace("from v1", "from v3"));
    p.commit("fix the build");
    assert!(p.ok(&["deploy"]).contains("done, v3"));
}

#[test]
fn no_build_keeps_the_current_slug() {
    let p = Project::new();
    p.ok(&["deploy"]);
    p.write("src/main.rs", &MAIN_RS.replace("from v1", "from v2"));
    p.commit("unbuilt change");
    let run = p.run(&["deploy", "--no-build"]);
    snap!(run);
    let v1 = p.read(".releases/v1.toml");
    let v2 = p.read(".releases/v2.toml");
    let slug = |t: &str| t[t.find("[code.slug]").unwrap()..t.find("[config]").unwrap()].to_owned();
    assert_eq!(slug(&v1), slug(&v2));
    assert!(p.ok(&["run"]).starts_with("hello from v1"));
}

#[test]
fn workspace_members_and_addons() {
    let p = Project::with_files(&[
        (
            "Cargo.toml",
            "[workspace]\nmembers = [\"api\", \"worker\"]\nresolver = \"2\"\n",
        ),
        (
            "api/Cargo.toml",
            "[package]\nname = \"api\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\nshared = { path = \"../../shared\" }\nworker = { path = \"../worker\" }\n",
        ),
        (
            "api/src/main.rs",
            "fn main() { println!(\"api {}\", shared::NAME); }\n",
        ),
        (
            "worker/Cargo.toml",
            "[package]\nname = \"worker\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[build-dependencies]\nshared = { path = \"../../shared\" }\n\n[dev-dependencies]\ndevonly = { path = \"../../devonly\" }\n",
        ),
        ("worker/src/lib.rs", ""),
        (
            "worker/src/bin/worker.rs",
            "fn main() { println!(\"worker\"); }\n",
        ),
        (
            "../shared/Cargo.toml",
            "[package]\nname = \"shared\"\nversion = \"1.2.3\"\nedition = \"2021\"\n",
        ),
        (
            "../shared/src/lib.rs",
            "pub const NAME: &str = \"shared\";\n",
        ),
        (
            "../devonly/Cargo.toml",
            "[package]\nname = \"devonly\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
        ),
        ("../devonly/src/lib.rs", ""),
    ]);
    p.ok(&["deploy"]);
    snap!(p.ok(&["info"]));
    let v1 = p.read(".releases/v1.toml");
    assert!(v1.contains("used-by = [\"api\", \"worker\"]"), "{v1}");
    assert!(!v1.contains("devonly"));
    assert!(p.run(&["run"]).stderr.contains("pick one with `--bin`"));
    assert_eq!(p.ok(&["run", "--bin", "api"]), "api shared\n");
    assert_eq!(p.ok(&["run", "--bin", "worker"]), "worker\n");
}

#[test]
fn init_in_a_virtual_workspace_keeps_the_manifest_as_written() {
    let manifest = "# The fleet.\n[workspace]\nmembers = [\"api\"] # more soon\nresolver = \"2\"\n\n[workspace.dependencies]\n";
    let p = Project::with_files(&[
        ("Cargo.toml", manifest),
        (
            "api/Cargo.toml",
            "[package]\nname = \"api\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
        ),
        ("api/src/main.rs", "fn main() {}\n"),
    ]);
    p.ok(&["init", "--tier", "basic"]);
    assert_eq!(
        p.read("Cargo.toml"),
        format!("{manifest}\n[workspace.metadata.release-log]\ntier = \"basic\"\n")
    );
    p.commit("basic tier");
    assert!(p.ok(&["init"]).contains("(tier: basic)"));
}

/// Runs `args` while the test holds the ledger lock: waits for the command
/// to say it is blocked, calls `meanwhile`, then lets it go.
fn run_while_locked(p: &Project, args: &[&str], meanwhile: impl FnOnce()) -> (String, String) {
    use std::io::{BufRead as _, BufReader, Read as _};
    let lock = std::fs::File::options()
        .write(true)
        .open(p.path(".releases/.lock"))
        .unwrap();
    lock.lock().unwrap();
    let mut child = p
        .command(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut first = String::new();
    stderr.read_line(&mut first).unwrap();
    meanwhile();
    lock.unlock().unwrap();
    let mut rest = String::new();
    stderr.read_to_string(&mut rest).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{first}{rest}");
    (String::from_utf8(output.stdout).unwrap(), first + &rest)
}

#[test]
fn waits_for_the_ledger_lock_and_says_so() {
    let p = Project::new();
    p.ok(&["deploy"]);
    let (stdout, stderr) = run_while_locked(&p, &["deploy", "--no-build", "--force"], || {});
    assert_eq!(
        stderr,
        "    Blocking waiting for file lock on the release ledger\n"
    );
    assert!(stdout.contains("done, v2"));
}

#[test]
fn manifest_path_from_elsewhere() {
    let p = Project::new();
    let manifest = p.path("Cargo.toml");
    let mut cmd = p.command(&["--manifest-path", manifest.to_str().unwrap(), "deploy"]);
    let output = cmd.current_dir(std::env::temp_dir()).output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(p.exists(".releases/v1.toml"));
}

#[test]
fn a_refused_first_deploy_writes_nothing() {
    let p = Project::new();
    p.write("notes.txt", "not committed\n");
    p.run(&["deploy"]).assert_refused();
    assert!(!p.exists(".releases"));
}

#[test]
fn a_mistyped_profile_records_nothing() {
    let p = Project::new();
    // Not even the ledger folder, on a first deploy.
    let run = p.run(&["deploy", "--profile", "relaese"]);
    run.assert_refused();
    assert!(run.stderr.contains("stopped before building"), "{run}");
    p.ok(&["deploy"]);
    p.run(&["deploy", "--profile", "relaese"]).assert_refused();
    assert_eq!(p.release_files(), ["v1.toml"]);
}

#[test]
fn only_failed_releases_is_not_no_releases() {
    let p = Project::new();
    break_the_build(&p, "broken");
    assert_eq!(p.run(&["deploy"]).code, 1);
    let run = p.run(&["run"]);
    assert_eq!(
        run.stderr,
        "error: myapp has no successful release yet (v1 failed)\nhelp: run `cargo release-log deploy` first\n"
    );
}

#[test]
fn no_build_after_a_rollback_keeps_the_latest_deploys_build() {
    let p = Project::new();
    p.ok(&["deploy"]);
    change_code(&p, "v2");
    p.ok(&["deploy"]);
    p.ok(&["rollback"]);
    assert!(p.ok(&["run"]).starts_with("hello from v1"));
    p.ok(&["deploy", "--no-build"]);
    // The new deploy's commit is v2's, and so is what runs: not the rolled-back v1 build.
    assert!(p.ok(&["run"]).starts_with("hello from v2"));
}

#[test]
fn the_ledger_gitignore_is_kept_once_written() {
    let p = Project::new();
    p.ok(&["deploy"]);
    let gitignore = p.read(".releases/.gitignore") + "/scratch/\n";
    p.write(".releases/.gitignore", &gitignore);
    p.ok(&["deploy"]);
    p.ok(&["init"]);
    assert_eq!(p.read(".releases/.gitignore"), gitignore);
    // One an older version wrote gains the lines a newer one needs.
    p.write(".releases/.gitignore", "/slugs/\n/current\n");
    p.ok(&["sync"]);
    assert_eq!(
        p.read(".releases/.gitignore"),
        "/slugs/\n/current\n/.lock\n/.index\n/.chain\n/.built\n/.tmp/\n/.tmp-*\n/.journal/\n"
    );
}

#[test]
fn concurrent_changes_get_distinct_numbers_and_one_chain() {
    let p = Project::new();
    p.ok(&["deploy"]);
    let handles: Vec<_> = (0..8)
        .map(|i| {
            let mut cmd = p.command(&["config", "set", &format!("W{i}=1")]);
            std::thread::spawn(move || cmd.output().unwrap())
        })
        .collect();
    for handle in handles {
        let output = handle.join().unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let files = p.release_files();
    assert_eq!(files.len(), 9, "{files:?}");
    for v in 2..=9 {
        let previous =
            sha256_hex(&std::fs::read(p.path(&format!(".releases/v{}.toml", v - 1))).unwrap());
        let text = p.read(&format!(".releases/v{v}.toml"));
        assert!(
            text.contains(&format!("previous-digest = \"sha256:{previous}\"")),
            "v{v} breaks the chain"
        );
    }
    // Every change landed: the current release holds all eight vars.
    assert_eq!(vars(p.ok(&["info", "--shell"])).lines().count(), 8);
}

#[test]
fn env_entries_that_cannot_be_environment_variables_are_refused() {
    let p = Project::new();
    p.ok(&["deploy"]);
    p.write(".cargo/config.toml", "[env]\n\"A=B\" = \"1\"\n");
    let run = p.run(&["deploy"]);
    run.assert_refused();
    snap!(run);
    assert_eq!(p.release_files(), ["v1.toml"]);
    p.ok(&["sync"]);
    assert_eq!(p.read(".cargo/config.toml"), "");
}

#[test]
fn a_deploy_records_the_config_it_finds_once_it_holds_the_lock() {
    let p = Project::new();
    p.ok(&["deploy"]);
    // While the deploy waits, [env] changes (here by hand).
    let (stdout, _) = run_while_locked(&p, &["deploy", "--no-build"], || {
        p.write(".cargo/config.toml", "[env]\nA = \"1\"\n");
    });
    assert!(
        stdout.starts_with("-----> Recording config vars from .cargo/config.toml:\n  + A => 1\n"),
        "{stdout}"
    );
    assert!(
        stdout.ends_with("-----> Launching... done, v2\n"),
        "{stdout}"
    );
    assert_eq!(vars(p.ok(&["info", "--shell"])), "A=1\n");
}

#[test]
fn uncommitted_changes_in_a_path_addon_are_dirt() {
    let p = Project::new();
    p.write(
        "../shared/Cargo.toml",
        "[package]\nname = \"shared\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    );
    p.write(
        "../shared/src/lib.rs",
        "pub const NAME: &str = \"shared\";\n",
    );
    let shared = p.root().parent().unwrap().join("shared");
    for args in [
        &["init", "-q", "-b", "main"][..],
        &["add", "-A"],
        &[
            "-c",
            "user.email=a@b",
            "-c",
            "user.name=A",
            "commit",
            "-qm",
            "shared",
        ],
    ] {
        let status = clean(std::process::Command::new("git"))
            .args(args)
            .current_dir(&shared)
            .status()
            .unwrap();
        assert!(status.success());
    }
    let manifest = p.read("Cargo.toml") + "shared = { path = \"../shared\" }\n";
    p.write("Cargo.toml", &manifest);
    p.cargo(&["generate-lockfile", "--offline"]);
    p.commit("use shared");
    p.ok(&["deploy"]);
    p.write(
        "../shared/src/lib.rs",
        "pub const NAME: &str = \"changed\";\n",
    );
    let run = p.run(&["deploy"]);
    run.assert_refused();
    assert!(run.stderr.contains("\n../shared/src/lib.rs\n"), "{run}");
}

#[test]
fn no_build_records_which_build_runs() {
    let p = Project::new();
    p.ok(&["deploy", "--no-build"]);
    p.ok(&["deploy"]);
    change_code(&p, "v3");
    p.ok(&["deploy", "--no-build"]);
    let info = p.ok(&["info"]);
    assert!(
        info.contains("Code:   d213f62, not built: runs the build of 7d38e88\n"),
        "{info}"
    );
    // v1 was recorded before anything was built: nothing to roll back to.
    let v1 = p.ok(&["info", "v1"]);
    assert!(v1.ends_with("Eligible for Rollback?: No (it was deployed with --no-build before anything was built)\n"), "{v1}");
    p.ok(&["rollback"]);
    let run = p.run(&["rollback", "v1"]);
    run.assert_refused();
}

#[test]
fn messages_stay_on_one_line() {
    let p = Project::new();
    p.ok(&["deploy", "-m", "first\nsecond\tthird"]);
    let table = p.ok(&["releases"]);
    assert_eq!(table.lines().count(), 3, "{table}");
    assert!(
        table.contains(r"Deploy 7d38e88: first\nsecond\tthird"),
        "{table}"
    );
}

#[test]
fn quiet_quiets_cargo_too() {
    let p = Project::new();
    let run = p.run(&["-q", "deploy"]);
    assert_eq!(run.code, 0, "{run}");
    assert_eq!((run.stdout.as_str(), run.stderr.as_str()), ("", ""));
}

#[test]
fn an_out_of_date_cargo_lock_is_refused() {
    let p = Project::new();
    // A new dependency, committed without updating Cargo.lock.
    depend_on_path_addon(&p);
    p.commit("use addon, forget Cargo.lock");
    let run = p.run(&["deploy"]);
    run.assert_refused();
    assert!(run.stderr.contains("--locked"), "{run}");
    assert!(run.stderr.contains("nothing was recorded"), "{run}");
    assert!(
        p.git(&["status", "--porcelain"]).is_empty(),
        "Cargo.lock was rewritten"
    );
}

#[test]
fn uncommitted_build_settings_in_the_config_file_are_dirt() {
    let p = Project::new();
    p.ok(&["deploy"]);
    // [env] changes are the tool's own; a build flag is not.
    p.write(".cargo/config.toml", "[env]\nA = \"1\"\n");
    p.ok(&["deploy", "--no-build"]);
    p.write(
        ".cargo/config.toml",
        "[env]\nA = \"1\"\n\n[build]\nrustflags = [\"--cfg\", \"sneaky\"]\n",
    );
    let run = p.run(&["deploy"]);
    run.assert_refused();
    assert!(run.stderr.contains("\n.cargo/config.toml\n"), "{run}");
}

#[cfg(unix)]
#[test]
fn an_ignored_config_file_is_not_dirt_by_itself() {
    // A config file git ignores has nothing committed to differ from.
    let q = Project::new();
    q.write(".gitignore", "/target\n/.cargo\n");
    q.write(".cargo/config.toml", "[build]\njobs = 1\n");
    q.commit("ignore local cargo config");
    q.ok(&["deploy"]);
    q.ok(&["config", "set", "A=1"]);
    q.ok(&["deploy"]);
}

#[test]
fn no_build_before_any_build_can_still_be_rolled_back_to() {
    let p = Project::new();
    p.ok(&["deploy", "--no-build"]);
    p.ok(&["deploy", "--no-build", "--force"]);
    assert!(!p.read(".releases/v2.toml").contains("built-from"));
    p.ok(&["config", "set", "A=1"]);
    // Nothing was ever built, so nothing is lost by going back.
    p.ok(&["rollback"]);
}

/// The files of the tool's own index of the workspace, in the git folder.
fn own_indexes(p: &Project) -> Vec<String> {
    let mut names = Vec::new();
    let Ok(folders) = std::fs::read_dir(p.path(".git/cargo-release-log")) else {
        return names;
    };
    for folder in folders {
        for file in std::fs::read_dir(folder.unwrap().path()).unwrap() {
            names.push(file.unwrap().file_name().into_string().unwrap());
        }
    }
    names.sort();
    names
}

fn own_index_path(p: &Project) -> std::path::PathBuf {
    let head = p.git(&["rev-parse", "HEAD"]);
    let folder = std::fs::read_dir(p.path(".git/cargo-release-log"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    folder.join(head)
}

/// The tool's own index holds exactly what `HEAD` does outside `.releases/`.
fn assert_own_index_is_head(p: &Project) {
    let own: Vec<String> = p
        .git_with_index(&own_index_path(p), &["ls-files", "-s"])
        .lines()
        .map(|line| {
            let (entry, path) = line.split_once('\t').unwrap();
            let mut fields = entry.split(' ');
            format!(
                "{} {} {path}",
                fields.next().unwrap(),
                fields.next().unwrap()
            )
        })
        .collect();
    let head: Vec<String> = p
        .git(&["ls-tree", "-r", "HEAD"])
        .lines()
        .filter_map(|line| {
            let (entry, path) = line.split_once('\t').unwrap();
            let fields: Vec<&str> = entry.split(' ').collect();
            (!path.starts_with(".releases/")).then(|| format!("{} {} {path}", fields[0], fields[2]))
        })
        .collect();
    assert_eq!(own, head);
}

/// Has every later command find a `git` that refuses `git status`, so that
/// a test shows the tool's own index answered.
fn refuse_git_status(p: &Project) {
    let real = String::from_utf8(
        std::process::Command::new("sh")
            .args(["-c", "command -v git"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let shim = p.scratch().join("shim");
    std::fs::create_dir_all(&shim).unwrap();
    let script = shim.join("git");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nfor a in \"$@\"; do [ \"$a\" = status ] && {{ echo 'git status was asked' >&2; exit 99; }}; done\nexec {} \"$@\"\n",
            real.trim()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = std::env::var("PATH").unwrap_or_default();
    p.set_env(vec![(
        "PATH".to_owned(),
        format!("{}:{path}", shim.display()),
    )]);
}

#[test]
fn dirt_is_judged_against_the_commit_as_head_moves() {
    let p = Project::new();
    refuse_git_status(&p);
    p.ok(&["deploy", "--no-build"]);
    assert_own_index_is_head(&p);
    let first = p.git(&["rev-parse", "HEAD"]);
    assert_eq!(own_indexes(&p), std::slice::from_ref(&first));

    // A commit that changes a file, adds a folder and a top-level file.
    p.write("src/main.rs", &MAIN_RS.replace("from v1", "from v2"));
    p.write("docs/guide.md", "guide\n");
    p.write("NOTES", "notes\n");
    let second = p.commit("v2, with docs");
    p.ok(&["deploy", "--no-build"]);
    assert_eq!(own_indexes(&p), std::slice::from_ref(&second));
    assert_own_index_is_head(&p);

    // The working tree as the first commit had it is not the second commit.
    p.write("src/main.rs", MAIN_RS);
    let run = p.run(&["deploy", "--no-build"]);
    run.assert_refused();
    assert!(run.stderr.contains("\nsrc/main.rs\n"), "{run}");
    p.git(&["checkout", "--", "src/main.rs"]);

    // A commit that removes what the last one added: nothing is missing.
    p.git(&["rm", "-q", "-r", "docs", "NOTES"]);
    p.commit("no docs");
    p.ok(&["deploy", "--no-build"]);
    assert_own_index_is_head(&p);

    // A file made executable in a commit, then not in the working tree.
    use std::os::unix::fs::PermissionsExt as _;
    let mode = |m| std::fs::Permissions::from_mode(m);
    p.write("run.sh", "#!/bin/sh\n");
    std::fs::set_permissions(p.path("run.sh"), mode(0o755)).unwrap();
    p.commit("a script");
    p.ok(&["deploy", "--no-build"]);
    assert_own_index_is_head(&p);
    assert!(p.git(&["ls-tree", "HEAD", "run.sh"]).starts_with("100755"));
    std::fs::set_permissions(p.path("run.sh"), mode(0o644)).unwrap();
    let run = p.run(&["deploy", "--no-build"]);
    run.assert_refused();
    assert!(run.stderr.contains("\nrun.sh\n"), "{run}");
    std::fs::set_permissions(p.path("run.sh"), mode(0o755)).unwrap();
    // A file that became a link to the same text.
    std::fs::remove_file(p.path("run.sh")).unwrap();
    p.write("script.sh", "#!/bin/sh\n");
    std::os::unix::fs::symlink("script.sh", p.path("run.sh")).unwrap();
    let run = p.run(&["deploy", "--no-build"]);
    run.assert_refused();
    assert!(run.stderr.contains("\nrun.sh\n"), "{run}");
    std::fs::remove_file(p.path("run.sh")).unwrap();
    std::fs::remove_file(p.path("script.sh")).unwrap();
    p.git(&["checkout", "--", "run.sh"]);

    // Back to the first commit, with the second's files still on disk.
    p.git(&["checkout", "-q", &first]);
    p.write("docs/guide.md", "guide\n");
    let run = p.run(&["deploy", "--no-build"]);
    run.assert_refused();
    assert!(run.stderr.contains("\ndocs/guide.md\n"), "{run}");
    std::fs::remove_dir_all(p.path("docs")).unwrap();
    p.ok(&["deploy", "--no-build"]);
    assert_eq!(own_indexes(&p), [first]);
    p.ok(&["check"]);
}

#[test]
fn a_damaged_or_unknown_own_index_is_made_again() {
    let p = Project::new();
    p.ok(&["deploy", "--no-build"]);
    let index = own_index_path(&p);

    // Garbage where the index was: git status answers, and the index is
    // made again the next time.
    std::fs::write(&index, "not an index\n").unwrap();
    p.write("src/main.rs", &MAIN_RS.replace("from v1", "from v2"));
    let run = p.run(&["deploy", "--no-build"]);
    run.assert_refused();
    assert!(run.stderr.contains("\nsrc/main.rs\n"), "{run}");
    p.git(&["checkout", "--", "src/main.rs"]);
    p.ok(&["deploy", "--no-build", "--force"]);
    let listed = p.git_with_index(&index, &["ls-files"]);
    assert_eq!(listed, ".gitignore\nCargo.lock\nCargo.toml\nsrc/main.rs");

    // An index of a commit git no longer has is not built upon.
    let unknown = index.with_file_name("0".repeat(40));
    std::fs::rename(&index, &unknown).unwrap();
    p.write("src/main.rs", &MAIN_RS.replace("from v1", "from v3"));
    let third = p.commit("v3");
    p.ok(&["deploy", "--no-build"]);
    assert_eq!(own_indexes(&p), [third]);
    p.write("new.rs", "\n");
    refused(&p, &["deploy", "--no-build"]);
}

#[test]
fn the_staging_area_plays_no_part_in_dirt() {
    let p = Project::new();
    p.ok(&["deploy", "--no-build"]);
    // Staged, and so in the working tree too: dirt.
    p.write("src/main.rs", &MAIN_RS.replace("from v1", "from v2"));
    p.git(&["add", "src/main.rs"]);
    let run = p.run(&["deploy", "--no-build"]);
    run.assert_refused();
    assert!(run.stderr.contains("\nsrc/main.rs\n"), "{run}");
    // Staged, then undone in the working tree: the build is the commit.
    p.write("src/main.rs", MAIN_RS);
    p.ok(&["deploy", "--no-build", "--force"]);
    // A new file staged: dirt, as it is in the working tree.
    p.write("src/extra.rs", "\n");
    p.git(&["add", "src/extra.rs"]);
    let run = p.run(&["deploy", "--no-build"]);
    run.assert_refused();
    assert!(run.stderr.contains("\nsrc/extra.rs\n"), "{run}");
}

#[test]
fn odd_file_names_are_dirt_by_their_names() {
    let p = Project::new();
    p.ok(&["deploy", "--no-build"]);
    p.write("a file with spaces.txt", "\n");
    p.write("src/ünïcödé.rs", "\n");
    let run = p.run(&["deploy", "--no-build"]);
    run.assert_refused();
    assert!(run.stderr.contains("\na file with spaces.txt\n"), "{run}");
    assert!(run.stderr.contains("\nsrc/ünïcödé.rs\n"), "{run}");
}

#[test]
fn a_workspace_in_a_folder_of_a_repository_with_another() {
    let p = Project::new();
    p.write(
        "svc/Cargo.toml",
        "[package]\nname = \"svc\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n",
    );
    p.write("svc/src/main.rs", MAIN_RS);
    p.write(
        "svc/Cargo.lock",
        "# This file is automatically @generated by Cargo.\n\
         # It is not intended for manual editing.\n\
         version = 4\n\n[[package]]\nname = \"svc\"\nversion = \"0.1.0\"\n",
    );
    p.write(
        "Cargo.toml",
        &format!(
            "{}\n[workspace]\nexclude = [\"svc\"]\n",
            p.read("Cargo.toml")
        ),
    );
    p.commit("a second workspace");
    let svc = ["--manifest-path", "svc/Cargo.toml"];
    p.ok(&["deploy", "--no-build"]);
    p.ok(&[&["deploy", "--no-build"][..], &svc].concat());
    // One index for each.
    assert_eq!(own_indexes(&p).len(), 2);
    assert!(p.exists("svc/.releases/v1.toml"));

    // Dirt in the outer workspace's own files is not the inner one's; the
    // inner ledger, once committed, is not dirt to the outer one.
    p.git(&["add", "svc/.releases"]);
    p.commit("the inner ledger");
    p.write("src/main.rs", &MAIN_RS.replace("from v1", "from v2"));
    p.ok(&[&["deploy", "--no-build", "--force"][..], &svc].concat());
    p.git(&["add", "svc/.releases"]);
    p.git(&["commit", "-q", "-m", "the inner ledger again"]);
    let run = p.run(&["deploy", "--no-build"]);
    run.assert_refused();
    assert!(run.stderr.contains("\nsrc/main.rs\n"), "{run}");
    assert!(!run.stderr.contains("svc/"), "{run}");
    p.git(&["checkout", "--", "src/main.rs"]);
    p.write("svc/src/main.rs", &MAIN_RS.replace("from v1", "from v2"));
    let run = p.run(&[&["deploy", "--no-build"][..], &svc].concat());
    run.assert_refused();
    assert!(run.stderr.contains("src/main.rs"), "{run}");
    // Committed, it is the inner workspace's new code.
    p.git(&["add", "svc/src/main.rs"]);
    p.git(&["commit", "-q", "-m", "svc v2"]);
    p.ok(&[&["deploy", "--no-build"][..], &svc].concat());
    p.write("svc/src/main.rs", MAIN_RS);
    let run = p.run(&[&["deploy", "--no-build"][..], &svc].concat());
    run.assert_refused();
    assert!(run.stderr.contains("src/main.rs"), "{run}");
}

#[test]
fn changes_inside_a_submodule_are_dirt() {
    let p = Project::new();
    let url = p.git_crate("1.0.0");
    p.git(&[
        "-c",
        "protocol.file.allow=always",
        "submodule",
        "add",
        "-q",
        &url,
        "vendor/gitdep",
    ]);
    p.commit("vendor gitdep");
    p.ok(&["deploy", "--no-build"]);
    // git status looks into submodules; the tool's own index does not.
    assert_eq!(own_indexes(&p), Vec::<String>::new());
    p.write(
        "vendor/gitdep/src/lib.rs",
        "pub const VERSION: &str = \"edited\";\n",
    );
    let run = p.run(&["deploy", "--no-build"]);
    run.assert_refused();
    assert!(run.stderr.contains("\nvendor/gitdep\n"), "{run}");
}

#[test]
fn a_workspace_reached_through_a_link_is_judged_by_its_paths() {
    let p = Project::new();
    let link = p.scratch().join("link");
    std::os::unix::fs::symlink(p.root(), &link).unwrap();
    let manifest = link.join("Cargo.toml");
    let through_link = ["--manifest-path", manifest.to_str().unwrap()];
    p.ok(&[&["deploy", "--no-build"][..], &through_link].concat());
    // The `[env]` file the tool changed is its own, not dirt.
    p.ok(&["config", "set", "MYVAR=1"]);
    p.ok(&[&["deploy", "--no-build", "--force"][..], &through_link].concat());
    p.write("src/main.rs", &MAIN_RS.replace("from v1", "from v2"));
    let run = p.run(&[&["deploy", "--no-build"][..], &through_link].concat());
    run.assert_refused();
    assert!(run.stderr.contains("\nsrc/main.rs\n"), "{run}");
}

fn set_mtime(path: &std::path::Path, time: std::time::SystemTime) {
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(time)
        .unwrap();
}

#[test]
fn a_change_in_the_second_the_own_index_was_written_is_seen() {
    let p = Project::new();
    // git then compares a file's modification second and size only.
    p.git(&["config", "core.checkStat", "minimal"]);
    let second = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
    set_mtime(&p.path("src/main.rs"), second);
    p.ok(&["deploy", "--no-build"]);
    // As if the index had been written in the second the file last changed,
    // and the file changed again in that second, keeping its size.
    set_mtime(&own_index_path(&p), second);
    p.write("src/main.rs", &MAIN_RS.replace("from v1", "from v2"));
    set_mtime(&p.path("src/main.rs"), second);
    let run = refused(&p, &["deploy", "--no-build"]);
    assert!(run.stderr.contains("\nsrc/main.rs\n"), "{run}");
    // Carried over to a commit that changes none of the workspace's files.
    p.git(&["commit", "-q", "--allow-empty", "-m", "nothing new"]);
    let run = refused(&p, &["deploy", "--no-build"]);
    assert!(run.stderr.contains("\nsrc/main.rs\n"), "{run}");
    // And to one that changes another file, which git writes afresh.
    p.write("NOTES", "notes\n");
    p.git(&["add", "NOTES"]);
    p.git(&["commit", "-q", "-m", "notes"]);
    let run = refused(&p, &["deploy", "--no-build"]);
    assert!(run.stderr.contains("\nsrc/main.rs\n"), "{run}");
    assert!(!run.stderr.contains("NOTES"), "{run}");
}

#[test]
fn files_are_looked_at_whatever_git_is_told_to_trust() {
    let p = Project::new();
    // git marks what it writes as unchanged, and trusts that mark.
    p.git(&["config", "core.ignoreStat", "true"]);
    refuse_git_status(&p);
    p.ok(&["deploy", "--no-build"]);
    p.write("src/main.rs", &MAIN_RS.replace("from v1", "from v2"));
    let run = p.run(&["deploy", "--no-build"]);
    run.assert_refused();
    assert!(run.stderr.contains("\nsrc/main.rs\n"), "{run}");
}

/// Run through `cargo run` (the repository's alias, an xtask), the tool gets
/// cargo's variables for a running program; its own build must not, or build
/// scripts rerun and crates rebuild whenever it alternates with a plain build.
#[test]
fn the_build_sees_the_environment_a_plain_cargo_build_would() {
    let p = Project::with_files(&[
        (
            "Cargo.toml",
            "[package]\nname = \"myapp\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
        ),
        (
            "build.rs",
            "fn main() {\n    \
             println!(\"cargo:rerun-if-env-changed=CARGO_BIN_NAME\");\n    \
             let seen = std::env::var(\"CARGO_BIN_NAME\").unwrap_or_default();\n    \
             println!(\"cargo:rustc-env=SEEN={seen}\");\n}\n",
        ),
        (
            "src/main.rs",
            "fn main() { println!(\"build script saw CARGO_BIN_NAME={:?}\", env!(\"SEEN\")); }\n",
        ),
    ]);
    let deploy = p
        .command(&["deploy"])
        .env("CARGO_BIN_NAME", "cargo-release-log")
        .env("CARGO_MANIFEST_DIR", "/somewhere/else")
        .env("CARGO_PKG_NAME", "cargo-release-log")
        .env("CARGO_PRIMARY_PACKAGE", "1")
        .output()
        .unwrap();
    assert!(deploy.status.success(), "{deploy:?}");
    assert_eq!(
        p.ok(&["run", "myapp"]),
        "build script saw CARGO_BIN_NAME=\"\"\n"
    );
}
