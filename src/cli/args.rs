//! The command line's shape: every command, option and help text, as clap derives them.

use std::ffi::OsString;
use std::path::PathBuf;

use cargo_release_log::{Build, Error, ReleaseRef, Tier, Version};
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::cli::AddonsArgs;
use crate::shell::ColorChoice;

/// `cargo` passes `release-log` as the first argument to `cargo-release-log`.
#[derive(Debug, Parser)]
#[command(name = "cargo", bin_name = "cargo", styles = clap_cargo_styles())]
pub enum Cargo {
    #[command(name = "release-log")]
    ReleaseLog(Cli),
}

/// Heroku-style releases for a Cargo workspace: every deploy and config
/// change is a numbered release kept in `.releases/`, which you can list,
/// inspect and roll back.
#[derive(Debug, Args)]
#[command(version, about, long_about = None, propagate_version = true, after_help = EXAMPLES)]
pub struct Cli {
    /// Path to Cargo.toml of the workspace (default: found upward from here)
    #[arg(
        long,
        global = true,
        value_name = "PATH",
        help_heading = "Global Options"
    )]
    pub manifest_path: Option<PathBuf>,
    /// The environment to act on (default: $CARGO_RELEASE_LOG_ENV, else `default`)
    #[arg(
        long,
        global = true,
        value_name = "NAME",
        help_heading = "Global Options"
    )]
    pub env: Option<String>,
    /// Coloring of messages
    #[arg(
        long,
        global = true,
        value_name = "WHEN",
        help_heading = "Global Options"
    )]
    pub color: Option<ColorChoice>,
    /// Record releases without running the release phase (for emergencies; each
    /// release says so)
    #[arg(long, global = true, help_heading = "Global Options")]
    pub skip_release_phase: bool,
    /// Print only results and errors, no progress reports
    #[arg(short, long, global = true, help_heading = "Global Options")]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: AnyCommand,
}

/// Every command: those of a workspace, and those that need none.
#[derive(Debug, Subcommand)]
pub enum AnyCommand {
    /// The commands that act on a workspace
    #[command(flatten)]
    InWorkspace(Command),
    /// Print a shell's completion script for `cargo release-log`
    #[command(after_help = COMPLETIONS_INSTALL)]
    Completions(CompletionsArgs),
}

/// The commands that act on a workspace.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Set up `.releases/` and the releases tier (idempotent)
    Init(InitArgs),
    /// Build the workspace and record it as a new release
    Deploy(DeployArgs),
    /// List the releases, newest first
    #[command(visible_aliases = ["list", "history"])]
    Releases(ReleasesArgs),
    /// Show one release in full (default: the current one)
    Info(InfoArgs),
    /// Roll back to an earlier release's code and config, as a new release
    Rollback(RollbackArgs),
    /// Ship one environment's release to another: same executables, no rebuild,
    /// the target's own config vars
    #[command(after_help = PROMOTE_EXAMPLES)]
    Promote(PromoteArgs),
    /// Show or change config vars (the `[env]` table of .cargo/config.toml)
    Config(ConfigArgs),
    /// Show or change add-ons (dependencies); each change is a new release
    Addons(AddonsArgs),
    /// Show what changed between two releases: commits, config, add-ons, executables
    Diff(DiffArgs),
    /// For CI: check that the ledger is intact and the workspace matches the current release
    Check(CheckArgs),
    /// Build a recorded release again from its commit, in a temporary git worktree, and
    /// store the executables that match its record
    Rebuild(RebuildArgs),
    /// Delete stored slugs no retained release needs, here and in the slug store
    Gc(GcArgs),
    /// Upload the retained releases' executables that are here to the slug store,
    /// verified, and repair the store's objects that are wrong
    #[command(after_help = PUSH_AFTER)]
    Push(PushArgs),
    /// Regenerate `[env]` and `.releases/current` from the current release
    Sync,
    /// Run the current release's executable with its config vars
    Run(RunArgs),
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Which releases to keep (written to Cargo.toml; without it, Cargo.toml is left alone)
    #[arg(long, value_name = "TIER")]
    pub tier: Option<TierArg>,
    /// Delete the release files the tier does not keep without asking
    #[arg(long, short = 'y')]
    pub yes: bool,
}

/// The tiers, as `--tier` takes them.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum TierArg {
    /// Keeps the current and the previous release: a rollback undoes one step
    Basic,
    /// Keeps every release: roll back to any of them
    Advanced,
}

impl From<TierArg> for Tier {
    fn from(tier: TierArg) -> Self {
        match tier {
            TierArg::Basic => Tier::Basic,
            TierArg::Advanced => Tier::Advanced,
        }
    }
}

#[derive(Debug, Args)]
pub struct DeployArgs {
    /// Record commit, config and add-ons without building (runs the latest deploy's build)
    #[arg(long, conflicts_with_all = [
        "profile", "package", "workspace", "exclude", "bin", "target",
        "features", "all_features", "no_default_features",
    ])]
    pub no_build: bool,
    /// Deploy even if the working tree has uncommitted changes
    #[arg(long)]
    pub allow_dirty: bool,
    /// Record a release even when the current one already runs this commit and slug
    #[arg(long)]
    pub force: bool,
    /// A message kept with the release and shown in the history
    #[arg(short, long, value_name = "MSG")]
    pub message: Option<String>,
    /// Build with this profile
    #[arg(
        long,
        value_name = "PROFILE",
        default_value = "release",
        help_heading = "Compilation Options"
    )]
    pub profile: String,
    /// Build for this target triple
    #[arg(long, value_name = "TRIPLE", help_heading = "Compilation Options")]
    pub target: Option<String>,
    /// Build only this binary (default: every binary of the selected packages)
    #[arg(long, value_name = "NAME", help_heading = "Target Selection")]
    pub bin: Vec<String>,
    #[command(flatten)]
    pub packages: clap_cargo::Workspace,
    #[command(flatten)]
    pub features: clap_cargo::Features,
}

impl DeployArgs {
    /// The library's build selection: cargo's flags, as given.
    pub fn build(&self) -> Build {
        let mut build = Build::default();
        build.profile.clone_from(&self.profile);
        build.target.clone_from(&self.target);
        build.bins.clone_from(&self.bin);
        build.packages.clone_from(&self.packages.package);
        build.exclude.clone_from(&self.packages.exclude);
        // Space- or comma-separated, as cargo takes them.
        build.features = self
            .features
            .features
            .iter()
            .flat_map(|f| f.split([' ', ',']))
            .filter(|f| !f.is_empty())
            .map(str::to_owned)
            .collect();
        build.all_features = self.features.all_features;
        build.no_default_features = self.features.no_default_features;
        build
    }
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ReleasesArgs {
    /// How many releases to show
    #[arg(short = 'n', long = "num", value_name = "N", default_value_t = 15,
          value_parser = at_least_one)]
    pub num: u64,
    /// Print JSON (an array of releases, newest first)
    #[arg(long)]
    pub json: bool,
    /// Show every environment's current release side by side, and the
    /// commits each has yet to be promoted
    #[arg(long, conflicts_with = "eligible")]
    pub all_envs: bool,
    /// Show which releases a rollback can go to, and why not for the others
    #[arg(long)]
    pub eligible: bool,
    #[command(subcommand)]
    pub action: Option<ReleasesAction>,
}

/// `releases:info` and `releases:rollback`, Heroku's spellings.
#[derive(Debug, Subcommand)]
pub enum ReleasesAction {
    /// Show one release in full (same as `info`)
    Info(InfoArgs),
    /// Roll back (same as `rollback`)
    Rollback(RollbackArgs),
    /// Print what a release's release phase printed (default: the newest release)
    Output(OutputArgs),
    /// Record the newest release, which failed, again: its code and config,
    /// running the release phase again
    Retry,
}

#[derive(Debug, Args)]
pub struct OutputArgs {
    /// The release, `vN` or `N` (default: the newest one)
    #[arg(value_name = "RELEASE", value_parser = release)]
    pub release: Option<Version>,
}

impl Command {
    /// Whether the command records releases (and so may run release commands).
    pub fn writes(&self) -> bool {
        match self {
            Command::Deploy(_)
            | Command::Rollback(_)
            | Command::Promote(_)
            | Command::Addons(AddonsArgs {
                action: Some(_), ..
            }) => true,
            Command::Config(args) => matches!(
                args.action,
                Some(
                    ConfigAction::Set { .. }
                        | ConfigAction::Protect { .. }
                        | ConfigAction::Unset { .. }
                )
            ),
            Command::Releases(args) => matches!(
                args.action,
                Some(
                    ReleasesAction::Retry
                        | ReleasesAction::Rollback(RollbackArgs { dry_run: false, .. })
                )
            ),
            _ => false,
        }
    }
}

#[derive(Debug, Args)]
pub struct InfoArgs {
    /// The release, `vN` or `N` (default: the current one)
    #[arg(value_name = "RELEASE", value_parser = release)]
    pub release: Option<Version>,
    /// Print JSON
    #[arg(long, conflicts_with = "shell")]
    pub json: bool,
    /// Print the release's config vars as NAME=value lines for a shell
    #[arg(long)]
    pub shell: bool,
}

#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// The release to go back to, `vN` or `N` (default: the previous eligible one)
    #[arg(value_name = "RELEASE", value_parser = release)]
    pub release: Option<Version>,
    /// Say what the rollback would change (code, add-ons, config vars, the
    /// release phase it would run), and change nothing
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct PromoteArgs {
    /// The environment to promote from (`default` is the default one)
    #[arg(value_name = "FROM")]
    pub from: String,
    /// The environment to promote to
    #[arg(value_name = "TO")]
    pub to: String,
    /// The release of FROM to promote, `vN` or `N` (default: FROM's current one)
    #[arg(value_name = "RELEASE", value_parser = release)]
    pub release: Option<Version>,
    /// Promote even when TO lacks config vars the release has
    #[arg(long)]
    pub allow_missing: bool,
    /// A message kept with the release and shown in the history
    #[arg(short, long, value_name = "MSG")]
    pub message: Option<String>,
}

const PROMOTE_EXAMPLES: &str = "\
Examples:
  cargo release-log promote staging production       staging's current release
  cargo release-log promote staging production v12   a release of staging's history";

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ConfigArgs {
    /// Print JSON (an object of name to value; a secret as its fingerprint)
    #[arg(long, conflicts_with_all = ["shell", "cargo_config"])]
    pub json: bool,
    /// Print NAME=value lines for a shell, secrets' values included
    #[arg(long, conflicts_with = "cargo_config")]
    pub shell: bool,
    /// Show secret values instead of masking them
    #[arg(long)]
    pub reveal: bool,
    /// Write the secret vars to a cargo config file outside the workspace and
    /// print its path, for `cargo --config <path> run`
    #[arg(long)]
    pub cargo_config: bool,
    #[command(subcommand)]
    pub action: Option<ConfigAction>,
}

#[derive(Debug, Subcommand)]
pub enum ConfigAction {
    /// Print one config var's value
    Get {
        /// The config var's name
        name: String,
        /// Print JSON (the var's name, value and cargo options)
        #[arg(long)]
        json: bool,
    },
    /// Set config vars, as one new release; secret-looking ones are kept secret
    #[command(visible_alias = "add")]
    Set {
        /// NAME=VALUE pairs
        #[arg(value_name = "NAME=VALUE", required = true)]
        vars: Vec<String>,
        /// Keep the values secret: sealed to `secret-recipients` in the release files when
        /// set, else in this machine's secret store; never in plain text in git
        #[arg(long, conflicts_with = "plain")]
        secret: bool,
        /// Keep the values plain, in the release files and `[env]`, even when they look secret
        #[arg(long)]
        plain: bool,
        /// Record a release even when every value is already set
        #[arg(long)]
        force: bool,
    },
    /// Make plain vars secret, and seal every secret to `secret-recipients` when they
    /// are set or changed, as one new release (default: every var whose name or value looks
    /// secret)
    Protect {
        /// The vars to protect
        #[arg(value_name = "NAME")]
        names: Vec<String>,
    },
    /// Remove config vars, as one new release
    #[command(visible_alias = "remove")]
    Unset {
        /// The names to remove
        #[arg(value_name = "NAME", required = true)]
        names: Vec<String>,
    },
}

#[derive(Debug, Args)]
pub struct GcArgs {
    /// Say what would be deleted, and delete nothing
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct PushArgs {
    /// Say what would be uploaded and repaired, and upload nothing (the
    /// store's objects are still read to verify them)
    #[arg(long)]
    pub dry_run: bool,
    /// Print JSON (every object, its releases and what was done; the exit code is the same)
    #[arg(long)]
    pub json: bool,
}

const PUSH_AFTER: &str = "\
Every environment's retained releases are pushed, each to its own `slug-store`: their
executables (and release phases' output) that are here, checked against the sha256
their release records. An object already in the store counts only once its bytes are
verified: it is read and hashed, unless this clone verified it before and it is
unchanged since (remembered in .releases/.store-verified, not committed). An object of
other bytes is replaced. What is neither here nor in the store is named, by release,
and the exit code is 1.

Use it once a store is set up for the slugs built before it, or to repair a store.";

#[derive(Debug, Args)]
pub struct RebuildArgs {
    /// The release, `vN` or `N` (default: the current one)
    #[arg(value_name = "RELEASE", value_parser = release)]
    pub release: Option<Version>,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Print JSON (the report; the exit code is the same)
    #[arg(long)]
    pub json: bool,
    /// Also verify the slug store: read every executable the retained releases
    /// run from it once and check its sha256, as a fresh clone's `run` would,
    /// whatever this clone verified before (.releases/.store-verified is not
    /// used). This downloads them all: slow for a big store. Without it, an
    /// object of the right size counts as there
    #[arg(long)]
    pub store: bool,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The release to compare from: `vN`, `ENV:vN`, or `ENV` (its current release)
    #[arg(value_name = "FROM", value_parser = release_ref)]
    pub from: ReleaseRef,
    /// The release to compare to, the same way (default: the current one)
    #[arg(value_name = "TO", value_parser = release_ref)]
    pub to: Option<ReleaseRef>,
    /// Print JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Which executable to run, when the release has several
    #[arg(long, value_name = "NAME")]
    pub bin: Option<String>,
    /// Arguments for the executable (after `--` when one starts with `-`), as `cargo run` takes them
    #[arg(
        value_name = "ARGS",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub args: Vec<OsString>,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete in
    #[arg(value_name = "SHELL")]
    pub shell: clap_complete::Shell,
}

const COMPLETIONS_INSTALL: &str = "\
Install the script where your shell looks for it, then start a new shell:

bash (completes `cargo release-log` too, with cargo 1.87+ and bash-completion 2.12+):
  cargo release-log completions bash > ~/.local/share/bash-completion/completions/cargo-release-log
zsh (completes `cargo release-log` too; needs `fpath+=~/.zfunc` before `compinit`):
  cargo release-log completions zsh > ~/.zfunc/_cargo-release-log
fish (completes `cargo release-log` too):
  cargo release-log completions fish > ~/.config/fish/conf.d/cargo-release-log.fish
elvish (completes `cargo-release-log` only):
  cargo release-log completions elvish >> ~/.config/elvish/rc.elv
PowerShell (completes `cargo-release-log` only):
  cargo release-log completions powershell >> $PROFILE";

const EXAMPLES: &str = "\
Examples:
  cargo release-log deploy                 build and record a release
  cargo release-log releases               the history, newest first
  cargo release-log config set MYVAR=42    change config, as a new release
  cargo release-log rollback               undo the last release
  cargo release-log releases:info v3       Heroku spellings work too";

/// `-n`: a count of one or more.
fn at_least_one(arg: &str) -> Result<u64, String> {
    match arg.parse::<u64>() {
        Ok(0) => Err("must be at least 1".to_owned()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

/// A release in any environment, for `diff`.
fn release_ref(arg: &str) -> Result<ReleaseRef, String> {
    arg.parse().map_err(|e: Error| e.to_string())
}

/// A release reference: clap names the argument, so say only what is expected.
fn release(arg: &str) -> Result<Version, &'static str> {
    arg.parse()
        .map_err(|_| "expected a release number like `v12` or `12`")
}

fn clap_cargo_styles() -> clap::builder::Styles {
    use clap::builder::styling::{AnsiColor, Effects};
    clap::builder::Styles::styled()
        .header(AnsiColor::Green.on_default() | Effects::BOLD)
        .usage(AnsiColor::Green.on_default() | Effects::BOLD)
        .literal(AnsiColor::Cyan.on_default() | Effects::BOLD)
        .placeholder(AnsiColor::Cyan.on_default())
}
