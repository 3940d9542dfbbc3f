//! The journal's side of a transaction: a change journaled before it
//! touches anything, and one a killed command left, finished or undone by
//! the next that takes the lock.

use std::path::PathBuf;

use crate::commands::restore::Backup;
use crate::context::Context;
use crate::crash;
use crate::error::Error;
use crate::ledger::locked::current_text;
use crate::ledger::{Environment, Ledger};
use crate::workspace::{EnvFile, Workspace};

use super::journal::{Intent, Journal};
use super::{EnvState, Transaction, env_state};

impl Transaction<'_> {
    /// Finishes or undoes a change a killed command left, if its journal
    /// is there, for a command that looks at the workspace before it takes
    /// the lock (a deploy builds first).
    pub(crate) fn finish_interrupted(ws: &Workspace, ctx: &Context) -> crate::Result<()> {
        if Journal::pending(ws.root()) {
            drop(Transaction::begin(ws, ctx)?);
        }
        Ok(())
    }

    /// Journals that this change edits `paths` (an add-on release's
    /// manifests), keeping a copy of each, before anything edits them: if
    /// the command is killed, the next one puts them back unless the
    /// release was recorded. The returned guard puts them back when the
    /// change fails in this process.
    pub(crate) fn save_files(&mut self, paths: Vec<PathBuf>) -> crate::Result<Backup> {
        let backup = Backup::take(paths.iter().cloned(), self.ledger.scratch())?;
        self.begin_journal(&paths)?;
        Ok(backup)
    }

    /// Writes the journal of the next release, unless this change already did.
    pub(super) fn begin_journal(&mut self, paths: &[PathBuf]) -> crate::Result<()> {
        if self.intent.is_some() && paths.is_empty() {
            return Ok(());
        }
        let intent = self.journal.begin(
            self.ledger.scratch(),
            self.ws.env(),
            self.ledger.next_version()?,
            paths,
        )?;
        self.intent = Some(intent);
        self.recorded = false;
        crash::point("journaled");
        Ok(())
    }

    /// Notes in the journal the digest of the release file about to be written.
    pub(super) fn note_digest(&mut self, digest: String) -> anyhow::Result<()> {
        if let Some(intent) = &mut self.intent {
            intent.digest = Some(digest);
            self.journal.write_intent(self.ledger.scratch(), intent)?;
        }
        Ok(())
    }

    /// After the release was recorded and applied: the journal goes.
    pub(super) fn end_journal(&mut self) -> anyhow::Result<()> {
        if self.intent.take().is_some() {
            self.journal.end()?;
        }
        Ok(())
    }

    /// After a failed release was recorded: nothing of it stays in the
    /// workspace, so the files it edited are put back, then the journal goes.
    pub(super) fn undo_journaled(&mut self) -> anyhow::Result<()> {
        if let Some(intent) = &self.intent {
            self.journal.restore(intent, self.ledger.scratch())?;
        }
        self.end_journal()
    }

    /// Finishes or undoes the change a killed command left in progress:
    /// recorded and succeeded, the workspace is switched to the current
    /// release; otherwise the files it edited are put back.
    pub(super) fn recover(&mut self, ctx: &Context) -> crate::Result<()> {
        let intent = match self.journal.read() {
            Ok(Some(_)) if self.journal.tracked() => {
                ctx.warn(
                    "`.releases/.journal` is tracked by git, so it was not written here: it is \
                     ignored and removed (run `git rm -r --cached .releases/.journal`)",
                );
                self.journal.discard()?;
                return Ok(());
            }
            Ok(Some(intent)) => intent,
            Ok(None) => return Ok(()),
            Err(e) => {
                ctx.warn(&format!(
                    "`.releases/.journal` does not read as cargo release-log writes it \
                     ({e:#}); it is removed"
                ));
                self.journal.discard()?;
                return Ok(());
            }
        };
        let Ok(env) = Environment::named(&intent.env) else {
            return Ok(self.journal.discard()?);
        };
        let other = if &env == self.ws.env() {
            None
        } else {
            Some(Ledger::open(self.ws.root(), &env)?)
        };
        let recorded = {
            let ledger = other.as_ref().unwrap_or(&self.ledger);
            // The file this change wrote: one of that number from elsewhere
            // (a pull) is not it, nor is any when the journal names no digest
            // (it is noted before the file is written).
            let ours = |bytes: &[u8]| {
                intent
                    .digest
                    .as_ref()
                    .is_some_and(|d| *d == crate::ledger::file_digest(bytes))
            };
            match ledger.versions().contains(intent.release) {
                true => {
                    let bytes = ledger.read_bytes(intent.release)?;
                    ours(&bytes)
                        .then(|| ledger.parse(intent.release, &bytes))
                        .transpose()?
                }
                false => None,
            }
        };
        match recorded {
            Some(release) if release.succeeded() => {
                match &other {
                    None => self.finish_switch()?,
                    Some(ledger) => self.switch_other(ledger)?,
                }
                ctx.warn(&format!(
                    "{}v{} was recorded by a command that was interrupted; the workspace now runs \
                     the current release",
                    env_prefix(&env),
                    release.version
                ));
            }
            _ => self.undo_unrecorded(ctx, &intent)?,
        }
        self.journal.end()?;
        Ok(())
    }

    /// Switches this environment to its current release, `[env]` included
    /// when it still holds what the change began from; a hand edit since
    /// is left for [`Transaction::ensure_runs_current`] to report.
    fn finish_switch(&mut self) -> crate::Result<()> {
        let Some(current) = self.current.clone() else {
            return Ok(());
        };
        match self.env_state(&current)? {
            EnvState::Behind => self.apply_current(),
            EnvState::Matches | EnvState::HandEdited(_) => {
                self.ledger.switch_current(&current)?;
                Ok(())
            }
        }
    }

    /// Switches another environment's `current` to its current release,
    /// and `[env]` too when that environment is the default one and `[env]`
    /// is behind it.
    fn switch_other(&self, ledger: &Ledger) -> crate::Result<()> {
        if let Some(current) = ledger.current()? {
            if ledger.env().is_default() {
                let mut env = EnvFile::load(self.ws.root())?;
                if let EnvState::Behind = env_state(ledger, Some(&env), &current, self.ws)? {
                    env.set_vars(&current.config)?;
                    env.save(self.ledger.scratch())?;
                }
            }
            let text = current_text(
                &ledger.slugs(),
                &Environment::base(self.ws.root()),
                &current,
            );
            self.ledger
                .scratch()
                .write(&ledger.current_pointer_path(), text.as_bytes())?;
        }
        Ok(())
    }

    fn undo_unrecorded(&self, ctx: &Context, intent: &Intent) -> crate::Result<()> {
        if intent.files.is_empty() || !self.journal.changed(intent) {
            return Ok(());
        }
        self.journal
            .restore(intent, self.ledger.scratch())
            .map_err(|e| {
                Error::Other(e.context(
                    "an interrupted change could not be undone; put the manifests back by \
                     hand (`git checkout` them), then remove `.releases/.journal`",
                ))
            })?;
        let names: Vec<&str> = intent.files.iter().map(|f| f.path.as_str()).collect();
        ctx.warn(&format!(
            "a change that was interrupted before its release was recorded was undone: {} {} \
             as they were",
            and_list(&names),
            if names.len() == 1 { "is" } else { "are" }
        ));
        Ok(())
    }
}

/// `a`, `a and b`, `a, b and c`.
fn and_list(names: &[&str]) -> String {
    match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => names.join(""),
    }
}

fn env_prefix(env: &Environment) -> String {
    if env.is_default() {
        String::new()
    } else {
        format!("{}: ", env.name())
    }
}

impl Drop for Transaction<'_> {
    /// A change journaled but never recorded (an error returned, a panic)
    /// puts back what it edited; one recorded but not applied leaves its
    /// journal for the next command to finish.
    fn drop(&mut self) {
        if let Some(intent) = self.intent.take()
            && !self.recorded
            // A release file written whose folder sync failed is recorded.
            && std::fs::symlink_metadata(self.ledger.path(intent.release)).is_err()
        {
            // Best effort: the next command retries from the journal.
            if self.journal.restore(&intent, self.ledger.scratch()).is_ok() {
                let _ = self.journal.end();
            }
        }
    }
}

/// Whether a change a killed command left is waiting in the journal of the
/// workspace at `root`: the next command that takes the lock, or `sync`,
/// finishes or undoes it.
pub(crate) fn change_pending(root: &std::path::Path) -> bool {
    Journal::pending(root)
}
