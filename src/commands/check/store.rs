//! `check --store`: the slug store's objects read and hashed.

use std::collections::BTreeMap;

use super::chain::Needed;
use super::{CheckReport, Finding, FindingKind, StoreChecked};
use crate::ledger::Ledger;
use crate::ledger::remote::{Found, RemoteStore, Trust};

/// `check --store`: every object the retained releases need, read from
/// the store and hashed, each once however many environments need it.
#[derive(Default)]
pub(super) struct StoreAudit {
    /// What each store holds, by store, sha256 and name.
    read: BTreeMap<(String, String, String), Found>,
    pub(super) checked: StoreChecked,
}

impl StoreAudit {
    /// Reads the objects of `needed` from `remote` (nothing without a
    /// store: the executables are then looked for here only, and
    /// [`check_slugs`](super::check_slugs) does); each that is missing or wrong is a problem.
    pub(super) fn check(
        &mut self,
        ledger: &Ledger,
        needed: &Needed,
        remote: Option<&RemoteStore>,
        report: &mut CheckReport,
    ) -> anyhow::Result<()> {
        let Some(remote) = remote else {
            return Ok(());
        };
        if !self.checked.stores.iter().any(|s| s == remote.location()) {
            self.checked.stores.push(remote.location().to_owned());
        }
        let slugs = ledger.slugs();
        for (version, exe) in needed.values() {
            let id = (
                remote.location().to_owned(),
                exe.sha256.clone(),
                exe.name.clone(),
            );
            let found = match self.read.get(&id) {
                Some(found) => found.clone(),
                None => {
                    // Never the remembered verifications: this is the check of them.
                    let found = remote.examine(exe, Trust::Nothing)?;
                    self.checked.objects += 1;
                    if found == Found::Verified {
                        self.checked.verified += 1;
                    }
                    self.read.insert(id, found.clone());
                    found
                }
            };
            let here = crate::files::is_regular_file(&slugs.path(exe));
            let fix = if here {
                "`cargo release-log push` uploads the copy here".to_owned()
            } else {
                format!(
                    "`cargo release-log rebuild v{version}` where its commit is, or `push` \
                     where a copy is, uploads it"
                )
            };
            let (kind, message) = match found {
                Found::Verified => continue,
                Found::Missing if here => (
                    FindingKind::StoreMissing,
                    format!(
                        "the executable `{}` of v{version} is not in {remote}, so another \
                         clone cannot run it; {fix}",
                        exe.name
                    ),
                ),
                Found::Missing => (
                    FindingKind::StoreMissing,
                    format!(
                        "the executable `{}` of v{version} is neither stored here nor in \
                         {remote}; {fix}",
                        exe.name
                    ),
                ),
                Found::Wrong(damage) => (
                    FindingKind::StoreCorrupt,
                    format!(
                        "the executable `{}` of v{version} in {remote} is not the bytes \
                         recorded: {damage}, not {} bytes with sha256 {}, so `run` refuses \
                         it; {fix}",
                        exe.name, exe.size, exe.sha256
                    ),
                ),
            };
            report.problems.push(Finding {
                subject: remote.object_name(exe)?,
                kind,
                message,
            });
        }
        Ok(())
    }
}
