//! The hash chain: every release file read once, oldest first, each checked
//! with its link to the one before.

use std::collections::BTreeMap;

use super::{CheckReport, Finding, FindingKind, one_line};
use crate::ledger::chain::{Break, Walker};
use crate::ledger::{Executable, Ledger, Release, Tier};

/// The executables kept releases run, each once, with the newest release running it.
pub(super) type Needed = BTreeMap<(String, String), (u64, Executable)>;

/// Reads every release file once, oldest first, checking each and its link
/// to the one before; returns the current release and the executables the
/// releases run.
pub(super) fn walk_the_chain(
    ledger: &Ledger,
    tier: Tier,
    report: &mut CheckReport,
) -> (Option<Release>, Needed) {
    let mut walker = Walker::default();
    // When the file before was recorded, as written and as a time.
    let mut previous_when: Option<(String, jiff::Timestamp)> = None;
    let mut current = None;
    let mut needed = Needed::new();
    for version in ledger.versions().iter() {
        report.releases += 1;
        let file = format!("v{version}.toml");
        let mut problem = |kind, subject: &str, message: String| {
            report.problems.push(Finding {
                subject: subject.to_owned(),
                kind,
                message,
            });
        };
        let bytes = match ledger.read_bytes(version) {
            Ok(bytes) => bytes,
            Err(e) => {
                problem(FindingKind::Unreadable, &file, one_line(&e));
                walker.advance(version, None);
                previous_when = None;
                continue;
            }
        };
        let digests = Walker::digests(&bytes);
        if digests.len() > 1 {
            problem(
                FindingKind::LineEndings,
                &file,
                "its line endings were converted to CRLF by a checkout, which changes its \
                 digest; keep `.releases/.gitattributes` (`*.toml -text`) committed and check \
                 the file out again"
                    .to_owned(),
            );
        }
        walker.saw(version, &digests);
        let release = match ledger.parse(version, &bytes) {
            Ok(release) => release,
            Err(e) => {
                // The first cause names the file, which the finding names already.
                let causes: Vec<String> = e
                    .chain()
                    .skip(1)
                    .filter_map(|c| c.to_string().lines().next().map(str::to_owned))
                    .collect();
                problem(FindingKind::Invalid, &file, causes.join(": "));
                walker.advance(version, Some(digests));
                previous_when = None;
                continue;
            }
        };
        if let Some(p) = walker.previous()
            && p + 1 < version
            && tier == Tier::Advanced
        {
            let gap = if p + 2 == version {
                format!("v{}.toml is", p + 1)
            } else {
                format!("v{}.toml to v{}.toml are", p + 1, version - 1)
            };
            problem(
                FindingKind::Missing,
                &format!("v{}.toml", p + 1),
                format!(
                    "{gap} missing between v{p}.toml and {file}: the advanced tier keeps \
                     every release (unless they were pruned while the tier was basic)"
                ),
            );
        }
        if let Some(found) = walker.check(version, release.previous_digest.as_deref()) {
            let kind = match found {
                Break::Fork { .. } => FindingKind::Fork,
                Break::Changed { .. } | Break::Unlinked { .. } => FindingKind::Changed,
            };
            problem(kind, &found.file(), found.message());
        }
        let when = release
            .when
            .parse::<jiff::Timestamp>()
            .ok()
            .map(|t| (release.when.clone(), t));
        if let (Some((prev_text, prev)), Some((_, at))) = (&previous_when, &when)
            && at < prev
        {
            report.warnings.push(Finding {
                subject: file.clone(),
                kind: FindingKind::Time,
                message: format!(
                    "it was recorded at {}, before the release it follows ({prev_text}): a clock was off",
                    release.when
                ),
            });
        }
        for exe in release.codes().flat_map(|c| &c.slug.executables) {
            needed.insert(
                (exe.sha256.clone(), exe.name.clone()),
                (version, exe.clone()),
            );
        }
        if release.succeeded() {
            current = Some(release);
        }
        walker.advance(version, Some(digests));
        previous_when = when;
    }
    (current, needed)
}
