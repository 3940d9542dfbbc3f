//! The command line: `cargo release-log <command>`, with Heroku's `group:verb` spellings.

use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::commands::{Context, config, deploy, init, releases, rollback, run, sync};
use crate::ledger::{Tier, Version};
use crate::render;
use crate::shell::{ColorChoice, Shell};
use crate::workspace::Workspace;

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
    pub command: Command,
}

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
    /// Show or change config vars (the `[env]` table of .cargo/config.toml)
    Config(ConfigArgs),
    /// Regenerate `[env]` and `.releases/current` from the current release
    Sync,
    /// Run the current release's executable with its config vars
    Run(RunArgs),
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Which releases to keep: `basic` (current and previous) or `advanced` (all)
    #[arg(long, value_name = "TIER")]
    pub tier: Option<Tier>,
}

#[derive(Debug, Args)]
pub struct DeployArgs {
    /// Record commit, config and add-ons without building (keeps the current slug)
    #[arg(long)]
    pub no_build: bool,
    /// Deploy even if the working tree has uncommitted changes
    #[arg(long)]
    pub allow_dirty: bool,
    /// Cargo profile to build with
    #[arg(long, value_name = "PROFILE", default_value = "release")]
    pub profile: String,
    /// A message kept with the release and shown in the history
    #[arg(short, long, value_name = "MSG")]
    pub message: Option<String>,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ReleasesArgs {
    /// How many releases to show
    #[arg(short = 'n', long = "num", value_name = "N", default_value_t = 15,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub num: u64,
    /// Print JSON (an array of releases, newest first)
    #[arg(long)]
    pub json: bool,
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
    #[arg(value_name = "RELEASE")]
    pub release: Option<String>,
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
    #[arg(value_name = "RELEASE")]
    pub release: Option<String>,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ConfigArgs {
    /// Print JSON (an object of name to value)
    #[arg(long, conflicts_with = "shell")]
    pub json: bool,
    /// Print NAME=value lines for a shell
    #[arg(long)]
    pub shell: bool,
    #[command(subcommand)]
    pub action: Option<ConfigAction>,
}

#[derive(Debug, Subcommand)]
pub enum ConfigAction {
    /// Print one config var's value
    Get {
        /// The config var's name
        name: String,
    },
    /// Set config vars, as one new release
    #[command(visible_alias = "add")]
    Set {
        /// NAME=VALUE pairs
        #[arg(value_name = "NAME=VALUE", required = true)]
        vars: Vec<String>,
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
pub struct RunArgs {
    /// Which executable to run, when the release has several
    #[arg(long, value_name = "NAME")]
    pub bin: Option<String>,
    /// Arguments for the executable
    #[arg(last = true, value_name = "ARGS")]
    pub args: Vec<OsString>,
}

const EXAMPLES: &str = "\
Examples:
  cargo release-log deploy                 build and record a release
  cargo release-log releases               the history, newest first
  cargo release-log config set MYVAR=42    change config, as a new release
  cargo release-log rollback               undo the last release
  cargo release-log releases:info v3       Heroku spellings work too";

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
            if arg == "--manifest-path" || arg == "--color" {
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

/// The clock for this run: `SOURCE_DATE_EPOCH` when set (so output can be
/// reproduced), else the system clock, in the system time zone.
pub fn now() -> anyhow::Result<jiff::ZonedDateTime> {
    use anyhow::Context as _;
    let tz = jiff::tz::TimeZone::system();
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(epoch) => {
            let seconds: i64 = epoch.trim().parse().with_context(|| {
                format!("SOURCE_DATE_EPOCH=`{epoch}` is not a number of seconds")
            })?;
            Ok(jiff::Timestamp::from_second(seconds)
                .with_context(|| format!("SOURCE_DATE_EPOCH=`{epoch}` is out of range"))?
                .to_zoned_datetime(tz))
        }
        Err(_) => Ok(jiff::Timestamp::now().to_zoned_datetime(tz)),
    }
}

/// Runs a parsed command line; the exit code is the command's.
pub fn run(cli: Cli, shell: &Shell) -> anyhow::Result<ExitCode> {
    let mut ctx = Context::new(now()?);
    ctx.on_lock_wait = {
        let quiet_note = Shell::new(Some(ColorChoice::Never), false);
        let _ = shell;
        Box::new(move || {
            quiet_note.note("    Blocking waiting for file lock on the release ledger")
        })
    };
    let mut ws = Workspace::load(cli.manifest_path.as_deref())?;
    match cli.command {
        Command::Init(args) => {
            let done = init::init(&mut ws, &ctx, args.tier)?;
            let mut out = String::new();
            if let Some(table) = done.wrote_tier {
                let _ = writeln!(out, "Set tier = \"{}\" in {table} of Cargo.toml", done.tier);
            }
            if done.created_ledger {
                out.push_str("Created .releases/ (commit its v*.toml files; slugs stay local)\n");
            }
            if !done.pruned.releases.is_empty() {
                let _ = writeln!(
                    out,
                    "Pruned {} (the basic tier keeps the current and the previous release)",
                    crate::ledger::list_versions(&done.pruned.releases)
                );
            }
            let _ = writeln!(
                out,
                "{} keeps its releases in .releases/ (tier: {})",
                ws.name, done.tier
            );
            shell.status(&out);
        }
        Command::Deploy(args) => {
            let opts = deploy::DeployOptions {
                no_build: args.no_build,
                allow_dirty: args.allow_dirty,
                profile: args.profile,
                message: args.message,
            };
            let done = deploy::deploy(&ws, &ctx, &opts)?;
            let size = render::size(done.release.code.slug.total_size);
            let first = if done.built {
                format!("-----> Compiled slug size is {size}")
            } else {
                format!("-----> Skipped the build (--no-build); the slug stays at {size}")
            };
            shell.status(&format!(
                "{first}\n-----> Launching... done, v{}\n",
                done.release.version
            ));
        }
        Command::Releases(args) => match args.action {
            Some(ReleasesAction::Info(info)) => show_info(&ws, &ctx, shell, info)?,
            Some(ReleasesAction::Rollback(rb)) => do_rollback(&ws, &ctx, shell, rb)?,
            None => {
                let list = releases::list(&ws, usize::try_from(args.num).unwrap_or(usize::MAX))?;
                if args.json {
                    shell.out(&json(&list)?);
                } else if list.is_empty() {
                    shell.out(&format!("{} has no releases.\n", ws.name));
                } else {
                    shell.out(&render::table::releases(&list, &ctx.now, shell.width()));
                }
            }
        },
        Command::Info(args) => show_info(&ws, &ctx, shell, args)?,
        Command::Rollback(args) => do_rollback(&ws, &ctx, shell, args)?,
        Command::Config(args) => match args.action {
            None => {
                let vars = config::vars(&ws)?;
                if args.json {
                    shell.out(&json(&vars)?);
                } else if args.shell {
                    shell.out(&render::shell_lines(&vars));
                } else if vars.is_empty() {
                    shell.out(&format!("{} has no config vars.\n", ws.name));
                } else {
                    let width = vars.keys().map(|k| k.len() + 1).max().unwrap_or(0);
                    let mut out = format!("=== {} Config Vars\n", ws.name);
                    for (name, value) in &vars {
                        let _ = writeln!(out, "{:<width$} {value}", format!("{name}:"));
                    }
                    shell.out(&out);
                }
            }
            Some(ConfigAction::Get { name }) => {
                shell.out(&format!("{}\n", config::get(&ws, &name)?))
            }
            Some(ConfigAction::Set { vars }) => {
                let done = config::set(&ws, &ctx, &vars)?;
                let mut out = String::from("Adding config vars:\n");
                for (name, value) in &done.set {
                    let _ = writeln!(out, "  {name} => {value}");
                }
                shell.status(&config_done(out, &done));
            }
            Some(ConfigAction::Unset { names }) => {
                let done = config::unset(&ws, &ctx, &names)?;
                let mut out = String::from("Removing config vars:\n");
                for name in &done.removed {
                    let _ = writeln!(out, "  {name}");
                }
                shell.status(&config_done(out, &done));
            }
        },
        Command::Sync => {
            let done = sync::sync(&ws, &ctx)?;
            let Some(version) = done.release else {
                shell.status(&format!("{} has no releases; nothing to sync.\n", ws.name));
                return Ok(ExitCode::SUCCESS);
            };
            let mut out = String::new();
            if !done.env.is_empty() {
                let _ = write!(
                    out,
                    "Regenerated [env] in {} from v{version}:\n{}",
                    done.env_path, done.env
                );
            }
            if done.switched_current {
                let _ = writeln!(out, "Switched .releases/current to v{version}");
            }
            if out.is_empty() {
                let _ = writeln!(
                    out,
                    "The workspace already matches v{version}; nothing to do."
                );
            }
            shell.status(&out);
        }
        Command::Run(args) => {
            let opts = run::RunOptions {
                bin: args.bin,
                args: args.args,
            };
            let mut cmd = run::command(&ws, &opts)?;
            let status = cmd.status().map_err(|e| {
                anyhow::anyhow!(
                    "could not start `{}`: {e}",
                    cmd.get_program().to_string_lossy()
                )
            })?;
            return Ok(exit_code(status));
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn show_info(ws: &Workspace, ctx: &Context, shell: &Shell, args: InfoArgs) -> anyhow::Result<()> {
    let version = args
        .release
        .as_deref()
        .map(str::parse::<Version>)
        .transpose()?;
    let info = releases::info(ws, version)?;
    if args.json {
        shell.out(&json(&info)?);
    } else if args.shell {
        shell.out(&render::shell_lines(&info.release.config));
    } else {
        shell.out(&render::info(&info, &ctx.now));
    }
    Ok(())
}

fn do_rollback(
    ws: &Workspace,
    ctx: &Context,
    shell: &Shell,
    args: RollbackArgs,
) -> anyhow::Result<()> {
    let version = args
        .release
        .as_deref()
        .map(str::parse::<Version>)
        .transpose()?;
    let done = rollback::rollback(ws, ctx, version)?;
    shell.status(&format!(
        "Rolled back to v{target}\n\
         Created v{new} with the code and config of v{target}; add-ons, databases and other \
         external state are untouched.\n\
         To undo, run: cargo release-log rollback v{previous}\n",
        target = done.target,
        new = done.release.version,
        previous = done.previous,
    ));
    Ok(())
}

fn config_done(mut out: String, done: &config::ConfigChanged) -> String {
    let _ = writeln!(
        out,
        "Updating vars and restarting app... done, v{}",
        done.release.version
    );
    if let Some(deploy) = done.restored_deploy {
        let _ = writeln!(
            out,
            "Rolled-back code is temporary: v{} runs the code of v{deploy}, the latest deploy, again.",
            done.release.version
        );
    }
    out
}

fn json<T: serde::Serialize>(value: &T) -> anyhow::Result<String> {
    Ok(serde_json::to_string_pretty(value)? + "\n")
}

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
