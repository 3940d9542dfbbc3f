//! Config vars as a release records them, and the change between two sets of them.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::text::printable;

/// The config vars of a release: the `[env]` table, by name.
pub type ConfigVars = BTreeMap<String, ConfigVar>;

/// One config var: its value (or, for a secret, the fingerprint of a value
/// kept outside git), and the options cargo's `[env]` takes for it (kept so
/// that a rollback regenerates the entry as it was). It reads and writes as
/// cargo spells it, a string or `{ value = …, force = true }`, and a secret
/// as `{ secret = "hmac-sha256:…" }` (a team secret with its value sealed
/// beside it: `{ secret = "hmac-sha256:…", sealed = "<base64 age file>" }`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(into = "ConfigVarRepr")]
#[non_exhaustive]
pub struct ConfigVar {
    /// What it holds.
    pub value: VarValue,
    /// Overrides a variable already set in the environment (cargo's `force`).
    pub force: bool,
    /// The value is a path relative to the workspace root (cargo's `relative`).
    pub relative: bool,
    /// For a team secret: its value, sealed with `age` to the release's
    /// recipients (base64 of the age file), which only a recipient opens.
    pub sealed: Option<String>,
}

/// The team of a release that holds team secrets: the public keys its
/// secrets are sealed to, and the team key (the key of their
/// fingerprints) sealed to the same keys. Every release drafted from one
/// carries it on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[non_exhaustive]
pub struct Team {
    /// The public keys, as `secret-recipients` spelled them.
    pub recipients: Vec<String>,
    /// The team key, sealed to `recipients` (base64 of an age file).
    pub key: String,
}

/// What a config var holds.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub enum VarValue {
    /// A value kept in the release file and in `[env]`.
    Plain(String),
    /// A secret: its value lives only in this machine's secret store; the
    /// release keeps its keyed fingerprint, `hmac-sha256:<hex>`.
    Secret(String),
}

/// The most a value may hold, in bytes: a program's environment must still
/// fit the command line limits of the systems cargo runs on.
pub(crate) const MAX_VALUE: u64 = 32 * 1024;

/// The most all of a release's names and values may hold together, in bytes.
pub(crate) const MAX_CONFIG: usize = 256 * 1024;

/// Refuses config vars a program could not be started with: a plain value
/// over [`MAX_VALUE`], or names and values over [`MAX_CONFIG`] together.
/// Whatever records or applies a config asks here, whoever wrote it: `config
/// set`, `[env]` at a deploy, a release file brought back or synced.
pub(crate) fn check_limits(vars: &ConfigVars) -> crate::Result<()> {
    check_sizes(
        vars.iter()
            .map(|(name, var)| (name.as_str(), var.plain_value().map_or(0, str::len))),
    )
}

/// [`check_limits`] for the config of release `version`, as recorded (a
/// clone may have crafted its file): refused before it is applied.
pub(crate) fn check_release(version: u64, vars: &ConfigVars) -> crate::Result<()> {
    check_limits(vars)
        .map_err(|e| crate::Error::InvalidInput(format!("v{version} cannot be applied: {e}")))
}

/// [`check_limits`] for values given by their sizes: `(name, bytes)`.
pub(crate) fn check_sizes<'a>(
    values: impl IntoIterator<Item = (&'a str, usize)>,
) -> crate::Result<()> {
    let mut total = 0;
    for (name, size) in values {
        check_value(name, size)?;
        total += name.len() + size;
    }
    if total > MAX_CONFIG {
        return Err(crate::Error::InvalidInput(format!(
            "the config vars hold {} bytes; a release's names and values are at most {} bytes \
             together (a program's environment must fit the system's limits)",
            bytes(total),
            bytes(MAX_CONFIG)
        )));
    }
    Ok(())
}

/// Refuses a value of `size` bytes for var `name` over [`MAX_VALUE`].
pub(crate) fn check_value(name: &str, size: usize) -> crate::Result<()> {
    if size as u64 > MAX_VALUE {
        return Err(crate::Error::InvalidInput(format!(
            "`{}` is {} bytes; a config value is at most {} bytes \
             (a program's environment must fit the system's limits)",
            printable(name),
            bytes(size),
            bytes(MAX_VALUE as usize)
        )));
    }
    Ok(())
}

/// `32,769`: a size as people read it.
fn bytes(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

impl ConfigVar {
    /// A var with `value` and no options.
    pub fn plain(value: impl Into<String>) -> Self {
        Self {
            value: VarValue::Plain(value.into()),
            force: false,
            relative: false,
            sealed: None,
        }
    }

    /// A secret var whose value has fingerprint `fingerprint`, with no options.
    pub fn secret(fingerprint: impl Into<String>) -> Self {
        Self {
            value: VarValue::Secret(fingerprint.into()),
            force: false,
            relative: false,
            sealed: None,
        }
    }

    /// Whether its value is a secret, kept out of git.
    pub fn is_secret(&self) -> bool {
        matches!(self.value, VarValue::Secret(_))
    }

    /// The value, unless it is a secret.
    pub fn plain_value(&self) -> Option<&str> {
        match &self.value {
            VarValue::Plain(value) => Some(value),
            VarValue::Secret(_) => None,
        }
    }

    /// The options that are on, as cargo names them.
    pub fn options(&self) -> Vec<&'static str> {
        [("force", self.force), ("relative", self.relative)]
            .into_iter()
            .filter_map(|(name, on)| on.then_some(name))
            .collect()
    }

    /// The same var with another value, keeping its options.
    pub(crate) fn with_value(&self, value: VarValue) -> Self {
        Self {
            value,
            sealed: None,
            ..self.clone()
        }
    }

    /// The same var holding a team secret: fingerprint and sealed value.
    pub(crate) fn with_sealed(&self, fingerprint: String, sealed: String) -> Self {
        Self {
            value: VarValue::Secret(fingerprint),
            sealed: Some(sealed),
            ..self.clone()
        }
    }

    /// What a program started from the release sees for this var holding
    /// `value`: as cargo does, a `relative` value is a path from the
    /// workspace root.
    pub fn resolve(&self, value: &str, root: &Path) -> String {
        if self.relative {
            root.join(value).display().to_string()
        } else {
            value.to_owned()
        }
    }
}

#[derive(Serialize)]
#[serde(untagged)]
enum ConfigVarRepr {
    Plain(String),
    Table {
        #[serde(skip_serializing_if = "Option::is_none")]
        value: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        secret: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        sealed: Option<String>,
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        force: bool,
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        relative: bool,
    },
}

/// Reads a string or a table of `value` (or `secret`), `force` and
/// `relative`, refusing any other key so that a misspelt option is not
/// read as off.
impl<'de> Deserialize<'de> for ConfigVar {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = ConfigVar;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a string, or a table with `value` (or `secret`) and optional `force` and `relative`",
                )
            }

            fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<ConfigVar, E> {
                Ok(ConfigVar::plain(value))
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<ConfigVar, A::Error> {
                use serde::de::Error as _;
                let (mut value, mut secret, mut force, mut relative) = (None, None, false, false);
                let mut sealed = None;
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "value" => value = Some(map.next_value::<String>()?),
                        "secret" => secret = Some(map.next_value::<String>()?),
                        "sealed" => sealed = Some(map.next_value::<String>()?),
                        "force" => force = map.next_value()?,
                        "relative" => relative = map.next_value()?,
                        other => {
                            return Err(A::Error::unknown_field(
                                other,
                                &["value", "secret", "sealed", "force", "relative"],
                            ));
                        }
                    }
                }
                let value = match (value, secret) {
                    (Some(value), None) => VarValue::Plain(value),
                    (None, Some(fingerprint)) if crate::secrets::is_fingerprint(&fingerprint) => {
                        VarValue::Secret(fingerprint)
                    }
                    (None, Some(_)) => {
                        return Err(A::Error::custom(
                            "`secret` is not a fingerprint `hmac-sha256:<hex>`",
                        ));
                    }
                    (Some(_), Some(_)) => {
                        return Err(A::Error::custom(
                            "a var has a `value` or a `secret`, not both",
                        ));
                    }
                    (None, None) => return Err(A::Error::missing_field("value")),
                };
                if sealed.is_some() && !matches!(value, VarValue::Secret(_)) {
                    return Err(A::Error::custom("only a `secret` has a `sealed` value"));
                }
                Ok(ConfigVar {
                    value,
                    force,
                    relative,
                    sealed,
                })
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

impl From<ConfigVar> for ConfigVarRepr {
    fn from(var: ConfigVar) -> Self {
        match var.value {
            VarValue::Plain(value) if !var.force && !var.relative => Self::Plain(value),
            VarValue::Plain(value) => Self::Table {
                value: Some(value),
                secret: None,
                sealed: None,
                force: var.force,
                relative: var.relative,
            },
            VarValue::Secret(fingerprint) => Self::Table {
                value: None,
                secret: Some(fingerprint),
                sealed: var.sealed,
                force: var.force,
                relative: var.relative,
            },
        }
    }
}

/// Var `name` as a diff or a check shows it: as [`ConfigVar`]'s `Display`
/// does, hiding a plain value that looks secret, and cutting a long one
/// short (`abc… (204,800 bytes)`).
pub(crate) fn shown(name: &str, var: &ConfigVar) -> String {
    /// The most characters of a value shown.
    const SHOWN: usize = 60;
    let options = var.options();
    let options = if options.is_empty() {
        String::new()
    } else {
        format!(" [{}]", options.join(", "))
    };
    match var.plain_value() {
        Some(value) if crate::secrets::looks_secret(name, value).is_some() => {
            format!("<hidden>{options}")
        }
        Some(value) if value.chars().nth(SHOWN).is_some() => {
            let start: String = value.chars().take(SHOWN).collect();
            format!(
                "{}… ({} bytes){options}",
                printable(&start),
                bytes(value.len())
            )
        }
        _ => var.to_string(),
    }
}

/// The vars `[env]` holds: all but the secrets.
pub(crate) fn plain_vars(vars: &ConfigVars) -> ConfigVars {
    vars.iter()
        .filter(|(_, var)| !var.is_secret())
        .map(|(name, var)| (name.clone(), var.clone()))
        .collect()
}

/// Whether `name` can be a config var: a name a POSIX shell can set and
/// cargo passes on, `[A-Za-z_][A-Za-z0-9_]*`. Names are checked when set,
/// when read from `[env]` and when read from a release file, so none can
/// smuggle shell syntax into `--shell` output.
pub(crate) fn is_var_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// The value as human output shows it: on one line, with cargo's options
/// when any are on (`data [relative]`); a secret as `<secret 1a2b3c4>`, the
/// start of its fingerprint, so a change shows but the value never does.
impl fmt::Display for ConfigVar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            VarValue::Plain(value) => f.write_str(&printable(value))?,
            VarValue::Secret(fingerprint) => {
                let hex = fingerprint
                    .strip_prefix(crate::secrets::FINGERPRINT_PREFIX)
                    .unwrap_or(fingerprint);
                write!(f, "<secret {}>", hex.get(..7).unwrap_or(hex))?;
            }
        }
        let options = self.options();
        if !options.is_empty() {
            write!(f, " [{}]", options.join(", "))?;
        }
        Ok(())
    }
}

/// The change from one set of config vars to another.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct ConfigDiff {
    /// Vars only in the new set.
    pub added: BTreeMap<String, ConfigVar>,
    /// Vars in both with another value or options: the old and the new.
    pub changed: BTreeMap<String, ChangedVar>,
    /// Vars only in the old set.
    pub removed: BTreeMap<String, ConfigVar>,
}

/// A var whose value or options changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ChangedVar {
    /// Before.
    pub old: ConfigVar,
    /// After.
    pub new: ConfigVar,
}

impl ConfigDiff {
    /// What changes from `old` to `new`.
    pub fn between(old: &ConfigVars, new: &ConfigVars) -> Self {
        let mut diff = Self::default();
        for (name, value) in new {
            match old.get(name) {
                None => {
                    diff.added.insert(name.clone(), value.clone());
                }
                Some(v) if v != value => {
                    diff.changed.insert(
                        name.clone(),
                        ChangedVar {
                            old: v.clone(),
                            new: value.clone(),
                        },
                    );
                }
                Some(_) => {}
            }
        }
        for (name, value) in old {
            if !new.contains_key(name) {
                diff.removed.insert(name.clone(), value.clone());
            }
        }
        diff
    }

    /// Whether nothing changes.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.changed.is_empty() && self.removed.is_empty()
    }
}

/// One indented line per var: `+ A => 1`, `~ B => 2 (was 1)`, `- C (was 3)`.
/// A plain value whose name or value looks secret (a hand edit of `[env]`
/// not recorded yet) is hidden too: a diff goes to terminals and logs.
impl fmt::Display for ConfigDiff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (name, value) in &self.added {
            writeln!(f, "  + {} => {}", printable(name), shown(name, value))?;
        }
        for (name, ChangedVar { old, new }) in &self.changed {
            writeln!(
                f,
                "  ~ {} => {} (was {})",
                printable(name),
                shown(name, new),
                shown(name, old)
            )?;
        }
        for (name, value) in &self.removed {
            writeln!(f, "  - {} (was {})", printable(name), shown(name, value))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_name_the_var_and_the_exact_sizes() {
        let over = |vars: &[(&str, usize)]| {
            let vars: ConfigVars = vars
                .iter()
                .map(|(n, size)| ((*n).to_owned(), ConfigVar::plain("x".repeat(*size))))
                .collect();
            check_limits(&vars).err().map(|e| e.to_string())
        };
        assert_eq!(over(&[("A", 32 * 1024)]), None);
        assert_eq!(
            over(&[("BIG", 32 * 1024 + 1)]).unwrap(),
            "`BIG` is 32,769 bytes; a config value is at most 32,768 bytes \
             (a program's environment must fit the system's limits)"
        );
        let many: Vec<(String, usize)> = (0..9).map(|i| (format!("V{i}"), 30_000)).collect();
        let many: Vec<(&str, usize)> = many.iter().map(|(n, s)| (n.as_str(), *s)).collect();
        assert!(over(&many).unwrap().starts_with(
            "the config vars hold 270,018 bytes; a release's names and values \
                              are at most 262,144 bytes"
        ));
        // A secret's value is not in the release: only its size when revealed counts.
        let secret: ConfigVars = [("S".to_owned(), ConfigVar::secret("hmac-sha256:00"))].into();
        assert!(check_limits(&secret).is_ok());
        assert_eq!(bytes(0), "0");
        assert_eq!(bytes(999), "999");
        assert_eq!(bytes(1000), "1,000");
        assert_eq!(bytes(1_234_567), "1,234,567");
        // A diff shows a long value cut short.
        let long = ConfigVar::plain("x".repeat(200 * 1024));
        assert_eq!(
            shown("BIG", &long),
            format!("{}… (204,800 bytes)", "x".repeat(60))
        );
        assert_eq!(
            shown("A", &ConfigVar::plain("x".repeat(60))),
            "x".repeat(60)
        );
    }

    #[test]
    fn config_vars_read_as_cargo_spells_them_and_nothing_else() {
        let read =
            |text: &str| toml::from_str::<ConfigVars>(text).map_err(|e| e.message().to_owned());
        let vars = read("A = \"1\"\nB = { value = \"2\", relative = true }").unwrap();
        assert_eq!(vars["A"], ConfigVar::plain("1"));
        assert!(vars["B"].relative && !vars["B"].force);
        assert_eq!(
            read("A = { value = \"1\", forse = true }").unwrap_err(),
            "unknown field `forse`, expected one of `value`, `secret`, `sealed`, `force`, `relative`"
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
        // A secret is its fingerprint, never a value.
        let fingerprint = format!("hmac-sha256:{}", "a".repeat(64));
        let secret = read(&format!(
            "S = {{ secret = \"{fingerprint}\", force = true }}"
        ))
        .unwrap();
        assert!(secret["S"].is_secret() && secret["S"].force);
        assert_eq!(secret["S"].plain_value(), None);
        assert_eq!(secret["S"].to_string(), "<secret aaaaaaa> [force]");
        assert!(
            read("S = { secret = \"hunter2\" }")
                .unwrap_err()
                .contains("not a fingerprint")
        );
        assert!(
            read(&format!(
                "S = {{ secret = \"{fingerprint}\", value = \"x\" }}"
            ))
            .unwrap_err()
            .contains("not both")
        );
        // A team secret keeps its sealed value beside the fingerprint.
        let sealed = read(&format!(
            "S = {{ secret = \"{fingerprint}\", sealed = \"YWdl\" }}"
        ))
        .unwrap();
        assert_eq!(sealed["S"].sealed.as_deref(), Some("YWdl"));
        assert_eq!(sealed["S"].to_string(), "<secret aaaaaaa>");
        assert_eq!(
            toml::to_string(&sealed).unwrap(),
            format!("[S]\nsecret = \"{fingerprint}\"\nsealed = \"YWdl\"\n")
        );
        assert!(
            read("S = { value = \"x\", sealed = \"YWdl\" }")
                .unwrap_err()
                .contains("only a `secret`")
        );
    }
}
