//! Config vars as they live in the workspace: the `[env]` table of `.cargo/config.toml`.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use fs_err as fs;
use toml_edit::{DocumentMut, Item, TableLike, Value};

use crate::ledger::{ConfigVars, atomic};

/// `.cargo/config.toml` (or the legacy `.cargo/config` when only that exists),
/// parsed for editing so that everything outside `[env]` is kept byte for byte.
#[derive(Debug, Clone)]
pub struct EnvFile {
    path: PathBuf,
    doc: DocumentMut,
    original: String,
}

impl EnvFile {
    pub fn path_in(root: &Path) -> PathBuf {
        let dir = root.join(".cargo");
        let legacy = dir.join("config");
        // Cargo reads `config` when both exist.
        if legacy.is_file() {
            legacy
        } else {
            dir.join("config.toml")
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The path relative to the workspace root, for messages and git.
    pub fn relative_path(&self, root: &Path) -> String {
        let rel = self.path.strip_prefix(root).unwrap_or(&self.path);
        rel.display().to_string()
    }

    pub fn load(root: &Path) -> anyhow::Result<Self> {
        let path = Self::path_in(root);
        let original = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(e.into()),
        };
        let doc: DocumentMut = original
            .parse()
            .with_context(|| format!("failed to parse `{}`", path.display()))?;
        Ok(Self {
            path,
            doc,
            original,
        })
    }

    /// Everything in the file but `[env]`, as values (comments and layout
    /// aside): what changes a build.
    pub fn settings_besides_env(&self) -> Option<toml::Table> {
        settings_besides_env(&self.doc.to_string())
    }

    /// Whether the file has an `env` entry at all (a fresh clone may not).
    pub fn has_env_table(&self) -> bool {
        self.doc.contains_key("env")
    }

    /// The config vars in `[env]`, in the string or `{ value = … }` forms cargo accepts.
    pub fn vars(&self) -> anyhow::Result<ConfigVars> {
        let mut vars = ConfigVars::new();
        let Some(item) = self.doc.get("env") else {
            return Ok(vars);
        };
        let env = item
            .as_table_like()
            .context("`env` is not a table of config vars")?;
        for (name, item) in env.iter() {
            let value = entry_value(item).with_context(|| {
                format!("`[env]` entry `{name}` is neither a string nor `{{ value = \"…\" }}`")
            })?;
            if name.is_empty() || name.contains(['=', '\0']) || value.contains('\0') {
                bail!(
                    "`[env]` entry `{}` cannot be an environment variable",
                    name.escape_debug()
                );
            }
            vars.insert(name.to_owned(), value.to_owned());
        }
        Ok(vars)
    }

    /// Like [`Self::vars`], but an entry cargo could not read is shown by its
    /// TOML text, so that `sync` can say what it replaces.
    pub fn vars_lossy(&self) -> ConfigVars {
        let Some(env) = self.env_table() else {
            return ConfigVars::new();
        };
        env.iter()
            .map(|(name, item)| {
                let value = match entry_value(item) {
                    Some(v) => v.to_owned(),
                    None => format!("<not a string: {}>", item.to_string().trim()),
                };
                (name.to_owned(), value)
            })
            .collect()
    }

    fn env_table(&self) -> Option<&dyn TableLike> {
        self.doc.get("env").and_then(Item::as_table_like)
    }

    /// Makes `[env]` hold exactly `vars`, touching only the entries that
    /// differ: a changed entry keeps its form (`{ value = …, force = … }`)
    /// and its comments, a new one is added at the end (in order if the
    /// table was sorted), and a table left empty is dropped.
    pub fn set_vars(&mut self, vars: &ConfigVars) -> anyhow::Result<()> {
        // A missing `env`, or one that is not a table (a hand edit being
        // discarded), starts afresh.
        if !self.doc.get("env").is_some_and(Item::is_table_like) {
            self.doc.remove("env");
            if vars.is_empty() {
                return Ok(());
            }
            self.doc["env"] = toml_edit::table();
        }
        let path = self.path.display().to_string();
        let env = self.doc["env"]
            .as_table_like_mut()
            .with_context(|| format!("`env` in `{path}` is not a table"))?;
        let was_sorted = env.iter().map(|(k, _)| k).is_sorted();
        let stale: Vec<String> = env
            .iter()
            .map(|(k, _)| k.to_owned())
            .filter(|k| !vars.contains_key(k))
            .collect();
        for name in stale {
            env.remove(&name);
        }
        let mut added = false;
        for (name, value) in vars {
            match env.get_mut(name) {
                Some(item) if entry_value(item) == Some(value.as_str()) => {}
                Some(item) => set_entry_value(item, value),
                None => {
                    env.insert(name, toml_edit::value(value.as_str()));
                    added = true;
                }
            }
        }
        if added && was_sorted {
            env.sort_values();
        }
        if env.is_empty() {
            self.doc.remove("env");
        }
        Ok(())
    }

    /// Writes the file atomically if its text changed; returns whether it did.
    pub fn save(&mut self) -> anyhow::Result<bool> {
        let text = self.doc.to_string();
        if text == self.original {
            return Ok(false);
        }
        if let Some(dir) = self.path.parent() {
            fs::create_dir_all(dir)?;
        }
        atomic::write(&self.path, text.as_bytes())?;
        self.original = text;
        Ok(true)
    }
}

/// Everything in a config text but `[env]`; `None` when it does not parse.
pub fn settings_besides_env(text: &str) -> Option<toml::Table> {
    let mut table: toml::Table = toml::from_str(text).ok()?;
    table.remove("env");
    Some(table)
}

fn entry_value(item: &Item) -> Option<&str> {
    match item {
        Item::Value(Value::String(s)) => Some(s.value()),
        Item::Value(Value::InlineTable(t)) => t.get("value")?.as_str(),
        Item::Table(t) => t.get("value")?.as_str(),
        _ => None,
    }
}

fn set_entry_value(item: &mut Item, value: &str) {
    let slot = match item {
        Item::Value(Value::InlineTable(t)) => t.get_mut("value"),
        Item::Table(t) => t.get_mut("value").and_then(Item::as_value_mut),
        Item::Value(v) => Some(v),
        _ => None,
    };
    match slot {
        Some(slot) => {
            let decor = slot.decor().clone();
            *slot = Value::from(value);
            *slot.decor_mut() = decor;
        }
        None => *item = toml_edit::value(value),
    }
}

/// Parses `NAME=VALUE`, checking the name is a valid environment variable name.
pub fn parse_assignment(arg: &str) -> anyhow::Result<(String, String)> {
    let Some((name, value)) = arg.split_once('=') else {
        bail!("`{arg}` is not of the form NAME=VALUE");
    };
    if name.is_empty() {
        bail!("`{arg}` has no name before `=`: expected NAME=VALUE");
    }
    check_name(name)?;
    if value.contains('\0') {
        bail!(
            "the value of `{name}` contains a NUL byte, which an environment variable cannot hold"
        );
    }
    Ok((name.to_owned(), value.to_owned()))
}

/// Config var names are environment variable names: `[A-Za-z_][A-Za-z0-9_]*`.
fn check_name(name: &str) -> anyhow::Result<()> {
    let mut bytes = name.bytes();
    let valid = bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !valid {
        bail!(
            "invalid config var name `{}`: names are letters, digits and `_`, not starting with a digit",
            name.escape_debug()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edit(text: &str, vars: &[(&str, &str)]) -> String {
        let mut file = EnvFile {
            path: PathBuf::from("config.toml"),
            doc: text.parse().unwrap(),
            original: text.to_owned(),
        };
        let vars = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        file.set_vars(&vars).unwrap();
        file.doc.to_string()
    }

    #[test]
    fn keeps_form_comments_and_order() {
        let text = "# build settings\n[build]\njobs = 2\n\n[env]\nB = \"1\" # bee\nA = { value = \"x\", force = true }\n\n[alias]\nx = \"run\"\n";
        assert_eq!(
            edit(text, &[("A", "y"), ("B", "1"), ("C", "3")]),
            "# build settings\n[build]\njobs = 2\n\n[env]\nB = \"1\" # bee\nA = { value = \"y\", force = true }\nC = \"3\"\n\n[alias]\nx = \"run\"\n"
        );
    }

    #[test]
    fn sorted_tables_stay_sorted_and_empty_ones_go() {
        assert_eq!(
            edit(
                "[env]\nA = \"1\"\nC = \"3\"\n",
                &[("A", "1"), ("B", "2"), ("C", "3")]
            ),
            "[env]\nA = \"1\"\nB = \"2\"\nC = \"3\"\n"
        );
        assert_eq!(
            edit("[alias]\nb = \"build\"\n\n[env]\nA = \"1\"\n", &[]),
            "[alias]\nb = \"build\"\n"
        );
        assert_eq!(edit("", &[("A", "1")]), "[env]\nA = \"1\"\n");
    }

    #[test]
    fn names_and_values_are_checked() {
        assert!(parse_assignment("MY_VAR=a=b").is_ok_and(|(k, v)| k == "MY_VAR" && v == "a=b"));
        assert!(parse_assignment("_X=").is_ok());
        for bad in ["1X=a", "=a", "A-B=1", "A B=1", "NOEQUALS", "É=1", "A=\0"] {
            assert!(parse_assignment(bad).is_err(), "{bad:?} accepted");
        }
    }
}
