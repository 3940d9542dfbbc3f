//! `config`, `config get/set/unset`: config vars; a set or unset is a new release.

use super::{Draft, EnvState, ensure_env_matches, env_state, lock_current, record};
use crate::context::Context;
use crate::error::Error;
use crate::ledger::retention::Pruned;
use crate::ledger::{ChangeKind, ConfigDiff, ConfigVar, ConfigVars, Ledger, Release, Status};
use crate::text::quote_list;
use crate::workspace::env_config::{check_name, parse_assignment};
use crate::workspace::{EnvFile, Workspace};

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
    /// The vars set, in the order given, with their new values.
    pub set: Vec<(String, String)>,
    /// The vars removed, in the order given.
    pub removed: Vec<String>,
    /// Set when the change left rolled-back code: the deploy whose code runs again.
    pub restored_deploy: Option<u64>,
    /// What the tier's retention removed afterwards.
    pub pruned: Pruned,
}

impl Workspace {
    /// `config`: the current release's config vars (none before the first release).
    pub fn config(&self) -> crate::Result<ConfigShown> {
        let env = EnvFile::load(self.root())?;
        Ledger::read_consistently(self.root(), |ledger| {
            let Some(current) = ledger.current()? else {
                return Ok(ConfigShown::default());
            };
            let drift = match env_state(ledger, &env, &current, self) {
                Ok(EnvState::HandEdited(vars)) => Some(format!(
                    "`[env]` in {} differs from v{}:\n{}`cargo release-log sync` discards the edit, `deploy` records it",
                    env.relative_path(self.root()),
                    current.version,
                    ConfigDiff::between(&current.config, &vars)
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

    /// `config set NAME=VALUE…`: one release with the new values.
    pub fn config_set(
        &self,
        ctx: &Context,
        assignments: &[String],
    ) -> crate::Result<ConfigChanged> {
        let mut set: Vec<(String, String)> = Vec::new();
        for arg in assignments {
            let (name, value) = parse_assignment(arg)?;
            if set.iter().any(|(n, _)| *n == name) {
                return Err(given_twice(&name));
            }
            set.push((name, value));
        }
        if set.is_empty() {
            return Err(Error::InvalidInput(
                "no config vars given: pass NAME=VALUE".to_owned(),
            ));
        }
        let names: Vec<&str> = set.iter().map(|(n, _)| n.as_str()).collect();
        let change = format!("Config add {}", names.join(", "));
        change_vars(self, ctx, change, |config| {
            for (name, value) in &set {
                // A changed value keeps the var's cargo options.
                config
                    .entry(name.clone())
                    .and_modify(|var| var.value.clone_from(value))
                    .or_insert_with(|| ConfigVar::plain(value.as_str()));
            }
            Ok(())
        })
        .map(|changed| ConfigChanged { set, ..changed })
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
        change_vars(self, ctx, change, |config| {
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
    edit: impl FnOnce(&mut ConfigVars) -> crate::Result<()>,
) -> crate::Result<ConfigChanged> {
    let (mut ledger, current) = lock_current(ws, ctx)?;
    let mut env = EnvFile::load(ws.root())?;
    ensure_env_matches(&ledger, &mut env, &current, ws)?;
    let mut config = current.config.clone();
    edit(&mut config)?;
    let latest = current.latest_code();
    let restored = current.runs_rolled_back_code();
    let note = restored.then(|| {
        format!(
            "Runs the code of v{} (the latest deploy) again, leaving the rolled-back code of v{}",
            latest.deploy, current.code.deploy
        )
    });
    let draft = Draft {
        kind: ChangeKind::Config,
        change,
        message: None,
        note,
        rollback_to: None,
        status: Status::Succeeded,
        code: latest.clone(),
        latest_code: latest.clone(),
        addon_releases: current.addon_releases.clone(),
        config,
    };
    let (release, pruned) = record(ws, &mut ledger, ctx, &mut env, draft)?;
    Ok(ConfigChanged {
        release,
        set: Vec::new(),
        removed: Vec::new(),
        restored_deploy: restored.then_some(latest.deploy),
        pruned,
    })
}
