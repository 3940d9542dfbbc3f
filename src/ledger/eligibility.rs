//! Rollback eligibility: the one rule `rollback`, `info`, `releases` and `check` apply.

use std::fmt;

use serde::Serialize;

use super::addons::{same_state, versions_of};
use super::release::Release;
use super::remote::RemoteStore;
use super::{Ledger, Tier};

/// Why a release cannot be rolled back to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "reason")]
#[non_exhaustive]
pub enum Ineligible {
    /// It is the current release.
    Current,
    /// Its build failed.
    Failed,
    /// Its release phase failed: it never became current.
    ReleasePhaseFailed,
    /// Its health check failed, and it was rolled back from.
    HealthCheckFailed,
    /// It was recorded with `deploy --no-build` before anything was built.
    NeverBuilt,
    /// Its built executables are not stored here.
    SlugMissing {
        /// The executables missing.
        executables: Vec<String>,
    },
    /// Rolling back to it would undo add-on releases made after it.
    UndoesAddonRelease {
        /// The release asked for.
        target: u64,
        /// Each add-on that would change.
        addons: Vec<AddonConflict>,
    },
    /// The basic tier keeps one step of history: only `target` can be rolled back to.
    BasicTier {
        /// The release a bare rollback goes to, if any.
        target: Option<u64>,
    },
}

impl fmt::Display for Ineligible {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ineligible::Current => f.write_str("it is the current release"),
            Ineligible::Failed => f.write_str("its build failed"),
            Ineligible::ReleasePhaseFailed => f.write_str("its release phase failed"),
            Ineligible::HealthCheckFailed => {
                f.write_str("its health check failed, and it was rolled back from")
            }
            Ineligible::NeverBuilt => {
                f.write_str("it was deployed with --no-build before anything was built")
            }
            Ineligible::SlugMissing { executables } => write!(
                f,
                "its built executables are missing here: {}; slugs are not committed",
                executables.join(", ")
            ),
            Ineligible::UndoesAddonRelease { target, addons } => {
                let changes: Vec<String> = addons
                    .iter()
                    .map(|a| {
                        format!(
                            "{} {} (v{}) => {} (v{target})",
                            a.name, a.now, a.set_by, a.then
                        )
                    })
                    .collect();
                write!(f, "it would undo an add-on release: {}", changes.join(", "))
            }
            Ineligible::BasicTier { .. } => f.write_str(
                "the basic tier keeps only the current and the previous release, so a rollback \
                 can only undo one step",
            ),
        }
    }
}

/// An add-on that an add-on release set, in another state in a rollback's target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct AddonConflict {
    /// The add-on.
    pub name: String,
    /// Its versions now, or `absent`.
    pub now: String,
    /// The add-on release that last changed it.
    pub set_by: u64,
    /// Its versions in the target, or `absent`.
    pub then: String,
}

/// Which releases can be rolled back to while the current one runs.
pub(crate) struct Eligibility<'a> {
    ledger: &'a Ledger,
    current: Option<&'a Release>,
    /// The shared slug store, where a slug missing here may be fetched from.
    remote: Option<&'a RemoteStore>,
    /// In the basic tier, the one release a rollback can go to.
    basic_target: Option<Option<Release>>,
}

impl<'a> Eligibility<'a> {
    pub(crate) fn new(
        ledger: &'a Ledger,
        current: Option<&'a Release>,
        tier: Tier,
        remote: Option<&'a RemoteStore>,
    ) -> anyhow::Result<Self> {
        let basic_target = match (tier, current) {
            (Tier::Basic, Some(current)) => Some(newest_eligible_before(ledger, current, remote)?),
            (Tier::Basic, None) => Some(None),
            (Tier::Advanced, _) => None,
        };
        Ok(Self {
            ledger,
            current,
            remote,
            basic_target,
        })
    }

    /// Whether `release` can be rolled back to.
    pub(crate) fn of(&self, release: &Release) -> Result<(), Ineligible> {
        rules(self.ledger, release, self.current, self.remote)?;
        match &self.basic_target {
            Some(target) if target.as_ref().is_none_or(|t| t.version != release.version) => {
                Err(Ineligible::BasicTier {
                    target: target.as_ref().map(|t| t.version),
                })
            }
            _ => Ok(()),
        }
    }

    /// The release a bare `rollback` goes to: the newest eligible one before the current.
    pub(crate) fn bare_target(&self) -> anyhow::Result<Option<Release>> {
        match (&self.basic_target, self.current) {
            (Some(target), _) => Ok(target.clone()),
            (None, Some(current)) => newest_eligible_before(self.ledger, current, self.remote),
            (None, None) => Ok(None),
        }
    }

    /// The reason the basic tier gives for a release it no longer keeps.
    pub(crate) fn basic_tier(&self) -> Option<Ineligible> {
        self.basic_target.as_ref().map(|t| Ineligible::BasicTier {
            target: t.as_ref().map(|t| t.version),
        })
    }
}

/// The rules every tier applies to one release.
fn rules(
    ledger: &Ledger,
    release: &Release,
    current: Option<&Release>,
    remote: Option<&RemoteStore>,
) -> Result<(), Ineligible> {
    if current.is_some_and(|c| c.version == release.version) {
        return Err(Ineligible::Current);
    }
    if current.is_some_and(|c| c.unhealthy.contains(&release.version)) {
        return Err(Ineligible::HealthCheckFailed);
    }
    if !release.succeeded() {
        return Err(if release.release_phase_failed() {
            Ineligible::ReleasePhaseFailed
        } else {
            Ineligible::Failed
        });
    }
    if release.code.deploy == 0 && current.is_some_and(|c| c.latest_code().deploy != 0) {
        return Err(Ineligible::NeverBuilt);
    }
    let missing = ledger.slugs().missing(&release.code.slug);
    // What the shared store has can be fetched: a store that cannot be
    // asked is taken as not having it.
    let fetchable =
        |exe: &&crate::ledger::Executable| remote.is_some_and(|r| r.contains(exe).unwrap_or(false));
    if !missing.iter().all(fetchable) {
        return Err(Ineligible::SlugMissing {
            executables: missing.iter().map(|e| e.name.clone()).collect(),
        });
    }
    if let Some(current) = current {
        let conflicts = undone_addon_releases(release, current);
        if !conflicts.is_empty() {
            return Err(Ineligible::UndoesAddonRelease {
                target: release.version,
                addons: conflicts,
            });
        }
    }
    Ok(())
}

/// The add-ons that an add-on release after `target` changed and that are
/// in another state in `target` than in `current`. Dependencies that moved
/// with a deploy are part of its code, and go back with it.
fn undone_addon_releases(target: &Release, current: &Release) -> Vec<AddonConflict> {
    let (now, then) = (&current.code.addons, &target.code.addons);
    current
        .addon_releases
        .iter()
        .filter(|&(name, &set_by)| set_by > target.version && !same_state(now, then, name))
        .map(|(name, &set_by)| AddonConflict {
            name: name.clone(),
            now: versions_of(now, name),
            set_by,
            then: versions_of(then, name),
        })
        .collect()
}

fn newest_eligible_before(
    ledger: &Ledger,
    current: &Release,
    remote: Option<&RemoteStore>,
) -> anyhow::Result<Option<Release>> {
    for version in ledger.versions().iter().rev() {
        if version >= current.version {
            continue;
        }
        let release = ledger.read(version)?;
        if rules(ledger, &release, Some(current), remote).is_ok() {
            return Ok(Some(release));
        }
    }
    Ok(None)
}
