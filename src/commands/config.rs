//! `config`, `config get/set/unset`: config vars; a set or unset is a new release.

use crate::context::Context;
use crate::error::Error;
use crate::ledger::config_vars::{check_value, plain_vars};
use crate::ledger::retention::Pruned;
use crate::ledger::{ChangeKind, ConfigDiff, ConfigVar, ConfigVars, Release, VarValue};
use crate::secrets;
use crate::text::quote_list;
use crate::transaction::{Draft, EnvState, Transaction, env_state};
use crate::workspace::Workspace;
use crate::workspace::env_config::{check_name, parse_assignment};

/// Whether `config set` keeps a value secret.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Secrecy {
    /// Secret when the var is secret already, or its name (`…_KEY`,
    /// `…_TOKEN`, `…PASSWORD`, …) or value (a URL with a password) looks
    /// secret.
    #[default]
    Auto,
    /// Secret (`--secret`).
    Secret,
    /// Plain, kept in release files and `[env]` (`--plain`).
    Plain,
}

/// The current release's config vars, and how `[env]` differs from them.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct ConfigShown {
    /// The current release (`None` before the first).
    pub release: Option<u64>,
    /// Its config vars.
    pub vars: ConfigVars,
    /// When `[env]` holds an edit the release does not: what it is, worded for a warning.
    pub drift: Option<String>,
}

/// What a config change did.
#[derive(Debug)]
#[non_exhaustive]
pub struct ConfigChanged {
    /// The new release.
    pub release: Release,
    /// The vars set, in the order given, as recorded (a secret's value masked).
    pub set: Vec<(String, ConfigVar)>,
    /// The vars the tool decided to keep secret, with why: their name or
    /// value looks secret.
    pub secrets: Vec<(String, String)>,
    /// The vars removed, in the order given.
    pub removed: Vec<String>,
    /// Set when the change left rolled-back code: the deploy whose code runs again.
    pub restored_deploy: Option<u64>,
    /// The vars already had these values: nothing was recorded, and
    /// `release` is the current one (`force` records a release anyway).
    pub unchanged: bool,
    /// What the tier's retention removed afterwards.
    pub pruned: Pruned,
}

impl Workspace {
    /// `config`: the current release's config vars (none before the first release).
    pub fn config(&self) -> crate::Result<ConfigShown> {
        let env = self.env_file()?;
        self.read_ledger(|ledger| {
            let Some(current) = ledger.current()? else {
                return Ok(ConfigShown::default());
            };
            let drift = match env_state(ledger, env.as_ref(), &current, self) {
                Ok(EnvState::HandEdited(vars)) => Some(format!(
                    "`[env]` in {} differs from v{}:\n{}`cargo release-log sync` discards the edit, `deploy` records it",
                    env.as_ref().map(|e| e.relative_path(self.root())).unwrap_or_default(),
                    current.version,
                    ConfigDiff::between(&plain_vars(&current.config), &vars)
                )),
                Ok(EnvState::Matches | EnvState::Behind) => None,
                Err(e) => Some(e.to_string()),
            };
            Ok(ConfigShown {
                release: Some(current.version),
                vars: current.config,
                drift,
            })
        })
    }

    /// `config set NAME=VALUE…`: one release with the new values. A var is
    /// kept secret (its value out of git) when its name or value looks
    /// secret, or it already is; see [`Workspace::config_set_with`].
    pub fn config_set(
        &self,
        ctx: &Context,
        assignments: &[String],
    ) -> crate::Result<ConfigChanged> {
        self.config_set_with(ctx, assignments, Secrecy::Auto)
    }

    /// `config set [--secret|--plain] NAME=VALUE…`.
    pub fn config_set_with(
        &self,
        ctx: &Context,
        assignments: &[String],
        secrecy: Secrecy,
    ) -> crate::Result<ConfigChanged> {
        self.config_set_forced(ctx, assignments, secrecy, false)
    }

    /// `config set [--secret|--plain] [--force] NAME=VALUE…`: values equal
    /// to those the current release has record nothing
    /// ([`ConfigChanged::unchanged`]) unless `force`.
    pub fn config_set_forced(
        &self,
        ctx: &Context,
        assignments: &[String],
        secrecy: Secrecy,
        force: bool,
    ) -> crate::Result<ConfigChanged> {
        let mut given: Vec<(String, String)> = Vec::new();
        for arg in assignments {
            let (name, value) = parse_assignment(arg)?;
            if given.iter().any(|(n, _)| *n == name) {
                return Err(given_twice(&name));
            }
            check_value(&name, value.len())?;
            given.push((name, value));
        }
        if given.is_empty() {
            return Err(Error::InvalidInput(
                "no config vars given: pass NAME=VALUE".to_owned(),
            ));
        }
        let names: Vec<&str> = given.iter().map(|(n, _)| n.as_str()).collect();
        let change = format!("Config add {}", names.join(", "));
        let mut set = Vec::new();
        let mut secrets = Vec::new();
        let changed = change_vars(self, ctx, change, force, |config| {
            for (name, value) in &given {
                let var = match config.get(name) {
                    Some(var) => var.clone(),
                    None => ConfigVar::plain(""),
                };
                let (var, why) = self.decide(name, value, secrecy, &var)?;
                secrets.extend(why.map(|why| (name.clone(), why.to_owned())));
                set.push((name.clone(), var.clone()));
                config.insert(name.clone(), var);
            }
            Ok(())
        })?;
        if !changed.unchanged {
            self.warn_risky(ctx, given.iter().map(|(name, _)| name));
        }
        Ok(ConfigChanged {
            set,
            secrets,
            ..changed
        })
    }

    /// Warns of each var among `names` that changes how programs start and
    /// that `allow-env` does not name: recorded, but not applied.
    fn warn_risky<'a>(&self, ctx: &Context, names: impl IntoIterator<Item = &'a String>) {
        for name in self.risky_not_allowed(names).unwrap_or_default() {
            ctx.warn(&format!(
                "`{name}` changes how programs start: it is recorded, but `run`, `--shell` and \
                 the release's commands refuse it until `allow-env = [\"{name}\"]` is added to {}",
                self.settings_section()
            ));
        }
    }

    /// `config protect [NAME…]`: moves the values of plain vars into the
    /// secret store, as one release; without names, every plain var whose
    /// name or value looks secret. Values already committed stay in git's
    /// history: rotate them.
    ///
    /// With `secret-recipients` set, it seals secrets to them instead, in
    /// the release file: the vars named (or that look secret), every secret
    /// of this machine's store, and, when the recipients changed, every
    /// team secret again under a new team key.
    pub fn config_protect(&self, ctx: &Context, names: &[String]) -> crate::Result<ConfigChanged> {
        for name in names {
            check_name(name)?;
        }
        if !self.secret_recipients()?.is_empty() {
            return self.team_protect(ctx, names);
        }
        let mut protected = Vec::new();
        let mut set = Vec::new();
        let changed = change_vars_named(self, ctx, true, |config| {
            let chosen: Vec<String> = if names.is_empty() {
                config
                    .iter()
                    .filter(|(name, var)| {
                        var.plain_value()
                            .is_some_and(|v| secrets::looks_secret(name, v).is_some())
                    })
                    .map(|(name, _)| name.clone())
                    .collect()
            } else {
                names.to_vec()
            };
            for name in &chosen {
                let value = match config.get(name) {
                    None => {
                        return Err(Error::ConfigVarNotSet(format!(
                            "config var {} not set",
                            quote_list(&[name], "is", "are")
                        )));
                    }
                    Some(var) => match var.plain_value() {
                        Some(value) => value.to_owned(),
                        None => continue,
                    },
                };
                let var = &config[name];
                let (secret, _) = self.decide(name, &value, Secrecy::Secret, var)?;
                set.push((name.clone(), secret.clone()));
                config.insert(name.clone(), secret);
                protected.push(name.clone());
            }
            if protected.is_empty() {
                return Err(Error::InvalidInput(if names.is_empty() {
                    "no plain config var looks secret; name the vars to protect".to_owned()
                } else {
                    "those vars are secret already".to_owned()
                }));
            }
            Ok(format!("Config protect {}", protected.join(", ")))
        })?;
        Ok(ConfigChanged { set, ..changed })
    }

    /// `config protect` with `secret-recipients`: see [`Workspace::config_protect`].
    fn team_protect(&self, ctx: &Context, names: &[String]) -> crate::Result<ConfigChanged> {
        use crate::secrets::team::same_recipients;
        let recipients = self.secret_recipients()?;
        let mut set = Vec::new();
        let mut access = None;
        let changed = change_vars_named(self, ctx, true, |config| {
            let recorded = self.recorded_team()?;
            let rotate = recorded
                .as_ref()
                .is_none_or(|team| !same_recipients(&team.recipients, &recipients));
            let values = self.values_to_protect(config, names, rotate)?;
            let key = self.protecting_key(&recipients, rotate)?;
            self.choose_team_key(key.clone());
            let moved = seal_values(&key, &values, config, &mut set)?;
            let mut change = Vec::new();
            if rotate {
                let old = recorded.map(|t| t.recipients).unwrap_or_default();
                let (gained, lost) = recipients_changed(&old, &recipients);
                let mut parts: Vec<String> = gained.iter().map(|l| format!("+{l}")).collect();
                parts.extend(lost.iter().map(|l| format!("-{l}")));
                change.push(format!("Recipients {}", parts.join(", ")));
                access = Some((gained, lost));
            }
            if !moved.is_empty() {
                change.push(format!("Config protect {}", moved.join(", ")));
            }
            Ok(change.join("; "))
        })?;
        if let Some((gained, lost)) = access {
            warn_access(ctx, changed.release.version, &gained, &lost);
        }
        Ok(ConfigChanged { set, ..changed })
    }

    /// The vars of `config` to seal, with their values: those `names`
    /// names, or the plain vars that look secret; and, when the key
    /// `rotate`s or a secret is not sealed yet, the secrets. Every value is
    /// read before anything is sealed: a secret this machine cannot open
    /// refuses the whole change, as does a name that is not set, or nothing
    /// to do.
    fn values_to_protect(
        &self,
        config: &ConfigVars,
        names: &[String],
        rotate: bool,
    ) -> crate::Result<Vec<(String, String)>> {
        let mut values = Vec::new();
        for (name, var) in config.iter() {
            let chosen = match var.plain_value() {
                Some(value) if names.is_empty() => secrets::looks_secret(name, value).is_some(),
                Some(_) => names.contains(name),
                None => var.sealed.is_none() || rotate,
            };
            if chosen {
                values.push((name.clone(), self.reveal(name, var)?));
            }
        }
        if let Some(missing) = names.iter().find(|n| !config.contains_key(*n)) {
            return Err(Error::ConfigVarNotSet(format!(
                "config var {} not set",
                quote_list(&[missing], "is", "are")
            )));
        }
        if values.is_empty() && !rotate {
            return Err(Error::InvalidInput(if names.is_empty() {
                "no plain config var looks secret, and the secrets are sealed to \
                 `secret-recipients` already; name the vars to protect"
                    .to_owned()
            } else {
                "those vars are sealed to `secret-recipients` already".to_owned()
            }));
        }
        Ok(values)
    }

    /// The team key to seal with: a new one for `recipients` when it
    /// `rotate`s (refused unless this machine can open it), else the
    /// current one.
    fn protecting_key(
        &self,
        recipients: &[String],
        rotate: bool,
    ) -> crate::Result<crate::secrets::team::TeamKey> {
        use crate::secrets::team::TeamKey;
        let ids = self.identities()?;
        let key = if rotate {
            let key = TeamKey::generate(recipients)?;
            if TeamKey::open(&key.team, &ids)?.is_none() {
                // Whoever seals must stay able to open.
                return Err(self.sealed_error("the new team key".to_owned(), &ids));
            }
            key
        } else {
            self.team_key(recipients)?
        };
        Ok(key)
    }

    /// `config --cargo-config`: writes the current release's secret vars as
    /// the `[env]` of a cargo config file in the secret store (0600, outside
    /// the workspace and git) and returns its path, so that
    /// `cargo --config <path> run` gives a program cargo starts the secrets,
    /// beside the plain vars `.cargo/config.toml` holds.
    pub fn secret_cargo_config(&self) -> crate::Result<std::path::PathBuf> {
        let shown = self.config()?;
        let secrets: ConfigVars = shown
            .vars
            .iter()
            .filter(|(_, var)| var.is_secret())
            .map(|(name, var)| (name.clone(), var.clone()))
            .collect();
        let mut env = toml_edit::Table::new();
        let metadata: Vec<(String, String)> = self
            .release_environment(None)?
            .into_iter()
            .filter(|(name, _)| name.starts_with("RELEASE_LOG_"))
            .collect();
        // Resolved here: cargo would read a `relative` value from where the file is.
        for (name, value) in self
            .environment(&secrets, self.recorded_team()?.as_ref())?
            .into_iter()
            .chain(metadata)
        {
            let mut entry = toml_edit::InlineTable::new();
            entry.insert("value", value.into());
            if secrets.get(&name).is_some_and(|var| var.force) {
                entry.insert("force", true.into());
            }
            env.insert(&name, toml_edit::value(entry));
        }
        let mut doc = toml_edit::DocumentMut::new();
        doc.insert("env", toml_edit::Item::Table(env));
        let text = format!(
            "# Written by cargo release-log: the secret config vars of {} (v{}).\n\
             # It holds secrets: never commit or share it.\n{doc}",
            self.root().display(),
            shown.release.unwrap_or_default()
        );
        let name = format!(
            "{}.toml",
            &crate::ledger::slugs::sha256_bytes(self.root().as_os_str().as_encoded_bytes())[..16]
        );
        Ok(self
            .secret_store(true)?
            .write_private("cargo-config", &name, text.as_bytes())?)
    }

    /// The var `name` set to `value`: a secret (its value put in the store)
    /// or plain, as `secrecy` says; with [`Secrecy::Auto`], secret when it
    /// was secret, or its name or value looks secret (the reason is
    /// returned, so that the tool says so). `var` keeps its options.
    pub(crate) fn decide(
        &self,
        name: &str,
        value: &str,
        secrecy: Secrecy,
        var: &ConfigVar,
    ) -> crate::Result<(ConfigVar, Option<&'static str>)> {
        let why = match secrecy {
            Secrecy::Plain => None,
            Secrecy::Secret => Some("--secret"),
            Secrecy::Auto if var.is_secret() => Some("it is secret already"),
            Secrecy::Auto => secrets::looks_secret(name, value),
        };
        let Some(why) = why else {
            return Ok((var.with_value(VarValue::Plain(value.to_owned())), None));
        };
        let told = (secrecy == Secrecy::Auto && !var.is_secret()).then_some(why);
        let recipients = self.secret_recipients()?;
        if !recipients.is_empty() {
            // A team secret: sealed in the release file to the recipients.
            let key = self.team_key(&recipients)?;
            let fingerprint = key.fingerprint(name, value);
            if var.sealed.is_some() && var.value == VarValue::Secret(fingerprint.clone()) {
                // The same value, sealed already: nothing changes.
                return Ok((var.clone(), told));
            }
            let (fingerprint, sealed) = key.seal_var(name, value)?;
            return Ok((var.with_sealed(fingerprint, sealed), told));
        }
        let store = self.secret_store(true)?;
        let fingerprint = store.put(name, value)?;
        Ok((var.with_value(VarValue::Secret(fingerprint)), told))
    }

    /// `config unset NAME…`: one release without those vars.
    pub fn config_unset(&self, ctx: &Context, names: &[String]) -> crate::Result<ConfigChanged> {
        let mut removed: Vec<String> = Vec::new();
        for name in names {
            check_name(name)?;
            if removed.contains(name) {
                return Err(given_twice(name));
            }
            removed.push(name.clone());
        }
        if removed.is_empty() {
            return Err(Error::InvalidInput(
                "no config vars given: pass the NAMEs to remove".to_owned(),
            ));
        }
        let change = format!("Config remove {}", removed.join(", "));
        change_vars(self, ctx, change, true, |config| {
            let missing: Vec<&str> = removed
                .iter()
                .filter(|n| config.remove(n.as_str()).is_none())
                .map(String::as_str)
                .collect();
            if !missing.is_empty() {
                return Err(Error::ConfigVarNotSet(format!(
                    "config var {} not set",
                    quote_list(&missing, "is", "are")
                )));
            }
            Ok(())
        })
        .map(|changed| ConfigChanged { removed, ..changed })
    }
}

/// `config get NAME`: one var of the shown config, or why there is none.
impl ConfigShown {
    /// The var `name`, or [`Error::ConfigVarNotSet`].
    pub fn get(&self, name: &str) -> crate::Result<&ConfigVar> {
        self.vars.get(name).ok_or_else(|| {
            Error::ConfigVarNotSet(format!(
                "config var {} not set",
                quote_list(&[name], "is", "are")
            ))
        })
    }
}

fn given_twice(name: &str) -> Error {
    Error::InvalidInput(format!("config var `{name}` is given more than once"))
}

/// Records a release with the current release's add-ons and the edited
/// config. Code that runs because of a rollback is temporary: the new release
/// runs the latest deploy's code again.
fn change_vars(
    ws: &Workspace,
    ctx: &Context,
    change: String,
    force: bool,
    edit: impl FnOnce(&mut ConfigVars) -> crate::Result<()>,
) -> crate::Result<ConfigChanged> {
    change_vars_named(ws, ctx, force, |config| {
        edit(config)?;
        Ok(change)
    })
}

/// [`change_vars`], where the edit also names the change.
fn change_vars_named(
    ws: &Workspace,
    ctx: &Context,
    force: bool,
    edit: impl FnOnce(&mut ConfigVars) -> crate::Result<String>,
) -> crate::Result<ConfigChanged> {
    let mut tx = Transaction::begin_change(ws, ctx)?;
    let current = tx.require_current()?.clone();
    let mut config = current.config.clone();
    let change = edit(&mut config)?;
    let latest = current.latest_code();
    let restored = current.runs_rolled_back_code();
    // Only a real change makes a release, in every tier.
    if !force && !restored && config == current.config {
        return Ok(ConfigChanged {
            release: current,
            set: Vec::new(),
            secrets: Vec::new(),
            removed: Vec::new(),
            restored_deploy: None,
            unchanged: true,
            pruned: Pruned::default(),
        });
    }
    let note = restored.then(|| {
        format!(
            "Runs the code of v{} (the latest deploy) again, leaving the rolled-back code of v{}",
            latest.deploy, current.code.deploy
        )
    });
    let mut draft = Draft::new(ChangeKind::Config, change, latest.clone(), config);
    draft.note = note;
    draft.addon_releases = current.addon_releases.clone();
    let committed = tx.commit(ctx, draft)?;
    let (release, pruned) = (committed.release, committed.pruned);
    Ok(ConfigChanged {
        release,
        set: Vec::new(),
        secrets: Vec::new(),
        removed: Vec::new(),
        restored_deploy: restored.then_some(latest.deploy),
        unchanged: false,
        pruned,
    })
}

/// Seals each of `values` with `key` into `config`, adding each sealed var
/// to `set`; returns the names of the vars that were plain or not sealed
/// before.
fn seal_values(
    key: &crate::secrets::team::TeamKey,
    values: &[(String, String)],
    config: &mut ConfigVars,
    set: &mut Vec<(String, ConfigVar)>,
) -> crate::Result<Vec<String>> {
    let mut moved = Vec::new();
    for (name, value) in values {
        let var = &config[name];
        if var.plain_value().is_some() || var.sealed.is_none() {
            moved.push(name.clone());
        }
        let (fingerprint, sealed) = key.seal_var(name, value)?;
        let secret = var.with_sealed(fingerprint, sealed);
        set.push((name.clone(), secret.clone()));
        config.insert(name.clone(), secret);
    }
    Ok(moved)
}

/// The labels of the recipients `recipients` adds to `old`, and of those it drops.
fn recipients_changed(old: &[String], recipients: &[String]) -> (Vec<String>, Vec<String>) {
    use crate::secrets::team::{key_of, label};
    let keys = |list: &[String]| list.iter().map(|r| key_of(r)).collect::<Vec<_>>();
    let (old_keys, new_keys) = (keys(old), keys(recipients));
    let gained: Vec<String> = recipients
        .iter()
        .filter(|r| !old_keys.contains(&key_of(r)))
        .map(|r| label(r))
        .collect();
    let lost: Vec<String> = old
        .iter()
        .filter(|r| !new_keys.contains(&key_of(r)))
        .map(|r| label(r))
        .collect();
    (gained, lost)
}

/// Warns who `gained` and who `lost` access to the secrets of release `version` on.
fn warn_access(ctx: &Context, version: u64, gained: &[String], lost: &[String]) {
    if !gained.is_empty() {
        ctx.warn(&format!(
            "{} can now open the secrets of v{version} (and of later releases)",
            gained.join(", ")
        ));
    }
    if !lost.is_empty() {
        ctx.warn(&format!(
            "{} can no longer open the secrets of v{version} and later; a removed \
             teammate may still hold the values of earlier releases: rotate them \
             (`cargo release-log config set NAME=<new value>`)",
            lost.join(", ")
        ));
    }
}
