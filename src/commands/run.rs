//! `run`: start the current release's executable with its config vars.

use std::process::Command;

use anyhow::bail;

use super::require_current;
use crate::ledger::{Executable, Ledger};
use crate::render;
use crate::workspace::Workspace;

#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    pub bin: Option<String>,
    pub args: Vec<std::ffi::OsString>,
    /// The folder `run` is started from: as with `cargo run`, the package
    /// there decides which executable runs when there are several.
    pub from: Option<std::path::PathBuf>,
}

/// The command that starts the current release; the caller spawns it.
pub fn command(ws: &Workspace, opts: &RunOptions) -> anyhow::Result<Command> {
    let ledger = Ledger::open(&ws.root)?;
    let current = require_current(&ledger, ws)?;
    let exes = &current.code.slug.executables;
    // As `cargo run` does, the package of the folder it runs in decides;
    // elsewhere, the executable named after the workspace.
    let here = match (&opts.bin, &opts.from) {
        (None, Some(from)) if exes.len() > 1 => ws.bins_here(from)?,
        _ => None,
    };
    let preferred: Vec<&str> = match &here {
        Some(bins) if bins.len() > 1 => bail!(
            "the package here has several executables; pick one with `--bin`: {}",
            bins.join(", ")
        ),
        Some(bins) => bins.iter().map(String::as_str).collect(),
        None => vec![ws.name.as_str()],
    };
    let exe = pick(exes, opts.bin.as_deref(), &preferred, current.version)?;
    let path = ledger.slugs().path(exe);
    if !path.is_file() {
        bail!(
            "the slug of v{} is not stored in this workspace (`{}` is missing); \
             run `cargo release-log deploy` to build it here",
            current.version,
            path.display()
        );
    }
    let mut cmd = Command::new(path);
    cmd.args(&opts.args)
        // Always set, as Heroku does: the release's config wins over the
        // environment `run` is started from, `force` or not.
        .envs(
            current
                .config
                .iter()
                .map(|(name, var)| (name, render::run_value(var, &ws.root))),
        )
        .current_dir(&ws.root);
    Ok(cmd)
}

/// The executable to start: `--bin`, the only one, the one `cargo run`
/// would pick from the folder run is started in, or the one named after
/// the workspace.
fn pick<'a>(
    exes: &'a [Executable],
    bin: Option<&str>,
    preferred: &[&str],
    version: u64,
) -> anyhow::Result<&'a Executable> {
    let names = || {
        exes.iter()
            .map(|e| e.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    if exes.is_empty() {
        bail!(
            "v{version} has no executables: it was recorded with `deploy --no-build` before \
             anything was built, or the workspace has no binary target"
        );
    }
    match bin {
        Some(bin) => match exes.iter().find(|e| e.name == bin) {
            Some(exe) => Ok(exe),
            None => bail!("v{version} has no executable `{bin}`; it has {}", names()),
        },
        None if exes.len() == 1 => Ok(&exes[0]),
        None => match preferred
            .iter()
            .find_map(|p| exes.iter().find(|e| e.name == *p))
        {
            Some(exe) => Ok(exe),
            None => bail!(
                "v{version} has several executables; pick one with `--bin`: {}",
                names()
            ),
        },
    }
}
