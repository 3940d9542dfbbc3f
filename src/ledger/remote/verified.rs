//! The objects this clone verified, remembered in `.releases/.store-verified`
//! by what identifies each object's version, so that an unchanged object is
//! not read again.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use object_store::path::Path as Key;

use super::RemoteStore;
use crate::ledger::release::{Executable, is_sha256};

impl RemoteStore {
    /// Remembers the objects verified in `<workspace_root>/.releases/.store-verified`.
    pub(super) fn remembering(mut self, workspace_root: &Path) -> Self {
        let base = crate::ledger::Environment::base(workspace_root);
        self.remembered = Some(Remembered::new(base));
        self
    }

    /// Which objects the remembered verifications are about: the store, and
    /// for S3 the server too (one bucket name on two servers is two buckets).
    pub(super) fn scope(&self) -> String {
        match &self.endpoint {
            Some(endpoint) => format!("{} at {endpoint}", self.location),
            None => self.location.clone(),
        }
    }

    /// What identifies the version of the object `key` that `meta`
    /// describes, without reading it: a file's size, modification and
    /// change times, inode and device (and the boot, see
    /// [`crate::files::stamp`]) in a directory store; elsewhere its size,
    /// ETag, time and version, which every write of an object changes.
    /// `None` when nothing identifies it (no ETag): it is read every time.
    pub(super) fn identity(&self, key: &Key, meta: &object_store::ObjectMeta) -> Option<String> {
        match &self.dir {
            Some(dir) => {
                let file = std::fs::metadata(dir.join(key.as_ref())).ok()?;
                (file.is_file() && file.len() == meta.size)
                    .then(|| format!("file {}", crate::files::stamp(&file)))
            }
            None => Some(format!(
                "object {} {} {} {}",
                meta.size,
                meta.e_tag.as_deref()?,
                meta.last_modified,
                meta.version.as_deref().unwrap_or("-")
            )),
        }
    }
}

/// The store objects this clone read and found to be the recorded bytes,
/// each with the identity the object had then (see
/// [`RemoteStore::identity`]), kept in `.releases/.store-verified` (local,
/// ignored by git): an object whose identity is unchanged is not read again.
///
/// It only ever saves time: an entry is used only for an object whose
/// identity, store, key, sha256 and size are all the same now, so any write
/// to the object (which changes its identity) has it read and hashed again.
/// Best effort: a file that cannot be read is no cache, one that cannot be
/// written is not kept.
///
/// One line per object: `<sha256> <size>\t<store>\t<key>\t<identity>`.
#[derive(Debug)]
pub(super) struct Remembered {
    /// `.releases/`, which must exist: no ledger, nothing remembered.
    base: PathBuf,
    /// The lines, once read.
    lines: RefCell<Option<BTreeSet<String>>>,
    /// Whether the file came with the repository (git tracks it), once
    /// asked: a clone can commit one that vouches for any object, so it is
    /// neither read nor written.
    tracked: std::cell::OnceCell<bool>,
}

/// The cache's file name in `.releases/`, and the line its `.gitignore` needs.
pub(crate) const REMEMBERED: &str = ".store-verified";

/// At most this many objects are remembered (some 4 MiB); beyond it, the
/// lowest sha256s are forgotten (which ones does not matter: a forgotten
/// object is only read again).
const MAX_REMEMBERED: usize = 20_000;

impl Remembered {
    fn new(base: PathBuf) -> Self {
        Self {
            base,
            lines: RefCell::new(None),
            tracked: std::cell::OnceCell::new(),
        }
    }

    /// Whether git tracks the file: then it came from a clone, not from
    /// this machine's verifications. Asked only when the file exists.
    fn tracked(&self) -> bool {
        *self.tracked.get_or_init(|| {
            std::fs::symlink_metadata(self.path()).is_ok()
                && crate::ledger::committed::tracked(&self.path()).unwrap_or(true)
        })
    }

    fn path(&self) -> PathBuf {
        self.base.join(REMEMBERED)
    }

    /// The line for an object, or `None` when a field cannot be written on one.
    fn line(exe: &Executable, scope: &str, key: &Key, identity: &str) -> Option<String> {
        let fields = [scope, key.as_ref(), identity];
        if fields
            .iter()
            .any(|f| f.is_empty() || f.contains(['\t', '\n', '\r']))
        {
            return None;
        }
        Some(format!(
            "{} {}\t{scope}\t{key}\t{identity}",
            exe.sha256, exe.size
        ))
    }

    /// The object's fields a line starts with, whatever its identity.
    fn object_prefix(line: &str) -> Option<&str> {
        let mut end = 0;
        for (i, field) in line.split('\t').enumerate().take(3) {
            end += field.len() + usize::from(i > 0);
        }
        line.get(..end)
    }

    fn read(&self) -> BTreeSet<String> {
        if self.tracked() {
            return BTreeSet::new();
        }
        let Ok(Some(bytes)) = crate::files::read_bounded(&self.path(), 16 * crate::files::MAX_FILE)
        else {
            return BTreeSet::new();
        };
        String::from_utf8_lossy(&bytes)
            .lines()
            .filter(|line| {
                let fields: Vec<&str> = line.split('\t').collect();
                fields.len() == 4
                    && fields[0].split_once(' ').is_some_and(|(sha256, size)| {
                        is_sha256(sha256) && size.parse::<u64>().is_ok()
                    })
            })
            .map(str::to_owned)
            .collect()
    }

    /// Whether the object `key`, as `identity` identifies it now, was verified to be `exe`.
    pub(super) fn trusts(&self, exe: &Executable, scope: &str, key: &Key, identity: &str) -> bool {
        let Some(line) = Self::line(exe, scope, key, identity) else {
            return false;
        };
        let mut lines = self.lines.borrow_mut();
        lines.get_or_insert_with(|| self.read()).contains(&line)
    }

    /// Remembers that the object `key`, as `identity` identifies it, is `exe`.
    pub(super) fn remember(&self, exe: &Executable, scope: &str, key: &Key, identity: &str) {
        if let Some(line) = Self::line(exe, scope, key, identity) {
            self.update(|lines| {
                let prefix = Self::object_prefix(&line).unwrap_or(&line).to_owned();
                lines.retain(|l| Self::object_prefix(l) != Some(prefix.as_str()));
                lines.insert(line);
            });
        }
    }

    /// Forgets the object `key` (deleted, or about to be).
    pub(super) fn forget(&self, scope: &str, key: &Key) {
        let infix = format!("\t{scope}\t{key}\t");
        self.update(|lines| lines.retain(|l| !l.contains(&infix)));
    }

    /// Changes the lines as the file has them now (another process may have
    /// added some), and writes them back.
    fn update(&self, change: impl FnOnce(&mut BTreeSet<String>)) {
        if !crate::files::real_dir(&self.base).unwrap_or(false) || self.tracked() {
            return;
        }
        let mut lines = self.read();
        let before = lines.clone();
        change(&mut lines);
        while lines.len() > MAX_REMEMBERED {
            lines.pop_first();
        }
        if lines != before {
            // Best effort: without it, the objects are read again next time.
            let _ = self.write(&lines);
        }
        *self.lines.borrow_mut() = Some(lines);
    }

    fn write(&self, lines: &BTreeSet<String>) -> anyhow::Result<()> {
        let mut text = String::from(
            "# Written by cargo release-log: slug-store objects whose bytes matched their \
             sha256, by what identified each then. Local to this clone; never commit it.\n",
        );
        for line in lines {
            text.push_str(line);
            text.push('\n');
        }
        ignore_in_git(&self.base)?;
        replace_file(&self.path(), text.as_bytes())
    }
}

/// Adds `/.store-verified` to `.releases/.gitignore` when it lacks it, as
/// `/output/` is added there once a release phase's output is kept.
fn ignore_in_git(base: &Path) -> anyhow::Result<()> {
    let path = base.join(".gitignore");
    let Some(old) = crate::files::read_bounded(&path, crate::files::MAX_FILE)? else {
        // Written with the ledger, with every line it needs.
        return Ok(());
    };
    let entry = format!("/{REMEMBERED}");
    let old = String::from_utf8_lossy(&old);
    if old.lines().any(|l| l.trim() == entry) {
        return Ok(());
    }
    let mut new = old.into_owned();
    if !new.is_empty() && !new.ends_with('\n') {
        new.push('\n');
    }
    new.push_str(&entry);
    new.push('\n');
    replace_file(&path, new.as_bytes())
}

/// Replaces `path` by renaming a finished temporary file over it, so that a
/// reader sees the old file or the new one, never a mix. (`.tmp-*` beside
/// it is ignored by git, and removed when an interrupted run left it.)
fn replace_file(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write as _;
    let dir = path.parent().context("a file with no folder")?;
    let mut builder = tempfile::Builder::new();
    builder.prefix(".tmp-");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        // As any file the tool writes: 0666 less the umask, not 0600.
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let mut tmp = builder
        .tempfile_in(dir)
        .with_context(|| format!("failed to create a temporary file in `{}`", dir.display()))?;
    tmp.write_all(bytes)
        .with_context(|| format!("failed to write `{}`", tmp.path().display()))?;
    // Renamed within the folder as opened, through no link.
    let (folder, name) = crate::files::beneath::parent_of(path)?
        .with_context(|| format!("`{}` does not exist", dir.display()))?;
    let tmp = tmp.into_temp_path();
    let tmp_name = tmp.file_name().context("a temporary file with no name")?;
    folder
        .rename_from(&folder, tmp_name, name)
        .with_context(|| format!("failed to replace `{}`", path.display()))?;
    let _ = tmp.keep();
    Ok(())
}
