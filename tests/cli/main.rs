//! End-to-end tests: real temporary workspaces, real `git` and `cargo`, a fixed clock and author.

mod support;

mod addons;
mod check;
mod completions;
mod config;
mod deploy;
mod eligibility;
mod environments;
mod errors;
mod everyday;
mod heal;
mod help;
mod history;
mod hostile;
mod json;
mod library;
mod no_op;
mod package;
mod readme;
mod rebuild;
mod release_phase;
mod rollback;
mod run;
mod s3;
mod scale;
mod secrets;
mod store;
mod team_secrets;
mod terminal;
mod tiers;
