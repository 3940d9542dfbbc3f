//! The `.releases/` store: one immutable TOML file per release, slugs, the lock, the current pointer.
//!
//! [`Ledger`] reads; only a [`LockedLedger`], which holds the writer lock,
//! can add, remove or switch anything.

pub(crate) mod addons;
mod build;
pub(crate) mod chain;
pub(crate) mod committed;
pub(crate) mod config_vars;
pub(crate) mod eligibility;
pub(crate) mod environment;
mod index;
pub(crate) mod lock;
pub(crate) mod locked;
pub(crate) mod manifests;
mod provenance;
pub(crate) mod release;
pub(crate) mod remote;
pub(crate) mod retention;
pub(crate) mod slugs;
pub(crate) mod versions;

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use fs_err as fs;

pub use addons::{AddonDiff, IndirectMove, MovedAddon};
pub use config_vars::{ChangedVar, ConfigDiff, Team, VarValue};
pub use eligibility::{AddonConflict, Ineligible};
pub use environment::Environment;
pub(crate) use locked::LockedLedger;
pub use release::{
    Addon, Build, ChangeKind, Code, ConfigVar, ConfigVars, Executable, ParseError, PhaseStatus,
    Promoted, Release, ReleasePhase, Slug, Status, Version,
};
pub use retention::{Pruned, Tier};
use slugs::SlugStore;
use versions::Versions;

use crate::files;

/// The folder, relative to the workspace root.
pub(crate) const DIR: &str = ".releases";

/// A release file that was listed but removed before it was read: a
/// concurrent writer pruned it. Readers list the ledger again.
#[derive(Debug, thiserror::Error)]
#[error("`{}` was removed while it was being read", .0.display())]
pub(crate) struct Vanished(PathBuf);

/// The release files of one environment of a workspace, by number, for reading.
#[derive(Debug)]
pub(crate) struct Ledger {
    /// `.releases/`: slugs and caches, shared by every environment.
    base: PathBuf,
    /// The environment's folder: its release files and `current`.
    dir: PathBuf,
    env: Environment,
    /// Numbers of the release files present.
    versions: Versions,
    /// Names that look like release files but are not (`v0.toml`,
    /// `v04.toml`, a number past the largest a release can have), when
    /// the folder was listed rather than indexed.
    misnamed: Vec<String>,
}

impl Ledger {
    /// Lists the ledger of environment `env` of the workspace at `root`; a
    /// missing folder is an empty ledger.
    pub(crate) fn open(root: &Path, env: &Environment) -> anyhow::Result<Self> {
        Ok(Self::open_listing(root, env, true)?.0)
    }

    fn empty(root: &Path, env: &Environment) -> Self {
        Self {
            base: Environment::base(root),
            dir: env.dir(root),
            env: env.clone(),
            versions: Versions::default(),
            misnamed: Vec::new(),
        }
    }

    /// The environment whose releases these are.
    pub(crate) fn env(&self) -> &Environment {
        &self.env
    }

    /// [`Ledger::open`], listing the folder itself rather than trusting
    /// its index when `use_index` is false.
    pub(crate) fn open_fresh(
        root: &Path,
        env: &Environment,
        use_index: bool,
    ) -> anyhow::Result<Self> {
        Ok(Self::open_listing(root, env, use_index)?.0)
    }

    /// Lists the folder `dir`: its release numbers, the temporary files
    /// older versions left in it, and its stamp from before the listing.
    fn list_now(dir: &Path) -> anyhow::Result<(Listing, Option<index::Stamp>)> {
        let stamp = index::Stamp::of(dir);
        Ok((list(dir)?, stamp))
    }

    /// [`Ledger::open`], with the temporary files an interrupted older
    /// version left in the folder, when it had to be listed, and the
    /// folder's stamp the listing holds for. While a leftover is there no
    /// index is written, so the next writer lists the folder again and
    /// removes them.
    fn open_listing(
        root: &Path,
        env: &Environment,
        use_index: bool,
    ) -> anyhow::Result<(Self, Vec<PathBuf>, Option<index::Stamp>)> {
        let mut ledger = Self::empty(root, env);
        // Every folder on the way is looked at, so that no link is followed.
        let environments = ledger.base.join(environment::ENVIRONMENTS);
        if !files::real_dir(&ledger.base)?
            || (!env.is_default() && !files::real_dir(&environments)?)
            || !files::real_dir(&ledger.dir)?
        {
            return Ok((ledger, Vec::new(), None));
        }
        let dir = &ledger.dir;
        // The index, while the folder is as it was when it was written.
        if let Some((stamp, versions)) = index::read(dir).filter(|_| use_index) {
            ledger.versions = versions;
            return Ok((ledger, Vec::new(), Some(stamp)));
        }
        let created = index::ensure(dir) | chain::ensure(dir);
        let (listing, stamp) = Self::list_now(dir)?;
        if let (Some(stamp), false, true) = (stamp, created, listing.leftovers.is_empty()) {
            index::write(dir, stamp, &listing.versions, false);
        }
        ledger.versions = listing.versions;
        ledger.misnamed = listing.misnamed;
        Ok((ledger, listing.leftovers, stamp))
    }

    pub(crate) fn versions(&self) -> &Versions {
        &self.versions
    }

    /// Files named like release files that are not (`v0.toml`, `v04.toml`,
    /// `v18446744073709551615.toml`): no command reads them, `check`
    /// names them. Known only when the folder was listed ([`Ledger::open_fresh`]
    /// without the index).
    pub(crate) fn misnamed(&self) -> &[String] {
        &self.misnamed
    }

    pub(crate) fn newest(&self) -> Option<u64> {
        self.versions.last()
    }

    pub(crate) fn path(&self, version: u64) -> PathBuf {
        self.dir.join(format!("v{version}.toml"))
    }

    pub(crate) fn slugs(&self) -> SlugStore {
        SlugStore::new(self.base.join("slugs"))
    }

    /// The bytes of release file `vN.toml`.
    pub(crate) fn read_bytes(&self, version: u64) -> anyhow::Result<Vec<u8>> {
        let path = self.path(version);
        match files::read_bounded(&path, files::MAX_FILE) {
            Ok(Some(bytes)) => Ok(bytes),
            Ok(None) => Err(Vanished(path).into()),
            Err(e) => Err(e.context(unusable(&path, &self.env, version))),
        }
    }

    /// Reads and validates release file `vN.toml`.
    pub(crate) fn read(&self, version: u64) -> anyhow::Result<Release> {
        self.parse(version, &self.read_bytes(version)?)
    }

    /// Validates the bytes of release file `vN.toml`.
    pub(crate) fn parse(&self, version: u64, bytes: &[u8]) -> anyhow::Result<Release> {
        let text = std::str::from_utf8(bytes).context("it is not UTF-8 text");
        text.and_then(|text| Release::parse(text, version))
            .map_err(|e| {
                let path = self.path(version);
                if e.is::<release::NewerFormat>() {
                    e.context(format!("release file `{}` cannot be read", path.display()))
                } else {
                    e.context(unusable(&path, &self.env, version))
                }
            })
    }

    /// The newest `n` releases, newest first.
    pub(crate) fn newest_releases(&self, n: usize) -> anyhow::Result<Vec<Release>> {
        self.versions
            .iter()
            .rev()
            .take(n)
            .map(|v| self.read(v))
            .collect()
    }

    /// The current release: the newest that succeeded.
    pub(crate) fn current(&self) -> anyhow::Result<Option<Release>> {
        for version in self.versions.iter().rev() {
            let release = self.read(version)?;
            if release.succeeded() {
                return Ok(Some(release));
            }
        }
        Ok(None)
    }

    /// `sha256:<hex>` of a release file's bytes, for the next release's chain link.
    #[cfg(test)]
    pub(crate) fn digest(&self, version: u64) -> anyhow::Result<String> {
        Ok(file_digest(&self.read_bytes(version)?))
    }

    pub(crate) fn current_pointer_path(&self) -> PathBuf {
        self.dir.join("current")
    }

    /// The release `.releases/current` points at, if it exists and reads.
    pub(crate) fn current_pointer(&self) -> Option<u64> {
        // One a clone committed is not this clone's (see `committed`).
        if committed::is_committed(&self.current_pointer_path()) {
            return None;
        }
        let bytes = files::read_bounded(&self.current_pointer_path(), files::MAX_FILE).ok()??;
        let table: toml::Table = toml::from_str(std::str::from_utf8(&bytes).ok()?).ok()?;
        table.get("release")?.as_integer()?.try_into().ok()
    }
}

/// `sha256:<hex>` of a release file's bytes: what the next file's `previous-digest` names.
pub(crate) fn file_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", slugs::sha256_bytes(bytes))
}

/// What to say of a release file that cannot be used, and the way out.
fn unusable(path: &Path, env: &Environment, version: u64) -> String {
    format!(
        "release file `{}` cannot be used; restore it (`git checkout -- {}`), \
         or remove it if it is not a release",
        path.display(),
        env.release_file(version)
    )
}

/// What listing a ledger folder finds.
struct Listing {
    /// The numbers of the release files, ascending.
    versions: Versions,
    /// The temporary files older versions left there (regular files only:
    /// anything else is not theirs).
    leftovers: Vec<PathBuf>,
    /// Names like release files' that are not, sorted.
    misnamed: Vec<String>,
}

/// Lists the folder `dir`.
fn list(dir: &Path) -> anyhow::Result<Listing> {
    let mut versions = Vec::new();
    let mut leftovers = Vec::new();
    let mut misnamed = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let text = name.to_str();
        if let Some(v) = text.and_then(release_file_version) {
            versions.push(v);
        } else if let Some(text) = text.filter(|t| looks_like_a_release_file(t)) {
            misnamed.push(text.to_owned());
        } else if files::is_legacy_temporary(&name) && files::is_regular_file(&entry.path()) {
            leftovers.push(entry.path());
        }
    }
    versions.sort_unstable();
    misnamed.sort_unstable();
    Ok(Listing {
        versions: versions.into_iter().collect(),
        leftovers,
        misnamed,
    })
}

/// The number of release file `name`: `v<N>.toml`, N from 1 to the
/// largest a TOML integer holds, written without leading zeros. Any other
/// name is not a release file, whatever it holds.
fn release_file_version(name: &str) -> Option<u64> {
    let digits = name.strip_prefix('v')?.strip_suffix(".toml")?;
    if digits.is_empty() || digits.starts_with('0') || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let version: u64 = digits.parse().ok()?;
    // TOML integers are i64: a larger number could not be recorded in the file.
    i64::try_from(version).is_ok().then_some(version)
}

/// Whether `name` is `v<digits>.toml`, as a release file's is.
fn looks_like_a_release_file(name: &str) -> bool {
    name.strip_prefix('v')
        .and_then(|n| n.strip_suffix(".toml"))
        .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_file_names() {
        assert_eq!(release_file_version("v1.toml"), Some(1));
        assert_eq!(release_file_version("v120.toml"), Some(120));
        assert_eq!(
            release_file_version("v9223372036854775807.toml"),
            Some(i64::MAX as u64)
        );
        for name in [
            "v0.toml",
            "v01.toml",
            "v9223372036854775808.toml",
            "v18446744073709551615.toml",
            "v99999999999999999999999.toml",
            "v.toml",
            "v1.toml.tmp",
            "x1.toml",
            "v1a.toml",
        ] {
            assert_eq!(release_file_version(name), None, "{name}");
        }
    }
}

#[cfg(test)]
mod properties {
    //! `.releases/current` comes from the disk, where anything can be.

    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 100, ..ProptestConfig::default() })]

        #[test]
        fn any_current_pointer_reads_as_a_number_or_nothing(bytes in proptest::collection::vec(any::<u8>(), 0..300), n in 0..u64::MAX) {
            let dir = tempfile::tempdir().unwrap();
            fs::create_dir(dir.path().join(DIR)).unwrap();
            let ledger = Ledger::open(dir.path(), &Environment::default()).unwrap();
            fs::write(dir.path().join(DIR).join("current"), &bytes).unwrap();
            let _ = ledger.current_pointer();
            fs::write(dir.path().join(DIR).join("current"), format!("release = {n}\n")).unwrap();
            let read = ledger.current_pointer();
            prop_assert_eq!(read, i64::try_from(n).ok().map(|n| n as u64));
        }
    }
}
