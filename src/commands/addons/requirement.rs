//! Upgrading or downgrading across a requirement: the check that a version
//! is inside every member's requirement, and the `cargo add` plan that
//! changes the requirements when it is not.

use cargo_metadata::semver;

use super::AddonRequirement;
use super::cargo::{Plan, parse_version, run_cargo};
use crate::commands::restore::Backup;
use crate::context::Context;
use crate::error::Error;
use crate::process::ProcessBuilder;
use crate::workspace::Workspace;
use crate::workspace::lockfile::AddonUse;

/// The plan for an upgrade or downgrade of `name` to `version`: `update`
/// when every member's requirement allows `version`; else, when `allowed`,
/// `cargo add NAME@VERSION` for each member that uses the add-on, then a
/// pin to `version`; else [`Error::OutsideRequirement`].
pub(super) fn plan(
    ws: &Workspace,
    name: &str,
    version: &str,
    allowed: bool,
    update: ProcessBuilder,
) -> crate::Result<Plan> {
    let uses = ws.addon_uses(name)?;
    let wanted = parse_version(version)?;
    let outside: Vec<&AddonUse> = uses.iter().filter(|u| !u.req.matches(&wanted)).collect();
    if outside.is_empty() {
        return Ok(Plan {
            commands: vec![update],
            pin: None,
        });
    }
    let adds: Vec<ProcessBuilder> = uses
        .iter()
        .map(|u| requirement_command(ws, name, version, u))
        .collect();
    if !allowed {
        return Err(Error::OutsideRequirement {
            name: name.to_owned(),
            version: version.to_owned(),
            outside: outside
                .iter()
                .map(|u| AddonRequirement {
                    member: u.member.clone(),
                    manifest: u.manifest.clone(),
                    req: u.req.to_string(),
                    build: u.build,
                })
                .collect(),
            commands: adds.iter().map(ToString::to_string).collect(),
        });
    }
    Ok(Plan {
        commands: adds,
        pin: Some((name.to_owned(), version.to_owned())),
    })
}

/// `cargo add NAME@VERSION` for one member's dependency on the add-on, in
/// the table it is in.
fn requirement_command(
    ws: &Workspace,
    name: &str,
    version: &str,
    dependency: &AddonUse,
) -> ProcessBuilder {
    let mut cargo = ProcessBuilder::cargo()
        .cwd(ws.root())
        .arg("add")
        .arg(format!("{name}@{version}"));
    if !dependency.at_root {
        cargo = cargo.args(["-p", &dependency.member]);
    }
    if dependency.build {
        cargo = cargo.arg("--build");
    }
    if let Some(target) = &dependency.target {
        cargo = cargo.args(["--target", target]);
    }
    if let Some(rename) = &dependency.rename {
        cargo = cargo.args(["--rename", rename]);
    }
    cargo
}

/// `cargo add NAME@VERSION` resolves the newest version the new
/// requirement allows: `cargo update --precise` then goes to the one asked for.
pub(super) fn pin(
    ws: &Workspace,
    ctx: &Context,
    backup: Backup,
    name: &str,
    version: &str,
) -> crate::Result<Backup> {
    let locked = crate::workspace::lockfile::locked_versions(ws.root(), name)?;
    if locked.iter().any(|v| v == version) {
        return Ok(backup);
    }
    let Ok(req) = semver::VersionReq::parse(version) else {
        return Ok(backup);
    };
    let resolved: Vec<&String> = locked
        .iter()
        .filter(|v| semver::Version::parse(v).is_ok_and(|v| req.matches(&v)))
        .collect();
    let [resolved] = resolved.as_slice() else {
        return Ok(backup);
    };
    let update = ProcessBuilder::cargo()
        .cwd(ws.root())
        .arg("update")
        .arg(format!("{name}@{resolved}"))
        .args(["--precise", version]);
    run_cargo(ctx, backup, &[update])
}
