//! `cargo release-log`: parse the command line, call the library, report, exit.

mod cli;
mod hint;
mod render;
mod shell;

use std::process::ExitCode;

use clap::Parser as _;

fn main() -> ExitCode {
    let cli::Cargo::ReleaseLog(args) =
        cli::Cargo::parse_from(cli::normalize_args(std::env::args_os()));
    let shell = shell::Shell::new(args.color, args.quiet);
    match cli::run(args, &shell) {
        Ok(code) => code,
        Err(err) => {
            shell.error(&err);
            if let Some(hint) = hint::hint(&err) {
                shell.help(&hint);
            }
            cli::failure_code(&err)
        }
    }
}
