//! Heroku-style release management for Cargo workspaces.
//!
//! Every deploy and config change of a workspace becomes a numbered,
//! immutable release kept as TOML in `.releases/`: list the history, inspect
//! a release, roll back. This library is what the `cargo release-log`
//! binary drives, and what an xtask can drive directly: open a
//! [`Workspace`], call a command method with a [`Context`] (the clock and
//! the acting user), and get values back. The library never prints; its
//! errors are an [`Error`] whose refusals can be matched.
//!
//! ```no_run
//! use cargo_release_log::{Context, DeployOptions, Error, Version, Workspace};
//!
//! # fn main() -> Result<(), Error> {
//! let ws = Workspace::find(std::path::Path::new("."))?;
//! let now = jiff::Timestamp::now().to_zoned_datetime(jiff::tz::TimeZone::system());
//! let ctx = Context::new(now).with_user("ci@example.com");
//!
//! let deployed = ws.deploy(&ctx, &DeployOptions::default())?;
//! println!("deployed v{}", deployed.release.version);
//!
//! ws.config_set(&ctx, &["RUST_LOG=info".to_owned()])?;
//! match ws.rollback(&ctx, Some(Version(1))) {
//!     Ok(done) => println!("back to v{}", done.target),
//!     Err(Error::NotEligible { reason, .. }) => println!("not now: {reason}"),
//!     Err(other) => return Err(other),
//! }
//! # Ok(())
//! # }
//! ```
#![warn(clippy::print_stdout, clippy::print_stderr)]

mod commands;
mod context;
mod crash;
mod error;
mod files;
#[doc(hidden)]
pub mod fixtures;
mod hooks;
mod ledger;
mod process;
mod secrets;
pub mod text;
mod transaction;
mod workspace;

pub use commands::addons::{AddonChange, AddonChanged, AddonRequirement, AddonsShown, Section};
pub use commands::check::{CheckOptions, CheckReport, Finding, FindingKind, StoreChecked};
pub use commands::config::{ConfigChanged, ConfigShown, Secrecy};
pub use commands::deploy::{DeployOptions, Deployed};
pub use commands::diff::{CommitLine, ExecutableDiff, ReleaseDiff, ReleaseRef};
pub use commands::gc::Collected;
pub use commands::init::Initialized;
pub use commands::pipeline::EnvironmentStatus;
pub use commands::promote::{PromoteOptions, PromotedRelease};
pub use commands::push::{PushOutcome, Pushed, PushedObject, PushedRelease};
pub use commands::rebuild::{RebuildOptions, Rebuilt, RebuiltExecutable};
pub use commands::releases::{ReleaseInfo, ReleaseOutput};
pub use commands::retry::Retried;
pub use commands::rollback::{RollbackPlan, RolledBack};
pub use commands::run::{RunOptions, RunPlan};
pub use commands::sync::Synced;
pub use commands::{Shared, SlugRepair, SlugTransfer};
pub use context::{Context, system_time_zone};
pub use error::{CargoSaid, Error, Result};
pub use ledger::environment::DEFAULT_ENV;
pub use ledger::{
    Addon, AddonConflict, AddonDiff, Build, ChangeKind, ChangedVar, Code, ConfigDiff, ConfigVar,
    ConfigVars, Environment, Executable, IndirectMove, Ineligible, MovedAddon, ParseError,
    PhaseStatus, Promoted, Pruned, Release, ReleasePhase, Slug, Status, Team, Tier, VarValue,
    Version,
};
pub use workspace::Workspace;
