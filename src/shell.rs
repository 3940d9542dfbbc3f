//! All user-facing output: stdout for results, stderr for status and errors, with color when wanted.

use std::io::{IsTerminal as _, Write as _};

/// When to use color, as `--color` and `CARGO_TERM_COLOR` say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    /// Color when stderr is a terminal and `NO_COLOR` is not set.
    Auto,
    /// Always color
    Always,
    /// Never color
    Never,
}

impl ColorChoice {
    /// The spelling cargo takes.
    pub fn as_str(self) -> &'static str {
        match self {
            ColorChoice::Auto => "auto",
            ColorChoice::Always => "always",
            ColorChoice::Never => "never",
        }
    }
}

/// Where output goes, and how it looks.
#[derive(Debug, Clone)]
pub struct Shell {
    color: bool,
    quiet: bool,
}

impl Shell {
    /// `--color` wins over `CARGO_TERM_COLOR`; `auto` honours `NO_COLOR`.
    pub fn new(color: Option<ColorChoice>, quiet: bool) -> Self {
        let choice = color.unwrap_or_else(|| match std::env::var("CARGO_TERM_COLOR").as_deref() {
            Ok("always") => ColorChoice::Always,
            Ok("never") => ColorChoice::Never,
            _ => ColorChoice::Auto,
        });
        let color = match choice {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                    && std::io::stderr().is_terminal()
            }
        };
        Self { color, quiet }
    }

    /// The width to fit tables to: the terminal's, or `None` when stdout is
    /// piped (then nothing is cut).
    pub fn width(&self) -> Option<usize> {
        // Lets tests see what a terminal of a given width shows.
        if let Some(w) = std::env::var("CARGO_RELEASE_LOG_TERM_WIDTH")
            .ok()
            .and_then(|w| w.parse().ok())
        {
            return Some(w);
        }
        if !std::io::stdout().is_terminal() {
            return None;
        }
        terminal_size::terminal_size().map(|(w, _)| usize::from(w.0))
    }

    /// A command's result: always shown.
    pub fn out(&self, text: &str) {
        let mut stdout = std::io::stdout().lock();
        let _ = stdout.write_all(text.as_bytes());
        let _ = stdout.flush();
    }

    /// A write command's report; `-q` silences it.
    pub fn status(&self, text: &str) {
        if !self.quiet {
            self.out(text);
        }
    }

    /// A note on stderr, e.g. that we wait for a lock; `-q` silences it.
    pub fn note(&self, text: &str) {
        if !self.quiet {
            let _ = writeln!(std::io::stderr().lock(), "{text}");
        }
    }

    /// `warning: …` on stderr.
    pub fn warn(&self, text: &str) {
        let label = self.paint("33", "warning");
        let _ = writeln!(std::io::stderr().lock(), "{label}: {text}");
    }

    /// `error: …` and its causes, as cargo prints them.
    pub fn error(&self, err: &(dyn std::error::Error + 'static)) {
        let mut stderr = std::io::stderr().lock();
        let label = self.paint("31", "error");
        let _ = writeln!(stderr, "{label}: {err}");
        let mut causes = std::iter::successors(err.source(), |e| e.source()).peekable();
        if causes.peek().is_some() {
            let _ = writeln!(stderr, "\nCaused by:");
            for cause in causes {
                for (i, line) in cause.to_string().lines().enumerate() {
                    let indent = if i == 0 { "  " } else { "    " };
                    let _ = writeln!(stderr, "{indent}{line}");
                }
            }
        }
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[1;{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }
}
