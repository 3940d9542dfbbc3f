//! `init [--tier]`: set up `.releases/` and the tier setting.

use anyhow::Context as _;
use fs_err as fs;
use toml_edit::{DocumentMut, Item, Table};

use crate::context::Context;
use crate::error::Error;
use crate::ledger::retention::{self, Pruned};
use crate::ledger::{Ledger, LockedLedger, Tier};
use crate::workspace::Workspace;

/// What `init` set up.
#[derive(Debug)]
#[non_exhaustive]
pub struct Initialized {
    /// The tier in force.
    pub tier: Tier,
    /// Whether `.releases/` was created or completed.
    pub created_ledger: bool,
    /// The manifest table the tier was written to, if the manifest changed.
    pub wrote_tier: Option<&'static str>,
    /// What the tier's retention removed.
    pub pruned: Pruned,
}

impl Workspace {
    /// `init [--tier]`: sets up `.releases/` and the tier setting. Idempotent:
    /// an existing ledger is kept, and the tier is written only when asked
    /// for (or, with none set yet, as the explicit default).
    ///
    /// Without `tier`, Cargo.toml is left alone (the default tier needs no
    /// setting). A tier that would delete release files refuses, listing
    /// them ([`Error::ConfirmationNeeded`]), unless `confirmed`.
    pub fn init(
        &mut self,
        ctx: &Context,
        tier: Option<Tier>,
        confirmed: bool,
    ) -> crate::Result<Initialized> {
        init(self, ctx, tier, confirmed)
    }
}

fn init(
    ws: &mut Workspace,
    ctx: &Context,
    tier: Option<Tier>,
    confirmed: bool,
) -> crate::Result<Initialized> {
    // Decide everything before writing anything, so a refusal changes nothing.
    let manifest_path = ws.manifest_path().to_owned();
    let text = fs::read_to_string(&manifest_path)?;
    let mut doc: DocumentMut = text
        .parse()
        .with_context(|| format!("failed to parse `{}`", manifest_path.display()))?;
    let section = if doc.contains_key("workspace") {
        "workspace"
    } else {
        "package"
    };
    let settings = settings_table(&mut doc, section)
        .with_context(|| format!("cannot write the tier into `{}`", manifest_path.display()))?;
    // An invalid setting is overwritten by `--tier`, and refused without it.
    let wanted = match tier {
        Some(tier) => tier,
        None => ws.tier()?,
    };
    if !confirmed {
        let doomed = retention::would_prune(&Ledger::open(ws.root())?, wanted, ws.slug_store()?)?;
        if !doomed.is_empty() {
            return Err(Error::ConfirmationNeeded {
                tier: wanted,
                releases: doomed,
            });
        }
    }
    let mut wrote_tier = None;
    if tier.is_some() && settings.get("tier").and_then(Item::as_str) != Some(wanted.as_str()) {
        match settings.get_mut("tier").and_then(Item::as_value_mut) {
            Some(value) => {
                let decor = value.decor().clone();
                *value = wanted.as_str().into();
                *value.decor_mut() = decor;
            }
            None => {
                settings.insert("tier", toml_edit::value(wanted.as_str()));
            }
        }
        wrote_tier = Some(if section == "workspace" {
            "[workspace.metadata.release-log]"
        } else {
            "[package.metadata.release-log]"
        });
    }

    let (mut ledger, created_ledger) = LockedLedger::create(ws.root(), ctx.lock_wait_hook())?;
    if wrote_tier.is_some() {
        ledger
            .scratch()
            .write(&manifest_path, doc.to_string().as_bytes())?;
    }
    ws.set_tier(wanted);
    let pruned = retention::apply(&mut ledger, wanted, ws.slug_store()?, ws.keep_slugs()?)?;
    Ok(Initialized {
        tier: wanted,
        created_ledger,
        wrote_tier,
        pruned,
    })
}

/// `[<section>.metadata.release-log]`, created as a header of its own
/// rather than as `[<section>.metadata]` with a dotted key.
fn settings_table<'a>(doc: &'a mut DocumentMut, section: &str) -> anyhow::Result<&'a mut Table> {
    let section_table = doc
        .get_mut(section)
        .and_then(Item::as_table_mut)
        .with_context(|| format!("the manifest has no `[{section}]` table"))?;
    let metadata = section_table
        .entry("metadata")
        .or_insert_with(|| {
            let mut t = Table::new();
            t.set_implicit(true);
            Item::Table(t)
        })
        .as_table_mut()
        .with_context(|| format!("`{section}.metadata` is not a table"))?;
    metadata
        .entry("release-log")
        .or_insert_with(|| Item::Table(Table::new()))
        .as_table_mut()
        .with_context(|| format!("`{section}.metadata.release-log` is not a table"))
}
