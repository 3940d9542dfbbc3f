//! `deploy`: build the workspace and record the result as a new release.

use std::io::BufReader;
use std::process::{ExitStatus, Stdio};

use anyhow::{Context as _, bail};
use cargo_metadata::Message;

use super::{Context, Draft, EnvState, env_state, record};
use crate::ledger::{ChangeKind, Code, DIR, Release, Slug, SlugStore, Status};
use crate::process::ProcessBuilder;
use crate::workspace::{EnvFile, Workspace, git};

#[derive(Debug, Clone)]
pub struct DeployOptions {
    /// Record commit, config and add-ons without building; the slug stays the current one.
    pub no_build: bool,
    /// Deploy even with uncommitted changes.
    pub allow_dirty: bool,
    /// The cargo profile to build with.
    pub profile: String,
    pub message: Option<String>,
}

impl Default for DeployOptions {
    fn default() -> Self {
        Self {
            no_build: false,
            allow_dirty: false,
            profile: "release".to_owned(),
            message: None,
        }
    }
}

#[derive(Debug)]
pub struct Deployed {
    pub release: Release,
    /// Whether a slug was built (false with `--no-build`).
    pub built: bool,
}

/// A build that failed: its release is recorded with status `failed`.
#[derive(Debug)]
pub struct BuildFailed {
    pub version: u64,
    pub current: Option<u64>,
    pub status: ExitStatus,
}

impl std::fmt::Display for BuildFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "build failed ({}); recorded v{} as failed",
            self.status, self.version
        )?;
        match self.current {
            Some(c) => write!(f, ", v{c} is still the current release"),
            None => f.write_str(", there is no current release yet"),
        }
    }
}

impl std::error::Error for BuildFailed {}

pub fn deploy(ws: &Workspace, ctx: &Context, opts: &DeployOptions) -> anyhow::Result<Deployed> {
    // Refusals come first, before anything is built or written.
    ws.tier()?;
    let commit = git::head_commit(&ws.root)?;
    let mut env = EnvFile::load(&ws.root)?;
    let env_path = env.relative_path(&ws.root);
    let dirty = git::dirty_paths(&ws.root, &[DIR, &env_path])?;
    if !dirty.is_empty() && !opts.allow_dirty {
        let (files, verb) = if dirty.len() == 1 {
            ("file", "contains")
        } else {
            ("files", "contain")
        };
        bail!(
            "{} {files} in the working directory {verb} changes that were not yet committed into git:\n\n{}\n\n\
             to proceed despite this, pass the `--allow-dirty` flag",
            dirty.len(),
            dirty.join("\n")
        );
    }
    let (mut ledger, _lock) = ctx
        .lock(ws, true)?
        .context("the ledger folder was just created")?;
    let current = ledger.current()?;
    let config = match &current {
        None => env
            .vars()
            .with_context(|| format!("cannot read the config vars in {env_path}"))?,
        Some(current) => match env_state(&ledger, &env, current, ws)? {
            // Finish an interrupted change rather than record the stale `[env]`.
            EnvState::Matches | EnvState::Interrupted => current.config.clone(),
            // A deploy records a hand edit: it is how one is kept.
            EnvState::HandEdited(vars) => vars,
        },
    };

    let (slug, status) = if opts.no_build {
        // The latest deploy's build: rolled-back code does not become the new deploy's.
        let slug = current
            .as_ref()
            .map(|c| c.latest_deploy.slug.clone())
            .unwrap_or_default();
        (slug, None)
    } else {
        let (slug, status) = build(ws, &ledger.slugs(), &opts.profile)?;
        (slug, Some(status))
    };
    let failed = status.filter(|s| !s.success());
    let code = Code {
        commit: commit.clone(),
        deploy: ledger.next_version()?,
        dirty: !dirty.is_empty(),
        slug,
    };
    let latest_deploy = match (&failed, &current) {
        (Some(_), Some(current)) => current.latest_deploy.clone(),
        _ => code.clone(),
    };
    let draft = Draft {
        kind: ChangeKind::Deploy,
        change: format!("Deploy {}", &commit[..commit.len().min(7)]),
        message: opts.message.clone().filter(|m| !m.trim().is_empty()),
        note: None,
        rollback_to: None,
        status: if failed.is_some() {
            Status::Failed
        } else {
            Status::Succeeded
        },
        code,
        latest_deploy,
        config,
        addons: ws.addons()?,
    };
    let release = record(ws, &mut ledger, ctx, &mut env, draft)?;
    if let Some(status) = failed {
        return Err(BuildFailed {
            version: release.version,
            current: current.map(|c| c.version),
            status,
        }
        .into());
    }
    Ok(Deployed {
        release,
        built: !opts.no_build,
    })
}

/// Runs `cargo build`, streaming cargo's own progress and errors to stderr,
/// and stores the executables cargo reports into the slug store.
fn build(ws: &Workspace, slugs: &SlugStore, profile: &str) -> anyhow::Result<(Slug, ExitStatus)> {
    let cargo = ProcessBuilder::cargo()
        .args(["build", "--workspace", "--bins", "--profile", profile])
        .args([
            "--message-format",
            "json-render-diagnostics",
            "--manifest-path",
        ])
        .arg(&ws.manifest_path)
        .cwd(&ws.root);
    let mut child = cargo
        .command()
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("could not execute process `{cargo}`"))?;
    let stdout = child
        .stdout
        .take()
        .context("cargo's output is not captured")?;
    let mut built = Vec::new();
    let mut finished = false;
    for message in Message::parse_stream(BufReader::new(stdout)) {
        let message = message.with_context(|| format!("failed to read the output of `{cargo}`"))?;
        match message {
            Message::CompilerArtifact(artifact) => {
                if let Some(path) = artifact.executable {
                    built.push((artifact.target.name, path));
                }
            }
            Message::BuildFinished(_) => finished = true,
            _ => {}
        }
    }
    let status = child
        .wait()
        .with_context(|| format!("failed to wait for `{cargo}`"))?;
    if !status.success() && !finished {
        // Cargo stopped before building (a bad profile, an unreadable
        // manifest): a mistake in the command, not a failed build to record.
        bail!("`{cargo}` stopped before building ({status}); nothing was recorded");
    }
    if !status.success() {
        return Ok((Slug::default(), status));
    }
    let executables = built
        .iter()
        .map(|(name, path)| slugs.store(name, path.as_std_path()))
        .collect::<anyhow::Result<_>>()?;
    Ok((Slug::from_executables(executables), status))
}
