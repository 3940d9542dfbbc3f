//! `.releases/.index`: which release files exist, so that a folder of a
//! hundred thousand files is listed once, not by every command.
//!
//! The index holds the release numbers as runs (`1-100000`), stamped with
//! the folder's modification time and inode: any file added, removed or
//! renamed in `.releases/` (by the tool, by git, by hand) changes the
//! folder's time, and the index no longer matches. It is a cache: local
//! (ignored by git), rewritten in place so that writing it never changes
//! the folder's time itself, and read only when whole.

use std::path::Path;
use std::time::{Duration, SystemTime};

use super::versions::Versions;
use crate::files;

/// The index's file name in `.releases/`.
pub(crate) const INDEX: &str = ".index";

const HEADER: &str = "cargo-release-log index 2";

/// What identifies the folder's listing: its modification time and inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stamp {
    nanos: u128,
    inode: u64,
}

impl Stamp {
    /// The stamp of folder `dir` now.
    pub(crate) fn of(dir: &Path) -> Option<Self> {
        let meta = std::fs::symlink_metadata(dir).ok()?;
        let nanos = meta
            .modified()
            .ok()?
            .duration_since(SystemTime::UNIX_EPOCH)
            .ok()?
            .as_nanos();
        #[cfg(unix)]
        let inode = std::os::unix::fs::MetadataExt::ino(&meta);
        #[cfg(not(unix))]
        let inode = 0;
        Some(Self { nanos, inode })
    }

    /// The stamp as the caches write it: `<nanoseconds> <inode>`.
    pub(crate) fn render(&self) -> String {
        format!("{} {}", self.nanos, self.inode)
    }

    /// A stamp as [`Stamp::render`] writes it.
    pub(crate) fn parse(text: &str) -> Option<Self> {
        let (nanos, inode) = text.split_once(' ')?;
        Some(Self {
            nanos: nanos.parse().ok()?,
            inode: inode.parse().ok()?,
        })
    }

    /// Whether the folder changed long enough ago that a change within the
    /// same tick of the file system's clock could no longer go unseen.
    fn settled(&self) -> bool {
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        now.saturating_sub(self.nanos) > Duration::from_secs(1).as_nanos()
    }
}

/// The release numbers the index of `dir` holds, if it matches the folder.
pub(crate) fn read(dir: &Path) -> Option<(Stamp, Versions)> {
    // One a clone committed names the stamp of a folder on another
    // machine, which no checkout reproduces (the folder's inode and time
    // are this machine's): it never matches, so it is never trusted, and
    // no command pays for asking git about it (`check` does).
    let stamp = Stamp::of(dir)?;
    let bytes = files::read_bounded(&dir.join(INDEX), files::MAX_FILE).ok()??;
    let text = std::str::from_utf8(&bytes).ok()?;
    let mut lines = text.lines();
    if lines.next()? != HEADER {
        return None;
    }
    let recorded = Stamp::parse(lines.next()?)?;
    if recorded != stamp {
        return None;
    }
    let mut runs = Vec::new();
    for run in lines.next()?.split_whitespace() {
        let (start, end) = run.split_once('-').unwrap_or((run, run));
        runs.push((start.parse().ok()?, end.parse().ok()?));
    }
    let versions = Versions::from_runs(runs)?;
    // Written whole, or not used.
    let count: usize = lines.next()?.strip_prefix("count ")?.parse().ok()?;
    (count == versions.len()).then_some((stamp, versions))
}

/// Records `versions` (ascending) as the listing of `dir` at `stamp`.
/// Only a writer holding the ledger lock passes `trusted`; a reader's
/// listing is kept only once the folder has settled. Best effort: a cache.
pub(crate) fn write(dir: &Path, stamp: Stamp, versions: &Versions, trusted: bool) {
    if !trusted && !stamp.settled() {
        return;
    }
    let runs: Vec<String> = versions
        .runs()
        .map(|(start, end)| {
            if start == end {
                start.to_string()
            } else {
                format!("{start}-{end}")
            }
        })
        .collect();
    let text = format!(
        "{HEADER}\n{}\n{}\ncount {}\n",
        stamp.render(),
        runs.join(" "),
        versions.len()
    );
    let _ = files::overwrite_cache(&dir.join(INDEX), text.as_bytes());
}

/// Makes the index file exist, so that writing it later is in place and
/// leaves the folder's time alone; returns whether it made it.
pub(crate) fn ensure(dir: &Path) -> bool {
    files::ensure_cache(&dir.join(INDEX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_index_is_used_only_while_the_folder_is_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        ensure(dir.path());
        let stamp = Stamp::of(dir.path()).unwrap();
        let versions: Versions = [1, 2, 3, 7, 9, 10].into_iter().collect();
        write(dir.path(), stamp, &versions, true);
        assert_eq!(read(dir.path()), Some((stamp, versions.clone())));
        let text = std::fs::read_to_string(dir.path().join(INDEX)).unwrap();
        assert!(text.contains("\n1-3 7 9-10\ncount 6\n"), "{text}");
        // A file added: the folder's time moves on, and the index is stale.
        std::thread::sleep(Duration::from_millis(20));
        std::fs::write(dir.path().join("v11.toml"), "").unwrap();
        assert_eq!(read(dir.path()), None);
        // A reader's listing of a folder that just changed is not kept.
        let fresh = Stamp::of(dir.path()).unwrap();
        write(dir.path(), fresh, &[1].into_iter().collect(), false);
        assert_eq!(read(dir.path()), None);
        // A torn index is not used.
        write(dir.path(), fresh, &versions, true);
        let whole = std::fs::read_to_string(dir.path().join(INDEX)).unwrap();
        std::fs::write(dir.path().join(INDEX), whole.replace("count 6\n", "")).unwrap();
        assert_eq!(read(dir.path()), None);
        // Nor one whose runs overlap, or whose count is wrong.
        for runs in ["1-3 3-4\ncount 4", "1-3\ncount 4"] {
            let crafted = whole.replace("1-3 7 9-10\ncount 6", runs);
            std::fs::write(dir.path().join(INDEX), crafted).unwrap();
            assert_eq!(read(dir.path()), None);
        }
    }
}
