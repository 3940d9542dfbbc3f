//! The tool's own git index of a workspace: its files as committed at
//! `HEAD`, without the ledger's.
//!
//! `git status` reads the repository's index, which lists every release
//! file ever committed, and compares it with `HEAD` by walking the ledger's
//! tree: with 100,000 releases that is most of a deploy's time. This index
//! holds only the workspace's other files, so git compares the working tree
//! with the commit through it in a few milliseconds, however long the
//! ledger grows: one `git ls-files` lists the files changed, deleted and
//! untracked, and git does not walk `.releases/`.
//!
//! It compares the working tree with the commit, as the build sees them;
//! the staging area plays no part. Each index is a file named by the commit
//! it holds, written whole and renamed into place, in the git folder (which
//! a clone never brings). When `HEAD` moves, the next one is made from the
//! last with the entries `git diff-tree` says changed: git keeps the file
//! stats of the others, and reads again only the files that changed. The
//! copy keeps the time the index was written, by which git knows which
//! stats it can trust.
//!
//! Anything out of the ordinary (no commit yet, a sparse checkout,
//! submodules, a git that fails) is left to `git status`.

use std::collections::BTreeSet;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, SystemTime};

use super::git::Status;
use super::relative_to;
use crate::ledger::slugs::sha256_bytes;
use crate::process::ProcessBuilder;

/// Temporary indexes older than this are left by a process that died.
const ABANDONED: Duration = Duration::from_secs(600);

/// Where the indexes of all workspaces live, in the git folder.
const FOLDER: &str = "cargo-release-log";

/// What the indexes hold and how they are written; a change of either
/// gives new folders, so older indexes are never read.
const FORMAT: &str = "own index 2";

/// git, run in `dir` on the index file `index`, with the settings that
/// would make it trust or skip what it must look at turned off: entries
/// marked unchanged (`core.ignoreStat`), a file system monitor, a cache of
/// untracked files, an index split across files, and hooks, which are the
/// user's and meant for the repository's index.
fn git_on(dir: &Path, index: &Path) -> ProcessBuilder {
    ProcessBuilder::git(dir).env("GIT_INDEX_FILE", index).args([
        "-c",
        "core.ignoreStat=false",
        "-c",
        "core.fsmonitor=false",
        "-c",
        "core.untrackedCache=false",
        "-c",
        "core.splitIndex=false",
        "-c",
        "core.hooksPath=/dev/null",
    ])
}

/// What `git status` would say of the folder `dir` without its entries
/// named in `excluded`, found through the tool's own index; `None` where
/// `git status` itself must be asked.
pub(crate) fn status(dir: &Path, excluded: &[&str], base: &Path) -> Option<Status> {
    let repo = Repo::of(dir)?;
    // Files outside the sparse checkout are missing on purpose, yet this
    // index would see them as deleted.
    if repo.git_dir.join("info/sparse-checkout").exists() {
        return None;
    }
    let folder = repo.git_dir.join(FOLDER).join(key(&repo.prefix, excluded));
    let index = folder.join(&repo.head);
    if !index.is_file() && !sync(&repo, excluded, &folder).unwrap_or(false) {
        return None;
    }
    // One pass over the index and the folder: files changed or deleted
    // since the commit, and untracked ones. An excluded folder is not walked.
    let mut list = git_on(dir, &index).args([
        "ls-files",
        "-z",
        "--modified",
        "--deleted",
        "--others",
        "--exclude-standard",
        "--full-name",
        "--",
        ".",
    ]);
    for path in excluded {
        list = list.arg(format!(":(exclude,literal){path}"));
    }
    let output = list.output_unchecked().ok()?;
    if !output.status.success() {
        // An index git cannot read is made again next time.
        let _ = std::fs::remove_file(&index);
        return None;
    }
    // A deleted file is listed as modified too.
    let mut paths = BTreeSet::new();
    for path in records(&output.stdout) {
        paths.insert(String::from_utf8(path.to_vec()).ok()?);
    }
    // Removed by another process while git read it, git would have read no
    // index at all.
    if !index.is_file() {
        return None;
    }
    // Paths from `dir` as it was given: git's top folder has its links
    // resolved, and `base` may not.
    let mut relative = Vec::new();
    for path in &paths {
        let inside = path.strip_prefix(repo.prefix.as_str())?;
        relative.push(relative_to(&dir.join(inside), base).display().to_string());
    }
    Some(Status {
        head: Some(repo.head),
        paths: relative,
    })
}

/// The repository around a folder, as git sees it.
struct Repo {
    /// The folder's own git folder (a linked worktree's, for one).
    git_dir: PathBuf,
    top: PathBuf,
    /// The folder, relative to `top`: empty, or ending in `/`.
    prefix: String,
    /// The commit checked out.
    head: String,
}

impl Repo {
    /// `None` outside a repository and before its first commit.
    fn of(dir: &Path) -> Option<Self> {
        let output = ProcessBuilder::git(dir)
            .args([
                "rev-parse",
                "--absolute-git-dir",
                "--show-toplevel",
                "--show-prefix",
                "--verify",
                "HEAD",
            ])
            .output_unchecked()
            .ok()
            .filter(|output| output.status.success())?;
        let text = String::from_utf8(output.stdout).ok()?;
        let lines: Vec<&str> = text.lines().collect();
        let [git_dir, top, prefix, head] = lines[..] else {
            return None;
        };
        if top.is_empty() || !head.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        Some(Self {
            git_dir: PathBuf::from(git_dir),
            top: PathBuf::from(top),
            prefix: prefix.to_owned(),
            head: head.to_owned(),
        })
    }
}

/// The folder of the indexes of one workspace (its place in the repository
/// and what is left out), so that two in one repository keep theirs apart.
fn key(prefix: &str, excluded: &[&str]) -> String {
    let mut named = format!("{FORMAT}\0{prefix}");
    for path in excluded {
        named.push('\0');
        named.push_str(path);
    }
    format!("index-{}", &sha256_bytes(named.as_bytes())[..16])
}

/// Makes the index of `HEAD` in `folder` from the newest index there, or
/// from nothing; `false` when the workspace holds what this index cannot
/// stand for (a submodule).
fn sync(repo: &Repo, excluded: &[&str], folder: &Path) -> anyhow::Result<bool> {
    fs_err::create_dir_all(folder)?;
    let target = folder.join(&repo.head);
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let temp = folder.join(format!("{}.tmp-{}-{nanos}", repo.head, std::process::id()));
    let _ = std::fs::remove_file(&temp);
    let made = make(repo, excluded, folder, &temp);
    if !matches!(made, Ok(true)) {
        let _ = std::fs::remove_file(&temp);
        return made;
    }
    fs_err::rename(&temp, &target)?;
    forget_others(folder, &target);
    Ok(true)
}

/// Writes the index of `HEAD` to `temp`; see [`sync`].
fn make(repo: &Repo, excluded: &[&str], folder: &Path, temp: &Path) -> anyhow::Result<bool> {
    if let Some(last) = newest_index(folder) {
        let last_commit = last
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        copy_keeping_time(&last, temp)?;
        if let Some(records) = changes(repo, temp, last_commit, excluded)? {
            return write_entries(repo, temp, &records);
        }
        // The commit it holds is gone (a rewritten history): start anew.
        fs_err::remove_file(temp)?;
    }
    let records = entries(repo, excluded)?;
    // No entries at all: git writes no index for that.
    Ok(!records.is_empty() && write_entries(repo, temp, &records)?)
}

/// Copies index file `from` to `to` with its modification time: git
/// trusts the file stats in an index only for files changed before the
/// index was written, and looks into the others; a copy dated now would
/// have git trust the stats of a file changed in the same second (or
/// clock tick) as the index was first written, yet after its stats were read.
fn copy_keeping_time(from: &Path, to: &Path) -> anyhow::Result<()> {
    // One handle for both, so the time is that of the bytes copied even
    // if another process renames a newer index into place meanwhile.
    let mut source = fs_err::File::open(from)?;
    let modified = source.metadata()?.modified()?;
    let mut copy = fs_err::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(to)?;
    std::io::copy(&mut source, &mut copy)?;
    copy.file().set_modified(modified)?;
    Ok(())
}

/// The index file in `folder` written last, by its name a commit.
fn newest_index(folder: &Path) -> Option<PathBuf> {
    std::fs::read_dir(folder)
        .ok()?
        .filter_map(Result::ok)
        .filter(|entry| is_commit_name(&entry.file_name()))
        .filter_map(|entry| {
            let meta = entry.metadata().ok()?;
            let modified = meta.modified().ok()?;
            meta.is_file().then(|| (modified, entry.path()))
        })
        .max()
        .map(|(_, path)| path)
}

fn is_commit_name(name: &std::ffi::OsStr) -> bool {
    name.to_str()
        .is_some_and(|n| n.len() >= 40 && n.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Removes the indexes of other commits, and temporary ones long abandoned.
fn forget_others(folder: &Path, keep: &Path) {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return;
    };
    let now = SystemTime::now();
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        if path == keep {
            continue;
        }
        // By its change time: a temporary index carries the time its
        // source was written, which says nothing of when it was made.
        let abandoned = entry
            .metadata()
            .ok()
            .and_then(|meta| changed(&meta))
            .and_then(|changed| now.duration_since(changed).ok())
            .is_some_and(|age| age > ABANDONED);
        if is_commit_name(&entry.file_name()) || abandoned {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// When a file's metadata last changed (its modification time where no
/// change time is kept).
fn changed(meta: &std::fs::Metadata) -> Option<SystemTime> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        let seconds = u64::try_from(meta.ctime()).ok()?;
        let nanos = u32::try_from(meta.ctime_nsec()).ok()?;
        Some(SystemTime::UNIX_EPOCH + Duration::new(seconds, nanos))
    }
    #[cfg(not(unix))]
    meta.modified().ok()
}

/// An index entry to write: one that differs between two commits, or one
/// of a commit's.
struct Change {
    /// All zeros for a path the newer commit does not have, which
    /// `git update-index --index-info` takes as a removal.
    mode: String,
    oid: String,
    /// From the top of the repository.
    path: Vec<u8>,
}

impl Change {
    /// The entry at `path` in the workspace's tree.
    fn new(repo: &Repo, mode: &str, oid: &str, path: &[u8]) -> Self {
        Self {
            mode: mode.to_owned(),
            oid: oid.to_owned(),
            path: [repo.prefix.as_bytes(), path].concat(),
        }
    }
}

/// The workspace's tree in `commit`, as git names it.
fn tree(repo: &Repo, commit: &str) -> String {
    format!("{commit}:{}", repo.prefix.trim_end_matches('/'))
}

/// Every entry of the workspace at `HEAD`, but the `excluded` ones.
fn entries(repo: &Repo, excluded: &[&str]) -> anyhow::Result<Vec<Change>> {
    let tree = tree(repo, &repo.head);
    let listed = ProcessBuilder::git(&repo.top)
        .args(["ls-tree", "-z", "--name-only", &tree])
        .output()?;
    // Named one by one: a pathspec that excludes `.releases/` would still
    // have git walk its tree.
    let names = pathspecs(records(&listed.stdout), excluded)?;
    if names.is_empty() {
        return Ok(Vec::new());
    }
    // `mode type oid TAB path NUL`
    let output = ProcessBuilder::git(&repo.top)
        .args(["ls-tree", "-r", "-z", &tree, "--"])
        .args(names)
        .output()?;
    let mut changes = Vec::new();
    for record in records(&output.stdout) {
        let tab = record
            .iter()
            .position(|&b| b == b'\t')
            .ok_or_else(|| anyhow::anyhow!("git ls-tree printed an entry without its path"))?;
        let header = std::str::from_utf8(&record[..tab])?;
        let [mode, _, oid] = header.split(' ').collect::<Vec<_>>()[..] else {
            anyhow::bail!("git ls-tree printed `{header}`");
        };
        changes.push(Change::new(repo, mode, oid, &record[tab + 1..]));
    }
    Ok(changes)
}

/// The workspace's entries that differ between commit `from` and `HEAD`,
/// but the `excluded` ones; `None` when `from` is not a commit git has.
fn changes(
    repo: &Repo,
    index: &Path,
    from: &str,
    excluded: &[&str],
) -> anyhow::Result<Option<Vec<Change>>> {
    let trees = [tree(repo, from), tree(repo, &repo.head)];
    // The top-level entries first, then into those that changed, named one
    // by one: a pathspec that excludes `.releases/` would still have git
    // walk its tree.
    let Some(top) = diff_tree(repo, index, &trees, &[])? else {
        return Ok(None);
    };
    let names = pathspecs(
        top.iter().map(|change| &change.path[repo.prefix.len()..]),
        excluded,
    )?;
    if names.is_empty() {
        return Ok(Some(Vec::new()));
    }
    diff_tree(repo, index, &trees, &names)
}

/// `git diff-tree` of two trees: their top-level entries that differ, or,
/// given `pathspecs`, every file under those that differs. It is asked
/// with `index` as git's index: git reads one even here, for attributes,
/// and the repository's is the one to stay clear of.
fn diff_tree(
    repo: &Repo,
    index: &Path,
    trees: &[String; 2],
    pathspecs: &[String],
) -> anyhow::Result<Option<Vec<Change>>> {
    let mut diff = git_on(&repo.top, index).args(["diff-tree", "-z", "--raw", "--no-renames"]);
    if !pathspecs.is_empty() {
        diff = diff.arg("-r");
    }
    let output = diff
        .args(trees)
        .arg("--")
        .args(pathspecs)
        .output_unchecked()?;
    if !output.status.success() {
        return Ok(None);
    }
    // `:oldmode newmode oldoid newoid status NUL path NUL`; the new mode of
    // a deleted path is `000000`.
    let mut changes = Vec::new();
    let mut fields = records(&output.stdout);
    while let Some(header) = fields.next() {
        let header = std::str::from_utf8(header)?;
        let path = fields
            .next()
            .ok_or_else(|| anyhow::anyhow!("git diff-tree printed a change without its path"))?;
        let [_, mode, _, oid, _] = header
            .trim_start_matches(':')
            .split(' ')
            .collect::<Vec<_>>()[..]
        else {
            anyhow::bail!("git diff-tree printed `{header}`");
        };
        changes.push(Change::new(repo, mode, oid, path));
    }
    Ok(Some(changes))
}

/// The NUL-terminated records git printed with `-z`.
fn records(output: &[u8]) -> impl Iterator<Item = &[u8]> {
    output.split(|&b| b == 0).filter(|r| !r.is_empty())
}

/// Literal pathspecs for the top-level `names`, but the `excluded` ones.
fn pathspecs<'a>(
    names: impl Iterator<Item = &'a [u8]>,
    excluded: &[&str],
) -> anyhow::Result<Vec<String>> {
    let mut pathspecs = Vec::new();
    for name in names {
        let name = std::str::from_utf8(name)?;
        if !excluded.contains(&name) {
            pathspecs.push(format!(":(literal){name}"));
        }
    }
    Ok(pathspecs)
}

/// Writes `records` into the index file `index` and has git note the
/// stats of the files that match; `false` when one is a submodule, whose
/// own changes only `git status` looks into.
fn write_entries(repo: &Repo, index: &Path, records: &[Change]) -> anyhow::Result<bool> {
    const SUBMODULE: &str = "160000";
    if records.iter().any(|r| r.mode == SUBMODULE) {
        return Ok(false);
    }
    if records.is_empty() {
        return Ok(true);
    }
    let mut input = Vec::new();
    for record in records {
        input.extend_from_slice(format!("{} {}\t", record.mode, record.oid).as_bytes());
        input.extend_from_slice(&record.path);
        input.push(0);
    }
    let update = git_on(&repo.top, index).args(["update-index", "-z", "--index-info"]);
    let mut child = update
        .command()
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    let written = child.stdin.take().map(|mut stdin| stdin.write_all(&input));
    let output = child.wait_with_output()?;
    if !output.status.success() {
        anyhow::bail!(update.failure(&output));
    }
    written.transpose()?;
    // The new entries have no file stats yet: git reads those files once.
    git_on(&repo.top, index)
        .args(["update-index", "-q", "--refresh"])
        .output()?;
    Ok(true)
}
