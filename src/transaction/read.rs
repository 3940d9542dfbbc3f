//! Reading a ledger outside a transaction: `[env]`, fresh reads, and the refusals they share.

use std::collections::BTreeSet;

use crate::error::Error;
use crate::ledger::config_vars::plain_vars;
use crate::ledger::{Ledger, Release, Vanished, Version};
use crate::workspace::{EnvFile, Workspace};

use super::EnvState;

impl Workspace {
    /// The `[env]` file, for the default environment: the only one whose
    /// plain config vars live there (the others' live in their releases).
    pub(crate) fn env_file(&self) -> crate::Result<Option<EnvFile>> {
        if self.env().is_default() {
            Ok(Some(EnvFile::load(self.root())?))
        } else {
            Ok(None)
        }
    }

    /// Reads the selected environment's ledger with `read`, listing it
    /// again when a file vanished under it (a concurrent writer pruned it):
    /// readers take no lock, and never fail for that.
    pub(crate) fn read_ledger<T>(
        &self,
        read: impl Fn(&Ledger) -> crate::Result<T>,
    ) -> crate::Result<T> {
        let mut attempts = 0;
        loop {
            // Once a file vanished, the folder itself is listed: an index
            // that missed a change must not fail every attempt alike.
            let ledger = Ledger::open_fresh(self.root(), self.env(), attempts == 0)?;
            match read(&ledger) {
                Err(Error::Other(e)) if attempts < 5 && e.is::<Vanished>() => {
                    attempts += 1;
                }
                result => return result,
            }
        }
    }
}

/// What the library says of a ledger's releases to a user.
impl Ledger {
    /// Reads the release a user named, saying which exist when it does not.
    pub(crate) fn get(&self, version: Version) -> crate::Result<Release> {
        if self.versions().contains(version.0) {
            return Ok(self.read(version.0)?);
        }
        Err(Error::NoSuchRelease {
            version,
            kept: self.versions().to_vec(),
        })
    }
}

/// The digests of the executables every retained release of the other
/// environments names: slugs are shared, so retention in one environment
/// never deletes what another still needs.
pub(super) fn other_environments_slugs(ws: &Workspace) -> anyhow::Result<BTreeSet<String>> {
    let mut digests = BTreeSet::new();
    for env in ws.environments() {
        if &env == ws.env() {
            continue;
        }
        let ledger = Ledger::open(ws.root(), &env)?;
        for version in ledger.versions().iter() {
            let release = ledger.read(version)?;
            digests.extend(
                release
                    .codes()
                    .flat_map(|c| &c.slug.executables)
                    .map(|e| e.sha256.clone()),
            );
        }
    }
    Ok(digests)
}

/// How `env` (`[env]`, for the default environment) stands against `current`.
pub(crate) fn env_state(
    ledger: &Ledger,
    env: Option<&EnvFile>,
    current: &Release,
    ws: &Workspace,
) -> crate::Result<EnvState> {
    let Some(env) = env else {
        return Ok(EnvState::Matches);
    };
    let vars = env
        .vars()
        .map_err(|e| unreadable_env(&env.relative_path(ws.root()), &e))?;
    // `[env]` holds the plain vars; secrets live in the secret store.
    if vars == plain_vars(&current.config) {
        return Ok(EnvState::Matches);
    }
    // A fresh clone (no `.releases/current` yet) has not written `[env]`;
    // anywhere else, a missing table is a hand edit like any other.
    if !env.has_env_table() && ledger.current_pointer().is_none() {
        return Ok(EnvState::Behind);
    }
    if let Some(pointer) = ledger.current_pointer().filter(|&p| p < current.version)
        && ledger
            .read(pointer)
            .is_ok_and(|r| plain_vars(&r.config) == vars)
    {
        return Ok(EnvState::Behind);
    }
    Ok(EnvState::HandEdited(vars))
}

/// `[env]` holds something cargo or an environment cannot take.
pub(crate) fn unreadable_env(env_path: &str, err: &anyhow::Error) -> Error {
    Error::EnvUnreadable {
        path: env_path.to_owned(),
        message: format!("{err:#}"),
    }
}

/// The current release of `ledger`, or an error saying there is none yet.
pub(crate) fn require_current(ledger: &Ledger, ws: &Workspace) -> crate::Result<Release> {
    match ledger.current()? {
        Some(release) => Ok(release),
        None => Err(no_releases(ws, &ledger.versions().to_vec())),
    }
}

pub(super) fn no_releases(ws: &Workspace, failed: &[u64]) -> Error {
    if let Ok(Some(from)) = ws.promote_from()
        && failed.is_empty()
    {
        return Error::NothingPromotedYet {
            env: ws.env().name().to_owned(),
            from: from.name().to_owned(),
        };
    }
    Error::NoReleases {
        app: ws.app_name(),
        failed: failed.to_vec(),
    }
}
