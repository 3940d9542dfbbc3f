//! `rollback [vN]`: a new release with an earlier release's code and config.

use anyhow::bail;

use super::{Context, Draft, ensure_env_matches, record};
use crate::ledger::retention::{self, Pruned, eligibility};
use crate::ledger::{ChangeKind, Release, Status, Tier, Version};
use crate::workspace::{EnvFile, Workspace};

#[derive(Debug)]
pub struct RolledBack {
    pub release: Release,
    /// The release whose code and config were brought back.
    pub target: u64,
    /// The release that was current before, which `rollback vN` restores.
    pub previous: u64,
    pub pruned: Pruned,
}

pub fn rollback(
    ws: &Workspace,
    ctx: &Context,
    target: Option<Version>,
) -> anyhow::Result<RolledBack> {
    let basic = ws.tier()? == Tier::Basic;
    let (mut ledger, _lock, current) = ctx.lock_current(ws)?;
    let bare_target = retention::rollback_target(&ledger, &current)?;
    let target = match target {
        None => match bare_target {
            Some(t) => t,
            None => bail!("{}", no_target(&ledger, &current)?),
        },
        Some(version) => {
            let release = match ledger.get(version) {
                Ok(r) => r,
                Err(e) if basic && version.0 < current.version => {
                    return Err(e.context(basic_tier_refusal(version)));
                }
                Err(e) => return Err(e),
            };
            if let Err(why) = eligibility(&ledger, &release, Some(&current)) {
                bail!("cannot roll back to {version}: {why}");
            }
            if basic && bare_target.as_ref().is_none_or(|t| t.version != version.0) {
                bail!("{}", basic_tier_refusal(version));
            }
            release
        }
    };
    let mut env = EnvFile::load(&ws.root)?;
    ensure_env_matches(&ledger, &env, &current, ws)?;
    let draft = Draft {
        kind: ChangeKind::Rollback,
        change: format!("Rollback to v{}", target.version),
        message: None,
        note: None,
        rollback_to: Some(target.version),
        status: Status::Succeeded,
        code: target.code.clone(),
        latest_deploy: current.latest_deploy.clone(),
        config: target.config.clone(),
        addons: current.addons.clone(),
    };
    let (release, pruned) = record(ws, &mut ledger, ctx, &mut env, draft)?;
    Ok(RolledBack {
        release,
        target: target.version,
        previous: current.version,
        pruned,
    })
}

fn basic_tier_refusal(version: Version) -> String {
    format!(
        "cannot roll back to {version}: the basic tier keeps only the current and the previous \
         release, so a rollback can only undo one step; set `tier = \"advanced\"` \
         (`cargo release-log init --tier advanced`) to keep every release"
    )
}

/// Why a bare rollback has nowhere to go.
fn no_target(ledger: &crate::ledger::Ledger, current: &Release) -> anyhow::Result<String> {
    let previous = ledger
        .versions()
        .iter()
        .rev()
        .find(|&&v| v < current.version);
    Ok(match previous {
        None if current.version == 1 => {
            "no release to roll back to: v1 is the first release".to_owned()
        }
        None => format!(
            "no release to roll back to: no release before v{} is kept",
            current.version
        ),
        Some(&v) => {
            let release = ledger.read(v)?;
            let why = eligibility(ledger, &release, Some(current)).err();
            match why {
                Some(why) => format!("no release to roll back to: v{v} is not eligible, as {why}"),
                None => format!("no release to roll back to before v{}", current.version),
            }
        }
    })
}
