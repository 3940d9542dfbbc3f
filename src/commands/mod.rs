//! One module per subcommand: an options struct and one function returning what happened.

pub mod config;
pub mod deploy;
pub mod init;
pub mod releases;
pub mod rollback;
pub mod run;
pub mod sync;

use std::fmt;

use anyhow::{Context as _, bail};
use jiff::ZonedDateTime as Zoned;

use crate::ledger::retention::{self, Pruned};
use crate::ledger::{
    ChangeKind, Code, ConfigVar, ConfigVars, Ledger, LedgerLock, Release, Status, release,
};
use crate::render::{shown, visible};
use crate::workspace::{EnvFile, Workspace, git};

/// The inputs that would otherwise be globals, so output can be reproduced.
pub struct Context {
    /// "Now", in the time zone used to show absolute times.
    pub now: Zoned,
    /// Who acts; `None` asks `git config user.email`, then the OS.
    pub user: Option<String>,
    /// Called once when another process holds the ledger lock and this one waits.
    pub on_lock_wait: Box<dyn Fn()>,
}

impl Context {
    pub fn new(now: Zoned) -> Self {
        Self {
            now,
            user: None,
            on_lock_wait: Box::new(|| {}),
        }
    }

    fn user(&self, ws: &Workspace) -> String {
        match &self.user {
            Some(user) => user.clone(),
            None => git::acting_user(&ws.root),
        }
    }

    /// Takes the ledger's writer lock, creating `.releases/` first when
    /// `create` (deploy, init). Without it a missing ledger is left alone and
    /// `None` returned, so that a refused command writes nothing.
    fn lock(&self, ws: &Workspace, create: bool) -> anyhow::Result<Option<(Ledger, LedgerLock)>> {
        if create {
            Ledger::create(&ws.root)?;
        }
        Ledger::lock(&ws.root, &*self.on_lock_wait)
    }

    /// Takes the lock of a ledger that must have a current release.
    fn lock_current(&self, ws: &Workspace) -> anyhow::Result<(Ledger, LedgerLock, Release)> {
        let Some((ledger, lock)) = self.lock(ws, false)? else {
            bail!("{}", no_releases(ws, &[]));
        };
        let current = require_current(&ledger, ws)?;
        Ok((ledger, lock, current))
    }
}

/// A release about to be recorded: what the command decided, before the
/// ledger assigns its number, time and chain link.
struct Draft {
    kind: ChangeKind,
    change: String,
    message: Option<String>,
    note: Option<String>,
    rollback_to: Option<u64>,
    status: Status,
    code: Code,
    latest_deploy: Code,
    config: ConfigVars,
    addons: Vec<crate::ledger::Addon>,
}

/// Appends a release, then (if it succeeded) regenerates the workspace state
/// from it — `[env]` first, `.releases/current` last, so that an interrupted
/// run is recognised and finished — and applies the tier's retention.
fn record(
    ws: &Workspace,
    ledger: &mut Ledger,
    ctx: &Context,
    env: &mut EnvFile,
    draft: Draft,
) -> anyhow::Result<(Release, Pruned)> {
    let mut release = Release {
        format: release::FORMAT,
        // The ledger numbers and links the release when it appends it.
        version: 0,
        kind: draft.kind,
        change: draft.change,
        message: draft.message,
        by: ctx.user(ws),
        when: ctx.now.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string(),
        status: draft.status,
        note: draft.note,
        rollback_to: draft.rollback_to,
        previous_digest: None,
        code: draft.code,
        latest_deploy: draft.latest_deploy,
        config: draft.config,
        addons: draft.addons,
    };
    // Everything that can be refused is decided before the release file is
    // written; after it, only writes of files already prepared remain.
    let tier = ws.tier()?;
    // Never write a file that would be refused when read back.
    release.validate()?;
    if release.succeeded() {
        env.set_vars(&release.config)?;
    }
    ledger.append(&mut release)?;
    if release.succeeded() {
        let mut switch = || -> anyhow::Result<()> {
            env.save()?;
            ledger.switch_current(&release)?;
            Ok(())
        };
        switch().with_context(|| {
            format!(
                "v{} was recorded, but the workspace was not switched to it; \
                 run `cargo release-log sync` to finish",
                release.version
            )
        })?;
    }
    let pruned = retention::apply(ledger, tier).with_context(|| {
        format!(
            "v{} was recorded, but older releases could not be pruned",
            release.version
        )
    })?;
    Ok((release, pruned))
}

/// The change between two sets of config vars.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ConfigDiff {
    pub added: Vec<(String, ConfigVar)>,
    pub changed: Vec<(String, ConfigVar, ConfigVar)>,
    pub removed: Vec<(String, ConfigVar)>,
}

impl ConfigDiff {
    pub fn between(old: &ConfigVars, new: &ConfigVars) -> Self {
        let mut diff = Self::default();
        for (name, value) in new {
            match old.get(name) {
                None => diff.added.push((name.clone(), value.clone())),
                Some(v) if v != value => {
                    diff.changed.push((name.clone(), v.clone(), value.clone()))
                }
                Some(_) => {}
            }
        }
        for (name, value) in old {
            if !new.contains_key(name) {
                diff.removed.push((name.clone(), value.clone()));
            }
        }
        diff
    }

    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.changed.is_empty() && self.removed.is_empty()
    }
}

impl fmt::Display for ConfigDiff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (name, value) in &self.added {
            writeln!(f, "  + {} => {}", visible(name), shown(value))?;
        }
        for (name, old, new) in &self.changed {
            writeln!(
                f,
                "  ~ {} => {} (was {})",
                visible(name),
                shown(new),
                shown(old)
            )?;
        }
        for (name, value) in &self.removed {
            writeln!(f, "  - {} (was {})", visible(name), shown(value))?;
        }
        Ok(())
    }
}

/// How the workspace's `[env]` stands against the current release.
enum EnvState {
    /// It holds the current release's config.
    Matches,
    /// It is behind the ledger, and the current release's config is what it
    /// should hold: a change was interrupted after writing its release file
    /// (`[env]` still holds the config of the release `.releases/current`
    /// points at), or `[env]` was never written here (a fresh clone).
    Behind,
    /// It was edited by hand to these vars.
    HandEdited(ConfigVars),
}

fn env_state(
    ledger: &Ledger,
    env: &EnvFile,
    current: &Release,
    ws: &Workspace,
) -> anyhow::Result<EnvState> {
    let vars = env
        .vars()
        .map_err(|e| unreadable_env(&env.relative_path(&ws.root), e))?;
    if vars == current.config {
        return Ok(EnvState::Matches);
    }
    // A fresh clone (no `.releases/current` yet) has not written `[env]`;
    // anywhere else, a missing table is a hand edit like any other.
    if !env.has_env_table() && ledger.current_pointer().is_none() {
        return Ok(EnvState::Behind);
    }
    if let Some(pointer) = ledger.current_pointer().filter(|&p| p < current.version)
        && ledger.read(pointer).is_ok_and(|r| r.config == vars)
    {
        return Ok(EnvState::Behind);
    }
    Ok(EnvState::HandEdited(vars))
}

/// `[env]` holds something cargo or an environment cannot take.
fn unreadable_env(env_path: &str, err: anyhow::Error) -> anyhow::Error {
    anyhow::anyhow!(
        "`[env]` in {env_path} was edited by hand and cannot be read: {err:#}\n\
         Fix it, or run `cargo release-log sync` to regenerate it from the current release."
    )
}

/// Refuses to go on when `[env]` was edited by hand and no longer matches the
/// current release, so that an edit is never overwritten silently. When the
/// workspace is merely behind the ledger, the command goes on and finishes
/// the interrupted change.
fn ensure_env_matches(
    ledger: &Ledger,
    env: &EnvFile,
    current: &Release,
    ws: &Workspace,
) -> anyhow::Result<()> {
    let EnvState::HandEdited(vars) = env_state(ledger, env, current, ws)? else {
        return Ok(());
    };
    let diff = ConfigDiff::between(&current.config, &vars);
    bail!(
        "`[env]` in {} was edited by hand and no longer matches v{}:\n{diff}\
         To discard the edit, run `cargo release-log sync`; \
         to record it as a new release, run `cargo release-log deploy`.",
        env.relative_path(&ws.root),
        current.version
    )
}

/// The current release, or an error saying there is none yet.
fn require_current(ledger: &Ledger, ws: &Workspace) -> anyhow::Result<Release> {
    match ledger.current()? {
        Some(release) => Ok(release),
        None => bail!("{}", no_releases(ws, ledger.versions())),
    }
}

fn no_releases(ws: &Workspace, failed: &[u64]) -> String {
    if failed.is_empty() {
        format!(
            "{} has no releases yet; run `cargo release-log deploy` first",
            ws.name
        )
    } else {
        format!(
            "{} has no successful release yet ({} failed); run `cargo release-log deploy` first",
            ws.name,
            crate::ledger::list_versions(failed)
        )
    }
}
