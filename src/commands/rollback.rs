//! `rollback [vN]`: a new release with an earlier release's code and config.

use super::{SlugTransfer, fetch};
use crate::context::Context;
use crate::error::Error;
use crate::ledger::config_vars::check_release;
use crate::ledger::eligibility::Eligibility;
use crate::ledger::retention::Pruned;
use crate::ledger::{AddonDiff, ChangeKind, ConfigDiff, Ineligible, Ledger, Release, Version};
use crate::transaction::{Draft, Transaction};
use crate::workspace::Workspace;

/// What a rollback did.
#[derive(Debug)]
#[non_exhaustive]
pub struct RolledBack {
    /// The new release.
    pub release: Release,
    /// The release whose code and config were brought back.
    pub target: u64,
    /// The release that was current before, which `rollback vN` restores.
    pub previous: u64,
    /// For a bare rollback, the releases between the current one and the
    /// target that it passed over, newest first, each with why.
    pub skipped: Vec<(u64, Ineligible)>,
    /// The executables fetched from the shared slug store.
    pub fetched: Vec<SlugTransfer>,
    /// The add-ons compiled into the code brought back, against those of
    /// the code that ran: dependencies that change with the code.
    pub addons: AddonDiff,
    /// What the tier's retention removed afterwards.
    pub pruned: Pruned,
}

impl Workspace {
    /// `rollback [vN]`: records a release with `target`'s code and config
    /// (default: the newest eligible release before the current one),
    /// rewrites `[env]` to its config and switches `.releases/current`.
    ///
    /// Refuses a release that is not eligible ([`Error::NotEligible`]).
    pub fn rollback(&self, ctx: &Context, target: Option<Version>) -> crate::Result<RolledBack> {
        let tier = self.tier()?;
        let mut tx = Transaction::begin_change(self, ctx)?;
        let current = tx.require_current()?.clone();
        let ledger = tx.ledger();
        let (target, skipped) = choose(self, ledger, &current, tier, target)?;
        // Its file may have been crafted in a clone: over the limits, it is
        // refused before anything is fetched or written.
        check_release(target.version, &target.config)?;
        // Eligible, its slug is here or in the shared store: fetch it now.
        let fetched = fetch(self, ledger, &target.code.slug)?;
        // A secret comes back only from this machine's store.
        for (name, var) in target.config.iter().filter(|(_, v)| v.is_secret()) {
            self.reveal(name, var)?;
        }
        let mut draft = Draft::new(
            ChangeKind::Rollback,
            format!("Rollback to v{}", target.version),
            target.code.clone(),
            target.config.clone(),
        );
        draft.rollback_to = Some(target.version);
        draft.team = Some(target.team.clone());
        draft.latest_code = current.latest_code().clone();
        draft.addon_releases = current.addon_releases.clone();
        let committed = tx.commit(ctx, draft)?;
        let (release, pruned) = (committed.release, committed.pruned);
        Ok(RolledBack {
            skipped,
            fetched,
            addons: AddonDiff::between(&current.code.addons, &release.code.addons),
            release,
            target: target.version,
            previous: current.version,
            pruned,
        })
    }
}

/// What a rollback would do, without doing it (`rollback --dry-run`).
#[derive(Debug)]
#[non_exhaustive]
pub struct RollbackPlan {
    /// The release it would bring back.
    pub target: Release,
    /// The release current now.
    pub current: Release,
    /// For a bare rollback, the releases it would pass over, with why.
    pub skipped: Vec<(u64, Ineligible)>,
    /// How the config vars would change.
    pub config: ConfigDiff,
    /// How the add-ons compiled into the code would change.
    pub addons: AddonDiff,
    /// The release command it would run first, if any.
    pub release_command: Option<Vec<String>>,
}

impl Workspace {
    /// `rollback --dry-run [vN]`: what `rollback` would do, deciding the
    /// target exactly as it does, and changing nothing.
    pub fn rollback_plan(&self, target: Option<Version>) -> crate::Result<RollbackPlan> {
        let tier = self.tier()?;
        let (target, current, skipped) = self.read_ledger(|ledger| {
            let current = crate::transaction::require_current(ledger, self)?;
            let (target, skipped) = choose(self, ledger, &current, tier, target)?;
            Ok((target, current, skipped))
        })?;
        Ok(RollbackPlan {
            config: ConfigDiff::between(&current.config, &target.config),
            addons: AddonDiff::between(&current.code.addons, &target.code.addons),
            release_command: self.hooks()?.release_command.clone(),
            target,
            current,
            skipped,
        })
    }
}

/// The release a rollback goes to (`target`, else the newest eligible one
/// before the current), and for a bare rollback the releases it passes over.
fn choose(
    ws: &Workspace,
    ledger: &Ledger,
    current: &Release,
    tier: crate::ledger::Tier,
    target: Option<Version>,
) -> crate::Result<(Release, Vec<(u64, Ineligible)>)> {
    let eligibility = Eligibility::here(ledger, Some(current), tier, ws.slug_store()?, ws)?;
    let Some(version) = target else {
        let Some(target) = eligibility.bare_target()? else {
            return Err(Error::NothingToRollBackTo(no_target(
                ledger,
                &eligibility,
                current,
            )?));
        };
        let mut skipped = Vec::new();
        for v in ledger.versions().iter().rev() {
            if v >= current.version || v <= target.version {
                continue;
            }
            if let Err(why) = eligibility.of(&ledger.read(v)?) {
                skipped.push((v, why));
            }
        }
        return Ok((target, skipped));
    };
    let release = match (ledger.get(version), eligibility.basic_tier()) {
        (Ok(r), _) => r,
        // The basic tier pruned it: say why it is gone.
        (Err(Error::NoSuchRelease { .. }), Some(reason)) if version.0 < current.version => {
            return Err(Error::NotEligible { version, reason });
        }
        (Err(e), _) => return Err(e),
    };
    if let Err(reason) = eligibility.of(&release) {
        return Err(Error::NotEligible { version, reason });
    }
    Ok((release, Vec::new()))
}

/// Why a bare rollback has nowhere to go.
fn no_target(
    ledger: &Ledger,
    eligibility: &Eligibility<'_>,
    current: &Release,
) -> anyhow::Result<String> {
    let previous = ledger
        .versions()
        .iter()
        .rev()
        .find(|&v| v < current.version);
    Ok(match previous {
        None if current.version == 1 => "v1 is the first release".to_owned(),
        None => format!("no release before v{} is kept", current.version),
        Some(v) => match eligibility.of(&ledger.read(v)?) {
            Err(why) => format!("v{v} is not eligible, as {why}"),
            Ok(()) => format!("none before v{}", current.version),
        },
    })
}
