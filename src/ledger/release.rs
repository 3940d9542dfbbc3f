//! The release model: what one `.releases/vN.toml` file records.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use anyhow::{Context as _, bail};
use serde::{Deserialize, Serialize};

pub use super::build::Build;
pub use super::config_vars::{ConfigVar, ConfigVars, Team};
pub use super::provenance::{PhaseStatus, Promoted, ReleasePhase};
use crate::text::printable;

/// The format written by this version; newer files are refused, never misread.
pub const FORMAT: u32 = 1;

/// A release file written by a newer version of the tool: good, but not
/// for this version to read.
#[derive(Debug, thiserror::Error)]
#[error(
    "written in release format {0}, newer than this cargo-release-log understands \
     (format {FORMAT}); upgrade cargo-release-log"
)]
pub(crate) struct NewerFormat(i64);

/// One numbered, immutable release: what `.releases/vN.toml` holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[non_exhaustive]
pub struct Release {
    /// The file format: 1. A newer one is refused when read, never misread.
    pub format: u32,
    /// The release number: `vN`.
    pub version: u64,
    /// What kind of change made it.
    pub kind: ChangeKind,
    /// What changed, as the history shows it: `Deploy 575bfa8`, `Config add A`.
    pub change: String,
    /// The `-m` message, kept as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Who made the release: `git config user.email`, else the OS user.
    pub by: String,
    /// When, RFC 3339 with the offset the release was made in.
    pub when: String,
    /// Whether its build succeeded.
    pub status: Status,
    /// A note on how the release came to run what it runs, e.g. that a
    /// config change brought back the latest deploy's code after a rollback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// For a rollback: the release whose code and config it copies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback_to: Option<u64>,
    /// For a promotion: the release of another environment whose code it runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promoted_from: Option<Promoted>,
    /// What the release phase (`release-command`) did, when one is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_phase: Option<ReleasePhase>,
    /// `sha256:<hex>` of the previous release's file: a hash chain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_digest: Option<String>,
    /// The code this release runs: a commit, the executables built from it,
    /// and the add-ons compiled into them.
    pub code: Code,
    /// The code of the most recent build from the workspace (a deploy or an
    /// add-on release), when it is not `code`: the release runs rolled-back
    /// code. Kept in every release so that rolled-back code can be left
    /// again after that build's own file was pruned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_deploy: Option<Code>,
    /// For each add-on changed by an add-on release, the newest such
    /// release: a rollback to a release before it must not undo it.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub addon_releases: BTreeMap<String, u64>,
    /// The releases whose health check failed (and were rolled back from),
    /// carried from release to release: a rollback never goes back to one.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub unhealthy: BTreeSet<u64>,
    /// Config vars (the `[env]` table).
    #[serde(default)]
    pub config: ConfigVars,
    /// With team secrets (`secret-recipients`): the recipients their
    /// values are sealed to, and the sealed team key of their fingerprints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<Team>,
}

/// The kinds of change that make a release.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum ChangeKind {
    /// `deploy`: new code.
    Deploy,
    /// `config set` or `config unset`.
    Config,
    /// A dependency change made on its own.
    Addon,
    /// `rollback`: an earlier release's code and config.
    Rollback,
    /// `promote`: another environment's code, with this one's config.
    Promote,
}

/// How a release ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// It runs, or ran.
    Succeeded,
    /// Its build failed; it never ran.
    Failed,
}

/// Code: a commit and the slug built from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[non_exhaustive]
pub struct Code {
    /// Full commit sha.
    pub commit: String,
    /// The deploy release this code was built by (0 when nothing was built yet).
    pub deploy: u64,
    /// The commit the slug was built from, when it is not `commit`: a
    /// `deploy --no-build` runs the latest deploy's build.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub built_from: Option<String>,
    /// Whether the work tree had uncommitted changes (`deploy --allow-dirty`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dirty: bool,
    /// Manifests (`Cargo.toml`, `Cargo.lock`) built with changes not yet
    /// committed: an add-on release's edit, by path from the workspace root,
    /// with the `sha256:<hex>` of what was built. Until they are committed,
    /// those exact contents are not uncommitted changes to a deploy.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub uncommitted: BTreeMap<String, String>,
    /// How cargo built the slug (absent in releases recorded before it was
    /// kept: a `release` build of every member's binaries).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build: Option<Build>,
    /// The executables it runs.
    pub slug: Slug,
    /// The external dependencies compiled into them, each once.
    #[serde(default)]
    pub addons: Vec<Addon>,
}

/// The built executables of the workspace members.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[non_exhaustive]
pub struct Slug {
    /// The sum of the executables' sizes, in bytes.
    pub total_size: u64,
    /// By name.
    #[serde(default)]
    pub executables: Vec<Executable>,
}

/// One built executable, stored by content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[non_exhaustive]
pub struct Executable {
    /// The binary target's name.
    pub name: String,
    /// In bytes.
    pub size: u64,
    /// The hex sha256 of its bytes.
    pub sha256: String,
}

/// An external dependency of the workspace members: an add-on.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[non_exhaustive]
pub struct Addon {
    /// The crate's name.
    pub name: String,
    /// Where it comes from, as Cargo.lock names it: `registry+<index url>`,
    /// `git+<url>#<locked commit>`, or `path+<path from the workspace root>`.
    pub source: String,
    /// The version requirements the manifests ask for, joined by `, `.
    pub req: String,
    /// The version resolved in Cargo.lock, when the lock file has it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The workspace members that depend on it.
    pub used_by: Vec<String>,
}

impl Addon {
    /// `name@version` (or the requirement when nothing is resolved yet).
    pub fn spec(&self) -> String {
        format!("{}@{}", self.name, self.version_or_req())
    }

    /// The resolved version, else the requirement.
    pub fn version_or_req(&self) -> &str {
        self.version.as_deref().unwrap_or(&self.req)
    }

    /// Where it comes from, for people: `None` for a registry, else
    /// `git <url>#<short commit>` or `path <path>`.
    pub fn origin(&self) -> Option<String> {
        if let Some(path) = self.source.strip_prefix("path+") {
            return Some(format!("path {path}"));
        }
        let git = self.source.strip_prefix("git+")?;
        Some(match git.rsplit_once('#') {
            Some((url, rev)) => {
                // The URL without the `?rev=`/`?branch=` query cargo adds.
                let url = url.split_once('?').map_or(url, |(u, _)| u);
                format!("git {url}#{}", short_sha(rev))
            }
            None => format!("git {git}"),
        })
    }
}

impl Release {
    /// The latest code built from the workspace: [`Release::latest_deploy`], else [`Release::code`].
    pub fn latest_code(&self) -> &Code {
        self.latest_deploy.as_ref().unwrap_or(&self.code)
    }

    /// Whether it runs rolled-back code rather than the latest build.
    pub fn runs_rolled_back_code(&self) -> bool {
        self.latest_deploy.is_some()
    }

    /// The code it runs and, when that is rolled back, the latest code.
    pub(crate) fn codes(&self) -> impl Iterator<Item = &Code> {
        std::iter::once(&self.code).chain(self.latest_deploy.as_ref())
    }
}

impl Code {
    /// The commit's 7-character form, as git shows it.
    pub fn short_commit(&self) -> &str {
        short_sha(&self.commit)
    }

    /// The 7-character form of [`Code::built_from`].
    pub fn short_built_from(&self) -> Option<&str> {
        self.built_from.as_deref().map(short_sha)
    }
}

/// The 7-character form git shows.
pub(crate) fn short_sha(sha: &str) -> &str {
    sha.get(..7).unwrap_or(sha)
}

impl Slug {
    pub(crate) fn from_executables(mut executables: Vec<Executable>) -> Self {
        executables.sort_by(|a, b| a.name.cmp(&b.name));
        let total_size = executables.iter().map(|e| e.size).sum();
        Self {
            total_size,
            executables,
        }
    }
}

impl Release {
    /// Whether it failed because its release phase did.
    pub fn release_phase_failed(&self) -> bool {
        self.release_phase
            .as_ref()
            .is_some_and(|p| p.status == PhaseStatus::Failed)
    }

    /// Whether its build succeeded.
    pub fn succeeded(&self) -> bool {
        self.status == Status::Succeeded
    }

    /// Parses and validates the text of `vN.toml`.
    pub(crate) fn parse(text: &str, expected_version: u64) -> anyhow::Result<Self> {
        // The strict parse is the one a good file takes; a file it refuses
        // is looked at again to say best what is wrong with it.
        let release: Release = match toml::from_str(text) {
            Ok(release) => release,
            Err(strict) => return Err(Self::diagnose(text, &strict)),
        };
        if release.format != FORMAT {
            return Err(Self::diagnose_format(i64::from(release.format)));
        }
        if release.version != expected_version {
            bail!(
                "the file says `version = {}`, but its name says v{expected_version}",
                release.version
            );
        }
        release.validate()?;
        Ok(release)
    }

    /// Why a file the strict parse refused is no release: a merge conflict,
    /// not TOML, a newer format (refused for what it is rather than for a
    /// field this version does not know), or a field that is wrong. Errors
    /// give positions, never the text: an old file may hold a secret.
    fn diagnose(text: &str, strict: &toml::de::Error) -> anyhow::Error {
        let doc: toml::Table = match toml::from_str(text) {
            Ok(doc) => doc,
            // A value may hold such a line too; only a file that does not
            // parse is taken for a merge conflict.
            Err(_)
                if text
                    .lines()
                    .any(|l| l.starts_with("<<<<<<< ") || l.starts_with(">>>>>>> ")) =>
            {
                return anyhow::anyhow!(
                    "it holds git merge conflict markers: two branches both recorded this release; \
                     keep one side's file, commit, and make the other side's change again"
                );
            }
            Err(e) => {
                return anyhow::anyhow!("{}", printable(e.message().trim_end()))
                    .context(format!("not valid TOML{}", at_line(text, &e)));
            }
        };
        match doc.get("format") {
            Some(toml::Value::Integer(f)) if *f != i64::from(FORMAT) => {
                return Self::diagnose_format(*f);
            }
            Some(toml::Value::Integer(_)) => {}
            Some(other) => {
                return anyhow::anyhow!(
                    "unknown release format `{}` (expected {FORMAT})",
                    printable(&other.to_string())
                );
            }
            None => return anyhow::anyhow!("missing `format` field"),
        }
        anyhow::anyhow!("{}", printable(strict.message()))
            .context(format!("invalid release file{}", at_line(text, strict)))
    }

    fn diagnose_format(format: i64) -> anyhow::Error {
        if format > i64::from(FORMAT) {
            NewerFormat(format).into()
        } else {
            anyhow::anyhow!("unknown release format `{format}` (expected {FORMAT})")
        }
    }

    /// Checks what serde cannot: shas, times, names usable as files and environment variables.
    pub(crate) fn validate(&self) -> anyhow::Result<()> {
        for code in self.codes() {
            if !is_commit_sha(&code.commit) {
                bail!(
                    "`commit = \"{}\"` is not a full git commit sha",
                    code.commit.escape_debug()
                );
            }
            if let Some(sha) = code.built_from.as_deref().filter(|s| !is_commit_sha(s)) {
                bail!(
                    "`built-from = \"{}\"` is not a full git commit sha",
                    sha.escape_debug()
                );
            }
        }
        for (name, var) in &self.config {
            if !super::config_vars::is_var_name(name)
                || var.plain_value().is_some_and(|v| v.contains('\0'))
            {
                bail!(
                    "config var `{}` cannot be an environment variable",
                    name.escape_debug()
                );
            }
        }
        for build in self.codes().filter_map(|c| c.build.as_ref()) {
            if let Err(why) = build.validate() {
                bail!("`build` of the code: {why}");
            }
        }
        for (path, digest) in self.codes().flat_map(|c| &c.uncommitted) {
            if digest.strip_prefix("sha256:").is_none_or(|h| !is_sha256(h)) {
                bail!(
                    "the digest of `{}` is not of the form `sha256:<hex>`",
                    path.escape_debug()
                );
            }
        }
        jiff::Timestamp::from_str(&self.when).with_context(|| {
            format!(
                "`when = \"{}\"` is not an RFC 3339 time",
                printable(&self.when)
            )
        })?;
        for code in self.codes() {
            for exe in &code.slug.executables {
                if !is_sha256(&exe.sha256) {
                    bail!(
                        "executable `{}` has an invalid sha256",
                        printable(&exe.name)
                    );
                }
                if !is_executable_name(&exe.name) {
                    bail!(
                        "executable name `{}` is not a binary target's name (letters, digits, \
                         `-` and `_`)",
                        exe.name.escape_debug()
                    );
                }
            }
        }
        if let Some(d) = &self.previous_digest
            && d.strip_prefix("sha256:").is_none_or(|h| !is_sha256(h))
        {
            bail!("`previous-digest` is not of the form `sha256:<hex>`");
        }
        Ok(())
    }

    pub(crate) fn to_toml(&self) -> anyhow::Result<String> {
        toml::to_string(self).context("failed to write the release as TOML")
    }
}

/// ` at line N` of a parse error, when it has a position.
fn at_line(text: &str, e: &toml::de::Error) -> String {
    e.span()
        .map(|s| format!(" at line {}", line_of(text, s.start)))
        .unwrap_or_default()
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].lines().count().max(1)
}

/// A full sha-1 or sha-256 git object name.
fn is_commit_sha(s: &str) -> bool {
    matches!(s.len(), 40 | 64) && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

pub(crate) fn is_sha256(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// A binary target's name as cargo allows it: letters, digits, `-` and
/// `_`. It becomes a file name and a shell word, so nothing else passes:
/// no path separator, no shell metacharacter, no leading `-`.
fn is_executable_name(s: &str) -> bool {
    s.chars()
        .next()
        .is_some_and(|c| c.is_alphanumeric() || c == '_')
        && s.chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
}

/// A release number as users write it: `v12` or `12`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version(pub u64);

impl Version {
    /// The release number.
    pub fn number(self) -> u64 {
        self.0
    }
}

/// Text that names no release, tier or other ledger value: what it is and
/// what was expected, for people (the library turns it into
/// [`Error::InvalidInput`](crate::Error::InvalidInput)).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub(crate) String);

/// Reads `v12` or `12`; anything else is a [`ParseError`].
impl FromStr for Version {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, ParseError> {
        let digits = s.strip_prefix('v').unwrap_or(s);
        let valid = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
        match digits.parse::<u64>() {
            // TOML integers are i64: a larger number could not be written.
            Ok(n) if valid && n > 0 && n <= i64::MAX as u64 => Ok(Version(n)),
            _ => Err(ParseError(format!(
                "invalid release `{}`: expected a release number like `v12` or `12`",
                printable(s)
            ))),
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}", self.0)
    }
}

#[cfg(test)]
pub(crate) mod fuzz;
#[cfg(test)]
mod tests;
