//! `gc`: delete the stored slugs no retained release needs, here and in the shared store.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::context::Context;
use crate::ledger::retention::slugs_kept_here;
use crate::ledger::{Ledger, Release};
use crate::transaction::Transaction;
use crate::workspace::Workspace;

/// What `gc` deleted (or, with `dry_run`, would delete).
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct Collected {
    /// Whether nothing was deleted, only counted.
    pub dry_run: bool,
    /// Slug folders deleted here.
    pub local_slugs: usize,
    /// Their bytes.
    pub local_bytes: u64,
    /// The shared store, when there is one.
    pub store: Option<String>,
    /// Executables deleted from it.
    pub remote_objects: usize,
    /// Their bytes.
    pub remote_bytes: u64,
}

impl Workspace {
    /// `gc`: deletes the stored slugs no retained release needs: here, also
    /// those `keep-slugs` no longer keeps; in the shared slug store, those
    /// no release file of this ledger names. Run it from an up-to-date
    /// clone: a teammate's release not pulled yet is not seen.
    pub fn gc(&self, ctx: &Context, dry_run: bool) -> crate::Result<Collected> {
        let mut collected = Collected {
            dry_run,
            ..Collected::default()
        };
        // Taken as a change is, so that one a killed command left is
        // finished or undone before its slugs are counted.
        let Some(tx) = Transaction::begin(self, ctx)? else {
            return Ok(collected);
        };
        let ledger = tx.ledger();
        // Slugs are shared: what any environment's retained release needs
        // stays, here and in the store; `keep-slugs` trims only this one's.
        let mut needed: BTreeSet<(String, String)> = BTreeSet::new();
        let mut others_need: BTreeSet<String> = BTreeSet::new();
        for env in self.environments() {
            let other = (&env != self.env()).then(|| Ledger::open(self.root(), &env));
            let ledger: &Ledger = match &other {
                Some(other) => other.as_ref().map_err(|e| anyhow::anyhow!("{e:#}"))?,
                None => ledger,
            };
            for version in ledger.versions().iter() {
                let release = ledger.read(version)?;
                let objects = objects(&release);
                if other.is_some() {
                    others_need.extend(objects.iter().map(|(sha, _)| sha.clone()));
                }
                needed.extend(objects);
            }
        }
        let remote = self.slug_store()?;
        let mut here: BTreeSet<String> = needed.iter().map(|(sha, _)| sha.clone()).collect();
        if let Some(k) = self.keep_slugs()? {
            here = here
                .intersection(&slugs_kept_here(ledger, self.tier()?, remote, k)?)
                .cloned()
                .chain(others_need)
                .collect();
        }
        let keep: BTreeSet<&str> = here.iter().map(String::as_str).collect();
        let slugs = ledger.slugs();
        let (count, bytes) = if dry_run {
            let doomed = slugs.unneeded(&keep)?;
            (doomed.len(), doomed.iter().map(|(_, b)| b).sum())
        } else {
            slugs.retain(&keep)?
        };
        collected.local_slugs = count;
        collected.local_bytes = bytes;
        if let Some(remote) = remote {
            collected.store = Some(remote.location().to_owned());
            for exe in remote.list()? {
                if needed.contains(&(exe.sha256.clone(), exe.name.clone())) {
                    continue;
                }
                collected.remote_objects += 1;
                collected.remote_bytes += if dry_run {
                    exe.size
                } else {
                    remote.delete(&exe.sha256, &exe.name)?
                };
            }
        }
        Ok(collected)
    }
}

/// The objects a release needs, by sha256 and name: the executables it
/// runs and its latest code's, and its release phase's output.
fn objects(release: &Release) -> Vec<(String, String)> {
    let mut objects: Vec<(String, String)> = release
        .codes()
        .flat_map(|c| &c.slug.executables)
        .map(|e| (e.sha256.clone(), e.name.clone()))
        .collect();
    if let Some(sha) = release
        .release_phase
        .as_ref()
        .and_then(|p| p.output_sha256.as_deref())
    {
        let object = crate::hooks::output_object(sha, 0);
        objects.push((object.sha256, object.name));
    }
    objects
}
