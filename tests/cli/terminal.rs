//! What a terminal shows: the releases table fitted by display width, and colour.

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

/// v1 is current; v2's build failed.
fn failed_after_current() -> Project {
    let p = Project::new();
    p.ok(&["deploy", "--no-build"]);
    break_the_build(&p, "break the build");
    assert_eq!(p.run(&["deploy"]).code, 1);
    p
}

/// v1 in bold green.
const CURRENT: &str = "\u{1b}[1m\u{1b}[32mv1\u{1b}[0m";
/// v2's Change in red.
const FAILED: &str = "\u{1b}[31mDeploy ";

/// Arguments, and environment variables to set.
type Invocation<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)]);

fn stdout(p: &Project, args: &[&str], env: &[(&str, &str)]) -> String {
    let output = p.command(args).envs(env.iter().copied()).output().unwrap();
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap()
}

fn strip_styles(text: &str) -> String {
    regex::Regex::new("\u{1b}\\[[0-9;]*m")
        .unwrap()
        .replace_all(text, "")
        .into_owned()
}

#[test]
fn colour_marks_the_current_and_failed_releases() {
    let p = failed_after_current();
    let plain = stdout(&p, &["releases"], &[]);
    assert!(plain.contains("v2    Deploy ") && plain.contains(" (failed)"));
    assert!(!plain.contains('\u{1b}'), "{plain:?}");
    let always: [Invocation; 3] = [
        (&["--color", "always", "releases"], &[]),
        (&["--color", "always", "releases"], &[("NO_COLOR", "1")]),
        (&["releases"], &[("CLICOLOR_FORCE", "1")]),
    ];
    for (args, env) in always {
        let colored = stdout(&p, args, env);
        assert!(colored.contains(CURRENT), "{args:?} {env:?}: {colored:?}");
        assert!(colored.contains(FAILED), "{args:?} {env:?}: {colored:?}");
        // Colour only: the text is the same.
        assert_eq!(strip_styles(&colored), plain);
    }
    let never: [Invocation; 4] = [
        (&["--color", "never", "releases"], &[]),
        (
            &["--color", "never", "releases"],
            &[("CLICOLOR_FORCE", "1")],
        ),
        (
            &["releases"],
            &[("CARGO_TERM_COLOR", "never"), ("CLICOLOR_FORCE", "1")],
        ),
        (&["releases"], &[("NO_COLOR", "1"), ("CLICOLOR_FORCE", "1")]),
    ];
    for (args, env) in never {
        assert_eq!(stdout(&p, args, env), plain, "{args:?} {env:?}");
    }
}

/// Runs `line` in `sh` on a terminal (through util-linux's `script`) and
/// returns what the terminal showed.
#[cfg(target_os = "linux")]
fn on_terminal(p: &Project, line: &str, env: &[(&str, &str)]) -> String {
    let bin = env!("CARGO_BIN_EXE_cargo-release-log");
    let line = line.replace("cargo release-log", &format!("'{bin}' release-log"));
    let output = p
        .program("script")
        .args(["-qec", &line, "/dev/null"])
        .env("TERM", "xterm-256color")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    String::from_utf8(output.stdout).unwrap()
}

#[test]
#[cfg(target_os = "linux")]
fn auto_colours_each_stream_that_is_a_terminal() {
    let p = failed_after_current();
    let terminal = on_terminal(&p, "cargo release-log releases", &[]);
    assert!(
        terminal.contains(CURRENT) && terminal.contains(FAILED),
        "{terminal:?}"
    );
    for env in [("NO_COLOR", "1"), ("CLICOLOR", "0")] {
        let shown = on_terminal(&p, "cargo release-log releases", &[env]);
        assert!(
            shown.contains("v1") && !shown.contains('\u{1b}'),
            "{env:?}: {shown:?}"
        );
    }
    // Piped stdout is not coloured because stderr is a terminal, ...
    let piped = on_terminal(&p, "cargo release-log releases | cat", &[]);
    assert!(
        piped.contains("v1") && !piped.contains('\u{1b}'),
        "{piped:?}"
    );
    // ... and stderr is coloured on a terminal whatever stdout is.
    let error = on_terminal(&p, "cargo release-log info v9 > /dev/null", &[]);
    assert!(
        error.starts_with("\u{1b}[1m\u{1b}[31merror\u{1b}[0m: "),
        "{error:?}"
    );
    let error = on_terminal(&p, "cargo release-log info v9 2>&1 | cat", &[]);
    assert!(error.starts_with("error: "), "{error:?}");
}

#[test]
fn warnings_are_labelled_in_bold_yellow() {
    let p = Project::new();
    p.ok(&["deploy", "--no-build"]);
    p.write(".cargo/config.toml", "[env]\nEDITED = \"by hand\"\n");
    let output = p
        .command(&["--color", "always", "config"])
        .output()
        .unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.starts_with("\u{1b}[1m\u{1b}[33mwarning\u{1b}[0m: "),
        "{stderr:?}"
    );
    let output = p.command(&["config"]).output().unwrap();
    assert!(
        String::from_utf8(output.stderr)
            .unwrap()
            .starts_with("warning: ")
    );
}
