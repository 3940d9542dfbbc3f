//! `diff vA [vB]`: what changed between two releases.

use serde::Serialize;

use crate::error::Error;
use crate::ledger::{AddonDiff, ConfigDiff, Environment, Release, Version};
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
    /// The environments of the two, when they are not both the one selected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environments: Option<[String; 2]>,
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

/// A release as `diff` names it: `v12`, `staging:v12`, or `staging` (its current one).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReleaseRef {
    /// The environment (default: the one selected).
    pub env: Option<String>,
    /// The release (default: the environment's current one).
    pub version: Option<Version>,
}

impl ReleaseRef {
    /// `version` of the selected environment.
    pub fn version(version: Version) -> Self {
        Self {
            env: None,
            version: Some(version),
        }
    }
}

/// Reads `v12`, `12`, `staging:v12` and `staging`.
impl std::str::FromStr for ReleaseRef {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let invalid = || {
            Error::InvalidInput(format!(
                "`{}` names no release: expected `vN`, `ENV:vN` or `ENV`",
                crate::text::printable(s)
            ))
        };
        if let Some((env, version)) = s.split_once(':') {
            Environment::named(env).map_err(Error::InvalidInput)?;
            return Ok(Self {
                env: Some(env.to_owned()),
                version: Some(version.parse().map_err(|_| invalid())?),
            });
        }
        match s.parse::<Version>() {
            Ok(version) => Ok(Self::version(version)),
            Err(_) => {
                Environment::named(s).map_err(|_| invalid())?;
                Ok(Self {
                    env: Some(s.to_owned()),
                    version: None,
                })
            }
        }
    }
}

impl Workspace {
    /// `diff vA [vB]`: what changed from `from` to `to` (default: the current release).
    pub fn diff(&self, from: Version, to: Option<Version>) -> crate::Result<ReleaseDiff> {
        self.diff_releases(
            &ReleaseRef::version(from),
            to.map(ReleaseRef::version).as_ref(),
        )
    }

    /// `diff staging:v12 production:v7`, `diff staging production`: what
    /// changed from one release to another, in any environments (default:
    /// the selected environment's current release).
    pub fn diff_releases(
        &self,
        from: &ReleaseRef,
        to: Option<&ReleaseRef>,
    ) -> crate::Result<ReleaseDiff> {
        let current = ReleaseRef::default();
        let (a_env, a) = self.resolve(from)?;
        let (b_env, b) = self.resolve(to.unwrap_or(&current))?;
        let environments = (&a_env != self.env() || &b_env != self.env())
            .then(|| [a_env.name().to_owned(), b_env.name().to_owned()]);
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
            environments,
            commits: [ca.clone(), cb.clone()],
            commits_added: commits(ca, cb)?,
            commits_removed: commits(cb, ca)?,
            config: ConfigDiff::between(&a.config, &b.config),
            addons: self.addon_diff(&a.code, &b.code),
            executables: executables(&a, &b),
        })
    }
}

impl Workspace {
    /// The environment and release `r` names.
    fn resolve(&self, r: &ReleaseRef) -> crate::Result<(Environment, Release)> {
        let other = match &r.env {
            Some(name) => {
                Some(self.for_env(&Environment::named(name).map_err(Error::InvalidInput)?)?)
            }
            None => None,
        };
        let ws = other.as_ref().unwrap_or(self);
        let release = ws.read_ledger(|ledger| match r.version {
            Some(v) => ledger.get(v),
            None => require_current(ledger, ws),
        })?;
        Ok((ws.env().clone(), release))
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
