//! The manifest's release-log settings: tier, `promote-from`, slugs, the commands a release runs.

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
