//! `init [--tier]`: set up `.releases/` and the tier setting.

use anyhow::Context as _;
use fs_err as fs;
use toml_edit::{DocumentMut, Item, Table};

use crate::context::Context;
use crate::error::Error;
use crate::ledger::Tier;
use crate::ledger::retention::{self, Pruned};
use crate::transaction::Transaction;
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
    pub wrote_tier: Option<String>,
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
    let env = ws.env().clone();
    let settings = settings_table(&mut doc, section, &env)
        .with_context(|| format!("cannot write the tier into `{}`", manifest_path.display()))?;
    // An invalid setting is overwritten by `--tier`, and refused without it.
    let wanted = match tier {
        Some(tier) => tier,
        None => ws.tier()?,
    };
    if !confirmed {
        let remote = ws.slug_store()?;
        let doomed =
            ws.read_ledger(|ledger| Ok(retention::would_prune(ledger, wanted, remote)?))?;
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
        wrote_tier = Some(match env.is_default() {
            true => format!("[{section}.metadata.release-log]"),
            false => format!("[{section}.metadata.release-log.environments.{env}]"),
        });
    }

    ws.set_tier(wanted);
    ws.keep_slugs()?;
    let (mut tx, created_ledger) = Transaction::create(ws, ctx)?;
    if wrote_tier.is_some() {
        tx.ledger()
            .scratch()
            .write(&manifest_path, doc.to_string().as_bytes())?;
    }
    let pruned = tx.retain(wanted)?;
    Ok(Initialized {
        tier: wanted,
        created_ledger,
        wrote_tier,
        pruned,
    })
}

/// `[<section>.metadata.release-log]` (`….environments.NAME` for a named
/// environment), created as a header of its own rather than as
/// `[<section>.metadata]` with a dotted key.
fn settings_table<'a>(
    doc: &'a mut DocumentMut,
    section: &str,
    env: &crate::ledger::Environment,
) -> anyhow::Result<&'a mut Table> {
    let section_table = doc
        .get_mut(section)
        .and_then(Item::as_table_mut)
        .with_context(|| format!("the manifest has no `[{section}]` table"))?;
    let metadata = table_in(section_table, "metadata", true, section)?;
    let name = format!("{section}.metadata");
    let release_log = table_in(metadata, "release-log", false, &name)?;
    if env.is_default() {
        return Ok(release_log);
    }
    let name = format!("{name}.release-log");
    let environments = table_in(release_log, "environments", true, &name)?;
    table_in(
        environments,
        env.name(),
        false,
        &format!("{name}.environments"),
    )
}

/// The table `key` of `parent` (named `name` in messages), created if
/// missing: `implicit` when it only holds other tables, so that it gets no
/// header of its own.
fn table_in<'a>(
    parent: &'a mut Table,
    key: &str,
    implicit: bool,
    name: &str,
) -> anyhow::Result<&'a mut Table> {
    parent
        .entry(key)
        .or_insert_with(|| {
            let mut t = Table::new();
            t.set_implicit(implicit);
            Item::Table(t)
        })
        .as_table_mut()
        .with_context(|| format!("`{name}.{key}` is not a table"))
}
