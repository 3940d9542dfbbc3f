//! The cargo commands that make an add-on change: checking what goes into
//! them, building them, and running them.

use cargo_metadata::semver;

use super::requirement;
use super::{AddonChange, Section, interrupted};
use crate::commands::restore::Backup;
use crate::context::Context;
use crate::error::{CargoSaid, Error};
use crate::ledger::Addon;
use crate::process::ProcessBuilder;
use crate::text::printable;
use crate::transaction::Transaction;
use crate::workspace::Workspace;

/// The cargo commands that make a change, run one after the other.
pub(super) struct Plan {
    pub(super) commands: Vec<ProcessBuilder>,
    /// The add-on and the version to pin it to after `cargo add NAME@VERSION`.
    pub(super) pin: Option<(String, String)>,
}

/// The cargo commands that make `change`, after checking it makes sense.
pub(super) fn cargo_commands(
    ws: &Workspace,
    change: &AddonChange,
    addons: &[Addon],
) -> crate::Result<Plan> {
    let (name, version, allowed) = match change {
        AddonChange::Upgrade {
            name,
            version,
            allow_requirement_change,
        } => (name, version.as_deref(), *allow_requirement_change),
        AddonChange::Downgrade {
            name,
            version,
            allow_requirement_change,
        } => (name, Some(version.as_str()), *allow_requirement_change),
        _ => {
            return Ok(Plan {
                commands: vec![cargo_command(ws, change, addons)?],
                pin: None,
            });
        }
    };
    let Some(version) = version else {
        if allowed {
            return Err(Error::InvalidInput(format!(
                "a requirement change needs the version to require: `{name}@VERSION`"
            )));
        }
        return Ok(Plan {
            commands: vec![cargo_command(ws, change, addons)?],
            pin: None,
        });
    };
    // The version and direction first: nothing else matters if they are wrong.
    let update = cargo_command(ws, change, addons)?;
    requirement::plan(ws, name, version, allowed, update)
}

/// Journals the manifests (a copy of each, so that whatever kills the
/// command, the next one puts them back unless the release was recorded)
/// and runs `plan`, then its pin; refuses a plan that changed nothing in them.
pub(super) fn run_plan(
    ws: &Workspace,
    ctx: &Context,
    tx: &mut Transaction<'_>,
    plan: &Plan,
) -> crate::Result<Backup> {
    let backup = tx.save_files(ws.manifests()?)?;
    crate::crash::point("manifests-saved");
    let backup = run_cargo(ctx, backup, &plan.commands)?;
    let backup = match &plan.pin {
        Some((name, version)) => requirement::pin(ws, ctx, backup, name, version)?,
        None => backup,
    };
    if !backup.changed() {
        let commands: Vec<String> = plan.commands.iter().map(ToString::to_string).collect();
        return Err(Error::InvalidInput(format!(
            "`{}` changed nothing in Cargo.toml or Cargo.lock, so there is no release to make",
            commands.join(" && ")
        )));
    }
    Ok(backup)
}

/// Runs `commands` one after the other; when one fails or Ctrl-C comes,
/// puts the manifests back.
pub(super) fn run_cargo(
    ctx: &Context,
    backup: Backup,
    commands: &[ProcessBuilder],
) -> crate::Result<Backup> {
    for command in commands {
        let output = command.output_unchecked()?;
        if ctx.interrupted() {
            backup.restore()?;
            return Err(interrupted());
        }
        if !output.status.success() {
            backup.restore()?;
            return Err(Error::AddonChangeFailed {
                command: command.to_string(),
                cargo: CargoSaid::from_stderr(&output.stderr),
            });
        }
    }
    Ok(backup)
}

/// The cargo command that makes `change`, after checking it makes sense.
fn cargo_command(
    ws: &Workspace,
    change: &AddonChange,
    addons: &[Addon],
) -> crate::Result<ProcessBuilder> {
    // Run in the workspace root, cargo finds the root manifest itself.
    let cargo = ProcessBuilder::cargo().cwd(ws.root());
    Ok(match change {
        AddonChange::Add {
            spec,
            package,
            features,
            section,
            source,
        } => {
            let mut cargo = cargo.arg("add").arg(spec);
            if let Some(package) = package {
                cargo = cargo.args(["--package", package]);
            }
            if !features.is_empty() {
                cargo = cargo.arg("--features").arg(features.join(","));
            }
            match section {
                Section::Normal => {}
                Section::Dev => cargo = cargo.arg("--dev"),
                Section::Build => cargo = cargo.arg("--build"),
            }
            cargo.args(source)
        }
        AddonChange::Remove { name, package } => {
            let mut cargo = cargo.arg("remove").arg(name);
            if let Some(package) = package {
                cargo = cargo.args(["--package", package]);
            }
            cargo
        }
        AddonChange::Upgrade { name, version, .. } => {
            let now = resolved_version(addons, name)?;
            if let Some(version) = version {
                compare(name, &now, version, std::cmp::Ordering::Greater, "upgrade")?;
            }
            let cargo = cargo.arg("update").arg(format!("{name}@{now}"));
            match version {
                Some(version) => cargo.args(["--precise", version]),
                None => cargo,
            }
        }
        AddonChange::Downgrade { name, version, .. } => {
            let now = resolved_version(addons, name)?;
            compare(name, &now, version, std::cmp::Ordering::Less, "downgrade")?;
            cargo
                .arg("update")
                .arg(format!("{name}@{now}"))
                .args(["--precise", version])
        }
    })
}

/// The one version of add-on `name` the latest build resolved.
fn resolved_version(addons: &[Addon], name: &str) -> crate::Result<String> {
    let versions: Vec<&str> = addons
        .iter()
        .filter(|a| a.name == name)
        .filter_map(|a| a.version.as_deref())
        .collect();
    match versions.as_slice() {
        [] => Err(Error::NotAnAddon {
            name: name.to_owned(),
        }),
        [version] => Ok((*version).to_owned()),
        several => Err(Error::SeveralVersions {
            name: name.to_owned(),
            versions: several.iter().map(|v| (*v).to_owned()).collect(),
        }),
    }
}

/// Refuses an upgrade that goes down, or a downgrade that goes up.
fn compare(
    name: &str,
    now: &str,
    wanted: &str,
    expected: std::cmp::Ordering,
    verb: &str,
) -> crate::Result<()> {
    let order = parse_version(wanted)?.cmp(&parse_version(now)?);
    if order == expected {
        return Ok(());
    }
    if order == std::cmp::Ordering::Equal {
        return Err(Error::InvalidInput(format!("`{name}` is already at {now}")));
    }
    Err(Error::WrongDirection {
        name: name.to_owned(),
        now: now.to_owned(),
        wanted: wanted.to_owned(),
        asked: verb.to_owned(),
    })
}

pub(super) fn parse_version(v: &str) -> crate::Result<semver::Version> {
    semver::Version::parse(v).map_err(|_| {
        Error::InvalidInput(format!("`{}` is not a version like `1.2.3`", printable(v)))
    })
}

/// Crate names are letters, digits, `-` and `_`: anything else (an option,
/// a path) is not one.
pub(super) fn check_crate_name(name: &str) -> crate::Result<()> {
    let valid = name.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if valid {
        Ok(())
    } else {
        Err(Error::InvalidInput(format!(
            "invalid crate name `{}`: expected letters, digits, `-` and `_`, optionally followed \
             by `@VERSION`",
            printable(name)
        )))
    }
}
