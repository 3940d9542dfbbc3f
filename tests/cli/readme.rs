//! The README's recipes, run as a user would run them: a recipe no test runs is a bug.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use fs_err as fs;

use crate::support::*;

/// The fenced blocks of kind `lang` in the README section under `heading`.
fn blocks(heading: &str, lang: &str) -> Vec<String> {
    let readme = include_str!("../../README.md");
    let start = readme
        .find(&format!("\n## {heading}\n"))
        .unwrap_or_else(|| panic!("the README has no `## {heading}`"));
    let section = &readme[start + 1..];
    let section = &section[..section[3..].find("\n## ").map_or(section.len(), |i| i + 3)];
    let fence = format!("```{lang}\n");
    section
        .match_indices(&fence)
        .map(|(at, _)| {
            let body = &section[at + fence.len()..];
            body[..body.find("```").unwrap()].to_owned()
        })
        .collect()
}

/// The arguments of each `cargo release-log …` line of a shell block
/// (comments dropped; the recipes quote nothing).
fn commands(block: &str) -> Vec<Vec<String>> {
    block
        .lines()
        .map(|line| line.split(" #").next().unwrap().trim())
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            let words: Vec<String> = line.split_whitespace().map(str::to_owned).collect();
            assert_eq!(
                words[..2],
                ["cargo", "release-log"],
                "not a command: {line}"
            );
            words[2..].to_vec()
        })
        .collect()
}

#[test]
fn the_pipeline_recipe_runs_as_written() {
    let p = Project::new();
    let [settings] = &blocks("Environments and promote", "toml")[..] else {
        panic!("one settings block expected");
    };
    let [recipe] = &blocks("Environments and promote", "sh")[..] else {
        panic!("one recipe expected");
    };
    let manifest = p.read("Cargo.toml");
    p.write("Cargo.toml", &format!("{manifest}\n{settings}"));
    p.commit("a pipeline");
    let commands = commands(recipe);
    assert!(commands.len() >= 5, "{recipe}");
    for args in &commands {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        ok(&p, &args);
    }
    // Where the recipe leaves the two environments.
    let production = p.ok(&["--env", "production", "info", "--json"]);
    assert!(
        production.contains("\"change\": \"Rollback to v1\""),
        "{production}"
    );
    assert!(p.exists(".releases/environments/staging/v1.toml"));
    assert!(!p.exists(".releases/v1.toml"));
}

#[test]
fn the_release_command_recipes_are_accepted_and_the_tool_recipe_installs() {
    let blocks = blocks("Releases that act", "toml");
    let [service, tool] = &blocks[..] else {
        panic!("two recipes expected, found {}", blocks.len());
    };
    // The service recipe needs a service; its settings are what the tool reads.
    let p = Project::new();
    let manifest = p.read("Cargo.toml");
    p.write("Cargo.toml", &format!("{manifest}\n{service}"));
    p.commit("a service");
    let check = ok(&p, &["check"]);
    assert!(check.code == 0, "{check}");

    // The tool recipe runs as written.
    let p = Project::new();
    let manifest = p.read("Cargo.toml");
    p.write("Cargo.toml", &format!("{manifest}\n{tool}"));
    p.commit("a tool");
    let deploy = ok(&p, &["deploy"]);
    assert!(deploy.stderr.contains("hello from v1"), "{deploy}");
    let installed = p.scratch().join("bin/myapp");
    let output = std::process::Command::new(&installed).output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "hello from v1 (MYVAR=None, args=[])\n"
    );
}

/// The folder beside the build where the README's heavier recipes keep what
/// they build between runs: `target/readme/`.
fn readme_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    let dir = target.join("readme");
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// A fresh clone of this repository's committed tree at
/// `target/readme/clone`, whose own `target/` survives between runs so
/// that the tool is built in release once; held for the caller alone.
fn fresh_clone() -> (std::sync::MutexGuard<'static, ()>, PathBuf) {
    static CLONE: Mutex<()> = Mutex::new(());
    let guard = CLONE.lock().unwrap_or_else(|e| e.into_inner());
    let clone = readme_dir().join("clone");
    let repo = env!("CARGO_MANIFEST_DIR");
    let git = |dir: &Path, args: &[&str]| {
        let output = clean(Command::new("git"))
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(output.status.success(), "git {args:?}: {output:?}");
    };
    if !clone.join(".git").is_dir() {
        let _ = fs::remove_dir_all(&clone);
        git(&readme_dir(), &["clone", "-q", "--no-local", repo, "clone"]);
    } else {
        git(&clone, &["fetch", "-q", repo, "HEAD"]);
        git(&clone, &["reset", "-q", "--hard", "FETCH_HEAD"]);
    }
    // As fresh as a clone, but for its build.
    git(&clone, &["clean", "-q", "-fdx", "-e", "/target/"]);
    (guard, clone)
}

/// `cargo <args>` in `dir` with the user's own cargo home (its registry
/// cache), offline.
fn user_cargo(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = clean(Command::new(env!("CARGO")));
    cmd.args(args)
        .current_dir(dir)
        .env("CARGO_NET_OFFLINE", "true");
    if let Some(home) = std::env::var_os("CARGO_HOME") {
        cmd.env("CARGO_HOME", home);
    }
    cmd
}

fn output_of(mut cmd: Command) -> (bool, String, String) {
    let output = cmd.output().unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn developing_takes_the_two_commands_and_deploy_works_in_a_fresh_clone() {
    let blocks = blocks("Developing this repository", "sh");
    let [commands] = &blocks[..] else {
        panic!("one block of set-up commands expected");
    };
    let lines: Vec<&str> = commands.lines().collect();
    assert_eq!(lines, ["cargo release-log deploy", "cargo test"]);
    // `cargo test` is this very run; the deploy runs in a fresh clone,
    // through the clone's own alias, twice.
    let (_guard, clone) = fresh_clone();
    let deploy = || {
        let mut cmd = user_cargo(&clone, &["release-log", "deploy"]);
        cmd.env("CARGO_RELEASE_LOG_NOW", "2026-12-03T12:00:00Z");
        output_of(cmd)
    };
    let (ok, stdout, stderr) = deploy();
    assert!(ok, "{stdout}\n{stderr}");
    // Cargo shows the tool's own build (or that it is built) as it goes.
    assert!(stderr.contains("Finished `release` profile"), "{stderr}");
    assert!(
        stdout.contains("-----> Launching... done, v1"),
        "{stdout}\n{stderr}"
    );
    assert!(clone.join(".releases/v1.toml").is_file());
    let (ok, stdout, stderr) = deploy();
    assert!(ok, "{stdout}\n{stderr}");
    assert!(!stderr.contains("Compiling"), "{stderr}");
    assert!(stdout.contains("nothing was recorded"), "{stdout}");
}

#[test]
fn the_ci_job_installs_the_tool_from_its_source_and_checks() {
    let [job] = &blocks("In CI", "yaml")[..] else {
        panic!("one CI job expected");
    };
    let runs: Vec<&str> = job
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- run: "))
        .collect();
    let [install, check] = runs[..] else {
        panic!("two run steps expected: {runs:?}");
    };
    // The job installs from the repository's source: here, from this one.
    let source = install
        .strip_prefix("cargo install --locked --git ")
        .and_then(|rest| rest.strip_suffix(" cargo-release-log"))
        .unwrap_or_else(|| panic!("not an install from git: {install}"));
    assert!(source.starts_with("https://"), "{source}");
    assert_eq!(check, "cargo release-log check");

    let p = Project::new();
    p.ok(&["deploy"]);
    p.git(&["add", ".releases"]);
    p.commit("v1");
    // Installed as the README's Install section says, from a clone.
    let [install_here] = &blocks("Install", "sh")[..] else {
        panic!("one install command expected");
    };
    let words: Vec<&str> = install_here.split_whitespace().collect();
    assert_eq!(words, ["cargo", "install", "--locked", "--path", "."]);
    let (_guard, clone) = fresh_clone();
    let root = p.scratch().join("installed");
    let mut cmd = user_cargo(&clone, &words[1..]);
    cmd.arg("--root");
    cmd.arg(&root).env("CARGO_TARGET_DIR", clone.join("target"));
    let (ok, stdout, stderr) = output_of(cmd);
    assert!(ok, "{stdout}\n{stderr}");
    // `cargo release-log check` finds the installed tool on PATH.
    let path = std::env::join_paths(std::iter::once(root.join("bin")).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .unwrap();
    let words: Vec<&str> = check.split_whitespace().collect();
    let mut cmd = p.program(env!("CARGO"));
    cmd.args(&words[1..]).env("PATH", path);
    let (ok, stdout, stderr) = output_of(cmd);
    assert!(ok, "{stdout}\n{stderr}");
    assert!(stdout.contains("the ledger is intact"), "{stdout}");
}

#[test]
fn the_snapshot_test_recipe_accepts_then_verifies_the_history() {
    let [recipe] = &blocks("In CI", "rust")[..] else {
        panic!("one snapshot test expected");
    };
    let readme = include_str!("../../README.md");
    let deps = "insta = { version = \"1\", features = [\"json\", \"redactions\"] }";
    assert!(
        readme.contains(deps),
        "the README names its dev-dependencies"
    );

    let p = Project::new();
    p.ok(&["deploy"]);
    p.advance(60);
    p.ok(&["config", "set", "MYVAR=42"]);
    let manifest = p.read("Cargo.toml");
    p.write(
        "Cargo.toml",
        &format!("{manifest}\n[dev-dependencies]\n{deps}\nserde_json = \"1\"\n"),
    );
    p.write("tests/release_history.rs", recipe);
    let target = readme_dir().join("snapshot-recipe");
    let test = |update: &str| {
        let mut cmd = user_cargo(p.root(), &["test", "--test", "release_history"]);
        // The tool as installed: this build's, first on `PATH`.
        let bin_dir = Path::new(env!("CARGO_BIN_EXE_cargo-release-log"))
            .parent()
            .unwrap()
            .to_owned();
        let path = std::env::var_os("PATH").unwrap_or_default();
        let path =
            std::env::join_paths(std::iter::once(bin_dir).chain(std::env::split_paths(&path)))
                .unwrap();
        cmd.env("PATH", path)
            .env("CARGO_TARGET_DIR", &target)
            .env("INSTA_UPDATE", update)
            .env("CARGO_RELEASE_LOG_NOW", "2026-12-03T12:00:00Z")
            .env("CARGO_RELEASE_LOG_SECRETS", p.secret_store());
        output_of(cmd)
    };
    // Accept, then verify: the history is the snapshot.
    let (ok, stdout, stderr) = test("always");
    assert!(ok, "{stdout}\n{stderr}");
    let snapshot = p.read("tests/snapshots/release_history__release_history.snap");
    assert!(
        snapshot.contains("\"change\": \"Config add MYVAR\""),
        "{snapshot}"
    );
    assert!(
        snapshot.contains("\"eligible-for-rollback\": \"[eligibility]\""),
        "{snapshot}"
    );
    let (ok, stdout, stderr) = test("no");
    assert!(ok, "{stdout}\n{stderr}");
    // A new release is a change a review sees.
    p.advance(60);
    p.ok(&["config", "set", "MYVAR=43"]);
    let (ok, stdout, stderr) = test("no");
    assert!(!ok, "{stderr}");
    assert!(stdout.contains("-old snapshot"), "{stdout}");
    assert!(stdout.contains("MYVAR"), "{stdout}");
}

#[test]
fn the_xtask_example_ships_a_workspace() {
    let section = blocks_or_text("Use from an xtask");
    assert!(section.contains("examples/xtask.rs"), "{section}");
    // `cargo test` builds the examples beside the test binaries.
    let exe = std::env::current_exe().unwrap();
    let xtask = exe
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples/xtask");
    assert!(xtask.is_file(), "{} is not built", xtask.display());
    let p = Project::new();
    let mut cmd = p.program(&xtask);
    cmd.args(["Cargo.toml", "MYVAR=shipped"]);
    let (ok, stdout, stderr) = output_of(cmd);
    assert!(ok, "{stdout}\n{stderr}");
    let info = p.ok(&["info", "--json"]);
    assert!(info.contains("\"MYVAR\": \"shipped\""), "{info}");
    assert_eq!(
        p.ok(&["run"]),
        "hello from v1 (MYVAR=Some(\"shipped\"), args=[])\n"
    );
}

/// The text of the README section under `heading`.
fn blocks_or_text(heading: &str) -> String {
    let readme = include_str!("../../README.md");
    let start = readme
        .find(&format!("\n## {heading}\n"))
        .unwrap_or_else(|| panic!("the README has no `## {heading}`"));
    let section = &readme[start + 1..];
    section[..section[3..].find("\n## ").map_or(section.len(), |i| i + 3)].to_owned()
}

/// The tour's transcript, run in a workspace like the one it shows: each
/// command's output, stderr then stdout, is what the README says, but for
/// times, sizes, commits, paths and column widths.
#[test]
fn the_tour_is_what_the_tool_prints() {
    let [tour] = &blocks("A tour", "console")[..] else {
        panic!("one transcript expected");
    };
    let p = Project::with_crates(
        REGISTRY,
        &[
            (
                "Cargo.toml",
                "[package]\nname = \"myapp\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\n",
            ),
            ("src/main.rs", "fn main() { println!(\"Hello, v1!\"); }\n"),
        ],
    );
    let mut actual = String::new();
    for (line, _) in transcript_steps(tour) {
        let (command, comment) = line.split_once(" #").unwrap_or((line.as_str(), ""));
        if comment.contains("after committing a change") {
            p.advance(86_400);
            p.write("src/main.rs", "fn main() { println!(\"Hello, v2!\"); }\n");
            p.commit("say v2");
        } else {
            p.advance(300);
        }
        let words: Vec<&str> = command.split_whitespace().collect();
        assert_eq!(words[..2], ["cargo", "release-log"], "{command}");
        let run = p.run(&words[2..]);
        actual.push_str(&format!("$ {line}\n{}{}\n", run.stderr, run.stdout));
    }
    let expected: String = transcript_steps(tour)
        .map(|(line, output)| format!("$ {line}\n{output}\n"))
        .collect();
    assert_eq!(
        loosely(&redact(&actual, p.root())),
        loosely(&expected),
        "the tour as the tool prints it:\n{actual}"
    );
}

/// The `$ …` lines of a transcript, each with the output below it.
fn transcript_steps(block: &str) -> impl Iterator<Item = (String, String)> + '_ {
    block.split("$ ").filter(|s| !s.is_empty()).map(|step| {
        let (line, output) = step.split_once('\n').unwrap_or((step, ""));
        (
            line.trim_end().to_owned(),
            output.trim_end().to_owned() + "\n",
        )
    })
}

/// A transcript with what changes from run to run made alike.
fn loosely(text: &str) -> String {
    let rules = [
        // Where cargo fetches a crate from is the machine's business.
        (r"(?m)^ *(Unpacking|Downloaded|Downloading) .*\n", ""),
        (r"\(/[^)]*\)|\(\[ROOT\]\)", "([PATH])"),
        (r"in (\d+\.\d+s|\[TIME\])", "in [TIME]"),
        (r"\b\d+(\.\d+)?[KMG]?B\b|\[SIZE\]", "[SIZE]"),
        (r"\b[0-9a-f]{7}\b", "[SHA]"),
        (r"\b(\d+|an?) (second|minute|hour|day)s? ago\b", "[WHEN]"),
        (r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} [-+]\d{4}", "[WHEN]"),
        (r"-{2,}", "-"),
        (r"[ \t]+", " "),
    ];
    let mut text = text.to_owned();
    for (pattern, replacement) in rules {
        text = regex::Regex::new(pattern)
            .unwrap()
            .replace_all(&text, replacement)
            .into_owned();
    }
    text
}

#[test]
fn the_first_steps_on_your_own_workspace_leave_it_committed() {
    let [steps] = &blocks("Use it on your own workspace", "sh")[..] else {
        panic!("one block of first steps expected");
    };
    let p = Project::new();
    for line in steps.lines() {
        let line = line.split(" #").next().unwrap().trim();
        if let Some(args) = line.strip_prefix("cargo release-log ") {
            let args: Vec<&str> = args.split_whitespace().collect();
            ok(&p, &args);
        } else {
            // `git add .releases && git commit -m "release v1"`
            let (add, commit) = line.split_once(" && ").expect("two git commands");
            assert_eq!(add, "git add .releases");
            let message = commit
                .strip_prefix("git commit -m \"")
                .and_then(|m| m.strip_suffix('"'))
                .expect("a commit with a message");
            p.git(&["add", ".releases"]);
            p.commit(message);
        }
    }
    assert_eq!(
        p.git(&["status", "--porcelain", "--untracked-files=all"]),
        ""
    );
    // The commit of the ledger is the same code: a deploy records nothing.
    let again = ok(&p, &["deploy"]);
    assert!(again.stdout.contains("nothing was recorded"), "{again}");
    assert!(ok(&p, &["check"]).stdout.contains("the ledger is intact"));
}

#[test]
fn the_team_slug_store_recipe_shares_a_deploy_through_s3() {
    let [settings, _] = &blocks("Team set-up", "toml")[..] else {
        panic!("two settings blocks expected: the store, the recipients");
    };
    let url = settings.split('"').nth(1).expect("a quoted slug-store URL");
    let (bucket, prefix) = url
        .strip_prefix("s3://")
        .and_then(|rest| rest.split_once('/'))
        .unwrap_or_else(|| panic!("not an S3 URL: {url}"));
    let server = crate::s3::S3Server::start();
    let objects = server.create_bucket(bucket).join(prefix);
    let p = Project::new();
    p.set_env(server.env());
    // A package that is its own workspace root reads the workspace's table.
    let manifest = p.read("Cargo.toml");
    p.write(
        "Cargo.toml",
        &format!("{manifest}\n[workspace]\n\n{settings}"),
    );
    p.commit("a slug store");
    let deploy = ok(&p, &["deploy"]);
    let v1 = p.read(".releases/v1.toml");
    let sha = v1
        .split("sha256 = \"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("an executable's sha256");
    assert!(objects.join(sha).join("myapp").is_file(), "{deploy}");
    // A second clone, here another folder, runs it from the store.
    fs::remove_dir_all(p.path(".releases/slugs")).unwrap();
    assert_eq!(p.ok(&["run"]), "hello from v1 (MYVAR=None, args=[])\n");
}

/// The tree of the ledger on disk names what a workspace's `.releases/`
/// holds: every file and folder a flow with environments, an add-on
/// release and a release phase leaves there is in it.
#[test]
fn the_ledger_tree_names_what_is_on_disk() {
    let [tree] = &blocks("The ledger on disk", "text")[..] else {
        panic!("one tree expected");
    };
    let p = Project::with_pipeline();
    let manifest = p.read("Cargo.toml");
    p.write(
        "Cargo.toml",
        &format!("{manifest}\n[package.metadata.release-log]\nrelease-command = [\"myapp\"]\n"),
    );
    p.commit("a release command");
    ok(&p, &["--env", "staging", "deploy"]);
    ok(&p, &["deploy"]);
    p.write(
        "../addon/Cargo.toml",
        "[package]\nname = \"addon\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    );
    p.write("../addon/src/lib.rs", "pub fn hi() {}\n");
    ok(&p, &["addons:add", "addon", "--path", "../addon"]);
    let mut names: Vec<String> = fs::read_dir(p.path(".releases"))
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let name = e.file_name().to_string_lossy().into_owned();
            let name = if name.starts_with('v') && name.ends_with(".toml") {
                "v1.toml".to_owned()
            } else {
                name
            };
            if e.file_type().unwrap().is_dir() {
                format!("{name}/")
            } else {
                name
            }
        })
        .collect();
    names.sort();
    names.dedup();
    for name in &names {
        assert!(
            tree.contains(name.as_str()),
            "`{name}` is not in the tree:\n{tree}"
        );
    }
}

/// Every fenced block of the README is one a test above runs or checks: a
/// new block fails here until a test covers it.
#[test]
fn every_code_block_is_covered_by_a_test() {
    let covered = [
        ("A tour", "console"),
        ("Install", "sh"),
        ("Use it on your own workspace", "sh"),
        ("Environments and promote", "toml"),
        ("Environments and promote", "sh"),
        ("Releases that act", "toml"),
        ("Releases that act", "toml"),
        ("Team set-up", "toml"),
        ("Team set-up", "toml"),
        ("In CI", "yaml"),
        ("In CI", "rust"),
        ("The ledger on disk", "text"),
        ("Developing this repository", "sh"),
    ];
    let readme = include_str!("../../README.md");
    let mut section = "";
    let mut found = Vec::new();
    let mut in_block = false;
    for line in readme.lines() {
        if let Some(heading) = line.strip_prefix("## ") {
            section = heading;
        } else if let Some(lang) = line.strip_prefix("```") {
            if !in_block {
                found.push((section, lang));
            }
            in_block = !in_block;
        }
    }
    assert_eq!(found, covered);
}

/// The recipients recipe, with real keys for its placeholders: a teammate's
/// SSH key and the CI runner's age key. A secret set by the teammate opens
/// on the runner, through `CARGO_RELEASE_LOG_IDENTITY`.
#[test]
fn the_team_recipients_recipe_lets_the_ci_runner_open_a_teammates_secret() {
    use age::secrecy::ExposeSecret as _;
    let [_, recipients] = &blocks("Team set-up", "toml")[..] else {
        panic!("two settings blocks expected: the store, the recipients");
    };
    let p = Project::new();
    let (alice_key, alice) = crate::team_secrets::keygen(&p, "alice");
    let ci = age::x25519::Identity::generate();
    let ci_file = p.scratch().join("ci.age");
    fs::write(&ci_file, ci.to_string().expose_secret()).unwrap();
    let mut settings = String::new();
    for line in recipients.lines() {
        let line = if line.contains("\"ssh-ed25519 AAAA… alice\"") {
            line.replace("ssh-ed25519 AAAA… alice", &alice)
        } else if line.contains("\"age1… ci\"") {
            line.replace("age1…", &ci.to_public().to_string())
        } else {
            line.to_owned()
        };
        settings.push_str(&line);
        settings.push('\n');
    }
    assert!(
        !settings.contains('…'),
        "a placeholder is left:\n{settings}"
    );
    let manifest = p.read("Cargo.toml");
    p.write(
        "Cargo.toml",
        &format!("{manifest}\n[workspace]\n\n{settings}"),
    );
    p.commit("team secrets");
    ok(&p, &["deploy"]);
    let as_alice = p
        .command(&["config", "set", "--secret", "API_KEY=open-sesame"])
        .env("CARGO_RELEASE_LOG_IDENTITY", &alice_key)
        .output()
        .unwrap();
    assert!(as_alice.status.success(), "{as_alice:?}");
    let v2 = p.read(".releases/v2.toml");
    assert!(
        !v2.contains("open-sesame") && v2.contains("sealed = "),
        "{v2}"
    );
    // The runner: another secret store, its own key.
    let as_ci = p
        .command(&["config", "get", "API_KEY"])
        .env("CARGO_RELEASE_LOG_IDENTITY", &ci_file)
        .env("CARGO_RELEASE_LOG_SECRETS", p.scratch().join("ci-secrets"))
        .output()
        .unwrap();
    assert!(as_ci.status.success(), "{as_ci:?}");
    assert_eq!(String::from_utf8_lossy(&as_ci.stdout), "open-sesame\n");
}
