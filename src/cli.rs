//! The command line: `cargo release-log <command>`, with Heroku's `group:verb` spellings.

use std::ffi::OsString;
use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use cargo_release_log::text::printable;
use cargo_release_log::{
    AddonChange, Build, Context, DeployOptions, Error, PromoteOptions, RebuildOptions, ReleaseInfo,
    ReleaseRef, RunOptions, Secrecy, Section, Tier, VarValue, Version, Workspace,
};
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::render::{self, reports};
use crate::shell::{ColorChoice, Shell};

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
    fn build(&self) -> Build {
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
    #[arg(long)]
    pub all_envs: bool,
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
    /// Set config vars, as one new release; secret-looking ones are kept out of git
    #[command(visible_alias = "add")]
    Set {
        /// NAME=VALUE pairs
        #[arg(value_name = "NAME=VALUE", required = true)]
        vars: Vec<String>,
        /// Keep the values secret: in this machine's secret store, never in git
        #[arg(long, conflicts_with = "plain")]
        secret: bool,
        /// Keep the values plain, in the release files and `[env]`, even when they look secret
        #[arg(long)]
        plain: bool,
    },
    /// Move plain vars' values into the secret store, as one new release
    /// (default: every var whose name or value looks secret)
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
#[command(args_conflicts_with_subcommands = true)]
pub struct AddonsArgs {
    /// Print JSON (the current release's add-ons and any drift)
    #[arg(long)]
    pub json: bool,
    #[command(subcommand)]
    pub action: Option<AddonsAction>,
}

#[derive(Debug, Args)]
pub struct AddArgs {
    /// The crate, `NAME` or `NAME@VERSION`
    #[arg(value_name = "SPEC")]
    spec: String,
    /// The member to add it to (default: the root package)
    #[arg(short, long, value_name = "PKG")]
    package: Option<String>,
    /// Features to turn on, separated by commas
    #[arg(short = 'F', long, value_name = "FEATURES", value_delimiter = ',')]
    features: Vec<String>,
    /// Add it as a dev-dependency (not compiled into the slug)
    #[arg(long, conflicts_with = "build")]
    dev: bool,
    /// Add it as a build-dependency
    #[arg(long)]
    build: bool,
    /// Take it from a git repository
    #[arg(long, value_name = "URL", conflicts_with = "path")]
    git: Option<String>,
    /// The git branch to use
    #[arg(long, value_name = "BRANCH", requires = "git")]
    branch: Option<String>,
    /// The git tag to use
    #[arg(long, value_name = "TAG", requires = "git")]
    tag: Option<String>,
    /// The git commit to use
    #[arg(long, value_name = "REV", requires = "git")]
    rev: Option<String>,
    /// Take it from a local folder
    #[arg(long, value_name = "PATH")]
    path: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum AddonsAction {
    /// Add a dependency with `cargo add`, as a new release
    #[command(visible_alias = "create")]
    Add(Box<AddArgs>),
    /// Remove a dependency with `cargo remove`, as a new release
    #[command(visible_alias = "destroy")]
    Remove {
        /// The dependency's name
        name: String,
        /// The member to remove it from (default: the root package)
        #[arg(short, long, value_name = "PKG")]
        package: Option<String>,
    },
    /// Move an add-on to a newer version with `cargo update`, as a new release
    Upgrade {
        /// `NAME` (the newest version its requirement allows) or `NAME@VERSION`
        #[arg(value_name = "NAME[@VERSION]")]
        spec: String,
    },
    /// Move an add-on to an older version with `cargo update --precise`, as a new release
    Downgrade {
        /// `NAME@VERSION`
        #[arg(value_name = "NAME@VERSION")]
        spec: String,
    },
}

impl AddonsAction {
    /// The library's description of the change.
    fn change(self) -> Result<AddonChange, Error> {
        Ok(match self {
            AddonsAction::Add(add) => {
                let AddArgs {
                    spec,
                    package,
                    features,
                    dev,
                    build,
                    git,
                    branch,
                    tag,
                    rev,
                    path,
                } = *add;
                let mut source: Vec<String> = Vec::new();
                for (flag, value) in [
                    ("--git", git),
                    ("--branch", branch),
                    ("--tag", tag),
                    ("--rev", rev),
                ] {
                    if let Some(value) = value {
                        source.extend([flag.to_owned(), value]);
                    }
                }
                if let Some(path) = path {
                    source.extend(["--path".to_owned(), path.display().to_string()]);
                }
                let section = if dev {
                    Section::Dev
                } else if build {
                    Section::Build
                } else {
                    Section::Normal
                };
                AddonChange::add(spec, package, features, section, source)
            }
            AddonsAction::Remove { name, package } => AddonChange::remove(name, package),
            AddonsAction::Upgrade { spec } => match spec.split_once('@') {
                Some((name, version)) => AddonChange::upgrade(name, Some(version.to_owned())),
                None => AddonChange::upgrade(&spec, None),
            },
            AddonsAction::Downgrade { spec } => match spec.split_once('@') {
                Some((name, version)) => AddonChange::downgrade(name, version),
                None => {
                    return Err(Error::InvalidInput(format!(
                        "`{}` names no version: expected NAME@VERSION",
                        cargo_release_log::text::printable(&spec)
                    )));
                }
            },
        })
    }
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

/// Accepts both `cargo release-log …` (cargo passes `release-log` first) and
/// `cargo-release-log …`, and turns Heroku's `group:verb` into `group verb`.
pub fn normalize_args(args: impl IntoIterator<Item = OsString>) -> Vec<OsString> {
    let mut args: Vec<OsString> = args.into_iter().collect();
    if args.len() < 2 || args[1] != "release-log" {
        args.insert(1.min(args.len()), "release-log".into());
    }
    let mut i = 2;
    while i < args.len() {
        let arg = args[i].to_string_lossy();
        if arg == "--" {
            break;
        }
        if arg.starts_with('-') {
            // Skip the value of a global option given as a separate word.
            if arg == "--manifest-path" || arg == "--color" || arg == "--env" {
                i += 1;
            }
            i += 1;
            continue;
        }
        if let Some((group, verb)) = arg.split_once(':')
            && !group.is_empty()
            && !verb.is_empty()
            && group
                .bytes()
                .chain(verb.bytes())
                .all(|b| b.is_ascii_lowercase())
        {
            let (group, verb) = (group.to_owned(), verb.to_owned());
            args.splice(i..=i, [group.into(), verb.into()]);
        }
        break;
    }
    args
}

/// The clock for this run: `CARGO_RELEASE_LOG_NOW` when set (seconds since
/// the epoch, or an RFC 3339 time), so that output can be reproduced; else
/// the system clock, read again when a release is recorded. Times are shown
/// in the system time zone (`TZ`).
fn context() -> Result<Context, Error> {
    let Ok(fixed) = std::env::var("CARGO_RELEASE_LOG_NOW") else {
        return Ok(Context::system());
    };
    let fixed = fixed.trim();
    let at = match fixed.parse::<i64>() {
        Ok(seconds) => jiff::Timestamp::from_second(seconds).ok(),
        Err(_) => fixed.parse::<jiff::Timestamp>().ok(),
    };
    match at {
        Some(at) => Ok(Context::new(
            at.to_zoned_datetime(cargo_release_log::system_time_zone()),
        )),
        None => Err(Error::InvalidSetting(format!(
            "CARGO_RELEASE_LOG_NOW=`{}` is neither seconds since the epoch nor an RFC 3339 time",
            cargo_release_log::text::printable(fixed)
        ))),
    }
}

/// The workspace: `--manifest-path`, else the one the current folder is in.
fn workspace(manifest_path: Option<&std::path::Path>) -> Result<Workspace, Error> {
    match manifest_path {
        Some(path) => Workspace::open(path),
        None => Workspace::find(&std::env::current_dir()?),
    }
}

/// Runs a parsed command line; the exit code is the command's.
pub fn run(cli: Cli, shell: &Shell) -> Result<ExitCode, Error> {
    let command = match cli.command {
        // Before the clock and the workspace: completions work anywhere.
        AnyCommand::Completions(args) => {
            shell.out(&completion_script(args.shell));
            return Ok(ExitCode::SUCCESS);
        }
        AnyCommand::InWorkspace(command) => command,
    };
    let notes = shell.clone();
    let ctx = context()?.on_lock_wait(move || {
        notes.note("    Blocking waiting for file lock on the release ledger");
    });
    let mut ws = workspace(cli.manifest_path.as_deref())?;
    let env = cli
        .env
        .or_else(|| std::env::var("CARGO_RELEASE_LOG_ENV").ok())
        .filter(|name| !name.is_empty());
    if let Some(env) = env {
        ws = ws.with_env(&env)?;
    }
    let ws = &mut ws;
    match command {
        Command::Init(args) => {
            let tier = args.tier.map(Tier::from);
            let done = match ws.init(&ctx, tier, args.yes) {
                // Asked on a terminal, as cargo would; refused elsewhere.
                Err(Error::ConfirmationNeeded { tier, releases })
                    if std::io::stdin().is_terminal() && std::io::stderr().is_terminal() =>
                {
                    let question = format!(
                        "The {tier} tier deletes {} (release files, and the slugs only they need). Go on? [y/N] ",
                        cargo_release_log::text::version_list(&releases)
                    );
                    if !shell.confirm(&question) {
                        shell.note("Nothing was changed.");
                        return Ok(ExitCode::FAILURE);
                    }
                    ws.init(&ctx, Some(tier), true)?
                }
                other => other?,
            };
            shell.status(&reports::initialized(&done, &ws.app_name()));
        }
        Command::Deploy(args) => {
            let mut opts = DeployOptions::default();
            opts.no_build = args.no_build;
            opts.allow_dirty = args.allow_dirty;
            opts.build = args.build();
            opts.force = args.force;
            opts.message = args.message;
            opts.quiet = cli.quiet;
            opts.color = cli.color.map(|c| c.as_str().to_owned());
            shell.status(&reports::deployed(&ws.deploy(&ctx, &opts)?));
        }
        Command::Releases(ReleasesArgs {
            action: Some(ReleasesAction::Info(args)),
            ..
        })
        | Command::Info(args) => {
            let info = ws.info(args.release)?;
            if args.json {
                shell.out(&json(&info)?);
            } else if args.shell {
                shell.out(&render::shell_lines(&ws.environment(&info.release.config)?));
            } else {
                for line in reports::fetched(&info.fetched).lines() {
                    shell.note(line);
                }
                shell.print(&render::info(&info, ctx.now()));
            }
        }
        Command::Releases(ReleasesArgs {
            action: Some(ReleasesAction::Rollback(args)),
            ..
        })
        | Command::Rollback(args) => {
            let done = ws.rollback(&ctx, args.release)?;
            shell.status(&reports::rolled_back(&done));
        }
        Command::Promote(args) => {
            let mut opts = PromoteOptions::default();
            opts.version = args.release;
            opts.allow_missing = args.allow_missing;
            opts.message = args.message;
            let done = ws.promote(&ctx, &args.from, &args.to, &opts)?;
            shell.status(&reports::promoted(&done, ws.name()));
        }
        Command::Releases(args) if args.all_envs => {
            let pipeline = ws.pipeline()?;
            if args.json {
                shell.out(&json(&pipeline)?);
            } else {
                shell.print(&render::pipeline(&pipeline, ctx.now()));
            }
        }
        Command::Releases(args) => {
            let list: Vec<ReleaseInfo> =
                ws.releases(usize::try_from(args.num).unwrap_or(usize::MAX))?;
            if args.json {
                shell.out(&json(&list)?);
            } else if list.is_empty() {
                shell.print(&format!("{} has no releases.\n", &ws.app_name()));
            } else {
                shell.print(&render::table::releases(&list, ctx.now(), shell.width()));
            }
        }
        Command::Config(args) => match args.action {
            None => {
                let shown = ws.config()?;
                warn_of_drift(shown.drift.as_deref(), shell);
                if args.cargo_config {
                    let path = ws.secret_cargo_config()?;
                    shell.out(&format!("{}\n", path.display()));
                } else if args.json {
                    // Names to values, as docs/json.md documents; cargo's
                    // options show in `info --json`.
                    let mut values = serde_json::Map::new();
                    for (name, var) in &shown.vars {
                        let value = match (&var.value, args.reveal) {
                            (VarValue::Secret(fingerprint), false) => {
                                serde_json::json!({ "secret": fingerprint })
                            }
                            _ => serde_json::Value::String(ws.reveal(name, var)?),
                        };
                        values.insert(name.clone(), value);
                    }
                    shell.out(&json(&values)?);
                } else if args.shell {
                    shell.out(&render::shell_lines(&ws.environment(&shown.vars)?));
                } else {
                    let mut lines = Vec::new();
                    for (name, var) in &shown.vars {
                        let text = if args.reveal {
                            let options = var.options();
                            let value = printable(&ws.reveal(name, var)?).into_owned();
                            if options.is_empty() {
                                value
                            } else {
                                format!("{value} [{}]", options.join(", "))
                            }
                        } else {
                            var.to_string()
                        };
                        lines.push((name.clone(), text));
                    }
                    shell.print(&reports::config_vars(&lines, &ws.app_name()));
                }
            }
            Some(ConfigAction::Get {
                name,
                json: as_json,
            }) => {
                let shown = ws.config()?;
                warn_of_drift(shown.drift.as_deref(), shell);
                let var = shown.get(&name)?;
                let value = ws.reveal(&name, var)?;
                if as_json {
                    shell.out(&json(&serde_json::json!({
                        "name": name,
                        "value": value,
                        "secret": var.is_secret(),
                        "force": var.force,
                        "relative": var.relative,
                    }))?);
                } else {
                    shell.out(&format!("{value}\n"));
                }
            }
            Some(ConfigAction::Set {
                vars,
                secret,
                plain,
            }) => {
                let secrecy = match (secret, plain) {
                    (true, _) => Secrecy::Secret,
                    (_, true) => Secrecy::Plain,
                    _ => Secrecy::Auto,
                };
                let done = ws.config_set_with(&ctx, &vars, secrecy)?;
                shell.status(&reports::config_changed(&done));
            }
            Some(ConfigAction::Protect { names }) => {
                shell.status(&reports::config_changed(&ws.config_protect(&ctx, &names)?));
            }
            Some(ConfigAction::Unset { names }) => {
                shell.status(&reports::config_changed(&ws.config_unset(&ctx, &names)?));
            }
        },
        Command::Addons(args) => match args.action {
            None => {
                let shown = ws.addons()?;
                if let Some(drift) = &shown.drift {
                    shell.warn(&reports::addon_drift(drift, shown.latest));
                }
                if args.json {
                    shell.out(&json(&shown)?);
                } else {
                    shell.out(&reports::addons(&shown, &ws.app_name()));
                }
            }
            Some(action) => {
                let change = action.change()?;
                let ctx = ctx.interrupted_by(trap_interrupts()?);
                let done = ws.change_addons(&ctx, &change)?;
                shell.status(&reports::addons_changed(&done, &ws.app_name()));
            }
        },
        Command::Gc(args) => shell.status(&reports::collected(&ws.gc(&ctx, args.dry_run)?)),
        Command::Rebuild(args) => {
            let mut opts = RebuildOptions::default();
            opts.quiet = cli.quiet;
            opts.color = cli.color.map(|c| c.as_str().to_owned());
            let done = ws.rebuild(&ctx, args.release, &opts)?;
            shell.status(&reports::rebuilt(&done));
            if done.executables.iter().any(|e| !e.reproduced()) {
                return Ok(ExitCode::FAILURE);
            }
        }
        Command::Check(args) => {
            let report = ws.check()?;
            if args.json {
                shell.out(&json(&report)?);
            } else {
                shell.print(&reports::check(&report, &ws.app_name()));
            }
            if !report.passed() {
                shell.error_line(&format!(
                    "check found {}",
                    reports::count(report.problems.len(), "problem", "problems")
                ));
                return Ok(ExitCode::FAILURE);
            }
        }
        Command::Diff(args) => {
            let diff = ws.diff_releases(&args.from, args.to.as_ref())?;
            if args.json {
                shell.out(&json(&diff)?);
            } else {
                shell.out(&render::diff(&diff));
            }
        }
        Command::Sync => shell.status(&reports::synced(&ws.sync(&ctx)?, &ws.app_name())),
        Command::Run(args) => {
            let mut opts = RunOptions::default();
            opts.bin = args.bin;
            opts.args = args.args;
            opts.from = std::env::current_dir().ok();
            let plan = ws.run_command(&opts)?;
            for line in reports::fetched(&plan.fetched).lines() {
                shell.note(line);
            }
            let mut cmd = plan.command;
            let cannot_start = |e: std::io::Error, cmd: &std::process::Command| {
                Error::from(anyhow::anyhow!(
                    "could not start `{}`: {e}",
                    cmd.get_program().to_string_lossy()
                ))
            };
            // The program takes this process's place, as `cargo run`'s
            // would be waited on: its exit code and signals are its own.
            #[cfg(unix)]
            {
                use std::os::unix::process::CommandExt as _;
                let e = cmd.exec();
                return Err(cannot_start(e, &cmd));
            }
            #[cfg(not(unix))]
            {
                let status = cmd.status().map_err(|e| cannot_start(e, &cmd))?;
                return Ok(exit_code(status));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A flag that Ctrl-C (SIGINT), SIGTERM and SIGHUP set, for a change that
/// must put back what it did before it stops; a second signal ends the
/// process at once, as a user pressing Ctrl-C again expects.
fn trap_interrupts() -> Result<Arc<AtomicBool>, Error> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let flag = Arc::new(AtomicBool::new(false));
    #[cfg(unix)]
    let signals = [SIGINT, SIGTERM, signal_hook::consts::SIGHUP];
    #[cfg(not(unix))]
    let signals = [SIGINT, SIGTERM];
    for signal in signals {
        // Registered first, so it acts only once the flag is already set.
        signal_hook::flag::register_conditional_shutdown(signal, 130, Arc::clone(&flag))?;
        signal_hook::flag::register(signal, Arc::clone(&flag))?;
    }
    Ok(flag)
}

/// The exit code of a failed command: 2 for a usage mistake, as clap
/// exits, 130 for an interrupt, as a shell reports Ctrl-C, 1 for anything else.
pub fn failure_code(err: &Error) -> ExitCode {
    match err {
        Error::InvalidInput(_) => ExitCode::from(2),
        Error::Interrupted(_) => ExitCode::from(130),
        _ => ExitCode::FAILURE,
    }
}

/// What to do about a refusal, in the tool's words: the library's errors
/// carry the facts, the command line says which command helps.
pub fn hint(err: &Error) -> Option<String> {
    Some(match err {
        Error::UnknownEnvironment { .. } => "declare it in Cargo.toml, as \
             `[workspace.metadata.release-log.environments.NAME]`"
            .to_owned(),
        Error::PromotionOnly { env, from } => {
            format!("ship to it with `cargo release-log promote {from} {env}`")
        }
        Error::PromotionSource { to, expected, .. } => {
            format!("promote through `{expected}`: `cargo release-log promote {expected} {to}`")
        }
        Error::MissingConfigVars {
            to,
            names,
            first: false,
            ..
        } => format!(
            "set them first (`cargo release-log --env {to} config set {}=…`), or pass \
             `--allow-missing` to promote without them",
            names.first().map(String::as_str).unwrap_or("NAME")
        ),
        Error::MissingConfigVars {
            to, first: true, ..
        } => format!(
            "`{to}` has no release yet to set them on: promote with `--allow-missing`, then \
             set them (`cargo release-log --env {to} config set NAME=…`)"
        ),
        Error::NothingPromotedYet { env, from } => {
            format!("`cargo release-log promote {from} {env}` ships {from}'s current release")
        }
        Error::NotPromotable { from, .. } => format!(
            "`cargo release-log --env {from} releases` lists its releases; promote one that \
             succeeded (`rebuild vN` there stores a missing build)"
        ),
        _ => return None,
    })
}

/// `config` shows the current release's vars; say when `[env]` differs.
fn warn_of_drift(drift: Option<&str>, shell: &Shell) {
    if let Some(drift) = drift {
        shell.warn(drift);
    }
}

fn json<T: serde::Serialize>(value: &T) -> Result<String, Error> {
    let text = serde_json::to_string_pretty(value).map_err(anyhow::Error::from)?;
    Ok(text + "\n")
}

#[cfg(not(unix))]
fn exit_code(status: std::process::ExitStatus) -> ExitCode {
    if let Some(code) = status.code() {
        return ExitCode::from(u8::try_from(code).unwrap_or(1));
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt as _;
        if let Some(signal) = status.signal() {
            return ExitCode::from(u8::try_from(128 + signal).unwrap_or(1));
        }
    }
    ExitCode::FAILURE
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(args: &[&str]) -> Vec<String> {
        normalize_args(args.iter().map(OsString::from))
            .into_iter()
            .map(|a| a.into_string().unwrap())
            .collect()
    }

    #[test]
    fn verify_cli() {
        use clap::CommandFactory as _;
        Cargo::command().debug_assert();
    }

    #[test]
    fn heroku_spellings() {
        assert_eq!(
            norm(&["cargo-release-log", "releases:info", "v3"]),
            ["cargo-release-log", "release-log", "releases", "info", "v3"]
        );
        assert_eq!(
            norm(&[
                "cargo-release-log",
                "release-log",
                "--color",
                "never",
                "config:add",
                "A=1"
            ]),
            [
                "cargo-release-log",
                "release-log",
                "--color",
                "never",
                "config",
                "add",
                "A=1"
            ]
        );
        // Only the command word is split; values keep their colons.
        assert_eq!(
            norm(&["cargo-release-log", "config", "set", "URL=http://x"]),
            [
                "cargo-release-log",
                "release-log",
                "config",
                "set",
                "URL=http://x"
            ]
        );
    }
}
