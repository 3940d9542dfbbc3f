//! Text from release files and config as a terminal or a shell should see it.
//!
//! Release files, `[env]` and git settings come from a repository, which is
//! untrusted input: what they hold is escaped before it reaches a terminal,
//! and quoted before it reaches a shell.

use std::borrow::Cow;

/// `text` on one line, with control characters (newlines, terminal escape
/// sequences) and bidirectional overrides (which reorder what a terminal
/// shows) written as Rust escapes: `\n`, `\u{1b}`, `\u{202e}`.
///
/// ```
/// use cargo_release_log::text::printable;
///
/// assert_eq!(printable("jim@example.com"), "jim@example.com");
/// assert_eq!(printable("a\u{1b}[2Jb"), "a\\u{1b}[2Jb");
/// assert_eq!(printable("evil\u{202e}txt.exe"), "evil\\u{202e}txt.exe");
/// ```
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return text.into();
    }
    // Once anything is escaped, so is `\`, so the text reads back unambiguously.
    text.chars()
        .map(|c| {
            if needs_escape(c) || c == '\\' {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect::<String>()
        .into()
}

fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `value` as one word for a POSIX shell: as it is when it is plainly safe,
/// else in single quotes.
///
/// ```
/// use cargo_release_log::text::shell_quote;
///
/// assert_eq!(shell_quote("production"), "production");
/// assert_eq!(shell_quote("it's $HOME"), r"'it'\''s $HOME'");
/// assert_eq!(shell_quote(""), "''");
/// ```
pub fn shell_quote(value: &str) -> Cow<'_, str> {
    let plain = !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:,@%+=".contains(&b));
    if plain {
        value.into()
    } else {
        format!("'{}'", value.replace('\'', r"'\''")).into()
    }
}

/// `v1, v2, v3`, or `v1 to v40` for a run without gaps.
pub fn version_list(versions: &[u64]) -> String {
    match versions {
        [] => "none".to_owned(),
        [first, .., last] if last - first + 1 == versions.len() as u64 && versions.len() > 3 => {
            format!("v{first} to v{last}")
        }
        _ => versions
            .iter()
            .map(|v| format!("v{v}"))
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// `` `a`, `b` `` followed by `one` or `many`, e.g. "`A`, `B` are".
pub(crate) fn quote_list(names: &[&str], one: &str, many: &str) -> String {
    let quoted: Vec<String> = names
        .iter()
        .map(|n| format!("`{}`", printable(n)))
        .collect();
    let verb = if names.len() == 1 { one } else { many };
    format!("{} {verb}", quoted.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_lists() {
        assert_eq!(version_list(&[4, 5]), "v4, v5");
        assert_eq!(version_list(&[1, 2, 3, 4, 5]), "v1 to v5");
        assert_eq!(version_list(&[1, 3, 4, 5]), "v1, v3, v4, v5");
    }
}
