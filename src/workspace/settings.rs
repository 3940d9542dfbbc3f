//! The manifest's release-log settings: tier, `promote-from`, slugs, the
//! commands a release runs, the risky config vars it may set.

use crate::error::Error;
use crate::ledger::config_vars::is_var_name;
use crate::ledger::{Environment, Tier};

/// The release-log settings of the root manifest, as one environment sees them.
pub(super) struct Settings<'a> {
    /// `[workspace.metadata.release-log]`, else `[package.metadata.release-log]`.
    pub(super) table: Option<&'a (toml::Table, &'static str)>,
    pub(super) env: &'a Environment,
}

impl Settings<'_> {
    /// A setting, with its full name for messages: the environment's own
    /// (`….environments.NAME.key`), else the workspace's.
    fn get(&self, key: &str) -> Option<(&toml::Value, String)> {
        let (table, section) = self.table?;
        let own = (!self.env.is_default())
            .then(|| {
                let value = table.get("environments")?.get(self.env.name())?.get(key)?;
                Some((
                    value,
                    format!(
                        "{section}.metadata.release-log.environments.{}.{key}",
                        self.env
                    ),
                ))
            })
            .flatten();
        own.or_else(|| {
            let value = table.get(key)?;
            Some((value, format!("{section}.metadata.release-log.{key}")))
        })
    }
}

/// The tier setting of an environment; the error names the setting.
pub(super) fn read_tier(settings: &Settings<'_>) -> Result<Tier, String> {
    let Some((value, setting)) = settings.get("tier") else {
        return Ok(Tier::default());
    };
    match value.as_str() {
        Some(s) => s.parse().map_err(|e| format!("`{setting}`: {e}")),
        None => Err(format!(
            "`{setting}`: expected \"basic\" or \"advanced\", found {value}"
        )),
    }
}

/// The commands a release runs: argv arrays, never a shell string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Hooks {
    /// `release-command`: runs before a release becomes current.
    pub(crate) release_command: Option<Vec<String>>,
    /// `release-timeout`: how long it may run.
    pub(crate) release_timeout: std::time::Duration,
    /// `health-check`: runs once a release became current.
    pub(crate) health_check: Option<Vec<String>>,
    /// `health-timeout`: how long one try may run.
    pub(crate) health_timeout: std::time::Duration,
    /// `health-retries`: how many more tries after the first, a second apart.
    pub(crate) health_retries: u32,
    /// `post-release`: runs after every recorded release.
    pub(crate) post_release: Option<Vec<String>>,
}

impl Hooks {
    /// Whether any command runs with a release's config vars.
    pub(crate) fn any(&self) -> bool {
        self.release_command.is_some() || self.health_check.is_some() || self.post_release.is_some()
    }
}

impl Default for Hooks {
    fn default() -> Self {
        Self {
            release_command: None,
            release_timeout: std::time::Duration::from_secs(600),
            health_check: None,
            health_timeout: std::time::Duration::from_secs(30),
            health_retries: 2,
            post_release: None,
        }
    }
}

/// The hook settings of an environment.
pub(super) fn read_hooks(settings: &Settings<'_>) -> Result<Hooks, String> {
    let argv = |key: &str| -> Result<Option<Vec<String>>, String> {
        let Some((value, name)) = settings.get(key) else {
            return Ok(None);
        };
        let words: Option<Vec<String>> = value
            .as_array()
            .and_then(|a| a.iter().map(|w| w.as_str().map(str::to_owned)).collect());
        match words {
            Some(words) if !words.is_empty() && !words[0].is_empty() => Ok(Some(words)),
            _ => Err(format!(
                "`{name}`: expected a command as an array of strings, like [\"myapp\", \
                 \"migrate\"] (never a shell string), found {value}"
            )),
        }
    };
    let duration = |key: &str, default: std::time::Duration| match settings.get(key) {
        None => Ok(default),
        Some((toml::Value::String(text), name)) => text
            .parse::<jiff::SignedDuration>()
            .ok()
            .and_then(|d| std::time::Duration::try_from(d).ok())
            .filter(|d| !d.is_zero())
            .ok_or_else(|| {
                format!("`{name}`: expected a duration like \"10m\" or \"30s\", found \"{text}\"")
            }),
        Some((value, name)) => Err(format!(
            "`{name}`: expected a duration like \"10m\" or \"30s\", found {value}"
        )),
    };
    let defaults = Hooks::default();
    let health_retries = match settings.get("health-retries") {
        None => defaults.health_retries,
        Some((toml::Value::Integer(n), _)) if (0..=100).contains(n) => *n as u32,
        Some((value, name)) => {
            return Err(format!(
                "`{name}`: expected a number from 0 to 100, found {value}"
            ));
        }
    };
    Ok(Hooks {
        release_command: argv("release-command")?,
        release_timeout: duration("release-timeout", defaults.release_timeout)?,
        health_check: argv("health-check")?,
        health_timeout: duration("health-timeout", defaults.health_timeout)?,
        health_retries,
        post_release: argv("post-release")?,
    })
}

/// `promote-from` of a named environment (the default one takes deploys).
pub(super) fn read_promote_from(settings: &Settings<'_>) -> Result<Option<Environment>, String> {
    if settings.env.is_default() {
        return Ok(None);
    }
    let own = settings.table.and_then(|(table, section)| {
        let value = table
            .get("environments")?
            .get(settings.env.name())?
            .get("promote-from")?;
        Some((
            value,
            format!(
                "{section}.metadata.release-log.environments.{}.promote-from",
                settings.env
            ),
        ))
    });
    let Some((value, name)) = own else {
        return Ok(None);
    };
    let from = value
        .as_str()
        .ok_or_else(|| format!("`{name}`: expected an environment's name, found {value}"))
        .and_then(|s| Environment::named(s).map_err(|e| format!("`{name}`: {e}")))?;
    if &from == settings.env {
        return Err(format!(
            "`{name}`: an environment cannot promote from itself"
        ));
    }
    Ok(Some(from))
}

/// The slug settings: `slug-store` (a directory or `s3://bucket/prefix`)
/// and `keep-slugs` (how many built slugs to keep here).
pub(super) fn read_slug_settings(
    settings: &Settings<'_>,
) -> Result<(Option<String>, Option<usize>), String> {
    let store = match settings.get("slug-store") {
        None => None,
        Some((toml::Value::String(spec), _)) => Some(spec.clone()),
        Some((value, name)) => {
            return Err(format!(
                "`{name}`: expected a directory or `s3://bucket/prefix`, found {value}"
            ));
        }
    };
    let keep = match settings.get("keep-slugs") {
        None => None,
        Some((toml::Value::Integer(n), _)) if *n >= 1 => usize::try_from(*n).ok(),
        Some((value, name)) => {
            return Err(format!(
                "`{name}`: expected a number of slugs, 1 or more, found {value}"
            ));
        }
    };
    Ok((store, keep))
}

/// `secret-recipients`: the public keys (age `age1…`, SSH `ssh-ed25519 …`
/// or `ssh-rsa …`) team secrets are sealed to; empty without the setting.
pub(super) fn read_secret_recipients(settings: &Settings<'_>) -> Result<Vec<String>, String> {
    let Some((value, name)) = settings.get("secret-recipients") else {
        return Ok(Vec::new());
    };
    let keys: Option<Vec<String>> = value.as_array().and_then(|a| {
        a.iter()
            .map(|k| k.as_str().map(|s| s.trim().to_owned()))
            .collect()
    });
    let Some(keys) = keys else {
        return Err(format!(
            "`{name}`: expected an array of public keys, like [\"ssh-ed25519 AAAA… alice\", \
             \"age1…\"], found {value}"
        ));
    };
    crate::secrets::team::check_recipients(&keys).map_err(|e| format!("`{name}`: {e}"))?;
    Ok(keys)
}

/// Whether config var `name` changes how programs start rather than what
/// they do: the dynamic loader's variables (`LD_*`, `DYLD_*`), the ones a
/// shell reads at start (`BASH_ENV`, `ENV`, `PROMPT_COMMAND`, `IFS`, …),
/// `PATH`, and those that make git or cargo run another program. A release
/// records them, but nothing starts a program with them, or prints them for
/// a shell, unless `allow-env` names them.
pub(crate) fn is_risky(name: &str) -> bool {
    const NAMES: [&str; 17] = [
        "PATH",
        "IFS",
        "ENV",
        "BASH_ENV",
        "PROMPT_COMMAND",
        "SHELLOPTS",
        "BASHOPTS",
        "PS4",
        "GIT_SSH",
        "GIT_SSH_COMMAND",
        "GIT_ASKPASS",
        "GIT_EXEC_PATH",
        "GIT_PROXY_COMMAND",
        "RUSTC",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_HOME",
    ];
    const PREFIXES: [&str; 4] = ["LD_", "DYLD_", "GIT_CONFIG", "CARGO_BUILD_"];
    NAMES.contains(&name) || PREFIXES.iter().any(|p| name.starts_with(p))
}

/// `allow-env`: the risky config vars ([`is_risky`]) the workspace lets a
/// release apply, by name or by a prefix ending in `*` (`"DYLD_*"`); empty
/// without the setting.
pub(super) fn read_allow_env(settings: &Settings<'_>) -> Result<Vec<String>, String> {
    let Some((value, name)) = settings.get("allow-env") else {
        return Ok(Vec::new());
    };
    let names: Option<Vec<String>> = value
        .as_array()
        .and_then(|a| a.iter().map(|n| n.as_str().map(str::to_owned)).collect());
    match names {
        Some(names)
            if names
                .iter()
                .all(|n| is_var_name(n.strip_suffix('*').unwrap_or(n))) =>
        {
            Ok(names)
        }
        _ => Err(format!(
            "`{name}`: expected an array of config var names, like [\"PATH\", \"DYLD_*\"], \
             found {value}"
        )),
    }
}

impl super::Workspace {
    /// Refuses a risky config var ([`is_risky`]) among `names` that
    /// `allow-env` does not name: `run`, `--shell` and the commands a
    /// release runs start nothing with it. The message names the var and
    /// the setting that allows it.
    pub(crate) fn refuse_risky_env<'a>(
        &self,
        names: impl IntoIterator<Item = &'a String>,
    ) -> crate::Result<()> {
        match self.risky_not_allowed(names)?.first() {
            None => Ok(()),
            Some(name) => Err(Error::InvalidInput(format!(
                "config var `{name}` changes how programs start, so it is not applied unless \
                 the workspace allows it: add `allow-env = [\"{name}\"]` to {}",
                self.settings_section()
            ))),
        }
    }

    /// The risky config vars among `names` that `allow-env` does not name.
    pub(crate) fn risky_not_allowed<'a>(
        &self,
        names: impl IntoIterator<Item = &'a String>,
    ) -> crate::Result<Vec<String>> {
        let settings = Settings {
            table: self.settings.as_ref(),
            env: &self.env,
        };
        let allowed = read_allow_env(&settings).map_err(|e| {
            Error::InvalidSetting(format!(
                "invalid {e} in `{}`",
                self.manifest_path().display()
            ))
        })?;
        let allows = |name: &str| {
            allowed.iter().any(|a| match a.strip_suffix('*') {
                Some(prefix) => name.starts_with(prefix),
                None => a == name,
            })
        };
        Ok(names
            .into_iter()
            .filter(|name| is_risky(name) && !allows(name))
            .cloned()
            .collect())
    }

    /// Where the release-log settings go, as a message names it.
    pub(crate) fn settings_section(&self) -> String {
        match &self.settings {
            Some((_, section)) => format!("`[{section}.metadata.release-log]` in Cargo.toml"),
            None => "`[workspace.metadata.release-log]` (or `[package.metadata.release-log]`) \
                     in Cargo.toml"
                .to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn risky_names() {
        for name in [
            "LD_PRELOAD",
            "LD_LIBRARY_PATH",
            "LD_AUDIT",
            "DYLD_INSERT_LIBRARIES",
            "BASH_ENV",
            "ENV",
            "PROMPT_COMMAND",
            "PATH",
            "IFS",
            "GIT_SSH_COMMAND",
            "GIT_CONFIG_COUNT",
            "RUSTC_WRAPPER",
        ] {
            assert!(is_risky(name), "{name}");
        }
        for name in [
            "DATABASE_URL",
            "PORT",
            "GIT_SHA",
            "ENVIRONMENT",
            "MY_PATH",
            "RUST_LOG",
        ] {
            assert!(!is_risky(name), "{name}");
        }
    }

    #[test]
    fn allow_env_takes_names_and_prefixes() {
        let read = |text: &str| {
            let table: toml::Table = toml::from_str(text).unwrap();
            let pair = (table, "workspace");
            let env = Environment::default();
            read_allow_env(&Settings {
                table: Some(&pair),
                env: &env,
            })
        };
        assert_eq!(read("").unwrap(), Vec::<String>::new());
        assert_eq!(
            read("allow-env = [\"PATH\", \"DYLD_*\"]").unwrap(),
            ["PATH", "DYLD_*"]
        );
        for bad in [
            "allow-env = \"PATH\"",
            "allow-env = [\"A B\"]",
            "allow-env = [1]",
        ] {
            assert!(
                read(bad)
                    .unwrap_err()
                    .starts_with("`workspace.metadata.release-log.allow-env`: expected"),
                "{bad}"
            );
        }
    }
}
