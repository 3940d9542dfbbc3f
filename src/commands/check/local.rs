//! What `check` finds of this clone's own files: the stored executables,
//! files named like release files that are not, and `current`.

use super::chain::Needed;
use super::{CheckReport, Finding, FindingKind};
use crate::ledger::remote::RemoteStore;
use crate::ledger::slugs::sha256_file;
use crate::ledger::{Ledger, Release};

/// Every executable a kept release runs is stored and hashes to its name.
/// Slugs are not committed: one that is missing here is a problem for the
/// release this workspace runs, and a warning for the others. With a
/// store, one that is missing here is fine when the store has it (with
/// `store_checked`, [`StoreAudit`] said whether it does).
pub(super) fn check_slugs(
    ledger: &Ledger,
    current: &Release,
    needed: &Needed,
    remote: Option<&RemoteStore>,
    store_checked: bool,
    report: &mut CheckReport,
) -> anyhow::Result<()> {
    let slugs = ledger.slugs();
    let running = ledger.current_pointer() == Some(current.version);
    for (version, exe) in needed.values() {
        let path = slugs.path(exe);
        let subject = format!("slugs/{}/{}", exe.sha256, exe.name);
        if !crate::files::is_regular_file(&path) {
            // What the shared store has can be fetched when it is needed.
            if let Some(remote) = remote {
                if store_checked || remote.contains(exe)? {
                    continue;
                }
                report.problems.push(Finding {
                    subject,
                    kind: FindingKind::SlugMissing,
                    message: format!(
                        "the executable `{}` of v{version} is neither stored here nor in {remote}",
                        exe.name
                    ),
                });
                continue;
            }
            let needed = running && current.code.slug.executables.contains(exe);
            let finding = Finding {
                subject,
                kind: FindingKind::SlugMissing,
                message: format!(
                    "the executable `{}` of v{version} is not stored here{}",
                    exe.name,
                    if needed {
                        "; `run` cannot start the current release"
                    } else {
                        " (slugs are not committed)"
                    }
                ),
            };
            if needed {
                report.problems.push(finding);
            } else {
                report.warnings.push(finding);
            }
            continue;
        }
        let (sha256, size) = sha256_file(&path)?;
        if sha256 != exe.sha256 || size != exe.size {
            report.problems.push(Finding {
                subject,
                kind: FindingKind::SlugCorrupt,
                message: format!(
                    "its bytes hash to {sha256} ({size} bytes), not to its name: it was \
                         changed after it was stored"
                ),
            });
        }
    }
    Ok(())
}

/// Each file named like a release file that is not one: no command reads
/// it, so a release it was meant to be is not in the ledger.
pub(super) fn report_misnamed(ledger: &Ledger, report: &mut CheckReport) {
    for name in ledger.misnamed() {
        report.problems.push(Finding {
            subject: name.clone(),
            kind: FindingKind::Misnamed,
            message: format!(
                "it is not a release file, and no command reads it: release files are named \
                 v<N>.toml, N from 1 to {} without leading zeros; rename it or remove it",
                i64::MAX
            ),
        });
    }
}

/// Links under `.releases/` (problems: no command follows them) and caches
/// git tracks (warnings: they are ignored).
pub(super) fn report_committed(root: &std::path::Path, report: &mut CheckReport) {
    let (links, caches) = crate::ledger::committed::findings(root);
    let finding = |kind| {
        move |(subject, message)| Finding {
            subject,
            kind,
            message,
        }
    };
    report
        .problems
        .extend(links.into_iter().map(finding(FindingKind::Link)));
    report
        .warnings
        .extend(caches.into_iter().map(finding(FindingKind::CommittedCache)));
}

/// `.releases/current` names the release the workspace runs: one that is
/// not the current release was left behind by an interrupted change or by
/// git bringing newer releases (a fresh clone has none yet, which the next
/// command writes).
pub(super) fn check_current_pointer(ledger: &Ledger, current: &Release, report: &mut CheckReport) {
    let Some(pointer) = ledger.current_pointer() else {
        return;
    };
    if pointer != current.version {
        let v = current.version;
        report.problems.push(Finding {
            subject: format!("{}current", ledger.env().folder()),
            kind: FindingKind::Current,
            message: format!(
                "it points at v{pointer}, not at the current release v{v} (a change was \
                 interrupted, or git brought newer releases): `cargo release-log sync` \
                 applies v{v}"
            ),
        });
    }
}
