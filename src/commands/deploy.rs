//! `deploy`: build the workspace and record the result as a new release.

use std::io::BufReader;
use std::process::{ExitStatus, Stdio};

use anyhow::{Context as _, bail};
use cargo_metadata::Message;

use super::{Draft, EnvState, env_state, record, unreadable_env};
use crate::context::Context;
use crate::error::Error;
use crate::ledger::retention::Pruned;
use crate::ledger::slugs::sha256_file;
use crate::ledger::{
    ChangeKind, Code, ConfigDiff, DIR, Ledger, LockedLedger, Release, Slug, Status,
};
use crate::process::ProcessBuilder;
use crate::workspace::{EnvFile, Workspace, env_config, git, relative_to};

/// How to deploy.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DeployOptions {
    /// Record commit, config and add-ons without building; the latest deploy's build runs.
    pub no_build: bool,
    /// Deploy even with uncommitted changes.
    pub allow_dirty: bool,
    /// The cargo profile to build with (`release` by default).
    pub profile: String,
    /// A message kept with the release and shown in the history.
    pub message: Option<String>,
    /// Passes `--quiet` to `cargo build`.
    pub quiet: bool,
    /// Passes `--color` to `cargo build`: `auto`, `always` or `never`.
    pub color: Option<String>,
}

impl Default for DeployOptions {
    fn default() -> Self {
        Self {
            no_build: false,
            allow_dirty: false,
            profile: "release".to_owned(),
            message: None,
            quiet: false,
            color: None,
        }
    }
}

/// What a deploy recorded.
#[derive(Debug)]
#[non_exhaustive]
pub struct Deployed {
    /// The new release.
    pub release: Release,
    /// Whether a slug was built (false with `--no-build`).
    pub built: bool,
    /// How the recorded config vars differ from the previous current
    /// release's: a deploy records `[env]` as the workspace has it.
    pub config: ConfigDiff,
    /// The path of the `[env]` file, relative to the workspace root.
    pub env_path: String,
    /// What the tier's retention removed afterwards.
    pub pruned: Pruned,
}

impl Workspace {
    /// `deploy`: builds the workspace (`cargo build --profile release`,
    /// streaming cargo's own output to stderr) and records the commit, the
    /// executables built, `[env]` and the add-ons as a new release.
    ///
    /// Refuses uncommitted changes unless `allow_dirty` ([`Error::Dirty`]).
    /// A failed build is recorded as a `failed` release and returned as
    /// [`Error::BuildFailed`]; the current release stays current.
    pub fn deploy(&self, ctx: &Context, opts: &DeployOptions) -> crate::Result<Deployed> {
        deploy(self, ctx, opts)
    }
}

fn deploy(ws: &Workspace, ctx: &Context, opts: &DeployOptions) -> crate::Result<Deployed> {
    // Everything that can refuse the deploy is checked before anything is
    // built or written.
    ws.tier()?;
    let commit = git::head_commit(ws.root())?;
    let env = EnvFile::load(ws.root())?;
    let env_path = env.relative_path(ws.root());
    env.vars().map_err(|e| unreadable_env(&env_path, &e))?;
    let dirty = dirty_paths(ws, &env, &env_path)?;
    if !dirty.is_empty() && !opts.allow_dirty {
        return Err(Error::Dirty { paths: dirty });
    }
    // A ledger that cannot be read is refused before a long build, too.
    Ledger::open(ws.root())?.current()?;
    // The build runs without the ledger lock, so that config changes are not
    // held up by it; what it built is stored once the lock is held.
    let build = if opts.no_build {
        None
    } else {
        Some(build(ws, opts)?)
    };

    let (mut ledger, _) = LockedLedger::create(ws.root(), ctx.lock_wait_hook())?;
    // Read under the lock: a config change may have landed while we built.
    let mut env = EnvFile::load(ws.root())?;
    let current = ledger.current()?;
    let config = match &current {
        None => env.vars()?,
        Some(current) => match env_state(&ledger, &env, current, ws)? {
            // Finish what is behind rather than record a stale or missing `[env]`.
            EnvState::Matches | EnvState::Behind => current.config.clone(),
            // A deploy records a hand edit: it is how one is kept.
            EnvState::HandEdited(vars) => vars,
        },
    };
    let version = ledger.next_version()?;
    let failed = build.as_ref().map(|b| b.status).filter(|s| !s.success());
    let (deploy, built_from, slug, status) = match build {
        Some(Built {
            executables,
            status,
        }) if status.success() => {
            let slugs = ledger.slugs();
            let executables = executables
                .iter()
                .map(|(name, path, built)| {
                    let exe = slugs.store(name, path.as_std_path())?;
                    if exe.sha256 != *built {
                        bail!(
                            "`{path}` changed while this deploy waited for the ledger lock \
                             (another build?); nothing was recorded, deploy again"
                        );
                    }
                    Ok(exe)
                })
                .collect::<anyhow::Result<_>>()?;
            (
                version,
                None,
                Slug::from_executables(executables),
                Status::Succeeded,
            )
        }
        Some(_) => (version, None, Slug::default(), Status::Failed),
        // Without a build, the new commit runs on the latest deploy's build,
        // if there is one yet (`deploy = 0` says there is not).
        None => match &current {
            Some(c) if c.latest_deploy.deploy != 0 => {
                let build = &c.latest_deploy;
                let from = build
                    .built_from
                    .clone()
                    .unwrap_or_else(|| build.commit.clone());
                (version, Some(from), build.slug.clone(), Status::Succeeded)
            }
            _ => (0, None, Slug::default(), Status::Succeeded),
        },
    };
    let code = Code {
        commit: commit.clone(),
        deploy,
        built_from,
        dirty: !dirty.is_empty(),
        slug,
    };
    let latest_deploy = match (status, &current) {
        (Status::Failed, Some(current)) => current.latest_deploy.clone(),
        _ => code.clone(),
    };
    let previous_config = current
        .as_ref()
        .map(|c| c.config.clone())
        .unwrap_or_default();
    let draft = Draft {
        kind: ChangeKind::Deploy,
        change: format!("Deploy {}", crate::ledger::release::short_sha(&commit)),
        message: opts.message.clone().filter(|m| !m.trim().is_empty()),
        note: None,
        rollback_to: None,
        status,
        code,
        latest_deploy,
        config,
        addons: ws.addons()?,
    };
    let (release, pruned) = record(ws, &mut ledger, ctx, &mut env, draft)?;
    if let Some(status) = failed {
        return Err(Error::BuildFailed {
            version: release.version,
            current: current.map(|c| c.version),
            status,
        });
    }
    Ok(Deployed {
        config: ConfigDiff::between(&previous_config, &release.config),
        release,
        built: !opts.no_build,
        env_path,
        pruned,
    })
}

/// Uncommitted changes in the workspace and in the path add-ons outside it,
/// leaving out the files the tool manages itself.
fn dirty_paths(ws: &Workspace, env: &EnvFile, env_path: &str) -> anyhow::Result<Vec<String>> {
    // The `[env]` file may be a link: the file it leads to is managed too.
    let real = fs_err::canonicalize(env.path()).ok();
    let real_rel = real
        .as_deref()
        .map(|r| relative_to(r, ws.root()).display().to_string());
    let mut managed = vec![DIR, env_path];
    managed.extend(real_rel.as_deref());
    let mut dirty = git::dirty_paths(ws.root(), &managed, ws.root())?;
    // The tool manages `[env]` only: any other uncommitted setting in that
    // file (build flags, say) changes what is built. A file git ignores has
    // nothing committed to compare with.
    if let Some(real) = &real
        && !git::is_ignored(ws.root(), real)?
    {
        let committed = git::file_at_head(ws.root(), real)?.unwrap_or_default();
        if env.settings_besides_env() != env_config::settings_besides_env(&committed) {
            dirty.push(env_path.to_owned());
        }
    }
    for dir in ws.path_addon_dirs()? {
        // An add-on outside any git repository has nothing to compare with.
        if let Ok(paths) = git::dirty_paths(&dir, &[], ws.root()) {
            dirty.extend(paths);
        }
    }
    dirty.sort();
    dirty.dedup();
    Ok(dirty)
}

/// What `cargo build` produced: the executables by target name, with the
/// sha256 they had when the build finished, and how it ended.
struct Built {
    executables: Vec<(String, cargo_metadata::camino::Utf8PathBuf, String)>,
    status: ExitStatus,
}

/// Runs `cargo build`, streaming cargo's own progress and errors to stderr,
/// and collects the executables cargo reports.
fn build(ws: &Workspace, opts: &DeployOptions) -> anyhow::Result<Built> {
    let mut cargo = ProcessBuilder::cargo()
        .args(["build", "--workspace", "--bins", "--profile", &opts.profile])
        .args([
            "--message-format",
            "json-render-diagnostics",
            "--manifest-path",
        ])
        .arg(ws.manifest_path());
    // A clean deploy builds exactly the committed Cargo.lock, as
    // `cargo publish` would; cargo says so when it is out of date.
    if !opts.allow_dirty {
        cargo = cargo.arg("--locked");
    }
    if opts.quiet {
        cargo = cargo.arg("--quiet");
    }
    if let Some(color) = &opts.color {
        cargo = cargo.args(["--color", color]);
    }
    let cargo = cargo.cwd(ws.root());
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
    let mut executables = Vec::new();
    let mut finished = false;
    for message in Message::parse_stream(BufReader::new(stdout)) {
        let message = message.with_context(|| format!("failed to read the output of `{cargo}`"))?;
        match message {
            Message::CompilerArtifact(artifact) => {
                if let Some(path) = artifact.executable {
                    executables.push((artifact.target.name, path));
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
    // Fingerprint what was built now: it is stored only once the ledger
    // lock is held, and must not have been rebuilt by then. A failed build
    // left nothing worth fingerprinting.
    let executables = if status.success() {
        executables
            .into_iter()
            .map(|(name, path)| {
                let (sha256, _) = sha256_file(path.as_std_path())?;
                Ok((name, path, sha256))
            })
            .collect::<anyhow::Result<_>>()?
    } else {
        Vec::new()
    };
    Ok(Built {
        executables,
        status,
    })
}
