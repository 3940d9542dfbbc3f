//! `deploy`: build the workspace and record the result as a new release.

use std::path::Path;

use super::build::{BuildOptions, TreeState, start_build, tree_state, workspace_tree_state};
use super::{Draft, EnvState, Shared, apply, env_state, record, share, unreadable_env};
use crate::commands::config::Secrecy;
use crate::context::Context;
use crate::error::Error;
use crate::ledger::release::short_sha;
use crate::ledger::retention::Pruned;
use crate::ledger::{
    AddonDiff, Build, ChangeKind, Code, ConfigDiff, ConfigVars, Ledger, LockedLedger, Release,
    Slug, Status,
};
use crate::workspace::{EnvFile, Workspace, git};

/// How to deploy.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct DeployOptions {
    /// Record commit, config and add-ons without building; the latest deploy's build runs.
    pub no_build: bool,
    /// Deploy even with uncommitted changes.
    pub allow_dirty: bool,
    /// Record a release even when the current one already runs this commit and slug.
    pub force: bool,
    /// The profile and cargo's selection flags to build with (`release`,
    /// every member's binaries, by default).
    pub build: Build,
    /// A message kept with the release and shown in the history.
    pub message: Option<String>,
    /// Passes `--quiet` to `cargo build`.
    pub quiet: bool,
    /// Passes `--color` to `cargo build`: `auto`, `always` or `never`.
    pub color: Option<String>,
}

/// What a deploy recorded.
#[derive(Debug)]
#[non_exhaustive]
pub struct Deployed {
    /// The new release; when [`Deployed::unchanged`], the current one.
    pub release: Release,
    /// The current release already ran this commit, slug, build and config:
    /// nothing was recorded (`force` records it anyway).
    pub unchanged: bool,
    /// Whether a slug was built (false with `--no-build`).
    pub built: bool,
    /// How the recorded config vars differ from the previous current
    /// release's: a deploy records `[env]` as the workspace has it.
    pub config: ConfigDiff,
    /// How the add-ons differ from the previous deploy's: dependencies that
    /// changed with the code.
    pub addons: AddonDiff,
    /// What was uploaded to the shared slug store.
    pub shared: Shared,
    /// The vars of `[env]` kept secret (their values moved out of it), with why.
    pub secrets: Vec<(String, String)>,
    /// The path of the `[env]` file, relative to the workspace root.
    pub env_path: String,
    /// What the tier's retention removed afterwards.
    pub pruned: Pruned,
}

impl Workspace {
    /// `deploy`: builds the workspace (`cargo build --profile release`,
    /// streaming cargo's own output to stderr) and records the commit, the
    /// executables built, `[env]` and the add-ons as a new release.
    ///
    /// Refuses uncommitted changes unless `allow_dirty` ([`Error::Dirty`]).
    /// A failed build is recorded as a `failed` release and returned as
    /// [`Error::BuildFailed`]; the current release stays current.
    pub fn deploy(&self, ctx: &Context, opts: &DeployOptions) -> crate::Result<Deployed> {
        deploy(self, ctx, opts)
    }
}

fn deploy(ws: &Workspace, ctx: &Context, opts: &DeployOptions) -> crate::Result<Deployed> {
    // Everything that can refuse the deploy is checked before anything is
    // built or written.
    ws.tier()?;
    ws.slug_store()?;
    ws.keep_slugs()?;
    // `cargo metadata` takes longest: it runs while git answers.
    ws.start_reading_members();
    // Who acts is asked while cargo builds. Without a build it is asked
    // only when a release is recorded: a deploy that changes nothing needs
    // no answer, and its git would only compete with `cargo metadata`.
    if ctx.user().is_none() && !opts.no_build {
        ws.start_user_lookup();
    }
    let env = EnvFile::load(ws.root())?;
    let env_path = env.relative_path(ws.root());
    env.vars().map_err(|e| unreadable_env(&env_path, &e))?;
    // A ledger that cannot be read is refused before a long build, too.
    let before = Ledger::open(ws.root())?.current()?;
    // Before a build, what would refuse it is checked first; the final word
    // on uncommitted changes is said under the lock either way.
    let mut early_tree = if opts.no_build {
        None
    } else {
        let tree = workspace_tree_state(ws, &env, before.as_ref().map(Release::latest_code))?;
        refuse_dirt(ws, &tree, opts)?;
        Some(tree)
    };
    let built_commit = early_tree
        .as_ref()
        .map(|tree| tree.commit(ws.root()))
        .transpose()?;
    // Changes in path add-ons are known once `cargo metadata` names them.
    // Where the latest release has any (or there is none yet), they are
    // looked at before cargo starts, so that a refusal comes before cargo's
    // output; elsewhere cargo starts at once and they are heard while it
    // builds.
    let addons_first = before.as_ref().is_none_or(|release| {
        release
            .latest_code()
            .addons
            .iter()
            .any(|addon| addon.source.starts_with("path+"))
    });
    // The build runs without the ledger lock, so that config changes are not
    // held up by it; what it built is stored once the lock is held.
    let build = if let Some(tree) = &mut early_tree {
        if addons_first {
            refuse_addon_dirt(ws, tree, opts)?;
        }
        let building = start_build(
            ws,
            &BuildOptions {
                build: &opts.build,
                // A clean deploy builds exactly the committed Cargo.lock, as
                // `cargo publish` would; cargo says so when it is out of date.
                locked: !opts.allow_dirty,
                quiet: opts.quiet,
                color: opts.color.as_deref(),
                elsewhere: None,
                target_dir: None,
                interrupt: None,
            },
        )?;
        // While cargo builds, `cargo metadata` is heard out: a workspace it
        // refuses, or changes in the path add-ons it names, stop the build
        // rather than wait for it.
        if !addons_first {
            refuse_addon_dirt(ws, tree, opts)?;
        }
        Some(building.finish()?)
    } else {
        None
    };
    // Without a build, an existing ledger is locked at once, so that git is
    // asked while `cargo metadata` still runs; a new one is created only
    // once cargo has had its say, so that a refused deploy writes nothing.
    let early = if opts.no_build {
        LockedLedger::acquire(ws.root(), ctx.lock_wait_hook())?
    } else {
        None
    };
    let mut ledger = match early {
        Some(ledger) => {
            ledger.write_support_files()?;
            ledger
        }
        None => {
            ws.workspace_addons()?;
            LockedLedger::create(ws.root(), ctx.lock_wait_hook())?.0
        }
    };
    // Read under the lock: a config change may have landed while we built.
    let mut env = EnvFile::load(ws.root())?;
    let current = ledger.current()?;
    let (config, secrets) = match &current {
        None => record_env(ws, env.vars()?, None)?,
        Some(current) => match env_state(&ledger, &env, current, ws)? {
            EnvState::Matches => (current.config.clone(), Vec::new()),
            // Finish what is behind rather than record a stale or missing
            // `[env]`, or a release on top of one never applied.
            EnvState::Behind => {
                apply(&ledger, &mut env, current)?;
                (current.config.clone(), Vec::new())
            }
            // A deploy records a hand edit: it is how one is kept.
            EnvState::HandEdited(vars) => record_env(ws, vars, Some(current))?,
        },
    };
    // The word that counts on uncommitted changes is said under the lock.
    let tree = tree_state(ws, &env, current.as_ref().map(Release::latest_code))?;
    refuse_dirt(ws, &tree, opts)?;
    let addons = ws.workspace_addons()?;
    // What was built is the commit checked out when the build began.
    let commit = match built_commit {
        Some(commit) => commit,
        None => tree.commit(ws.root())?,
    };
    let version = ledger.next_version()?;
    let previous = current.as_ref().map(Release::latest_code);
    let status = match &build {
        Some(built) if !built.status.success() => Status::Failed,
        _ => Status::Succeeded,
    };
    let mut shared = Shared::default();
    let (deploy, built_from, slug, how) = match &build {
        Some(built) if built.status.success() => {
            let slug = built.store(&ledger)?;
            shared = share(ws, &ledger, &slug)?;
            (version, None, slug, Some(opts.build.clone()))
        }
        Some(_) => (version, None, Slug::default(), Some(opts.build.clone())),
        // Without a build, the new commit runs on the latest build, if there
        // is one yet (`deploy = 0` says there is not).
        None => match previous {
            Some(latest) if latest.deploy != 0 => {
                let from = latest
                    .built_from
                    .clone()
                    .unwrap_or_else(|| latest.commit.clone());
                (
                    version,
                    Some(from),
                    latest.slug.clone(),
                    latest.build.clone(),
                )
            }
            _ => (0, None, Slug::default(), None),
        },
    };
    // The first deploy brings every add-on; naming them all says nothing.
    let moved = previous.map_or_else(AddonDiff::default, |c| {
        AddonDiff::between(&c.addons, &addons)
    });
    let code = Code {
        commit: commit.clone(),
        deploy,
        built_from,
        dirty: !tree.dirt.is_empty(),
        uncommitted: tree.manifests,
        build: how,
        slug,
        addons,
    };
    let latest_code = match (status, previous) {
        (Status::Failed, Some(latest)) => latest.clone(),
        _ => code.clone(),
    };
    if let Some(current) = current.as_ref().filter(|c| {
        !opts.force
            && status == Status::Succeeded
            && c.code.commit == code.commit
            && c.code.slug == code.slug
            && c.code.build == code.build
            && c.code.dirty == code.dirty
            && c.config == config
            && !c.runs_rolled_back_code()
    }) {
        return Ok(Deployed {
            release: current.clone(),
            unchanged: true,
            shared,
            built: build.is_some(),
            config: ConfigDiff::default(),
            addons: AddonDiff::default(),
            secrets: Vec::new(),
            env_path,
            pruned: Pruned::default(),
        });
    }
    let draft = Draft {
        kind: ChangeKind::Deploy,
        change: deploy_change(&commit, &moved),
        message: opts.message.clone().filter(|m| !m.trim().is_empty()),
        note: None,
        rollback_to: None,
        status,
        code,
        latest_code,
        addon_releases: current
            .as_ref()
            .map(|c| c.addon_releases.clone())
            .unwrap_or_default(),
        config,
    };
    let (release, pruned) = record(ws, &mut ledger, ctx, &mut env, draft)?;
    if let Some(built) = build.filter(|b| !b.status.success()) {
        return Err(Error::BuildFailed {
            version: release.version,
            current: current.map(|c| c.version),
            status: built.status,
        });
    }
    let previous_config = current.map(|c| c.config).unwrap_or_default();
    Ok(Deployed {
        config: ConfigDiff::between(&previous_config, &release.config),
        unchanged: false,
        shared,
        secrets,
        addons: moved,
        release,
        built: !opts.no_build,
        env_path,
        pruned,
    })
}

/// Waits for `cargo metadata` (a workspace it refuses is an error) and
/// refuses changes in the path add-ons it names.
fn refuse_addon_dirt(
    ws: &Workspace,
    tree: &mut TreeState,
    opts: &DeployOptions,
) -> crate::Result<()> {
    ws.workspace_addons()?;
    tree.add_path_addon_dirt(ws)?;
    refuse_dirt(ws, tree, opts)
}

/// Refuses uncommitted changes unless `allow_dirty`, and a missing or
/// uncommitted Cargo.lock (a fresh `cargo new`) in the tool's own words,
/// not cargo's about `--locked`.
fn refuse_dirt(ws: &Workspace, tree: &TreeState, opts: &DeployOptions) -> crate::Result<()> {
    let lock_missing = !crate::files::is_regular_file(&ws.root().join("Cargo.lock"));
    if lock_missing || (!opts.allow_dirty && tree.dirt.iter().any(|p| p == "Cargo.lock")) {
        let untracked = !lock_missing && !git::is_tracked(ws.root(), Path::new("Cargo.lock"))?;
        if lock_missing || untracked {
            return Err(Error::LockFileNotCommitted {
                app: ws.name().to_owned(),
                missing: lock_missing,
            });
        }
    }
    if !tree.dirt.is_empty() && !opts.allow_dirty {
        return Err(Error::Dirty {
            paths: tree.dirt.clone(),
        });
    }
    Ok(())
}

/// The config vars a deploy records from `[env]` (`vars`, all plain): the
/// current release's secrets, which `[env]` never holds, and each var of
/// `[env]`, kept secret when it is new or changed and looks secret (its
/// value then leaves `[env]`). Returns the vars and those made secret, with why.
fn record_env(
    ws: &Workspace,
    vars: ConfigVars,
    current: Option<&Release>,
) -> crate::Result<(ConfigVars, Vec<(String, String)>)> {
    let mut config: ConfigVars = current
        .map(|c| {
            c.config
                .iter()
                .filter(|(name, var)| var.is_secret() && !vars.contains_key(*name))
                .map(|(name, var)| (name.clone(), var.clone()))
                .collect()
        })
        .unwrap_or_default();
    let mut secrets = Vec::new();
    for (name, var) in vars {
        let recorded = current.and_then(|c| c.config.get(&name));
        if recorded == Some(&var) {
            config.insert(name, var);
            continue;
        }
        let value = var.plain_value().unwrap_or_default().to_owned();
        let (var, why) = ws.decide(&name, &value, Secrecy::Auto, &var)?;
        secrets.extend(why.map(|why| (name.clone(), why.to_owned())));
        config.insert(name, var);
    }
    Ok((config, secrets))
}

/// `Deploy 1a2b3c4`, naming briefly the add-ons that moved with it:
/// `Deploy 1a2b3c4 (+itoa, serde 1.0.228 => 1.0.229)`.
fn deploy_change(commit: &str, moved: &AddonDiff) -> String {
    const SHOWN: usize = 3;
    let mut change = format!("Deploy {}", short_sha(commit));
    let summary = moved.summary();
    if !summary.is_empty() {
        let mut items: Vec<String> = summary.iter().take(SHOWN).cloned().collect();
        if summary.len() > SHOWN {
            items.push(format!("{} more", summary.len() - SHOWN));
        }
        change = format!("{change} ({})", items.join(", "));
    }
    change
}
