//! Add-ons: the members' external dependencies, with versions and sources resolved from Cargo.lock.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use cargo_metadata::{Dependency, DependencyKind, Metadata, Package};
use fs_err as fs;
use serde::Deserialize;

use crate::ledger::Addon;

#[derive(Debug, Default, Deserialize)]
struct LockFile {
    #[serde(default)]
    package: Vec<LockedPackage>,
}

#[derive(Debug, Deserialize)]
struct LockedPackage {
    name: String,
    version: String,
    source: Option<String>,
    #[serde(default)]
    dependencies: Vec<String>,
}

/// Reads `Cargo.lock` at the workspace root; a missing file resolves nothing.
fn read_lock(root: &Path) -> anyhow::Result<LockFile> {
    let path = root.join("Cargo.lock");
    match fs::read_to_string(&path) {
        Ok(text) => {
            toml::from_str(&text).with_context(|| format!("failed to parse `{}`", path.display()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(LockFile::default()),
        Err(e) => Err(e.into()),
    }
}

/// One add-on as it is being gathered from the members.
#[derive(Default)]
struct Gathered {
    reqs: BTreeSet<String>,
    used_by: BTreeSet<String>,
}

/// The add-ons of the workspace: normal and build dependencies of the members
/// that are not members themselves, each once (by name, source and resolved
/// version), sorted by name.
pub(crate) fn addons(metadata: &Metadata) -> anyhow::Result<Vec<Addon>> {
    let root = metadata.workspace_root.as_std_path();
    let lock = read_lock(root)?;
    let mut found: BTreeMap<(String, String, Option<String>), Gathered> = BTreeMap::new();
    for (member, dep) in external_dependencies(metadata) {
        let locked = lock.package.iter().find(|p| {
            p.name == member.name.as_str()
                && p.source.is_none()
                && p.version == member.version.to_string()
        });
        let resolved = locked.and_then(|m| resolve(&lock, m, dep));
        let source = match (&resolved, &dep.path) {
            // Cargo.lock knows where it came from, with a git dependency's locked commit.
            (Some(package), _) if package.source.is_some() => package.source.clone(),
            (_, Some(path)) => Some(format!(
                "path+{}",
                super::relative_to(path.as_std_path(), root).display()
            )),
            _ => dep.source.as_ref().map(|s| s.repr.clone()),
        }
        .unwrap_or_else(|| "unknown".to_owned());
        let entry = found
            .entry((
                dep.name.clone(),
                source,
                resolved.map(|p| p.version.clone()),
            ))
            .or_default();
        entry.reqs.insert(dep.req.to_string());
        entry.used_by.insert(member.name.to_string());
    }
    Ok(found
        .into_iter()
        .map(|((name, source, version), gathered)| Addon {
            name,
            source,
            req: gathered.reqs.into_iter().collect::<Vec<_>>().join(", "),
            version,
            used_by: gathered.used_by.into_iter().collect(),
        })
        .collect())
}

/// The members' normal and build dependencies that are not members
/// themselves (dev-dependencies do not ship).
fn external_dependencies(metadata: &Metadata) -> impl Iterator<Item = (&Package, &Dependency)> {
    let members = metadata.workspace_packages();
    let member_dirs: Vec<&Path> = members
        .iter()
        .filter_map(|p| p.manifest_path.parent().map(|d| d.as_std_path()))
        .collect();
    members.into_iter().flat_map(move |member| {
        let member_dirs = member_dirs.clone();
        member
            .dependencies
            .iter()
            .filter(|d| matches!(d.kind, DependencyKind::Normal | DependencyKind::Build))
            .filter(move |d| {
                d.path
                    .as_ref()
                    .is_none_or(|p| !member_dirs.contains(&p.as_std_path()))
            })
            .map(move |d| (member, d))
    })
}

/// The folders of the path add-ons.
pub(crate) fn path_dependencies(metadata: &Metadata) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = external_dependencies(metadata)
        .filter_map(|(_, d)| d.path.as_ref().map(|p| p.clone().into_std_path_buf()))
        .collect();
    dirs.sort();
    dirs.dedup();
    dirs
}

/// The package Cargo.lock resolved `dep` to for `member`.
fn resolve<'a>(
    lock: &'a LockFile,
    member: &LockedPackage,
    dep: &Dependency,
) -> Option<&'a LockedPackage> {
    // Entries read `name`, `name version` or `name version (source)`.
    let candidates: Vec<&LockedPackage> = member
        .dependencies
        .iter()
        .filter_map(|entry| {
            let mut words = entry.splitn(3, ' ');
            if words.next() != Some(dep.name.as_str()) {
                return None;
            }
            let version = words.next();
            let source = words
                .next()
                .and_then(|s| s.strip_prefix('(')?.strip_suffix(')'));
            lock.package.iter().find(|p| {
                p.name == dep.name
                    && version.is_none_or(|v| p.version == v)
                    && source.is_none_or(|s| p.source.as_deref() == Some(s))
            })
        })
        .collect();
    candidates
        .iter()
        .find(|p| {
            cargo_metadata::semver::Version::parse(&p.version).is_ok_and(|v| dep.req.matches(&v))
        })
        .or(candidates.first())
        .copied()
}
