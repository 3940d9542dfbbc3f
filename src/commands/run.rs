//! `run`: start the current release's executable with its config vars.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::Command;

use super::SlugTransfer;
use crate::error::Error;
use crate::ledger::{Executable, Version};
use crate::text::printable;
use crate::transaction::require_current;
use crate::workspace::Workspace;

/// Which executable to start, and how.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct RunOptions {
    /// The executable's name, when the release has several.
    pub bin: Option<String>,
    /// Arguments for it.
    pub args: Vec<OsString>,
    /// The folder `run` is started from: the program runs there, and, as
    /// with `cargo run`, the package there decides which executable runs
    /// when there are several (default: the workspace root).
    pub from: Option<PathBuf>,
}

/// How to start the current release.
#[derive(Debug)]
#[non_exhaustive]
pub struct RunPlan {
    /// The command; the caller spawns it (or execs it).
    pub command: Command,
    /// The executables fetched from the shared slug store first.
    pub fetched: Vec<SlugTransfer>,
}

impl Workspace {
    /// The environment a program started from release `version` (default:
    /// the current one) gets, as `--shell` prints it: its config vars (a
    /// secret's value from this machine), then `RELEASE_LOG_VERSION`,
    /// `_COMMIT`, `_CREATED_AT`, `_CHANGE`, `_ENV` and `_EXECUTABLE`.
    pub fn release_environment(
        &self,
        version: Option<Version>,
    ) -> crate::Result<Vec<(String, String)>> {
        let (release, metadata) = self.read_ledger(|ledger| {
            let release = match version {
                Some(v) => ledger.get(v)?,
                None => require_current(ledger, self)?,
            };
            let metadata = crate::hooks::metadata(self, ledger, &release);
            Ok((release, metadata))
        })?;
        let mut vars = self.environment(&release.config, release.team.as_ref())?;
        vars.extend(metadata);
        Ok(vars)
    }

    /// `run`: the command that starts the current release's executable with
    /// its config vars (always set, as Heroku does). The caller spawns it.
    pub fn run_command(&self, opts: &RunOptions) -> crate::Result<RunPlan> {
        let (slugs, current, metadata) = self.read_ledger(|ledger| {
            let current = require_current(ledger, self)?;
            let metadata = crate::hooks::metadata(self, ledger, &current);
            Ok((ledger.slugs(), current, metadata))
        })?;
        let exes = &current.code.slug.executables;
        // As `cargo run` does, the package of the folder it runs in decides;
        // elsewhere, the executable named after the workspace.
        let here = match (&opts.bin, &opts.from) {
            (None, Some(from)) if exes.len() > 1 => self.bins_here(from)?,
            _ => None,
        };
        let preferred: Vec<&str> = match &here {
            Some(bins) if bins.len() > 1 => {
                return Err(Error::InvalidInput(format!(
                    "the package here has several executables; pick one with `--bin`: {}",
                    bins.join(", ")
                )));
            }
            Some(bins) => bins.iter().map(String::as_str).collect(),
            None => vec![self.name()],
        };
        let exe = pick(exes, opts.bin.as_deref(), &preferred, current.version)?;
        // Every value first: a release this machine cannot run (a secret
        // sealed to others, one not in its store) fetches nothing.
        let environment = self.environment(&current.config, current.team.as_ref())?;
        let path = slugs.path(exe);
        // A link on the way (`slugs`, `slugs/<sha256>`) is refused, not followed.
        let fetched = match self.slug_store()? {
            Some(remote) if !slugs.is_stored(exe)? => {
                let slug = crate::ledger::Slug::from_executables(vec![exe.clone()]);
                slugs
                    .fetch_missing(&slug, Some(remote))?
                    .into_iter()
                    .map(|(exe, bytes)| SlugTransfer {
                        name: exe.name,
                        sha256: exe.sha256,
                        bytes,
                        store: remote.location().to_owned(),
                    })
                    .collect()
            }
            _ => Vec::new(),
        };
        if !slugs.is_stored(exe)? {
            return Err(Error::SlugMissing {
                version: current.version,
                executables: vec![exe.name.clone()],
            });
        }
        // What starts is what was built: the stored bytes, reached through no
        // link, are checked against the record.
        slugs.verify(exe)?;
        let mut cmd = Command::new(path);
        cmd.args(&opts.args)
            // Always set, as Heroku does: the release's config wins over the
            // environment `run` is started from, `force` or not.
            .envs(environment)
            // Which release this is, as Heroku's dyno metadata says.
            .envs(metadata)
            // As `cargo run`, in the folder it was started from.
            .current_dir(opts.from.as_deref().unwrap_or(self.root()));
        Ok(RunPlan {
            command: cmd,
            fetched,
        })
    }
}

/// The executable to start: `--bin`, the only one, the one `cargo run`
/// would pick from the folder run is started in, or the one named after
/// the workspace.
fn pick<'a>(
    exes: &'a [Executable],
    bin: Option<&str>,
    preferred: &[&str],
    version: u64,
) -> crate::Result<&'a Executable> {
    let names = || {
        exes.iter()
            .map(|e| e.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let refuse = |message: String| Err(Error::InvalidInput(message));
    if exes.is_empty() {
        return Err(anyhow::anyhow!(
            "v{version} has no executables: it was recorded with `deploy --no-build` before \
             anything was built, or the workspace has no binary target"
        )
        .into());
    }
    match bin {
        Some(bin) => match exes.iter().find(|e| e.name == bin) {
            Some(exe) => Ok(exe),
            None => refuse(format!(
                "v{version} has no executable `{}`; it has {}",
                printable(bin),
                names()
            )),
        },
        None if exes.len() == 1 => Ok(&exes[0]),
        None => match preferred
            .iter()
            .find_map(|p| exes.iter().find(|e| e.name == *p))
        {
            Some(exe) => Ok(exe),
            None => refuse(format!(
                "v{version} has several executables; pick one with `--bin`: {}",
                names()
            )),
        },
    }
}
