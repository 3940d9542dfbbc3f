//! What deploy reads from git: the commit, whether the tree is dirty, who acts.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::bail;

use super::relative_to;
use crate::process::ProcessBuilder;

/// What `git status` says of a folder: the commit checked out, and the
/// paths with uncommitted changes.
#[derive(Debug)]
pub(crate) struct Status {
    /// The commit `HEAD` names; `None` before the first commit.
    pub(crate) head: Option<String>,
    /// Paths with uncommitted changes, relative to the `base` asked for.
    pub(crate) paths: Vec<String>,
}

/// What `git status` of the workspace folder `dir`, leaving out its entries
/// named in `excluded`, would say (paths relative to `base`): asked through
/// the tool's own index where it can be, since the repository's lists every
/// release file.
pub(crate) fn workspace_status(
    dir: &Path,
    excluded: &[&str],
    base: &Path,
) -> anyhow::Result<Status> {
    match super::own_index::status(dir, excluded, base) {
        Some(status) => Ok(status),
        None => status(dir, excluded, base),
    }
}

/// `git status` of the folder `dir`, leaving out its entries named in
/// `excluded`, with paths shown relative to `base`: one process for both
/// the commit and the changes.
pub(crate) fn status(dir: &Path, excluded: &[&str], base: &Path) -> anyhow::Result<Status> {
    let mut status = ProcessBuilder::git(dir).args([
        // Only looks: git status would otherwise take `index.lock` to
        // refresh the index, and a user's own git command could fail on it.
        "--no-optional-locks",
        "status",
        "--porcelain=v2",
        "--branch",
        "-z",
        "--untracked-files=all",
        "--",
    ]);
    // The folder's other entries, named: an excluding pathspec would still
    // have git walk `.releases/` and its thousands of files for untracked ones.
    match entries_outside(dir, excluded) {
        Some(names) if !names.is_empty() => {
            status = status.args(names.iter().map(|name| format!(":(literal){name}")));
        }
        _ => {
            status = status.arg(".");
            for path in excluded {
                status = status.arg(format!(":(exclude){path}"));
            }
        }
    }
    let output = status.output_unchecked()?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        if stderr.contains("not a git repository") {
            bail!(
                "`{}` is not in a git repository; a deploy records the commit it ships \
                 (run `git init` and commit the workspace first)",
                dir.display()
            );
        }
        bail!(status.failure(&output));
    }
    let top = toplevel(dir)?;
    let text = String::from_utf8_lossy(&output.stdout);
    let mut head = None;
    let mut paths = Vec::new();
    let mut entries = text.split('\0').filter(|e| !e.is_empty());
    while let Some(entry) = entries.next() {
        // `1 XY sub mH mI mW hH hI path`, `2 … Xscore path` then its source,
        // `u … path`, `? path`: the path is the last field, spaces and all.
        let path = match entry.split_once(' ') {
            Some(("#", header)) => {
                if let Some(oid) = header.strip_prefix("branch.oid ") {
                    head = (oid != "(initial)").then(|| oid.to_owned());
                }
                continue;
            }
            Some(("1", rest)) => rest.splitn(8, ' ').nth(7),
            Some(("2", rest)) => {
                entries.next();
                rest.splitn(9, ' ').nth(8)
            }
            Some(("u", rest)) => rest.splitn(10, ' ').nth(9),
            Some(("?", path)) => Some(path),
            _ => None,
        };
        if let Some(path) = path {
            paths.push(relative_to(&top.join(path), base).display().to_string());
        }
    }
    Ok(Status { head, paths })
}

/// The names of `dir`'s entries, on disk or in the commit checked out (so a
/// deleted one is still looked at), apart from `.git` and the `excluded`
/// ones; `None` when one is not a name a pathspec can carry, or git cannot
/// say what the commit holds (no commit yet, or no repository).
fn entries_outside(dir: &Path, excluded: &[&str]) -> Option<BTreeSet<String>> {
    let committed = ProcessBuilder::git(dir)
        .args(["ls-tree", "-z", "--name-only", "HEAD"])
        .output_unchecked()
        .ok()
        .filter(|output| output.status.success())?
        .stdout;
    let mut names = BTreeSet::new();
    for name in committed.split(|&b| b == 0).filter(|n| !n.is_empty()) {
        names.insert(String::from_utf8(name.to_vec()).ok()?);
    }
    for entry in fs_err::read_dir(dir).ok()? {
        names.insert(entry.ok()?.file_name().into_string().ok()?);
    }
    names.retain(|name| name != ".git" && !excluded.contains(&name.as_str()));
    Some(names)
}

/// The top folder of the repository holding `dir`: where `.git` is, found
/// as git finds it, or asked of git when the environment points elsewhere.
fn toplevel(dir: &Path) -> anyhow::Result<PathBuf> {
    let pointed = ["GIT_DIR", "GIT_WORK_TREE"]
        .iter()
        .any(|v| std::env::var_os(v).is_some());
    if !pointed && let Some(top) = dir.ancestors().find(|d| d.join(".git").exists()) {
        return Ok(top.to_owned());
    }
    Ok(PathBuf::from(
        ProcessBuilder::git(dir)
            .args(["rev-parse", "--show-toplevel"])
            .read()?,
    ))
}

/// The text of the file at `rel` (relative to `dir`) as committed at
/// `HEAD`, or `None` when that commit does not have it.
pub(crate) fn file_at_head(dir: &Path, rel: &Path) -> anyhow::Result<Option<String>> {
    Ok(file_at(dir, "HEAD", rel, u64::MAX)?.map(|b| String::from_utf8_lossy(&b).into_owned()))
}

/// The bytes of the file at `rel` (relative to `dir`) in commit `rev`, or
/// `None` when the commit is not here, does not have it, or has one larger
/// than `limit`.
pub(crate) fn file_at(
    dir: &Path,
    rev: &str,
    rel: &Path,
    limit: u64,
) -> anyhow::Result<Option<Vec<u8>>> {
    // Object names use `/`, whatever the platform; `./` makes them relative to `dir`.
    let name: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let object = format!("{rev}:./{}", name.join("/"));
    if limit != u64::MAX {
        let size = ProcessBuilder::git(dir)
            .args(["cat-file", "-s", &object])
            .output_unchecked()?;
        let fits = size.status.success()
            && String::from_utf8_lossy(&size.stdout)
                .trim()
                .parse::<u64>()
                .is_ok_and(|n| n <= limit);
        if !fits {
            return Ok(None);
        }
    }
    let output = ProcessBuilder::git(dir)
        .arg("show")
        .arg(&object)
        .output_unchecked()?;
    Ok(output.status.success().then_some(output.stdout))
}

/// Asks `git config user.email` in the background: who acts is needed only
/// when a release is recorded, and the answer can come while other work runs.
pub(crate) fn start_user_lookup(root: &Path) -> Option<std::process::Child> {
    ProcessBuilder::git(root)
        .args(["config", "user.email"])
        .command()
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .ok()
}

/// Who acts: `git config user.email` (from `lookup`, started by
/// [`start_user_lookup`]), else the OS user, else `unknown` (a deploy from
/// a bare container is still worth recording).
pub(crate) fn acting_user(lookup: Option<std::process::Child>) -> String {
    lookup
        .and_then(|child| child.wait_with_output().ok())
        .filter(|output| output.status.success())
        .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned())
        .filter(|email| !email.is_empty())
        .or_else(|| {
            ["USER", "USERNAME", "LOGNAME"]
                .iter()
                .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
        })
        .unwrap_or_else(|| "unknown".to_owned())
}

/// The paths under `dir` that differ between commits `from` and `to`,
/// leaving out the `excluded` pathspecs; `None` when `from` is not a
/// commit this repository has.
pub(crate) fn changed_between(
    dir: &Path,
    from: &str,
    to: &str,
    excluded: &[&str],
) -> anyhow::Result<Option<Vec<String>>> {
    if !has_commit(dir, from)? {
        return Ok(None);
    }
    let mut diff =
        ProcessBuilder::git(dir).args(["diff", "--name-only", "-z", from, to, "--", "."]);
    for path in excluded {
        diff = diff.arg(format!(":(exclude,glob){path}"));
    }
    let output = diff.output()?;
    Ok(Some(
        String::from_utf8_lossy(&output.stdout)
            .split('\0')
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect(),
    ))
}

/// The commits reachable from `to` but not from `from`, newest first, as
/// full sha and subject; `None` when either is not a commit this
/// repository has.
pub(crate) fn commits_between(
    dir: &Path,
    from: &str,
    to: &str,
) -> anyhow::Result<Option<Vec<(String, String)>>> {
    for commit in [from, to] {
        if !has_commit(dir, commit)? {
            return Ok(None);
        }
    }
    let output = ProcessBuilder::git(dir)
        .args(["log", "-z", "--no-decorate", "--format=%H %s"])
        .arg(format!("{from}..{to}"))
        .output()?;
    Ok(Some(
        String::from_utf8_lossy(&output.stdout)
            .split('\0')
            .filter(|entry| !entry.is_empty())
            .map(|entry| {
                let (sha, subject) = entry.split_once(' ').unwrap_or((entry, ""));
                (sha.trim().to_owned(), subject.to_owned())
            })
            .collect(),
    ))
}

/// Whether the repository has commit `sha`.
pub(crate) fn has_commit(dir: &Path, sha: &str) -> anyhow::Result<bool> {
    let known = ProcessBuilder::git(dir)
        .args(["cat-file", "-e"])
        .arg(format!("{sha}^{{commit}}"))
        .output_unchecked()?;
    Ok(known.status.success())
}

/// Whether git tracks `rel` (relative to `dir`).
pub(crate) fn is_tracked(dir: &Path, rel: &Path) -> anyhow::Result<bool> {
    let output = ProcessBuilder::git(dir)
        .args(["ls-files", "--error-unmatch", "--"])
        .arg(rel)
        .output_unchecked()?;
    Ok(output.status.success())
}
