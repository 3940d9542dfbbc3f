//! The one way to change a ledger: a transaction on one environment, from lock to commit.
//!
//! A writing command begins a [`Transaction`] (it takes the ledger's lock
//! and reads the current release, the config vars and the state of
//! `[env]`), drafts a release, and commits it: the transaction numbers it,
//! links it to the chain, writes it, regenerates the workspace state the
//! environment has (`[env]` for the default one, `current` for all) and
//! applies the tier's retention. No command knows where an environment's
//! files live: the transaction and [`Environment`] do.

mod journal;
mod phase;
mod read;
mod recover;

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Context as _;

use crate::context::Context;
use crate::crash;
use crate::error::Error;
use crate::ledger::config_vars::plain_vars;
use crate::ledger::retention::{self, Pruned};
use crate::ledger::{
    ChangeKind, Code, ConfigDiff, ConfigVars, LockedLedger, Promoted, Release, Status, release,
};
use crate::workspace::{EnvFile, Workspace};

use journal::{Intent, Journal};
pub(crate) use read::{env_state, require_current, unreadable_env};
use read::{no_releases, other_environments_slugs};
pub(crate) use recover::change_pending;

/// A release about to be recorded: what the command decided, before the
/// transaction assigns its number, time and chain link.
pub(crate) struct Draft {
    pub(crate) kind: ChangeKind,
    pub(crate) change: String,
    pub(crate) message: Option<String>,
    pub(crate) note: Option<String>,
    pub(crate) rollback_to: Option<u64>,
    pub(crate) promoted_from: Option<Promoted>,
    pub(crate) status: Status,
    pub(crate) code: Code,
    /// The latest code built from the workspace, which `code` is unless it is rolled back.
    pub(crate) latest_code: Code,
    pub(crate) addon_releases: BTreeMap<String, u64>,
    /// A release whose health check failed, which this one rolls back from.
    pub(crate) unhealthy: Option<u64>,
    pub(crate) config: ConfigVars,
    /// The team whose key fingerprinted `config`'s secrets and to whom they
    /// are sealed, when it is not the current release's: a rollback's
    /// target's, whose sealed values it copies.
    pub(crate) team: Option<Option<crate::ledger::Team>>,
}

impl Draft {
    /// A draft of `kind` running `code` (which is also the latest code),
    /// succeeded, with no message, note or links; the command fills in the rest.
    pub(crate) fn new(kind: ChangeKind, change: String, code: Code, config: ConfigVars) -> Self {
        Self {
            kind,
            change,
            message: None,
            note: None,
            rollback_to: None,
            promoted_from: None,
            status: Status::Succeeded,
            latest_code: code.clone(),
            code,
            addon_releases: BTreeMap::new(),
            unhealthy: None,
            config,
            team: None,
        }
    }
}

/// What a commit recorded.
pub(crate) struct Committed {
    /// The new release, numbered and linked.
    pub(crate) release: Release,
    /// What the tier's retention removed afterwards.
    pub(crate) pruned: Pruned,
}

/// How the workspace's `[env]` stands against the current release.
pub(crate) enum EnvState {
    /// It holds the current release's config (or the environment has no `[env]`).
    Matches,
    /// It is behind the ledger, and the current release's config is what it
    /// should hold: a change was interrupted after writing its release file
    /// (`[env]` still holds the config of the release `.releases/current`
    /// points at), or `[env]` was never written here (a fresh clone).
    Behind,
    /// It was edited by hand to these vars.
    HandEdited(ConfigVars),
}

/// A change to one environment's ledger, under its lock.
pub(crate) struct Transaction<'ws> {
    ws: &'ws Workspace,
    ledger: LockedLedger,
    /// `[env]` of `.cargo/config.toml`: the default environment's plain vars.
    env_file: Option<EnvFile>,
    current: Option<Release>,
    journal: Journal,
    /// The change journaled, until it is applied or undone.
    intent: Option<Intent>,
    /// Whether the journaled change's release file was written.
    recorded: bool,
}

impl<'ws> Transaction<'ws> {
    /// Takes the lock of the selected environment's ledger. `None` when
    /// there is no ledger, which is left alone, so that a refused command
    /// writes nothing.
    pub(crate) fn begin(ws: &'ws Workspace, ctx: &Context) -> crate::Result<Option<Self>> {
        match LockedLedger::acquire(ws.root(), ws.env(), ctx.lock_wait_hook())? {
            Some(ledger) => Ok(Some(Self::with(ws, ledger, ctx)?)),
            None => Ok(None),
        }
    }

    /// [`Transaction::begin`] for `sync`, the repair: a `.releases/current`
    /// that is a link, FIFO or device (a clone may commit one) is removed
    /// first, with a warning, so that it can be written again.
    pub(crate) fn begin_repair(ws: &'ws Workspace, ctx: &Context) -> crate::Result<Option<Self>> {
        let Some(ledger) = LockedLedger::acquire(ws.root(), ws.env(), ctx.lock_wait_hook())? else {
            return Ok(None);
        };
        if ledger.remove_foreign_current()? {
            ctx.warn(&format!(
                "`{}current` was not a regular file (a link, FIFO or device); it was removed, \
                 and is written again",
                ws.env().folder()
            ));
        }
        Ok(Some(Self::with(ws, ledger, ctx)?))
    }

    /// Takes the lock, creating the ledger and the environment's folder if needed.
    pub(crate) fn create(ws: &'ws Workspace, ctx: &Context) -> crate::Result<(Self, bool)> {
        let (ledger, created) = LockedLedger::create(ws.root(), ws.env(), ctx.lock_wait_hook())?;
        Ok((Self::with(ws, ledger, ctx)?, created))
    }

    /// Takes the lock of a ledger that has a current release, and makes
    /// sure the workspace runs it: a hand edit of `[env]` is refused
    /// ([`Error::EnvEdited`]), a change that was interrupted is finished.
    /// This is how a config, add-on, rollback or promote change starts.
    pub(crate) fn begin_change(ws: &'ws Workspace, ctx: &Context) -> crate::Result<Self> {
        // Settings that would refuse the release refuse it before anything runs.
        ws.hooks()?;
        // Each caller records a release: who acts is looked up meanwhile.
        if ctx.user().is_none() {
            ws.start_user_lookup();
        }
        let Some(mut tx) = Self::begin(ws, ctx)? else {
            return Err(no_releases(ws, &[]));
        };
        // A forked or changed ledger is refused before any work is done on
        // it, and before its newest release is applied.
        tx.ledger.verified_link()?;
        tx.ensure_runs_current()?;
        Ok(tx)
    }

    /// Makes sure the workspace runs the current release before a change
    /// is drafted on top of it: a hand edit of `[env]` is refused
    /// ([`Error::EnvEdited`]), a change that was interrupted is finished.
    pub(crate) fn ensure_runs_current(&mut self) -> crate::Result<()> {
        let current = self.require_current()?.clone();
        match self.env_state(&current)? {
            EnvState::HandEdited(vars) => Err(Error::EnvEdited {
                path: self
                    .env_file
                    .as_ref()
                    .map(|env| env.relative_path(self.ws.root()))
                    .unwrap_or_default(),
                version: current.version,
                diff: ConfigDiff::between(&plain_vars(&current.config), &vars),
            }),
            EnvState::Behind => self.apply_current(),
            EnvState::Matches => Ok(()),
        }
    }

    /// The transaction on `ledger`, once the change a killed command left
    /// in progress is finished or undone.
    fn with(ws: &'ws Workspace, ledger: LockedLedger, ctx: &Context) -> crate::Result<Self> {
        let env_file = ws.env_file()?;
        let current = ledger.current()?;
        ws.note_recorded_team(current.as_ref().and_then(|c| c.team.clone()));
        let mut tx = Self {
            ws,
            ledger,
            env_file,
            current,
            journal: Journal::of(ws.root()),
            intent: None,
            recorded: false,
        };
        tx.recover(ctx)?;
        Ok(tx)
    }

    /// The ledger, locked.
    pub(crate) fn ledger(&self) -> &LockedLedger {
        &self.ledger
    }

    /// The current release, read under the lock.
    pub(crate) fn current(&self) -> Option<&Release> {
        self.current.as_ref()
    }

    /// The current release, or [`Error::NoReleases`].
    pub(crate) fn require_current(&self) -> crate::Result<&Release> {
        match &self.current {
            Some(release) => Ok(release),
            None => Err(no_releases(self.ws, &self.ledger.versions().to_vec())),
        }
    }

    /// `[env]`, for the default environment.
    pub(crate) fn env_file(&self) -> Option<&EnvFile> {
        self.env_file.as_ref()
    }

    /// How `[env]` stands against `current`.
    pub(crate) fn env_state(&self, current: &Release) -> crate::Result<EnvState> {
        env_state(&self.ledger, self.env_file.as_ref(), current, self.ws)
    }

    /// Makes the workspace run the current release again: its config in
    /// `[env]`, then `current` switched to it (finishing an interrupted change).
    pub(crate) fn apply_current(&mut self) -> crate::Result<()> {
        let current = self.require_current()?.clone();
        crate::ledger::config_vars::check_release(current.version, &current.config)?;
        let mut switch = || -> anyhow::Result<()> {
            if let Some(env) = &mut self.env_file {
                env.set_vars(&current.config)?;
                env.save(self.ledger.scratch())?;
            }
            self.ledger.switch_current(&current)?;
            Ok(())
        };
        switch().with_context(|| {
            format!(
                "v{} was recorded, but the workspace could not be switched to it, so nothing \
                 new is recorded on top of it; fix what failed, then run `cargo release-log sync`",
                current.version
            )
        })?;
        Ok(())
    }

    /// Regenerates the workspace state from the current release (`sync`):
    /// returns how `[env]` changed, whether its file was rewritten, and
    /// whether `current` was switched.
    pub(crate) fn regenerate(&mut self) -> crate::Result<(ConfigDiff, bool, bool)> {
        let current = self.require_current()?.clone();
        let (diff, env_changed) = match &mut self.env_file {
            Some(env) => {
                let diff = ConfigDiff::between(&env.vars_lossy(), &plain_vars(&current.config));
                env.set_vars(&current.config)?;
                (diff, env.save(self.ledger.scratch())?)
            }
            None => (ConfigDiff::default(), false),
        };
        let switched = self.ledger.switch_current(&current)?;
        Ok((diff, env_changed, switched))
    }

    /// Applies the tier's retention on its own (`sync`, `init`).
    pub(crate) fn retain(&mut self, tier: crate::ledger::Tier) -> crate::Result<Pruned> {
        let remote = self.ws.slug_store_for_reading();
        let keep_slugs = self.ws.keep_slugs().ok().flatten();
        let others = || other_environments_slugs(self.ws);
        Ok(retention::apply(
            &mut self.ledger,
            tier,
            remote,
            keep_slugs,
            &others,
        )?)
    }

    /// Records `draft` as the next release, then (if it succeeded)
    /// regenerates the workspace state from it — `[env]` first, `current`
    /// last, so that an interrupted run is recognised and finished — and
    /// applies the tier's retention.
    ///
    /// With a `release-command`, it runs first, and a failure records the
    /// release as `failed` ([`Error::ReleasePhaseFailed`]); a
    /// `post-release` hook runs after every recorded release; a
    /// `health-check` that never passes rolls back to the release that was
    /// current before ([`Error::HealthCheckFailed`]).
    pub(crate) fn commit(&mut self, ctx: &Context, draft: Draft) -> crate::Result<Committed> {
        let ws = self.ws;
        let mut release = self.draft_release(ctx, draft);
        // Everything that can be refused is decided before the release file
        // is written; after it, only writes of files already prepared remain.
        let tier = ws.tier()?;
        let remote = ws.slug_store()?;
        let keep_slugs = ws.keep_slugs()?;
        let hooks = ws.hooks()?.clone();
        // Never write a file that would be refused when read back.
        release.validate()?;
        crate::ledger::config_vars::check_limits(&release.config)?;
        if hooks.any() {
            // The release's commands would get its config: refused now, not once recorded.
            ws.refuse_risky_env(release.config.keys())?;
        }
        let previous = self.current.clone();
        // The chain it extends holds, before the release's command runs.
        self.ledger.verified_link()?;
        let phase_failure = self.release_phase(ctx, &mut release, &hooks, remote)?;
        if release.succeeded()
            && let Some(env) = &mut self.env_file
        {
            env.set_vars(&release.config)?;
        }
        // Read before anything is written: a broken file of another
        // environment must not fail this one after its release is recorded.
        // (Only a tier or `keep-slugs` that prunes ever asks.)
        let prunes = tier == crate::ledger::Tier::Basic || keep_slugs.is_some();
        let others = if prunes {
            other_environments_slugs(ws)?
        } else {
            BTreeSet::new()
        };
        self.record(&mut release)?;
        let others = || Ok(others.clone());
        let pruned = retention::apply(&mut self.ledger, tier, remote, keep_slugs, &others)
            .with_context(|| {
                format!(
                    "v{} was recorded, but older releases could not be pruned",
                    release.version
                )
            })?;
        if let Some(argv) = &hooks.post_release
            && let Err(e) = self.post_release(ctx, &release, argv, hooks.release_timeout)
        {
            ctx.warn(&format!(
                "the post-release hook of v{} could not run: {e}",
                release.version
            ));
        }
        if let Some(reason) = phase_failure {
            return Err(Error::ReleasePhaseFailed {
                version: release.version,
                current: previous.map(|c| c.version),
                reason,
            });
        }
        if release.succeeded()
            && let Some(argv) = &hooks.health_check
        {
            self.check_health(ctx, &release, previous, argv, &hooks)?;
        }
        Ok(Committed { release, pruned })
    }

    /// Writes `release` as the next release file and, if it succeeded,
    /// switches the workspace to it (`[env]` first, `current` last); a
    /// failed one leaves nothing in the workspace. The change is journaled
    /// first, and everything it writes is prepared before the release file
    /// (a link, a FIFO or a full disk refuses it then): after the release
    /// file, only renames remain, and the next command finishes them if
    /// this one is killed.
    fn record(&mut self, release: &mut Release) -> crate::Result<()> {
        // A named environment's folder is made with its first release.
        self.ledger.create_env_dir()?;
        release.version = self.ledger.next_version()?;
        let (env, current) = if release.succeeded() {
            let env = match &mut self.env_file {
                Some(env) => env.prepare(self.ledger.scratch())?,
                None => None,
            };
            (env, self.ledger.prepare_current(release)?)
        } else {
            (None, None)
        };
        self.begin_journal(&[])?;
        // The journal names the file it is about to write, so that a
        // release of the same number from elsewhere (a pull) is not taken
        // for it.
        release.previous_digest = self.ledger.verified_link()?;
        self.note_digest(crate::ledger::file_digest(release.to_toml()?.as_bytes()))?;
        self.ledger.append(release)?;
        self.recorded = true;
        crash::point("recorded");
        if !release.succeeded() {
            self.undo_journaled()?;
            return Ok(());
        }
        let switch = || -> anyhow::Result<()> {
            if let Some(env) = env {
                env.put()?;
                crash::point("env-written");
            }
            if let Some(current) = current {
                self.ledger.put_current(current)?;
                crash::point("switched");
            }
            self.end_journal()
        };
        switch().with_context(|| {
            format!(
                "v{} was recorded, but the workspace was not switched to it; the next \
                 command finishes that, or run `cargo release-log sync`",
                release.version
            )
        })?;
        self.current = Some(release.clone());
        Ok(())
    }

    /// The release `draft` describes, as it will be written: by whom and
    /// when, with the unhealthy releases carried on; the ledger numbers and
    /// links it when it appends it.
    fn draft_release(&self, ctx: &Context, draft: Draft) -> Release {
        Release {
            format: release::FORMAT,
            // The ledger numbers and links the release when it appends it.
            version: 0,
            kind: draft.kind,
            change: draft.change,
            message: draft.message,
            by: match ctx.user() {
                Some(user) => user.to_owned(),
                None => self.ws.acting_user(),
            },
            when: ctx
                .recording_time()
                .strftime("%Y-%m-%dT%H:%M:%S%:z")
                .to_string(),
            status: draft.status,
            note: draft.note,
            rollback_to: draft.rollback_to,
            promoted_from: draft.promoted_from,
            release_phase: None,
            previous_digest: None,
            latest_deploy: (draft.latest_code != draft.code).then_some(draft.latest_code),
            code: draft.code,
            addon_releases: draft.addon_releases,
            // Carried on, so that no later rollback goes back to one.
            unhealthy: self
                .current
                .as_ref()
                .map(|c| c.unhealthy.clone())
                .unwrap_or_default()
                .into_iter()
                .chain(draft.unhealthy)
                .collect(),
            config: draft.config,
            // Carried on: the team key of the secrets' fingerprints, sealed
            // to the recipients; a new one when the command made one.
            // A rollback keeps its target's: its values are sealed to those
            // recipients (`config protect` seals them to today's).
            team: match draft.team {
                Some(team) => team,
                None => self
                    .ws
                    .chosen_team_key()
                    .map(|key| key.team)
                    .or_else(|| self.current.as_ref().and_then(|c| c.team.clone())),
            },
        }
    }
}
