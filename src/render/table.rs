//! The releases table, fitted to the terminal by display width.

use std::borrow::Cow;
use std::fmt::Write as _;

use anstyle::{AnsiColor, Effects, Style};
use jiff::ZonedDateTime as Zoned;
use unicode_width::{UnicodeWidthChar as _, UnicodeWidthStr as _};

use super::{change_text, time};
use cargo_release_log::ReleaseInfo;
use cargo_release_log::text::printable;

const HEADERS: [&str; 4] = ["Rel", "Change", "By", "When"];
const REL: usize = 0;
const CHANGE: usize = 1;
const BY: usize = 2;
/// Spaces between two columns.
const GAP: usize = 2;

/// Who gives way when the table is wider than the terminal, in turn, and
/// down to how many columns. Rel and When are never cut: a cut number or
/// time would mislead rather than shorten.
const SHRINK: [(usize, usize); 3] = [
    // Change keeps room for `Deploy 1a2b3c4` and the `…` that says more
    // follows: the sha is what a reader looks for in a deploy.
    (CHANGE, 15),
    // Then By, whose start still tells people apart,
    (BY, 10),
    // and only then Change again.
    (CHANGE, 10),
];

/// The current release: the one running.
const CURRENT: Style = AnsiColor::Green.on_default().effects(Effects::BOLD);
/// A failed release: recorded, but never run.
const FAILED: Style = AnsiColor::Red.on_default();

/// The table; with `width`, Change and By are shortened with `…` so each
/// line fits (piped output passes `None` and is never cut). The current
/// release and failed ones are marked with styles only, so that without
/// colour the text is the same.
pub fn releases(releases: &[ReleaseInfo], now: &Zoned, width: Option<usize>) -> String {
    let rows: Vec<([String; 4], [Style; 4])> = releases
        .iter()
        .map(|info| {
            let r = &info.release;
            let mut styles = [Style::new(); 4];
            if info.current {
                styles[REL] = CURRENT;
            }
            if !r.succeeded() {
                styles[CHANGE] = FAILED;
            }
            let cells = [
                format!("v{}", r.version),
                change_text(r),
                printable(&r.by).into_owned(),
                time::when(&r.when, now),
            ];
            (cells, styles)
        })
        .collect();
    let mut natural = HEADERS.map(|h| h.width());
    for (cells, _) in &rows {
        for (w, cell) in natural.iter_mut().zip(cells) {
            *w = (*w).max(cell.width());
        }
    }
    // Rel gets one space of air, as in Heroku's table.
    natural[REL] = natural[REL].max(4);
    let widths = fit(natural, width);
    let plain = [Style::new(); 4];
    let mut out = String::new();
    push_row(&mut out, &HEADERS.map(str::to_owned), &plain, &widths);
    push_row(&mut out, &widths.map(|w| "-".repeat(w)), &plain, &widths);
    for (cells, styles) in &rows {
        push_row(&mut out, cells, styles, &widths);
    }
    out
}

/// Column widths for a line of at most `width` columns, from the widths the
/// columns would need (`natural`): the columns of [`SHRINK`] give way in
/// turn. When even that is too wide, the line is as narrow as it may be.
fn fit(natural: [usize; 4], width: Option<usize>) -> [usize; 4] {
    let mut widths = natural;
    let Some(width) = width else {
        return widths;
    };
    for (column, floor) in SHRINK {
        let over = line_width(&widths).saturating_sub(width);
        widths[column] -= over.min(widths[column].saturating_sub(floor));
    }
    widths
}

fn line_width(widths: &[usize; 4]) -> usize {
    widths.iter().sum::<usize>() + GAP * (widths.len() - 1)
}

fn push_row(out: &mut String, cells: &[String; 4], styles: &[Style; 4], widths: &[usize; 4]) {
    let mut line = String::new();
    for (i, ((cell, style), &w)) in cells.iter().zip(styles).zip(widths).enumerate() {
        let cell = shorten(cell, w);
        // Padding stays outside the style, so that a coloured line is the
        // uncoloured one plus escape codes.
        let _ = write!(line, "{style}{cell}{style:#}");
        if i + 1 < cells.len() {
            let pad = w.saturating_sub(cell.width()) + GAP;
            line.extend(std::iter::repeat_n(' ', pad));
        }
    }
    out.push_str(line.trim_end());
    out.push('\n');
}

/// `text` in at most `width` terminal columns, ending with `…` when cut.
/// A wide character that would not fit whole is left out, never split.
fn shorten(text: &str, width: usize) -> Cow<'_, str> {
    if text.width() <= width {
        return text.into();
    }
    if width == 0 {
        return "".into();
    }
    let room = width - 1; // for the `…`
    let mut used = 0;
    let mut end = 0;
    for (i, c) in text.char_indices() {
        used += c.width().unwrap_or(0);
        if used > room {
            break;
        }
        end = i + c.len_utf8();
    }
    // A few sequences (an emoji and its presentation selector) are wider
    // together than their characters: measure what is kept as a whole.
    let mut kept = &text[..end];
    while kept.width() > room {
        let last = kept.chars().next_back().map_or(0, char::len_utf8);
        kept = &kept[..kept.len() - last];
    }
    format!("{kept}…").into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shortens_by_display_width() {
        assert_eq!(shorten("Config add AWS_S3_KEY", 10), "Config ad…");
        assert_eq!(shorten("Deploy", 10), "Deploy");
        assert_eq!(shorten("Deploy", 6), "Deploy");
        // Each of these characters takes two columns.
        assert_eq!("修复登录问题".width(), 12);
        assert_eq!(shorten("修复登录问题", 12), "修复登录问题");
        assert_eq!(shorten("修复登录问题", 11), "修复登录问…");
        // The fourth one would take columns 7 and 8: left out, not split.
        assert_eq!(shorten("修复登录问题", 8), "修复登…");
        assert_eq!(shorten("修复登录问题", 8).width(), 7);
        assert_eq!(shorten("🚀🚀🚀", 4), "🚀…");
        assert_eq!(shorten("abc", 1), "…");
        assert_eq!(shorten("abc", 0), "");
    }

    #[test]
    fn shortened_text_never_overflows() {
        for text in [
            "Deploy 1a2b3c4: 修复登录问题",
            "e\u{301}te\u{301} 🚀 ☺\u{fe0f}☺\u{fe0f} 👩\u{200d}💻 done",
            "ｆｕｌｌｗｉｄｔｈ",
        ] {
            for width in 0..=text.width() + 1 {
                let cut = shorten(text, width);
                assert!(cut.width() <= width, "{text:?} at {width}: {cut:?}");
                // Only as short as it must be: one more column would not
                // have held another character.
                if cut != text && width > 0 {
                    assert!(cut.ends_with('…'));
                    assert!(cut.width() + 2 >= width, "{text:?} at {width}: {cut:?}");
                }
            }
        }
    }

    /// Rel, Change, By, When as `Deploy 1a2b3c4: 修复登录问题` by a long
    /// email needs them: 4 + 28 + 49 + 13 and three gaps, 100 columns.
    const WIDE: [usize; 4] = [4, 28, 49, 13];

    #[test]
    fn fits_the_terminal_by_shrinking_change_then_by() {
        assert_eq!(line_width(&WIDE), 100);
        // Piped, or wide enough: nothing changes.
        assert_eq!(fit(WIDE, None), WIDE);
        assert_eq!(fit(WIDE, Some(100)), WIDE);
        assert_eq!(fit(WIDE, Some(120)), WIDE);
        // A little too narrow: Change alone gives way.
        assert_eq!(fit(WIDE, Some(90)), [4, 18, 49, 13]);
        // Change keeps `Deploy 1a2b3c4…`, then By gives way.
        assert_eq!(fit(WIDE, Some(80)), [4, 15, 42, 13]);
        assert_eq!(fit(WIDE, Some(60)), [4, 15, 22, 13]);
        // By down to 10, then Change down to 10.
        assert_eq!(fit(WIDE, Some(48)), [4, 15, 10, 13]);
        assert_eq!(fit(WIDE, Some(45)), [4, 12, 10, 13]);
        assert_eq!(fit(WIDE, Some(43)), [4, 10, 10, 13]);
        // Narrower still: Rel and When are never cut, so the line overflows.
        assert_eq!(fit(WIDE, Some(30)), [4, 10, 10, 13]);
        for width in 43..=120 {
            assert!(line_width(&fit(WIDE, Some(width))) <= width);
        }
    }

    #[test]
    fn narrow_columns_are_not_widened() {
        // `jim@example.com` and `Config add STEP` are shorter than what
        // they would keep: they stay as they are, and others give way.
        let natural = [4, 15, 15, 25];
        assert_eq!(fit(natural, Some(65)), natural);
        assert_eq!(fit(natural, Some(60)), [4, 15, 10, 25]);
        assert_eq!(fit(natural, Some(50)), [4, 10, 10, 25]);
        let short = [4, 6, 8, 13];
        assert_eq!(fit(short, Some(20)), short);
    }
}
