//! `check`: for CI, the ledger is intact and the workspace matches the current release.

mod chain;
mod local;
mod store;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::error::Error;
use crate::files;
use crate::ledger::config_vars::shown;
use crate::ledger::eligibility::Eligibility;
use crate::ledger::lock::LedgerLock;
use crate::ledger::{AddonDiff, Environment, Ledger, Release, Tier};
use crate::transaction::{EnvState, env_state};
use crate::workspace::{EnvFile, Workspace};
use chain::walk_the_chain;
use local::{check_current_pointer, check_slugs, report_committed, report_misnamed};
use store::StoreAudit;

use crate::context::Context;

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
    /// A file is named like a release file (`v04.toml`) but is not one.
    Misnamed,
    /// `.releases/current` names another release than the current one.
    Current,
    /// A change was interrupted and waits to be finished.
    Interrupted,
    /// A symbolic link under `.releases/`, which is never followed.
    Link,
    /// A local cache of `.releases/` is tracked by git; it is ignored.
    CommittedCache,
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
        self.check_waiting(opts, &|_| {})
    }

    /// [`Workspace::check_with`], telling `ctx`'s lock-wait hook when a
    /// writer holds the ledger and the check waits for it to finish.
    pub fn check_in(&self, ctx: &Context, opts: &CheckOptions) -> crate::Result<CheckReport> {
        self.check_waiting(opts, ctx.lock_wait_hook())
    }

    fn check_waiting(
        &self,
        opts: &CheckOptions,
        on_wait: &dyn Fn(Option<&str>),
    ) -> crate::Result<CheckReport> {
        let mut report = CheckReport::default();
        let mut audit = opts.store.then(StoreAudit::default);
        let tier = self.check_settings(&mut report);
        // Writers wait while the ledger is read, so that no change is seen
        // half made; the folder is listed, not taken from its index.
        let _lock = self.lock_shared(on_wait)?;
        self.report_interrupted_change(&mut report);
        let ledger = Ledger::open_fresh(self.root(), self.env(), false)?;
        report_misnamed(&ledger, &mut report);
        report_committed(self.root(), &mut report);
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
            check_current_pointer(&ledger, current, &mut report);
            if self.env().is_default() {
                self.check_workspace(&ledger, current, &mut report)?;
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

    /// The tier, and a problem for each setting that does not read (the
    /// commands a release runs are settings like the tier).
    fn check_settings(&self, report: &mut CheckReport) -> Tier {
        let mut setting = |e: Error| {
            report.problems.push(Finding {
                subject: "Cargo.toml".to_owned(),
                kind: FindingKind::Setting,
                message: e.to_string(),
            });
        };
        let tier = self.tier().unwrap_or_else(|e| {
            setting(e);
            Tier::default()
        });
        if let Err(e) = self.hooks() {
            setting(e);
        }
        tier
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
        let ledger = Ledger::open_fresh(ws.root(), env, false)?;
        report_misnamed(&ledger, report);
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
            check_current_pointer(&ledger, current, report);
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

    /// The ledger's lock, shared with other readers: writers wait until the
    /// check is done. `None` where there is no ledger, or no lock file and
    /// no way to make one (a read-only checkout, where no writer runs).
    fn lock_shared(&self, on_wait: &dyn Fn(Option<&str>)) -> crate::Result<Option<LedgerLock>> {
        let base = Environment::base(self.root());
        if !files::real_dir(&base)? {
            return Ok(None);
        }
        Ok(LedgerLock::acquire_shared(&base.join(".lock"), on_wait)?)
    }

    /// A change a killed command left half made, which the next command
    /// that takes the lock, or `sync`, finishes or undoes.
    fn report_interrupted_change(&self, report: &mut CheckReport) {
        if crate::transaction::change_pending(self.root()) {
            report.problems.push(Finding {
                subject: ".releases/.journal".to_owned(),
                kind: FindingKind::Interrupted,
                message: "a change was interrupted and is pending: the next command that \
                          changes the ledger finishes it, or run `cargo release-log sync`"
                    .to_owned(),
            });
        }
    }

    /// `[env]` and the add-ons of Cargo.toml and Cargo.lock against the current release.
    fn check_workspace(
        &self,
        ledger: &Ledger,
        current: &Release,
        report: &mut CheckReport,
    ) -> crate::Result<()> {
        self.check_env(ledger, current, report);
        self.check_secrets(current, report);
        self.check_addons(current, report);
        Ok(())
    }

    /// `[env]` against the plain config vars of `current`: each difference
    /// is a problem, whose remedy is `sync` when `[env]` is behind the
    /// ledger (a change was interrupted after recording its release, or
    /// git brought newer releases).
    fn check_env(&self, ledger: &Ledger, current: &Release, report: &mut CheckReport) {
        let v = current.version;
        let behind = EnvFile::load(self.root()).is_ok_and(|env| {
            matches!(
                env_state(ledger, Some(&env), current, self),
                Ok(EnvState::Behind)
            )
        });
        let remedy = if behind {
            format!(
                "; `[env]` is behind the ledger (a change was interrupted, or git brought \
                 newer releases): `cargo release-log sync` applies v{v}"
            )
        } else {
            String::new()
        };
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
                        message: message + &remedy,
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
    }

    /// Each secret config var of `current` whose value this machine cannot
    /// supply: a warning, or a problem when its sealed value is unusable.
    fn check_secrets(&self, current: &Release, report: &mut CheckReport) {
        let v = current.version;
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
                // A seal that does not open as this var's value, or does
                // not decode: the release file was edited.
                Err(e) if var.sealed.is_some() => {
                    report.problems.push(Finding {
                        subject: format!("config var {name}"),
                        kind: FindingKind::Invalid,
                        message: format!("its sealed value in v{v} cannot be used: {e}"),
                    });
                    continue;
                }
                _ => continue,
            };
            report.warnings.push(Finding {
                subject: format!("config var {name}"),
                kind: FindingKind::SecretMissing,
                message,
            });
        }
    }

    /// The add-ons of Cargo.toml and Cargo.lock against the latest build of
    /// `current`: each difference, or an unreadable manifest, is a problem.
    fn check_addons(&self, current: &Release, report: &mut CheckReport) {
        let latest = current.latest_code();
        let workspace_addons = match self.workspace_addons() {
            Ok(addons) => addons,
            Err(e) => {
                report.problems.push(Finding {
                    subject: "Cargo.toml".to_owned(),
                    kind: FindingKind::Addon,
                    message: format!("the add-ons cannot be read: {}", one_line(&e)),
                });
                return;
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
