//! `sync`: regenerate `[env]` and `.releases/current` from the current release.

use super::{ConfigDiff, Context};
use crate::workspace::{EnvFile, Workspace};

#[derive(Debug, Default)]
pub struct Synced {
    /// The current release, if there is one.
    pub release: Option<u64>,
    /// How `[env]` was changed to match it.
    pub env: ConfigDiff,
    /// The path of the rewritten `[env]` file, relative to the workspace root.
    pub env_path: String,
    pub switched_current: bool,
}

pub fn sync(ws: &Workspace, ctx: &Context) -> anyhow::Result<Synced> {
    let Some((ledger, _lock)) = ctx.lock(ws, false)? else {
        return Ok(Synced::default());
    };
    let Some(current) = ledger.current()? else {
        return Ok(Synced::default());
    };
    let mut env = EnvFile::load(&ws.root)?;
    let diff = ConfigDiff::between(&env.vars_lossy(), &current.config);
    env.set_vars(&current.config)?;
    env.save()?;
    let switched_current = ledger.switch_current(&current)?;
    Ok(Synced {
        release: Some(current.version),
        env: diff,
        env_path: env.relative_path(&ws.root),
        switched_current,
    })
}
