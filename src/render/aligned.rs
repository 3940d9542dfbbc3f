//! A plain table of aligned columns under a header and a rule, never cut.

use unicode_width::UnicodeWidthStr as _;

/// `headers` over `rows`, each column as wide as its widest cell (in
/// terminal columns).
pub fn table<const N: usize>(headers: &[&str; N], rows: &[[String; N]]) -> String {
    let mut widths = headers.map(|h| h.width());
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.width());
        }
    }
    let mut out = String::new();
    let mut line = |cells: [&str; N]| {
        let mut text = String::new();
        for (cell, w) in cells.iter().zip(widths) {
            text.push_str(cell);
            text.push_str(&" ".repeat(w - cell.width() + 2));
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(*headers);
    let rules = widths.map(|w| "-".repeat(w));
    line(std::array::from_fn(|i| rules[i].as_str()));
    for row in rows {
        line(std::array::from_fn(|i| row[i].as_str()));
    }
    out
}
