//! Rollback eligibility: the one rule `rollback`, `info`, `releases` and `check` apply.

use std::collections::BTreeSet;
use std::fmt;

use serde::Serialize;

use super::release::Release;
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
    /// It was recorded with `deploy --no-build` before anything was built.
    NeverBuilt,
    /// Its built executables are not stored here.
    SlugMissing {
        /// The executables missing.
        executables: Vec<String>,
    },
    /// Its add-ons differ from the current ones.
    AddonsDiffer {
        /// The add-ons that differ.
        addons: Vec<String>,
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
            Ineligible::NeverBuilt => {
                f.write_str("it was deployed with --no-build before anything was built")
            }
            Ineligible::SlugMissing { executables } => write!(
                f,
                "its built executables are missing here: {}; slugs are not committed",
                executables.join(", ")
            ),
            Ineligible::AddonsDiffer { addons } => write!(
                f,
                "its add-ons differ from the current ones: {}",
                addons.join(", ")
            ),
            Ineligible::BasicTier { .. } => f.write_str(
                "the basic tier keeps only the current and the previous release, so a rollback \
                 can only undo one step; set `tier = \"advanced\"` \
                 (`cargo release-log init --tier advanced`) to keep every release",
            ),
        }
    }
}

/// Which releases can be rolled back to while the current one runs.
pub(crate) struct Eligibility<'a> {
    ledger: &'a Ledger,
    current: Option<&'a Release>,
    /// In the basic tier, the one release a rollback can go to.
    basic_target: Option<Option<Release>>,
}

impl<'a> Eligibility<'a> {
    pub(crate) fn new(
        ledger: &'a Ledger,
        current: Option<&'a Release>,
        tier: Tier,
    ) -> anyhow::Result<Self> {
        let basic_target = match (tier, current) {
            (Tier::Basic, Some(current)) => Some(newest_eligible_before(ledger, current)?),
            (Tier::Basic, None) => Some(None),
            (Tier::Advanced, _) => None,
        };
        Ok(Self {
            ledger,
            current,
            basic_target,
        })
    }

    /// Whether `release` can be rolled back to.
    pub(crate) fn of(&self, release: &Release) -> Result<(), Ineligible> {
        rules(self.ledger, release, self.current)?;
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
            (None, Some(current)) => newest_eligible_before(self.ledger, current),
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
fn rules(ledger: &Ledger, release: &Release, current: Option<&Release>) -> Result<(), Ineligible> {
    if current.is_some_and(|c| c.version == release.version) {
        return Err(Ineligible::Current);
    }
    if !release.succeeded() {
        return Err(Ineligible::Failed);
    }
    if release.code.deploy == 0 && current.is_some_and(|c| c.latest_deploy.deploy != 0) {
        return Err(Ineligible::NeverBuilt);
    }
    let missing = ledger.slugs().missing(&release.code.slug);
    if !missing.is_empty() {
        return Err(Ineligible::SlugMissing {
            executables: missing.iter().map(|e| e.name.clone()).collect(),
        });
    }
    if let Some(current) = current {
        let differing = differing_addons(release, current);
        if !differing.is_empty() {
            return Err(Ineligible::AddonsDiffer { addons: differing });
        }
    }
    Ok(())
}

fn newest_eligible_before(ledger: &Ledger, current: &Release) -> anyhow::Result<Option<Release>> {
    for &version in ledger.versions().iter().rev() {
        if version >= current.version {
            continue;
        }
        let release = ledger.read(version)?;
        if rules(ledger, &release, Some(current)).is_ok() {
            return Ok(Some(release));
        }
    }
    Ok(None)
}

/// The names of the add-ons that `a` and `b` do not share in the same state.
fn differing_addons(a: &Release, b: &Release) -> Vec<String> {
    let mut names: BTreeSet<&str> = BTreeSet::new();
    for addon in &a.addons {
        if !b.addons.contains(addon) {
            names.insert(&addon.name);
        }
    }
    for addon in &b.addons {
        if !a.addons.contains(addon) {
            names.insert(&addon.name);
        }
    }
    names.into_iter().map(str::to_owned).collect()
}
