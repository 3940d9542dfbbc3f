//! Environments: which one a command is about, and where its release files live.
//!
//! This is the one place that knows the layout. The default environment is
//! the ledger as it always was (`.releases/v*.toml`, `.releases/current`);
//! another environment keeps its own numbering, chain and `current` in
//! `.releases/environments/NAME/`. Slugs, the lock and the caches of built
//! files are shared by all of them, in `.releases/`.

use std::fmt;
use std::path::{Path, PathBuf};

use super::DIR;
use crate::text::printable;

/// The folder, under `.releases/`, of the environments other than the default.
pub(crate) const ENVIRONMENTS: &str = "environments";

/// The name of the default environment, as `--env` and `promote` take it.
pub const DEFAULT_ENV: &str = "default";

/// What an environment's own folder ignores: what is local to a machine.
pub(crate) const GITIGNORE: &str = "\
# Written by cargo release-log. Commit the release files (v*.toml);
# the current pointer and the index stay local.
/current
/.index
/.chain
";

/// An environment of the workspace: the default one, or one named with `--env`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Environment {
    /// `None` for the default environment.
    name: Option<String>,
}

impl Environment {
    /// The environment `name` names (`default` is the default one), or why
    /// the name cannot be one: names are folder names, so they are short
    /// lowercase words.
    pub fn named(name: &str) -> Result<Self, String> {
        if name == DEFAULT_ENV {
            return Ok(Self::default());
        }
        let valid = (1..=40).contains(&name.len())
            && name.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if valid {
            Ok(Self {
                name: Some(name.to_owned()),
            })
        } else {
            Err(format!(
                "invalid environment name `{}`: expected a lowercase letter, then lowercase \
                 letters, digits, `-` and `_` (at most 40)",
                printable(name)
            ))
        }
    }

    /// Whether this is the default environment, whose plain config vars
    /// live in `[env]` of `.cargo/config.toml`.
    pub fn is_default(&self) -> bool {
        self.name.is_none()
    }

    /// The name, `default` for the default environment.
    pub fn name(&self) -> &str {
        self.name.as_deref().unwrap_or(DEFAULT_ENV)
    }

    /// `.releases/`: the lock, the slugs and the caches every environment shares.
    pub(crate) fn base(root: &Path) -> PathBuf {
        root.join(DIR)
    }

    /// The folder of this environment's release files and `current`.
    pub(crate) fn dir(&self, root: &Path) -> PathBuf {
        match &self.name {
            None => Self::base(root),
            Some(name) => Self::base(root).join(ENVIRONMENTS).join(name),
        }
    }

    /// The folder of this environment's release files, from the workspace
    /// root, as a user types it: `.releases/` or `.releases/environments/NAME/`.
    pub(crate) fn folder(&self) -> String {
        match &self.name {
            None => format!("{DIR}/"),
            Some(name) => format!("{DIR}/{ENVIRONMENTS}/{name}/"),
        }
    }

    /// The release file `vN.toml`, from the workspace root, as a user types it.
    pub(crate) fn release_file(&self, version: u64) -> String {
        format!("{}v{version}.toml", self.folder())
    }

    /// The environments other than the default that have a folder, by
    /// name; folders whose names are no environment's are left out.
    pub(crate) fn recorded(root: &Path) -> Vec<Environment> {
        let dir = Self::base(root).join(ENVIRONMENTS);
        let Ok(true) = crate::files::real_dir(&dir) else {
            return Vec::new();
        };
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return Vec::new();
        };
        let mut envs: Vec<Environment> = entries
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .filter_map(|e| e.file_name().to_str().and_then(|n| Self::named(n).ok()))
            .filter(|env| !env.is_default())
            .collect();
        envs.sort();
        envs
    }
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(Environment::named("default").unwrap().is_default());
        assert_eq!(Environment::named("staging").unwrap().name(), "staging");
        assert_eq!(Environment::named("eu-west_2").unwrap().name(), "eu-west_2");
        for bad in ["", "Prod", "1st", "a/b", "..", "-x", &"a".repeat(41), "é"] {
            assert!(Environment::named(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn layout() {
        let root = Path::new("/w");
        assert_eq!(Environment::default().dir(root), Path::new("/w/.releases"));
        assert_eq!(
            Environment::named("production").unwrap().dir(root),
            Path::new("/w/.releases/environments/production")
        );
    }
}
