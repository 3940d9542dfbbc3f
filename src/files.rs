//! Files of an untrusted repository: only regular files are read or
//! trusted, no symbolic link is followed for anything written, deleted or
//! trusted, reads are bounded, and every write is atomic through one
//! scratch folder, `.releases/.tmp/`.
//!
//! A cloned repository can commit symbolic links, FIFOs and huge files
//! where the tool expects its own files; each is refused with an error that
//! names it, rather than followed, waited on or read into memory.

use std::io::{Read as _, Seek as _, Write as _};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use fs_err as fs;

pub(crate) mod beneath;

use beneath::{Access, Kind};

/// The largest file the tool reads: a release file, `.releases/current`,
/// `.cargo/config.toml`. A release file is a few kilobytes.
pub(crate) const MAX_FILE: u64 = 1 << 20;

/// Opens `path` for reading when it is a regular file: never through a
/// symbolic link (under `.releases/`, at no component from there down, see
/// [`beneath`]), never waiting on a FIFO. `Ok(None)` when it is missing.
pub(crate) fn open_regular(path: &Path) -> anyhow::Result<Option<std::fs::File>> {
    let Some((dir, name)) = beneath::parent_of(path)? else {
        return Ok(None);
    };
    let file = match dir.open(name, Access::Read) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return match dir.lstat(name) {
                Ok(Some(entry)) if entry.kind == Kind::Link => bail!("{}", link_refused(path)),
                _ => Err(e).with_context(|| format!("failed to open `{}`", path.display())),
            };
        }
    };
    let meta = file
        .metadata()
        .with_context(|| format!("failed to read the metadata of `{}`", path.display()))?;
    if !meta.is_file() {
        bail!(
            "`{}` is not a regular file (a folder, FIFO or device); cargo release-log reads \
             only regular files there",
            path.display()
        );
    }
    Ok(Some(file))
}

/// The bytes of regular file `path`, refusing one larger than `limit`;
/// `Ok(None)` when it is missing.
pub(crate) fn read_bounded(path: &Path, limit: u64) -> anyhow::Result<Option<Vec<u8>>> {
    let Some(file) = open_regular(path)? else {
        return Ok(None);
    };
    // Sized from the file, so that a small one is read in one call.
    let size = file.metadata().map_or(0, |m| m.len()).min(limit);
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0) + 1);
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("failed to read `{}`", path.display()))?;
    if bytes.len() as u64 > limit {
        bail!(
            "`{}` is larger than {} KiB, more than such a file ever holds; it is not read",
            path.display(),
            limit / 1024
        );
    }
    Ok(Some(bytes))
}

/// What identifies a file's content without reading it, as git's index
/// does: its size, modification and change times, inode and device. Any
/// write changes the change time, which no one can set back. The stamp
/// also names the boot: what was written without a sync may be torn by a
/// crash, so after a restart every file is read again.
pub(crate) fn stamp(meta: &std::fs::Metadata) -> String {
    let modified = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    #[cfg(unix)]
    let (changed, inode, device) = {
        use std::os::unix::fs::MetadataExt as _;
        (
            i128::from(meta.ctime()) * 1_000_000_000 + i128::from(meta.ctime_nsec()),
            meta.ino(),
            meta.dev(),
        )
    };
    #[cfg(not(unix))]
    let (changed, inode, device) = (0, 0, 0);
    format!(
        "{} {modified} {changed} {inode} {device} {}",
        meta.len(),
        boot_id()
    )
}

/// This boot's identity (Linux's random boot id), or `-` where there is none.
fn boot_id() -> &'static str {
    static BOOT_ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    BOOT_ID.get_or_init(|| {
        std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
            .ok()
            .map(|id| id.trim().to_owned())
            .filter(|id| !id.is_empty() && id.len() <= 64 && !id.contains(char::is_whitespace))
            .unwrap_or_else(|| "-".to_owned())
    })
}

/// Writes a cache file: `bytes` into `path` in place (leaving the folder's
/// time alone), never through a link, never into anything but a regular
/// file, and not synced. Its readers must recognise a torn write, and
/// losing it must cost only time.
pub(crate) fn overwrite_cache(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let (dir, name) = beneath::parent_of(path)
        .map_err(std::io::Error::other)?
        .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::NotFound))?;
    let mut file = dir.open(name, Access::Update)?;
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    let mut old = Vec::new();
    file.read_to_end(&mut old)?;
    if old == bytes {
        return Ok(());
    }
    file.set_len(0)?;
    file.rewind()?;
    file.write_all(bytes)
}

/// Makes the cache file `path` exist (empty), so that writing it later
/// with [`overwrite_cache`] is in place and leaves the folder's time alone;
/// returns whether it made it.
pub(crate) fn ensure_cache(path: &Path) -> bool {
    if is_regular_file(path) {
        return false;
    }
    overwrite_cache(path, b"").is_ok()
}

/// Whether `dir` exists as a real folder: an error when it is a symbolic
/// link or not a folder (or, under `.releases/`, when any folder from
/// there down is a link), so nothing is read or written through it.
pub(crate) fn real_dir(dir: &Path) -> anyhow::Result<bool> {
    Ok(beneath::open_dir(dir, false)?.is_some())
}

/// Creates `dir` (one level) unless it exists as a real folder.
pub(crate) fn create_real_dir(dir: &Path) -> anyhow::Result<()> {
    if real_dir(dir)? {
        return Ok(());
    }
    let Some((parent, name)) = beneath::parent_of(dir)? else {
        bail!("`{}` does not exist", parent(dir).display());
    };
    match parent.mkdir(name) {
        Ok(()) => Ok(()),
        // Another process made it first: it must still be a real folder.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => real_dir(dir).map(|_| ()),
        Err(e) => Err(e).with_context(|| format!("failed to create `{}`", dir.display())),
    }
}

/// Whether `path` is a regular file (not a link to one, nor under `.releases/`
/// reached through one).
pub(crate) fn is_regular_file(path: &Path) -> bool {
    matches!(
        beneath::parent_of(path).map(|found| found.map(|(dir, name)| dir.lstat(name))),
        Ok(Some(Ok(Some(entry)))) if entry.kind == Kind::File
    )
}

pub(crate) fn link_refused(path: &Path) -> String {
    format!(
        "`{}` is a symbolic link; cargo release-log never follows links for the files it \
         writes or trusts (a cloned repository may hold one pointing anywhere): replace it \
         with a real file or folder",
        path.display()
    )
}

/// Refuses a `path` to write that is a symbolic link or not a regular file.
fn writable_target(path: &Path) -> anyhow::Result<Option<beneath::Entry>> {
    let Some((dir, name)) = beneath::parent_of(path)? else {
        return Ok(None);
    };
    match dir.lstat(name) {
        Ok(Some(entry)) if entry.kind == Kind::Link => bail!("{}", link_refused(path)),
        Ok(Some(entry)) if entry.kind != Kind::File => bail!(
            "`{}` is not a regular file; cargo release-log replaces only regular files",
            path.display()
        ),
        Ok(entry) => Ok(entry),
        Err(e) => Err(e).with_context(|| format!("failed to look at `{}`", path.display())),
    }
}

/// The one folder temporary files live in, `.releases/.tmp/`: ignored by
/// git, never dirt, and emptied by the next command that takes the ledger
/// lock, so a process killed mid-write leaves nothing behind for long.
#[derive(Debug, Clone)]
pub(crate) struct Scratch {
    dir: PathBuf,
}

/// A file's new contents, written and synced in the scratch folder: one
/// rename from replacing it ([`Scratch::prepare`]).
#[derive(Debug)]
pub(crate) struct Prepared {
    tmp: tempfile::NamedTempFile,
    path: PathBuf,
    scratch: Scratch,
}

impl Prepared {
    /// Renames it into place, durably.
    pub(crate) fn put(self) -> anyhow::Result<()> {
        self.scratch.put_in_place(self.tmp, &self.path, true)
    }
}

/// The scratch folder's name inside `.releases/`.
pub(crate) const SCRATCH: &str = ".tmp";

/// Whether `name` is a temporary file older versions wrote beside its
/// target (`.tmp-*`), which an interrupted run may have left.
pub(crate) fn is_legacy_temporary(name: &std::ffi::OsStr) -> bool {
    name.to_str().is_some_and(|n| n.starts_with(".tmp-"))
}

impl Scratch {
    /// The scratch folder of the ledger folder `ledger_dir`, created if needed.
    pub(crate) fn of(ledger_dir: &Path) -> anyhow::Result<Self> {
        real_dir(ledger_dir)?;
        let dir = ledger_dir.join(SCRATCH);
        create_real_dir(&dir)?;
        Ok(Self { dir })
    }

    /// Removes what an interrupted run left: everything in the scratch
    /// folder, and the temporary files older versions wrote beside
    /// `.cargo/config.toml` (`.cargo/.tmp-*`; those beside release files are
    /// found when the ledger folder is listed). Only called with the ledger
    /// lock held, when no other process is writing.
    pub(crate) fn clean(&self, root: &Path) -> anyhow::Result<()> {
        for entry in fs::read_dir(&self.dir)? {
            let path = entry?.path();
            // A leftover is a file; anything else is not ours to delete.
            if is_regular_file(&path) {
                remove(&path)?;
            }
        }
        let cargo_dir = root.join(".cargo");
        if real_dir(&cargo_dir)? {
            for entry in fs::read_dir(&cargo_dir)? {
                let entry = entry?;
                if is_legacy_temporary(&entry.file_name()) && is_regular_file(&entry.path()) {
                    remove(&entry.path())?;
                }
            }
        }
        Ok(())
    }

    /// Replaces `path` with `contents` so that a crash leaves either the old
    /// file or the new one, never a mix: a temporary file, fsync, rename,
    /// fsync of the folder. Writes nothing when the file already holds
    /// exactly `contents`; refuses a `path` that is a link, and a folder
    /// that is one. Returns whether it wrote.
    pub(crate) fn write(&self, path: &Path, contents: &[u8]) -> anyhow::Result<bool> {
        match self.prepare(path, contents)? {
            Some(prepared) => {
                prepared.put()?;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// The first half of [`Scratch::write`]: `contents` written and synced
    /// in the scratch folder, so that the space it needs is taken and every
    /// check is done, and only the rename that puts it in place remains.
    /// `None` when the file already holds exactly `contents`. Dropped
    /// without [`Prepared::put`], it leaves `path` as it was.
    pub(crate) fn prepare(&self, path: &Path, contents: &[u8]) -> anyhow::Result<Option<Prepared>> {
        let dir = parent(path);
        if !real_dir(dir)? {
            bail!("`{}` does not exist", dir.display());
        }
        let old = writable_target(path)?;
        if old.is_some()
            && read_bounded(path, contents.len() as u64)
                .is_ok_and(|b| b.as_deref() == Some(contents))
        {
            return Ok(None);
        }
        let mut tmp = self.temp_file()?;
        // Keep the permissions of a file being replaced (a script, a
        // read-only config); a new file gets the usual 0666 less the umask.
        if let Some(meta) = &old {
            fs::set_permissions(tmp.path(), meta.permissions())?;
        }
        tmp.write_all(contents)
            .and_then(|()| tmp.as_file().sync_all())
            .with_context(|| format!("failed to write `{}`", tmp.path().display()))?;
        Ok(Some(Prepared {
            tmp,
            path: path.to_owned(),
            scratch: self.clone(),
        }))
    }

    /// Copies the open file `source` (a build's output, read from its
    /// start; `from` names it in errors) to `to`, atomically: the kernel
    /// copies it (`copy_file_range`, a reflink where the file system has
    /// them). The data is not synced: it is content-addressed, and checked
    /// against its digest before it is ever run.
    pub(crate) fn copy_in(
        &self,
        source: &std::fs::File,
        from: &Path,
        to: &Path,
    ) -> anyhow::Result<()> {
        use std::io::Seek as _;
        if !real_dir(parent(to))? {
            bail!("`{}` does not exist", parent(to).display());
        }
        writable_target(to)?;
        let tmp = self.temp_file()?;
        let mut source = source;
        source
            .seek(std::io::SeekFrom::Start(0))
            .and_then(|_| std::io::copy(&mut source, &mut tmp.as_file()))
            .with_context(|| format!("failed to copy `{}`", from.display()))?;
        fs::set_permissions(tmp.path(), source.metadata()?.permissions())?;
        self.put_in_place(tmp, to, false)
    }

    fn temp_file(&self) -> anyhow::Result<tempfile::NamedTempFile> {
        let mut builder = tempfile::Builder::new();
        builder.prefix("tmp-");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            builder.permissions(std::fs::Permissions::from_mode(0o666));
        }
        builder.tempfile_in(&self.dir).with_context(|| {
            format!(
                "failed to create a temporary file in `{}`",
                self.dir.display()
            )
        })
    }

    /// Renames a finished temporary file to `path`, made durable when
    /// `durable`. A rename replaces a link rather than following it; across
    /// file systems (a `.cargo` mounted elsewhere), the file is first copied
    /// beside its target.
    fn put_in_place(
        &self,
        tmp: tempfile::NamedTempFile,
        path: &Path,
        durable: bool,
    ) -> anyhow::Result<()> {
        let failed = || format!("failed to replace `{}`", path.display());
        let Some((dir, name)) = beneath::parent_of(path)? else {
            bail!("`{}` does not exist", parent(path).display());
        };
        let scratch = beneath::open_dir(&self.dir, false)?
            .with_context(|| format!("`{}` does not exist", self.dir.display()))?;
        let tmp = tmp.into_temp_path();
        let tmp_name = tmp.file_name().context("a temporary file with no name")?;
        // Renamed between the two folders as opened: no link on either
        // path is followed, and one at `path` is replaced, not followed.
        match dir.rename_from(&scratch, tmp_name, name) {
            Ok(()) => {
                let _ = tmp.keep();
            }
            // Across file systems (a `.cargo` mounted elsewhere), the file is
            // first copied beside its target.
            Err(e) if e.kind() == std::io::ErrorKind::CrossesDevices => {
                let beside = tempfile::Builder::new()
                    .prefix(".tmp-")
                    .tempfile_in(parent(path))
                    .with_context(|| {
                        format!(
                            "failed to create a temporary file in `{}`",
                            parent(path).display()
                        )
                    })?;
                fs::copy(&*tmp, beside.path())?;
                if durable {
                    beside.as_file().sync_all()?;
                }
                let beside = beside.into_temp_path();
                let beside_name = beside
                    .file_name()
                    .context("a temporary file with no name")?;
                dir.rename_from(&dir, beside_name, name)
                    .with_context(failed)?;
                let _ = beside.keep();
            }
            Err(e) => return Err(e).with_context(failed),
        }
        if durable {
            dir.sync()
                .with_context(|| format!("failed to sync `{}`", parent(path).display()))?;
        }
        Ok(())
    }
}

/// Removes `path` durably; a missing file is not an error. A link is
/// removed itself, never what it points at, nor through one.
pub(crate) fn remove(path: &Path) -> anyhow::Result<()> {
    let Some((dir, name)) = beneath::parent_of(path)? else {
        return Ok(());
    };
    match dir.unlink(name) {
        Ok(()) => dir
            .sync()
            .with_context(|| format!("failed to sync `{}`", parent(path).display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("failed to remove `{}`", path.display())),
    }
}

/// Makes a rename or removal in `dir` durable.
pub(crate) fn sync_dir(dir: &Path) -> anyhow::Result<()> {
    let opened = beneath::open_dir(dir, true)?
        .with_context(|| format!("`{}` does not exist", dir.display()))?;
    opened
        .sync()
        .with_context(|| format!("failed to sync `{}`", dir.display()))
}

fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stamp_changes_with_the_content_and_names_the_boot() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("exe");
        std::fs::write(&path, b"one").unwrap();
        let first = stamp(&std::fs::metadata(&path).unwrap());
        assert_eq!(first, stamp(&std::fs::metadata(&path).unwrap()));
        std::fs::write(&path, b"three").unwrap();
        assert_ne!(first, stamp(&std::fs::metadata(&path).unwrap()));
        // After a restart, what was written unsynced is read again.
        if let Ok(id) = std::fs::read_to_string("/proc/sys/kernel/random/boot_id") {
            assert!(first.ends_with(&format!(" {}", id.trim())), "{first}");
        }
    }

    fn scratch() -> (tempfile::TempDir, Scratch) {
        let dir = tempfile::tempdir().unwrap();
        let scratch = Scratch::of(dir.path()).unwrap();
        (dir, scratch)
    }

    #[test]
    fn replaces_whole_file_and_leaves_no_temporaries() {
        let (dir, scratch) = scratch();
        let path = dir.path().join("v1.toml");
        assert!(scratch.write(&path, b"first").unwrap());
        assert!(scratch.write(&path, b"second, longer").unwrap());
        assert!(
            !scratch.write(&path, b"second, longer").unwrap(),
            "unchanged content is not rewritten"
        );
        assert_eq!(fs::read_to_string(&path).unwrap(), "second, longer");
        assert_eq!(fs::read_dir(dir.path().join(SCRATCH)).unwrap().count(), 0);
    }

    #[test]
    fn a_failed_replace_keeps_the_old_state_and_no_temporaries() {
        let (dir, scratch) = scratch();
        // A folder is not replaced by a file.
        let target = dir.path().join("current");
        fs::create_dir(&target).unwrap();
        fs::write(target.join("kept"), "old").unwrap();
        assert!(scratch.write(&target, b"new").is_err());
        assert_eq!(fs::read_to_string(target.join("kept")).unwrap(), "old");
        assert_eq!(fs::read_dir(dir.path().join(SCRATCH)).unwrap().count(), 0);
    }

    #[cfg(unix)]
    #[test]
    fn links_fifos_and_huge_files_are_refused() {
        let (dir, scratch) = scratch();
        let outside = tempfile::tempdir().unwrap();
        let target = outside.path().join("victim");
        fs::write(&target, "untouched").unwrap();
        let link = dir.path().join("current");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let err = scratch.write(&link, b"overwritten").unwrap_err();
        assert!(err.to_string().contains("is a symbolic link"), "{err}");
        assert!(read_bounded(&link, MAX_FILE).is_err());
        assert_eq!(fs::read_to_string(&target).unwrap(), "untouched");

        let fifo = dir.path().join("v9.toml");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let err = read_bounded(&fifo, MAX_FILE).unwrap_err();
        assert!(err.to_string().contains("not a regular file"), "{err}");

        let big = dir.path().join("v8.toml");
        fs::write(&big, vec![b'#'; 2048]).unwrap();
        let err = read_bounded(&big, 1024).unwrap_err();
        assert!(err.to_string().contains("larger than 1 KiB"), "{err}");
        assert_eq!(read_bounded(&dir.path().join("none"), 10).unwrap(), None);
    }
}
