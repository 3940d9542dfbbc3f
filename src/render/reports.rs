//! What the commands that change something report, in Heroku's words.

use std::fmt::Write as _;

use cargo_release_log::text::printable;
use cargo_release_log::{
    ConfigChanged, ConfigVars, Deployed, Initialized, Pruned, RolledBack, Synced,
};
use unicode_width::UnicodeWidthStr as _;

use super::size;
use cargo_release_log::text::version_list as list_versions;

pub fn initialized(done: &Initialized, app: &str) -> String {
    let mut out = String::new();
    if let Some(table) = done.wrote_tier {
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
    if !done.config.is_empty() {
        // A deploy records `[env]` as it finds it: say what that changes.
        let _ = write!(
            out,
            "-----> Recording config vars from {}:\n{}",
            done.env_path, done.config
        );
    }
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
fn pruned(pruned: &Pruned) -> String {
    if pruned.releases.is_empty() {
        return String::new();
    }
    format!(
        "Pruned {} (the basic tier keeps the current and the previous release)\n",
        list_versions(&pruned.releases)
    )
}

/// `config`: Heroku's aligned `NAME: value` list.
pub fn config_vars(vars: &ConfigVars, app: &str) -> String {
    if vars.is_empty() {
        return format!("{app} has no config vars.\n");
    }
    // Aligned by the columns a name takes on screen, which is neither its
    // bytes nor its characters once it is escaped or holds wide characters.
    let labels: Vec<String> = vars.keys().map(|k| format!("{}:", printable(k))).collect();
    let width = labels.iter().map(|l| l.width()).max().unwrap_or(0);
    let mut out = format!("=== {app} Config Vars\n");
    for (label, value) in labels.iter().zip(vars.values()) {
        let pad = width - label.width();
        let _ = writeln!(out, "{label}{:pad$} {value}", "");
    }
    out
}

pub fn config_changed(done: &ConfigChanged) -> String {
    let mut out = String::new();
    if !done.set.is_empty() {
        out.push_str("Adding config vars:\n");
        for (name, value) in &done.set {
            let _ = writeln!(out, "  {} => {}", printable(name), printable(value));
        }
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

pub fn rolled_back(done: &RolledBack) -> String {
    format!(
        "Rolled back to v{target}\n\
         Created v{new} with the code and config of v{target}; add-ons, databases and other \
         external state are untouched.\n\
         To undo, run: cargo release-log rollback v{previous}\n{pruned}",
        target = done.target,
        new = done.release.version,
        previous = done.previous,
        pruned = pruned(&done.pruned),
    )
}

pub fn synced(done: &Synced, app: &str) -> String {
    let Some(version) = done.release else {
        return format!("{app} has no releases; nothing to sync.\n");
    };
    let mut out = String::new();
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
