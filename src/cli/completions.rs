//! Shell completion scripts for `cargo release-log`, from the clap definition.

use clap::Args as _;

use super::args::Cli;

/// The name the scripts complete.
const BIN: &str = "cargo-release-log";

/// The completion script for `shell`. It completes the `cargo-release-log`
/// executable, the name to which cargo's own completions in bash and zsh
/// hand `cargo release-log …` on; a script for `cargo` itself would replace
/// cargo's completions. Fish's cargo completion has no such hand-over, so
/// its script adds one.
pub fn completion_script(shell: clap_complete::Shell) -> String {
    use clap_complete::Shell;
    // clap_complete's bash script loses track of subcommands when the name
    // has a `-` (clap-rs/clap#6421): generate it for a name without one and
    // register it for the real name.
    let name = match shell {
        Shell::Bash => "cargo_release_log",
        _ => BIN,
    };
    let mut cmd = Cli::augment_args(clap::Command::new(name));
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut cmd, name, &mut script);
    let mut script = String::from_utf8_lossy(&script).into_owned();
    match shell {
        Shell::Bash => {
            script = script
                .lines()
                .map(|line| match line.strip_suffix(name) {
                    Some(start) if line.trim_start().starts_with("complete ") => {
                        format!("{start}{BIN}\n")
                    }
                    _ => format!("{line}\n"),
                })
                .collect();
        }
        Shell::Fish => script.push_str(FISH_HAND_OVER),
        _ => {}
    }
    script
}

/// `cargo release-log <words>` completes as `cargo-release-log <words>`.
const FISH_HAND_OVER: &str = r#"
# `cargo release-log …` completes as `cargo-release-log …`.
function __fish_cargo_release_log_hand_over
    set -l words (commandline -opc)
    set -l at (contains -i -- release-log $words)
    set -l current (commandline -ct)
    complete -C (string join -- ' ' cargo-release-log (string escape -- $words[(math $at + 1)..-1]) "$current")
end
complete -c cargo -n '__fish_seen_subcommand_from release-log' -f -a '(__fish_cargo_release_log_hand_over)'
"#;
