//! Human output: the releases table, release details, times, sizes.

pub mod aligned;
pub mod reports;
pub mod table;
pub mod time;

use std::fmt::Write as _;

use cargo_release_log::text::{printable, shell_quote};
use cargo_release_log::{Addon, ConfigVars, Release, ReleaseInfo};

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
        _ if !r.succeeded() => "build failed".to_owned(),
        (_, 0) => "not built (deploy --no-build before any build)".to_owned(),
        (Some(_), _) => format!(
            "not built: runs the build of {}",
            r.code.short_built_from().unwrap_or_default()
        ),
        (None, deploy) => format!("built by v{deploy}"),
    };
    line("Code", &format!("{short}{dirty}, {built}"));
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

/// `NAME=value` lines a POSIX shell reads back as the same values.
pub fn shell_lines(config: &ConfigVars, root: &std::path::Path) -> String {
    config
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}\n",
                shell_quote(k),
                shell_quote(&v.resolved_value(root))
            )
        })
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
