//! Heroku-style release management for Cargo workspaces.
//!
//! Every deploy and config change of a workspace becomes a numbered, immutable
//! release kept as TOML in `.releases/`. The binary is a thin shell over this
//! library: [`commands`] holds one function per subcommand, each taking the
//! clock and the acting user as inputs (see [`Context`]) and returning values;
//! nothing here prints except the front end in [`cli`] through [`shell`].
#![warn(clippy::print_stdout, clippy::print_stderr)]

pub mod cli;
pub mod commands;
pub mod ledger;
pub mod process;
pub mod render;
pub mod shell;
pub mod workspace;

pub use commands::Context;
