//! Tiers, rollback eligibility, and which releases and slugs are kept.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use anyhow::bail;
use serde::Serialize;

use super::Ledger;
use super::release::Release;

/// The releases add-on tier, `[workspace.metadata.release-log] tier`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Tier {
    /// Keeps the current and the previous release: a rollback undoes one step.
    Basic,
    /// Keeps every release: roll back to any of them.
    #[default]
    Advanced,
}

impl Tier {
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Basic => "basic",
            Tier::Advanced => "advanced",
        }
    }
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Tier {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> anyhow::Result<Self> {
        match s {
            "basic" => Ok(Tier::Basic),
            "advanced" => Ok(Tier::Advanced),
            _ => bail!("unknown tier `{s}` (expected `basic` or `advanced`)"),
        }
    }
}

/// Why a release cannot be rolled back to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ineligible {
    Current,
    Failed,
    /// It was recorded with `deploy --no-build` before anything was built.
    NeverBuilt,
    SlugMissing(Vec<String>),
    AddonsDiffer(Vec<String>),
}

impl fmt::Display for Ineligible {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ineligible::Current => f.write_str("it is the current release"),
            Ineligible::Failed => f.write_str("its build failed"),
            Ineligible::NeverBuilt => {
                f.write_str("it was deployed with --no-build before anything was built")
            }
            Ineligible::SlugMissing(names) => write!(
                f,
                "its built executables are missing here: {}; slugs are not committed",
                names.join(", ")
            ),
            Ineligible::AddonsDiffer(names) => {
                write!(
                    f,
                    "its add-ons differ from the current ones: {}",
                    names.join(", ")
                )
            }
        }
    }
}

/// Whether `release` can be rolled back to while `current` runs.
pub fn eligibility(
    ledger: &Ledger,
    release: &Release,
    current: Option<&Release>,
) -> Result<(), Ineligible> {
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
        return Err(Ineligible::SlugMissing(
            missing.iter().map(|e| e.name.clone()).collect(),
        ));
    }
    if let Some(current) = current {
        let differing = differing_addons(release, current);
        if !differing.is_empty() {
            return Err(Ineligible::AddonsDiffer(differing));
        }
    }
    Ok(())
}

/// The names of the add-ons that `a` and `b` do not share in the same state.
pub fn differing_addons(a: &Release, b: &Release) -> Vec<String> {
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

/// The release a bare `rollback` goes to: the newest eligible one before the current.
pub fn rollback_target(ledger: &Ledger, current: &Release) -> anyhow::Result<Option<Release>> {
    for &version in ledger.versions().iter().rev() {
        if version >= current.version {
            continue;
        }
        let release = ledger.read(version)?;
        if eligibility(ledger, &release, Some(current)).is_ok() {
            return Ok(Some(release));
        }
    }
    Ok(None)
}

/// What retention removed.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct Pruned {
    pub releases: Vec<u64>,
    pub slugs: usize,
}

/// Applies the tier: `basic` keeps the current release, the one before it,
/// the one a bare rollback would go to (usually the same), and the newest
/// file (so numbers and the hash chain continue after a failed deploy);
/// `advanced` keeps everything. Slugs that no kept release refers to are
/// deleted.
pub fn apply(ledger: &mut Ledger, tier: Tier) -> anyhow::Result<Pruned> {
    let mut pruned = Pruned::default();
    if tier == Tier::Advanced {
        return Ok(pruned);
    }
    let Some(current) = ledger.current()? else {
        return Ok(pruned);
    };
    let mut keep = BTreeSet::from([current.version]);
    // The previous release, even when it cannot be rolled back to, so that
    // the history always shows the step before the current one.
    for &version in ledger
        .versions()
        .iter()
        .rev()
        .filter(|&&v| v < current.version)
    {
        if ledger.read(version)?.succeeded() {
            keep.insert(version);
            break;
        }
    }
    if let Some(target) = rollback_target(ledger, &current)? {
        keep.insert(target.version);
    }
    keep.extend(ledger.newest());
    for version in ledger.versions().to_vec() {
        if !keep.contains(&version) {
            ledger.remove(version)?;
            pruned.releases.push(version);
        }
    }
    if !pruned.releases.is_empty() {
        let kept: Vec<Release> = keep
            .iter()
            .map(|&v| ledger.read(v))
            .collect::<anyhow::Result<_>>()?;
        let digests: BTreeSet<&str> = kept
            .iter()
            .flat_map(|r| [&r.code.slug, &r.latest_deploy.slug])
            .flat_map(|s| &s.executables)
            .map(|e| e.sha256.as_str())
            .collect();
        pruned.slugs = ledger.slugs().retain(&digests)?;
    }
    Ok(pruned)
}
