//! Config vars as a release records them, and the change between two sets of them.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::text::printable;

/// The config vars of a release: the `[env]` table, by name.
pub type ConfigVars = BTreeMap<String, ConfigVar>;

/// One config var: its value, and the options cargo's `[env]` takes for it
/// (kept so that a rollback regenerates the entry as it was). It reads and
/// writes as cargo spells it: a string, or `{ value = …, force = true }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(into = "ConfigVarRepr")]
#[non_exhaustive]
pub struct ConfigVar {
    /// The value, as written (see [`ConfigVar::resolved_value`]).
    pub value: String,
    /// Overrides a variable already set in the environment (cargo's `force`).
    pub force: bool,
    /// The value is a path relative to the workspace root (cargo's `relative`).
    pub relative: bool,
}

impl ConfigVar {
    /// A var with `value` and no options.
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

impl ConfigVar {
    /// The value a program started from the release sees: as cargo does, a
    /// `relative` value is a path from the workspace root.
    pub fn resolved_value(&self, root: &Path) -> String {
        if self.relative {
            root.join(&self.value).display().to_string()
        } else {
            self.value.clone()
        }
    }
}

/// The value as human output shows it: on one line, with cargo's options
/// when any are on (`data [relative]`).
impl fmt::Display for ConfigVar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&printable(&self.value))?;
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
impl fmt::Display for ConfigDiff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (name, value) in &self.added {
            writeln!(f, "  + {} => {value}", printable(name))?;
        }
        for (name, ChangedVar { old, new }) in &self.changed {
            writeln!(f, "  ~ {} => {new} (was {old})", printable(name))?;
        }
        for (name, value) in &self.removed {
            writeln!(f, "  - {} (was {value})", printable(name))?;
        }
        Ok(())
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
}
