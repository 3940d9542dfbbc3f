//! `releases retry`: a new release of the newest release, which failed, running its release phase again.

use super::{SlugTransfer, fetch};
use crate::context::Context;
use crate::error::Error;
use crate::ledger::Release;
use crate::ledger::retention::Pruned;
use crate::transaction::{Draft, Transaction};
use crate::workspace::Workspace;

/// What a retry recorded.
#[derive(Debug)]
#[non_exhaustive]
pub struct Retried {
    /// The new release.
    pub release: Release,
    /// The failed release it retried.
    pub retried: u64,
    /// The executables fetched from the shared slug store first.
    pub fetched: Vec<SlugTransfer>,
    /// What the tier's retention removed afterwards.
    pub pruned: Pruned,
}

impl Workspace {
    /// `releases retry`: records a new release with the code, executables
    /// and config of the newest release, which failed (Heroku's
    /// `releases:retry`), running the release phase again.
    ///
    /// Refused when the newest release succeeded, or its build failed
    /// (there is nothing built to retry: deploy again).
    pub fn retry(&self, ctx: &Context) -> crate::Result<Retried> {
        let Some(mut tx) = Transaction::begin(self, ctx)? else {
            return Err(Error::NoReleases {
                app: self.app_name(),
                failed: Vec::new(),
            });
        };
        if tx.current().is_some() {
            tx.ensure_runs_current()?;
        }
        let Some(newest) = tx.ledger().newest() else {
            return Err(Error::NoReleases {
                app: self.app_name(),
                failed: Vec::new(),
            });
        };
        let failed = tx.ledger().read(newest)?;
        if failed.succeeded() {
            return Err(Error::InvalidInput(format!(
                "the newest release, v{newest}, succeeded: there is no failed release to retry"
            )));
        }
        if failed.code.slug.executables.is_empty() && failed.code.deploy == newest {
            return Err(Error::InvalidInput(format!(
                "v{newest}'s build failed, so nothing was built to retry; deploy again"
            )));
        }
        let fetched = fetch(self, tx.ledger(), &failed.code.slug)?;
        let missing = tx.ledger().slugs().missing(&failed.code.slug);
        if !missing.is_empty() {
            return Err(Error::SlugMissing {
                version: newest,
                executables: missing.iter().map(|e| e.name.clone()).collect(),
            });
        }
        let mut draft = Draft::new(
            failed.kind,
            format!("Retry v{newest}: {}", failed.change),
            failed.code.clone(),
            failed.config.clone(),
        );
        draft.latest_code = failed.latest_code().clone();
        draft.rollback_to = failed.rollback_to;
        draft.promoted_from = failed.promoted_from.clone();
        draft.addon_releases = failed.addon_releases.clone();
        draft.message = failed.message.clone();
        let committed = tx.commit(ctx, draft)?;
        Ok(Retried {
            release: committed.release,
            retried: newest,
            fetched,
            pruned: committed.pruned,
        })
    }
}
