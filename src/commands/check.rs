//! `check`: for CI, the ledger is intact and the workspace matches the current release.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::error::Error;
use crate::ledger::config_vars::shown;
use crate::ledger::eligibility::Eligibility;
use crate::ledger::remote::{Found, RemoteStore, Trust};
use crate::ledger::slugs::sha256_file;
use crate::ledger::{AddonDiff, Executable, Ledger, Release, Tier, file_digest};
use crate::workspace::{EnvFile, Workspace};

/// How to check.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct CheckOptions {
    /// Also read every executable the retained releases run from the slug
    /// store and hash it, as a fresh clone's `run` would: each object once,
    /// whatever was verified before. (Without it, an object of the right
    /// size counts as there.)
    pub store: bool,
}

/// What `check` found.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct CheckReport {
    /// How many release files were read.
    pub releases: usize,
    /// The current release, when there is one.
    pub current: Option<u64>,
    /// The release a bare `rollback` would go to now.
    pub rollback_target: Option<u64>,
    /// What makes the check fail, one finding per file, var or add-on.
    pub problems: Vec<Finding>,
    /// What is worth knowing but does not fail the check.
    pub warnings: Vec<Finding>,
    /// The current release of each other environment checked, by name
    /// (the default environment's check looks at every environment's ledger).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub environments: BTreeMap<String, Option<u64>>,
    /// With [`CheckOptions::store`]: how many slug-store objects were read,
    /// and how many of them were the recorded bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub store: Option<StoreChecked>,
}

/// What `check --store` read from the slug store.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct StoreChecked {
    /// The stores read, as people name them.
    pub stores: Vec<String>,
    /// The objects the retained releases need, each counted once.
    pub objects: usize,
    /// Those that were there with the recorded bytes.
    pub verified: usize,
}

impl CheckReport {
    /// Whether nothing is wrong.
    pub fn passed(&self) -> bool {
        self.problems.is_empty()
    }
}

/// One thing `check` found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Finding {
    /// What it is about: a file (`v3.toml`, `.cargo/config.toml`), or `add-on NAME`.
    pub subject: String,
    /// Which rule it breaks.
    pub kind: FindingKind,
    /// What is wrong, for people.
    pub message: String,
}

/// The rules `check` applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum FindingKind {
    /// A setting in Cargo.toml is invalid.
    Setting,
    /// A release file cannot be read.
    Unreadable,
    /// A release file does not parse or validate, or its name and number differ.
    Invalid,
    /// A release between two kept ones is gone in the advanced tier.
    Missing,
    /// A release file changed after the next one was recorded: the hash chain is broken.
    Changed,
    /// Two releases follow the same one: branches recorded releases in parallel.
    Fork,
    /// A release file's line endings were converted by a checkout.
    LineEndings,
    /// A stored executable is missing.
    SlugMissing,
    /// A stored executable's bytes do not hash to its name.
    SlugCorrupt,
    /// An executable a retained release runs is not in the slug store (`check --store`).
    StoreMissing,
    /// The slug store's object of an executable is not its recorded bytes (`check --store`).
    StoreCorrupt,
    /// `[env]` differs from the current release's config vars.
    Env,
    /// Cargo.toml or Cargo.lock differ from the current release's add-ons.
    Addon,
    /// A secret var's value is not in this machine's secret store.
    SecretMissing,
    /// A release was recorded before the one it follows.
    Time,
}

impl Workspace {
    /// `check`: reads every release file once, in order, and reports each
    /// problem: files that do not parse or whose name and number differ, a
    /// broken hash chain, forks after a merge, missing releases (advanced
    /// tier), stored executables that are missing or corrupt, and a
    /// workspace whose `[env]` or add-ons differ from the current release.
    /// Timestamps that go backwards are warnings.
    pub fn check(&self) -> crate::Result<CheckReport> {
        self.check_with(&CheckOptions::default())
    }

    /// [`Workspace::check`], and with [`CheckOptions::store`] the slug
    /// store's objects of every executable the retained releases run, each
    /// downloaded and hashed: one missing or not the recorded bytes is a
    /// problem. Without a store to read: [`Error::InvalidSetting`].
    pub fn check_with(&self, opts: &CheckOptions) -> crate::Result<CheckReport> {
        let mut report = CheckReport::default();
        let mut audit = opts.store.then(StoreAudit::default);
        let tier = self.tier().unwrap_or_else(|e| {
            report.problems.push(Finding {
                subject: "Cargo.toml".to_owned(),
                kind: FindingKind::Setting,
                message: e.to_string(),
            });
            Tier::default()
        });
        // The commands a release runs are settings like the tier.
        if let Err(e) = self.hooks() {
            report.problems.push(Finding {
                subject: "Cargo.toml".to_owned(),
                kind: FindingKind::Setting,
                message: e.to_string(),
            });
        }
        let ledger = self.read_ledger(|ledger| Ok(Ledger::open(self.root(), ledger.env())?))?;
        if self.env().is_default() {
            for env in self.environments().iter().filter(|e| !e.is_default()) {
                self.check_other_environment(env, &mut report, audit.as_mut())?;
            }
        }
        let (current, needed) = walk_the_chain(&ledger, tier, &mut report);
        if let Some(audit) = &mut audit {
            audit.check(&ledger, &needed, self.slug_store()?, &mut report)?;
        }
        if let Some(current) = &current {
            report.current = Some(current.version);
            report.rollback_target =
                Eligibility::here(&ledger, Some(current), tier, self.slug_store()?, self)?
                    .bare_target()
                    .ok()
                    .flatten()
                    .map(|r| r.version);
            let remote = self.slug_store()?;
            check_slugs(
                &ledger,
                current,
                &needed,
                remote,
                audit.is_some(),
                &mut report,
            )?;
            if self.env().is_default() {
                self.check_workspace(current, &mut report)?;
            }
        }
        if let Some(audit) = audit {
            if audit.checked.stores.is_empty() {
                return Err(Error::InvalidSetting(format!(
                    "`check --store` has no slug store to read: {} names none \
                     (`slug-store` in `[workspace.metadata.release-log]` of Cargo.toml)",
                    self.name()
                )));
            }
            report.store = Some(audit.checked);
        }
        Ok(report)
    }

    /// The ledger of environment `env`: its chain and its slugs, each
    /// finding named by the environment's folder.
    fn check_other_environment(
        &self,
        env: &crate::ledger::Environment,
        report: &mut CheckReport,
        audit: Option<&mut StoreAudit>,
    ) -> crate::Result<()> {
        let (problems, warnings) = (report.problems.len(), report.warnings.len());
        let ws = match self.for_env(env) {
            Ok(ws) => ws,
            Err(e) => {
                report.problems.push(Finding {
                    subject: "Cargo.toml".to_owned(),
                    kind: FindingKind::Setting,
                    message: e.to_string(),
                });
                return Ok(());
            }
        };
        let tier = ws.read_tier();
        let ledger = Ledger::open(ws.root(), env)?;
        let (current, needed) = walk_the_chain(&ledger, tier, report);
        let checks_store = audit.is_some();
        if let Some(audit) = audit {
            audit.check(&ledger, &needed, ws.slug_store()?, report)?;
        }
        if let Some(current) = &current {
            check_slugs(
                &ledger,
                current,
                &needed,
                ws.slug_store()?,
                checks_store,
                report,
            )?;
        }
        report
            .environments
            .insert(env.name().to_owned(), current.map(|c| c.version));
        let folder = env.folder();
        for finding in report.problems[problems..]
            .iter_mut()
            .chain(&mut report.warnings[warnings..])
        {
            if finding.subject.ends_with(".toml") && !finding.subject.contains('/') {
                finding.subject = format!("{folder}{}", finding.subject);
            } else {
                finding.subject = format!("{} ({env})", finding.subject);
            }
        }
        Ok(())
    }

    /// `[env]` and the add-ons of Cargo.toml and Cargo.lock against the current release.
    fn check_workspace(&self, current: &Release, report: &mut CheckReport) -> crate::Result<()> {
        let v = current.version;
        let (env_path, vars) = match EnvFile::load(self.root()) {
            Ok(env) => (env.relative_path(self.root()), env.vars()),
            Err(e) => (
                EnvFile::shown_path(self.root()),
                Err(e.context("it cannot be parsed")),
            ),
        };
        match vars {
            Err(e) => report.problems.push(Finding {
                subject: env_path.clone(),
                kind: FindingKind::Env,
                message: format!("`[env]` cannot be read: {}", one_line(&e)),
            }),
            Ok(vars) => {
                let plain = crate::ledger::config_vars::plain_vars(&current.config);
                let diff = crate::ledger::ConfigDiff::between(&plain, &vars);
                let mut env_problem = |message: String| {
                    report.problems.push(Finding {
                        subject: env_path.clone(),
                        kind: FindingKind::Env,
                        message,
                    });
                };
                for (name, var) in &diff.added {
                    env_problem(format!(
                        "`[env]` sets {name} => {}, which v{v} does not",
                        shown(name, var)
                    ));
                }
                for (name, change) in &diff.changed {
                    env_problem(format!(
                        "`[env]` sets {name} => {}, v{v} has {}",
                        shown(name, &change.new),
                        shown(name, &change.old)
                    ));
                }
                for (name, var) in &diff.removed {
                    env_problem(format!(
                        "`[env]` lacks {name} (v{v} has {})",
                        shown(name, var)
                    ));
                }
            }
        }
        for (name, var) in current.config.iter().filter(|(_, var)| var.is_secret()) {
            let message = match self.reveal(name, var) {
                Err(Error::SecretMissing { .. }) => format!(
                    "its secret value is not in this machine's secret store, so `run` and \
                     `--shell` cannot supply it here (v{v} records only its fingerprint)"
                ),
                Err(Error::SecretSealed { .. }) => format!(
                    "its value is sealed to the team's secret recipients, and no key of this \
                     machine is one of them, so `run` and `--shell` cannot supply it here \
                     (v{v})"
                ),
                _ => continue,
            };
            report.warnings.push(Finding {
                subject: format!("config var {name}"),
                kind: FindingKind::SecretMissing,
                message,
            });
        }
        let latest = current.latest_code();
        let workspace_addons = match self.workspace_addons() {
            Ok(addons) => addons,
            Err(e) => {
                report.problems.push(Finding {
                    subject: "Cargo.toml".to_owned(),
                    kind: FindingKind::Addon,
                    message: format!("the add-ons cannot be read: {}", one_line(&e)),
                });
                return Ok(());
            }
        };
        let addons = AddonDiff::between(&latest.addons, &workspace_addons);
        let build = format!("the latest build (v{})", latest.deploy);
        let mut addon_problem = |name: &str, message: String| {
            report.problems.push(Finding {
                subject: format!("add-on {name}"),
                kind: FindingKind::Addon,
                message,
            });
        };
        for a in &addons.added {
            addon_problem(
                &a.name,
                format!(
                    "Cargo.toml and Cargo.lock have {} {}, which {build} lacks",
                    a.name,
                    a.version_or_req()
                ),
            );
        }
        for a in &addons.removed {
            addon_problem(
                &a.name,
                format!(
                    "Cargo.toml and Cargo.lock lack {}, which {build} has at {}",
                    a.name,
                    a.version_or_req()
                ),
            );
        }
        for m in &addons.moved {
            addon_problem(
                &m.new.name,
                format!("Cargo.toml and Cargo.lock moved it since {build}: {m}"),
            );
        }
        Ok(())
    }
}

/// What is known of the file before the one being read.
struct Previous {
    version: u64,
    /// Its digest, and the digest it would have with LF line endings.
    digests: Vec<String>,
    /// When it was recorded, as written and as a time.
    when: Option<(String, jiff::Timestamp)>,
}

/// Which release file first had each digest, so that a link to an older
/// one than the file before can name it (a fork after a merge). Keyed by
/// the digest's first 64 bits, so that a hundred thousand releases take a
/// few megabytes; the links themselves are compared whole.
#[derive(Default)]
struct DigestOwners(HashMap<u64, u64>);

impl DigestOwners {
    fn key(digest: &str) -> Option<u64> {
        let hex = digest.strip_prefix("sha256:")?.get(..16)?;
        u64::from_str_radix(hex, 16).ok()
    }

    /// Remembers `digest` as `version`'s, unless an older file has it.
    fn insert(&mut self, digest: &str, version: u64) {
        if let Some(key) = Self::key(digest) {
            self.0.entry(key).or_insert(version);
        }
    }

    fn get(&self, digest: &str) -> Option<u64> {
        self.0.get(&Self::key(digest)?).copied()
    }
}

/// The executables kept releases run, each once, with the newest release running it.
type Needed = BTreeMap<(String, String), (u64, Executable)>;

/// Reads every release file once, oldest first, checking each and its link
/// to the one before; returns the current release and the executables the
/// releases run.
fn walk_the_chain(
    ledger: &Ledger,
    tier: Tier,
    report: &mut CheckReport,
) -> (Option<Release>, Needed) {
    let mut by_digest = DigestOwners::default();
    let mut previous: Option<Previous> = None;
    let mut current = None;
    let mut needed = Needed::new();
    for version in ledger.versions().iter() {
        report.releases += 1;
        let file = format!("v{version}.toml");
        let mut problem = |kind, subject: &str, message: String| {
            report.problems.push(Finding {
                subject: subject.to_owned(),
                kind,
                message,
            });
        };
        let bytes = match ledger.read_bytes(version) {
            Ok(bytes) => bytes,
            Err(e) => {
                problem(FindingKind::Unreadable, &file, one_line(&e));
                previous = None;
                continue;
            }
        };
        let mut digests = vec![file_digest(&bytes)];
        if bytes.windows(2).any(|w| w == b"\r\n") {
            problem(
                FindingKind::LineEndings,
                &file,
                "its line endings were converted to CRLF by a checkout, which changes its \
                 digest; keep `.releases/.gitattributes` (`*.toml -text`) committed and check \
                 the file out again"
                    .to_owned(),
            );
            let lf: Vec<u8> = String::from_utf8_lossy(&bytes)
                .replace("\r\n", "\n")
                .into_bytes();
            digests.push(file_digest(&lf));
        }
        for digest in &digests {
            by_digest.insert(digest, version);
        }
        let release = match ledger.parse(version, &bytes) {
            Ok(release) => release,
            Err(e) => {
                // The first cause names the file, which the finding names already.
                let causes: Vec<String> = e
                    .chain()
                    .skip(1)
                    .filter_map(|c| c.to_string().lines().next().map(str::to_owned))
                    .collect();
                problem(FindingKind::Invalid, &file, causes.join(": "));
                previous = Some(Previous {
                    version,
                    digests,
                    when: None,
                });
                continue;
            }
        };
        if let Some(prev) = &previous {
            let link = release.previous_digest.as_deref();
            let (p, pfile) = (prev.version, format!("v{}.toml", prev.version));
            if prev.version + 1 < version && tier == Tier::Advanced {
                let gap = if prev.version + 2 == version {
                    format!("v{}.toml is", prev.version + 1)
                } else {
                    format!("v{}.toml to v{}.toml are", prev.version + 1, version - 1)
                };
                problem(
                    FindingKind::Missing,
                    &format!("v{}.toml", prev.version + 1),
                    format!(
                        "{gap} missing between {pfile} and {file}: the advanced tier keeps \
                         every release (unless they were pruned while the tier was basic)"
                    ),
                );
            } else if prev.version + 1 == version {
                match link {
                    Some(d) if prev.digests.iter().any(|x| x == d) => {}
                    Some(d) => match by_digest.get(d) {
                        Some(u) if u < p => problem(
                            FindingKind::Fork,
                            &file,
                            format!(
                                "v{version} follows v{u}, as v{} does: releases were recorded \
                                 on two branches and merged; keep one branch's releases and \
                                 make the other's changes again",
                                u + 1
                            ),
                        ),
                        _ => problem(
                            FindingKind::Changed,
                            &pfile,
                            format!(
                                "it changed after v{version} was recorded (v{version}'s link \
                                 to it, its previous-digest, is broken)"
                            ),
                        ),
                    },
                    None => problem(
                        FindingKind::Changed,
                        &file,
                        format!("it has no previous-digest, so nothing links it to v{p}"),
                    ),
                }
            }
        }
        let when = release
            .when
            .parse::<jiff::Timestamp>()
            .ok()
            .map(|t| (release.when.clone(), t));
        if let (Some((prev_text, prev)), Some((_, at))) =
            (previous.as_ref().and_then(|p| p.when.as_ref()), &when)
            && at < prev
        {
            report.warnings.push(Finding {
                subject: file.clone(),
                kind: FindingKind::Time,
                message: format!(
                    "it was recorded at {}, before the release it follows ({prev_text}): a clock was off",
                    release.when
                ),
            });
        }
        for exe in release.codes().flat_map(|c| &c.slug.executables) {
            needed.insert(
                (exe.sha256.clone(), exe.name.clone()),
                (version, exe.clone()),
            );
        }
        if release.succeeded() {
            current = Some(release);
        }
        previous = Some(Previous {
            version,
            digests,
            when,
        });
    }
    (current, needed)
}

/// Every executable a kept release runs is stored and hashes to its name.
/// Slugs are not committed: one that is missing here is a problem for the
/// release this workspace runs, and a warning for the others. With a
/// store, one that is missing here is fine when the store has it (with
/// `store_checked`, [`StoreAudit`] said whether it does).
fn check_slugs(
    ledger: &Ledger,
    current: &Release,
    needed: &Needed,
    remote: Option<&RemoteStore>,
    store_checked: bool,
    report: &mut CheckReport,
) -> anyhow::Result<()> {
    let slugs = ledger.slugs();
    let running = ledger.current_pointer() == Some(current.version);
    for (version, exe) in needed.values() {
        let path = slugs.path(exe);
        let subject = format!("slugs/{}/{}", exe.sha256, exe.name);
        if !path.is_file() {
            // What the shared store has can be fetched when it is needed.
            if let Some(remote) = remote {
                if store_checked || remote.contains(exe)? {
                    continue;
                }
                report.problems.push(Finding {
                    subject,
                    kind: FindingKind::SlugMissing,
                    message: format!(
                        "the executable `{}` of v{version} is neither stored here nor in {remote}",
                        exe.name
                    ),
                });
                continue;
            }
            let needed = running && current.code.slug.executables.contains(exe);
            let finding = Finding {
                subject,
                kind: FindingKind::SlugMissing,
                message: format!(
                    "the executable `{}` of v{version} is not stored here{}",
                    exe.name,
                    if needed {
                        "; `run` cannot start the current release"
                    } else {
                        " (slugs are not committed)"
                    }
                ),
            };
            if needed {
                report.problems.push(finding);
            } else {
                report.warnings.push(finding);
            }
            continue;
        }
        let (sha256, size) = sha256_file(&path)?;
        if sha256 != exe.sha256 || size != exe.size {
            report.problems.push(Finding {
                subject,
                kind: FindingKind::SlugCorrupt,
                message: format!(
                    "its bytes hash to {sha256} ({size} bytes), not to its name: it was \
                         changed after it was stored"
                ),
            });
        }
    }
    Ok(())
}

/// `check --store`: every object the retained releases need, read from
/// the store and hashed, each once however many environments need it.
#[derive(Default)]
struct StoreAudit {
    /// What each store holds, by store, sha256 and name.
    read: BTreeMap<(String, String, String), Found>,
    checked: StoreChecked,
}

impl StoreAudit {
    /// Reads the objects of `needed` from `remote` (nothing without a
    /// store: the executables are then looked for here only, and
    /// [`check_slugs`] does); each that is missing or wrong is a problem.
    fn check(
        &mut self,
        ledger: &Ledger,
        needed: &Needed,
        remote: Option<&RemoteStore>,
        report: &mut CheckReport,
    ) -> anyhow::Result<()> {
        let Some(remote) = remote else {
            return Ok(());
        };
        if !self.checked.stores.iter().any(|s| s == remote.location()) {
            self.checked.stores.push(remote.location().to_owned());
        }
        let slugs = ledger.slugs();
        for (version, exe) in needed.values() {
            let id = (
                remote.location().to_owned(),
                exe.sha256.clone(),
                exe.name.clone(),
            );
            let found = match self.read.get(&id) {
                Some(found) => found.clone(),
                None => {
                    // Never the remembered verifications: this is the check of them.
                    let found = remote.examine(exe, Trust::Nothing)?;
                    self.checked.objects += 1;
                    if found == Found::Verified {
                        self.checked.verified += 1;
                    }
                    self.read.insert(id, found.clone());
                    found
                }
            };
            let here = crate::files::is_regular_file(&slugs.path(exe));
            let fix = if here {
                "`cargo release-log push` uploads the copy here".to_owned()
            } else {
                format!(
                    "`cargo release-log rebuild v{version}` where its commit is, or `push` \
                     where a copy is, uploads it"
                )
            };
            let (kind, message) = match found {
                Found::Verified => continue,
                Found::Missing if here => (
                    FindingKind::StoreMissing,
                    format!(
                        "the executable `{}` of v{version} is not in {remote}, so another \
                         clone cannot run it; {fix}",
                        exe.name
                    ),
                ),
                Found::Missing => (
                    FindingKind::StoreMissing,
                    format!(
                        "the executable `{}` of v{version} is neither stored here nor in \
                         {remote}; {fix}",
                        exe.name
                    ),
                ),
                Found::Wrong(damage) => (
                    FindingKind::StoreCorrupt,
                    format!(
                        "the executable `{}` of v{version} in {remote} is not the bytes \
                         recorded: {damage}, not {} bytes with sha256 {}, so `run` refuses \
                         it; {fix}",
                        exe.name, exe.size, exe.sha256
                    ),
                ),
            };
            report.problems.push(Finding {
                subject: remote.object_name(exe)?,
                kind,
                message,
            });
        }
        Ok(())
    }
}

/// An error and its causes on one line: the first line of each, joined.
fn one_line(err: &anyhow::Error) -> String {
    err.chain()
        .filter_map(|c| c.to_string().lines().next().map(str::to_owned))
        .filter(|l| !l.trim().is_empty())
        .collect::<Vec<_>>()
        .join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_file_with_a_digest_owns_it() {
        let digest = |n: u64| format!("sha256:{n:016x}{}", "0".repeat(48));
        let mut owners = DigestOwners::default();
        owners.insert(&digest(7), 1);
        owners.insert(&digest(7), 2);
        assert_eq!(owners.get(&digest(7)), Some(1));
        for v in 2..=100_000 {
            owners.insert(&digest(v + 1000), v);
        }
        assert_eq!(owners.get(&digest(7)), Some(1));
        assert_eq!(owners.get(&digest(3000)), Some(2000));
        // A link that is not a digest names no file.
        owners.insert("sha256:xyz", 9);
        assert_eq!(owners.get("sha256:xyz"), None);
        assert_eq!(owners.get("md5:0000000000000000"), None);
    }
}
