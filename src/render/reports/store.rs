//! What is reported of the shared slug store: uploads, repairs and fetches,
//! `push` and `rebuild`.

use std::fmt::Write as _;

use cargo_release_log::text::version_list as list_versions;
use cargo_release_log::{PushOutcome, Pushed, PushedObject, Rebuilt, Shared, SlugTransfer};

use super::count;
use crate::render::size;

/// Lines for what was uploaded to the shared slug store, each started by `prefix`.
pub(super) fn shared(shared: &Shared, prefix: &str) -> String {
    let mut out = String::new();
    for sent in &shared.sent {
        let _ = writeln!(
            out,
            "{prefix}Uploaded {} ({}) to {}",
            sent.name,
            size(sent.bytes),
            sent.store
        );
    }
    for repaired in &shared.repaired {
        let sent = &repaired.transfer;
        let _ = writeln!(
            out,
            "{prefix}Repaired {} in {}: the object there was not the bytes recorded ({}); \
             replaced it with the verified copy here ({})",
            sent.name,
            sent.store,
            repaired.found,
            size(sent.bytes)
        );
    }
    if shared.skipped > 0 {
        let _ = writeln!(
            out,
            "{prefix}The slug store already has {} (sha256 verified)",
            count(
                shared.skipped,
                "executable of this slug",
                "executables of this slug"
            )
        );
    }
    out
}

/// `push`: one line per object the retained releases need, by what was
/// done, naming its releases; then the counts.
pub fn pushed(done: &Pushed, app: &str) -> String {
    let mut out = String::new();
    if done.objects.is_empty() {
        let _ = writeln!(
            out,
            "Nothing to push: {app} has no retained release with executables."
        );
    }
    let (upload, repair) = if done.dry_run {
        ("Would upload", "Would repair")
    } else {
        ("Uploaded", "Repaired")
    };
    for o in &done.objects {
        let what = format!("{} (sha256 {})", o.name, short(&o.sha256));
        let of = releases(o);
        let _ = match o.outcome {
            PushOutcome::Uploaded => writeln!(
                out,
                "{upload} {what}, {}, to {}; for {of}",
                size(o.size),
                o.store
            ),
            PushOutcome::Repaired => writeln!(
                out,
                "{repair} {what} in {}: the object there was not the bytes recorded ({}); \
                 {} the verified copy here, {}; for {of}",
                o.store,
                o.found.as_deref().unwrap_or("unreadable"),
                if done.dry_run {
                    "would replace it with"
                } else {
                    "replaced it with"
                },
                size(o.size),
            ),
            PushOutcome::Verified => writeln!(
                out,
                "Already in {}, sha256 verified: {what}; for {of}",
                o.store
            ),
            PushOutcome::StoreOnly => writeln!(
                out,
                "Only in {}, not here{}: {what} (its bytes were not read: `check --store` \
                 reads them); for {of}",
                o.store,
                o.damaged_here
                    .as_ref()
                    .map_or_else(String::new, |d| format!(" (the copy here is damaged: {d})"))
            ),
            // `Missing`.
            _ => writeln!(
                out,
                "Neither here nor in {}: {what}{}; for {of}",
                o.store,
                missing_details(o)
            ),
        };
    }
    let counts: Vec<String> = [
        (PushOutcome::Uploaded, "uploaded"),
        (PushOutcome::Repaired, "repaired"),
        (PushOutcome::Verified, "already there (verified)"),
        (PushOutcome::StoreOnly, "only in the store"),
        (PushOutcome::Missing, "neither here nor there"),
    ]
    .into_iter()
    .map(|(outcome, what)| (done.with(outcome).count(), what))
    .filter(|(n, _)| *n > 0)
    .map(|(n, what)| format!("{n} {what}"))
    .collect();
    if !done.objects.is_empty() {
        let _ = writeln!(
            out,
            "{} {} for {app}'s retained releases{}: {}",
            if done.dry_run { "Would push" } else { "Pushed" },
            count(done.objects.len(), "object", "objects"),
            if done.stores.len() == 1 {
                format!(" to {}", done.stores[0])
            } else {
                String::new()
            },
            counts.join(", ")
        );
    }
    for env in &done.no_store {
        let _ = writeln!(
            out,
            "The releases of {env} were not pushed: it has no `slug-store`"
        );
    }
    out
}

/// What is known of an object that is neither here nor in the store.
fn missing_details(o: &PushedObject) -> String {
    let mut details = Vec::new();
    if let Some(found) = &o.found {
        details.push(format!(
            "the store's object is not the bytes recorded: {found}"
        ));
    }
    if let Some(damaged) = &o.damaged_here {
        details.push(format!("the copy here is damaged: {damaged}"));
    }
    if !o.release_phase_output
        && let Some(newest) = o.releases.last()
    {
        let env = if newest.env == cargo_release_log::DEFAULT_ENV {
            String::new()
        } else {
            format!("--env {} ", newest.env)
        };
        details.push(format!(
            "`cargo release-log {env}rebuild v{}` builds it again",
            newest.version
        ));
    }
    if details.is_empty() {
        String::new()
    } else {
        format!(" ({})", details.join("; "))
    }
}

/// The releases that need an object: `v1, v2`, `v1 to v5, staging:v2`.
fn releases(o: &PushedObject) -> String {
    let mut by_env: Vec<(&str, Vec<u64>)> = Vec::new();
    for r in &o.releases {
        match by_env.iter_mut().find(|(env, _)| *env == r.env) {
            Some((_, versions)) => versions.push(r.version),
            None => by_env.push((&r.env, vec![r.version])),
        }
    }
    by_env
        .into_iter()
        .map(|(env, versions)| {
            let list = list_versions(&versions);
            if env == cargo_release_log::DEFAULT_ENV {
                list
            } else {
                format!(
                    "{env}:{}",
                    list.replace(", v", &format!(", {env}:v"))
                        .replace(" to v", &format!(" to {env}:v"))
                )
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The first 12 hex digits of a sha256, as `rebuild` shows them.
fn short(sha256: &str) -> &str {
    sha256.get(..12).unwrap_or(sha256)
}

/// Lines for what was fetched from the shared slug store.
pub fn fetched(fetched: &[SlugTransfer]) -> String {
    fetched
        .iter()
        .map(|f| {
            format!(
                "Fetched {} ({}, sha256 verified) from {}\n",
                f.name,
                size(f.bytes),
                f.store
            )
        })
        .collect()
}

/// `rebuild`: which executables the build reproduced.
pub fn rebuilt(done: &Rebuilt) -> String {
    let short = |sha: &str| sha.get(..12).unwrap_or(sha).to_owned();
    let mut out = format!(
        "Rebuilt v{} from {} in a temporary worktree{}:\n",
        done.version,
        done.commit.get(..7).unwrap_or(&done.commit),
        match done.manifests.as_slice() {
            [] => String::new(),
            [one] => format!(", with the uncommitted {one} it was built with"),
            [rest @ .., last] => format!(
                ", with the uncommitted {} and {last} it was built with",
                rest.join(", ")
            ),
        }
    );
    for exe in &done.executables {
        let _ = match &exe.built {
            _ if exe.reproduced() => writeln!(
                out,
                "  {}: sha256 {} matches the record; stored",
                exe.name,
                short(&exe.recorded)
            ),
            Some(built) => writeln!(
                out,
                "  {}: not reproduced: built {}, the record says {}; not stored",
                exe.name,
                short(built),
                short(&exe.recorded)
            ),
            None => writeln!(out, "  {}: not built by this build; not stored", exe.name),
        };
    }
    out.push_str(&shared(&done.shared, ""));
    if done.executables.iter().all(|e| e.reproduced()) {
        let _ = writeln!(out, "v{} can be run and rolled back to here.", done.version);
    } else if !done.caveats.is_empty() {
        let _ = writeln!(
            out,
            "It may not reproduce, as {}.",
            done.caveats.join(", and ")
        );
    }
    out
}
