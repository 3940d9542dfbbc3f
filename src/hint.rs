//! What to do about a refusal, in the tool's words: the library's errors
//! carry the facts, and the command line says which command helps.

use cargo_release_log::{AddonConflict, Error, Ineligible};

/// The `help:` line for `err`, when a command helps.
pub fn hint(err: &Error) -> Option<String> {
    if let Error::NotEligible { version, reason } = err {
        return ineligible(version.0, reason);
    }
    secret_hint(err)
        .or_else(|| deploy_hint(err))
        .or_else(|| env_hint(err))
        .or_else(|| addon_hint(err))
        .or_else(|| promotion_hint(err))
}

/// The hint for a secret this machine cannot read.
fn secret_hint(err: &Error) -> Option<String> {
    Some(match err {
        Error::SecretMissing { name, .. } => {
            format!("set it here with `cargo release-log config set --secret {name}=…`")
        }
        Error::SecretSealed { .. } => "ask a recipient to add your public key (the line of \
            `~/.ssh/id_ed25519.pub`, or an age key) to `secret-recipients` in Cargo.toml and \
            run `cargo release-log config protect`; or point CARGO_RELEASE_LOG_IDENTITY at \
            your key"
            .to_owned(),
        _ => return None,
    })
}

/// The hint for a refused deploy, or a release that cannot be used here.
fn deploy_hint(err: &Error) -> Option<String> {
    Some(match err {
        Error::ConfirmationNeeded { .. } => "pass `--yes` to go on".to_owned(),
        Error::NoReleases { .. } => "run `cargo release-log deploy` first".to_owned(),
        Error::SlugMissing { version, .. } => rebuild(*version),
        Error::ManifestCopyMissing {
            version,
            altered: false,
            ..
        } => format!(
            "in the clone that made v{version}, commit it with the release files (`git add \
             .releases && git commit`), then pull that commit here"
        ),
        Error::ManifestCopyMissing {
            version,
            copy,
            altered: true,
            ..
        } => format!(
            "restore the committed copy (`git checkout -- {copy}`), or take it from the clone \
             that made v{version}"
        ),
        Error::LockFileNotCommitted { missing: true, .. } => {
            "run `cargo generate-lockfile` and commit Cargo.lock, then deploy again".to_owned()
        }
        Error::LockFileNotCommitted { missing: false, .. } => {
            "commit it (`git add Cargo.lock && git commit`), then deploy again".to_owned()
        }
        Error::Dirty { .. } => "to proceed despite this, pass the `--allow-dirty` flag".to_owned(),
        _ => return None,
    })
}

/// The hint for an `[env]` that differs from the current release.
fn env_hint(err: &Error) -> Option<String> {
    Some(match err {
        Error::EnvEdited { .. } => "to discard the edit, run `cargo release-log sync`; to record \
                                    it as a new release, run `cargo release-log deploy`"
            .to_owned(),
        Error::EnvUnreadable { .. } => {
            "fix it, or run `cargo release-log sync` to regenerate it from the current release"
                .to_owned()
        }
        _ => return None,
    })
}

/// The hint for a refused add-on change.
fn addon_hint(err: &Error) -> Option<String> {
    Some(match err {
        Error::NotDeployed { .. } => {
            "deploy them first (`cargo release-log deploy`), then change add-ons".to_owned()
        }
        Error::NotAnAddon { .. } => "`cargo release-log addons` lists them".to_owned(),
        Error::SeveralVersions { name, .. } => format!(
            "change the requirement with `cargo release-log addons add {name}@VERSION -p \
             PACKAGE` instead"
        ),
        Error::WrongDirection {
            name,
            wanted,
            asked,
            ..
        } => {
            let other = if asked == "upgrade" {
                "downgrade"
            } else {
                "upgrade"
            };
            format!("use `cargo release-log addons {other} {name}@{wanted}`")
        }
        Error::OutsideRequirement {
            version, commands, ..
        } => {
            let it = if commands.len() == 1 {
                "it"
            } else {
                "the requirements"
            };
            format!(
                "`--allow-requirement-change` changes {it} to `{version}` ({}) as one add-on release",
                commands.join("; ")
            )
        }
        _ => return None,
    })
}

/// The hint for an unknown environment, or a refused promotion.
fn promotion_hint(err: &Error) -> Option<String> {
    Some(match err {
        Error::UnknownEnvironment { .. } => "declare it in Cargo.toml, as \
             `[workspace.metadata.release-log.environments.NAME]`"
            .to_owned(),
        Error::PromotionOnly { env, from } => {
            format!("ship to it with `cargo release-log promote {from} {env}`")
        }
        Error::NothingPromotedYet { env, from } => {
            format!("`cargo release-log promote {from} {env}` ships {from}'s current release")
        }
        Error::PromotionSource { to, expected, .. } => {
            format!("promote through `{expected}`: `cargo release-log promote {expected} {to}`")
        }
        Error::MissingConfigVars {
            to,
            names,
            first: false,
            ..
        } => format!(
            "set them first (`cargo release-log --env {to} config set {}=…`), or pass \
             `--allow-missing` to promote without them",
            names.first().map(String::as_str).unwrap_or("NAME")
        ),
        Error::MissingConfigVars {
            to, first: true, ..
        } => format!(
            "`{to}` has no release yet to set them on: promote with `--allow-missing`, then \
             set them (`cargo release-log --env {to} config set NAME=…`)"
        ),
        Error::NotPromotable { from, .. } => format!(
            "`cargo release-log --env {from} releases` lists its releases; promote one that \
             succeeded (`rebuild vN` there stores a missing build)"
        ),
        _ => return None,
    })
}

/// Why a rollback target is refused, and what to do instead.
pub fn ineligible(version: u64, reason: &Ineligible) -> Option<String> {
    Some(match reason {
        Ineligible::SlugMissing {
            rebuildable: true,
            secrets,
            ..
        } if secrets.is_empty() => rebuild(version),
        Ineligible::SlugMissing {
            rebuildable: true,
            secrets,
            ..
        } => format!("{}; and {}", rebuild(version), set_secrets(secrets)),
        Ineligible::SlugMissing { .. } => format!(
            "fetch the commit v{version} was built from (`git fetch`), then `cargo release-log \
             rebuild v{version}`"
        ),
        Ineligible::SecretsMissing { sealed_to, .. } if !sealed_to.is_empty() => {
            "ask a recipient to add your public key (the line of `~/.ssh/id_ed25519.pub`) to \
             `secret-recipients` and run `cargo release-log config protect`"
                .to_owned()
        }
        Ineligible::SecretsMissing { secrets, .. } => set_secrets(secrets),
        Ineligible::UndoesAddonRelease { target, addons } => {
            let after = addons.iter().map(|a| a.set_by).max().unwrap_or(*target);
            let ways: Vec<String> = addons.iter().map(way_forward).collect();
            format!(
                "roll back to a release after v{after}, or change the add-on first ({})",
                ways.join(", ")
            )
        }
        Ineligible::BasicTier { .. } => "set `tier = \"advanced\"` (`cargo release-log init \
                                         --tier advanced`) to keep every release"
            .to_owned(),
        _ => return None,
    })
}

/// Where the values of `secrets` can come from.
fn set_secrets(secrets: &[String]) -> String {
    format!(
        "the value{} of {} {} in the secret store of the machine that set {}: copy that \
         store here (its folder, key included, over a secure channel), or set \
         `secret-recipients` so that secrets travel encrypted with the release files",
        if secrets.len() == 1 { "" } else { "s" },
        secrets.join(", "),
        if secrets.len() == 1 { "is" } else { "are" },
        if secrets.len() == 1 { "it" } else { "them" },
    )
}

fn rebuild(version: u64) -> String {
    format!(
        "`cargo release-log rebuild v{version}` builds it here from its commit (a `slug-store` \
         setting shares slugs between clones)"
    )
}

/// The add-on command that puts `conflict`'s add-on in the target's state first.
fn way_forward(conflict: &AddonConflict) -> String {
    use cargo_metadata::semver::Version;
    let (name, then) = (&conflict.name, &conflict.then);
    let command = match (Version::parse(&conflict.now), Version::parse(then)) {
        _ if then == "absent" => format!("addons remove {name}"),
        (Ok(now), Ok(to)) if to < now => format!("addons downgrade {name}@{then}"),
        (Ok(now), Ok(to)) if to > now => format!("addons upgrade {name}@{then}"),
        // Absent now, in several versions, or from git: set the requirement.
        _ => format!("addons add {name}@{then}"),
    };
    format!("`cargo release-log {command}`")
}
