//! What a repository can commit under `.releases/` that the tool never
//! trusts: its local caches, and symbolic links.
//!
//! `.releases/.index`, `.chain`, `current`, `.store-verified` and the
//! journal (`.journal/intent.toml`) are this
//! clone's own: ignored by git, written by the tool, and trusted only to
//! save time. A cloned repository can still commit them (`.gitignore`
//! does not stop `git add -f`, nor a crafted commit), vouching for a
//! listing, a digest or a verification it never made: one git tracks is
//! never read (and a cache is not rewritten), and `check` says so. A link anywhere under
//! `.releases/` is never followed (see [`crate::files::beneath`]), and
//! `check` names it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use super::{DIR, environment::ENVIRONMENTS};
use crate::process::ProcessBuilder;

/// The caches of `.releases/` (the ones of a named environment's folder are
/// `current` and `.index` too).
const CACHES: [&str; 5] = [
    super::index::INDEX,
    super::chain::CHAIN,
    "current",
    // `transaction::journal`: the change in progress.
    ".journal/intent.toml",
    // `remote::REMEMBERED`.
    ".store-verified",
];

/// Per workspace root, the caches git tracks, asked once per process (one
/// `git ls-files`, and only when such a file exists); `None` when git could
/// not be asked.
static TRACKED: Mutex<BTreeMap<PathBuf, Option<BTreeSet<PathBuf>>>> = Mutex::new(BTreeMap::new());

/// Whether git tracks the cache `file` (a path into `.releases/`): `Some(true)`
/// when a clone committed it, `None` when git could not be asked.
pub(crate) fn tracked(file: &Path) -> Option<bool> {
    let Some(root) = file
        .ancestors()
        .find(|a| a.file_name() == Some(std::ffi::OsStr::new(DIR)))
        .and_then(Path::parent)
    else {
        return Some(false);
    };
    let rel = file.strip_prefix(root).ok()?;
    let mut known = TRACKED.lock().unwrap_or_else(PoisonError::into_inner);
    let set = known
        .entry(root.to_owned())
        .or_insert_with(|| ask_git(root));
    set.as_ref().map(|set| set.contains(rel))
}

/// Whether a clone committed the cache `file`: then it is ignored. When
/// git cannot say (no git), the cache is used as before.
pub(crate) fn is_committed(file: &Path) -> bool {
    tracked(file) == Some(true)
}

/// The caches of the workspace at `root` that git tracks, from the root.
pub(crate) fn committed(root: &Path) -> Vec<PathBuf> {
    existing(root)
        .into_iter()
        .filter(|rel| is_committed(&root.join(rel)))
        .collect()
}

/// The caches present in the workspace at `root`, from the root.
fn existing(root: &Path) -> Vec<PathBuf> {
    let base = Path::new(DIR);
    let mut candidates: Vec<PathBuf> = CACHES.iter().map(|name| base.join(name)).collect();
    if let Ok(entries) = std::fs::read_dir(root.join(base).join(ENVIRONMENTS)) {
        for entry in entries.filter_map(Result::ok) {
            let env = base.join(ENVIRONMENTS).join(entry.file_name());
            candidates.push(env.join(super::index::INDEX));
            candidates.push(env.join(super::chain::CHAIN));
            candidates.push(env.join("current"));
        }
    }
    candidates.retain(|rel| std::fs::symlink_metadata(root.join(rel)).is_ok());
    candidates
}

fn ask_git(root: &Path) -> Option<BTreeSet<PathBuf>> {
    let present = existing(root);
    if present.is_empty() {
        return Some(BTreeSet::new());
    }
    let output = ProcessBuilder::git(root)
        .args(["ls-files", "-z", "--"])
        .args(&present)
        .output_unchecked()
        .ok()?;
    if !output.status.success() {
        // Not a repository: nothing is committed.
        return Some(BTreeSet::new());
    }
    Some(
        output
            .stdout
            .split(|&b| b == 0)
            .filter(|name| !name.is_empty())
            .map(|name| PathBuf::from(String::from_utf8_lossy(name).into_owned()))
            .collect(),
    )
}

/// A finding: the path from the workspace root, and what is wrong with it.
type Found = (String, String);

/// What `check` says of the workspace at `root`: each committed cache (a
/// warning: it is ignored) and each symbolic link under `.releases/` (a
/// problem: what it stands for cannot be used), as `(path, message)`.
pub(crate) fn findings(root: &Path) -> (Vec<Found>, Vec<Found>) {
    let links = links(root)
        .into_iter()
        .map(|rel| {
            let message = crate::files::link_refused(&rel);
            (rel.display().to_string(), message)
        })
        .collect();
    let caches = committed(root)
        .into_iter()
        .map(|rel| {
            let message = format!(
                "`{}` is a local cache of this clone, but git tracks it (someone committed \
                 it): it is ignored; stop tracking it with `git rm --cached {}`",
                rel.display(),
                rel.display()
            );
            (rel.display().to_string(), message)
        })
        .collect();
    (links, caches)
}

/// The symbolic links in `.releases/` and in its folders (the slug store,
/// outputs, manifest copies, environments), from the root; release files
/// are left out (the chain's check names those).
fn links(root: &Path) -> Vec<PathBuf> {
    let base = Path::new(DIR);
    let is_link = |rel: &Path| {
        std::fs::symlink_metadata(root.join(rel)).is_ok_and(|m| m.file_type().is_symlink())
    };
    if is_link(base) {
        return vec![base.to_owned()];
    }
    let mut found = Vec::new();
    let mut folders = vec![base.to_owned()];
    while let Some(folder) = folders.pop() {
        let Ok(entries) = std::fs::read_dir(root.join(&folder)) else {
            continue;
        };
        for entry in entries.filter_map(Result::ok) {
            let rel = folder.join(entry.file_name());
            let name = entry.file_name();
            let name = name.to_string_lossy();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_symlink() {
                if !(name.starts_with('v') && name.ends_with(".toml")) {
                    found.push(rel);
                }
            } else if kind.is_dir() && rel.components().count() <= 3 && name != ".git" {
                // `.releases/slugs/<sha256>`, `.releases/environments/NAME`.
                folders.push(rel);
            }
        }
    }
    found.sort();
    found
}
