//! `promote FROM TO [vN]`: ship one environment's release to the next, same executables, no rebuild.

use super::{SlugTransfer, fetch};
use crate::context::Context;
use crate::error::Error;
use crate::ledger::release::short_sha;
use crate::ledger::retention::Pruned;
use crate::ledger::{AddonDiff, ChangeKind, Environment, Ledger, Promoted, Release, Version};
use crate::transaction::{Draft, Transaction};
use crate::workspace::Workspace;

/// What to promote, and how.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct PromoteOptions {
    /// The release of the source environment (default: its current one).
    pub version: Option<Version>,
    /// Promote even when the target environment lacks config vars the
    /// release has.
    pub allow_missing: bool,
    /// A message kept with the release and shown in the history.
    pub message: Option<String>,
}

/// What a promotion recorded.
#[derive(Debug)]
#[non_exhaustive]
pub struct PromotedRelease {
    /// The new release, in the target environment.
    pub release: Release,
    /// The source environment.
    pub from: Environment,
    /// The release promoted, in the source environment.
    pub source: u64,
    /// The target environment.
    pub to: Environment,
    /// The executables fetched from the shared slug store first.
    pub fetched: Vec<SlugTransfer>,
    /// The source release's config vars the target lacks (promoted anyway
    /// with `allow_missing`).
    pub missing_vars: Vec<String>,
    /// The add-ons compiled into the promoted code, against those the
    /// target ran: dependencies that change with the code.
    pub addons: AddonDiff,
    /// What the target's retention removed afterwards.
    pub pruned: Pruned,
}

impl Workspace {
    /// `promote FROM TO [vN]`: records a release in environment `to` that
    /// runs `from`'s release (default: its current one) with the same
    /// executables (same sha256, no rebuild) and add-ons, and `to`'s own
    /// config vars. The environment this workspace selected does not matter.
    ///
    /// Refused, writing nothing: an unknown environment
    /// ([`Error::UnknownEnvironment`]), a target that promotes from another
    /// one ([`Error::PromotionSource`]), a failed release or one whose
    /// executables are nowhere to be found ([`Error::NotPromotable`]), a
    /// release that is not kept ([`Error::NoSuchRelease`]), or a target
    /// lacking config vars the release has ([`Error::MissingConfigVars`],
    /// unless `allow_missing`).
    pub fn promote(
        &self,
        ctx: &Context,
        from: &str,
        to: &str,
        opts: &PromoteOptions,
    ) -> crate::Result<PromotedRelease> {
        let from = self.for_env(&Environment::named(from).map_err(Error::InvalidInput)?)?;
        let to = self.for_env(&Environment::named(to).map_err(Error::InvalidInput)?)?;
        promote(&from, &to, ctx, opts)
    }
}

fn promote(
    from: &Workspace,
    to: &Workspace,
    ctx: &Context,
    opts: &PromoteOptions,
) -> crate::Result<PromotedRelease> {
    let (from_env, to_env) = (from.env().clone(), to.env().clone());
    refuse_pipeline(&from_env, to)?;
    let Some(mut tx) = Transaction::begin(to, ctx)? else {
        return Err(Error::NoReleases {
            app: from.app_name(),
            failed: Vec::new(),
        });
    };
    if tx.current().is_some() {
        tx.ensure_runs_current()?;
    }
    // Read under the lock, which every environment shares.
    let source = source_release(from, opts.version)?;
    if let Some(reason) = unpromotable(from, to, tx.ledger(), &source)? {
        return Err(Error::NotPromotable {
            from: from_env.name().to_owned(),
            version: source.version,
            reason,
        });
    }
    let current = tx.current().cloned();
    let config = current
        .as_ref()
        .map(|c| c.config.clone())
        .unwrap_or_default();
    let missing_vars: Vec<String> = source
        .config
        .keys()
        .filter(|name| !config.contains_key(*name))
        .cloned()
        .collect();
    if !missing_vars.is_empty() && !opts.allow_missing {
        return Err(Error::MissingConfigVars {
            from: from_env.name().to_owned(),
            version: source.version,
            to: to_env.name().to_owned(),
            names: missing_vars,
            first: current.is_none(),
        });
    }
    // A secret the target's config holds must be available to run it.
    for (name, var) in config.iter().filter(|(_, v)| v.is_secret()) {
        to.reveal(name, var)?;
    }
    let fetched = fetch_source(from, to, tx.ledger(), &source)?;
    let mut code = source.code.clone();
    // In the target, the promotion is what brought this build.
    code.deploy = tx.ledger().next_version()?;
    let change = format!(
        "Promote {from_env} v{} ({})",
        source.version,
        short_sha(&code.commit)
    );
    let mut draft = Draft::new(ChangeKind::Promote, change, code, config);
    draft.message = opts.message.clone().filter(|m| !m.trim().is_empty());
    draft.promoted_from = Some(Promoted {
        environment: from_env.name().to_owned(),
        version: source.version,
    });
    draft.addon_releases = current
        .as_ref()
        .map(|c| c.addon_releases.clone())
        .unwrap_or_default();
    let committed = tx.commit(ctx, draft)?;
    let addons = match &current {
        Some(current) => AddonDiff::between(&current.code.addons, &committed.release.code.addons),
        None => AddonDiff::default(),
    };
    Ok(PromotedRelease {
        release: committed.release,
        from: from_env,
        source: source.version,
        to: to_env,
        fetched,
        missing_vars,
        addons,
        pruned: committed.pruned,
    })
}

/// Refuses a promotion the pipeline does not allow: to the same
/// environment, or from another than the target's `promote-from`.
fn refuse_pipeline(from: &Environment, to: &Workspace) -> crate::Result<()> {
    if from == to.env() {
        return Err(Error::InvalidInput(format!(
            "cannot promote `{from}` to itself: name two environments"
        )));
    }
    if let Some(expected) = to.promote_from()?
        && expected != from
    {
        return Err(Error::PromotionSource {
            to: to.env().name().to_owned(),
            from: from.name().to_owned(),
            expected: expected.name().to_owned(),
        });
    }
    to.tier()?;
    Ok(())
}

/// Why `source` cannot be promoted from `from` to `to`, if it cannot: it
/// failed (its build, its release phase or its health check), nothing was
/// built for it, or its executables are neither here nor in either
/// environment's slug store.
fn unpromotable(
    from: &Workspace,
    to: &Workspace,
    ledger: &Ledger,
    source: &Release,
) -> crate::Result<Option<String>> {
    let from_current = from.read_ledger(|ledger| Ok(ledger.current()?))?;
    if from_current.is_some_and(|c| c.unhealthy.contains(&source.version)) {
        return Ok(Some(
            "its health check failed, and it was rolled back from".to_owned(),
        ));
    }
    if source.release_phase_failed() {
        return Ok(Some("its release phase failed".to_owned()));
    }
    if !source.succeeded() {
        return Ok(Some("its build failed".to_owned()));
    }
    if source.code.slug.executables.is_empty() {
        return Ok(Some("nothing was built for it yet".to_owned()));
    }
    let stores = [from.slug_store()?, to.slug_store()?];
    let fetchable = |exe: &&crate::ledger::Executable| {
        stores
            .iter()
            .flatten()
            .any(|store| store.contains(exe).unwrap_or(false))
    };
    let missing = ledger.slugs().missing(&source.code.slug);
    if missing.iter().all(fetchable) {
        return Ok(None);
    }
    let names: Vec<&str> = missing.iter().map(|e| e.name.as_str()).collect();
    Ok(Some(format!(
        "its executables are neither stored here nor in a slug store: {}",
        names.join(", ")
    )))
}

/// Fetches the executables of `source` missing here: from the store the
/// source environment shares its slugs through, else the target's.
fn fetch_source(
    from: &Workspace,
    to: &Workspace,
    ledger: &Ledger,
    source: &Release,
) -> crate::Result<Vec<SlugTransfer>> {
    let mut fetched = Vec::new();
    for ws in [from, to] {
        let missing = ledger.slugs().missing(&source.code.slug);
        if let Some(store) = ws.slug_store()?
            && !missing.is_empty()
            && missing
                .iter()
                .all(|exe| store.contains(exe).unwrap_or(false))
        {
            fetched.extend(fetch(ws, ledger, &source.code.slug)?);
        }
    }
    Ok(fetched)
}

/// The source environment's release `version`, or its current one.
fn source_release(from: &Workspace, version: Option<Version>) -> crate::Result<Release> {
    from.read_ledger(|ledger: &Ledger| match version {
        Some(version) => ledger.get(version),
        None => crate::transaction::require_current(ledger, from),
    })
}
