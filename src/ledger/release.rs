//! The release model: what one `.releases/vN.toml` file records.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use anyhow::{Context as _, bail};
use serde::{Deserialize, Serialize};

/// The format written by this version; newer files are refused, never misread.
pub const FORMAT: u32 = 1;

/// The config vars of a release: the `[env]` table, by name.
pub type ConfigVars = BTreeMap<String, ConfigVar>;

/// One config var: its value, and the options cargo's `[env]` takes for it
/// (kept so that a rollback regenerates the entry as it was). It reads and
/// writes as cargo spells it: a string, or `{ value = …, force = true }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(into = "ConfigVarRepr")]
pub struct ConfigVar {
    pub value: String,
    /// Overrides a variable already set in the environment (cargo's `force`).
    pub force: bool,
    /// The value is a path relative to the workspace root (cargo's `relative`).
    pub relative: bool,
}

impl ConfigVar {
    pub fn plain(value: impl Into<String>) -> Self {
        Self {
            value: value.into(),
            force: false,
            relative: false,
        }
    }

    /// The options that are on, as cargo names them.
    pub fn options(&self) -> Vec<&'static str> {
        [("force", self.force), ("relative", self.relative)]
            .into_iter()
            .filter_map(|(name, on)| on.then_some(name))
            .collect()
    }
}

#[derive(Serialize)]
#[serde(untagged)]
enum ConfigVarRepr {
    Plain(String),
    Table {
        value: String,
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        force: bool,
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        relative: bool,
    },
}

/// Reads a string or a table of `value`, `force` and `relative`, refusing
/// any other key so that a misspelt option is not read as off.
impl<'de> Deserialize<'de> for ConfigVar {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = ConfigVar;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string, or a table with `value` and optional `force` and `relative`")
            }

            fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<ConfigVar, E> {
                Ok(ConfigVar::plain(value))
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<ConfigVar, A::Error> {
                use serde::de::Error as _;
                let (mut value, mut force, mut relative) = (None, false, false);
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "value" => value = Some(map.next_value::<String>()?),
                        "force" => force = map.next_value()?,
                        "relative" => relative = map.next_value()?,
                        other => {
                            return Err(A::Error::unknown_field(
                                other,
                                &["value", "force", "relative"],
                            ));
                        }
                    }
                }
                let value = value.ok_or_else(|| A::Error::missing_field("value"))?;
                Ok(ConfigVar {
                    value,
                    force,
                    relative,
                })
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

impl From<ConfigVar> for ConfigVarRepr {
    fn from(var: ConfigVar) -> Self {
        if var.force || var.relative {
            Self::Table {
                value: var.value,
                force: var.force,
                relative: var.relative,
            }
        } else {
            Self::Plain(var.value)
        }
    }
}

/// One numbered, immutable release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Release {
    pub format: u32,
    pub version: u64,
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
    pub status: Status,
    /// A note on how the release came to run what it runs, e.g. that a
    /// config change brought back the latest deploy's code after a rollback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// For a rollback: the release whose code and config it copies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback_to: Option<u64>,
    /// `sha256:<hex>` of the previous release's file: a hash chain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_digest: Option<String>,
    /// The code this release runs.
    pub code: Code,
    /// The code of the most recent succeeded deploy, kept in every release so
    /// that rolled-back code can be left again after that deploy's own file
    /// was pruned.
    pub latest_deploy: Code,
    /// Config vars (the `[env]` table).
    #[serde(default)]
    pub config: ConfigVars,
    /// External dependencies with their resolved versions.
    #[serde(default)]
    pub addons: Vec<Addon>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChangeKind {
    Deploy,
    Config,
    Addon,
    Rollback,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Succeeded,
    Failed,
}

/// Code: a commit and the slug built from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
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
    pub slug: Slug,
}

/// The built executables of the workspace members.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Slug {
    pub total_size: u64,
    #[serde(default)]
    pub executables: Vec<Executable>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Executable {
    pub name: String,
    pub size: u64,
    pub sha256: String,
}

/// An external dependency of the workspace members.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Addon {
    pub name: String,
    /// `registry+…`, `git+…`, or `path+<path relative to the workspace root>`.
    pub source: String,
    /// The version requirement the manifests ask for.
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
        match &self.version {
            Some(v) => format!("{}@{v}", self.name),
            None => format!("{}@{}", self.name, self.req),
        }
    }
}

impl Slug {
    pub fn from_executables(mut executables: Vec<Executable>) -> Self {
        executables.sort_by(|a, b| a.name.cmp(&b.name));
        let total_size = executables.iter().map(|e| e.size).sum();
        Self {
            total_size,
            executables,
        }
    }
}

impl Release {
    pub fn succeeded(&self) -> bool {
        self.status == Status::Succeeded
    }

    /// Parses and validates the text of `vN.toml`.
    pub fn parse(text: &str, expected_version: u64) -> anyhow::Result<Self> {
        // Look at `format` before the strict parse so a newer file is refused
        // for what it is rather than for a field this version doesn't know.
        let doc: toml::Table = match toml::from_str(text) {
            Ok(doc) => doc,
            // A value may hold such a line too; only a file that does not
            // parse is taken for a merge conflict.
            Err(_)
                if text
                    .lines()
                    .any(|l| l.starts_with("<<<<<<< ") || l.starts_with(">>>>>>> ")) =>
            {
                bail!(
                    "it holds git merge conflict markers: two branches both recorded this release; \
                 keep one side's file, commit, and make the other side's change again"
                )
            }
            Err(e) => return Err(e).context("not valid TOML"),
        };
        match doc.get("format") {
            Some(toml::Value::Integer(f)) if *f == i64::from(FORMAT) => {}
            Some(toml::Value::Integer(f)) if *f > i64::from(FORMAT) => bail!(
                "written in release format {f}, newer than this cargo-release-log \
                 understands (format {FORMAT}); upgrade cargo-release-log"
            ),
            Some(other) => bail!("unknown release format `{other}` (expected {FORMAT})"),
            None => bail!("missing `format` field"),
        }
        let release: Release = toml::from_str(text).map_err(|e| {
            anyhow::anyhow!("{}", e.message()).context(format!(
                "invalid release file{}",
                e.span()
                    .map(|s| format!(" at line {}", line_of(text, s.start)))
                    .unwrap_or_default()
            ))
        })?;
        if release.version != expected_version {
            bail!(
                "the file says `version = {}`, but its name says v{expected_version}",
                release.version
            );
        }
        release.validate()?;
        Ok(release)
    }

    /// Checks what serde cannot: shas, times, names usable as files and environment variables.
    pub fn validate(&self) -> anyhow::Result<()> {
        for code in [&self.code, &self.latest_deploy] {
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
            if name.is_empty() || name.contains(['=', '\0']) || var.value.contains('\0') {
                bail!(
                    "config var `{}` cannot be an environment variable",
                    name.escape_debug()
                );
            }
        }
        jiff::Timestamp::from_str(&self.when)
            .with_context(|| format!("`when = \"{}\"` is not an RFC 3339 time", self.when))?;
        for code in [&self.code, &self.latest_deploy] {
            for exe in &code.slug.executables {
                if !is_sha256(&exe.sha256) {
                    bail!("executable `{}` has an invalid sha256", exe.name);
                }
                if !is_plain_file_name(&exe.name) {
                    bail!("executable name `{}` is not a plain file name", exe.name);
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

    pub fn to_toml(&self) -> anyhow::Result<String> {
        toml::to_string(self).context("failed to write the release as TOML")
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].lines().count().max(1)
}

/// A full sha-1 or sha-256 git object name.
fn is_commit_sha(s: &str) -> bool {
    matches!(s.len(), 40 | 64) && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

pub fn is_sha256(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn is_plain_file_name(s: &str) -> bool {
    !s.is_empty() && s != "." && s != ".." && !s.contains(['/', '\\', '\0'])
}

/// A release number as users write it: `v12` or `12`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version(pub u64);

impl FromStr for Version {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> anyhow::Result<Self> {
        let digits = s.strip_prefix('v').unwrap_or(s);
        let valid = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
        match digits.parse::<u64>() {
            Ok(n) if valid && n > 0 && n <= i64::MAX as u64 => Ok(Version(n)),
            _ => bail!("invalid release `{s}`: expected a release number like `v12` or `12`"),
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_vars_read_as_cargo_spells_them_and_nothing_else() {
        let read =
            |text: &str| toml::from_str::<ConfigVars>(text).map_err(|e| e.message().to_owned());
        let vars = read("A = \"1\"\nB = { value = \"2\", relative = true }").unwrap();
        assert_eq!(vars["A"], ConfigVar::plain("1"));
        assert!(vars["B"].relative && !vars["B"].force);
        assert_eq!(
            read("A = { value = \"1\", forse = true }").unwrap_err(),
            "unknown field `forse`, expected one of `value`, `force`, `relative`"
        );
        assert_eq!(
            read("A = { force = true }").unwrap_err(),
            "missing field `value`"
        );
        assert!(read("A = 2").unwrap_err().contains("a string, or a table"));
        // Written back the same way.
        assert_eq!(
            toml::to_string(&vars).unwrap(),
            "A = \"1\"\n\n[B]\nvalue = \"2\"\nrelative = true\n"
        );
    }

    #[test]
    fn versions_parse_strictly() {
        assert_eq!("v12".parse::<Version>().unwrap(), Version(12));
        assert_eq!("3".parse::<Version>().unwrap(), Version(3));
        for bad in [
            "v0",
            "0",
            "v-1",
            "-1",
            "v",
            "",
            "vv1",
            "v1.0",
            "v../x",
            "+1",
            "v99999999999999999999999",
        ] {
            assert!(bad.parse::<Version>().is_err(), "{bad:?} accepted");
        }
    }
}
