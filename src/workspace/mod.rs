//! The workspace a command is about: its root, name and tier, and what is read from it.

mod cargo_files;
pub(crate) mod env_config;
pub(crate) mod git;
pub(crate) mod lockfile;
mod own_index;
mod root;
mod secrets;
mod settings;

use std::cell::OnceCell;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use cargo_metadata::{Metadata, MetadataCommand};

use crate::error::Error;
use crate::ledger::remote::RemoteStore;
use crate::ledger::{Addon, Environment, Tier};
use crate::process::{ProcessBuilder, Running};
use crate::secrets::SecretStore;

use cargo_files::CargoReads;

pub(crate) use env_config::EnvFile;
use secrets::TeamState;
pub(crate) use settings::Hooks;
use settings::{Settings, read_hooks, read_promote_from, read_slug_settings, read_tier};

/// A Cargo workspace whose releases this tool keeps: the entry point of the library.
///
/// Its root and settings come from the root manifest, found as cargo finds
/// it; the members and their dependencies (`cargo metadata`) are read only
/// by the commands that need them, once. Each command is a method taking a
/// [`Context`](crate::Context) where it records a release.
#[derive(Debug)]
pub struct Workspace {
    root: PathBuf,
    /// The root `Cargo.toml`.
    manifest_path: PathBuf,
    /// The root package's name, or the root folder's.
    name: String,
    /// The `[…metadata.release-log]` table of the root manifest, and its name.
    settings: Option<(toml::Table, &'static str)>,
    /// The environment commands act on.
    env: Environment,
    /// The environment's `promote-from`, or what is wrong with it.
    promote_from: Result<Option<Environment>, String>,
    /// The tier setting; an invalid one is an error only where the tier matters.
    tier: Result<Tier, String>,
    /// The commands a release runs, or what is wrong with their settings.
    hooks: Result<Hooks, String>,
    /// `slug-store` and `keep-slugs`, or what is wrong with them.
    slugs: Result<(Option<String>, Option<usize>), String>,
    /// The slug store, opened on first use.
    remote: OnceCell<RemoteStore>,
    /// What the root manifest says cargo reads besides it.
    cargo_reads: CargoReads,
    metadata: OnceCell<Metadata>,
    /// `cargo metadata` started early, not read yet.
    pending: std::cell::RefCell<Option<Running>>,
    /// `git config user.email` started early, not read yet.
    pending_user: std::cell::RefCell<Option<std::process::Child>>,
    /// Where secret values are kept.
    secrets_dir: Option<PathBuf>,
    /// Team secrets: the current release's team as the open transaction
    /// read it, and the team key once opened (or made).
    team: std::cell::RefCell<TeamState>,
}

impl Workspace {
    /// The workspace of the package or workspace whose manifest is `manifest_path`.
    pub fn open(manifest_path: &Path) -> crate::Result<Self> {
        if manifest_path.is_dir() {
            return Err(Error::InvalidInput(format!(
                "the manifest path `{}` is a folder; pass the path to its Cargo.toml",
                manifest_path.display()
            )));
        }
        if manifest_path.file_name().is_none_or(|n| n != "Cargo.toml") {
            return Err(Error::InvalidInput(format!(
                "the manifest path `{}` must be a path to a Cargo.toml file",
                manifest_path.display()
            )));
        }
        if !manifest_path.exists() {
            return Err(Error::InvalidInput(format!(
                "the manifest path `{}` does not exist",
                manifest_path.display()
            )));
        }
        Self::load(std::path::absolute(manifest_path)?)
    }

    /// The workspace a command started in `dir` is about: found from the
    /// nearest `Cargo.toml` in `dir` or above it, as cargo finds it.
    pub fn find(dir: &Path) -> crate::Result<Self> {
        let dir = std::path::absolute(dir)?;
        Self::load(root::manifest_above(&dir).context("could not read the Cargo workspace")?)
    }

    fn load(manifest: PathBuf) -> crate::Result<Self> {
        // Its errors name the manifest and what is wrong with it.
        let (manifest_path, manifest) = root::workspace_manifest(&manifest)?;
        let root = manifest_path
            .parent()
            .with_context(|| format!("`{}` has no folder", manifest_path.display()))?
            .to_owned();
        let name = manifest
            .get("package")
            .and_then(|p| p.get("name"))
            .and_then(toml::Value::as_str)
            .map(str::to_owned)
            .or_else(|| root.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "workspace".to_owned());
        let settings = ["workspace", "package"].into_iter().find_map(|section| {
            let table = manifest
                .get(section)?
                .get("metadata")?
                .get("release-log")?
                .as_table()?;
            Some((table.clone(), section))
        });
        let mut ws = Self {
            root,
            manifest_path,
            name,
            settings,
            env: Environment::default(),
            promote_from: Ok(None),
            tier: Ok(Tier::default()),
            hooks: Ok(Hooks::default()),
            slugs: Ok((None, None)),
            remote: OnceCell::new(),
            cargo_reads: CargoReads::of(&manifest),
            metadata: OnceCell::new(),
            pending: Default::default(),
            pending_user: Default::default(),
            secrets_dir: SecretStore::default_dir(),
            team: Default::default(),
        };
        ws.read_env_settings();
        Ok(ws)
    }

    /// Reads the settings of the selected environment: its own in
    /// `[…metadata.release-log.environments.NAME]`, else the workspace's.
    fn read_env_settings(&mut self) {
        let in_manifest = |e: String| format!("invalid {e} in `{}`", self.manifest_path.display());
        let settings = Settings {
            table: self.settings.as_ref(),
            env: &self.env,
        };
        self.slugs = read_slug_settings(&settings).map_err(in_manifest);
        self.tier = read_tier(&settings).map_err(in_manifest);
        self.promote_from = read_promote_from(&settings).map_err(in_manifest);
        self.hooks = read_hooks(&settings).map_err(in_manifest);
        self.remote = OnceCell::new();
    }

    /// Acts on environment `name` (`default` is the default one) rather
    /// than the default. It must be declared in
    /// `[workspace.metadata.release-log.environments.NAME]` or have
    /// releases already, so that a typo never starts a new history
    /// ([`Error::UnknownEnvironment`]).
    pub fn with_env(mut self, name: &str) -> crate::Result<Self> {
        let env = Environment::named(name).map_err(Error::InvalidInput)?;
        let known = self.environments();
        if !env.is_default() && !known.contains(&env) {
            return Err(Error::UnknownEnvironment {
                name: env.name().to_owned(),
                known: known.iter().map(|e| e.name().to_owned()).collect(),
            });
        }
        self.env = env;
        self.read_env_settings();
        Ok(self)
    }

    /// This workspace, read again, acting on environment `env`.
    pub(crate) fn for_env(&self, env: &Environment) -> crate::Result<Self> {
        let mut ws = Self::load(self.manifest_path.clone())?.with_env(env.name())?;
        ws.secrets_dir.clone_from(&self.secrets_dir);
        Ok(ws)
    }

    /// The environment commands act on.
    pub fn env(&self) -> &Environment {
        &self.env
    }

    /// Every environment: the default one, those declared in the manifest
    /// and those with releases, by name.
    pub fn environments(&self) -> Vec<Environment> {
        let mut envs = vec![Environment::default()];
        if let Some(declared) = self
            .settings
            .as_ref()
            .and_then(|(t, _)| t.get("environments"))
            .and_then(toml::Value::as_table)
        {
            envs.extend(declared.keys().filter_map(|n| Environment::named(n).ok()));
        }
        envs.extend(Environment::recorded(&self.root));
        envs.sort();
        envs.dedup();
        envs
    }

    /// Whether a release here runs a release phase or a health check
    /// (`release-command`, `health-check`).
    pub fn runs_release_commands(&self) -> bool {
        self.hooks
            .as_ref()
            .is_ok_and(|h| h.release_command.is_some() || h.health_check.is_some())
    }

    /// The commands a release of the selected environment runs.
    pub(crate) fn hooks(&self) -> crate::Result<&Hooks> {
        self.hooks
            .as_ref()
            .map_err(|e| Error::InvalidSetting(e.clone()))
    }

    /// The environment the selected one takes promotions from, when it
    /// takes nothing else (`promote-from`).
    pub(crate) fn promote_from(&self) -> crate::Result<Option<&Environment>> {
        match &self.promote_from {
            Ok(from) => Ok(from.as_ref()),
            Err(e) => Err(Error::InvalidSetting(e.clone())),
        }
    }

    /// The workspace root: the folder of the root `Cargo.toml`, where `.releases/` lives.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The root `Cargo.toml`.
    pub fn manifest_path(&self) -> &Path {
        &self.manifest_path
    }

    /// The app's name, as messages say it: the root package's, else the root folder's.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The app's name with the environment's, when it is not the default:
    /// `myapp (production)`.
    pub fn app_name(&self) -> String {
        if self.env.is_default() {
            self.name.clone()
        } else {
            format!("{} ({})", self.name, self.env)
        }
    }

    /// The releases tier: `[workspace.metadata.release-log] tier`, else
    /// `[package.metadata.release-log] tier`, else `advanced`.
    pub fn tier(&self) -> crate::Result<Tier> {
        self.tier.clone().map_err(Error::InvalidSetting)
    }

    /// The tier for reading the ledger: an invalid setting keeps every
    /// release (retention refuses to run), as the advanced tier does.
    pub(crate) fn read_tier(&self) -> Tier {
        self.tier.clone().unwrap_or_default()
    }

    /// The shared slug store `slug-store` names, opened on first use; `None` without one.
    pub(crate) fn slug_store(&self) -> crate::Result<Option<&RemoteStore>> {
        if let Some(store) = self.remote.get() {
            return Ok(Some(store));
        }
        let (spec, _) = self.slugs.clone().map_err(Error::InvalidSetting)?;
        let Some(spec) = spec else {
            return Ok(None);
        };
        let store = RemoteStore::parse(&spec, &self.root)
            .map_err(|e| Error::InvalidSetting(format!("{e:#}")))?;
        Ok(Some(self.remote.get_or_init(|| store)))
    }

    /// The slug store for a read command, which shows what it can without it.
    pub(crate) fn slug_store_for_reading(&self) -> Option<&RemoteStore> {
        self.slug_store().ok().flatten()
    }

    /// `keep-slugs`: how many of the newest built slugs to keep here (all when unset).
    pub(crate) fn keep_slugs(&self) -> crate::Result<Option<usize>> {
        Ok(self.slugs.clone().map_err(Error::InvalidSetting)?.1)
    }

    pub(crate) fn set_tier(&mut self, tier: Tier) {
        self.tier = Ok(tier);
    }

    /// `cargo metadata --no-deps`, run on first use.
    fn metadata(&self) -> anyhow::Result<&Metadata> {
        if let Some(metadata) = self.metadata.get() {
            return Ok(metadata);
        }
        let metadata = self.read_metadata()?;
        Ok(self.metadata.get_or_init(|| metadata))
    }

    /// Starts `cargo metadata` in the background (20-300 ms), so that it runs
    /// while the caller asks git; the members are read from it when needed.
    pub(crate) fn start_reading_members(&self) {
        if self.metadata.get().is_some() || self.pending.borrow().is_some() {
            return;
        }
        // Failing to start, or a file refused, is reported when the members are read.
        if let Ok(running) = self.start_metadata() {
            *self.pending.borrow_mut() = Some(running);
        }
    }

    /// Starts finding out who acts (`git config user.email`), for a release
    /// about to be recorded.
    pub(crate) fn start_user_lookup(&self) {
        let mut pending = self.pending_user.borrow_mut();
        if pending.is_none() {
            *pending = git::start_user_lookup(&self.root);
        }
    }

    /// Who acts: `git config user.email`, else the OS user.
    pub(crate) fn acting_user(&self) -> String {
        self.start_user_lookup();
        git::acting_user(self.pending_user.borrow_mut().take())
    }

    /// Starts `cargo metadata --no-deps` in the workspace root, once the
    /// files it reads there are known to be regular files within their
    /// limits, in a process group of its own. Failing to start it names
    /// the command.
    fn start_metadata(&self) -> anyhow::Result<Running> {
        // Its errors name the file and what is wrong with it.
        self.cargo_reads.check(&self.root, &self.manifest_path)?;
        ProcessBuilder::cargo()
            .args([
                "metadata",
                "--format-version",
                "1",
                "--no-deps",
                "--manifest-path",
            ])
            .arg(&self.manifest_path)
            .cwd(&self.root)
            .start(MAX_METADATA_OUTPUT)
    }

    /// The members, as `cargo metadata` says: the run started early, else a
    /// new one; either is stopped after [`METADATA_TIMEOUT`].
    fn read_metadata(&self) -> anyhow::Result<Metadata> {
        let context = "could not read the members of the Cargo workspace";
        let pending = self.pending.borrow_mut().take();
        let running = match pending {
            Some(running) => running,
            None => self.start_metadata()?,
        };
        let output = running.finish(METADATA_TIMEOUT).context(context)?;
        if !output.status.success() {
            return Err(anyhow::anyhow!("{}", cargo_said(&output.stderr)).context(context));
        }
        let text = String::from_utf8_lossy(&output.stdout);
        let json = text
            .lines()
            .find(|l| l.starts_with('{'))
            .unwrap_or_default();
        MetadataCommand::parse(json).context(context)
    }

    /// The files an add-on change may edit: every member's `Cargo.toml`,
    /// the root one, and `Cargo.lock`; refused unless each is a regular
    /// file within its limit.
    pub(crate) fn manifests(&self) -> anyhow::Result<Vec<PathBuf>> {
        let mut paths: Vec<PathBuf> = self
            .metadata()?
            .workspace_packages()
            .iter()
            .map(|p| p.manifest_path.clone().into_std_path_buf())
            .collect();
        paths.push(self.manifest_path.clone());
        paths.push(self.root.join("Cargo.lock"));
        paths.sort();
        paths.dedup();
        cargo_files::check_all(&self.root, &paths)?;
        Ok(paths)
    }

    /// The folders of path add-ons outside the workspace root: their changes ship too.
    pub(crate) fn path_addon_dirs(&self) -> anyhow::Result<Vec<PathBuf>> {
        Ok(lockfile::path_dependencies(self.metadata()?)
            .into_iter()
            .filter(|dir| !dir.starts_with(&self.root))
            .collect())
    }

    /// The executables `cargo run` would choose from in the folder `from`:
    /// the `default-run` or the binaries of the member package containing
    /// it; `None` outside every member.
    pub(crate) fn bins_here(&self, from: &Path) -> anyhow::Result<Option<Vec<String>>> {
        let metadata = self.metadata()?;
        let here = metadata
            .workspace_packages()
            .into_iter()
            .filter(|p| {
                p.manifest_path
                    .parent()
                    .is_some_and(|dir| from.starts_with(dir))
            })
            .max_by_key(|p| p.manifest_path.as_str().len());
        Ok(here.map(|p| match &p.default_run {
            Some(bin) => vec![bin.clone()],
            None => p
                .targets
                .iter()
                .filter(|t| t.is_bin())
                .map(|t| t.name.clone())
                .collect(),
        }))
    }

    /// The add-ons: external normal and build dependencies, resolved in Cargo.lock.
    pub(crate) fn workspace_addons(&self) -> anyhow::Result<Vec<Addon>> {
        lockfile::addons(self.metadata()?)
    }

    /// The add-ons as the manifests say now, read afresh after a change.
    pub(crate) fn workspace_addons_now(&self) -> anyhow::Result<Vec<Addon>> {
        lockfile::addons(&self.read_metadata()?)
    }
}

/// How long `cargo metadata --no-deps` may run: it answers in well under
/// a second, but waits while another cargo holds a lock it needs.
const METADATA_TIMEOUT: Duration = Duration::from_secs(120);

/// The most `cargo metadata --no-deps` may print: a workspace of thousands
/// of members is described in tens of megabytes.
const MAX_METADATA_OUTPUT: usize = 128 << 20;

/// What cargo printed on stderr, for an error: escaped, each line cut
/// short, the first lines only (it quotes the files it cannot parse).
fn cargo_said(stderr: &[u8]) -> String {
    const MAX_LINES: usize = 20;
    let text = String::from_utf8_lossy(stderr);
    let text = text.trim();
    let mut lines: Vec<String> = text
        .trim_start_matches("error: ")
        .lines()
        .take(MAX_LINES)
        .map(|line| cargo_files::excerpt(line, 120))
        .collect();
    if text.lines().nth(MAX_LINES).is_some() {
        lines.push("…".to_owned());
    }
    lines.join("\n")
}

/// What was started in the background and not read is stopped with the workspace.
impl Drop for Workspace {
    fn drop(&mut self) {
        // A pending `cargo metadata` stops itself when dropped.
        if let Some(mut child) = self.pending_user.get_mut().take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `path` relative to `base`, with `..` where it lies outside.
pub(crate) fn relative_to(path: &Path, base: &Path) -> PathBuf {
    let path: Vec<Component> = path.components().collect();
    let base: Vec<Component> = base.components().collect();
    let common = path.iter().zip(&base).take_while(|(a, b)| a == b).count();
    let mut rel = PathBuf::new();
    for _ in common..base.len() {
        rel.push("..");
    }
    rel.extend(&path[common..]);
    rel
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths() {
        assert_eq!(
            relative_to(Path::new("/a/b/c"), Path::new("/a/b")),
            Path::new("c")
        );
        assert_eq!(
            relative_to(Path::new("/a/lib"), Path::new("/a/b")),
            Path::new("../lib")
        );
    }
}
