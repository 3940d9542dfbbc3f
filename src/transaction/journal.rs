//! `.releases/.journal/`: what a change in progress touches outside its
//! release file, written under the lock before anything is touched.
//!
//! A change writes its journal first: the environment, the number its
//! release will get, the release the workspace ran before it, and a copy
//! of each manifest cargo is about to edit (an add-on release). Then it
//! writes the release file, `[env]` and `.releases/current`, and removes
//! the journal last. Whatever kills it on the way, the next command that
//! takes the lock finds the journal and finishes the change (the release
//! was recorded: `[env]` and `current` are switched to it) or undoes it
//! (it was not, or it failed: the manifests are put back byte for byte).
//!
//! The journal is local (ignored by git). One written by hand or committed
//! by a clone can only name the manifests of the workspace, and is removed
//! with a warning when it does not read.

use std::path::{Component, Path, PathBuf};

use anyhow::{Context as _, bail};
use fs_err as fs;
use serde::{Deserialize, Serialize};

use crate::files::{self, Scratch};
use crate::ledger::Environment;

/// The journal's folder in `.releases/`.
pub(crate) const JOURNAL: &str = ".journal";

/// The file whose presence marks a change in progress; written last.
const INTENT: &str = "intent.toml";

/// The largest manifest the journal keeps a copy of: a big workspace's
/// Cargo.lock is a few megabytes.
const MAX_MANIFEST: u64 = 64 << 20;

/// A change in progress, as its journal records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct Intent {
    /// The environment the change records a release in (`default` or a name).
    pub(crate) env: String,
    /// The number its release gets.
    pub(crate) release: u64,
    /// The digest of its release file, once it is known: a file of that
    /// number with another digest was not written by this change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) digest: Option<String>,
    /// The workspace's files the change edits, with their copies.
    #[serde(default, rename = "file", skip_serializing_if = "Vec::is_empty")]
    pub(crate) files: Vec<Saved>,
}

/// A workspace file as it was before the change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct Saved {
    /// Its path relative to the workspace root.
    pub(crate) path: String,
    /// The name of its copy in the journal; `None`: it did not exist.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) copy: Option<String>,
}

/// The journal of the workspace at a root.
#[derive(Debug, Clone)]
pub(crate) struct Journal {
    root: PathBuf,
    dir: PathBuf,
}

impl Journal {
    pub(crate) fn of(root: &Path) -> Self {
        Self {
            root: root.to_owned(),
            dir: Environment::base(root).join(JOURNAL),
        }
    }

    /// Whether a change in progress left its journal (for readers: no lock).
    pub(crate) fn pending(root: &Path) -> bool {
        files::is_regular_file(&Self::of(root).dir.join(INTENT))
    }

    /// Records that a change of `env` recording release `release` begins,
    /// with copies of `paths` as they are now. Durable when it returns:
    /// copies first, the intent last.
    pub(crate) fn begin(
        &self,
        scratch: &Scratch,
        env: &Environment,
        release: u64,
        paths: &[PathBuf],
    ) -> anyhow::Result<Intent> {
        files::create_real_dir(&self.dir)?;
        // What a command killed while writing copies left.
        self.remove_copies()?;
        let mut intent = Intent {
            env: env.name().to_owned(),
            release,
            digest: None,
            files: Vec::new(),
        };
        for (i, path) in paths.iter().enumerate() {
            let rel = path
                .strip_prefix(&self.root)
                .with_context(|| format!("`{}` is outside the workspace", path.display()))?;
            let path = rel
                .to_str()
                .with_context(|| format!("`{}` is not a UTF-8 path", rel.display()))?;
            let copy = match files::read_bounded(&self.root.join(rel), MAX_MANIFEST)? {
                Some(bytes) => {
                    let name = format!("{i}.orig");
                    scratch.write(&self.dir.join(&name), &bytes)?;
                    Some(name)
                }
                None => None,
            };
            intent.files.push(Saved {
                path: path.to_owned(),
                copy,
            });
        }
        self.write_intent(scratch, &intent)?;
        Ok(intent)
    }

    /// Writes `intent` durably, in place of what the journal said.
    pub(crate) fn write_intent(&self, scratch: &Scratch, intent: &Intent) -> anyhow::Result<()> {
        let text = toml::to_string(intent)?;
        let text = format!(
            "# A change in progress: the next cargo release-log command finishes or undoes it.\n{text}"
        );
        scratch.write(&self.dir.join(INTENT), text.as_bytes())?;
        Ok(())
    }

    /// The change in progress, if a journal is there. An unreadable one
    /// is an error whose message says so; [`Journal::discard`] removes it.
    pub(crate) fn read(&self) -> anyhow::Result<Option<Intent>> {
        if !files::real_dir(&self.dir)? {
            return Ok(None);
        }
        let Some(bytes) = files::read_bounded(&self.dir.join(INTENT), files::MAX_FILE)? else {
            return Ok(None);
        };
        let text = std::str::from_utf8(&bytes).context("it is not UTF-8 text")?;
        let intent: Intent =
            toml::from_str(text).map_err(|e| anyhow::anyhow!("{}", e.message()))?;
        Environment::named(&intent.env).map_err(anyhow::Error::msg)?;
        for saved in &intent.files {
            manifest_path(&saved.path)?;
            if let Some(copy) = &saved.copy {
                copy_name(copy)?;
            }
        }
        Ok(Some(intent))
    }

    /// Puts the files `intent` saved back as they were, byte for byte (a
    /// file that did not exist is removed).
    pub(crate) fn restore(&self, intent: &Intent, scratch: &Scratch) -> anyhow::Result<()> {
        for saved in &intent.files {
            let path = self.root.join(manifest_path(&saved.path)?);
            match &saved.copy {
                Some(copy) => {
                    let bytes =
                        files::read_bounded(&self.dir.join(copy_name(copy)?), MAX_MANIFEST)?
                            .with_context(|| {
                                format!("the journal's copy of `{}` is missing", saved.path)
                            })?;
                    scratch.write(&path, &bytes)?;
                }
                None => files::remove(&path)?,
            }
        }
        Ok(())
    }

    /// Whether any file `intent` saved differs from its copy now.
    pub(crate) fn changed(&self, intent: &Intent) -> bool {
        intent.files.iter().any(|saved| {
            let now = files::read_bounded(&self.root.join(&saved.path), MAX_MANIFEST).ok();
            let then = match &saved.copy {
                Some(copy) => files::read_bounded(&self.dir.join(copy), MAX_MANIFEST).ok(),
                None => Some(None),
            };
            now.is_none() || now != then
        })
    }

    /// Ends the change: the intent goes first (durably), then the copies.
    pub(crate) fn end(&self) -> anyhow::Result<()> {
        if !files::real_dir(&self.dir)? {
            return Ok(());
        }
        files::remove(&self.dir.join(INTENT))?;
        self.remove_copies()
    }

    /// Whether git tracks the journal: then a clone committed it, and no
    /// command of this machine wrote it.
    pub(crate) fn tracked(&self) -> bool {
        crate::ledger::committed::is_committed(&self.dir.join(INTENT))
    }

    /// Removes a journal that does not read, and whatever is beside it.
    pub(crate) fn discard(&self) -> anyhow::Result<()> {
        self.end()
    }

    fn remove_copies(&self) -> anyhow::Result<()> {
        for entry in fs::read_dir(&self.dir)? {
            let path = entry?.path();
            // Only files: anything else is not the journal's.
            if files::is_regular_file(&path) {
                fs::remove_file(&path)?;
            }
        }
        Ok(())
    }
}

/// A path the journal may name: a manifest of the workspace, relative,
/// never leaving it.
fn manifest_path(path: &str) -> anyhow::Result<&Path> {
    let p = Path::new(path);
    let plain = p.components().all(|c| matches!(c, Component::Normal(_)));
    let name = p.file_name().and_then(|n| n.to_str());
    if !plain || !matches!(name, Some("Cargo.toml" | "Cargo.lock")) {
        bail!(
            "it names `{}`, which is not a manifest of the workspace",
            crate::text::printable(path)
        );
    }
    Ok(p)
}

/// A copy's name in the journal: `N.orig`.
fn copy_name(name: &str) -> anyhow::Result<&str> {
    let digits = name.strip_suffix(".orig").unwrap_or("");
    if digits.is_empty() || digits.len() > 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        bail!(
            "it names a copy `{}` it never writes",
            crate::text::printable(name)
        );
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup() -> (tempfile::TempDir, Journal, Scratch) {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join(".releases")).unwrap();
        let scratch = Scratch::of(&dir.path().join(".releases")).unwrap();
        let journal = Journal::of(dir.path());
        (dir, journal, scratch)
    }

    #[test]
    fn a_journal_puts_the_manifests_back_byte_for_byte() {
        let (dir, journal, scratch) = setup();
        let manifest = dir.path().join("Cargo.toml");
        fs::write(&manifest, b"[package]\r\nname = \"a\"\r\n").unwrap();
        let lock = dir.path().join("Cargo.lock");
        let paths = [manifest.clone(), lock.clone()];
        let intent = journal
            .begin(&scratch, &Environment::default(), 3, &paths)
            .unwrap();
        assert_eq!(journal.read().unwrap().as_ref(), Some(&intent));
        assert!(Journal::pending(dir.path()));
        assert!(!journal.changed(&intent));
        fs::write(&manifest, b"edited").unwrap();
        fs::write(&lock, b"new").unwrap();
        assert!(journal.changed(&intent));
        journal.restore(&intent, &scratch).unwrap();
        assert_eq!(
            fs::read(&manifest).unwrap(),
            b"[package]\r\nname = \"a\"\r\n"
        );
        assert!(!lock.exists());
        journal.end().unwrap();
        assert_eq!(journal.read().unwrap(), None);
        assert_eq!(fs::read_dir(&journal.dir).unwrap().count(), 0);
    }

    #[test]
    fn a_crafted_journal_names_only_manifests() {
        let (_dir, journal, scratch) = setup();
        files::create_real_dir(&journal.dir).unwrap();
        for text in [
            "env = \"default\"\nrelease = 1\n[[file]]\npath = \"../x/Cargo.toml\"\n",
            "env = \"default\"\nrelease = 1\n[[file]]\npath = \"src/main.rs\"\n",
            "env = \"default\"\nrelease = 1\n[[file]]\npath = \"Cargo.toml\"\ncopy = \"../../etc\"\n",
            "env = \"../x\"\nrelease = 1\n",
            "env = \"default\"\nrelease = -1\n",
            "\u{0}",
        ] {
            scratch
                .write(&journal.dir.join(INTENT), text.as_bytes())
                .unwrap();
            assert!(journal.read().is_err(), "{text:?}");
        }
    }
}
