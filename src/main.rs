use std::process::ExitCode;

use cargo_release_log::cli::{self, Cargo};
use cargo_release_log::shell::Shell;
use clap::Parser as _;

fn main() -> ExitCode {
    let Cargo::ReleaseLog(args) = Cargo::parse_from(cli::normalize_args(std::env::args_os()));
    let shell = Shell::new(args.color, args.quiet);
    match cli::run(args, &shell) {
        Ok(code) => code,
        Err(err) => {
            shell.error(&err);
            ExitCode::FAILURE
        }
    }
}
