//! What rollbacks, retries and promotions report: the releases skipped, a dry run's plan.

use std::fmt::Write as _;

use cargo_release_log::{Ineligible, PromotedRelease, Retried, RollbackPlan};

use super::reports::{fetched, pruned};

/// The releases a bare rollback passed over, those with the same reason
/// together: `Skipped v14, v13, v12: each would undo add-on release v15 (cfg-if).`
pub fn skipped(skipped: &[(u64, Ineligible)]) -> String {
    let why = |reason: &Ineligible| match reason {
        Ineligible::UndoesAddonRelease { addons, .. } => {
            let by = addons.iter().map(|a| a.set_by).max().unwrap_or_default();
            let names: Vec<&str> = addons.iter().map(|a| a.name.as_str()).collect();
            format!("would undo add-on release v{by} ({})", names.join(", "))
        }
        other => other.to_string(),
    };
    let mut groups: Vec<(Vec<u64>, String)> = Vec::new();
    for (version, reason) in skipped {
        let reason = why(reason);
        match groups.last_mut() {
            Some((versions, last)) if *last == reason => versions.push(*version),
            _ => groups.push((vec![*version], reason)),
        }
    }
    let mut out = String::new();
    for (versions, reason) in groups {
        let list: Vec<String> = versions.iter().map(|v| format!("v{v}")).collect();
        let each = if versions.len() > 1 && reason.starts_with("would ") {
            "each "
        } else {
            ""
        };
        let _ = writeln!(out, "Skipped {}: {each}{reason}.", list.join(", "));
    }
    out
}

/// `rollback --dry-run`: what a rollback would change.
pub fn rollback_plan(plan: &RollbackPlan) -> String {
    let (target, current) = (&plan.target, &plan.current);
    let mut out = skipped(&plan.skipped);
    let _ = writeln!(
        out,
        "Would roll back from v{} to v{} (nothing changed: --dry-run)",
        current.version, target.version
    );
    let code = if target.code.commit == current.code.commit {
        format!("{}, unchanged", target.code.short_commit())
    } else {
        format!(
            "{} => {}",
            current.code.short_commit(),
            target.code.short_commit()
        )
    };
    let _ = writeln!(out, "Code:    {code}");
    let config = plan.config.to_string();
    let _ = writeln!(
        out,
        "Config:  {}",
        if plan.config.is_empty() {
            "unchanged".to_owned()
        } else {
            config
                .lines()
                .map(str::trim)
                .collect::<Vec<_>>()
                .join("\n         ")
        }
    );
    let addons = plan.addons.summary();
    let _ = writeln!(
        out,
        "Addons:  {}",
        if addons.is_empty() {
            "unchanged".to_owned()
        } else {
            addons.join(", ")
        }
    );
    if let Some(argv) = &plan.release_command {
        // As a user would type it: a word from the manifest is quoted for a shell.
        let words: Vec<String> = argv
            .iter()
            .map(|w| cargo_release_log::text::shell_quote(w).into_owned())
            .collect();
        let _ = writeln!(out, "Release phase: {}", words.join(" "));
    }
    out
}

/// `releases retry`: the release made again.
pub fn retried(done: &Retried) -> String {
    let mut out = fetched(&done.fetched);
    let _ = writeln!(
        out,
        "Retrying v{}... done, v{}",
        done.retried, done.release.version
    );
    out += &pruned(&done.pruned);
    out
}

/// `promote`: what was shipped where.
pub fn promoted(done: &PromotedRelease, app: &str) -> String {
    let mut out = fetched(&done.fetched);
    let _ = writeln!(
        out,
        "Promoting {app} {} v{} to {}... done, v{}",
        done.from, done.source, done.to, done.release.version
    );
    let _ = writeln!(
        out,
        "{} v{} runs the executables of {} v{} (same sha256, not rebuilt) with its own config vars.",
        done.to, done.release.version, done.from, done.source
    );
    if !done.missing_vars.is_empty() {
        let _ = writeln!(
            out,
            "It lacks config {} that {} v{} has: {}.",
            if done.missing_vars.len() == 1 {
                "var"
            } else {
                "vars"
            },
            done.from,
            done.source,
            done.missing_vars.join(", ")
        );
    }
    out += &pruned(&done.pruned);
    out
}
