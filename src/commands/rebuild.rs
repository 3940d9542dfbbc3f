//! `rebuild [vN]`: build a recorded release again from its commit, in a
//! temporary git worktree, and store the executables that match its record.

use std::io::Write as _;
use std::path::{Component, Path, PathBuf};

use anyhow::{Context as _, bail};
use serde::Serialize;

use super::build::{BuildOptions, Built, build, is_manifest};
use super::{Shared, share};
use crate::context::Context;
use crate::error::Error;
use crate::files;
use crate::ledger::slugs::Output;
use crate::ledger::{Environment, LockedLedger, Release, Version, manifests};
use crate::process::ProcessBuilder;
use crate::transaction::{Transaction, require_current};
use crate::workspace::{Workspace, git};

/// How to rebuild.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct RebuildOptions {
    /// Passes `--quiet` to `cargo build`.
    pub quiet: bool,
    /// Passes `--color` to `cargo build`.
    pub color: Option<String>,
}

/// What a rebuild found.
#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct Rebuilt {
    /// The release rebuilt.
    pub version: u64,
    /// The commit built.
    pub commit: String,
    /// Each executable the release records.
    pub executables: Vec<RebuiltExecutable>,
    /// The manifests the release was built with that its commit lacks (an
    /// add-on release's edit, not committed then), by path from the
    /// workspace root: put into the worktree from their copies in
    /// `.releases/manifests/`.
    pub manifests: Vec<String>,
    /// Why the build may not reproduce the record: it was deployed with
    /// uncommitted changes (`--allow-dirty`).
    pub caveats: Vec<String>,
    /// What was uploaded to the shared slug store.
    pub shared: Shared,
}

/// One executable of a rebuild.
#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct RebuiltExecutable {
    /// Its name.
    pub name: String,
    /// The sha256 the release records.
    pub recorded: String,
    /// The sha256 built now, if it was built.
    pub built: Option<String>,
}

impl RebuiltExecutable {
    /// Whether the rebuild reproduced it byte for byte (it is stored then).
    pub fn reproduced(&self) -> bool {
        self.built.as_deref() == Some(self.recorded.as_str())
    }
}

impl Workspace {
    /// `rebuild [vN]`: builds release `version` (default: the current one)
    /// from its commit in a temporary git worktree, with `--locked` and the
    /// profile, target and features it was built with, then stores each
    /// executable whose sha256 matches the record, so that the release can
    /// be run or rolled back to here. Rust builds are often reproducible;
    /// an executable that differs is reported and not stored.
    ///
    /// A release built with manifests that were not committed (an add-on
    /// release) is built with them: their copies, committed with the
    /// release files, go into the worktree. Refuses before building when a
    /// copy is not here or holds other bytes ([`Error::ManifestCopyMissing`]).
    pub fn rebuild(
        &self,
        ctx: &Context,
        version: Option<Version>,
        opts: &RebuildOptions,
    ) -> crate::Result<Rebuilt> {
        let (release, commit) = self.rebuild_target(version)?;
        // Read and verified before anything is built.
        let manifests = self.manifest_copies(&release)?;
        let mut caveats = Vec::new();
        if release.code.dirty {
            caveats.push("it was deployed with uncommitted changes (--allow-dirty)".to_owned());
        }
        let worktree = Worktree::add(self.root(), &commit)?;
        let built = self.build_in_worktree(&worktree, &release, &commit, &manifests, opts)?;
        let (tx, _) = Transaction::create(self, ctx)?;
        let ledger = tx.ledger();
        let executables = store_matching(ledger, &release, &built.executables())?;
        let matched = matched_slug(&release, &executables);
        let shared = share(self, ledger, &matched)?;
        Ok(Rebuilt {
            version: release.version,
            commit,
            executables,
            manifests: manifests.into_iter().map(|(rel, _)| rel).collect(),
            caveats,
            shared,
        })
    }

    /// The release `version` names (the current one without it) and the
    /// commit its executables were built from; refuses a release with no
    /// executables, or whose commit is not in this repository.
    fn rebuild_target(&self, version: Option<Version>) -> crate::Result<(Release, String)> {
        let release = self.read_ledger(|ledger| match version {
            Some(v) => ledger.get(v),
            None => require_current(ledger, self),
        })?;
        let code = &release.code;
        if !release.succeeded() || code.slug.executables.is_empty() {
            return Err(Error::InvalidInput(format!(
                "v{} has no executables to rebuild: {}",
                release.version,
                if release.succeeded() {
                    "nothing was built for it"
                } else {
                    "its build failed"
                }
            )));
        }
        // A `--no-build` release runs the slug of another commit.
        let commit = code
            .built_from
            .clone()
            .unwrap_or_else(|| code.commit.clone());
        if !git::has_commit(self.root(), &commit)? {
            return Err(Error::InvalidInput(format!(
                "commit {} of v{} is not in this repository; fetch it first (`git fetch`)",
                &commit[..7.min(commit.len())],
                release.version
            )));
        }
        Ok((release, commit))
    }

    /// Builds `release` at `commit` in `worktree`, its manifest copies put
    /// in first, into a target folder of its own; refuses a failed build.
    fn build_in_worktree(
        &self,
        worktree: &Worktree,
        release: &Release,
        commit: &str,
        manifests: &[(String, Vec<u8>)],
        opts: &RebuildOptions,
    ) -> crate::Result<Built> {
        let code = &release.code;
        let prefix = ProcessBuilder::git(self.root())
            .args(["rev-parse", "--show-prefix"])
            .read()?;
        for (rel, bytes) in manifests {
            worktree.put(&Path::new(&prefix).join(rel), bytes)?;
        }
        let dir = worktree.path().join(prefix);
        let manifest = dir.join(
            self.manifest_path()
                .file_name()
                .unwrap_or(std::ffi::OsStr::new("Cargo.toml")),
        );
        let how = code.build.clone().unwrap_or_default();
        // Its own target folder: the workspace's build is left alone.
        let target_dir = self.root().join("target").join("release-log-rebuild");
        let built = build(
            self,
            &BuildOptions {
                build: &how,
                locked: true,
                quiet: opts.quiet,
                color: opts.color.as_deref(),
                elsewhere: Some((&manifest, &dir)),
                target_dir: Some(&target_dir),
                interrupt: None,
            },
        )?;
        if !built.status.success() {
            return Err(anyhow::anyhow!(
                "the build of v{} ({}) failed; nothing was stored",
                release.version,
                &commit[..7.min(commit.len())]
            )
            .into());
        }
        Ok(built)
    }

    /// The bytes of each manifest `release` was built with that its commit
    /// lacks, by path from the workspace root, from the copies in
    /// `.releases/manifests/`, each checked against its digest.
    fn manifest_copies(&self, release: &Release) -> crate::Result<Vec<(String, Vec<u8>)>> {
        let base = Environment::base(self.root());
        let mut out = Vec::new();
        for (rel, digest) in &release.code.uncommitted {
            // A release file comes from any clone: the path must name a
            // manifest inside the workspace, never anything else.
            let inside = Path::new(rel)
                .components()
                .all(|c| matches!(c, Component::Normal(_)));
            if !inside || !is_manifest(rel) {
                return Err(anyhow::anyhow!(
                    "v{} records `{}` as a manifest it was built with, which is not a \
                     Cargo.toml or Cargo.lock inside the workspace; nothing was built",
                    release.version,
                    rel.escape_debug()
                )
                .into());
            }
            match manifests::read(&base, digest) {
                Some(bytes) => out.push((rel.clone(), bytes)),
                None => {
                    let here = manifests::path(&base, digest)
                        .is_some_and(|copy| std::fs::symlink_metadata(copy).is_ok());
                    let copy = manifests::path(Path::new(crate::ledger::DIR), digest)
                        .map_or_else(|| digest.clone(), |p| p.display().to_string());
                    return Err(Error::ManifestCopyMissing {
                        version: release.version,
                        manifest: rel.clone(),
                        copy,
                        altered: here,
                    });
                }
            }
        }
        Ok(out)
    }
}

/// The part of `release`'s slug whose executables were reproduced.
fn matched_slug(release: &Release, executables: &[RebuiltExecutable]) -> crate::ledger::Slug {
    crate::ledger::Slug::from_executables(
        release
            .code
            .slug
            .executables
            .iter()
            .filter(|e| {
                executables
                    .iter()
                    .any(|r| r.name == e.name && r.reproduced())
            })
            .cloned()
            .collect(),
    )
}

/// Stores each rebuilt executable that matches the record.
fn store_matching(
    ledger: &LockedLedger,
    release: &Release,
    built: &[(String, PathBuf)],
) -> anyhow::Result<Vec<RebuiltExecutable>> {
    let slugs = ledger.slugs();
    let mut out = Vec::new();
    for exe in &release.code.slug.executables {
        let path = built
            .iter()
            .find(|(name, _)| *name == exe.name)
            .map(|(_, p)| p);
        let output = path.map(|p| Output::open(p)).transpose()?;
        let sha = output.as_ref().map(Output::sha256).transpose()?;
        if let (Some(output), Some(sha)) = (&output, &sha)
            && *sha == exe.sha256
        {
            slugs.store(&exe.name, output, sha.clone(), ledger.scratch())?;
        }
        out.push(RebuiltExecutable {
            name: exe.name.clone(),
            recorded: exe.sha256.clone(),
            built: sha,
        });
    }
    Ok(out)
}

/// A temporary `git worktree` at a commit, removed when dropped.
struct Worktree {
    repo: PathBuf,
    dir: tempfile::TempDir,
}

impl Worktree {
    fn add(repo: &Path, commit: &str) -> anyhow::Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("release-log-rebuild-")
            .tempdir()
            .context("failed to make a folder for the worktree")?;
        let output = ProcessBuilder::git(repo)
            .args(["worktree", "add", "--detach", "--quiet"])
            .arg(dir.path().join("src"))
            .arg(commit)
            .output_unchecked()?;
        if !output.status.success() {
            bail!(
                "`git worktree add` failed: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        Ok(Self {
            repo: repo.to_owned(),
            dir,
        })
    }

    fn path(&self) -> PathBuf {
        self.dir.path().join("src")
    }

    /// Writes `bytes` as `rel` (from the worktree's top, every component a
    /// plain name), replacing what the commit has there. Never through a
    /// link: a commit can hold one pointing anywhere.
    fn put(&self, rel: &Path, bytes: &[u8]) -> anyhow::Result<()> {
        let (Some(parent), Some(name)) = (rel.parent(), rel.file_name()) else {
            bail!("`{}` is not a file's path", rel.display());
        };
        let mut dir = self.path();
        for part in parent.components() {
            dir.push(part);
            files::create_real_dir(&dir)?;
        }
        let path = dir.join(name);
        let mut tmp = tempfile::NamedTempFile::new_in(&dir)
            .with_context(|| format!("failed to create a temporary file in `{}`", dir.display()))?;
        tmp.write_all(bytes)
            .with_context(|| format!("failed to write `{}`", tmp.path().display()))?;
        // A rename replaces a link itself, never what it points at.
        tmp.persist(&path)
            .map_err(|e| e.error)
            .with_context(|| format!("failed to write `{}`", path.display()))?;
        Ok(())
    }
}

impl Drop for Worktree {
    fn drop(&mut self) {
        // Best effort: the folder goes with the TempDir; git forgets it.
        let _ = ProcessBuilder::git(&self.repo)
            .args(["worktree", "remove", "--force"])
            .arg(self.path())
            .output_unchecked();
        let _ = ProcessBuilder::git(&self.repo)
            .args(["worktree", "prune"])
            .output_unchecked();
    }
}
