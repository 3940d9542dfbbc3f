//! What the commands that change something report, in Heroku's words.

mod store;

use std::fmt::Write as _;

use cargo_release_log::text::printable;
use cargo_release_log::{
    AddonChanged, AddonDiff, AddonsShown, CheckReport, Collected, ConfigChanged, Deployed,
    Initialized, MovedAddon, Pruned, RolledBack, Synced,
};
use unicode_width::UnicodeWidthStr as _;

use super::actions::skipped;
use super::size;
use cargo_release_log::text::version_list as list_versions;
use store::shared;
pub use store::{fetched, pushed, rebuilt};

pub fn initialized(done: &Initialized, app: &str) -> String {
    let mut out = String::new();
    if let Some(table) = &done.wrote_tier {
        let _ = writeln!(
            out,
            "Set tier = \"{}\" in {table} of Cargo.toml (commit it before the next deploy)",
            done.tier
        );
    }
    if done.created_ledger {
        out.push_str("Created .releases/ (commit its v*.toml files; slugs stay local)\n");
    }
    out.push_str(&pruned(&done.pruned));
    let _ = writeln!(
        out,
        "{app} keeps its releases in .releases/ (tier: {})",
        done.tier
    );
    out
}

pub fn deployed(done: &Deployed) -> String {
    let mut out = String::new();
    if done.unchanged {
        let r = &done.release;
        let _ = writeln!(
            out,
            "-----> v{} already runs {} with this slug and config; nothing was recorded \
             (`deploy --force` records it again)",
            r.version,
            r.code.short_commit()
        );
        return out;
    }
    if !done.config.is_empty() {
        // A deploy records `[env]` as it finds it: say what that changes.
        let _ = write!(
            out,
            "-----> Recording config vars from {}:\n{}",
            done.env_path, done.config
        );
    }
    for (name, why) in &done.secrets {
        let _ = writeln!(
            out,
            "-----> Keeping {name} secret, as {why}: its value moved from {} to the secret store",
            done.env_path
        );
    }
    if !done.addons.is_empty() {
        // Dependencies that moved with the code ship in its slug.
        let _ = write!(
            out,
            "-----> Add-ons changed with this code:\n{}",
            done.addons
        );
    }
    out.push_str(&shared(&done.shared, "-----> "));
    let slug = &done.release.code.slug;
    let first = match (done.built, slug.executables.is_empty()) {
        (true, _) => format!("-----> Compiled slug size is {}", size(slug.total_size)),
        (false, true) => "-----> Skipped the build (--no-build); there is no slug yet".to_owned(),
        (false, false) => format!(
            "-----> Skipped the build (--no-build); the slug stays at {}",
            size(slug.total_size)
        ),
    };
    let _ = writeln!(
        out,
        "{first}\n-----> Launching... done, v{}",
        done.release.version
    );
    out + &pruned(&done.pruned)
}

/// A line naming the releases retention removed, if any.
pub(super) fn pruned(pruned: &Pruned) -> String {
    if pruned.releases.is_empty() {
        return String::new();
    }
    format!(
        "Pruned {} (the basic tier keeps the current and the previous release)\n",
        list_versions(&pruned.releases)
    )
}

/// `config`: Heroku's aligned `NAME: value` list; `shown` holds each var
/// as it is to be shown (a secret masked unless revealed).
pub fn config_vars(shown: &[(String, String)], app: &str) -> String {
    if shown.is_empty() {
        return format!("{app} has no config vars.\n");
    }
    // Aligned by the columns a name takes on screen, which is neither its
    // bytes nor its characters once it is escaped or holds wide characters.
    let labels: Vec<String> = shown
        .iter()
        .map(|(k, _)| format!("{}:", printable(k)))
        .collect();
    let width = labels.iter().map(|l| l.width()).max().unwrap_or(0);
    let mut out = format!("=== {app} Config Vars\n");
    for (label, (_, value)) in labels.iter().zip(shown) {
        let pad = width - label.width();
        let _ = writeln!(out, "{label}{:pad$} {value}", "");
    }
    out
}

pub fn config_changed(done: &ConfigChanged) -> String {
    let mut out = String::new();
    if done.unchanged {
        let _ = writeln!(
            out,
            "Config vars unchanged: v{} has these values already; nothing was recorded \
             (`config set --force` records a release anyway)",
            done.release.version
        );
        return out;
    }
    if !done.set.is_empty() {
        out.push_str("Adding config vars:\n");
        for (name, var) in &done.set {
            let _ = writeln!(out, "  {} => {var}", printable(name));
        }
    }
    for (name, why) in &done.secrets {
        let sealed = done
            .release
            .config
            .get(name)
            .is_some_and(|var| var.sealed.is_some());
        let kept = if sealed {
            "sealed to the team's secret recipients"
        } else {
            "out of git"
        };
        let _ = writeln!(
            out,
            "{name} is kept secret, {kept}, as {why} (`config set --plain` keeps a value in the release files)"
        );
    }
    if !done.removed.is_empty() {
        out.push_str("Removing config vars:\n");
        for name in &done.removed {
            let _ = writeln!(out, "  {name}");
        }
    }
    let version = done.release.version;
    let _ = writeln!(out, "Updating vars and restarting app... done, v{version}");
    if let Some(deploy) = done.restored_deploy {
        let _ = writeln!(
            out,
            "Rolled-back code is temporary: v{version} runs the code of v{deploy}, the latest deploy, again."
        );
    }
    out + &pruned(&done.pruned)
}

/// `addons`: the current release's add-ons as a table.
pub fn addons(shown: &AddonsShown, app: &str) -> String {
    if shown.addons.is_empty() {
        return format!("{app} has no add-ons.\n");
    }
    let rows: Vec<[String; 4]> = shown
        .addons
        .iter()
        .map(|a| {
            [
                a.name.clone(),
                a.version_or_req().to_owned(),
                a.origin()
                    .map_or_else(|| "registry".to_owned(), |o| printable(&o).into_owned()),
                a.used_by.join(", "),
            ]
        })
        .collect();
    let mut out = match shown.release {
        Some(v) => format!("=== {app} Add-ons (v{v})\n"),
        None => format!("=== {app} Add-ons\n"),
    };
    out.push_str(&super::aligned::table(
        &["Add-on", "Version", "Source", "Used by"],
        &rows,
    ));
    out
}

/// The warning `addons` gives when the manifests moved on from the latest build.
pub fn addon_drift(drift: &AddonDiff, latest: Option<u64>) -> String {
    let latest = latest.map_or_else(|| "the latest build".to_owned(), |v| format!("v{v}"));
    format!(
        "Cargo.toml and Cargo.lock differ from the add-ons of {latest}:\n{drift}\
         `cargo release-log deploy` records them once committed"
    )
}

/// `addons add|remove|upgrade|downgrade`, in Heroku's words.
pub fn addons_changed(done: &AddonChanged, app: &str) -> String {
    let version = done.release.version;
    let name = &done.name;
    let named = |m: &&MovedAddon| m.new.name == *name;
    let mut out = match done.release.change.split(' ').nth(1) {
        Some("remove") => format!("Removing {name} from {app}... done, v{version}\n"),
        Some("upgrade" | "downgrade") => match done.addons.moved.iter().find(named) {
            Some(m) => format!(
                "Changing {name} on {app} from {} to {}... done, v{version}\n",
                m.old.version_or_req(),
                m.new.version_or_req()
            ),
            None => format!("Changing {name} on {app}... done, v{version}\n"),
        },
        _ => format!("Adding {name} to {app}... done, v{version}\n"),
    };
    let others: Vec<String> = done
        .addons
        .summary()
        .into_iter()
        .filter(|s| s.trim_start_matches(['+', '-']).split(' ').next() != Some(name.as_str()))
        .collect();
    if !others.is_empty() {
        let _ = writeln!(out, "Also changed: {}", others.join(", "));
    }
    if let Some(deploy) = done.restored_deploy {
        let _ = writeln!(
            out,
            "Rolled-back code is temporary: v{version} runs the code of v{deploy}, the latest deploy, again."
        );
    }
    out.push_str(&shared(&done.shared, ""));
    if !done.manifests.is_empty() {
        let _ = writeln!(
            out,
            "Commit {} with your code; until then, deploy accepts exactly these uncommitted changes.",
            done.manifests.join(" and ")
        );
    }
    out + &pruned(&done.pruned)
}

pub fn rolled_back(done: &RolledBack) -> String {
    let (target, new) = (done.target, done.release.version);
    let mut out = fetched(&done.fetched);
    out += &skipped(&done.skipped);
    out += &format!(
        "Rolled back to v{target}\n\
         Created v{new} with the code of v{target}, the crates compiled into it, and its config vars.\n"
    );
    let diff = &done.addons;
    let mut back: Vec<String> = diff
        .moved
        .iter()
        .map(|m| {
            format!(
                "{} {} (now {})",
                m.new.name,
                m.new.version_or_req(),
                m.old.version_or_req()
            )
        })
        .collect();
    back.extend(
        diff.added
            .iter()
            .map(|a| format!("{} {} (now absent)", a.name, a.version_or_req())),
    );
    let gone: Vec<String> = diff
        .removed
        .iter()
        .map(|a| format!("{} (now {})", a.name, a.version_or_req()))
        .collect();
    match (back.is_empty(), gone.is_empty()) {
        (true, true) => {}
        (false, true) => {
            let _ = writeln!(out, "It brings back {}.", back.join(", "));
        }
        (true, false) => {
            let _ = writeln!(out, "It leaves out {}.", gone.join(", "));
        }
        (false, false) => {
            let _ = writeln!(
                out,
                "It brings back {} and leaves out {}.",
                back.join(", "),
                gone.join(", ")
            );
        }
    }
    let _ = writeln!(
        out,
        "Cargo.toml, Cargo.lock, the source tree and external state such as databases are untouched.\n\
         To undo, run: cargo release-log rollback v{}",
        done.previous
    );
    out + &pruned(&done.pruned)
}

pub fn synced(done: &Synced, app: &str) -> String {
    let Some(version) = done.release else {
        return format!("{app} has no releases; nothing to sync.\n");
    };
    let mut out = fetched(&done.fetched);
    if done.env_changed {
        let _ = write!(
            out,
            "Regenerated [env] in {} from v{version}",
            done.env_path
        );
        if done.env.is_empty() {
            out.push('\n');
        } else {
            let _ = write!(out, ":\n{}", done.env);
        }
    }
    if done.switched_current {
        let _ = writeln!(out, "Switched .releases/current to v{version}");
    }
    out.push_str(&pruned(&done.pruned));
    if let Some(error) = &done.tier_error {
        let _ = writeln!(
            out,
            "Kept every release, as the tier setting is invalid: {error}"
        );
    }
    if !done.missing_slug.is_empty() {
        let _ = writeln!(
            out,
            "The executables of v{version} are not stored here (slugs are not committed), \
             so `cargo release-log run` cannot start it; `cargo release-log deploy` builds \
             and records the checked-out commit"
        );
    }
    if out.is_empty() {
        let _ = writeln!(
            out,
            "The workspace already matches v{version}; nothing to do."
        );
    }
    out
}

/// `check`: one line per finding, `<subject>: <what is wrong>`, warnings
/// marked; a summary line when nothing fails.
pub fn check(report: &CheckReport, app: &str) -> String {
    let mut out = String::new();
    for finding in &report.problems {
        let _ = writeln!(out, "{}: {}", printable(&finding.subject), finding.message);
    }
    for finding in &report.warnings {
        let _ = writeln!(
            out,
            "warning: {}: {}",
            printable(&finding.subject),
            finding.message
        );
    }
    if report.passed() {
        let summary = match (report.current, report.rollback_target) {
            (None, _) if report.releases == 0 => {
                format!("{app} has no releases; nothing to check.")
            }
            (None, _) if !report.environments.is_empty() => format!(
                "{app}: {} checked, none in the default environment; the ledger is intact.",
                count(report.releases, "release", "releases")
            ),
            (None, _) => format!(
                "{app}: {} checked, none succeeded yet; the ledger is intact.",
                count(report.releases, "release", "releases")
            ),
            (Some(current), target) => format!(
                "{app}: {} checked, v{current} current{}; the ledger is intact and the \
                 workspace matches v{current}.",
                count(report.releases, "release", "releases"),
                target.map_or_else(String::new, |t| format!(" (a rollback goes to v{t})"))
            ),
        };
        out.push_str(&summary);
        out.push('\n');
        for (env, current) in &report.environments {
            let _ = writeln!(
                out,
                "  {env}: {}",
                current.map_or_else(
                    || "no current release".to_owned(),
                    |v| format!("v{v} current")
                )
            );
        }
        if let Some(store) = &report.store {
            let _ = writeln!(
                out,
                "  slug store: {} read from {}, each the bytes its releases record",
                count(store.objects, "executable", "executables"),
                store.stores.join(" and ")
            );
        }
    }
    out
}

/// `1 problem`, `2 problems`.
pub fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// `gc`: what was freed, here and in the store.
pub fn collected(done: &Collected) -> String {
    let verb = if done.dry_run {
        "Would delete"
    } else {
        "Deleted"
    };
    let mut out = format!(
        "{verb} {} here ({} freed)\n",
        count(done.local_slugs, "stored slug", "stored slugs"),
        size(done.local_bytes)
    );
    if let Some(store) = &done.store {
        let _ = writeln!(
            out,
            "{verb} {} from {store} ({} freed)",
            count(done.remote_objects, "executable", "executables"),
            size(done.remote_bytes)
        );
    }
    out
}
