//! `releases` and `info`: read the history back.

use serde::Serialize;

use super::require_current;
use crate::ledger::retention::eligibility;
use crate::ledger::{Ledger, Release, Version};
use crate::workspace::Workspace;

/// The newest `n` releases, newest first.
pub fn list(ws: &Workspace, n: usize) -> anyhow::Result<Vec<Release>> {
    Ledger::open(&ws.root)?.newest_releases(n)
}

/// One release in full, with whether it can be rolled back to.
#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct ReleaseInfo {
    #[serde(flatten)]
    pub release: Release,
    pub current: bool,
    pub eligible_for_rollback: bool,
    /// Why not, when it is not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ineligible_because: Option<String>,
}

/// `info [vN]`: the named release, or the current one.
pub fn info(ws: &Workspace, version: Option<Version>) -> anyhow::Result<ReleaseInfo> {
    let ledger = Ledger::open(&ws.root)?;
    let current = ledger.current()?;
    let release = match version {
        Some(v) => ledger.get(v)?,
        None => require_current(&ledger, ws)?,
    };
    let why = eligibility(&ledger, &release, current.as_ref()).err();
    Ok(ReleaseInfo {
        current: current.is_some_and(|c| c.version == release.version),
        eligible_for_rollback: why.is_none(),
        ineligible_because: why.map(|w| w.to_string()),
        release,
    })
}
