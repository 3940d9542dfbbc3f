//! One module per command: its options, what it returns, and one method on [`Workspace`].

pub(crate) mod addons;
mod build;
pub(crate) mod check;
pub(crate) mod config;
pub(crate) mod deploy;
pub(crate) mod diff;
pub(crate) mod gc;
pub(crate) mod init;
pub(crate) mod rebuild;
pub(crate) mod releases;
mod restore;
pub(crate) mod rollback;
pub(crate) mod run;
pub(crate) mod sync;

use std::collections::BTreeMap;

use anyhow::Context as _;

use crate::context::Context;
use crate::error::Error;
use crate::ledger::config_vars::plain_vars;
use crate::ledger::remote::Uploaded;
use crate::ledger::retention::{self, Pruned};
use crate::ledger::{
    ChangeKind, Code, ConfigDiff, ConfigVars, Ledger, LockedLedger, Release, Status, release,
};
use crate::workspace::{EnvFile, Workspace};

/// Takes the ledger's writer lock. Without `create`, a missing ledger is
/// left alone and `None` returned, so that a refused command writes nothing.
fn lock(ws: &Workspace, ctx: &Context) -> anyhow::Result<Option<LockedLedger>> {
    LockedLedger::acquire(ws.root(), ctx.lock_wait_hook())
}

/// Takes the lock of a ledger that must have a current release.
fn lock_current(ws: &Workspace, ctx: &Context) -> crate::Result<(LockedLedger, Release)> {
    // Each caller records a release: who acts is looked up meanwhile.
    if ctx.user().is_none() {
        ws.start_user_lookup();
    }
    let Some(ledger) = lock(ws, ctx)? else {
        return Err(no_releases(ws, &[]));
    };
    let current = require_current(&ledger, ws)?;
    Ok((ledger, current))
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
    /// The latest code built from the workspace, which `code` is unless it is rolled back.
    latest_code: Code,
    addon_releases: BTreeMap<String, u64>,
    config: ConfigVars,
}

/// Appends a release, then (if it succeeded) regenerates the workspace state
/// from it — `[env]` first, `.releases/current` last, so that an interrupted
/// run is recognised and finished — and applies the tier's retention.
fn record(
    ws: &Workspace,
    ledger: &mut LockedLedger,
    ctx: &Context,
    env: &mut EnvFile,
    draft: Draft,
) -> crate::Result<(Release, Pruned)> {
    let mut release = Release {
        format: release::FORMAT,
        // The ledger numbers and links the release when it appends it.
        version: 0,
        kind: draft.kind,
        change: draft.change,
        message: draft.message,
        by: match ctx.user() {
            Some(user) => user.to_owned(),
            None => ws.acting_user(),
        },
        when: ctx
            .recording_time()
            .strftime("%Y-%m-%dT%H:%M:%S%:z")
            .to_string(),
        status: draft.status,
        note: draft.note,
        rollback_to: draft.rollback_to,
        previous_digest: None,
        latest_deploy: (draft.latest_code != draft.code).then_some(draft.latest_code),
        code: draft.code,
        addon_releases: draft.addon_releases,
        config: draft.config,
    };
    // Everything that can be refused is decided before the release file is
    // written; after it, only writes of files already prepared remain.
    let tier = ws.tier()?;
    let remote = ws.slug_store()?;
    let keep_slugs = ws.keep_slugs()?;
    // Never write a file that would be refused when read back.
    release.validate()?;
    if release.succeeded() {
        env.set_vars(&release.config)?;
    }
    ledger.append(&mut release)?;
    if release.succeeded() {
        let mut switch = || -> anyhow::Result<()> {
            env.save(ledger.scratch())?;
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
    let pruned = retention::apply(ledger, tier, remote, keep_slugs).with_context(|| {
        format!(
            "v{} was recorded, but older releases could not be pruned",
            release.version
        )
    })?;
    Ok((release, pruned))
}

/// An executable sent to or fetched from the shared slug store.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct SlugTransfer {
    /// The executable's name.
    pub name: String,
    /// Its sha256.
    pub sha256: String,
    /// The bytes that moved.
    pub bytes: u64,
    /// The store, as people name it (`s3://bucket/prefix`, a folder).
    pub store: String,
}

/// What [`share`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct Shared {
    /// The executables uploaded.
    pub sent: Vec<SlugTransfer>,
    /// How many the store had already.
    pub skipped: usize,
}

/// Uploads the executables of `slug` the store does not have (none without
/// a store): a release is recorded only once its slug can be fetched.
fn share(ws: &Workspace, ledger: &Ledger, slug: &crate::ledger::Slug) -> crate::Result<Shared> {
    let mut shared = Shared::default();
    let Some(remote) = ws.slug_store()? else {
        return Ok(shared);
    };
    let slugs = ledger.slugs();
    for exe in &slug.executables {
        match remote.upload(exe, &slugs.path(exe))? {
            Uploaded::Skipped => shared.skipped += 1,
            Uploaded::Sent { bytes } | Uploaded::Repaired { bytes } => {
                shared.sent.push(SlugTransfer {
                    name: exe.name.clone(),
                    sha256: exe.sha256.clone(),
                    bytes,
                    store: remote.location().to_owned(),
                });
            }
        }
    }
    Ok(shared)
}

/// Fetches the executables of `slug` not stored here from the shared slug
/// store, each verified against its sha256 before use.
fn fetch(
    ws: &Workspace,
    ledger: &Ledger,
    slug: &crate::ledger::Slug,
) -> crate::Result<Vec<SlugTransfer>> {
    let remote = ws.slug_store()?;
    Ok(ledger
        .slugs()
        .fetch_missing(slug, remote)?
        .into_iter()
        .map(|(exe, bytes)| SlugTransfer {
            name: exe.name,
            sha256: exe.sha256,
            bytes,
            store: remote.map(|r| r.location().to_owned()).unwrap_or_default(),
        })
        .collect())
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
) -> crate::Result<EnvState> {
    let vars = env
        .vars()
        .map_err(|e| unreadable_env(&env.relative_path(ws.root()), &e))?;
    // `[env]` holds the plain vars; secrets live in the secret store.
    if vars == plain_vars(&current.config) {
        return Ok(EnvState::Matches);
    }
    // A fresh clone (no `.releases/current` yet) has not written `[env]`;
    // anywhere else, a missing table is a hand edit like any other.
    if !env.has_env_table() && ledger.current_pointer().is_none() {
        return Ok(EnvState::Behind);
    }
    if let Some(pointer) = ledger.current_pointer().filter(|&p| p < current.version)
        && ledger
            .read(pointer)
            .is_ok_and(|r| plain_vars(&r.config) == vars)
    {
        return Ok(EnvState::Behind);
    }
    Ok(EnvState::HandEdited(vars))
}

/// `[env]` holds something cargo or an environment cannot take.
fn unreadable_env(env_path: &str, err: &anyhow::Error) -> Error {
    Error::EnvUnreadable {
        path: env_path.to_owned(),
        message: format!("{err:#}"),
    }
}

/// Refuses to go on when `[env]` was edited by hand and no longer matches the
/// current release, so that an edit is never overwritten silently. When the
/// workspace is merely behind the ledger (a change was interrupted, or its
/// writes failed), that change is finished first, so that no release is
/// ever recorded on top of one that was never applied.
fn ensure_env_matches(
    ledger: &LockedLedger,
    env: &mut EnvFile,
    current: &Release,
    ws: &Workspace,
) -> crate::Result<()> {
    match env_state(ledger, env, current, ws)? {
        EnvState::HandEdited(vars) => Err(Error::EnvEdited {
            path: env.relative_path(ws.root()),
            version: current.version,
            diff: ConfigDiff::between(&plain_vars(&current.config), &vars),
        }),
        EnvState::Behind => apply(ledger, env, current),
        EnvState::Matches => Ok(()),
    }
}

/// Makes the workspace run `current`: its config in `[env]`, then
/// `.releases/current` switched to it.
fn apply(ledger: &LockedLedger, env: &mut EnvFile, current: &Release) -> crate::Result<()> {
    let mut switch = || -> anyhow::Result<()> {
        env.set_vars(&current.config)?;
        env.save(ledger.scratch())?;
        ledger.switch_current(current)?;
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

/// The current release, or an error saying there is none yet.
fn require_current(ledger: &Ledger, ws: &Workspace) -> crate::Result<Release> {
    match ledger.current()? {
        Some(release) => Ok(release),
        None => Err(no_releases(ws, &ledger.versions().to_vec())),
    }
}

fn no_releases(ws: &Workspace, failed: &[u64]) -> Error {
    Error::NoReleases {
        app: ws.name().to_owned(),
        failed: failed.to_vec(),
    }
}
