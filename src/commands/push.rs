//! `push`: upload the executables of the retained releases that are here,
//! verified, to the slug store, and repair the store's objects that are wrong.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

use crate::context::Context;
use crate::error::Error;
use crate::ledger::remote::{Damage, Found, RemoteStore, Trust, Uploaded};
use crate::ledger::slugs::{SlugStore, sha256_file};
use crate::ledger::{Environment, Executable, Ledger};
use crate::transaction::Transaction;
use crate::workspace::Workspace;

/// What `push` did (or, with `dry_run`, would do).
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct Pushed {
    /// Whether nothing was uploaded, only looked at.
    pub dry_run: bool,
    /// The slug stores pushed to: one, unless environments name their own.
    pub stores: Vec<String>,
    /// The environments with releases and no slug store, not pushed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub no_store: Vec<String>,
    /// Each object the retained releases need, oldest release first.
    pub objects: Vec<PushedObject>,
}

impl Pushed {
    /// The objects with this outcome.
    pub fn with(&self, outcome: PushOutcome) -> impl Iterator<Item = &PushedObject> {
        self.objects.iter().filter(move |o| o.outcome == outcome)
    }

    /// The executables neither here nor in the store: another machine
    /// cannot run their releases. (A release phase's output missing only
    /// leaves `releases output` without it.)
    pub fn missing(&self) -> impl Iterator<Item = &PushedObject> {
        self.with(PushOutcome::Missing)
            .filter(|o| !o.release_phase_output)
    }

    /// Whether every executable of the retained releases is in the store,
    /// verified or unread (or, with `dry_run`, would be once pushed).
    pub fn complete(&self) -> bool {
        self.missing().next().is_none()
    }
}

/// One object of the slug store, and what `push` did about it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct PushedObject {
    /// The executable's name (`release-phase.log` for a release phase's output).
    pub name: String,
    /// Its sha256, as its releases record it.
    pub sha256: String,
    /// Its size, as its releases record it.
    pub size: u64,
    /// The store, as people name it (`s3://bucket/prefix`, a folder).
    pub store: String,
    /// The object: its file in a folder store, `s3://bucket/prefix/<sha256>/<name>`.
    pub object: String,
    /// The retained releases that need it.
    pub releases: Vec<PushedRelease>,
    /// What was done.
    pub outcome: PushOutcome,
    /// What was wrong with the store's object, when it was (or would be)
    /// replaced, or is unusable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub found: Option<String>,
    /// Why the copy here was not used, when it is damaged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub damaged_here: Option<String>,
    /// Whether it is a release phase's output rather than an executable.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub release_phase_output: bool,
}

/// A release of an environment: `v3`, `staging:v3`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[non_exhaustive]
pub struct PushedRelease {
    /// The environment's name (`default` for the default one).
    pub env: String,
    /// The release's number.
    pub version: u64,
}

impl fmt::Display for PushedRelease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.env != crate::ledger::environment::DEFAULT_ENV {
            write!(f, "{}:", self.env)?;
        }
        write!(f, "v{}", self.version)
    }
}

/// What `push` did about an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum PushOutcome {
    /// It was not in the store; the verified copy here was uploaded.
    Uploaded,
    /// The store's object was not the recorded bytes; the verified copy
    /// here replaced it.
    Repaired,
    /// The store had it: its bytes were verified against the sha256 (now,
    /// or before and unchanged since).
    Verified,
    /// It is not here, and the store has an object of its size, not read
    /// (there is no copy here to replace it with; `check --store` reads it).
    StoreOnly,
    /// It is neither here nor in the store (or the store's is not the
    /// recorded bytes): its releases cannot run on another machine.
    Missing,
}

/// An object the releases need, before it is looked at.
struct Wanted<'a> {
    remote: &'a RemoteStore,
    exe: Executable,
    here: Here,
    releases: BTreeSet<PushedRelease>,
}

/// Where a copy of an object may be here.
enum Here {
    /// An executable: in the stored slugs.
    Slug(SlugStore),
    /// A release phase's output: kept by each release that printed it.
    Outputs(BTreeSet<PathBuf>),
}

impl Workspace {
    /// `push`: uploads to the slug store every object the retained
    /// releases of every environment need (their executables, and their
    /// release phases' output) that is here, verified against the sha256
    /// its release records, and missing or wrong in the store: an object
    /// already there counts once its bytes are verified (read and hashed,
    /// unless this clone verified it before and it is unchanged since).
    /// Each environment pushes to its own store. With `dry_run`, nothing is
    /// uploaded. Without a store: [`Error::InvalidSetting`].
    pub fn push(&self, ctx: &Context, dry_run: bool) -> crate::Result<Pushed> {
        let mut pushed = Pushed {
            dry_run,
            ..Pushed::default()
        };
        // Every environment's settings first: a refusal before anything is read.
        let others: Vec<Workspace> = self
            .environments()
            .iter()
            .filter(|env| *env != self.env())
            .map(|env| self.for_env(env))
            .collect::<crate::Result<_>>()?;
        let mut shared: Vec<(&Workspace, &RemoteStore)> = Vec::new();
        let mut unshared = Vec::new();
        for ws in std::iter::once(self).chain(&others) {
            match ws.slug_store()? {
                Some(remote) => {
                    shared.push((ws, remote));
                    if !pushed.stores.iter().any(|s| s == remote.location()) {
                        pushed.stores.push(remote.location().to_owned());
                    }
                }
                None => unshared.push(ws.env()),
            }
        }
        if shared.is_empty() {
            return Err(Error::InvalidSetting(format!(
                "{} has no slug store to push to: name one with `slug-store = \"s3://bucket/prefix\"` \
                 (or a shared folder) in `[workspace.metadata.release-log]` of Cargo.toml",
                self.name()
            )));
        }
        // Under the lock, no release or slug comes or goes meanwhile; a
        // change a killed command left is finished or undone first.
        let Some(_tx) = Transaction::begin(self, ctx)? else {
            return Ok(pushed);
        };
        for env in unshared {
            if Ledger::open(self.root(), env)?.versions().last().is_some() {
                pushed.no_store.push(env.name().to_owned());
            }
        }
        let wanted = wanted(&shared)?;
        for want in wanted {
            pushed.objects.push(push_one(want, dry_run)?);
        }
        Ok(pushed)
    }
}

/// The objects the retained releases of each environment with a store
/// need, each once per store, oldest release first.
fn wanted<'a>(shared: &[(&Workspace, &'a RemoteStore)]) -> crate::Result<Vec<Wanted<'a>>> {
    let mut by_object: BTreeMap<(String, String, String), Wanted<'a>> = BTreeMap::new();
    for &(ws, remote) in shared {
        let env: &Environment = ws.env();
        let ledger = Ledger::open(ws.root(), env)?;
        let slugs = ledger.slugs();
        for version in ledger.versions().iter() {
            let release = ledger.read(version)?;
            let mut objects: Vec<(Executable, Option<PathBuf>)> = release
                .codes()
                .flat_map(|c| &c.slug.executables)
                .map(|exe| (exe.clone(), None))
                .collect();
            if let Some(phase) = &release.release_phase
                && let Some(sha256) = &phase.output_sha256
            {
                objects.push((
                    crate::hooks::output_object(sha256, phase.output_size),
                    Some(crate::hooks::output_path(ws, version, "release-phase")),
                ));
            }
            for (exe, output) in objects {
                let id = (
                    remote.location().to_owned(),
                    exe.sha256.clone(),
                    exe.name.clone(),
                );
                let want = by_object.entry(id).or_insert_with(|| Wanted {
                    remote,
                    exe,
                    here: match output {
                        None => Here::Slug(slugs.clone()),
                        Some(_) => Here::Outputs(BTreeSet::new()),
                    },
                    releases: BTreeSet::new(),
                });
                if let (Here::Outputs(paths), Some(path)) = (&mut want.here, output) {
                    paths.insert(path);
                }
                want.releases.insert(PushedRelease {
                    env: env.name().to_owned(),
                    version,
                });
            }
        }
    }
    let mut wanted: Vec<Wanted<'a>> = by_object.into_values().collect();
    wanted
        .sort_by(|a, b| (a.releases.first(), &a.exe.name).cmp(&(b.releases.first(), &b.exe.name)));
    Ok(wanted)
}

/// Uploads (or repairs, or verifies) one object, from a verified copy here.
fn push_one(want: Wanted<'_>, dry_run: bool) -> crate::Result<PushedObject> {
    let Wanted {
        remote,
        exe,
        here,
        releases,
    } = want;
    let mut pushed = PushedObject {
        name: exe.name.clone(),
        sha256: exe.sha256.clone(),
        size: exe.size,
        store: remote.location().to_owned(),
        object: remote.object_name(&exe)?,
        releases: releases.into_iter().collect(),
        outcome: PushOutcome::Missing,
        found: None,
        damaged_here: None,
        release_phase_output: matches!(here, Here::Outputs(_)),
    };
    let mut good = None;
    let candidates = match &here {
        Here::Slug(slugs) => vec![slugs.path(&exe)],
        Here::Outputs(paths) => paths.iter().cloned().collect(),
    };
    for path in candidates {
        match verify_here(&exe, &path, &here) {
            Ok(true) => {
                good = Some(path);
                break;
            }
            Ok(false) => {}
            Err(e) => pushed.damaged_here = Some(format!("{e:#}")),
        }
    }
    let Some(path) = good else {
        // Nothing here to upload: the store's object is only looked up.
        match remote.size_of(&exe)? {
            Some(size) if size == exe.size => pushed.outcome = PushOutcome::StoreOnly,
            Some(size) => {
                pushed.found = Some(Damage::Size(size).to_string());
            }
            None => {}
        }
        return Ok(pushed);
    };
    pushed.damaged_here = None;
    if dry_run {
        match remote.examine(&exe, Trust::Remembered)? {
            Found::Verified => pushed.outcome = PushOutcome::Verified,
            Found::Missing => pushed.outcome = PushOutcome::Uploaded,
            Found::Wrong(damage) => {
                pushed.outcome = PushOutcome::Repaired;
                pushed.found = Some(damage.to_string());
            }
        }
        return Ok(pushed);
    }
    match remote.upload(&exe, &path)? {
        Uploaded::Skipped => pushed.outcome = PushOutcome::Verified,
        Uploaded::Sent { .. } => pushed.outcome = PushOutcome::Uploaded,
        Uploaded::Repaired { damage, .. } => {
            pushed.outcome = PushOutcome::Repaired;
            pushed.found = Some(damage.to_string());
        }
    }
    Ok(pushed)
}

/// Whether `path` holds the recorded bytes of `exe`: `Ok(false)` when
/// there is nothing, an error saying what is wrong with a damaged copy.
fn verify_here(exe: &Executable, path: &std::path::Path, here: &Here) -> anyhow::Result<bool> {
    if !crate::files::is_regular_file(path) {
        return Ok(false);
    }
    if let Here::Slug(slugs) = here {
        // Hashed once, then known by its stamp, as `run` checks it.
        slugs.verify(exe)?;
        return Ok(true);
    }
    let (sha256, size) = sha256_file(path)?;
    if sha256 != exe.sha256 || size != exe.size {
        anyhow::bail!(
            "`{}` has {size} bytes with sha256 {sha256}, not those recorded",
            path.display()
        );
    }
    Ok(true)
}
