//! What deploys and add-on releases share: which uncommitted changes count,
//! building the workspace, and storing what was built.

use std::collections::BTreeMap;
use std::io::BufReader;
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context as _, bail};
use cargo_metadata::Message;
use cargo_metadata::camino::Utf8PathBuf;

use crate::ledger::slugs::{Output, sha256_bytes};
use crate::ledger::{Build, Code, DIR, LockedLedger, Slug};
use crate::process::ProcessBuilder;
use crate::workspace::{EnvFile, Workspace, env_config, git};

/// The workspace's commit and uncommitted changes (and those of path
/// add-ons outside it).
#[derive(Debug, Default)]
pub(crate) struct TreeState {
    /// The commit checked out; `None` before the first commit.
    pub(crate) head: Option<String>,
    /// Changes that alter what is built: a deploy refuses them unless told otherwise.
    pub(crate) dirt: Vec<String>,
    /// Manifests whose uncommitted content is exactly what the latest code
    /// was built with (an add-on release's edit, not committed yet), with
    /// that content's digest: they are not dirt.
    pub(crate) manifests: BTreeMap<String, String>,
}

impl TreeState {
    /// Adds the uncommitted changes of path add-ons outside the workspace
    /// (which `cargo metadata` names).
    pub(crate) fn add_path_addon_dirt(&mut self, ws: &Workspace) -> anyhow::Result<()> {
        for dir in ws.path_addon_dirs()? {
            // An add-on outside any git repository has nothing to compare with.
            if let Ok(outside) = git::status(&dir, &[], ws.root()) {
                self.dirt.extend(outside.paths);
            }
        }
        self.dirt.sort();
        self.dirt.dedup();
        Ok(())
    }

    /// The commit checked out, or why there is none to record.
    pub(crate) fn commit(&self, root: &Path) -> anyhow::Result<String> {
        match &self.head {
            Some(head) => Ok(head.clone()),
            None => anyhow::bail!(
                "the git repository at `{}` has no commits yet; commit the workspace first",
                root.display()
            ),
        }
    }
}

/// Sorts the workspace's uncommitted changes into dirt and what the tool
/// manages itself: `.releases/`, the `[env]` table, and manifests that the
/// latest code (`latest`) was built with as they are now.
pub(crate) fn tree_state(
    ws: &Workspace,
    env: &EnvFile,
    latest: Option<&Code>,
) -> anyhow::Result<TreeState> {
    let mut state = workspace_tree_state(ws, env, latest)?;
    state.add_path_addon_dirt(ws)?;
    Ok(state)
}

/// [`tree_state`] of the workspace alone, without its path add-ons: what
/// can be known before `cargo metadata` has answered.
pub(crate) fn workspace_tree_state(
    ws: &Workspace,
    env: &EnvFile,
    latest: Option<&Code>,
) -> anyhow::Result<TreeState> {
    let env_path = env.relative_path(ws.root());
    let status = git::workspace_status(ws.root(), &[DIR], ws.root())?;
    let mut state = TreeState {
        head: status.head,
        ..TreeState::default()
    };
    for path in status.paths {
        if path == env_path {
            // The tool manages `[env]` only: any other uncommitted setting
            // in that file (build flags, say) changes what is built.
            let committed = git::file_at_head(ws.root(), Path::new(&env_path))?.unwrap_or_default();
            if env.settings_besides_env() != env_config::settings_besides_env(&committed) {
                state.dirt.push(path);
            }
            continue;
        }
        match manifest_digest(ws, &path, latest)? {
            Some(digest) => {
                state.manifests.insert(path, digest);
            }
            None => state.dirt.push(path),
        }
    }
    state.dirt.sort();
    Ok(state)
}

/// The digest of manifest `path` when the latest code was built with exactly its content.
fn manifest_digest(
    ws: &Workspace,
    path: &str,
    latest: Option<&Code>,
) -> anyhow::Result<Option<String>> {
    let Some(recorded) = latest.and_then(|c| c.uncommitted.get(path)) else {
        return Ok(None);
    };
    let digest = match fs_err::read(ws.root().join(path)) {
        Ok(bytes) => format!("sha256:{}", sha256_bytes(&bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    Ok((digest == *recorded).then_some(digest))
}

/// Whether `path` (from the workspace root) is a manifest an add-on change edits.
pub(crate) fn is_manifest(path: &str) -> bool {
    path == "Cargo.lock" || path == "Cargo.toml" || path.ends_with("/Cargo.toml")
}

/// How to run `cargo build`.
pub(crate) struct BuildOptions<'a> {
    /// The profile and selection.
    pub(crate) build: &'a Build,
    /// Build exactly the committed Cargo.lock (`--locked`).
    pub(crate) locked: bool,
    pub(crate) quiet: bool,
    pub(crate) color: Option<&'a str>,
    /// Another checkout's manifest to build (`rebuild`), and where.
    pub(crate) elsewhere: Option<(&'a Path, &'a Path)>,
    /// A target folder other than the workspace's.
    pub(crate) target_dir: Option<&'a Path>,
    /// Set on Ctrl-C or a termination signal: cargo is then stopped, should
    /// the signal not have reached it.
    pub(crate) interrupt: Option<Arc<AtomicBool>>,
}

/// What `cargo build` produced: the executables by target name, with the
/// stamp they had when the build finished, and how it ended.
pub(crate) struct Built {
    executables: Vec<(String, Utf8PathBuf, String)>,
    pub(crate) status: ExitStatus,
}

/// Runs `cargo build`, streaming cargo's own progress and errors to stderr,
/// and collects the executables cargo reports.
pub(crate) fn build(ws: &Workspace, opts: &BuildOptions<'_>) -> anyhow::Result<Built> {
    start_build(ws, opts)?.finish()
}

/// `cargo build` started, its report not read yet; dropped unfinished, it is stopped.
pub(crate) struct Building {
    cargo: ProcessBuilder,
    child: std::process::Child,
    interrupt: Option<Arc<AtomicBool>>,
}

/// Starts `cargo build`, so that the caller can do other work while it runs.
pub(crate) fn start_build(ws: &Workspace, opts: &BuildOptions<'_>) -> anyhow::Result<Building> {
    let (manifest, dir) = opts.elsewhere.unwrap_or((ws.manifest_path(), ws.root()));
    let mut cargo = ProcessBuilder::cargo()
        .arg("build")
        .args(opts.build.cargo_args())
        .args([
            "--message-format",
            "json-render-diagnostics",
            "--manifest-path",
        ])
        .arg(manifest);
    if opts.locked {
        cargo = cargo.arg("--locked");
    }
    if let Some(dir) = opts.target_dir {
        cargo = cargo.arg("--target-dir").arg(dir);
    }
    if opts.quiet {
        cargo = cargo.arg("--quiet");
    }
    if let Some(color) = opts.color {
        cargo = cargo.args(["--color", color]);
    }
    let cargo = cargo.cwd(dir);
    let child = cargo
        .command()
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("could not execute process `{cargo}`"))?;
    Ok(Building {
        cargo,
        child,
        interrupt: opts.interrupt.clone(),
    })
}

impl Building {
    /// Reads cargo's report to its end and waits for it.
    pub(crate) fn finish(mut self) -> anyhow::Result<Built> {
        let stdout = self
            .child
            .stdout
            .take()
            .context("cargo's output is not captured")?;
        let Building {
            cargo,
            child,
            interrupt,
        } = &mut self;
        let cargo = &*cargo;
        let child = Mutex::new(child);
        let read = AtomicBool::new(false);
        let (executables, finished) = std::thread::scope(|scope| {
            // A signal sent to this process alone (a supervisor's SIGTERM)
            // does not reach cargo: it is stopped here, not waited out.
            let watcher = interrupt.as_ref().map(|flag| {
                scope.spawn(|| {
                    while !read.load(Ordering::SeqCst) {
                        if flag.load(Ordering::SeqCst) {
                            if let Ok(mut child) = child.lock() {
                                let _ = child.kill();
                            }
                            return;
                        }
                        std::thread::park_timeout(Duration::from_millis(50));
                    }
                })
            });
            let report = read_report(cargo, stdout);
            read.store(true, Ordering::SeqCst);
            if let Some(watcher) = &watcher {
                watcher.thread().unpark();
            }
            report
        })?;
        let status = child
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .wait()
            .with_context(|| format!("failed to wait for `{cargo}`"))?;
        if !status.success() && !finished {
            // Cargo stopped before building (a bad profile, an unreadable
            // manifest): a mistake in the command, not a failed build to record.
            bail!("`{cargo}` stopped before building ({status}); nothing was recorded");
        }
        // Stamp what was built now: it is stored only once the ledger lock
        // is held, and must not have been rebuilt by then. A failed build
        // left nothing worth stamping.
        let executables = if status.success() {
            executables
                .into_iter()
                .map(|(name, path)| {
                    let stamp = Output::open(path.as_std_path())?.stamp().to_owned();
                    Ok((name, path, stamp))
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
}

/// The executables cargo's JSON report names, and whether it says the
/// build finished.
fn read_report(
    cargo: &ProcessBuilder,
    stdout: std::process::ChildStdout,
) -> anyhow::Result<(Vec<(String, Utf8PathBuf)>, bool)> {
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
    Ok((executables, finished))
}

impl Drop for Building {
    fn drop(&mut self) {
        // Reaped already when finished; otherwise stopped.
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Built {
    /// The executables built, by target name.
    pub(crate) fn executables(&self) -> Vec<(String, std::path::PathBuf)> {
        self.executables
            .iter()
            .map(|(name, path, _)| (name.clone(), path.clone().into_std_path_buf()))
            .collect()
    }

    /// Copies the executables into the ledger's slug store, refusing any
    /// that changed since the build finished (another build overwrote it).
    /// Each is hashed, as git hashes a file it adds: what is recorded is
    /// what its bytes hash to.
    pub(crate) fn store(&self, ledger: &LockedLedger) -> anyhow::Result<Slug> {
        let slugs = ledger.slugs();
        let mut stored = Vec::new();
        for (name, path, stamp) in &self.executables {
            let output = Output::open(path.as_std_path())?;
            if output.stamp() != stamp {
                bail!(
                    "`{path}` changed while this release waited for the ledger lock \
                     (another build?); nothing was recorded, try again"
                );
            }
            let sha256 = output.sha256()?;
            stored.push(slugs.store(name, &output, sha256, ledger.scratch())?);
        }
        Ok(Slug::from_executables(stored))
    }
}
