//! What is read from the workspace: its root, name, tier, members and add-ons.

pub mod env_config;
pub mod git;
pub mod lockfile;

use std::cell::OnceCell;
use std::path::{Component, Path, PathBuf};

use anyhow::{Context as _, bail};
use cargo_metadata::{Metadata, MetadataCommand};
use fs_err as fs;

use crate::ledger::{Addon, Tier};
use crate::process::ProcessBuilder;

pub use env_config::EnvFile;

/// A Cargo workspace: its root and settings come from the root manifest;
/// the members and their dependencies (`cargo metadata`) are read only by
/// the commands that need them, once.
#[derive(Debug)]
pub struct Workspace {
    pub root: PathBuf,
    /// The root `Cargo.toml`.
    pub manifest_path: PathBuf,
    /// The root package's name, or the root folder's.
    pub name: String,
    /// The tier setting; an invalid one is an error only where the tier matters.
    tier: Result<Tier, String>,
    metadata: OnceCell<Metadata>,
}

impl Workspace {
    /// Finds the workspace like cargo does: from `manifest_path`, or upward from the current folder.
    pub fn load(manifest_path: Option<&Path>) -> anyhow::Result<Self> {
        let mut locate = ProcessBuilder::cargo().args([
            "locate-project",
            "--workspace",
            "--message-format",
            "plain",
        ]);
        if let Some(path) = manifest_path {
            if path.is_dir() {
                bail!(
                    "the manifest path `{}` is a folder; pass the path to its Cargo.toml",
                    path.display()
                );
            }
            if !path.is_file() {
                bail!("the manifest path `{}` does not exist", path.display());
            }
            locate = locate.arg("--manifest-path").arg(path);
        }
        let output = locate.output_unchecked()?;
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            return Err(anyhow::anyhow!(
                "{}",
                stderr.trim().trim_start_matches("error: ").to_owned()
            ))
            .context("could not read the Cargo workspace");
        }
        let manifest_path = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
        let root = manifest_path
            .parent()
            .with_context(|| format!("`{}` has no folder", manifest_path.display()))?
            .to_owned();
        let text = fs::read_to_string(&manifest_path)?;
        let manifest: toml::Table = toml::from_str(&text)
            .with_context(|| format!("failed to parse `{}`", manifest_path.display()))?;
        let name = manifest
            .get("package")
            .and_then(|p| p.get("name"))
            .and_then(toml::Value::as_str)
            .map(str::to_owned)
            .or_else(|| root.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "workspace".to_owned());
        let tier = read_tier(&manifest)
            .map_err(|e| format!("invalid {e} in `{}`", manifest_path.display()));
        Ok(Self {
            root,
            manifest_path,
            name,
            tier,
            metadata: OnceCell::new(),
        })
    }

    /// The releases tier: `[workspace.metadata.release-log] tier`, else
    /// `[package.metadata.release-log] tier`, else `advanced`.
    pub fn tier(&self) -> anyhow::Result<Tier> {
        self.tier.clone().map_err(|e| anyhow::anyhow!(e))
    }

    pub fn set_tier(&mut self, tier: Tier) {
        self.tier = Ok(tier);
    }

    /// `cargo metadata --no-deps`, run on first use.
    fn metadata(&self) -> anyhow::Result<&Metadata> {
        if let Some(metadata) = self.metadata.get() {
            return Ok(metadata);
        }
        let metadata = MetadataCommand::new()
            .no_deps()
            .manifest_path(&self.manifest_path)
            .exec()
            .map_err(|e| match e {
                cargo_metadata::Error::CargoMetadata { stderr } => {
                    anyhow::anyhow!("{}", stderr.trim().trim_start_matches("error: ").to_owned())
                }
                other => anyhow::Error::new(other),
            })
            .context("could not read the members of the Cargo workspace")?;
        Ok(self.metadata.get_or_init(|| metadata))
    }

    /// The folders of path add-ons outside the workspace root: their changes ship too.
    pub fn path_addon_dirs(&self) -> anyhow::Result<Vec<PathBuf>> {
        Ok(lockfile::path_dependencies(self.metadata()?)
            .into_iter()
            .filter(|dir| !dir.starts_with(&self.root))
            .collect())
    }

    /// The executables `cargo run` would choose from in the folder `from`:
    /// the `default-run` or the binaries of the member package containing
    /// it; `None` outside every member.
    pub fn bins_here(&self, from: &Path) -> anyhow::Result<Option<Vec<String>>> {
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
    pub fn addons(&self) -> anyhow::Result<Vec<Addon>> {
        lockfile::addons(self.metadata()?)
    }
}

/// The tier setting of a root manifest; the error names the setting.
fn read_tier(manifest: &toml::Table) -> Result<Tier, String> {
    let section = |name: &str| {
        manifest
            .get(name)
            .and_then(|s| s.get("metadata"))
            .and_then(|m| m.get("release-log"))
            .and_then(|r| r.get("tier"))
    };
    let (value, setting) = match (section("workspace"), section("package")) {
        (Some(v), _) => (v, "workspace.metadata.release-log.tier"),
        (None, Some(v)) => (v, "package.metadata.release-log.tier"),
        (None, None) => return Ok(Tier::default()),
    };
    match value.as_str() {
        Some(s) => s.parse().map_err(|e| format!("`{setting}`: {e}")),
        None => Err(format!(
            "`{setting}`: expected \"basic\" or \"advanced\", found {value}"
        )),
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
