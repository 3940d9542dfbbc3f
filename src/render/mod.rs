//! Human output: the releases table, release details, times, sizes, shell quoting.

pub mod reports;
pub mod table;
pub mod time;

use std::fmt::Write as _;

use crate::commands::releases::ReleaseInfo;
use crate::ledger::{ConfigVar, ConfigVars, Release};

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
    let mut text: String = release.change.chars().map(printable).collect();
    if let Some(message) = &release.message {
        text.push_str(": ");
        text.extend(message.chars().map(printable));
    }
    if !release.succeeded() {
        text.push_str(" (failed)");
    }
    text
}

fn printable(c: char) -> char {
    if c.is_control() { ' ' } else { c }
}

/// A config value as one line of human output: control characters (a
/// newline, an escape sequence from a teammate's file) are shown escaped.
pub fn visible(value: &str) -> std::borrow::Cow<'_, str> {
    if value.chars().any(char::is_control) {
        // Once anything is escaped, so is `\`, so the text reads back unambiguously.
        value
            .chars()
            .map(|c| {
                if c.is_control() || c == '\\' {
                    c.escape_default().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect::<String>()
            .into()
    } else {
        value.into()
    }
}

/// A config var as human output shows it: its value, and cargo's options
/// for it when any are on (`data [relative]`).
pub fn shown(var: &ConfigVar) -> String {
    let options = var.options();
    if options.is_empty() {
        visible(&var.value).into_owned()
    } else {
        format!("{} [{}]", visible(&var.value), options.join(", "))
    }
}

/// The 7-character form git shows.
pub fn short_sha(sha: &str) -> &str {
    sha.get(..7).unwrap_or(sha)
}

/// `releases:info`: the release in full.
pub fn info(info: &ReleaseInfo, now: &jiff::ZonedDateTime) -> String {
    let r = &info.release;
    let mut out = format!("=== Release v{}\n", r.version);
    let mut line = |label: &str, value: &str| {
        let _ = writeln!(out, "{:<8}{value}", format!("{label}:"));
    };
    line("Change", &change_text(r));
    line("By", &r.by);
    line("When", &time::when(&r.when, now));
    if let Some(note) = &r.note {
        line("Note", note);
    }
    let addons: Vec<String> = r.addons.iter().map(|a| a.spec()).collect();
    line(
        "Addons",
        &if addons.is_empty() {
            "none".to_owned()
        } else {
            addons.join(", ")
        },
    );
    let config = config_lines(&r.config);
    line("Config", &config.join("\n        "));
    let short = short_sha(&r.code.commit);
    let dirty = if r.code.dirty {
        " (with uncommitted changes)"
    } else {
        ""
    };
    let built = match (&r.code.built_from, r.code.deploy) {
        _ if !r.succeeded() => "build failed".to_owned(),
        (_, 0) => "not built (deploy --no-build before any build)".to_owned(),
        (Some(from), _) => format!("not built: runs the build of {}", short_sha(from)),
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

/// `NAME => value` lines, or `none`.
pub fn config_lines(config: &ConfigVars) -> Vec<String> {
    if config.is_empty() {
        return vec!["none".to_owned()];
    }
    config
        .iter()
        .map(|(k, v)| format!("{} => {}", visible(k), shown(v)))
        .collect()
}

/// `NAME=value` lines a POSIX shell reads back as the same values.
pub fn shell_lines(config: &ConfigVars, root: &std::path::Path) -> String {
    config
        .iter()
        .map(|(k, v)| format!("{k}={}\n", shell_quote(&run_value(v, root))))
        .collect()
}

/// The value a program started from the release sees: as cargo does, a
/// `relative` value is a path from the workspace root.
pub fn run_value(var: &ConfigVar, root: &std::path::Path) -> String {
    if var.relative {
        root.join(&var.value).display().to_string()
    } else {
        var.value.clone()
    }
}

pub fn shell_quote(value: &str) -> String {
    let plain = !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:,@%+=".contains(&b));
    if plain {
        value.to_owned()
    } else {
        format!("'{}'", value.replace('\'', r"'\''"))
    }
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

    #[test]
    fn shell_quoting() {
        assert_eq!(shell_quote("production"), "production");
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's $HOME"), r"'it'\''s $HOME'");
    }
}
