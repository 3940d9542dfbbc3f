//! `config`, `config get/set/unset`: config vars; a set or unset is a new release.

use anyhow::bail;

use super::{ConfigDiff, Context, Draft, EnvState, ensure_env_matches, env_state, record};
use crate::ledger::retention::Pruned;
use crate::ledger::{ChangeKind, ConfigVar, ConfigVars, Ledger, Release, Status};
use crate::workspace::env_config::parse_assignment;
use crate::workspace::{EnvFile, Workspace};

/// The current release's config vars, and how the workspace's `[env]`
/// differs from them when it holds an edit they do not show.
#[derive(Debug, Default)]
pub struct Shown {
    pub vars: ConfigVars,
    pub drift: Option<String>,
}

/// `config`: the current release's config vars (none before the first release).
pub fn show(ws: &Workspace) -> anyhow::Result<Shown> {
    let ledger = Ledger::open(&ws.root)?;
    let Some(current) = ledger.current()? else {
        return Ok(Shown::default());
    };
    let env = EnvFile::load(&ws.root)?;
    let drift = match env_state(&ledger, &env, &current, ws) {
        Ok(EnvState::HandEdited(vars)) => Some(format!(
            "`[env]` in {} differs from v{}:\n{}`cargo release-log sync` discards the edit, `deploy` records it",
            env.relative_path(&ws.root),
            current.version,
            ConfigDiff::between(&current.config, &vars)
        )),
        Ok(EnvState::Matches | EnvState::Behind) => None,
        Err(e) => Some(format!("{e:#}")),
    };
    Ok(Shown {
        vars: current.config,
        drift,
    })
}

/// `config get`: one config var of the current release.
pub fn get(shown: &Shown, name: &str) -> anyhow::Result<String> {
    match shown.vars.get(name) {
        Some(var) => Ok(var.value.clone()),
        None => bail!("config var `{name}` is not set"),
    }
}

/// What a config change did.
#[derive(Debug)]
pub struct ConfigChanged {
    pub release: Release,
    /// The vars set, in the order given, with their new values.
    pub set: Vec<(String, String)>,
    pub removed: Vec<String>,
    /// Set when the change left rolled-back code: the deploy whose code runs again.
    pub restored_deploy: Option<u64>,
    pub pruned: Pruned,
}

/// `config set NAME=VALUE…`: one release with the new values.
pub fn set(ws: &Workspace, ctx: &Context, assignments: &[String]) -> anyhow::Result<ConfigChanged> {
    let mut set: Vec<(String, String)> = Vec::new();
    for arg in assignments {
        let (name, value) = parse_assignment(arg)?;
        if set.iter().any(|(n, _)| *n == name) {
            bail!("config var `{name}` is given more than once");
        }
        set.push((name, value));
    }
    if set.is_empty() {
        bail!("no config vars given: pass NAME=VALUE");
    }
    let names: Vec<&str> = set.iter().map(|(n, _)| n.as_str()).collect();
    let change = format!("Config add {}", names.join(", "));
    change_vars(ws, ctx, change, |config| {
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
pub fn unset(ws: &Workspace, ctx: &Context, names: &[String]) -> anyhow::Result<ConfigChanged> {
    let mut removed: Vec<String> = Vec::new();
    for name in names {
        if removed.contains(name) {
            bail!("config var `{name}` is given more than once");
        }
        removed.push(name.clone());
    }
    if removed.is_empty() {
        bail!("no config vars given: pass the NAMEs to remove");
    }
    let change = format!("Config remove {}", removed.join(", "));
    change_vars(ws, ctx, change, |config| {
        let missing: Vec<&str> = removed
            .iter()
            .filter(|n| config.remove(n.as_str()).is_none())
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            bail!("config var {} not set", quote_list(&missing, "is", "are"));
        }
        Ok(())
    })
    .map(|changed| ConfigChanged { removed, ..changed })
}

fn quote_list(names: &[&str], one: &str, many: &str) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    let verb = if names.len() == 1 { one } else { many };
    format!("{} {verb}", quoted.join(", "))
}

/// Records a release with the current release's add-ons and the edited
/// config. Code that runs because of a rollback is temporary: the new release
/// runs the latest deploy's code again.
fn change_vars(
    ws: &Workspace,
    ctx: &Context,
    change: String,
    edit: impl FnOnce(&mut ConfigVars) -> anyhow::Result<()>,
) -> anyhow::Result<ConfigChanged> {
    let (mut ledger, _lock, current) = ctx.lock_current(ws)?;
    let mut env = EnvFile::load(&ws.root)?;
    ensure_env_matches(&ledger, &env, &current, ws)?;
    let mut config = current.config.clone();
    edit(&mut config)?;
    let restored = current.code != current.latest_deploy;
    let note = restored.then(|| {
        format!(
            "Runs the code of v{} (the latest deploy) again, leaving the rolled-back code of v{}",
            current.latest_deploy.deploy, current.code.deploy
        )
    });
    let draft = Draft {
        kind: ChangeKind::Config,
        change,
        message: None,
        note,
        rollback_to: None,
        status: Status::Succeeded,
        code: current.latest_deploy.clone(),
        latest_deploy: current.latest_deploy.clone(),
        config,
        addons: current.addons.clone(),
    };
    let (release, pruned) = record(ws, &mut ledger, ctx, &mut env, draft)?;
    Ok(ConfigChanged {
        release,
        set: Vec::new(),
        removed: Vec::new(),
        restored_deploy: restored.then_some(current.latest_deploy.deploy),
        pruned,
    })
}
