//! `addons`, `addons add/remove/upgrade/downgrade`: dependencies; each change is a release.

mod cargo;
mod requirement;

use std::collections::BTreeMap;

use super::build::{BuildOptions, Built, build, is_manifest, tree_state};
use super::restore::Backup;
use super::{Shared, share};
use crate::context::Context;
use crate::error::Error;
use crate::ledger::retention::Pruned;
use crate::ledger::slugs::sha256_bytes;
use crate::ledger::{
    Addon, AddonDiff, Build, ChangeKind, Code, DIR, Environment, Release, Slug, Status, manifests,
};
use crate::transaction::{Committed, Draft, Transaction};
use crate::workspace::{EnvFile, Workspace, git};

use cargo::{cargo_commands, check_crate_name, run_plan};

/// The current release's add-ons, and how the manifests differ from them.
#[derive(Debug, Default, serde::Serialize)]
#[non_exhaustive]
pub struct AddonsShown {
    /// The current release (`None` before the first).
    pub release: Option<u64>,
    /// The add-ons compiled into the code it runs.
    pub addons: Vec<Addon>,
    /// The release whose build the workspace's manifests should match:
    /// the latest build (a rolled-back release runs older code).
    pub latest: Option<u64>,
    /// How Cargo.toml and Cargo.lock differ from that build's add-ons, when they do.
    pub drift: Option<AddonDiff>,
}

/// A change of add-ons: each is one release, made with cargo's own commands.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum AddonChange {
    /// `cargo add`: a new dependency, or a new requirement for one.
    Add {
        /// `NAME` or `NAME@VERSION-REQ`.
        spec: String,
        /// The member to add it to (`-p`); default: the root package.
        package: Option<String>,
        /// Features to turn on.
        features: Vec<String>,
        /// Which dependency table.
        section: Section,
        /// `--git URL`, `--path PATH`, `--branch`, `--tag`, `--rev`, passed on as given.
        source: Vec<String>,
    },
    /// `cargo remove`.
    Remove {
        /// The dependency's name.
        name: String,
        /// The member to remove it from (`-p`); default: the root package.
        package: Option<String>,
    },
    /// `cargo update NAME [--precise VERSION]`: to the newest version the
    /// requirement allows, or to `version`, which must be newer.
    ///
    /// A `version` outside a member's requirement is refused
    /// ([`Error::OutsideRequirement`]) unless `allow_requirement_change`
    /// is set: then `cargo add NAME@VERSION` sets every member's requirement
    /// to it instead.
    Upgrade {
        /// The add-on.
        name: String,
        /// The version to go to.
        version: Option<String>,
        /// Whether a `version` outside the requirements changes them.
        allow_requirement_change: bool,
    },
    /// `cargo update NAME --precise VERSION`, to an older version; across
    /// a requirement as [`AddonChange::Upgrade`] goes.
    Downgrade {
        /// The add-on.
        name: String,
        /// The version to go to.
        version: String,
        /// Whether a `version` outside the requirements changes them.
        allow_requirement_change: bool,
    },
}

/// A member's requirement on an add-on, as its manifest declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AddonRequirement {
    /// The member.
    pub member: String,
    /// Its manifest, relative to the workspace root.
    pub manifest: String,
    /// The requirement, as cargo reads it (`^0.1`).
    pub req: String,
    /// Whether it is a build-dependency.
    pub build: bool,
}

/// The dependency table `addons add` writes to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Section {
    /// `[dependencies]`: compiled into the slug.
    #[default]
    Normal,
    /// `[dev-dependencies]`: tests and examples only; not an add-on of the slug.
    Dev,
    /// `[build-dependencies]`.
    Build,
}

/// What an add-on change did.
#[derive(Debug)]
#[non_exhaustive]
pub struct AddonChanged {
    /// The new release.
    pub release: Release,
    /// The add-on the command was about.
    pub name: String,
    /// How the add-ons compiled into the slug changed.
    pub addons: AddonDiff,
    /// What was uploaded to the shared slug store.
    pub shared: Shared,
    /// The manifests cargo changed, from the workspace root: to be committed.
    pub manifests: Vec<String>,
    /// Set when the change left rolled-back code: the build whose code runs again.
    pub restored_deploy: Option<u64>,
    /// What the tier's retention removed afterwards.
    pub pruned: Pruned,
}

impl AddonChange {
    /// `addons add SPEC`: see [`AddonChange::Add`].
    pub fn add(
        spec: impl Into<String>,
        package: Option<String>,
        features: Vec<String>,
        section: Section,
        source: Vec<String>,
    ) -> Self {
        AddonChange::Add {
            spec: spec.into(),
            package,
            features,
            section,
            source,
        }
    }

    /// `addons remove NAME`: see [`AddonChange::Remove`].
    pub fn remove(name: impl Into<String>, package: Option<String>) -> Self {
        AddonChange::Remove {
            name: name.into(),
            package,
        }
    }

    /// `addons upgrade NAME[@VERSION]`: see [`AddonChange::Upgrade`].
    pub fn upgrade(name: impl Into<String>, version: Option<String>) -> Self {
        AddonChange::Upgrade {
            name: name.into(),
            version,
            allow_requirement_change: false,
        }
    }

    /// `addons downgrade NAME@VERSION`: see [`AddonChange::Downgrade`].
    pub fn downgrade(name: impl Into<String>, version: impl Into<String>) -> Self {
        AddonChange::Downgrade {
            name: name.into(),
            version: version.into(),
            allow_requirement_change: false,
        }
    }

    /// Whether an upgrade or downgrade to a version outside a member's
    /// requirement changes the requirements (`cargo add NAME@VERSION` for
    /// each member that uses the add-on), as one add-on release, rather
    /// than being refused. An upgrade without a version then is refused:
    /// the version to require must be named. No effect on other changes.
    #[must_use]
    pub fn allow_requirement_change(mut self, allow: bool) -> Self {
        if let AddonChange::Upgrade {
            allow_requirement_change,
            ..
        }
        | AddonChange::Downgrade {
            allow_requirement_change,
            ..
        } = &mut self
        {
            *allow_requirement_change = allow;
        }
        self
    }

    fn name(&self) -> String {
        match self {
            AddonChange::Add { spec, .. } => spec.split('@').next().unwrap_or(spec).to_owned(),
            AddonChange::Remove { name, .. }
            | AddonChange::Upgrade { name, .. }
            | AddonChange::Downgrade { name, .. } => name.clone(),
        }
    }
}

impl Workspace {
    /// `addons`: the add-ons of the current release's code, and whether
    /// Cargo.toml and Cargo.lock still match the latest build's.
    pub fn addons(&self) -> crate::Result<AddonsShown> {
        let Some(current) = self.read_ledger(|l| Ok(l.current()?))? else {
            return Ok(AddonsShown::default());
        };
        let latest = current.latest_code();
        let drift = AddonDiff::between(&latest.addons, &self.workspace_addons()?);
        Ok(AddonsShown {
            release: Some(current.version),
            latest: Some(latest.deploy),
            drift: (!drift.is_empty()).then_some(drift),
            addons: current.code.addons,
        })
    }

    /// `addons add|remove|upgrade|downgrade`: changes the dependencies with
    /// cargo's own command, builds the latest deploy's code with them, and
    /// records an add-on release with the current config.
    ///
    /// If cargo or the build fails, Cargo.toml and Cargo.lock are restored
    /// byte for byte; a failed build is recorded as a `failed` release
    /// ([`Error::BuildFailed`]), anything else records nothing.
    pub fn change_addons(
        &self,
        ctx: &Context,
        change: &AddonChange,
    ) -> crate::Result<AddonChanged> {
        change_addons(self, ctx, change)
    }
}

fn change_addons(
    ws: &Workspace,
    ctx: &Context,
    change: &AddonChange,
) -> crate::Result<AddonChanged> {
    ws.tier()?;
    refuse_promotion_only(ws)?;
    let name = change.name();
    check_crate_name(&name)?;
    let mut tx = Transaction::begin_change(ws, ctx)?;
    let current = tx.require_current()?.clone();
    let latest = current.latest_code().clone();
    // Add-on releases change the workspace's manifests, which `[env]` lives beside.
    let env = EnvFile::load(ws.root())?;
    let tree = tree_state(ws, &env, Some(&latest))?;
    let commit = tree.commit(ws.root())?;
    if !tree.dirt.is_empty() {
        return Err(Error::Dirty { paths: tree.dirt });
    }
    ensure_latest_code_is_checked_out(ws, &env, &latest, &commit)?;
    let plan = cargo_commands(ws, change, &latest.addons)?;
    // Ctrl-C while waiting for the lock or looking at the tree.
    if ctx.interrupted() {
        return Err(Error::Interrupted("nothing was changed".into()));
    }

    let backup = run_plan(ws, ctx, &mut tx, &plan)?;
    let addons = ws.workspace_addons_now()?;
    let moved = AddonDiff::between(&latest.addons, &addons);
    // The latest deploy's code, built the way it was.
    let how = latest.build.clone().unwrap_or_default();
    let built = build_latest(ws, ctx, &how);
    // A build stopped by Ctrl-C did not fail: nothing is recorded.
    if ctx.interrupted() {
        backup.restore()?;
        return Err(interrupted());
    }
    let built = built?;
    let version = tx.ledger().next_version()?;
    let (status, slug) = if built.status.success() {
        (Status::Succeeded, built.store(tx.ledger())?)
    } else {
        (Status::Failed, Slug::default())
    };
    let shared = share(ws, tx.ledger(), &slug)?;
    let manifests = uncommitted_manifests(ws)?;
    // What cargo's edit made travels with the release, for diff and rebuild.
    manifests::keep(
        &Environment::base(ws.root()),
        ws.root(),
        &manifests,
        tx.ledger().scratch(),
    )?;
    let code = Code {
        commit,
        deploy: version,
        built_from: None,
        dirty: false,
        uncommitted: manifests.clone(),
        build: Some(how),
        slug,
        addons,
    };
    let draft = addon_draft(change, &name, &moved, code, &current, &latest, status);
    let committed = record(ctx, &mut tx, draft, backup, &current, &built)?;
    let (release, pruned) = (committed.release, committed.pruned);
    Ok(AddonChanged {
        release,
        shared,
        name,
        addons: moved,
        manifests: manifests.into_keys().collect(),
        restored_deploy: current.runs_rolled_back_code().then_some(latest.deploy),
        pruned,
    })
}

/// Builds the workspace `how` the latest deploy was built, with the manifests as they are now.
fn build_latest(ws: &Workspace, ctx: &Context, how: &Build) -> anyhow::Result<Built> {
    build(
        ws,
        &BuildOptions {
            build: how,
            locked: true,
            quiet: false,
            color: None,
            elsewhere: None,
            target_dir: None,
            interrupt: ctx.interrupt(),
        },
    )
}

/// The release `change` makes with `code`: if it succeeded, the add-ons that moved date from it.
fn addon_draft(
    change: &AddonChange,
    name: &str,
    moved: &AddonDiff,
    code: Code,
    current: &Release,
    latest: &Code,
    status: Status,
) -> Draft {
    let version = code.deploy;
    let mut addon_releases = current.addon_releases.clone();
    if status == Status::Succeeded {
        for addon in moved.added.iter().chain(&moved.removed) {
            addon_releases.insert(addon.name.clone(), version);
        }
        for m in &moved.moved {
            addon_releases.insert(m.new.name.clone(), version);
        }
    }
    let restored = current.runs_rolled_back_code();
    let succeeded = status == Status::Succeeded;
    let mut draft = Draft::new(
        ChangeKind::Addon,
        change_text(change, name, moved),
        code,
        current.config.clone(),
    );
    draft.note = (restored && succeeded).then(|| {
        format!(
            "Runs the latest deploy's code again with the new add-ons, leaving the \
             rolled-back code of v{}",
            current.code.deploy
        )
    });
    draft.status = status;
    if !succeeded {
        draft.latest_code = latest.clone();
    }
    draft.addon_releases = addon_releases;
    draft
}

/// Records `draft` unless Ctrl-C came first: a failed build is recorded
/// with the manifests put back ([`Error::BuildFailed`]); otherwise they stay.
fn record(
    ctx: &Context,
    tx: &mut Transaction<'_>,
    draft: Draft,
    backup: Backup,
    current: &Release,
    built: &Built,
) -> crate::Result<Committed> {
    // The last moment nothing is recorded yet: storing and sharing the
    // slug may take long.
    if ctx.interrupted() {
        backup.restore()?;
        return Err(interrupted());
    }
    if draft.status == Status::Failed {
        // Nothing of a failed change stays in the workspace.
        backup.restore()?;
        let release = tx.commit(ctx, draft)?.release;
        return Err(Error::BuildFailed {
            version: release.version,
            current: Some(current.version),
            status: built.status,
        });
    }
    let committed = match tx.commit(ctx, draft) {
        Ok(committed) => committed,
        Err(e) => {
            // Recorded despite the error (a step after it failed, which
            // the next command finishes): the manifests it was built from
            // stay. Rolled back by its health check, they go.
            let newest = tx.ledger().newest().filter(|&v| v > current.version);
            if newest
                .and_then(|v| tx.ledger().read(v).ok())
                .is_some_and(|r| r.kind == ChangeKind::Addon && r.succeeded())
            {
                backup.keep();
            }
            return Err(e);
        }
    };
    backup.keep();
    Ok(committed)
}

/// Refuses a change other than a promotion in an environment that takes
/// promotions only (`promote-from`).
pub(crate) fn refuse_promotion_only(ws: &Workspace) -> crate::Result<()> {
    match ws.promote_from()? {
        Some(from) => Err(Error::PromotionOnly {
            env: ws.env().name().to_owned(),
            from: from.name().to_owned(),
        }),
        None => Ok(()),
    }
}

fn interrupted() -> Error {
    Error::Interrupted(
        "Cargo.toml and Cargo.lock are as they were, and nothing was recorded".into(),
    )
}

/// An add-on release builds the code the latest deploy runs with new
/// dependencies: commits that were not deployed must not ship with it.
fn ensure_latest_code_is_checked_out(
    ws: &Workspace,
    env: &EnvFile,
    latest: &Code,
    head: &str,
) -> crate::Result<()> {
    if latest.commit == head {
        return Ok(());
    }
    let env_path = env.relative_path(ws.root());
    let excluded = [DIR, "**/Cargo.toml", "Cargo.lock", env_path.as_str()];
    match git::changed_between(ws.root(), &latest.commit, head, &excluded)? {
        Some(changed) if changed.is_empty() => Ok(()),
        changed => Err(Error::NotDeployed {
            head: head.to_owned(),
            latest: latest.deploy,
            changed: changed.unwrap_or_default(),
        }),
    }
}

/// `Add-on add memcache`, `Add-on upgrade serde 1.0.228 => 1.0.229`,
/// `Add-on upgrade memcache 0.1.0 => 0.2.0 (requirement ^0.1 => ^0.2.0)`.
fn change_text(change: &AddonChange, name: &str, moved: &AddonDiff) -> String {
    let verb = match change {
        AddonChange::Add { .. } => "add",
        AddonChange::Remove { .. } => "remove",
        AddonChange::Upgrade { .. } => "upgrade",
        AddonChange::Downgrade { .. } => "downgrade",
    };
    match moved.moved.iter().find(|m| m.new.name == name) {
        Some(m) if !matches!(change, AddonChange::Add { .. } | AddonChange::Remove { .. }) => {
            // When the version stays, the move names the requirement itself.
            if m.old.req != m.new.req && m.old.version_or_req() != m.new.version_or_req() {
                format!(
                    "Add-on {verb} {m} (requirement {} => {})",
                    m.old.req, m.new.req
                )
            } else {
                format!("Add-on {verb} {m}")
            }
        }
        _ => format!("Add-on {verb} {name}"),
    }
}

/// The manifests with uncommitted changes now, with the digest of each.
fn uncommitted_manifests(ws: &Workspace) -> anyhow::Result<BTreeMap<String, String>> {
    let mut manifests = BTreeMap::new();
    for path in git::workspace_status(ws.root(), &[DIR], ws.root())?.paths {
        if is_manifest(&path) {
            let bytes = fs_err::read(ws.root().join(&path))?;
            manifests.insert(path, format!("sha256:{}", sha256_bytes(&bytes)));
        }
    }
    Ok(manifests)
}
