//! Add-ons: the members' external dependencies, with versions resolved from Cargo.lock.

use std::collections::BTreeMap;
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

type Resolved = (Option<String>, Vec<String>);

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

/// The add-ons of the workspace: normal and build dependencies of the members
/// that are not members themselves, sorted by name.
pub(crate) fn addons(metadata: &Metadata) -> anyhow::Result<Vec<Addon>> {
    let root = metadata.workspace_root.as_std_path();
    let lock = read_lock(root)?;
    // (name, source, requirement) -> (resolved version, members using it)
    let mut found: BTreeMap<(String, String, String), Resolved> = BTreeMap::new();
    for (member, dep) in external_dependencies(metadata) {
        let locked_member = lock.package.iter().find(|p| {
            p.name == member.name.as_str()
                && p.source.is_none()
                && p.version == member.version.to_string()
        });
        let source = match (&dep.source, &dep.path) {
            (Some(s), _) => s.repr.clone(),
            (None, Some(path)) => {
                format!(
                    "path+{}",
                    super::relative_to(path.as_std_path(), root).display()
                )
            }
            (None, None) => "unknown".to_owned(),
        };
        let version = locked_member.and_then(|m| resolve(&lock, m, &dep.name, &dep.req));
        let entry = found
            .entry((dep.name.clone(), source, dep.req.to_string()))
            .or_insert((version, Vec::new()));
        if !entry.1.contains(&member.name.to_string()) {
            entry.1.push(member.name.to_string());
        }
    }
    Ok(found
        .into_iter()
        .map(|((name, source, req), (version, mut used_by))| {
            used_by.sort();
            Addon {
                name,
                source,
                req,
                version,
                used_by,
            }
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

/// The version Cargo.lock resolved `name` to for `member`.
fn resolve(
    lock: &LockFile,
    member: &LockedPackage,
    name: &str,
    req: &cargo_metadata::semver::VersionReq,
) -> Option<String> {
    // Entries read `name`, `name version` or `name version (source)`.
    let candidates: Vec<Option<&str>> = member
        .dependencies
        .iter()
        .filter_map(|entry| {
            let mut words = entry.split(' ');
            (words.next() == Some(name)).then(|| words.next())
        })
        .collect();
    let versions: Vec<String> = candidates
        .iter()
        .filter_map(|v| match v {
            Some(v) => Some((*v).to_owned()),
            None => lock
                .package
                .iter()
                .find(|p| p.name == name)
                .map(|p| p.version.clone()),
        })
        .collect();
    versions
        .iter()
        .find(|v| cargo_metadata::semver::Version::parse(v).is_ok_and(|v| req.matches(&v)))
        .or(versions.first())
        .cloned()
}
