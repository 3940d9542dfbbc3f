//! `completions <shell>`: scripts that work anywhere, for the names users type.

use std::process::{Command, Output};

use crate::snap;
use crate::support::*;

const SUBCOMMANDS: [&str; 9] = [
    "init",
    "deploy",
    "releases",
    "info",
    "rollback",
    "config",
    "sync",
    "run",
    "completions",
];

/// `cargo release-log completions <args>` in an empty folder, outside any
/// Cargo project.
fn completions(args: &[&str]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    clean(Command::new(env!("CARGO_BIN_EXE_cargo-release-log")))
        .args(["release-log", "completions"])
        .args(args)
        .current_dir(dir.path())
        .output()
        .unwrap()
}

fn script(shell: &str) -> String {
    let output = completions(&[shell]);
    assert!(
        output.status.success(),
        "{shell}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.stderr.is_empty());
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn every_shell_works_outside_any_workspace() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let script = script(shell);
        assert!(script.contains("cargo-release-log"), "{shell}");
        for name in SUBCOMMANDS {
            assert!(script.contains(name), "{shell} lacks {name}");
        }
        assert!(script.contains("manifest-path"), "{shell}");
    }
    // What makes `cargo release-log` complete too: zsh's `_cargo` calls a
    // function `_cargo-<command>`, and fish gets a hand-over line.
    assert!(script("zsh").starts_with("#compdef cargo-release-log\n"));
    assert!(script("zsh").contains("\n_cargo-release-log() {"));
    assert!(script("fish").contains(
        "complete -c cargo -n '__fish_seen_subcommand_from release-log' -f -a '(__fish_cargo_release_log_hand_over)'"
    ));
}

/// The bash script, sourced into bash, completes subcommands and their
/// options, as bash-completion (and cargo's completion, which hands
/// `cargo release-log …` on to it) calls it.
#[test]
#[cfg(unix)]
fn bash_completes_subcommands_and_their_options() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cargo-release-log.bash");
    fs_err::write(&path, script("bash")).unwrap();
    let test = r#"
source "$1"
spec=$(complete -p cargo-release-log) || exit 1
func=${spec#* -F }; func=${func%% *}
try() {
    COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); COMPREPLY=()
    "$func" cargo-release-log "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
    echo "${COMPREPLY[*]}"
}
try cargo-release-log de
try cargo-release-log deploy --
try cargo-release-log config s
try cargo-release-log --color never releases -
"#;
    let output = Command::new("bash")
        .args(["-c", test, "bash"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[0], "deploy");
    assert!(
        lines[1].contains("--no-build") && lines[1].contains("--message"),
        "{stdout}"
    );
    assert_eq!(lines[2], "set");
    assert!(
        lines[3].contains("-n") && lines[3].contains("--json"),
        "{stdout}"
    );
}

#[test]
fn an_unknown_shell_is_a_usage_error() {
    let output = completions(&["nosuch"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.starts_with("error: invalid value 'nosuch' for '<SHELL>'"),
        "{stderr}"
    );
    assert!(output.stdout.is_empty());
    assert_eq!(completions(&[]).status.code(), Some(2));
}

#[test]
fn help_says_how_to_install() {
    let p = Project::new();
    let run = p.run(&["completions", "--help"]);
    assert_eq!(run.code, 0);
    snap!(run);
    // Both spellings of the help flag show it.
    assert!(
        p.ok(&["completions", "-h"])
            .contains("bash-completion/completions")
    );
}
