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
}

pub fn sync(ws: &Workspace, ctx: &Context) -> anyhow::Result<Synced> {
    let tier = ws.tier()?;
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
    let pruned = retention::apply(&mut ledger, tier)?;
    Ok(Synced {
        release: Some(current.version),
        env: diff,
        env_changed,
        env_path: env.relative_path(&ws.root),
        switched_current,
        pruned,
    })
}
