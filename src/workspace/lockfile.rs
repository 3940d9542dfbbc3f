//! Add-ons: the members' external dependencies, with versions and sources resolved from Cargo.lock.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use cargo_metadata::{Dependency, DependencyKind, Metadata, Package};
use serde::Deserialize;

use super::cargo_files::{self, MAX_CARGO_LOCK};

use crate::ledger::Addon;
use crate::ledger::addons::IndirectMove;
use crate::ledger::{AddonDiff, Code, Environment, manifests};

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

/// Reads `Cargo.lock` at the workspace root, refused unless it is a
/// regular file of at most [`MAX_CARGO_LOCK`] bytes; a missing file
/// resolves nothing.
fn read_lock(root: &Path) -> anyhow::Result<LockFile> {
    let path = root.join("Cargo.lock");
    match cargo_files::read_text(&path, MAX_CARGO_LOCK, Some(root))? {
        Some(text) => cargo_files::parse(&path, &text),
        None => Ok(LockFile::default()),
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

/// One member's dependency on an add-on from a registry, as its manifest
/// declares it: what `cargo add` needs to change its requirement.
#[derive(Debug, Clone)]
pub(crate) struct AddonUse {
    /// The member.
    pub(crate) member: String,
    /// Its manifest, relative to the workspace root.
    pub(crate) manifest: String,
    /// Whether that manifest is the workspace root's (`cargo add` needs no `-p`).
    pub(crate) at_root: bool,
    /// The requirement.
    pub(crate) req: cargo_metadata::semver::VersionReq,
    /// A build-dependency rather than a normal one.
    pub(crate) build: bool,
    /// The name the member knows it by, when renamed (`package = "…"`).
    pub(crate) rename: Option<String>,
    /// The platform of a `[target.….dependencies]` table.
    pub(crate) target: Option<String>,
}

/// The members' normal and build dependencies on add-on `name` that do not
/// come from a path.
pub(crate) fn addon_uses(metadata: &Metadata, name: &str) -> Vec<AddonUse> {
    let root = metadata.workspace_root.as_std_path();
    external_dependencies(metadata)
        .filter(|(_, dep)| dep.name == name && dep.path.is_none())
        .map(|(member, dep)| {
            let manifest = member.manifest_path.as_std_path();
            AddonUse {
                member: member.name.to_string(),
                manifest: super::relative_to(manifest, root).display().to_string(),
                at_root: manifest.parent() == Some(root),
                req: dep.req.clone(),
                build: dep.kind == DependencyKind::Build,
                rename: dep.rename.clone(),
                target: dep.target.as_ref().map(ToString::to_string),
            }
        })
        .collect()
}

/// The versions of `name` that Cargo.lock at `root` holds from a registry.
pub(crate) fn locked_versions(root: &Path, name: &str) -> anyhow::Result<Vec<String>> {
    Ok(read_lock(root)?
        .package
        .into_iter()
        .filter(|p| p.name == name && p.source.as_deref().is_some_and(|s| !s.starts_with("git+")))
        .map(|p| p.version)
        .collect())
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

/// What moved beneath the add-ons from one Cargo.lock to another: crates
/// from a registry or git that no member depends on directly (those are the
/// add-ons, `old_addons` and `new_addons`), by name; a crate locked in one
/// version on each side moved, others came or went version by version.
/// `None` when a lock file does not parse.
pub(crate) fn indirect_changes(
    old: &[u8],
    new: &[u8],
    old_addons: &[Addon],
    new_addons: &[Addon],
) -> Option<Vec<IndirectMove>> {
    let parse = |bytes: &[u8]| -> Option<LockFile> { toml::from_slice(bytes).ok() };
    let (old_lock, new_lock) = (parse(old)?, parse(new)?);
    let direct: BTreeSet<&str> = old_addons
        .iter()
        .chain(new_addons)
        .map(|a| a.name.as_str())
        .collect();
    let versions = |lock: &LockFile| -> BTreeMap<String, BTreeSet<String>> {
        let mut map: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for p in &lock.package {
            if p.source.is_some() && !direct.contains(p.name.as_str()) {
                map.entry(p.name.clone())
                    .or_default()
                    .insert(p.version.clone());
            }
        }
        map
    };
    let (before, after) = (versions(&old_lock), versions(&new_lock));
    let (old_via, new_via) = (
        reached_through(&old_lock, old_addons),
        reached_through(&new_lock, new_addons),
    );
    let none = BTreeSet::new();
    let names: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    let mut moves = Vec::new();
    for name in names {
        let (was, is) = (
            before.get(name).unwrap_or(&none),
            after.get(name).unwrap_or(&none),
        );
        let gone: Vec<&String> = was.difference(is).collect();
        let came: Vec<&String> = is.difference(was).collect();
        let (old_via, new_via) = (
            old_via.get(name).map(String::as_str),
            new_via.get(name).map(String::as_str),
        );
        if let ([old], [new]) = (gone.as_slice(), came.as_slice()) {
            moves.push(IndirectMove::new(name, Some(old), Some(new), new_via));
            continue;
        }
        for old in gone {
            moves.push(IndirectMove::new(name, Some(old), None, old_via));
        }
        for new in came {
            moves.push(IndirectMove::new(name, None, Some(new), new_via));
        }
    }
    Some(moves)
}

/// For each crate `lock` reaches from the add-ons, the first add-on by name
/// it is reached through.
fn reached_through(lock: &LockFile, addons: &[Addon]) -> BTreeMap<String, String> {
    let mut by_name: BTreeMap<&str, Vec<&LockedPackage>> = BTreeMap::new();
    for p in &lock.package {
        by_name.entry(p.name.as_str()).or_default().push(p);
    }
    // Entries read `name`, `name version` or `name version (source)`.
    let find = |entry: &str| -> Option<&LockedPackage> {
        let mut words = entry.splitn(3, ' ');
        let candidates = by_name.get(words.next()?)?;
        let version = words.next();
        candidates
            .iter()
            .find(|p| version.is_none_or(|v| p.version == v))
            .copied()
    };
    let mut reached: BTreeMap<String, String> = BTreeMap::new();
    let mut seen: BTreeSet<(&str, &str)> = BTreeSet::new();
    let mut sorted: Vec<&Addon> = addons.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    for addon in sorted {
        let start = by_name.get(addon.name.as_str()).and_then(|ps| {
            ps.iter()
                .find(|p| addon.version.as_deref().is_none_or(|v| p.version == v))
        });
        let mut queue: Vec<&LockedPackage> = start.into_iter().copied().collect();
        while let Some(package) = queue.pop() {
            for dep in package.dependencies.iter().filter_map(|e| find(e)) {
                if seen.insert((dep.name.as_str(), dep.version.as_str())) {
                    reached
                        .entry(dep.name.clone())
                        .or_insert_with(|| addon.name.clone());
                    queue.push(dep);
                }
            }
        }
    }
    reached
}

impl super::Workspace {
    /// The members' dependencies on add-on `name`, as the manifests declare them now.
    pub(crate) fn addon_uses(&self, name: &str) -> anyhow::Result<Vec<AddonUse>> {
        Ok(addon_uses(self.metadata()?, name))
    }

    /// Cargo.lock as `code` was built with it: the release's copy when it was
    /// built with an uncommitted one, else its commit's; `None` when neither
    /// is here (a shallow clone, a copy not committed).
    pub(crate) fn lock_of(&self, code: &Code) -> Option<Vec<u8>> {
        if let Some(digest) = code.uncommitted.get("Cargo.lock") {
            return manifests::read(&Environment::base(self.root()), digest);
        }
        super::git::file_at(
            self.root(),
            &code.commit,
            Path::new("Cargo.lock"),
            manifests::MAX_MANIFEST,
        )
        .ok()
        .flatten()
    }

    /// How the add-ons changed from `old` to `new`, with what moved beneath
    /// them when both lock files are here.
    pub(crate) fn addon_diff(&self, old: &Code, new: &Code) -> AddonDiff {
        let mut diff = AddonDiff::between(&old.addons, &new.addons);
        if let (Some(before), Some(after)) = (self.lock_of(old), self.lock_of(new)) {
            diff.indirect =
                indirect_changes(&before, &after, &old.addons, &new.addons).unwrap_or_default();
        }
        diff
    }
}
