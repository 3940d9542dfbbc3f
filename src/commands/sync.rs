//! `sync`: regenerate `[env]` and `.releases/current` from the current release.

use super::{ConfigDiff, Context};
use crate::ledger::retention::{self, Pruned};
use crate::workspace::{EnvFile, Workspace};

#[derive(Debug, Default)]
pub struct Synced {
    /// The current release, if there is one.
    pub release: Option<u64>,
    /// How `[env]` was changed to match it.
    pub env: ConfigDiff,
    /// Whether the `[env]` file was rewritten (also for changes of form the diff does not show).
    pub env_changed: bool,
    /// The path of the rewritten `[env]` file, relative to the workspace root.
    pub env_path: String,
    pub switched_current: bool,
    /// Releases and slugs the tier no longer keeps.
    pub pruned: Pruned,
    /// Why retention did not run: the tier setting is invalid.
    pub tier_error: Option<String>,
    /// The current release's executables that are not stored here (slugs
    /// are not committed, so a fresh clone has none): `run` needs a deploy.
    pub missing_slug: Vec<String>,
}

pub fn sync(ws: &Workspace, ctx: &Context) -> anyhow::Result<Synced> {
    // `sync` is how a broken state is repaired, so a bad tier setting does
    // not stop it: it only skips retention.
    let tier = ws.tier();
    let Some((mut ledger, _lock)) = ctx.lock(ws, false)? else {
        return Ok(Synced::default());
    };
    let Some(current) = ledger.current()? else {
        return Ok(Synced::default());
    };
    let mut env = EnvFile::load(&ws.root)?;
    let diff = ConfigDiff::between(&env.vars_lossy(), &current.config);
    env.set_vars(&current.config)?;
    let env_changed = env.save()?;
    let switched_current = ledger.switch_current(&current)?;
    // Retention too may not have run before a crash.
    let (pruned, tier_error) = match tier {
        Ok(tier) => (retention::apply(&mut ledger, tier)?, None),
        Err(e) => (Pruned::default(), Some(format!("{e:#}"))),
    };
    Ok(Synced {
        release: Some(current.version),
        env: diff,
        env_changed,
        env_path: env.relative_path(&ws.root),
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
