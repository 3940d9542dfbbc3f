//! `releases` and `info`: read the history back.

use serde::Serialize;

use super::{SlugTransfer, fetch};
use crate::error::Error;
use crate::hooks;
use crate::ledger::eligibility::Eligibility;
use crate::ledger::{Ineligible, Release, ReleasePhase, Version};
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
    /// Why its post-release hook failed on this machine, when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub post_release_failed: Option<String>,
}

/// What the release phase of a release printed.
#[derive(Debug)]
#[non_exhaustive]
pub struct ReleaseOutput {
    /// The release.
    pub version: u64,
    /// What its file records of the release phase.
    pub phase: ReleasePhase,
    /// The output, stdout and stderr as they came.
    pub output: Vec<u8>,
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
            let eligibility = Eligibility::here(
                ledger,
                current.as_ref(),
                self.read_tier(),
                self.slug_store_for_reading(),
                self,
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
            // so that it can be run and rolled back to here. A store that
            // cannot be reached changes nothing of what the release says:
            // its eligibility tells what is missing here.
            let fetched = match self.slug_store_for_reading() {
                Some(_) if release.succeeded() => {
                    fetch(self, ledger, &release.code.slug).unwrap_or_default()
                }
                _ => Vec::new(),
            };
            let eligibility = Eligibility::here(
                ledger,
                current.as_ref(),
                self.read_tier(),
                self.slug_store_for_reading(),
                self,
            )?;
            let mut info = describe(release, current.as_ref(), &eligibility);
            info.fetched = fetched;
            info.post_release_failed = hooks::post_release_failure(self, info.release.version);
            Ok(info)
        })
    }

    /// `releases output [vN]`: what the release phase of `version` (default:
    /// the newest release) printed, as kept on this machine and checked
    /// against the sha256 its release file records.
    pub fn release_output(&self, version: Option<Version>) -> crate::Result<ReleaseOutput> {
        let release = self.read_ledger(|ledger| match version {
            Some(v) => ledger.get(v),
            None => match ledger.newest() {
                Some(v) => Ok(ledger.read(v)?),
                None => Err(Error::NoReleases {
                    app: self.app_name(),
                    failed: Vec::new(),
                }),
            },
        })?;
        let v = release.version;
        let Some(phase) = release.release_phase.clone() else {
            return Err(Error::InvalidInput(format!("v{v} ran no release phase")));
        };
        let Some(expected) = phase.output_sha256.clone() else {
            return Err(Error::InvalidInput(format!(
                "v{v} ran no release phase (it was skipped)"
            )));
        };
        let path = hooks::output_path(self, v, "release-phase");
        // Another clone made it: the slug store has it, when there is one.
        if let Some(remote) = self.slug_store_for_reading()
            && !crate::files::is_regular_file(&path)
            && let Some(dir) = path.parent()
        {
            crate::files::create_real_dir(dir)?;
            remote.fetch(&hooks::output_object(&expected, phase.output_size), &path)?;
        }
        let output = crate::files::read_bounded(&path, 64 * 1024 * 1024)?
            .filter(|bytes| crate::ledger::file_digest(bytes) == expected)
            .ok_or_else(|| {
                Error::Other(anyhow::anyhow!(
                    "the output of v{v}'s release phase is not kept on this machine (it is \
                     kept where the release was made)"
                ))
            })?;
        Ok(ReleaseOutput {
            version: v,
            phase,
            output,
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
        post_release_failed: None,
    }
}
