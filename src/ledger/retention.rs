//! Tiers: which releases and slugs are kept.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::text::printable;

use super::eligibility::Eligibility;
use super::release::{ParseError, Release};
use super::remote::RemoteStore;
use super::{Ledger, LockedLedger};

/// The releases add-on tier, `[workspace.metadata.release-log] tier`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Tier {
    /// Keeps the current and the previous release: a rollback undoes one step.
    Basic,
    /// Keeps every release: roll back to any of them.
    #[default]
    Advanced,
}

impl Tier {
    /// `basic` or `advanced`.
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

/// Reads `basic` or `advanced`; anything else is a [`ParseError`].
impl FromStr for Tier {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, ParseError> {
        match s {
            "basic" => Ok(Tier::Basic),
            "advanced" => Ok(Tier::Advanced),
            _ => Err(ParseError(format!(
                "unknown tier `{}` (expected `basic` or `advanced`)",
                printable(s)
            ))),
        }
    }
}

/// What retention removed.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Pruned {
    /// The release files deleted.
    pub releases: Vec<u64>,
    /// How many stored slugs were deleted.
    pub slugs: usize,
}

/// Applies the tier: `basic` keeps the current release, the one before it,
/// the one a bare rollback would go to (usually the same), and the newest
/// file (so numbers and the hash chain continue after a failed deploy);
/// `advanced` keeps everything. Slugs that no kept release refers to are
/// deleted, unless `others` (the digests other environments' retained
/// releases name: slugs are shared) has them.
pub(crate) fn apply(
    ledger: &mut LockedLedger,
    tier: Tier,
    remote: Option<&RemoteStore>,
    keep_slugs: Option<usize>,
    others: &dyn Fn() -> anyhow::Result<BTreeSet<String>>,
) -> anyhow::Result<Pruned> {
    let mut pruned = Pruned::default();
    let mut others_cache: Option<BTreeSet<String>> = None;
    let mut with_others = |mut keep: BTreeSet<String>| -> anyhow::Result<BTreeSet<String>> {
        if others_cache.is_none() {
            others_cache = Some(others()?);
        }
        keep.extend(others_cache.iter().flatten().cloned());
        Ok(keep)
    };
    if let Some(keep) = kept(ledger, tier, remote)? {
        pruned.releases = ledger
            .versions()
            .iter()
            .filter(|v| !keep.contains(v))
            .collect();
        ledger.remove(&pruned.releases)?;
        if !pruned.releases.is_empty() {
            let kept: Vec<Release> = keep
                .iter()
                .map(|&v| ledger.read(v))
                .collect::<anyhow::Result<_>>()?;
            let digests = with_others(digests(kept.iter()))?;
            pruned.slugs = ledger
                .slugs()
                .retain(&digests.iter().map(String::as_str).collect())?
                .0;
        }
    }
    if let Some(k) = keep_slugs {
        let keep = with_others(slugs_kept_here(ledger, tier, remote, k)?)?;
        pruned.slugs += ledger
            .slugs()
            .retain(&keep.iter().map(String::as_str).collect())?
            .0;
    }
    Ok(pruned)
}

/// The digests of the executables `releases` run, with their latest code's.
fn digests<'a>(releases: impl Iterator<Item = &'a Release>) -> BTreeSet<String> {
    releases
        .flat_map(Release::codes)
        .flat_map(|c| &c.slug.executables)
        .map(|e| e.sha256.clone())
        .collect()
}

/// With `keep-slugs = k`: the slugs of the newest `k` builds, with those
/// the current release runs and a bare rollback goes to; other slugs can
/// be fetched from a shared store, or rebuilt, when needed. Reads only the
/// newest release files it has to.
pub(crate) fn slugs_kept_here(
    ledger: &Ledger,
    tier: Tier,
    remote: Option<&RemoteStore>,
    k: usize,
) -> anyhow::Result<BTreeSet<String>> {
    let mut builds: Vec<BTreeSet<String>> = Vec::new();
    for version in ledger.versions().iter().rev() {
        if builds.len() >= k {
            break;
        }
        let release = ledger.read(version)?;
        let built = digests(std::iter::once(&release));
        if release.succeeded() && !built.is_empty() && !builds.contains(&built) {
            builds.push(built);
        }
    }
    let mut keep: BTreeSet<String> = builds.into_iter().flatten().collect();
    if let Some(current) = ledger.current()? {
        keep.extend(digests(std::iter::once(&current)));
        if let Some(target) =
            Eligibility::new(ledger, Some(&current), tier, remote)?.bare_target()?
        {
            keep.extend(digests(std::iter::once(&target)));
        }
    }
    Ok(keep)
}

/// The release files `tier` would prune now, without pruning them.
pub(crate) fn would_prune(
    ledger: &Ledger,
    tier: Tier,
    remote: Option<&RemoteStore>,
) -> anyhow::Result<Vec<u64>> {
    Ok(match kept(ledger, tier, remote)? {
        Some(keep) => ledger
            .versions()
            .iter()
            .filter(|v| !keep.contains(v))
            .collect(),
        None => Vec::new(),
    })
}

/// The releases `tier` keeps, or `None` when it keeps every one.
fn kept(
    ledger: &Ledger,
    tier: Tier,
    remote: Option<&RemoteStore>,
) -> anyhow::Result<Option<BTreeSet<u64>>> {
    if tier == Tier::Advanced {
        return Ok(None);
    }
    let Some(current) = ledger.current()? else {
        return Ok(None);
    };
    let mut keep = BTreeSet::from([current.version]);
    // The previous release, even when it cannot be rolled back to, so that
    // the history always shows the step before the current one.
    for version in ledger
        .versions()
        .iter()
        .rev()
        .filter(|&v| v < current.version)
    {
        if ledger.read(version)?.succeeded() {
            keep.insert(version);
            break;
        }
    }
    if let Some(target) = Eligibility::new(ledger, Some(&current), tier, remote)?.bare_target()? {
        keep.insert(target.version);
    }
    keep.extend(ledger.newest());
    Ok(Some(keep))
}
