//! `run`: the current release's executable, with its config vars.

use crate::support::*;

#[test]
fn runs_the_current_code_with_its_config() {
    let p = Project::new();
    p.ok(&["deploy"]);
    p.ok(&["config", "set", "MYVAR=42"]);
    // Rebuilding in target/ does not change what runs: the slug does.
    p.write("src/main.rs", &MAIN_RS.replace("from v1", "from v2"));
    p.cargo(&["build", "--release"]);
    assert_eq!(
        p.ok(&["run"]),
        "hello from v1 (MYVAR=Some(\"42\"), args=[])\n"
    );
    p.commit("v2");
    p.ok(&["deploy"]);
    assert_eq!(
        p.ok(&["run", "--", "a b", "--flag"]),
        "hello from v2 (MYVAR=Some(\"42\"), args=[\"a b\", \"--flag\"])\n"
    );
}

#[test]
fn passes_the_exit_code_through() {
    let p = Project::new();
    p.ok(&["deploy"]);
    let run = p.run(&["run", "--", "exit=7"]);
    assert_eq!(run.code, 7);
    assert!(run.stderr.is_empty());
}

#[test]
fn before_any_release() {
    let p = Project::new();
    let run = p.run(&["run"]);
    run.assert_refused();
    assert_eq!(
        run.stderr,
        "error: myapp has no releases yet\nhelp: run `cargo release-log deploy` first\n"
    );
}

#[test]
fn unknown_bin_names_the_ones_there_are() {
    let p = Project::new();
    p.ok(&["deploy"]);
    let run = p.run(&["run", "--bin", "nope"]);
    run.assert_refused();
    assert_eq!(
        run.stderr,
        "error: v1 has no executable `nope`; it has myapp\n"
    );
}

#[test]
fn missing_slug_says_how_to_get_it() {
    let p = Project::new();
    p.ok(&["deploy"]);
    std::fs::remove_dir_all(p.path(".releases/slugs")).unwrap();
    let run = p.run(&["run"]);
    assert_ne!(run.code, 0);
    assert!(
        run.stderr
            .contains("`cargo release-log rebuild v1` builds it here from its commit"),
        "{run}"
    );
    // Which it does.
    p.ok(&["rebuild"]);
    assert!(p.ok(&["run"]).starts_with("hello from v1"));
}

#[test]
fn from_a_member_folder_runs_that_members_executable() {
    let member = |name: &str| {
        (
            format!("{name}/Cargo.toml"),
            format!("[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n"),
        )
    };
    let (api, api_toml) = member("api");
    let (worker, worker_toml) = member("worker");
    let p = Project::with_files(&[
        (
            "Cargo.toml",
            "[workspace]\nmembers = [\"api\", \"worker\"]\nresolver = \"2\"\n",
        ),
        (&api, &api_toml),
        ("api/src/main.rs", "fn main() { println!(\"api\"); }\n"),
        (&worker, &worker_toml),
        (
            "worker/src/main.rs",
            "fn main() { println!(\"worker\"); }\n",
        ),
    ]);
    p.ok(&["deploy"]);
    let output = p
        .command(&["run"])
        .current_dir(p.path("worker/src"))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8(output.stdout).unwrap(), "worker\n");
    assert!(
        p.run(&["run"])
            .stderr
            .contains("pick one with `--bin`: api, worker")
    );
}

#[test]
fn a_member_with_several_executables_asks_which() {
    let p = Project::new();
    p.write("src/bin/tool.rs", "fn main() { println!(\"tool\"); }\n");
    p.commit("a second binary");
    p.ok(&["deploy"]);
    let run = p.run(&["run"]);
    run.assert_refused();
    assert_eq!(
        run.stderr,
        "error: the package here has several executables; pick one with `--bin`: myapp, tool\n"
    );
    assert_eq!(p.ok(&["run", "--bin", "tool"]), "tool\n");
}
