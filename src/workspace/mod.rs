//! What is read from the workspace: its root, name, tier, members and add-ons.

pub mod env_config;
pub mod git;
pub mod lockfile;

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use cargo_metadata::{Metadata, MetadataCommand};

use crate::ledger::{Addon, Tier};

pub use env_config::EnvFile;

/// A Cargo workspace, read once with `cargo metadata --no-deps` and passed down.
#[derive(Debug)]
pub struct Workspace {
    pub root: PathBuf,
    /// The root `Cargo.toml`.
    pub manifest_path: PathBuf,
    /// The root package's name, or the root folder's.
    pub name: String,
    pub tier: Tier,
    metadata: Metadata,
}

impl Workspace {
    /// Finds the workspace like cargo does: from `manifest_path`, or upward from the current folder.
    pub fn load(manifest_path: Option<&Path>) -> anyhow::Result<Self> {
        let mut cmd = MetadataCommand::new();
        cmd.no_deps();
        if let Some(path) = manifest_path {
            if !path.is_file() {
                bail!("the manifest path `{}` does not exist", path.display());
            }
            cmd.manifest_path(path);
        }
        let metadata = cmd.exec().map_err(|e| match e {
            cargo_metadata::Error::CargoMetadata { stderr } => {
                anyhow::anyhow!("{}", stderr.trim().trim_start_matches("error: ").to_owned())
            }
            other => anyhow::Error::new(other),
        });
        let metadata = metadata.context("could not read the Cargo workspace")?;
        let root = metadata.workspace_root.clone().into_std_path_buf();
        let manifest_path = root.join("Cargo.toml");
        let name = match metadata.root_package() {
            Some(p) => p.name.to_string(),
            None => root
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "workspace".to_owned()),
        };
        let tier = read_tier(&metadata, &manifest_path)?;
        Ok(Self {
            root,
            manifest_path,
            name,
            tier,
            metadata,
        })
    }

    /// The add-ons: external normal and build dependencies, resolved in Cargo.lock.
    pub fn addons(&self) -> anyhow::Result<Vec<Addon>> {
        lockfile::addons(&self.metadata)
    }
}

fn read_tier(metadata: &Metadata, manifest: &Path) -> anyhow::Result<Tier> {
    let from_workspace = metadata.workspace_metadata.get("release-log");
    let from_package = metadata
        .root_package()
        .and_then(|p| p.metadata.get("release-log"));
    let (table, setting) = match (from_workspace, from_package) {
        (Some(t), _) => (t, "workspace.metadata.release-log"),
        (None, Some(t)) => (t, "package.metadata.release-log"),
        (None, None) => return Ok(Tier::default()),
    };
    match table.get("tier") {
        None => Ok(Tier::default()),
        Some(serde_json::Value::String(s)) => s
            .parse()
            .with_context(|| format!("invalid `{setting}.tier` in `{}`", manifest.display())),
        Some(other) => bail!(
            "invalid `{setting}.tier` in `{}`: expected \"basic\" or \"advanced\", found {other}",
            manifest.display()
        ),
    }
}
