//! The writer's side of the ledger: [`LockedLedger`], the only way to add, remove or switch anything.

use std::cell::{Cell, RefCell};
use std::fmt::Write as _;
use std::ops::Deref;
use std::path::Path;

use anyhow::{Context as _, bail};
use fs_err as fs;

use super::chain::{self, Verified, Walker};
use super::lock::LedgerLock;
use super::slugs::SlugStore;
use super::versions::Versions;
use super::{Environment, Ledger, Release, environment, file_digest, index};
use crate::files::{self, Prepared, Scratch};

const GITIGNORE: &str = "\
# Written by cargo release-log. Commit the release files (v*.toml);
# the built slugs, the current pointer and the lock stay local.
/slugs/
/current
/.lock
/.index
/.chain
/.built
/.tmp/
/.tmp-*
/.journal/
";

/// Release files are hashed as they are: a checkout that converts their
/// line endings would break every link of the chain.
const GITATTRIBUTES: &str = "\
# Written by cargo release-log: release files are linked by the sha256 of
# their bytes, so git must never convert their line endings.
*.toml -text
";

/// The ledger while this process holds its writer lock: the only way to
/// add, remove or switch anything, so that numbering and the hash chain are
/// decided by one process at a time.
#[derive(Debug)]
pub(crate) struct LockedLedger {
    ledger: Ledger,
    scratch: Scratch,
    /// The folder's stamp while `ledger.versions` is known to list it:
    /// taken when it was listed or indexed, and again after each change of
    /// the writer's own that found the folder as it was. `None` once
    /// anything else changed it, or a change of its own failed midway.
    known: Cell<Option<index::Stamp>>,
    /// What `.chain` vouched for when the lock was taken, if the folder
    /// was still as it was when the cache was written.
    cached: Option<Verified>,
    /// The newest file, once this writer verified the chain through it
    /// (or wrote it on top of a verified chain).
    verified: RefCell<Option<Verified>>,
    _lock: LedgerLock,
}

impl Drop for LockedLedger {
    /// The writer knows the listing it leaves (release files appended and
    /// pruned, `current` switched, all of which change the folder's time):
    /// it indexes it before letting go of the lock, so that the next
    /// command need not list the folder, but only while no one else
    /// changed the folder since it was listed. So is the verified prefix
    /// of the chain (`.chain`, see [`chain`]).
    fn drop(&mut self) {
        if std::thread::panicking() || !files::real_dir(&self.dir).unwrap_or(false) {
            return;
        }
        index::ensure(&self.dir);
        chain::ensure(&self.dir);
        if let Some(known) = self.known.get()
            && index::Stamp::of(&self.dir) == Some(known)
        {
            index::write(&self.dir, known, &self.ledger.versions, true);
            // What was verified holds while the newest file is the one
            // verified: pruning and `current` leave the links alone.
            let verified = self
                .verified
                .borrow()
                .clone()
                .or_else(|| self.cached.clone());
            if let Some(verified) = verified.filter(|v| Some(v.version) == self.newest()) {
                chain::write(&self.dir, known, &verified);
            }
        }
    }
}

impl Deref for LockedLedger {
    type Target = Ledger;

    fn deref(&self) -> &Ledger {
        &self.ledger
    }
}

impl LockedLedger {
    /// Takes the writer lock of the ledger at `root` (one lock for every
    /// environment), then lists the files of environment `env`, so that the
    /// numbering seen is one no other process can change. `None` when there
    /// is no ledger folder (nothing is created).
    pub(crate) fn acquire(
        root: &Path,
        env: &Environment,
        on_wait: &dyn Fn(Option<&str>),
    ) -> anyhow::Result<Option<Self>> {
        let base = Environment::base(root);
        if !files::real_dir(&base)? {
            return Ok(None);
        }
        let lock = LedgerLock::acquire(&base.join(".lock"), on_wait)?;
        // With the lock held no other process writes: what is in the
        // scratch folder was left by one that was interrupted.
        let scratch = Scratch::of(&base)?;
        scratch.clean(root)?;
        let (ledger, leftovers, stamp) = Ledger::open_listing(root, env, true)?;
        let mut locked = Self {
            ledger,
            scratch,
            known: Cell::new(stamp),
            cached: None,
            verified: RefCell::new(None),
            _lock: lock,
        };
        // The index is a cache, and a writer must never number from a stale
        // one: a file after the newest, or a newest one gone, means the
        // folder changed unseen (within one tick of its clock), so it is
        // listed again.
        let newest = locked.newest();
        let next = newest.map_or(1, |v| v.saturating_add(1));
        let stale = std::fs::symlink_metadata(locked.path(next)).is_ok()
            || newest.is_some_and(|v| std::fs::symlink_metadata(locked.path(v)).is_err());
        let leftovers = if stale {
            let (listing, stamp) = Ledger::list_now(&locked.ledger.dir)?;
            locked.ledger.versions = listing.versions;
            locked.ledger.misnamed = listing.misnamed;
            locked.known.set(stamp);
            listing.leftovers
        } else {
            leftovers
        };
        locked.cached = chain::read(&locked.ledger.dir, locked.known.get());
        for path in leftovers {
            locked.own_change(|| files::remove(&path))?;
        }
        Ok(Some(locked))
    }

    /// Runs `change`, a change of the writer's own to the folder, and keeps
    /// knowing the folder's listing after it only when the folder was as
    /// known before it and the change succeeded.
    fn own_change<T>(&self, change: impl FnOnce() -> anyhow::Result<T>) -> anyhow::Result<T> {
        let before = index::Stamp::of(&self.dir);
        let result = change();
        self.after_own_change(before, result.is_ok());
        result
    }

    /// After a change of the writer's own that began with the folder at
    /// `before` and left `ledger.versions` listing it (`listed`), takes the
    /// folder's new stamp as known, unless something else changed it first.
    fn after_own_change(&self, before: Option<index::Stamp>, listed: bool) {
        let known = self.known.get();
        let still = listed && known.is_some() && before == known;
        self.known.set(if still {
            index::Stamp::of(&self.dir)
        } else {
            None
        });
    }

    /// Where atomic writes of the workspace's files go through.
    pub(crate) fn scratch(&self) -> &Scratch {
        &self.scratch
    }

    /// Creates `.releases/` with its `.gitignore` and `.gitattributes` (each
    /// kept as it is once it exists), and the folder of environment `env`,
    /// and takes the lock; says whether anything was written.
    pub(crate) fn create(
        root: &Path,
        env: &Environment,
        on_wait: &dyn Fn(Option<&str>),
    ) -> anyhow::Result<(Self, bool)> {
        let base = Environment::base(root);
        let created = !files::real_dir(&base)?;
        files::create_real_dir(&base)?;
        let mut ledger = Self::acquire(root, env, on_wait)?
            .with_context(|| format!("`{}` vanished as it was created", base.display()))?;
        let wrote = ledger.write_support_files()?;
        let env_created = ledger.create_env_dir()?;
        Ok((ledger, created || wrote || env_created))
    }

    /// Creates the folder of a named environment, with its `.gitignore`,
    /// unless it exists; says whether it did.
    pub(crate) fn create_env_dir(&mut self) -> anyhow::Result<bool> {
        if self.env.is_default() || files::real_dir(&self.ledger.dir)? {
            return Ok(false);
        }
        files::create_real_dir(&self.ledger.base.join(environment::ENVIRONMENTS))?;
        files::create_real_dir(&self.ledger.dir)?;
        let gitignore = self.ledger.dir.join(".gitignore");
        self.scratch
            .write(&gitignore, environment::GITIGNORE.as_bytes())?;
        // A new, empty folder: its listing is known.
        self.ledger.versions = Versions::default();
        self.known.set(index::Stamp::of(&self.ledger.dir));
        Ok(true)
    }

    /// Writes `.gitignore` and `.gitattributes` where they are missing (a
    /// ledger from an older version lacks the second); says whether it did.
    pub(crate) fn write_support_files(&self) -> anyhow::Result<bool> {
        let base = &self.ledger.base;
        if base == &self.ledger.dir {
            self.own_change(|| self.write_support_files_now(base))
        } else {
            self.write_support_files_now(base)
        }
    }

    fn write_support_files_now(&self, base: &Path) -> anyhow::Result<bool> {
        let mut wrote = false;
        for (name, text) in [(".gitignore", GITIGNORE), (".gitattributes", GITATTRIBUTES)] {
            let path = base.join(name);
            match files::read_bounded(&path, files::MAX_FILE)? {
                None => wrote |= self.scratch.write(&path, text.as_bytes())?,
                // Kept as the team has it, with the ignores a newer version
                // needs added at the end.
                Some(old) if name == ".gitignore" => {
                    let old = String::from_utf8_lossy(&old).into_owned();
                    let missing: Vec<&str> = text
                        .lines()
                        .filter(|l| !l.starts_with('#') && !old.lines().any(|o| o.trim() == *l))
                        .collect();
                    if !missing.is_empty() {
                        let mut new = old.clone();
                        if !new.is_empty() && !new.ends_with('\n') {
                            new.push('\n');
                        }
                        new.push_str(&(missing.join("\n") + "\n"));
                        wrote |= self.scratch.write(&path, new.as_bytes())?;
                    }
                }
                Some(_) => {}
            }
        }
        Ok(wrote)
    }

    /// The number the next release gets. The newest file is never pruned,
    /// so numbers are never reused.
    pub(crate) fn next_version(&self) -> anyhow::Result<u64> {
        match self.newest() {
            None => Ok(1),
            // TOML integers are i64: a larger number could not be read back.
            Some(v) if v >= i64::MAX as u64 => {
                bail!("no release can follow v{v}: release numbers are exhausted")
            }
            Some(v) => Ok(v + 1),
        }
    }

    /// Writes `release` as the next release file: the ledger gives it its
    /// number and links it to the newest file by that file's digest. Files
    /// are never overwritten.
    pub(crate) fn append(&mut self, release: &mut Release) -> anyhow::Result<()> {
        // A named environment's folder is made with its first release.
        self.create_env_dir()?;
        release.version = self.next_version()?;
        release.previous_digest = self.verified_link()?;
        let path = self.path(release.version);
        if std::fs::symlink_metadata(&path).is_ok() {
            bail!("`{}` already exists", path.display());
        }
        let text = release.to_toml()?;
        self.own_change(|| self.scratch.write(&path, text.as_bytes()))?;
        self.ledger.versions.push(release.version);
        *self.verified.borrow_mut() = Some(Verified {
            version: release.version,
            digest: file_digest(text.as_bytes()),
        });
        Ok(())
    }

    /// The digest of the newest file, for the next release's link, once the
    /// chain through it is verified (see [`chain`]); a broken link refuses.
    pub(crate) fn verified_link(&self) -> anyhow::Result<Option<String>> {
        let Some(newest) = self.newest() else {
            return Ok(None);
        };
        if let Some(verified) = self.verified.borrow().as_ref()
            && verified.version == newest
        {
            return Ok(Some(verified.digest.clone()));
        }
        let bytes = self.read_bytes(newest)?;
        let digest = file_digest(&bytes);
        let vouched = self
            .cached
            .as_ref()
            .is_some_and(|c| c.version == newest && c.digest == digest);
        if !(vouched && self.links_back(newest, &bytes)?)
            && let Some(found) = chain::first_break(&self.ledger)?
        {
            return Err(chain::refusal(&self.ledger, &found));
        }
        *self.verified.borrow_mut() = Some(Verified {
            version: newest,
            digest: digest.clone(),
        });
        Ok(Some(digest))
    }

    /// Whether file `newest` (its `bytes`) links to the file before it, if kept.
    fn links_back(&self, newest: u64, bytes: &[u8]) -> anyhow::Result<bool> {
        let Some(before) = self.versions().iter().rev().nth(1) else {
            return Ok(true);
        };
        if before + 1 != newest {
            return Ok(true);
        }
        let link = self.parse(newest, bytes)?.previous_digest;
        let mut walker = Walker::default();
        walker.advance(before, Some(Walker::digests(&self.read_bytes(before)?)));
        Ok(walker.check(newest, link.as_deref()).is_none())
    }

    /// Counts `version`, newer than any, as a release file written without
    /// [`LockedLedger::append`] (the fixtures write thousands that way).
    pub(crate) fn written_directly(&mut self, version: u64) {
        self.ledger.versions.push(version);
        self.known.set(index::Stamp::of(&self.dir));
    }

    /// Removes the release files `versions` (what retention prunes), with
    /// one sync of the folder for them all: pruning ten thousand files
    /// must not take ten thousand syncs.
    pub(crate) fn remove(&mut self, versions: &[u64]) -> anyhow::Result<()> {
        let before = index::Stamp::of(&self.dir);
        let mut removed = Ok(());
        for &version in versions {
            match fs::remove_file(self.path(version)) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    removed = Err(e.into());
                    break;
                }
            }
            self.ledger.versions.remove(version);
        }
        // What was removed is made durable, even after a failure.
        let synced = files::sync_dir(&self.dir);
        let result = removed.and(synced);
        // The numbers left are known even after a failure: the file that
        // could not be removed is still listed.
        self.after_own_change(before, true);
        result
    }

    /// Switches `.releases/current` to `release` atomically; returns whether it changed.
    pub(crate) fn switch_current(&self, release: &Release) -> anyhow::Result<bool> {
        match self.prepare_current(release)? {
            Some(prepared) => {
                self.put_current(prepared)?;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// `.releases/current` pointing at `release`, written and synced in the
    /// scratch folder, one rename from replacing it ([`Self::put_current`]);
    /// `None` when it already does. A `current` that is not a regular file
    /// (a link or FIFO a clone committed) is refused: `sync` replaces it.
    pub(crate) fn prepare_current(&self, release: &Release) -> anyhow::Result<Option<Prepared>> {
        let path = self.current_pointer_path();
        if let Ok(meta) = std::fs::symlink_metadata(&path)
            && !meta.is_file()
        {
            let what = if meta.file_type().is_symlink() {
                "is a symbolic link, which cargo release-log never follows"
            } else {
                "is not a regular file (a FIFO, device or folder)"
            };
            bail!(
                "`{}` {what}; it is local state the tool writes (a clone may have committed \
                 it): run `cargo release-log sync`, which replaces it",
                path.display()
            );
        }
        self.scratch.prepare(
            &path,
            current_text(&self.slugs(), &self.base, release).as_bytes(),
        )
    }

    /// Puts a prepared `current` in place.
    pub(crate) fn put_current(&self, prepared: Prepared) -> anyhow::Result<()> {
        self.own_change(|| prepared.put())
    }

    /// Removes a `current` that is a link, FIFO or device (never a
    /// folder, nor what a link points at), so that it can be written
    /// again; says whether there was one.
    pub(crate) fn remove_foreign_current(&self) -> anyhow::Result<bool> {
        let path = self.current_pointer_path();
        match std::fs::symlink_metadata(&path) {
            Ok(meta) if !meta.is_file() && !meta.is_dir() => {
                self.own_change(|| files::remove(&path))?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}

/// The text of `.releases/current` pointing at `release`, whose slugs are
/// in `slugs` under the ledger's `base` folder.
pub(crate) fn current_text(slugs: &SlugStore, base: &Path, release: &Release) -> String {
    let mut text = format!(
        "# The release this workspace runs; `cargo release-log sync` regenerates it.\n\
         release = {}\n\n[executables]\n",
        release.version
    );
    for exe in &release.code.slug.executables {
        let path = slugs.path(exe);
        let rel = path.strip_prefix(base).unwrap_or(&path);
        let value = toml_edit::Value::from(rel.display().to_string());
        let _ = writeln!(text, "{} = {value}", toml_key(&exe.name));
    }
    text
}

fn toml_key(name: &str) -> String {
    toml_edit::Key::new(name).display_repr().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::DIR;
    use crate::ledger::release::{self, ChangeKind, Code, ConfigVar, Slug, Status};

    fn release(config: &[(&str, &str)]) -> Release {
        let code = Code {
            commit: "0".repeat(40),
            deploy: 1,
            built_from: None,
            dirty: false,
            uncommitted: Default::default(),
            build: None,
            slug: Slug::default(),
            addons: Vec::new(),
        };
        Release {
            format: release::FORMAT,
            version: 0,
            kind: ChangeKind::Config,
            change: "Config add A".to_owned(),
            message: None,
            by: "jim@example.com".to_owned(),
            when: "2026-01-15T04:00:00-08:00".to_owned(),
            status: Status::Succeeded,
            note: None,
            rollback_to: None,
            promoted_from: None,
            release_phase: None,
            previous_digest: None,
            code,
            latest_deploy: None,
            addon_releases: Default::default(),
            unhealthy: Default::default(),
            config: config
                .iter()
                .map(|(k, v)| (k.to_string(), ConfigVar::plain(*v)))
                .collect(),
            team: None,
        }
    }

    #[test]
    fn a_writer_leaves_an_index_that_matches_the_folder() {
        let dir = tempfile::tempdir().unwrap();
        let (mut ledger, _) =
            LockedLedger::create(dir.path(), &Environment::default(), &|_| {}).unwrap();
        for _ in 0..3 {
            ledger.append(&mut release(&[])).unwrap();
        }
        ledger.remove(&[1]).unwrap();
        // Switching `current` changes the folder after the last append.
        let newest = ledger.read(3).unwrap();
        assert!(ledger.switch_current(&newest).unwrap());
        drop(ledger);
        let (_, versions) = index::read(&dir.path().join(DIR)).expect("a matching index");
        assert_eq!(versions.to_vec(), [2, 3]);

        // A temporary file an older version (which kept no index) left is
        // removed by the next writer, which lists the folder to find it.
        let leftover = dir.path().join(DIR).join(".tmp-1234");
        fs::write(&leftover, "A=secret").unwrap();
        fs::remove_file(dir.path().join(DIR).join(index::INDEX)).unwrap();
        let ledger = LockedLedger::acquire(dir.path(), &Environment::default(), &|_| {})
            .unwrap()
            .unwrap();
        assert!(!leftover.exists());
        assert_eq!(ledger.versions().to_vec(), [2, 3]);
    }

    #[test]
    fn a_folder_changed_under_a_writer_is_not_indexed_as_its_listing() {
        let dir = tempfile::tempdir().unwrap();
        let releases = dir.path().join(DIR);
        let (mut ledger, _) =
            LockedLedger::create(dir.path(), &Environment::default(), &|_| {}).unwrap();
        for _ in 0..3 {
            ledger.append(&mut release(&[])).unwrap();
        }
        drop(ledger);
        assert!(index::read(&releases).is_some());
        // The folder's time set in the past, so that the change below moves
        // it however coarse the file system's clock.
        let past = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000_000);
        std::fs::File::open(&releases)
            .unwrap()
            .set_modified(past)
            .unwrap();

        // A checkout removes the newest file while a writer holds the lock.
        let ledger = LockedLedger::acquire(dir.path(), &Environment::default(), &|_| {})
            .unwrap()
            .unwrap();
        fs::remove_file(releases.join("v3.toml")).unwrap();
        drop(ledger);
        // No index claims v3; the next writer lists the folder and goes on.
        assert!(index::read(&releases).is_none_or(|(_, v)| !v.contains(3)));
        let mut ledger = LockedLedger::acquire(dir.path(), &Environment::default(), &|_| {})
            .unwrap()
            .unwrap();
        assert_eq!(ledger.versions().to_vec(), [1, 2]);
        let mut next = release(&[]);
        ledger.append(&mut next).unwrap();
        assert_eq!(next.version, 3);
        assert_eq!(next.previous_digest, Some(ledger.digest(2).unwrap()));
    }

    #[test]
    fn numbers_and_chain() {
        let dir = tempfile::tempdir().unwrap();
        let (mut ledger, _) =
            LockedLedger::create(dir.path(), &Environment::default(), &|_| {}).unwrap();
        for i in 0..3 {
            let mut r = release(&[("A", &i.to_string())]);
            ledger.append(&mut r).unwrap();
            assert_eq!(r.version, i + 1);
        }
        // Each file names the digest of the one before; the first names none.
        assert_eq!(ledger.read(1).unwrap().previous_digest, None);
        for v in 2..=3 {
            assert_eq!(
                ledger.read(v).unwrap().previous_digest,
                Some(ledger.digest(v - 1).unwrap())
            );
        }
        // Pruning old files never brings their numbers back.
        ledger.remove(&[1, 2]).unwrap();
        drop(ledger);
        let reopened = LockedLedger::acquire(dir.path(), &Environment::default(), &|_| {})
            .unwrap()
            .unwrap();
        assert_eq!(reopened.versions().to_vec(), [3]);
        assert_eq!(reopened.next_version().unwrap(), 4);
        // A file read back is the release written.
        let mut expected = release(&[("A", "2")]);
        expected.version = 3;
        expected.previous_digest = reopened.read(3).unwrap().previous_digest;
        assert_eq!(reopened.read(3).unwrap(), expected);
    }

    #[test]
    fn current_is_the_newest_that_succeeded() {
        let dir = tempfile::tempdir().unwrap();
        let (mut ledger, _) =
            LockedLedger::create(dir.path(), &Environment::default(), &|_| {}).unwrap();
        assert!(ledger.current().unwrap().is_none());
        ledger.append(&mut release(&[])).unwrap();
        let mut failed = release(&[]);
        failed.status = Status::Failed;
        ledger.append(&mut failed).unwrap();
        assert_eq!(ledger.current().unwrap().unwrap().version, 1);
        assert_eq!(ledger.next_version().unwrap(), 3);
    }
}
