//! The library's error type: refusals a caller can match, and failures that carry their causes.

use std::process::ExitStatus;

// Only the public domain types a refusal carries: never the ledger's internals.
use crate::text::version_list as list_versions;
use crate::{AddonRequirement, ConfigDiff, Ineligible, ParseError, Tier, Version};

/// What [`Error`] results are.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a command did not do what it was asked.
///
/// Every variant but [`Error::BuildFailed`] and [`Error::Other`] is a
/// *refusal*: the command checked something before writing and changed
/// nothing. [`Error::BuildFailed`] recorded a `failed` release, as a deploy
/// does. [`Error::Other`] is something broken (an I/O error, a corrupt
/// release file, a process that could not run); its [`source`] chain says
/// what, and where.
///
/// [`source`]: std::error::Error::source
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An argument is malformed: a bad var name, a name given twice, nothing given.
    #[error("{0}")]
    InvalidInput(String),

    /// A setting in `Cargo.toml` or `.cargo/config.toml` cannot be used.
    #[error("{0}")]
    InvalidSetting(String),

    /// A config var to remove or show is not set.
    #[error("{0}")]
    ConfigVarNotSet(String),

    /// A secret var's value is not in this machine's secret store.
    #[error(
        "the value of secret config var `{name}` is not in this machine's secret store{}",
        store.as_ref().map(|d| format!(" (`{}`)", d.display())).unwrap_or_default()
    )]
    SecretMissing {
        /// The var.
        name: String,
        /// The store looked in.
        store: Option<std::path::PathBuf>,
    },

    /// A team secret's value (or the team key) is sealed to the workspace's
    /// `secret-recipients`, and none of this machine's keys is one of them.
    #[error(
        "{what} is sealed to the team's secret recipients ({recipients}), and no key of \
         this machine ({identity}) is one of them"
    )]
    SecretSealed {
        /// What could not be opened: ``the value of secret config var `NAME` ``.
        what: String,
        /// The recipients, by name (their keys' comments).
        recipients: String,
        /// The keys this machine tried.
        identity: String,
    },

    /// A tier change would delete release files, and was not confirmed.
    #[error(
        "the {tier} tier deletes {} now (release files, and the slugs only they need)",
        crate::text::version_list(releases)
    )]
    ConfirmationNeeded {
        /// The tier asked for.
        tier: Tier,
        /// The releases it would delete.
        releases: Vec<u64>,
    },

    /// The workspace has no succeeded release yet.
    #[error("{}", no_releases(app, failed))]
    NoReleases {
        /// The workspace's name.
        app: String,
        /// The releases recorded so far, all failed.
        failed: Vec<u64>,
    },

    /// The named release is not in the ledger.
    #[error("{}", no_such_release(*version, kept))]
    NoSuchRelease {
        /// The release asked for.
        version: Version,
        /// The releases the ledger keeps.
        kept: Vec<u64>,
    },

    /// A rollback to a release that cannot be rolled back to.
    #[error("cannot roll back to {version}: {reason}")]
    NotEligible {
        /// The release asked for.
        version: Version,
        /// Why it cannot be rolled back to.
        reason: Ineligible,
    },

    /// A bare rollback found no release before the current one to go to.
    #[error("no release to roll back to: {0}")]
    NothingToRollBackTo(String),

    /// The executables a release runs are not stored here.
    #[error(
        "the slug of v{version} is not stored in this workspace (missing: {})",
        executables.join(", ")
    )]
    SlugMissing {
        /// The release.
        version: u64,
        /// The executables missing.
        executables: Vec<String>,
    },

    /// A release was built with a manifest its commit lacks (an add-on
    /// release's edit, not committed then), and the copy of it that
    /// `.releases/manifests/` keeps is not here or holds other bytes.
    #[error(
        "cannot rebuild v{version}: it was built with an uncommitted {manifest}, whose copy \
         `{copy}` {}; the copy comes with git from the clone that made v{version}",
        if *altered { "does not hold it (its bytes do not hash to its name)" } else { "is not here" }
    )]
    ManifestCopyMissing {
        /// The release.
        version: u64,
        /// The manifest, relative to the workspace root.
        manifest: String,
        /// Where its copy belongs, relative to the workspace root.
        copy: String,
        /// Whether a file is there, with other bytes.
        altered: bool,
    },

    /// Cargo.lock is missing or not committed: a deploy builds exactly the committed one.
    #[error(
        "{}; a deploy builds exactly the committed lock file, as `cargo publish` does",
        if *missing { format!("{app} has no Cargo.lock") } else { "Cargo.lock is not committed".to_owned() }
    )]
    LockFileNotCommitted {
        /// The workspace's name.
        app: String,
        /// Whether there is no Cargo.lock at all.
        missing: bool,
    },

    /// The working tree has uncommitted changes and `--allow-dirty` was not given.
    #[error(
        "{} in the working directory {} changes that were not yet committed into git:\n\n{}",
        plural(paths.len(), "file", "files"),
        if paths.len() == 1 { "contains" } else { "contain" },
        paths.join("\n")
    )]
    Dirty {
        /// The paths with uncommitted changes, relative to the workspace root.
        paths: Vec<String>,
    },

    /// An add-on release would ship code that was not deployed.
    #[error(
        "HEAD ({}) has changes that v{latest}, the latest deploy, does not run{}",
        head.get(..7).unwrap_or(head),
        if changed.is_empty() {
            " (its commit is not in this repository)".to_owned()
        } else {
            format!(": {}", changed.join(", "))
        }
    )]
    NotDeployed {
        /// The checked-out commit.
        head: String,
        /// The release of the latest build.
        latest: u64,
        /// The paths that differ.
        changed: Vec<String>,
    },

    /// The add-on named is not a dependency of the workspace's latest build.
    #[error("`{name}` is not an add-on of this workspace")]
    NotAnAddon {
        /// The name given.
        name: String,
    },

    /// The add-on is resolved to several versions: which one to move is unclear.
    #[error("`{name}` is resolved to several versions ({})", versions.join(", "))]
    SeveralVersions {
        /// The add-on.
        name: String,
        /// Its versions in Cargo.lock.
        versions: Vec<String>,
    },

    /// An upgrade to an older version, or a downgrade to a newer one.
    #[error("`{name}` is at {now}, so going to {wanted} is not an {asked}")]
    WrongDirection {
        /// The add-on.
        name: String,
        /// Its version now.
        now: String,
        /// The version asked for.
        wanted: String,
        /// `upgrade` or `downgrade`.
        asked: String,
    },

    /// An upgrade or downgrade to a version outside a member's requirement,
    /// without leave to change the requirement.
    #[error("{}", outside_requirement(name, version, outside))]
    OutsideRequirement {
        /// The add-on.
        name: String,
        /// The version asked for.
        version: String,
        /// The requirements it is outside.
        outside: Vec<AddonRequirement>,
        /// The cargo commands that would change the requirements, one per
        /// member's dependency on the add-on (`cargo add memcache@0.2.0`).
        commands: Vec<String>,
    },

    /// cargo refused an add-on change; Cargo.toml and Cargo.lock were restored.
    #[error(
        "`{command}` failed; Cargo.toml and Cargo.lock are as they were, and nothing was recorded"
    )]
    AddonChangeFailed {
        /// The cargo command, as typed.
        command: String,
        /// What cargo said.
        #[source]
        cargo: CargoSaid,
    },

    /// `[env]` was edited by hand and no longer matches the current release.
    #[error("`[env]` in {path} was edited by hand and no longer matches v{version}:\n{diff}")]
    EnvEdited {
        /// The config file, relative to the workspace root.
        path: String,
        /// The current release.
        version: u64,
        /// From the current release's config vars to the file's.
        diff: ConfigDiff,
    },

    /// `[env]` holds something that is not a config var cargo can use.
    #[error("`[env]` in {path} was edited by hand and cannot be read: {message}")]
    EnvUnreadable {
        /// The config file, relative to the workspace root.
        path: String,
        /// What is wrong with it.
        message: String,
    },

    /// The build of a deploy failed; it was recorded as a `failed` release.
    #[error(
        "build failed ({status}); recorded v{version} as failed, {}",
        match current {
            Some(c) => format!("v{c} is still the current release"),
            None => "there is no current release yet".to_owned(),
        }
    )]
    BuildFailed {
        /// The failed release.
        version: u64,
        /// The release that stays current.
        current: Option<u64>,
        /// How cargo exited.
        status: ExitStatus,
    },

    /// `--env NAME` names no environment the workspace declares or has releases for.
    #[error("unknown environment `{name}`{}", known_list(known))]
    UnknownEnvironment {
        /// The name given.
        name: String,
        /// The environments there are.
        known: Vec<String>,
    },

    /// The environment takes its releases by promotion only (`promote-from`).
    #[error("`{env}` takes its releases by promotion from `{from}` only")]
    PromotionOnly {
        /// The environment acted on.
        env: String,
        /// The environment it promotes from.
        from: String,
    },

    /// An environment that takes promotions only has none yet.
    #[error("`{env}` has no releases yet; it takes them by promotion from `{from}`")]
    NothingPromotedYet {
        /// The environment acted on.
        env: String,
        /// The environment it promotes from.
        from: String,
    },

    /// A promotion from an environment the target does not take releases from.
    #[error("`{to}` takes promotions from `{expected}` only, not from `{from}`")]
    PromotionSource {
        /// The environment promoted to.
        to: String,
        /// The environment promoted from.
        from: String,
        /// The one its `promote-from` names.
        expected: String,
    },

    /// The release to promote cannot be promoted.
    #[error("cannot promote {from} v{version}: {reason}")]
    NotPromotable {
        /// The environment promoted from.
        from: String,
        /// The release.
        version: u64,
        /// Why.
        reason: String,
    },

    /// The target environment lacks config vars the promoted release has.
    #[error(
        "`{to}` lacks config {} that {from} v{version} has: {}",
        if names.len() == 1 { "var" } else { "vars" },
        names.join(", ")
    )]
    MissingConfigVars {
        /// The environment promoted from.
        from: String,
        /// The release promoted.
        version: u64,
        /// The environment promoted to.
        to: String,
        /// The vars it lacks.
        names: Vec<String>,
        /// Whether it has no release yet to set them on.
        first: bool,
    },

    /// The release phase failed; the release was recorded as `failed`.
    #[error(
        "the release phase of v{version} failed ({reason}); recorded v{version} as failed, {}",
        match current {
            Some(c) => format!("v{c} is still the current release"),
            None => "there is no current release yet".to_owned(),
        }
    )]
    ReleasePhaseFailed {
        /// The failed release.
        version: u64,
        /// The release that stays current.
        current: Option<u64>,
        /// Why: `exit status: 1`, `timed out after 10m`, `interrupted`, …
        reason: String,
    },

    /// The health check of a release never passed; unless it was a
    /// rollback, the release that was current before is back.
    #[error(
        "the health check of v{version} failed ({reason}){}",
        match rolled_back {
            Some((target, new)) => format!("; rolled back to v{target} as v{new}"),
            None => "; nothing was rolled back".to_owned(),
        }
    )]
    HealthCheckFailed {
        /// The release checked.
        version: u64,
        /// Why the last try failed.
        reason: String,
        /// The release rolled back to, and the rollback release made.
        rolled_back: Option<(u64, u64)>,
    },

    /// Interrupted (Ctrl-C) before anything was recorded; what the command
    /// had changed was put back.
    #[error("interrupted; {0}")]
    Interrupted(String),

    /// Something broke: I/O, a corrupt file, a process that failed.
    #[error(transparent)]
    Other(anyhow::Error),
}

impl Error {
    /// Whether the command refused before changing anything.
    pub fn is_refusal(&self) -> bool {
        !matches!(
            self,
            Error::BuildFailed { .. }
                | Error::ReleasePhaseFailed { .. }
                | Error::HealthCheckFailed { .. }
                | Error::Other(_)
        )
    }
}

/// Refusals travel through internal `anyhow` code unchanged: one made
/// there is recovered here, so callers can match it.
impl From<anyhow::Error> for Error {
    fn from(err: anyhow::Error) -> Self {
        match err.downcast::<Error>() {
            Ok(err) => err,
            Err(err) => Error::Other(err),
        }
    }
}

/// Text that names no release or tier is a malformed argument.
impl From<ParseError> for Error {
    fn from(err: ParseError) -> Self {
        Error::InvalidInput(err.to_string())
    }
}

impl From<std::io::Error> for Error {
    fn from(err: std::io::Error) -> Self {
        Error::Other(err.into())
    }
}

/// What a cargo command printed on failure, without its `error: ` label.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct CargoSaid(pub(crate) String);

impl CargoSaid {
    pub(crate) fn from_stderr(stderr: &[u8]) -> Self {
        let text = String::from_utf8_lossy(stderr);
        // Cargo's status lines (`Removing x from dependencies`) are not the failure.
        let text = text
            .lines()
            .skip_while(|l| !l.starts_with("error"))
            .collect::<Vec<_>>()
            .join("\n");
        Self(text.trim_start_matches("error: ").trim_end().to_owned())
    }
}

/// `1 file`, `2 files`.
pub(crate) fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// `memcache 0.2.0 is outside the requirement `^0.1` that myapp has in
/// Cargo.toml`; several are listed with `and`.
fn outside_requirement(name: &str, version: &str, outside: &[AddonRequirement]) -> String {
    let mut each: Vec<String> = Vec::new();
    let all = outside.iter().map(|r| {
        let who = if r.build {
            format!("{}'s build script", r.member)
        } else {
            r.member.clone()
        };
        format!("`{}` that {who} has in {}", r.req, r.manifest)
    });
    // A target-specific table repeats what the plain one says.
    for one in all {
        if !each.contains(&one) {
            each.push(one);
        }
    }
    let requirement = if each.len() == 1 {
        "requirement"
    } else {
        "requirements"
    };
    format!(
        "{name} {version} is outside the {requirement} {}",
        match each.split_last() {
            Some((last, [])) => last.clone(),
            Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
            None => String::new(),
        }
    )
}

fn known_list(known: &[String]) -> String {
    if known.is_empty() {
        String::new()
    } else {
        format!("; the environments are {}", known.join(", "))
    }
}

fn no_releases(app: &str, failed: &[u64]) -> String {
    if failed.is_empty() {
        format!("{app} has no releases yet")
    } else {
        format!(
            "{app} has no successful release yet ({} failed)",
            list_versions(failed)
        )
    }
}

fn no_such_release(version: Version, kept: &[u64]) -> String {
    match kept.last() {
        None => format!("release {version} does not exist: there are no releases yet"),
        // Numbers are never reused: a missing number below the newest was pruned.
        Some(&newest) if version.0 < newest => format!(
            "release {version} is no longer stored; the releases kept are {}",
            list_versions(kept)
        ),
        Some(_) => format!(
            "release {version} does not exist; the releases are {}",
            list_versions(kept)
        ),
    }
}
