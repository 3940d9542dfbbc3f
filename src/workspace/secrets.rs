//! The workspace's secrets: this machine's secret store, the team key that
//! seals team secrets, and the values a release's config vars reveal.

use std::path::PathBuf;

use super::Workspace;
use super::git;
use super::settings::{Settings, read_secret_recipients};
use crate::error::Error;
use crate::ledger::{ConfigVar, ConfigVars, VarValue};
use crate::secrets::SecretStore;

/// What a command learnt of its ledger's team secrets.
#[derive(Debug, Default)]
pub(crate) struct TeamState {
    /// The current release's `[team]`, once a transaction read it.
    recorded: Option<Option<crate::ledger::config_vars::Team>>,
    /// The team key the command seals with.
    key: Option<crate::secrets::team::TeamKey>,
    /// This machine's identity, read once.
    ids: Option<std::sync::Arc<crate::secrets::team::Identities>>,
}

impl Workspace {
    /// Keeps secret values in the store at `dir` rather than the default
    /// (`CARGO_RELEASE_LOG_SECRETS`, else `cargo-release-log/secrets` in the
    /// user's data folder).
    pub fn with_secret_store(mut self, dir: impl Into<PathBuf>) -> Self {
        self.secrets_dir = Some(dir.into());
        self
    }

    /// The secret store, made when `create`.
    pub(crate) fn secret_store(&self, create: bool) -> crate::Result<SecretStore> {
        let Some(dir) = &self.secrets_dir else {
            return Err(Error::InvalidSetting(
                "there is no folder for the secret store: set CARGO_RELEASE_LOG_SECRETS \
                 (or HOME)"
                    .to_owned(),
            ));
        };
        SecretStore::open(dir, create)?.ok_or_else(|| {
            Error::InvalidSetting(format!(
                "this machine has no secret store (`{}`): no secret was set here",
                dir.display()
            ))
        })
    }

    /// The value of config var `name`: as recorded, or, for a secret, from
    /// this machine's secret store ([`Error::SecretMissing`] when it is
    /// not there). This is how `config get`, `run` and `--shell` see it.
    pub fn reveal(&self, name: &str, var: &ConfigVar) -> crate::Result<String> {
        let fingerprint = match &var.value {
            VarValue::Plain(value) => return Ok(value.clone()),
            VarValue::Secret(fingerprint) => fingerprint,
        };
        if let Some(sealed) = &var.sealed {
            return self.open_sealed(name, sealed);
        }
        let missing = || Error::SecretMissing {
            name: name.to_owned(),
            store: self.secrets_dir.clone(),
        };
        let Some(dir) = &self.secrets_dir else {
            return Err(missing());
        };
        match SecretStore::open(dir, false)? {
            Some(store) => store.get(name, fingerprint)?.ok_or_else(missing),
            None => Err(missing()),
        }
    }

    /// Whether this machine can read the value of every secret of `config`.
    pub(crate) fn has_secret_value(&self, name: &str, var: &ConfigVar) -> bool {
        self.reveal(name, var).is_ok()
    }

    /// A team secret's value: `sealed` opened with this machine's identity
    /// ([`Error::SecretSealed`] when it is not a recipient).
    fn open_sealed(&self, name: &str, sealed: &str) -> crate::Result<String> {
        let ids = self.identities()?;
        let opened = ids.open(sealed)?;
        let Some(opened) = opened else {
            return Err(self.sealed_error(format!("the value of secret config var `{name}`"), &ids));
        };
        crate::secrets::team::unbind(name, &opened)?.ok_or_else(|| {
            Error::Other(anyhow::anyhow!(
                "the sealed value of config var `{name}` is another var's: the release file was edited"
            ))
        })
    }

    /// [`Error::SecretSealed`] for `what`, naming the recipients (the
    /// current release's, else the setting's) and the keys tried.
    pub(crate) fn sealed_error(
        &self,
        what: String,
        ids: &crate::secrets::team::Identities,
    ) -> Error {
        let recorded = self
            .team
            .borrow()
            .recorded
            .clone()
            .flatten()
            .map(|t| t.recipients);
        let recipients = match recorded {
            Some(r) => r,
            None => self.secret_recipients().unwrap_or_default(),
        };
        let mut identity = ids.describe();
        for skipped in &ids.skipped {
            identity.push_str(&format!("; skipped {skipped}"));
        }
        Error::SecretSealed {
            what,
            recipients: if recipients.is_empty() {
                "none named in `secret-recipients`".to_owned()
            } else {
                crate::secrets::team::labels(&recipients)
            },
            identity,
        }
    }

    /// `secret-recipients`: the public keys team secrets are sealed to
    /// (none: secrets stay in this machine's store).
    pub(crate) fn secret_recipients(&self) -> crate::Result<Vec<String>> {
        let settings = Settings {
            table: self.settings.as_ref(),
            env: &self.env,
        };
        read_secret_recipients(&settings).map_err(|e| {
            Error::InvalidSetting(format!("invalid {e} in `{}`", self.manifest_path.display()))
        })
    }

    /// Notes the team of the release a transaction starts from. A team key
    /// chosen earlier for another team (a library caller's earlier command,
    /// before another machine changed the recipients) is dropped.
    pub(crate) fn note_recorded_team(&self, team: Option<crate::ledger::config_vars::Team>) {
        let mut state = self.team.borrow_mut();
        if let (Some(recorded), Some(key)) = (&team, &state.key)
            && key.team != *recorded
        {
            state.key = None;
        }
        state.recorded = Some(team);
    }

    /// The team of the current release, as the transaction read it.
    pub(crate) fn recorded_team(&self) -> crate::Result<Option<crate::ledger::config_vars::Team>> {
        if let Some(recorded) = self.team.borrow().recorded.clone() {
            return Ok(recorded);
        }
        let team = self.read_ledger(|ledger| Ok(ledger.current()?.and_then(|c| c.team)))?;
        self.note_recorded_team(team.clone());
        Ok(team)
    }

    /// This machine's keys for team secrets, read on first use.
    pub(crate) fn identities(
        &self,
    ) -> crate::Result<std::sync::Arc<crate::secrets::team::Identities>> {
        if let Some(ids) = self.team.borrow().ids.clone() {
            return Ok(ids);
        }
        let ids = std::sync::Arc::new(crate::secrets::team::Identities::load()?);
        self.team.borrow_mut().ids = Some(ids.clone());
        Ok(ids)
    }

    /// The team key this command seals with, once chosen.
    pub(crate) fn chosen_team_key(&self) -> Option<crate::secrets::team::TeamKey> {
        self.team.borrow().key.clone()
    }

    /// Sets the team key this command seals with (and records).
    pub(crate) fn choose_team_key(&self, key: crate::secrets::team::TeamKey) {
        self.team.borrow_mut().key = Some(key);
    }

    /// The team key to seal a new secret with: the current release's,
    /// opened with this machine's identity, or a new one for the first team
    /// secret. Refused when this machine is not a recipient, or when
    /// `secret-recipients` changed since the current release sealed its
    /// secrets (`config protect` re-seals them first).
    pub(crate) fn team_key(
        &self,
        recipients: &[String],
    ) -> crate::Result<crate::secrets::team::TeamKey> {
        use crate::secrets::team::{TeamKey, same_recipients};
        if let Some(key) = self.chosen_team_key() {
            return Ok(key);
        }
        let ids = self.identities()?;
        let key = match self.recorded_team()? {
            Some(team) if same_recipients(&team.recipients, recipients) => {
                TeamKey::open(&team, &ids)?
            }
            Some(_) => {
                return Err(Error::InvalidSetting(
                    "`secret-recipients` changed since the current release sealed its secrets: \
                     run `cargo release-log config protect` to re-seal them to the new \
                     recipients first"
                        .to_owned(),
                ));
            }
            None => {
                let key = TeamKey::generate(recipients)?;
                // Whoever makes the team key must be able to open it.
                TeamKey::open(&key.team, &ids)?.map(|_| key)
            }
        };
        let key = key.ok_or_else(|| self.sealed_error("the team key".to_owned(), &ids))?;
        self.choose_team_key(key.clone());
        Ok(key)
    }

    /// The environment a program started from a release with `config` gets:
    /// every var's value (a secret's from this machine's store, or opened
    /// from its seal), a `relative` one resolved from the workspace root, as
    /// cargo does. A sealed value must match the fingerprint its release
    /// records under `team`'s key: anyone can seal a value to the
    /// recipients' public keys, but only a recipient can fingerprint one, so
    /// a value swapped in a release file is refused, never run.
    ///
    /// Whatever starts a program with a release's config, or prints it for
    /// a shell, gets it here: a var that changes how programs start is
    /// refused unless `allow-env` names it, and values over the limits are
    /// refused, whoever wrote the release file.
    pub fn environment(
        &self,
        config: &ConfigVars,
        team: Option<&crate::ledger::Team>,
    ) -> crate::Result<Vec<(String, String)>> {
        self.refuse_risky_env(config.keys())?;
        let vars = self.values(config, team)?;
        // What the program gets: secrets' values too.
        crate::ledger::config_vars::check_sizes(
            vars.iter()
                .map(|(name, value)| (name.as_str(), value.len())),
        )?;
        Ok(vars)
    }

    /// The values of [`Workspace::environment`], unchecked.
    fn values(
        &self,
        config: &ConfigVars,
        team: Option<&crate::ledger::Team>,
    ) -> crate::Result<Vec<(String, String)>> {
        let mut key = None;
        config
            .iter()
            .map(|(name, var)| {
                let value = self.reveal(name, var)?;
                if let (Some(team), VarValue::Secret(fingerprint), Some(_)) =
                    (team, &var.value, &var.sealed)
                {
                    if key.is_none() {
                        let ids = self.identities()?;
                        key = Some(crate::secrets::team::TeamKey::open(team, &ids)?);
                    }
                    if let Some(Some(key)) = &key
                        && key.fingerprint(name, &value) != *fingerprint
                    {
                        return Err(Error::Other(anyhow::anyhow!(
                            "the sealed value of config var `{name}` does not match the \
                             fingerprint its release records: the release file was edited; \
                             restore it from git, or set the value again"
                        )));
                    }
                }
                Ok((name.clone(), var.resolve(&value, &self.root)))
            })
            .collect()
    }
}

/// What this machine has of a release: its secrets' values, its commit.
impl crate::ledger::eligibility::Here for Workspace {
    fn has_secret(&self, name: &str, var: &ConfigVar) -> bool {
        self.has_secret_value(name, var)
    }

    fn has_commit(&self, sha: &str) -> bool {
        git::has_commit(&self.root, sha).unwrap_or(false)
    }
}
