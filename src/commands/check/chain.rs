//! The hash chain: every release file read once, oldest first, each checked
//! with its link to the one before.

use std::collections::{BTreeMap, HashMap};

use super::{CheckReport, Finding, FindingKind, one_line};
use crate::ledger::{Executable, Ledger, Release, Tier, file_digest};

/// What is known of the file before the one being read.
struct Previous {
    version: u64,
    /// Its digest, and the digest it would have with LF line endings.
    digests: Vec<String>,
    /// When it was recorded, as written and as a time.
    when: Option<(String, jiff::Timestamp)>,
}

/// Which release file first had each digest, so that a link to an older
/// one than the file before can name it (a fork after a merge). Keyed by
/// the digest's first 64 bits, so that a hundred thousand releases take a
/// few megabytes; the links themselves are compared whole.
#[derive(Default)]
struct DigestOwners(HashMap<u64, u64>);

impl DigestOwners {
    fn key(digest: &str) -> Option<u64> {
        let hex = digest.strip_prefix("sha256:")?.get(..16)?;
        u64::from_str_radix(hex, 16).ok()
    }

    /// Remembers `digest` as `version`'s, unless an older file has it.
    fn insert(&mut self, digest: &str, version: u64) {
        if let Some(key) = Self::key(digest) {
            self.0.entry(key).or_insert(version);
        }
    }

    fn get(&self, digest: &str) -> Option<u64> {
        self.0.get(&Self::key(digest)?).copied()
    }
}

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
    let mut by_digest = DigestOwners::default();
    let mut previous: Option<Previous> = None;
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
                previous = None;
                continue;
            }
        };
        let mut digests = vec![file_digest(&bytes)];
        if bytes.windows(2).any(|w| w == b"\r\n") {
            problem(
                FindingKind::LineEndings,
                &file,
                "its line endings were converted to CRLF by a checkout, which changes its \
                 digest; keep `.releases/.gitattributes` (`*.toml -text`) committed and check \
                 the file out again"
                    .to_owned(),
            );
            let lf: Vec<u8> = String::from_utf8_lossy(&bytes)
                .replace("\r\n", "\n")
                .into_bytes();
            digests.push(file_digest(&lf));
        }
        for digest in &digests {
            by_digest.insert(digest, version);
        }
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
                previous = Some(Previous {
                    version,
                    digests,
                    when: None,
                });
                continue;
            }
        };
        if let Some(prev) = &previous {
            let link = release.previous_digest.as_deref();
            let (p, pfile) = (prev.version, format!("v{}.toml", prev.version));
            if prev.version + 1 < version && tier == Tier::Advanced {
                let gap = if prev.version + 2 == version {
                    format!("v{}.toml is", prev.version + 1)
                } else {
                    format!("v{}.toml to v{}.toml are", prev.version + 1, version - 1)
                };
                problem(
                    FindingKind::Missing,
                    &format!("v{}.toml", prev.version + 1),
                    format!(
                        "{gap} missing between {pfile} and {file}: the advanced tier keeps \
                         every release (unless they were pruned while the tier was basic)"
                    ),
                );
            } else if prev.version + 1 == version {
                match link {
                    Some(d) if prev.digests.iter().any(|x| x == d) => {}
                    Some(d) => match by_digest.get(d) {
                        Some(u) if u < p => problem(
                            FindingKind::Fork,
                            &file,
                            format!(
                                "v{version} follows v{u}, as v{} does: releases were recorded \
                                 on two branches and merged; keep one branch's releases and \
                                 make the other's changes again",
                                u + 1
                            ),
                        ),
                        _ => problem(
                            FindingKind::Changed,
                            &pfile,
                            format!(
                                "it changed after v{version} was recorded (v{version}'s link \
                                 to it, its previous-digest, is broken)"
                            ),
                        ),
                    },
                    None => problem(
                        FindingKind::Changed,
                        &file,
                        format!("it has no previous-digest, so nothing links it to v{p}"),
                    ),
                }
            }
        }
        let when = release
            .when
            .parse::<jiff::Timestamp>()
            .ok()
            .map(|t| (release.when.clone(), t));
        if let (Some((prev_text, prev)), Some((_, at))) =
            (previous.as_ref().and_then(|p| p.when.as_ref()), &when)
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
        previous = Some(Previous {
            version,
            digests,
            when,
        });
    }
    (current, needed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_file_with_a_digest_owns_it() {
        let digest = |n: u64| format!("sha256:{n:016x}{}", "0".repeat(48));
        let mut owners = DigestOwners::default();
        owners.insert(&digest(7), 1);
        owners.insert(&digest(7), 2);
        assert_eq!(owners.get(&digest(7)), Some(1));
        for v in 2..=100_000 {
            owners.insert(&digest(v + 1000), v);
        }
        assert_eq!(owners.get(&digest(7)), Some(1));
        assert_eq!(owners.get(&digest(3000)), Some(2000));
        // A link that is not a digest names no file.
        owners.insert("sha256:xyz", 9);
        assert_eq!(owners.get("sha256:xyz"), None);
        assert_eq!(owners.get("md5:0000000000000000"), None);
    }
}
