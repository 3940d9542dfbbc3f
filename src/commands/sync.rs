//! `sync`: regenerate `[env]` and `.releases/current` from the current release.

use super::{SlugTransfer, fetch};
use crate::context::Context;
use crate::ledger::ConfigDiff;
use crate::ledger::config_vars::check_release;
use crate::ledger::retention::Pruned;
use crate::transaction::Transaction;
use crate::workspace::{EnvFile, Workspace};

/// What `sync` regenerated.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct Synced {
    /// The current release, if there is one.
    pub release: Option<u64>,
    /// How `[env]` was changed to match it.
    pub env: ConfigDiff,
    /// Whether the `[env]` file was rewritten (also for changes of form the diff does not show).
    pub env_changed: bool,
    /// The path of the rewritten `[env]` file, relative to the workspace root.
    pub env_path: String,
    /// Whether `.releases/current` was switched.
    pub switched_current: bool,
    /// Releases and slugs the tier no longer keeps.
    pub pruned: Pruned,
    /// Why retention did not run: the tier setting is invalid.
    pub tier_error: Option<String>,
    /// The executables fetched from the shared slug store.
    pub fetched: Vec<SlugTransfer>,
    /// The current release's executables that are not stored here (slugs
    /// are not committed, so a fresh clone has none): `run` needs a deploy.
    pub missing_slug: Vec<String>,
}

impl Workspace {
    /// `sync`: makes `[env]` and `.releases/current` match the current
    /// release, finishing a change that was interrupted, and applies the
    /// tier's retention. This is how a broken workspace state is repaired.
    pub fn sync(&self, ctx: &Context) -> crate::Result<Synced> {
        // `sync` is how a broken state is repaired, so a bad tier setting
        // does not stop it: it only skips retention.
        let tier = self.tier();
        let Some(mut tx) = Transaction::begin_repair(self, ctx)? else {
            return Ok(Synced::default());
        };
        tx.ledger().write_support_files()?;
        let Some(current) = tx.current().cloned() else {
            return Ok(Synced::default());
        };
        // A release file over the limits (a clone may have crafted it) is
        // refused before anything is fetched or `[env]` is rewritten.
        check_release(current.version, &current.config)?;
        let fetched = fetch(self, tx.ledger(), &current.code.slug)?;
        let (diff, env_changed, switched_current) = tx.regenerate()?;
        // Retention too may not have run before a crash.
        let (pruned, tier_error) = match tier {
            Ok(tier) => (tx.retain(tier)?, None),
            Err(e) => (Pruned::default(), Some(e.to_string())),
        };
        Ok(Synced {
            release: Some(current.version),
            fetched,
            env: diff,
            env_changed,
            env_path: EnvFile::shown_path(self.root()),
            switched_current,
            pruned,
            tier_error,
            missing_slug: tx
                .ledger()
                .slugs()
                .missing(&current.code.slug)
                .iter()
                .map(|e| e.name.clone())
                .collect(),
        })
    }
}
