//! The command line: `cargo release-log <command>`, with Heroku's `group:verb` spellings.

mod addons_args;
mod args;
mod completions;

use std::ffi::OsString;
use std::io::IsTerminal as _;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use cargo_release_log::text::printable;
use cargo_release_log::{
    CheckOptions, Context, DeployOptions, Error, PromoteOptions, RebuildOptions, ReleaseInfo,
    RunOptions, Secrecy, Tier, VarValue, Version, Workspace,
};

pub use addons_args::*;
pub use args::*;
pub use completions::completion_script;

use crate::render::{self, actions, reports};
use crate::shell::Shell;

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
    let output = shell.clone();
    let warnings = shell.clone();
    let ctx = context()?
        .on_lock_wait(move |holder| {
            let held = holder.map(|h| format!(", held by {h}")).unwrap_or_default();
            notes.note(&format!(
                "    Blocking waiting for file lock on the release ledger{held}"
            ));
        })
        // What the release phase, the health check and hooks print is
        // theirs: shown as it comes, on stderr, as cargo's build output is.
        .on_release_output(move |bytes| output.raw_err(bytes))
        .on_warning(move |text| warnings.warn(text))
        .skip_release_phase(cli.skip_release_phase);
    let mut ws = workspace(cli.manifest_path.as_deref())?;
    let env = cli
        .env
        .or_else(|| std::env::var("CARGO_RELEASE_LOG_ENV").ok())
        .filter(|name| !name.is_empty());
    if let Some(env) = env {
        ws = ws.with_env(&env)?;
    }
    let ws = &mut ws;
    // A writing command stops at its next safe point on Ctrl-C, putting
    // back what it changed; a release phase it runs is stopped and the
    // release recorded as failed, rather than the tool dying under it.
    let ctx = if command.writes() {
        ctx.interrupted_by(trap_interrupts()?)
    } else {
        ctx
    };
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
                let version = Some(Version(info.release.version));
                shell.out(&render::shell_lines(&ws.release_environment(version)?));
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
            if args.dry_run {
                shell.print(&actions::rollback_plan(&ws.rollback_plan(args.release)?));
                return Ok(ExitCode::SUCCESS);
            }
            let done = ws.rollback(&ctx, args.release)?;
            shell.status(&reports::rolled_back(&done));
        }
        Command::Promote(args) => {
            let mut opts = PromoteOptions::default();
            opts.version = args.release;
            opts.allow_missing = args.allow_missing;
            opts.message = args.message;
            let done = ws.promote(&ctx, &args.from, &args.to, &opts)?;
            shell.status(&actions::promoted(&done, ws.name()));
        }
        Command::Releases(ReleasesArgs {
            action: Some(ReleasesAction::Output(args)),
            ..
        }) => {
            let output = ws.release_output(args.release)?;
            shell.raw_out(&output.output);
        }
        Command::Releases(ReleasesArgs {
            action: Some(ReleasesAction::Retry),
            ..
        }) => shell.status(&actions::retried(&ws.retry(&ctx)?)),
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
            } else if args.eligible {
                shell.print(&render::eligible(&list));
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
                    shell.out(&render::shell_lines(&ws.release_environment(None)?));
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
                force,
            }) => {
                let secrecy = match (secret, plain) {
                    (true, _) => Secrecy::Secret,
                    (_, true) => Secrecy::Plain,
                    _ => Secrecy::Auto,
                };
                let done = ws.config_set_forced(&ctx, &vars, secrecy, force)?;
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
                let ctx = match ctx.interrupt() {
                    Some(_) => ctx,
                    None => ctx.interrupted_by(trap_interrupts()?),
                };
                let done = ws.change_addons(&ctx, &change)?;
                shell.status(&reports::addons_changed(&done, &ws.app_name()));
            }
        },
        Command::Gc(args) => shell.status(&reports::collected(&ws.gc(&ctx, args.dry_run)?)),
        Command::Push(args) => {
            let pushed = ws.push(&ctx, args.dry_run)?;
            if args.json {
                shell.out(&json(&pushed)?);
            } else {
                shell.status(&reports::pushed(&pushed, &ws.app_name()));
            }
            let missing = pushed.missing().count();
            if missing > 0 {
                shell.error_line(&format!(
                    "{} of the retained releases {} neither here nor in the slug store",
                    reports::count(missing, "executable", "executables"),
                    if missing == 1 { "is" } else { "are" }
                ));
                return Ok(ExitCode::FAILURE);
            }
        }
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
            let mut opts = CheckOptions::default();
            opts.store = args.store;
            let report = ws.check_in(&ctx, &opts)?;
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
        Error::InvalidInput(_)
        | Error::NotAnAddon { .. }
        | Error::SeveralVersions { .. }
        | Error::WrongDirection { .. }
        | Error::OutsideRequirement { .. } => ExitCode::from(2),
        Error::Interrupted(_) => ExitCode::from(130),
        Error::ReleasePhaseFailed { reason, .. } if reason == "interrupted" => ExitCode::from(130),
        _ => ExitCode::FAILURE,
    }
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
