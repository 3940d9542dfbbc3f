//! `sync`: regenerate `[env]` and `.releases/current` from the current release.

use super::{SlugTransfer, fetch, lock};
use crate::context::Context;
use crate::ledger::ConfigDiff;
use crate::ledger::config_vars::plain_vars;
use crate::ledger::retention::{self, Pruned};
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
        let Some(mut ledger) = lock(self, ctx)? else {
            return Ok(Synced::default());
        };
        ledger.write_support_files()?;
        let Some(current) = ledger.current()? else {
            return Ok(Synced::default());
        };
        let mut env = EnvFile::load(self.root())?;
        let diff = ConfigDiff::between(&env.vars_lossy(), &plain_vars(&current.config));
        env.set_vars(&current.config)?;
        let env_changed = env.save(ledger.scratch())?;
        let fetched = fetch(self, &ledger, &current.code.slug)?;
        let switched_current = ledger.switch_current(&current)?;
        // Retention too may not have run before a crash.
        let (pruned, tier_error) = match tier {
            Ok(tier) => (
                retention::apply(
                    &mut ledger,
                    tier,
                    self.slug_store_for_reading(),
                    self.keep_slugs().ok().flatten(),
                )?,
                None,
            ),
            Err(e) => (Pruned::default(), Some(e.to_string())),
        };
        Ok(Synced {
            release: Some(current.version),
            fetched,
            env: diff,
            env_changed,
            env_path: env.relative_path(self.root()),
            switched_current,
            pruned,
            tier_error,
            missing_slug: ledger
                .slugs()
                .missing(&current.code.slug)
                .iter()
                .map(|e| e.name.clone())
                .collect(),
        })
    }
}
