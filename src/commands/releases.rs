//! `releases` and `info`: read the history back.

use serde::Serialize;

use super::{SlugTransfer, fetch};
use crate::ledger::eligibility::Eligibility;
use crate::ledger::{Ineligible, Release, Version};
use crate::transaction::require_current;
use crate::workspace::Workspace;

/// One release with what the ledger says about it now.
#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct ReleaseInfo {
    /// The release as its file records it.
    #[serde(flatten)]
    pub release: Release,
    /// Whether it is the current release.
    pub current: bool,
    /// Whether it can be rolled back to.
    pub eligible_for_rollback: bool,
    /// Why not, when it is not, worded for people.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ineligible_because: Option<String>,
    /// Why not, when it is not, for programs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ineligible: Option<Ineligible>,
    /// The executables `info` fetched from the shared slug store.
    #[serde(skip)]
    pub fetched: Vec<SlugTransfer>,
}

impl Workspace {
    /// `releases`: the newest `n` releases, newest first, each with whether it
    /// is current and can be rolled back to.
    pub fn releases(&self, n: usize) -> crate::Result<Vec<ReleaseInfo>> {
        self.read_ledger(|ledger| {
            let releases = ledger.newest_releases(n)?;
            // The current release is the newest that succeeded: one of the
            // rows read already, unless every row failed.
            let current = match releases.iter().find(|r| r.succeeded()) {
                Some(current) => Some(current.clone()),
                None => ledger.current()?,
            };
            let eligibility = Eligibility::new(
                ledger,
                current.as_ref(),
                self.read_tier(),
                self.slug_store_for_reading(),
            )?;
            Ok(releases
                .into_iter()
                .map(|r| describe(r, current.as_ref(), &eligibility))
                .collect())
        })
    }

    /// `info [vN]`: the named release, or the current one.
    pub fn info(&self, version: Option<Version>) -> crate::Result<ReleaseInfo> {
        self.read_ledger(|ledger| {
            let current = ledger.current()?;
            let release = match version {
                Some(v) => ledger.get(v)?,
                None => require_current(ledger, self)?,
            };
            // A release whose slug is only in the shared store is fetched,
            // so that it can be run and rolled back to here.
            let fetched = match self.slug_store_for_reading() {
                Some(_) if release.succeeded() => fetch(self, ledger, &release.code.slug)?,
                _ => Vec::new(),
            };
            let eligibility = Eligibility::new(
                ledger,
                current.as_ref(),
                self.read_tier(),
                self.slug_store_for_reading(),
            )?;
            let mut info = describe(release, current.as_ref(), &eligibility);
            info.fetched = fetched;
            Ok(info)
        })
    }
}

fn describe(
    release: Release,
    current: Option<&Release>,
    eligibility: &Eligibility<'_>,
) -> ReleaseInfo {
    let why = eligibility.of(&release).err();
    ReleaseInfo {
        current: current.is_some_and(|c| c.version == release.version),
        eligible_for_rollback: why.is_none(),
        ineligible_because: why.as_ref().map(ToString::to_string),
        ineligible: why,
        release,
        fetched: Vec::new(),
    }
}
