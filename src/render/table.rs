//! The releases table, fitted to the terminal by shortening Change.

use std::fmt::Write as _;

use jiff::ZonedDateTime as Zoned;

use super::{change_text, time};
use cargo_release_log::ReleaseInfo;
use cargo_release_log::text::printable;

const HEADERS: [&str; 4] = ["Rel", "Change", "By", "When"];
const CHANGE: usize = 1;
/// Change is never shortened below this many characters.
const MIN_CHANGE: usize = 10;

/// The table; with `width`, the Change column is shortened with `…` so each
/// line fits (piped output passes `None` and is never cut).
pub fn releases(releases: &[ReleaseInfo], now: &Zoned, width: Option<usize>) -> String {
    let rows: Vec<[String; 4]> = releases
        .iter()
        .map(|info| {
            let r = &info.release;
            [
                format!("v{}", r.version),
                change_text(r),
                printable(&r.by).into_owned(),
                time::when(&r.when, now),
            ]
        })
        .collect();
    let mut widths = HEADERS.map(|h| h.chars().count());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    // Rel and By get one space of air, as in Heroku's table.
    widths[0] = widths[0].max(4);
    if let Some(width) = width {
        let others: usize = widths
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != CHANGE)
            .map(|(_, w)| w + 2)
            .sum();
        let room = width.saturating_sub(others).max(MIN_CHANGE);
        widths[CHANGE] = widths[CHANGE].min(room);
    }
    let mut out = String::new();
    push_row(&mut out, &HEADERS.map(str::to_owned), &widths);
    push_row(&mut out, &widths.map(|w| "-".repeat(w)), &widths);
    for row in &rows {
        push_row(&mut out, row, &widths);
    }
    out
}

fn push_row(out: &mut String, cells: &[String; 4], widths: &[usize; 4]) {
    let mut line = String::new();
    for (i, (cell, &w)) in cells.iter().zip(widths).enumerate() {
        let cell = shorten(cell, w);
        if i + 1 == cells.len() {
            line.push_str(&cell);
        } else {
            let _ = write!(line, "{cell:<w$}  ");
        }
    }
    out.push_str(line.trim_end());
    out.push('\n');
}

fn shorten(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(width.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shortens_only_change() {
        assert_eq!(shorten("Config add AWS_S3_KEY", 10), "Config ad…");
        assert_eq!(shorten("Deploy", 10), "Deploy");
    }
}
