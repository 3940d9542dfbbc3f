//! One module per command: its options, what it returns, and one method on [`Workspace`].

pub(crate) mod addons;
mod build;
pub(crate) mod check;
pub(crate) mod config;
pub(crate) mod deploy;
pub(crate) mod diff;
pub(crate) mod gc;
pub(crate) mod init;
pub(crate) mod pipeline;
pub(crate) mod promote;
pub(crate) mod push;
pub(crate) mod rebuild;
pub(crate) mod releases;
pub(crate) mod restore;
pub(crate) mod retry;
pub(crate) mod rollback;
pub(crate) mod run;
pub(crate) mod sync;

use crate::ledger::Ledger;
use crate::ledger::remote::Uploaded;
use crate::workspace::Workspace;

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

/// An object of the shared slug store that was not the bytes its release
/// records (so `run` would refuse it), replaced with the verified copy here.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct SlugRepair {
    /// The executable uploaded in its place.
    #[serde(flatten)]
    pub transfer: SlugTransfer,
    /// What was wrong with the object: `it has 12 bytes`, `its bytes hash to …`.
    pub found: String,
}

/// What [`share`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct Shared {
    /// The executables uploaded.
    pub sent: Vec<SlugTransfer>,
    /// The store's objects that were wrong, replaced.
    pub repaired: Vec<SlugRepair>,
    /// How many the store had already, their bytes verified against their
    /// sha256 (now, or before and unchanged since).
    pub skipped: usize,
}

/// Uploads the executables of `slug` the store does not have, or has with
/// other bytes (none without a store): a release is recorded only once its
/// slug can be fetched.
fn share(ws: &Workspace, ledger: &Ledger, slug: &crate::ledger::Slug) -> crate::Result<Shared> {
    let mut shared = Shared::default();
    let Some(remote) = ws.slug_store()? else {
        return Ok(shared);
    };
    let slugs = ledger.slugs();
    for exe in &slug.executables {
        let transfer = |bytes| SlugTransfer {
            name: exe.name.clone(),
            sha256: exe.sha256.clone(),
            bytes,
            store: remote.location().to_owned(),
        };
        match remote.upload(exe, &slugs.path(exe))? {
            Uploaded::Skipped => shared.skipped += 1,
            Uploaded::Sent { bytes } => shared.sent.push(transfer(bytes)),
            Uploaded::Repaired { bytes, damage } => shared.repaired.push(SlugRepair {
                transfer: transfer(bytes),
                found: damage.to_string(),
            }),
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
