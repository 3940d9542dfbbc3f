//! Rollback eligibility: the one rule `rollback`, `info`, `releases` and `check` apply.

use std::fmt;

use serde::Serialize;

use super::addons::{same_state, versions_of};
use super::release::{ConfigVar, Release};
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
    /// Its built executables are neither here nor in the slug store (and,
    /// when some are, the values of its secrets are not on this machine).
    SlugMissing {
        /// The executables missing.
        executables: Vec<String>,
        /// Whether its commit is here, so that `rebuild vN` can build them.
        rebuildable: bool,
        /// Its secret vars whose values this machine cannot read.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        secrets: Vec<String>,
    },
    /// The values of its secrets are not on this machine (its executables are).
    SecretsMissing {
        /// Its secret vars whose values this machine cannot read.
        secrets: Vec<String>,
        /// When they are team secrets, the recipients they are sealed to
        /// (no key of this machine is one of them).
        #[serde(skip_serializing_if = "Vec::is_empty")]
        sealed_to: Vec<String>,
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
            Ineligible::SlugMissing {
                executables,
                rebuildable,
                secrets,
            } => {
                write!(
                    f,
                    "its built executables are neither here nor in a slug store: {}",
                    executables.join(", ")
                )?;
                if !rebuildable {
                    f.write_str(" (and its commit is not in this repository)")?;
                }
                if !secrets.is_empty() {
                    write!(f, "; and {}", secrets_missing(secrets))?;
                }
                Ok(())
            }
            Ineligible::SecretsMissing { secrets, sealed_to } if !sealed_to.is_empty() => write!(
                f,
                "{} sealed to the team's secret recipients ({}), and no key of this machine is \
                 one of them",
                match secrets.as_slice() {
                    [one] => format!("the value of secret {one} is"),
                    _ => format!("the values of secrets {} are", secrets.join(", ")),
                },
                sealed_to.join(", ")
            ),
            Ineligible::SecretsMissing { secrets, .. } => f.write_str(&secrets_missing(secrets)),
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

/// `the values of API_KEY, DB_PASSWORD are not on this machine`.
fn secrets_missing(secrets: &[String]) -> String {
    match secrets {
        [one] => format!("the value of secret {one} is not on this machine"),
        _ => format!(
            "the values of secrets {} are not on this machine",
            secrets.join(", ")
        ),
    }
}

/// What only this machine can tell about a release: whether the values of
/// its secrets are here, and whether its commit is (so it can be rebuilt).
pub(crate) trait Here {
    /// Whether secret var `name` of a release can be read here.
    fn has_secret(&self, name: &str, var: &ConfigVar) -> bool;
    /// Whether commit `sha` is in this repository.
    fn has_commit(&self, sha: &str) -> bool;
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
    /// What this machine has, when asked; without it, secrets and commits
    /// are taken as here.
    here: Option<&'a dyn Here>,
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
        Self::asking(ledger, current, tier, remote, None)
    }

    /// The answer for this machine: `here` tells whether a release's
    /// secrets and commit are here.
    pub(crate) fn here(
        ledger: &'a Ledger,
        current: Option<&'a Release>,
        tier: Tier,
        remote: Option<&'a RemoteStore>,
        here: &'a dyn Here,
    ) -> anyhow::Result<Self> {
        Self::asking(ledger, current, tier, remote, Some(here))
    }

    fn asking(
        ledger: &'a Ledger,
        current: Option<&'a Release>,
        tier: Tier,
        remote: Option<&'a RemoteStore>,
        here: Option<&'a dyn Here>,
    ) -> anyhow::Result<Self> {
        let mut eligibility = Self {
            ledger,
            current,
            remote,
            here,
            basic_target: None,
        };
        eligibility.basic_target = match (tier, current) {
            (Tier::Basic, Some(current)) => Some(eligibility.newest_eligible_before(current)?),
            (Tier::Basic, None) => Some(None),
            (Tier::Advanced, _) => None,
        };
        Ok(eligibility)
    }

    /// Whether `release` can be rolled back to. The refusal that matters
    /// comes first: what the release is (current, failed, undoing an add-on
    /// release, pruned by the basic tier), then what this machine lacks,
    /// every missing piece at once.
    pub(crate) fn of(&self, release: &Release) -> Result<(), Ineligible> {
        rules(release, self.current)?;
        match &self.basic_target {
            Some(target) if target.as_ref().is_none_or(|t| t.version != release.version) => {
                return Err(Ineligible::BasicTier {
                    target: target.as_ref().map(|t| t.version),
                });
            }
            _ => {}
        }
        self.missing_here(release)
    }

    /// The release a bare `rollback` goes to: the newest eligible one before the current.
    pub(crate) fn bare_target(&self) -> anyhow::Result<Option<Release>> {
        match (&self.basic_target, self.current) {
            (Some(target), _) => Ok(target.clone()),
            (None, Some(current)) => self.newest_eligible_before(current),
            (None, None) => Ok(None),
        }
    }

    /// What `release` needs that this machine does not have: executables
    /// neither here nor in the store, values of secrets.
    fn missing_here(&self, release: &Release) -> Result<(), Ineligible> {
        let missing = self.ledger.slugs().missing(&release.code.slug);
        // What the shared store has can be fetched: a store that cannot be
        // asked is taken as not having it.
        let remote = self.remote;
        let fetchable = |exe: &&crate::ledger::Executable| {
            remote.is_some_and(|r| r.contains(exe).unwrap_or(false))
        };
        let executables: Vec<String> = missing
            .iter()
            .filter(|exe| !fetchable(exe))
            .map(|e| e.name.clone())
            .collect();
        let secrets: Vec<String> = match self.here {
            Some(here) => release
                .config
                .iter()
                .filter(|(name, var)| var.is_secret() && !here.has_secret(name, var))
                .map(|(name, _)| name.clone())
                .collect(),
            None => Vec::new(),
        };
        if !executables.is_empty() {
            let rebuildable = self.here.is_none_or(|here| {
                here.has_commit(
                    release
                        .code
                        .built_from
                        .as_deref()
                        .unwrap_or(&release.code.commit),
                )
            });
            return Err(Ineligible::SlugMissing {
                executables,
                rebuildable,
                secrets,
            });
        }
        if !secrets.is_empty() {
            // Named as sealed only when every one is: a secret missing from
            // this machine's own store is another story.
            let all_sealed = secrets
                .iter()
                .all(|name| release.config.get(name).is_some_and(|v| v.sealed.is_some()));
            let sealed_to = match &release.team {
                Some(team) if all_sealed => team
                    .recipients
                    .iter()
                    .map(|r| crate::secrets::team::label(r))
                    .collect(),
                _ => Vec::new(),
            };
            return Err(Ineligible::SecretsMissing { secrets, sealed_to });
        }
        Ok(())
    }

    fn newest_eligible_before(&self, current: &Release) -> anyhow::Result<Option<Release>> {
        for version in self.ledger.versions().iter().rev() {
            if version >= current.version {
                continue;
            }
            let release = self.ledger.read(version)?;
            if rules(&release, Some(current)).is_ok() && self.missing_here(&release).is_ok() {
                return Ok(Some(release));
            }
        }
        Ok(None)
    }

    /// The reason the basic tier gives for a release it no longer keeps.
    pub(crate) fn basic_tier(&self) -> Option<Ineligible> {
        self.basic_target.as_ref().map(|t| Ineligible::BasicTier {
            target: t.as_ref().map(|t| t.version),
        })
    }
}

/// The rules every tier applies to one release, whatever the machine.
fn rules(release: &Release, current: Option<&Release>) -> Result<(), Ineligible> {
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
