//! The hash chain: each release file names the sha256 of the one before
//! (`previous-digest`). [`Walker`] checks the links, the same way for
//! `check` and for a writer, and [`Verified`] is the writers' cache of the
//! verified prefix.
//!
//! A writer extends the chain only once it verified it: the newest file
//! must link to the one before it, and every link before that must hold,
//! so that a forked or changed ledger is refused rather than extended.
//! Reading a hundred thousand files for every change would cost seconds,
//! so the result is kept in `.chain` in the environment's folder (local,
//! ignored by git, like `.index`): "every link through vN holds, vN has
//! digest D, and the folder's stamp was S". A writer trusts it while
//!
//! - the folder's stamp (modification time and inode, see
//!   [`index::Stamp`]) is still S: no file was added, removed or renamed
//!   since, which a checkout, pull or merge does to every file it writes
//!   (git removes a file and creates it anew) and an editor does when it
//!   saves by renaming, and
//! - the newest file is still vN with digest D, and it links to the file
//!   before it, which is hashed again: both are read by every writer
//!   anyway, so a file changed in place, without the folder, is caught
//!   when it is one of the two newest.
//!
//! Anything else (no cache, another stamp, another newest file, a broken
//! link) and the writer walks the whole chain again, reading every file
//! once, and refuses to write if a link is broken. A writer's own changes
//! (appends, pruning, `current`) move the folder's stamp: it writes the
//! cache again before letting go of the lock, with the stamp it left,
//! only when no one else changed the folder meanwhile. An older file
//! rewritten in place (same inode, folder untouched) is seen by `check`,
//! which reads every file, and by the next writer after anything else
//! changes the folder; seeing it at once would take a stat of every file
//! on every change, which is what the cache avoids. A cache committed by a
//! clone names a stamp no checkout reproduces, and is never trusted.

use std::collections::HashMap;
use std::path::Path;

use super::index::Stamp;
use super::{Ledger, file_digest};
use crate::files;

/// The cache's file name in each environment's folder.
pub(crate) const CHAIN: &str = ".chain";

const HEADER: &str = "cargo-release-log chain 1";

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

/// A link of the chain that does not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Break {
    /// `version` follows `follows`, as `follows + 1` does: releases were
    /// recorded on two branches and merged.
    Fork { version: u64, follows: u64 },
    /// `changed` no longer has the digest `changed + 1` links to.
    Changed { changed: u64 },
    /// `version` names no previous digest, so nothing links it to the one before.
    Unlinked { version: u64, previous: u64 },
}

impl Break {
    /// The file the break is reported on, as `check` names it.
    pub(crate) fn file(&self) -> String {
        match self {
            Self::Fork { version, .. } | Self::Unlinked { version, .. } => {
                format!("v{version}.toml")
            }
            Self::Changed { changed } => format!("v{changed}.toml"),
        }
    }

    /// What is wrong, as `check` says it.
    pub(crate) fn message(&self) -> String {
        match *self {
            Self::Fork { version, follows } => format!(
                "v{version} follows v{follows}, as v{} does: releases were recorded \
                 on two branches and merged; keep one branch's releases and \
                 make the other's changes again",
                follows + 1
            ),
            Self::Changed { changed } => {
                let next = changed + 1;
                format!(
                    "it changed after v{next} was recorded (v{next}'s link \
                     to it, its previous-digest, is broken)"
                )
            }
            Self::Unlinked { previous, .. } => {
                format!("it has no previous-digest, so nothing links it to v{previous}")
            }
        }
    }

    /// The way out, for a writer that refuses to extend the chain whose
    /// files are in `folder`.
    fn fix(&self, folder: &str) -> String {
        match self {
            Self::Fork { .. } => "and keep one branch's releases before recording more".into(),
            Self::Changed { .. } | Self::Unlinked { .. } => format!(
                "and restore {} as it was recorded (`git log -p -- {folder}{}` shows its history)",
                self.file(),
                self.file()
            ),
        }
    }
}

/// The file before the one being checked.
struct Previous {
    version: u64,
    /// Its digest, and the digest it would have with LF line endings.
    digests: Vec<String>,
}

/// Checks the links of release files fed to it oldest first, each with
/// the file before it when that is the number before (a gap is a pruned or
/// missing file, whose link cannot be checked).
#[derive(Default)]
pub(crate) struct Walker {
    by_digest: DigestOwners,
    previous: Option<Previous>,
}

impl Walker {
    /// The digests of a file's `bytes`: its own, and with LF line endings
    /// when a checkout converted them to CRLF (the next file links to that).
    pub(crate) fn digests(bytes: &[u8]) -> Vec<String> {
        let mut digests = vec![file_digest(bytes)];
        if bytes.windows(2).any(|w| w == b"\r\n") {
            let lf: Vec<u8> = String::from_utf8_lossy(bytes)
                .replace("\r\n", "\n")
                .into_bytes();
            digests.push(file_digest(&lf));
        }
        digests
    }

    /// The number of the file before, when it could be read.
    pub(crate) fn previous(&self) -> Option<u64> {
        self.previous.as_ref().map(|p| p.version)
    }

    /// Remembers the digests of file `version`, which was read.
    pub(crate) fn saw(&mut self, version: u64, digests: &[String]) {
        for digest in digests {
            self.by_digest.insert(digest, version);
        }
    }

    /// Checks `link`, the previous-digest of file `version`, against the
    /// file before it.
    pub(crate) fn check(&self, version: u64, link: Option<&str>) -> Option<Break> {
        let prev = self.previous.as_ref()?;
        if prev.version + 1 != version {
            return None;
        }
        match link {
            Some(d) if prev.digests.iter().any(|x| x == d) => None,
            Some(d) => match self.by_digest.get(d) {
                Some(u) if u < prev.version => Some(Break::Fork {
                    version,
                    follows: u,
                }),
                _ => Some(Break::Changed {
                    changed: prev.version,
                }),
            },
            None => Some(Break::Unlinked {
                version,
                previous: prev.version,
            }),
        }
    }

    /// Moves on past file `version` (`None`: it could not be read).
    pub(crate) fn advance(&mut self, version: u64, digests: Option<Vec<String>>) {
        self.previous = digests.map(|digests| Previous { version, digests });
    }
}

/// A release file's link alone: reading only it is several times faster
/// than validating the whole release, and a writer walking a hundred
/// thousand files needs nothing else.
#[derive(serde::Deserialize)]
struct Link {
    #[serde(rename = "previous-digest")]
    previous_digest: Option<String>,
}

/// Walks the whole chain of `ledger`, as `check` does; the first broken
/// link. Files that cannot be read or parsed are `check`'s to report:
/// they break no link a writer could check.
pub(crate) fn first_break(ledger: &Ledger) -> anyhow::Result<Option<Break>> {
    let mut walker = Walker::default();
    for version in ledger.versions().iter() {
        let Ok(bytes) = ledger.read_bytes(version) else {
            walker.advance(version, None);
            continue;
        };
        let digests = Walker::digests(&bytes);
        walker.saw(version, &digests);
        let link = std::str::from_utf8(&bytes)
            .ok()
            .and_then(|text| toml::from_str::<Link>(text).ok());
        if let Some(link) = link
            && let Some(found) = walker.check(version, link.previous_digest.as_deref())
        {
            return Ok(Some(found));
        }
        walker.advance(version, Some(digests));
    }
    Ok(None)
}

/// The one-line refusal of a writer facing a broken chain.
pub(crate) fn refusal(ledger: &Ledger, found: &Break) -> anyhow::Error {
    let folder = ledger.env().folder();
    anyhow::anyhow!(
        "the release ledger's hash chain is broken, so nothing is recorded on top of it: \
         {folder}{}: {}; run `cargo release-log check` to see every problem, {}",
        found.file(),
        found.message(),
        found.fix(&folder)
    )
}

/// What the cache vouches for: every link through `version` holds, and
/// `version`'s file has `digest`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Verified {
    pub(crate) version: u64,
    pub(crate) digest: String,
}

/// The cache of folder `dir`, when its folder's stamp is still `stamp`.
pub(crate) fn read(dir: &Path, stamp: Option<Stamp>) -> Option<Verified> {
    let bytes = files::read_bounded(&dir.join(CHAIN), 4096).ok()??;
    let text = std::str::from_utf8(&bytes).ok()?;
    let mut lines = text.lines();
    if lines.next()? != HEADER {
        return None;
    }
    let recorded = Stamp::parse(lines.next()?)?;
    if Some(recorded) != stamp {
        return None;
    }
    let (version, digest) = lines.next()?.split_once(' ')?;
    let verified = Verified {
        version: version.parse().ok()?,
        digest: digest.to_owned(),
    };
    // Written whole, or not used.
    (lines.next()? == "end").then_some(verified)
}

/// Records that the chain of `dir` holds through `verified`, with the
/// folder at `stamp`. Best effort: a cache.
pub(crate) fn write(dir: &Path, stamp: Stamp, verified: &Verified) {
    let text = format!(
        "{HEADER}\n{}\n{} {}\nend\n",
        stamp.render(),
        verified.version,
        verified.digest
    );
    let _ = files::overwrite_cache(&dir.join(CHAIN), text.as_bytes());
}

/// Makes the cache file exist, so that writing it later is in place and
/// leaves the folder's stamp alone; returns whether it made it.
pub(crate) fn ensure(dir: &Path) -> bool {
    files::ensure_cache(&dir.join(CHAIN))
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

    #[test]
    fn links_are_checked_between_consecutive_files_only() {
        let mut walker = Walker::default();
        let d = |s: &str| Walker::digests(s.as_bytes());
        walker.saw(1, &d("one"));
        assert_eq!(walker.check(1, None), None);
        walker.advance(1, Some(d("one")));
        walker.saw(2, &d("two"));
        assert_eq!(walker.check(2, Some(&d("one")[0])), None);
        walker.advance(2, Some(d("two")));
        // v3 follows v1, as v2 does.
        assert_eq!(
            walker.check(3, Some(&d("one")[0])),
            Some(Break::Fork {
                version: 3,
                follows: 1
            })
        );
        assert_eq!(
            walker.check(3, Some(&d("other")[0])),
            Some(Break::Changed { changed: 2 })
        );
        // A pruned v3: v4's link is not checked.
        assert_eq!(walker.check(4, None), None);
    }

    #[test]
    fn the_cache_is_used_only_with_the_stamp_it_names() {
        let dir = tempfile::tempdir().unwrap();
        ensure(dir.path());
        let stamp = Stamp::of(dir.path()).unwrap();
        let verified = Verified {
            version: 7,
            digest: "sha256:ab".to_owned(),
        };
        write(dir.path(), stamp, &verified);
        assert_eq!(read(dir.path(), Some(stamp)), Some(verified));
        assert_eq!(read(dir.path(), None), None);
        let text = std::fs::read_to_string(dir.path().join(CHAIN)).unwrap();
        std::fs::write(dir.path().join(CHAIN), text.replace("end\n", "")).unwrap();
        assert_eq!(read(dir.path(), Some(stamp)), None);
    }
}
