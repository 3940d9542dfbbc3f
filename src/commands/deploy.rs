//! `deploy`: build the workspace and record the result as a new release.

use std::path::Path;

use super::build::{BuildOptions, Built, TreeState, start_build, tree_state, workspace_tree_state};
use super::{Shared, share};
use crate::commands::config::Secrecy;
use crate::context::Context;
use crate::error::Error;
use crate::ledger::config_vars::check_limits;
use crate::ledger::release::short_sha;
use crate::ledger::retention::Pruned;
use crate::ledger::{
    AddonDiff, Build, ChangeKind, Code, ConfigDiff, ConfigVars, DIR, Environment, Release, Slug,
    Status, manifests,
};
use crate::transaction::{Draft, EnvState, Transaction, unreadable_env};
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
    // The manifests a killed add-on change left are put back before the
    // tree is looked at, and are not taken for uncommitted work.
    Transaction::finish_interrupted(ws, ctx)?;
    let plan = plan(ws, ctx, opts)?;
    let built = build_planned(ws, ctx, opts, plan.tree, plan.addons_checked)?;
    // Ctrl-C while cargo built: nothing is recorded.
    if ctx.interrupted() {
        return Err(Error::Interrupted("nothing was recorded".into()));
    }
    let mut tx = lock(ws, ctx, opts)?;
    let (config, secrets) = config_to_record(ws, &mut tx)?;
    let current = tx.current().cloned();
    let previous = current.as_ref().map(Release::latest_code);
    // The word that counts on uncommitted changes is said under the lock.
    let env = EnvFile::load(ws.root())?;
    let tree = tree_state(ws, &env, previous)?;
    refuse_dirt(ws, &tree, opts)?;
    // What was built is the commit checked out when the build began.
    let commit = match plan.built_commit {
        Some(commit) => commit,
        None => tree.commit(ws.root())?,
    };
    let (code, shared) = code_to_record(ws, &tx, opts, built.as_ref(), commit, tree)?;
    let status = match &built {
        Some(built) if !built.status.success() => Status::Failed,
        _ => Status::Succeeded,
    };
    // The first deploy brings every add-on; naming them all says nothing.
    let moved = previous.map_or_else(AddonDiff::default, |c| ws.addon_diff(c, &code));
    let unchanged = |c: &&Release| {
        !opts.force && runs_already(c, &code, &config, status) && same_code(ws, c, &code)
    };
    let was_built = built.is_some();
    let deployed = |release: Release, unchanged: bool| Deployed {
        release,
        unchanged,
        built: was_built,
        config: ConfigDiff::default(),
        addons: AddonDiff::default(),
        shared: shared.clone(),
        secrets: Vec::new(),
        env_path: plan.env_path.clone(),
        pruned: Pruned::default(),
    };
    if let Some(current) = current.as_ref().filter(unchanged) {
        return Ok(deployed(current.clone(), true));
    }
    let mut draft = Draft::new(
        ChangeKind::Deploy,
        deploy_change(&code.commit, &moved),
        code,
        config,
    );
    draft.message = opts.message.clone().filter(|m| !m.trim().is_empty());
    draft.status = status;
    if let (Status::Failed, Some(latest)) = (status, previous) {
        draft.latest_code = latest.clone();
    }
    draft.addon_releases = current
        .as_ref()
        .map(|c| c.addon_releases.clone())
        .unwrap_or_default();
    let committed = tx.commit(ctx, draft)?;
    if let Some(built) = built.filter(|b| !b.status.success()) {
        return Err(Error::BuildFailed {
            version: committed.release.version,
            current: current.map(|c| c.version),
            status: built.status,
        });
    }
    let previous_config = current.map(|c| c.config).unwrap_or_default();
    Ok(Deployed {
        config: ConfigDiff::between(&previous_config, &committed.release.config),
        secrets,
        addons: moved,
        pruned: committed.pruned,
        ..deployed(committed.release, false)
    })
}

/// Whether `current` already runs what a deploy would record: the same
/// slug, build and config, and not as rolled-back code (the commit is
/// [`same_code`]'s question).
fn runs_already(current: &Release, code: &Code, config: &ConfigVars, status: Status) -> bool {
    status == Status::Succeeded
        && current.code.slug == code.slug
        && current.code.build == code.build
        && current.code.dirty == code.dirty
        && current.config == *config
        && !current.runs_rolled_back_code()
}

/// Whether `code`'s commit is the current release's, or differs from it
/// only in `.releases/` (committing the ledger, as teams do, is no new code).
fn same_code(ws: &Workspace, current: &Release, code: &Code) -> bool {
    current.code.commit == code.commit
        || git::changed_between(ws.root(), &current.code.commit, &code.commit, &[DIR])
            .is_ok_and(|changed| changed.is_some_and(|c| c.is_empty()))
}

/// What a deploy decided before building: the tree it builds, checked.
struct Plan {
    /// The working tree before the build (none with `--no-build`).
    tree: Option<TreeState>,
    /// The commit the build builds.
    built_commit: Option<String>,
    /// The `[env]` file, from the workspace root.
    env_path: String,
    /// Whether the path add-ons were looked at before the build.
    addons_checked: bool,
}

/// Checks everything that can refuse the deploy before anything is built or written.
fn plan(ws: &Workspace, ctx: &Context, opts: &DeployOptions) -> crate::Result<Plan> {
    ws.tier()?;
    ws.slug_store()?;
    ws.keep_slugs()?;
    ws.hooks()?;
    super::addons::refuse_promotion_only(ws)?;
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
    if ws.env().is_default() {
        let vars = env.vars().map_err(|e| unreadable_env(&env_path, &e))?;
        // Over the limits, refused before a long build.
        env_within_limits(ws, &vars)?;
    }
    // A ledger that cannot be read is refused before a long build, too.
    let before = ws.read_ledger(|ledger| Ok(ledger.current()?))?;
    // Before a build, what would refuse it is checked first; the final word
    // on uncommitted changes is said under the lock either way.
    if opts.no_build {
        return Ok(Plan {
            tree: None,
            built_commit: None,
            env_path,
            addons_checked: false,
        });
    }
    let tree = workspace_tree_state(ws, &env, before.as_ref().map(Release::latest_code))?;
    refuse_dirt(ws, &tree, opts)?;
    let built_commit = Some(tree.commit(ws.root())?);
    // Changes in path add-ons are known once `cargo metadata` names them.
    // Where the latest release has any (or there is none yet), they are
    // looked at before cargo starts, so that a refusal comes before cargo's
    // output; elsewhere cargo starts at once and they are heard while it
    // builds.
    let mut tree = tree;
    if before.as_ref().is_none_or(|release| {
        release
            .latest_code()
            .addons
            .iter()
            .any(|addon| addon.source.starts_with("path+"))
    }) {
        refuse_addon_dirt(ws, &mut tree, opts)?;
        return Ok(Plan {
            tree: Some(tree),
            built_commit,
            env_path,
            addons_checked: true,
        });
    }
    Ok(Plan {
        tree: Some(tree),
        built_commit,
        env_path,
        addons_checked: false,
    })
}

/// Builds the planned tree, without the ledger lock, so that config
/// changes are not held up by it; what it built is stored once the lock is held.
fn build_planned(
    ws: &Workspace,
    ctx: &Context,
    opts: &DeployOptions,
    tree: Option<TreeState>,
    addons_checked: bool,
) -> crate::Result<Option<Built>> {
    let Some(mut tree) = tree else {
        return Ok(None);
    };
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
            interrupt: ctx.interrupt(),
        },
    )?;
    // While cargo builds, `cargo metadata` is heard out: a workspace it
    // refuses, or changes in the path add-ons it names, stop the build
    // rather than wait for it.
    if !addons_checked {
        refuse_addon_dirt(ws, &mut tree, opts)?;
    }
    Ok(Some(building.finish()?))
}

/// Locks the ledger. Without a build, an existing ledger is locked at
/// once, so that git is asked while `cargo metadata` still runs; a new one
/// is created only once cargo has had its say, so that a refused deploy
/// writes nothing.
fn lock<'ws>(
    ws: &'ws Workspace,
    ctx: &Context,
    opts: &DeployOptions,
) -> crate::Result<Transaction<'ws>> {
    if opts.no_build
        && let Some(tx) = Transaction::begin(ws, ctx)?
        && tx.ledger().versions().last().is_some()
    {
        tx.ledger().write_support_files()?;
        return Ok(tx);
    }
    ws.workspace_addons()?;
    Ok(Transaction::create(ws, ctx)?.0)
}

/// The config vars a deploy records, read under the lock (a config change
/// may have landed while it built): `[env]` as the workspace has it, a
/// hand edit included; what is behind is finished first rather than
/// recorded stale, or a release put on top of one never applied.
fn config_to_record(
    ws: &Workspace,
    tx: &mut Transaction<'_>,
) -> crate::Result<(ConfigVars, Vec<(String, String)>)> {
    let Some(current) = tx.current().cloned() else {
        return match tx.env_file() {
            Some(env) => record_env(ws, env.vars()?, None),
            None => Ok((ConfigVars::default(), Vec::new())),
        };
    };
    match tx.env_state(&current)? {
        EnvState::Matches => Ok((current.config, Vec::new())),
        EnvState::Behind => {
            tx.apply_current()?;
            Ok((current.config, Vec::new()))
        }
        // A deploy records a hand edit: it is how one is kept.
        EnvState::HandEdited(vars) => record_env(ws, vars, Some(&current)),
    }
}

/// The code a deploy records: what was built and stored (and shared), a
/// failed build's nothing, or, without a build, the latest build's slug
/// (`deploy = 0` says there is none yet).
fn code_to_record(
    ws: &Workspace,
    tx: &Transaction<'_>,
    opts: &DeployOptions,
    built: Option<&Built>,
    commit: String,
    tree: TreeState,
) -> crate::Result<(Code, Shared)> {
    let version = tx.ledger().next_version()?;
    let previous = tx.current().map(Release::latest_code);
    let mut shared = Shared::default();
    // The manifests a build used: the tree's, or, without a build, those
    // the latest build used (so that `rebuild` reproduces it).
    let mut manifests_built = tree.manifests.clone();
    let (deploy, built_from, slug, how) = match built {
        Some(built) if built.status.success() => {
            let slug = built.store(tx.ledger())?;
            shared = share(ws, tx.ledger(), &slug)?;
            (version, None, slug, Some(opts.build.clone()))
        }
        Some(_) => (version, None, Slug::default(), Some(opts.build.clone())),
        None => match previous {
            Some(latest) if latest.deploy != 0 => {
                let from = latest
                    .built_from
                    .clone()
                    .unwrap_or_else(|| latest.commit.clone());
                manifests_built.clone_from(&latest.uncommitted);
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
    // What the manifests were when they were built travels with the release.
    manifests::keep(
        &Environment::base(ws.root()),
        ws.root(),
        &tree.manifests,
        tx.ledger().scratch(),
    )?;
    let code = Code {
        commit,
        deploy,
        built_from,
        dirty: !tree.dirt.is_empty(),
        uncommitted: manifests_built,
        build: how,
        slug,
        addons: ws.workspace_addons()?,
    };
    Ok((code, shared))
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
    // Before a value moves to the secret store.
    env_within_limits(ws, &vars)?;
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

/// Refuses `[env]` vars a program could not be started with, naming the file.
fn env_within_limits(ws: &Workspace, vars: &ConfigVars) -> crate::Result<()> {
    check_limits(vars).map_err(|e| {
        Error::InvalidInput(format!(
            "`[env]` in {}: {e}",
            EnvFile::shown_path(ws.root())
        ))
    })
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
