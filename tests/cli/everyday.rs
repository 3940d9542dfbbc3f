//! Everyday Cargo work: a fresh `cargo new`, cargo's build flags on deploy,
//! `run` as `cargo run` runs, rebuilding a release, tier changes that delete.

use std::process::Stdio;

use fs_err as fs;

use crate::snap;
use crate::support::*;

#[test]
fn the_first_five_minutes_of_a_cargo_new_project() {
    // `cargo new` makes no Cargo.lock.
    let p = Project::new();
    p.git(&["rm", "-q", "Cargo.lock"]);
    p.commit("as cargo new leaves it");
    let missing = refused(&p, &["deploy"]);
    p.cargo(&["generate-lockfile", "--offline"]);
    let uncommitted = refused(&p, &["deploy"]);
    p.commit("lock file");
    let first = ok(&p, &["deploy"]);
    // Deploying the same commit again records nothing, unless asked.
    let again = ok(&p, &["deploy"]);
    assert!(again.changes.is_empty(), "{again}");
    let forced = ok(&p, &["deploy", "--force"]);
    assert!(forced.stdout.contains("done, v2"), "{forced}");
    snap!(transcript(&[missing, uncommitted, first, again]));
}

#[test]
fn init_leaves_cargo_toml_alone_unless_a_tier_is_asked_for() {
    let p = Project::new();
    let manifest = p.read("Cargo.toml");
    let run = ok(&p, &["init"]);
    assert_eq!(p.read("Cargo.toml"), manifest);
    assert!(run.stdout.contains("(tier: advanced)"), "{run}");
    // The next deploy finds nothing uncommitted.
    p.ok(&["deploy"]);
    ok(&p, &["init", "--tier", "advanced"]);
    assert!(
        p.read("Cargo.toml")
            .contains("[package.metadata.release-log]\ntier = \"advanced\"\n")
    );
}

#[test]
fn a_tier_that_deletes_release_files_asks_first() {
    let p = Project::new();
    p.ok(&["deploy"]);
    for i in 1..=3 {
        p.advance(60);
        p.ok(&["config", "set", &format!("N{i}={i}")]);
    }
    // Not on a terminal: refused, naming what would go.
    let refusal = refused(&p, &["init", "--tier", "basic"]);
    assert_eq!(
        refusal.stderr,
        "error: the basic tier deletes v1, v2 now (release files, and the slugs only they need)\nhelp: pass `--yes` to go on\n"
    );
    // On a terminal: asked; no keeps everything.
    let on_terminal = |answer: &str| {
        let tool = env!("CARGO_BIN_EXE_cargo-release-log");
        let mut child = p
            .program("script")
            .args([
                "-qec",
                &format!("{tool} release-log init --tier basic"),
                "/dev/null",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write as _;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(answer.as_bytes())
            .unwrap();
        let output = child.wait_with_output().unwrap();
        String::from_utf8_lossy(&output.stdout).replace('\r', "")
    };
    let no = on_terminal("n\n");
    assert!(no.contains("The basic tier deletes v1, v2 (release files, and the slugs only they need). Go on? [y/N]"), "{no}");
    assert!(no.contains("Nothing was changed."), "{no}");
    assert_eq!(p.release_files().len(), 4);
    let yes = on_terminal("y\n");
    assert!(yes.contains("Pruned v1, v2"), "{yes}");
    assert_eq!(p.release_files(), ["v3.toml", "v4.toml"]);
    // `--yes` for scripts.
    let q = Project::new();
    q.ok(&["deploy"]);
    q.ok(&["config", "set", "A=1"]);
    q.ok(&["config", "set", "A=2"]);
    q.ok(&["init", "--tier", "basic", "--yes"]);
    assert_eq!(q.release_files(), ["v2.toml", "v3.toml"]);
}

/// A workspace whose `api` member says how it was built.
fn two_members() -> Project {
    Project::with_files(&[
        (
            "Cargo.toml",
            "[workspace]\nmembers = [\"api\", \"worker\"]\nresolver = \"2\"\n",
        ),
        (
            "api/Cargo.toml",
            "[package]\nname = \"api\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[features]\nfast = []\n",
        ),
        (
            "api/src/main.rs",
            "fn main() {\n    let speed = if cfg!(feature = \"fast\") { \"fast\" } else { \"slow\" };\n    let profile = if cfg!(debug_assertions) { \"debug\" } else { \"optimized\" };\n    println!(\"api {speed} {profile}\");\n}\n",
        ),
        (
            "worker/Cargo.toml",
            "[package]\nname = \"worker\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
        ),
        (
            "worker/src/main.rs",
            "fn main() { println!(\"worker\"); }\n",
        ),
    ])
}

#[test]
fn deploy_takes_cargos_build_flags_and_records_them() {
    let p = two_members();
    let deploy = ok(
        &p,
        &[
            "deploy",
            "-p",
            "api",
            "--features",
            "fast",
            "--profile",
            "dev",
        ],
    );
    assert!(deploy.stderr.contains("Finished `dev` profile"), "{deploy}");
    let info = p.ok(&["info"]);
    assert!(
        info.contains("Build:  dev, -p api, --features fast\n"),
        "{info}"
    );
    assert!(
        info.contains("Slug:   [SIZE] (api)\n"),
        "only api was built: {info}"
    );
    assert_eq!(p.ok(&["run"]), "api fast debug\n");
    let v1 = p.read(".releases/v1.toml");
    assert!(
        v1.contains(
            "[code.build]\nprofile = \"dev\"\npackages = [\"api\"]\nfeatures = [\"fast\"]\n"
        ),
        "{v1}"
    );
    // The defaults: every member's binaries, in release.
    p.advance(60);
    p.ok(&["deploy"]);
    assert!(p.ok(&["info"]).contains("Build:  release\n"));
    assert_eq!(p.ok(&["run", "--bin", "api"]), "api slow optimized\n");
    // A value that is not one cargo takes is refused before anything runs.
    let run = p.run(&["deploy", "--profile=--config=x"]);
    assert_ne!(run.code, 0, "{run}");
    assert!(run.changes.is_empty());
}

#[test]
fn run_runs_where_it_is_started_as_cargo_run_does() {
    let p = Project::with_files(&[
        (
            "Cargo.toml",
            "[package]\nname = \"myapp\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
        ),
        (
            "src/main.rs",
            "fn main() {\n    let args: Vec<String> = std::env::args().skip(1).collect();\n    match args.first().map(String::as_str) {\n        Some(\"die\") => unsafe_free_kill(),\n        Some(\"exit\") => std::process::exit(7),\n        Some(path) => print!(\"{}\", std::fs::read_to_string(path).unwrap()),\n        None => println!(\"{}\", std::env::current_dir().unwrap().display()),\n    }\n}\n\nfn unsafe_free_kill() {\n    let _ = std::process::Command::new(\"kill\").args([\"-TERM\", &std::process::id().to_string()]).status();\n    std::thread::sleep(std::time::Duration::from_secs(5));\n}\n",
        ),
    ]);
    p.write("sub/data.txt", "read from sub\n");
    p.commit("data");
    p.ok(&["deploy"]);
    let mut cmd = p.command(&["run", "data.txt"]);
    let output = cmd.current_dir(p.path("sub")).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&output.stdout), "read from sub\n");
    let output = p
        .command(&["run"])
        .current_dir(p.path("sub"))
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim_end(),
        p.path("sub").display().to_string()
    );
    // No `--` needed, as with `cargo run`; exit codes and signals pass through.
    assert!(p.ok(&["run", "Cargo.toml"]).starts_with("[package]"));
    assert_eq!(p.run(&["run", "exit"]).code, 7);
    let status = p.command(&["run", "die"]).status().unwrap();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(15)
    );
}

#[test]
fn a_release_whose_slug_is_gone_is_rebuilt_from_its_commit() {
    let p = Project::new();
    p.ok(&["deploy"]);
    p.advance(60);
    change_code(&p, "v2");
    p.ok(&["deploy"]);
    let v1 = p.read(".releases/v1.toml");
    let sha = regex::Regex::new(r#"sha256 = "([0-9a-f]{64})""#)
        .unwrap()
        .captures(&v1)
        .unwrap()[1]
        .to_owned();
    fs::remove_dir_all(p.path(&format!(".releases/slugs/{sha}"))).unwrap();
    assert!(
        p.ok(&["info", "v1"])
            .contains("Eligible for Rollback?: No (its built executables are neither here nor")
    );
    let rebuild = ok(&p, &["rebuild", "v1"]);
    assert!(rebuild.stdout.contains("myapp: sha256 "), "{rebuild}");
    assert!(
        rebuild.stdout.contains("matches the record; stored"),
        "{rebuild}"
    );
    assert!(
        p.git(&["worktree", "list"]).lines().count() == 1,
        "the worktree is gone"
    );
    p.advance(60);
    ok(&p, &["rollback", "v1"]);
    assert!(p.ok(&["run"]).starts_with("hello from v1"));
    snap!(rebuild);
}

#[test]
fn a_release_is_stamped_when_it_is_recorded_after_its_build() {
    // A build that takes two seconds, on the system clock.
    let p = Project::new();
    p.write(
        "build.rs",
        "fn main() { std::thread::sleep(std::time::Duration::from_secs(2)); }\n",
    );
    p.commit("a slow build");
    // Whole seconds, as a release records them.
    let started = jiff::Timestamp::from_second(jiff::Timestamp::now().as_second()).unwrap();
    let output = p
        .command(&["deploy"])
        .env_remove("CARGO_RELEASE_LOG_NOW")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let v1 = p.read(".releases/v1.toml");
    let when: jiff::Timestamp = regex::Regex::new(r#"when = "([^"]+)""#)
        .unwrap()
        .captures(&v1)
        .unwrap()[1]
        .parse()
        .unwrap();
    assert!(
        when >= started + jiff::SignedDuration::from_secs(2),
        "stamped {when}, the deploy started {started}"
    );
}

#[test]
fn without_tz_times_are_shown_in_the_systems_zone() {
    let p = Project::new();
    p.ok(&["deploy"]);
    let when: jiff::Timestamp = regex::Regex::new(r#"when = "([^"]+)""#)
        .unwrap()
        .captures(&p.read(".releases/v1.toml"))
        .unwrap()[1]
        .parse()
        .unwrap();
    // A day later, a time is shown as a time.
    p.advance(2 * 86_400);
    let output = p.command(&["info"]).env_remove("TZ").output().unwrap();
    assert!(output.status.success());
    let shown = when
        .to_zoned_datetime(jiff::tz::TimeZone::system())
        .strftime("%Y-%m-%d %H:%M:%S %z")
        .to_string();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(stdout.contains(&shown), "{shown} in\n{stdout}");
}
