//! Config vars as they live in the workspace: the `[env]` table of `.cargo/config.toml`.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use toml_edit::{DocumentMut, Item, TableLike, Value};

use crate::error::Error;
use crate::files::{self, Prepared, Scratch};
use crate::ledger::config_vars::{is_var_name, plain_vars};
use crate::ledger::{ConfigVar, ConfigVars, VarValue};
use crate::text::printable;

/// `.cargo/config.toml` (or the legacy `.cargo/config` when only that exists),
/// parsed for editing so that everything outside `[env]` is kept byte for byte.
#[derive(Debug, Clone)]
pub(crate) struct EnvFile {
    path: PathBuf,
    doc: DocumentMut,
    original: String,
    /// The file starts with a byte order mark.
    bom: bool,
    /// The file's lines end in CRLF.
    crlf: bool,
}

impl EnvFile {
    pub(crate) fn path_in(root: &Path) -> PathBuf {
        let dir = root.join(".cargo");
        let legacy = dir.join("config");
        // Cargo reads `config` when both exist.
        if std::fs::symlink_metadata(&legacy).is_ok() {
            legacy
        } else {
            dir.join("config.toml")
        }
    }

    /// The path of the config file of the workspace at `root`, relative to it.
    pub(crate) fn shown_path(root: &Path) -> String {
        let path = Self::path_in(root);
        path.strip_prefix(root)
            .unwrap_or(&path)
            .display()
            .to_string()
    }

    /// The path relative to the workspace root, for messages and git.
    pub(crate) fn relative_path(&self, root: &Path) -> String {
        let rel = self.path.strip_prefix(root).unwrap_or(&self.path);
        rel.display().to_string()
    }

    pub(crate) fn load(root: &Path) -> anyhow::Result<Self> {
        let path = Self::path_in(root);
        // Neither the folder nor the file may be a link: `[env]` is written there.
        files::real_dir(&root.join(".cargo"))?;
        let original = match files::read_bounded(&path, files::MAX_FILE)? {
            Some(bytes) => String::from_utf8(bytes)
                .with_context(|| format!("`{}` is not UTF-8 text", path.display()))?,
            None => String::new(),
        };
        Self::parse(path, original)
    }

    /// The file at `path` from its text `original`.
    fn parse(path: PathBuf, original: String) -> anyhow::Result<Self> {
        // A BOM and CRLF line endings (an editor on Windows) are kept as found.
        let text = original.strip_prefix('\u{feff}').unwrap_or(&original);
        let doc: DocumentMut = text.parse().map_err(|e: toml_edit::TomlError| {
            // The position, never the line: the file may hold secrets.
            let at = e
                .span()
                .map(|span| position(text, span.start))
                .unwrap_or_default();
            anyhow::anyhow!(
                "failed to parse `{}`{at}: {}",
                path.display(),
                e.message().trim_end()
            )
        })?;
        Ok(Self {
            path,
            doc,
            bom: original.starts_with('\u{feff}'),
            crlf: original.contains("\r\n"),
            original,
        })
    }

    /// Everything in the file but `[env]`, as values (comments and layout
    /// aside): what changes a build.
    pub(crate) fn settings_besides_env(&self) -> Option<toml::Table> {
        settings_besides_env(&self.doc.to_string())
    }

    /// Whether the file has an `env` entry at all (a fresh clone may not).
    pub(crate) fn has_env_table(&self) -> bool {
        self.doc.contains_key("env")
    }

    /// The config vars in `[env]`, in the string or `{ value = … }` forms cargo accepts.
    pub(crate) fn vars(&self) -> anyhow::Result<ConfigVars> {
        let mut vars = ConfigVars::new();
        let Some(item) = self.doc.get("env") else {
            return Ok(vars);
        };
        let env = item
            .as_table_like()
            .context("`env` is not a table of config vars")?;
        for (name, item) in env.iter() {
            let var = entry_var(item)
                .with_context(|| format!("`[env]` entry `{}`", name.escape_debug()))?;
            if !is_var_name(name) {
                bail!(
                    "`[env]` entry `{}` is not a name a shell can set: names are letters, \
                     digits and `_`, not starting with a digit",
                    name.escape_debug()
                );
            }
            if var.plain_value().is_some_and(|v| v.contains('\0')) {
                bail!(
                    "`[env]` entry `{name}` holds a NUL byte, which an environment variable cannot hold"
                );
            }
            vars.insert(name.to_owned(), var);
        }
        Ok(vars)
    }

    /// Like [`Self::vars`], but an entry cargo could not read is shown by its
    /// TOML text, so that `sync` can say what it replaces.
    pub(crate) fn vars_lossy(&self) -> ConfigVars {
        let Some(env) = self.env_table() else {
            return ConfigVars::new();
        };
        env.iter()
            .map(|(name, item)| {
                let var = entry_var(item).unwrap_or_else(|_| {
                    ConfigVar::plain(format!("<not a string: {}>", item.to_string().trim()))
                });
                (name.to_owned(), var)
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
    pub(crate) fn set_vars(&mut self, vars: &ConfigVars) -> anyhow::Result<()> {
        // Secrets never go into `[env]`: the committed file must not hold them.
        let vars = &plain_vars(vars);
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
        let inline = self.doc["env"].is_inline_table();
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
        for (name, var) in vars {
            match env.get_mut(name) {
                Some(item) if entry_var(item).is_ok_and(|v| v == *var) => {}
                Some(item) => set_entry(item, var),
                None => {
                    env.insert(name, new_entry(var));
                    added = true;
                }
            }
        }
        // Sorting would also reorder the keys of a dotted entry
        // (`A.value`, `A.force`): keep such a table as it is, new keys last.
        let dotted = env
            .iter()
            .any(|(_, item)| item.as_table_like().is_some_and(|t| t.is_dotted()));
        if added && was_sorted && !dotted {
            env.sort_values();
        }
        // `env = { … }` written on one line: even out its spacing.
        if added && inline {
            env.fmt();
        }
        if env.is_empty() {
            self.doc.remove("env");
        }
        Ok(())
    }

    /// Writes the file atomically if its text changed; returns whether it did.
    pub(crate) fn save(&mut self, scratch: &Scratch) -> anyhow::Result<bool> {
        match self.prepare(scratch)? {
            Some(prepared) => {
                prepared.put()?;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// The file's new text written and synced in the scratch folder, one
    /// rename from replacing it; `None` when its text did not change. The
    /// text counts as saved from here on: put it in place, or load the file again.
    pub(crate) fn prepare(&mut self, scratch: &Scratch) -> anyhow::Result<Option<Prepared>> {
        let text = self.text();
        if text == self.original {
            return Ok(None);
        }
        if let Some(dir) = self.path.parent() {
            files::create_real_dir(dir)?;
        }
        let prepared = scratch.prepare(&self.path, text.as_bytes())?;
        self.original = text;
        Ok(prepared)
    }

    /// The file's text as it is saved: in the line endings found, with
    /// the byte order mark found.
    fn text(&self) -> String {
        let mut text = self.doc.to_string();
        if self.crlf {
            let crlf = text.replace("\r\n", "\n").replace('\n', "\r\n");
            // A line break in a multi-line string is part of its value:
            // where one is a lone LF, the file keeps the LF endings
            // `toml_edit` writes rather than change a value.
            // (Compared as debug text, in which `nan` equals itself.)
            let values = |text: &str| {
                toml::from_str::<toml::Table>(text)
                    .ok()
                    .map(|table| format!("{table:?}"))
            };
            if values(&crlf) == values(&text) {
                text = crlf;
            }
        }
        if self.bom {
            text.insert(0, '\u{feff}');
        }
        text
    }
}

/// ` at line L, column C` of byte `offset` in `text`.
fn position(text: &str, offset: usize) -> String {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    format!(" at line {line}, column {column}")
}

/// Everything in a config text but `[env]`; `None` when it does not parse.
pub(crate) fn settings_besides_env(text: &str) -> Option<toml::Table> {
    let mut table: toml::Table = toml::from_str(text).ok()?;
    table.remove("env");
    Some(table)
}

/// The var an `[env]` entry holds, in the forms cargo reads: a string, or
/// a table with a string `value` and optional `force` and `relative`.
fn entry_var(item: &Item) -> anyhow::Result<ConfigVar> {
    if let Some(value) = item.as_str() {
        return Ok(ConfigVar::plain(value));
    }
    let table = item
        .as_table_like()
        .context("is neither a string nor `{ value = \"…\" }`")?;
    let value = table
        .get("value")
        .and_then(Item::as_str)
        .context("has no string `value`")?;
    let option = |key: &str| match table.get(key) {
        None => Ok(false),
        Some(item) => item
            .as_bool()
            .with_context(|| format!("has a `{key}` that is neither true nor false")),
    };
    Ok(ConfigVar {
        value: VarValue::Plain(value.to_owned()),
        force: option("force")?,
        relative: option("relative")?,
        sealed: None,
    })
}

/// A new entry: a plain string unless the var has options on.
fn new_entry(var: &ConfigVar) -> Item {
    let value = var.plain_value().unwrap_or_default();
    if var.options().is_empty() {
        return Item::Value(string(value));
    }
    let mut table = toml_edit::InlineTable::new();
    table.insert("value", string(value));
    for option in var.options() {
        table.insert(option, true.into());
    }
    toml_edit::value(table)
}

/// Rewrites an entry to hold `var`, keeping its form and comments: only the
/// value and the options that changed are touched.
fn set_entry(item: &mut Item, var: &ConfigVar) {
    let value = var.plain_value().unwrap_or_default();
    let mut reshaped = false;
    match item.as_table_like_mut() {
        Some(table) => {
            match table.get_mut("value").and_then(Item::as_value_mut) {
                Some(slot) => replace_keeping_decor(slot, string(value)),
                None => {
                    table.insert("value", Item::Value(string(value)));
                }
            }
            for (key, on) in [("force", var.force), ("relative", var.relative)] {
                let now = table.get(key).map(Item::as_bool);
                if on && now != Some(Some(true)) {
                    table.insert(key, toml_edit::value(true));
                    reshaped = true;
                } else if !on && now.is_some_and(|b| b != Some(false)) {
                    // Off: gone, also when it was not even a bool.
                    table.remove(key);
                    reshaped = true;
                }
            }
        }
        None => {
            let mut new = new_entry(var);
            if let (Some(old), Some(slot)) = (item.as_value(), new.as_value_mut()) {
                *slot.decor_mut() = old.decor().clone();
            }
            *item = new;
        }
    }
    // Keys added to or removed from `{ … }` leave its spacing uneven: tidy it.
    if let (true, Item::Value(Value::InlineTable(table))) = (reshaped, item) {
        table.fmt();
    }
}

/// `value` as a TOML string on one line: a line break is written `\n`,
/// never as a multi-line string, whose line breaks are part of the value
/// and would change with the file's line endings.
fn string(value: &str) -> Value {
    if !value.contains(['\n', '\r']) {
        return Value::from(value);
    }
    let mut quoted = String::from("\"");
    for c in value.chars() {
        match c {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            '\n' => quoted.push_str("\\n"),
            '\r' => quoted.push_str("\\r"),
            '\t' => quoted.push_str("\\t"),
            c if c.is_control() && c <= '\u{7f}' => {
                quoted.push_str(&format!("\\u{:04X}", c as u32))
            }
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    let mut string = quoted.parse().unwrap_or_else(|_| Value::from(value));
    string.decor_mut().clear();
    string
}

fn replace_keeping_decor(slot: &mut Value, mut new: Value) {
    *new.decor_mut() = slot.decor().clone();
    *slot = new;
}

/// Parses `NAME=VALUE`, checking the name is a valid environment variable name.
pub(crate) fn parse_assignment(arg: &str) -> crate::Result<(String, String)> {
    let invalid = |message: String| Err(Error::InvalidInput(message));
    let Some((name, value)) = arg.split_once('=') else {
        return invalid(format!(
            "`{}` is not of the form NAME=VALUE",
            printable(arg)
        ));
    };
    if name.is_empty() {
        return invalid(format!(
            "`{}` has no name before `=`: expected NAME=VALUE",
            printable(arg)
        ));
    }
    check_name(name)?;
    if value.contains('\0') {
        return invalid(format!(
            "the value of `{name}` contains a NUL byte, which an environment variable cannot hold"
        ));
    }
    Ok((name.to_owned(), value.to_owned()))
}

/// Config var names are environment variable names: `[A-Za-z_][A-Za-z0-9_]*`.
pub(crate) fn check_name(name: &str) -> crate::Result<()> {
    if !is_var_name(name) {
        return Err(Error::InvalidInput(format!(
            "invalid config var name `{}`: names are letters, digits and `_`, not starting with a digit",
            name.escape_debug()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod fuzz;
#[cfg(test)]
mod tests;
