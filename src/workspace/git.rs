//! What deploy reads from git: the commit, whether the tree is dirty, who acts.

use std::path::{Path, PathBuf};

use anyhow::bail;

use super::relative_to;
use crate::process::ProcessBuilder;

/// The full sha of `HEAD`.
pub(crate) fn head_commit(root: &Path) -> anyhow::Result<String> {
    let inside = ProcessBuilder::git(root)
        .args(["rev-parse", "--is-inside-work-tree"])
        .output_unchecked()?;
    if !inside.status.success() {
        bail!(
            "`{}` is not in a git repository; a deploy records the commit it ships \
             (run `git init` and commit the workspace first)",
            root.display()
        );
    }
    let head =
        ProcessBuilder::git(root).args(["rev-parse", "--verify", "--quiet", "HEAD^{commit}"]);
    let output = head.output_unchecked()?;
    if !output.status.success() {
        bail!(
            "the git repository at `{}` has no commits yet; commit the workspace first",
            root.display()
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// Paths under `dir` with uncommitted changes (as `git status` shows them),
/// leaving out the `managed` paths (relative to `dir`) the tool writes
/// itself, and shown relative to `base`.
pub(crate) fn dirty_paths(
    dir: &Path,
    managed: &[&str],
    base: &Path,
) -> anyhow::Result<Vec<String>> {
    let top = PathBuf::from(
        ProcessBuilder::git(dir)
            .args(["rev-parse", "--show-toplevel"])
            .read()?,
    );
    let mut status = ProcessBuilder::git(dir).args([
        "status",
        "--porcelain=v1",
        "-z",
        "--untracked-files=all",
        "--",
        ".",
    ]);
    for path in managed {
        status = status.arg(format!(":(exclude){path}"));
    }
    let output = status.output()?;
    let text = String::from_utf8_lossy(&output.stdout);
    let mut paths = Vec::new();
    let mut entries = text.split('\0').filter(|e| !e.is_empty());
    while let Some(entry) = entries.next() {
        let (code, path) = entry.split_at_checked(3).unwrap_or(("", entry));
        // git names paths from the top of its repository.
        paths.push(relative_to(&top.join(path), base).display().to_string());
        // A rename or copy is followed by its source path.
        if code.starts_with(['R', 'C']) {
            entries.next();
        }
    }
    Ok(paths)
}

/// The text of the file at `rel` (relative to `dir`) as committed at
/// `HEAD`, or `None` when that commit does not have it.
pub(crate) fn file_at_head(dir: &Path, rel: &Path) -> anyhow::Result<Option<String>> {
    // Object names use `/`, whatever the platform; `./` makes them relative to `dir`.
    let name: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let output = ProcessBuilder::git(dir)
        .arg("show")
        .arg(format!("HEAD:./{}", name.join("/")))
        .output_unchecked()?;
    Ok(output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).into_owned()))
}

/// Whether git ignores `path`.
pub(crate) fn is_ignored(dir: &Path, path: &Path) -> anyhow::Result<bool> {
    let output = ProcessBuilder::git(dir)
        .args(["check-ignore", "--quiet", "--"])
        .arg(path)
        .output_unchecked()?;
    Ok(output.status.success())
}

/// `git config user.email`, if set.
pub(crate) fn user_email(root: &Path) -> Option<String> {
    ProcessBuilder::git(root)
        .args(["config", "user.email"])
        .read()
        .ok()
        .filter(|e| !e.is_empty())
}

/// Who acts: `git config user.email`, else the OS user, else `unknown`
/// (a deploy from a bare container is still worth recording).
pub(crate) fn acting_user(root: &Path) -> String {
    user_email(root)
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
