//! What a terminal shows: the releases table fitted by display width.

use unicode_width::UnicodeWidthStr as _;

use crate::snap;
use crate::support::*;

/// 48 characters: wider than any By column a narrow terminal can give.
const LONG_EMAIL: &str = "stephanie.longer-surname@engineering.example.com";

/// A deploy with a Chinese message (each character two columns wide) by
/// someone with a long email, then a config change by someone else.
fn wide_cells() -> Project {
    let p = Project::new();
    p.git(&["config", "user.email", LONG_EMAIL]);
    p.ok(&["deploy", "--no-build", "-m", "修复登录问题"]);
    p.git(&["config", "user.email", "jim@example.com"]);
    p.advance(60);
    p.ok(&["config", "set", "MYVAR=1"]);
    p.advance(60);
    p
}

/// Every line fits in `width` columns, and the cells of each column start
/// where its header does, counted in columns rather than characters.
fn assert_fits_and_aligns(run: &Run, width: usize) {
    let lines: Vec<&str> = run.stdout.lines().collect();
    for line in &lines {
        assert!(line.width() <= width, "over {width} columns:\n{run}");
    }
    let column = |line: &str, text: &str| line.find(text).map(|at| line[..at].width());
    let by = column(lines[0], "By").unwrap();
    let when = column(lines[0], "When").unwrap();
    for line in &lines[2..] {
        let author = ["stephanie", "jim@"].iter().find_map(|a| column(line, a));
        assert_eq!(author, Some(by), "By is not aligned:\n{run}");
        let time = column(line, "minute");
        assert_eq!(
            time.map(|t| t - 2),
            Some(when),
            "When is not aligned:\n{run}"
        );
    }
}

#[test]
fn table_fits_the_terminal_by_display_width() {
    let p = wide_cells();
    let sha = p.git(&["rev-parse", "--short=7", "HEAD"]);

    p.terminal_width(Some(120));
    let wide = p.run(&["releases"]);
    snap!(wide);
    assert_fits_and_aligns(&wide, 120);
    assert!(wide.stdout.contains(&format!("Deploy {sha}: 修复登录问题")));
    assert!(wide.stdout.contains(LONG_EMAIL));

    // Change keeps its sha and By gives way, rather than the other way round.
    p.terminal_width(Some(60));
    let narrow = p.run(&["releases"]);
    snap!(narrow);
    assert_fits_and_aligns(&narrow, 60);
    assert!(
        narrow.stdout.contains(&format!("Deploy {sha}…")),
        "{narrow}"
    );
    assert!(!narrow.stdout.contains(LONG_EMAIL), "{narrow}");
    assert!(narrow.stdout.contains("stephanie.longer-surn…"), "{narrow}");

    p.terminal_width(None);
    let piped = p.run(&["releases"]);
    snap!(piped);
    assert_eq!(piped.stdout, wide.stdout);
}
