//! `diff vA [vB]`: what changed between two releases.

use serde::Serialize;

use crate::ledger::{AddonDiff, ConfigDiff, Release, Version};
use crate::transaction::require_current;
use crate::workspace::{Workspace, git};

/// What changed from one release to another.
#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct ReleaseDiff {
    /// The release compared from.
    pub from: u64,
    /// The release compared to.
    pub to: u64,
    /// The commit each runs.
    pub commits: [String; 2],
    /// Commits the second runs that the first does not (`git log A..B`),
    /// newest first; `None` when a commit is not in this repository.
    pub commits_added: Option<Vec<CommitLine>>,
    /// Commits the first runs that the second does not (`git log B..A`): a rollback's.
    pub commits_removed: Option<Vec<CommitLine>>,
    /// Config vars added, removed and changed.
    pub config: ConfigDiff,
    /// Add-ons added, removed and moved.
    pub addons: AddonDiff,
    /// The executables of the slugs.
    pub executables: ExecutableDiff,
}

/// One commit, as `git log --oneline` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct CommitLine {
    /// The full sha.
    pub sha: String,
    /// The first line of its message.
    pub subject: String,
}

/// How two slugs differ, by executable name.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ExecutableDiff {
    /// Only in the second.
    pub added: Vec<String>,
    /// Only in the first.
    pub removed: Vec<String>,
    /// In both, with other contents.
    pub changed: Vec<String>,
    /// In both, the same bytes.
    pub unchanged: Vec<String>,
}

impl Workspace {
    /// `diff vA [vB]`: what changed from `from` to `to` (default: the current release).
    pub fn diff(&self, from: Version, to: Option<Version>) -> crate::Result<ReleaseDiff> {
        let (a, b) = self.read_ledger(|ledger| {
            let a = ledger.get(from)?;
            let b = match to {
                Some(v) => ledger.get(v)?,
                None => require_current(ledger, self)?,
            };
            Ok((a, b))
        })?;
        let (ca, cb) = (&a.code.commit, &b.code.commit);
        let commits = |x: &str, y: &str| -> anyhow::Result<Option<Vec<CommitLine>>> {
            Ok(git::commits_between(self.root(), x, y)?.map(|list| {
                list.into_iter()
                    .map(|(sha, subject)| CommitLine { sha, subject })
                    .collect()
            }))
        };
        Ok(ReleaseDiff {
            from: a.version,
            to: b.version,
            commits: [ca.clone(), cb.clone()],
            commits_added: commits(ca, cb)?,
            commits_removed: commits(cb, ca)?,
            config: ConfigDiff::between(&a.config, &b.config),
            addons: AddonDiff::between(&a.code.addons, &b.code.addons),
            executables: executables(&a, &b),
        })
    }
}

fn executables(a: &Release, b: &Release) -> ExecutableDiff {
    let (old, new) = (&a.code.slug.executables, &b.code.slug.executables);
    let mut diff = ExecutableDiff::default();
    for exe in new {
        match old.iter().find(|o| o.name == exe.name) {
            None => diff.added.push(exe.name.clone()),
            Some(o) if o.sha256 != exe.sha256 => diff.changed.push(exe.name.clone()),
            Some(_) => diff.unchanged.push(exe.name.clone()),
        }
    }
    diff.removed = old
        .iter()
        .filter(|o| !new.iter().any(|n| n.name == o.name))
        .map(|o| o.name.clone())
        .collect();
    diff
}
