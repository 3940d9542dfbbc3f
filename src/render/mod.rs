//! Human output: the releases table, release details, times, sizes.

pub mod actions;
pub mod aligned;
pub mod reports;
pub mod table;
pub mod time;

use std::fmt::Write as _;

use cargo_release_log::text::{printable, shell_quote};
use cargo_release_log::{
    Addon, ConfigVars, EnvironmentStatus, PhaseStatus, Release, ReleaseDiff, ReleaseInfo,
};

/// `8.3MB`, the way Heroku shows slug sizes.
pub fn size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KB", "MB", "GB", "TB"];
    if bytes < 1024 {
        return format!("{bytes}B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1}{}", UNITS[unit])
}

/// The Change column: the change text, the `-m` message, and a failure mark.
pub fn change_text(release: &Release) -> String {
    // One line per release, whatever a message or a hand edit holds.
    let mut text = printable(&release.change).into_owned();
    if let Some(message) = &release.message {
        text.push_str(": ");
        text.push_str(&printable(message));
    }
    if !release.succeeded() {
        text.push_str(" (failed)");
    }
    text
}

/// `releases:info`: the release in full.
pub fn info(info: &ReleaseInfo, now: &jiff::ZonedDateTime) -> String {
    let r = &info.release;
    let mut out = format!("=== Release v{}\n", r.version);
    let mut line = |label: &str, value: &str| {
        let _ = writeln!(out, "{:<8}{value}", format!("{label}:"));
    };
    line("Change", &change_text(r));
    line("By", &printable(&r.by));
    line("When", &time::when(&r.when, now));
    if let Some(note) = &r.note {
        line("Note", note);
    }
    line("Addons", &addon_lines(&r.code.addons).join("\n        "));
    line("Config", &config_lines(&r.config).join("\n        "));
    let short = r.code.short_commit();
    let dirty = if r.code.dirty {
        " (with uncommitted changes)"
    } else {
        ""
    };
    let built = match (&r.code.built_from, r.code.deploy) {
        _ if !r.succeeded() && r.code.slug.executables.is_empty() => "build failed".to_owned(),
        (_, 0) => "not built (deploy --no-build before any build)".to_owned(),
        (Some(_), _) => format!(
            "not built: runs the build of {}",
            r.code.short_built_from().unwrap_or_default()
        ),
        (None, deploy) => format!("built by v{deploy}"),
    };
    line("Code", &format!("{short}{dirty}, {built}"));
    if let Some(build) = &r.code.build {
        line("Build", &printable(&build.describe()));
    }
    let slug = &r.code.slug;
    let exes: Vec<&str> = slug.executables.iter().map(|e| e.name.as_str()).collect();
    line(
        "Slug",
        &if exes.is_empty() {
            "none".to_owned()
        } else {
            format!("{} ({})", size(slug.total_size), exes.join(", "))
        },
    );
    if let Some(phase) = &r.release_phase {
        let text = match (phase.status, &phase.reason) {
            (PhaseStatus::Skipped, _) => "skipped (--skip-release-phase)".to_owned(),
            (PhaseStatus::Passed, _) => format!("passed in {}", duration(phase.duration_ms)),
            (_, reason) => format!(
                "failed ({}) after {}; `cargo release-log releases output v{}` shows its output",
                reason.as_deref().unwrap_or("unknown"),
                duration(phase.duration_ms),
                r.version
            ),
        };
        line("Phase", &text);
    }
    if let Some(why) = &info.post_release_failed {
        line("Hook", &format!("post-release failed ({})", printable(why)));
    }
    if info.current {
        out.push_str("Current: Yes\n");
    }
    match &info.ineligible_because {
        None => out.push_str("Eligible for Rollback?: Yes\n"),
        Some(why) => {
            let _ = writeln!(out, "Eligible for Rollback?: No ({why})");
        }
    }
    out
}

/// `releases --eligible`: where a rollback can go, and why not elsewhere.
pub fn eligible(list: &[ReleaseInfo]) -> String {
    let rows: Vec<[String; 3]> = list
        .iter()
        .map(|info| {
            let r = &info.release;
            let answer = match (&info.ineligible_because, info.current) {
                (_, true) => "current".to_owned(),
                (None, false) => "yes".to_owned(),
                (Some(why), false) => format!("no: {why}"),
            };
            [
                format!("v{}", r.version),
                printable(&r.change).into_owned(),
                answer,
            ]
        })
        .collect();
    aligned::table(&["Rel", "Change", "Rollback?"], &rows)
}

/// `1.2s`, `250ms`, `3m 2s`: how long a command ran.
fn duration(ms: u64) -> String {
    match ms {
        0..1_000 => format!("{ms}ms"),
        1_000..60_000 => format!("{:.1}s", ms as f64 / 1000.0),
        _ => format!("{}m {}s", ms / 60_000, ms % 60_000 / 1000),
    }
}

/// `releases --all-envs`: each environment's current release, then what
/// waits for promotion.
pub fn pipeline(statuses: &[EnvironmentStatus], now: &jiff::ZonedDateTime) -> String {
    let rows: Vec<[String; 5]> = statuses
        .iter()
        .map(|s| match &s.current {
            Some(r) => [
                s.environment.clone(),
                format!("v{}", r.version),
                printable(&r.change).into_owned(),
                printable(&r.by).into_owned(),
                time::when(&r.when, now),
            ],
            None => [
                s.environment.clone(),
                "-".to_owned(),
                "(no releases)".to_owned(),
                String::new(),
                String::new(),
            ],
        })
        .collect();
    let mut out = aligned::table(&["Env", "Rel", "Change", "By", "When"], &rows);
    for s in statuses {
        let (Some(from), Some(commits)) = (&s.promote_from, &s.not_promoted) else {
            continue;
        };
        if commits.is_empty() {
            let _ = writeln!(out, "\n{} runs everything {from} runs.", s.environment);
            continue;
        }
        let _ = writeln!(
            out,
            "\n{from} has {} that {} does not run yet:",
            if commits.len() == 1 {
                "1 commit".to_owned()
            } else {
                format!("{} commits", commits.len())
            },
            s.environment
        );
        for c in commits {
            let _ = writeln!(
                out,
                "  {} {}",
                c.sha.get(..7).unwrap_or(&c.sha),
                printable(&c.subject)
            );
        }
    }
    out
}

/// `diff`: what changed between two releases, labelled as `info` is.
pub fn diff(diff: &ReleaseDiff) -> String {
    const SHOWN_COMMITS: usize = 30;
    let mut out = match &diff.environments {
        Some([a, b]) => format!("=== {a} v{} => {b} v{}\n", diff.from, diff.to),
        None => format!("=== v{} => v{}\n", diff.from, diff.to),
    };
    let mut line = |label: &str, lines: &[String]| {
        let _ = writeln!(
            out,
            "{:<8}{}",
            format!("{label}:"),
            lines.join("\n        ")
        );
    };
    let short = |sha: &str| sha.get(..7).unwrap_or(sha).to_owned();
    let [a, b] = &diff.commits;
    let mut code = vec![if a == b {
        format!("{}, unchanged", short(a))
    } else {
        format!("{} => {}", short(a), short(b))
    }];
    match (&diff.commits_added, &diff.commits_removed) {
        (Some(added), Some(removed)) => {
            let commits = added
                .iter()
                .map(|c| ('+', c))
                .chain(removed.iter().map(|c| ('-', c)));
            let count = added.len() + removed.len();
            code.extend(
                commits
                    .take(SHOWN_COMMITS)
                    .map(|(sign, c)| format!("{sign} {} {}", short(&c.sha), printable(&c.subject))),
            );
            if count > SHOWN_COMMITS {
                code.push(format!("… and {} more commits", count - SHOWN_COMMITS));
            }
        }
        _ if a != b => code[0].push_str(" (a commit is not in this repository)"),
        _ => {}
    }
    line("Code", &code);
    line("Config", &diff_lines(&diff.config.to_string()));
    line("Addons", &diff_lines(&diff.addons.to_string()));
    let e = &diff.executables;
    let mut slug: Vec<String> = Vec::new();
    slug.extend(e.changed.iter().map(|n| format!("~ {n}")));
    slug.extend(e.added.iter().map(|n| format!("+ {n}")));
    slug.extend(e.removed.iter().map(|n| format!("- {n}")));
    if slug.is_empty() {
        slug.push("unchanged".to_owned());
    }
    line("Slug", &slug);
    out
}

/// The lines of a diff's `Display`, unindented, or `unchanged`.
fn diff_lines(text: &str) -> Vec<String> {
    let lines: Vec<String> = text.lines().map(|l| l.trim_start().to_owned()).collect();
    if lines.is_empty() {
        vec!["unchanged".to_owned()]
    } else {
        lines
    }
}

/// One `name@version` line per add-on, with where it comes from unless
/// that is a registry, or `none`.
pub fn addon_lines(addons: &[Addon]) -> Vec<String> {
    if addons.is_empty() {
        return vec!["none".to_owned()];
    }
    addons
        .iter()
        .map(|a| match a.origin() {
            Some(origin) => format!("{} ({})", a.spec(), printable(&origin)),
            None => a.spec(),
        })
        .collect()
}

/// `NAME => value` lines, or `none`.
pub fn config_lines(config: &ConfigVars) -> Vec<String> {
    if config.is_empty() {
        return vec!["none".to_owned()];
    }
    config
        .iter()
        .map(|(k, v)| format!("{} => {v}", printable(k)))
        .collect()
}

/// `NAME=value` lines a POSIX shell reads back as the same values (names
/// are validated as shell names when read; values are quoted).
pub fn shell_lines(environment: &[(String, String)]) -> String {
    environment
        .iter()
        .map(|(name, value)| format!("{}={}\n", shell_quote(name), shell_quote(value)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(size(0), "0B");
        assert_eq!(size(1023), "1023B");
        assert_eq!(size(1536), "1.5KB");
        assert_eq!(size(8_703_180), "8.3MB");
    }
}
