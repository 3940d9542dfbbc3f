//! The README's recipes, run as a user would run them: a recipe no test runs is a bug.

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
