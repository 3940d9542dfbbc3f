//! All user-facing output: stdout for results, stderr for status and errors, with color when wanted.

use std::io::{IsTerminal as _, Write as _};

use cargo_release_log::text::printable;

use anstream::AutoStream;
use anstyle::{AnsiColor, Effects, Style};

/// When to use color, as `--color` and `CARGO_TERM_COLOR` say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    /// Color what goes to a terminal; honours `NO_COLOR`, `CLICOLOR`, `CLICOLOR_FORCE`
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

    /// What this choice means for `stream`: `always` and `never` hold
    /// whatever the environment says, as in cargo; `auto` asks anstream,
    /// which reads `NO_COLOR`, `CLICOLOR_FORCE`, `CLICOLOR`, `TERM` and
    /// whether this stream is a terminal.
    fn for_stream<S: anstream::stream::RawStream>(self, stream: &S) -> anstream::ColorChoice {
        match self {
            ColorChoice::Always => anstream::ColorChoice::Always,
            ColorChoice::Never => anstream::ColorChoice::Never,
            ColorChoice::Auto => anstream::AutoStream::choice(stream),
        }
    }
}

const ERROR: Style = AnsiColor::Red.on_default().effects(Effects::BOLD);
const WARNING: Style = AnsiColor::Yellow.on_default().effects(Effects::BOLD);
const HELP: Style = AnsiColor::Cyan.on_default().effects(Effects::BOLD);

/// Where output goes, and how it looks.
#[derive(Debug, Clone)]
pub struct Shell {
    /// Decided apart, since one of them may be a terminal and the other a pipe.
    stdout_color: anstream::ColorChoice,
    stderr_color: anstream::ColorChoice,
    quiet: bool,
}

impl Shell {
    /// `--color` wins over `CARGO_TERM_COLOR`, which wins over the rest of
    /// the environment.
    pub fn new(color: Option<ColorChoice>, quiet: bool) -> Self {
        let choice = color.unwrap_or_else(|| match std::env::var("CARGO_TERM_COLOR").as_deref() {
            Ok("always") => ColorChoice::Always,
            Ok("never") => ColorChoice::Never,
            _ => ColorChoice::Auto,
        });
        Self {
            stdout_color: choice.for_stream(&std::io::stdout()),
            stderr_color: choice.for_stream(&std::io::stderr()),
            quiet,
        }
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

    /// A command's result, byte for byte: JSON, values, lines for a shell,
    /// completion scripts. Always shown, never styled nor stripped.
    pub fn out(&self, text: &str) {
        let mut stdout = std::io::stdout().lock();
        let _ = stdout.write_all(text.as_bytes());
        let _ = stdout.flush();
    }

    /// Bytes a program printed, given back as they are: what `releases
    /// output` kept.
    pub fn raw_out(&self, bytes: &[u8]) {
        let mut stdout = std::io::stdout().lock();
        let _ = stdout.write_all(bytes);
        let _ = stdout.flush();
    }

    /// Bytes a program the release runs printed, as it prints them, on
    /// stderr (as cargo's build output goes); `--quiet` does not hide them.
    pub fn raw_err(&self, bytes: &[u8]) {
        let mut stderr = std::io::stderr().lock();
        let _ = stderr.write_all(bytes);
        let _ = stderr.flush();
    }

    /// A command's result for people: the styles in `text` show when stdout
    /// takes color, and are stripped when it does not.
    pub fn print(&self, text: &str) {
        let mut stdout = AutoStream::new(std::io::stdout().lock(), self.stdout_color);
        let _ = stdout.write_all(text.as_bytes());
        let _ = stdout.flush();
    }

    /// A write command's report; `-q` silences it.
    pub fn status(&self, text: &str) {
        if !self.quiet {
            self.print(text);
        }
    }

    /// A note on stderr, e.g. that we wait for a lock; `-q` silences it.
    pub fn note(&self, text: &str) {
        if !self.quiet {
            let _ = writeln!(self.stderr(), "{text}");
        }
    }

    /// `warning: …` on stderr.
    pub fn warn(&self, text: &str) {
        let _ = writeln!(self.stderr(), "{WARNING}warning{WARNING:#}: {text}");
    }

    /// A `help:` line after an error: what to do about it, as cargo says.
    pub fn help(&self, text: &str) {
        let _ = writeln!(self.stderr(), "{HELP}help{HELP:#}: {text}");
    }

    /// Asks `question` on stderr and reads a yes or no from stdin (no by default).
    pub fn confirm(&self, question: &str) -> bool {
        let _ = write!(self.stderr(), "{question}");
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer).is_ok()
            && matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
    }

    /// A one-line `error: …` on stderr.
    pub fn error_line(&self, text: &str) {
        let _ = writeln!(self.stderr(), "{ERROR}error{ERROR:#}: {text}");
    }

    /// `error: …` and its causes, as cargo prints them. Each line is shown
    /// escaped: an error may quote a repository's file, and its control
    /// characters must not reach the terminal.
    pub fn error(&self, err: &(dyn std::error::Error + 'static)) {
        let mut stderr = self.stderr();
        let text = err.to_string();
        let mut lines = text.lines();
        let first = lines.next().unwrap_or_default();
        let _ = writeln!(stderr, "{ERROR}error{ERROR:#}: {}", printable(first));
        for line in lines {
            let _ = writeln!(stderr, "{}", printable(line));
        }
        let mut causes = std::iter::successors(err.source(), |e| e.source()).peekable();
        if causes.peek().is_some() {
            let _ = writeln!(stderr, "\nCaused by:");
            for cause in causes {
                for (i, line) in cause.to_string().lines().enumerate() {
                    let indent = if i == 0 { "  " } else { "    " };
                    let _ = writeln!(stderr, "{indent}{}", printable(line));
                }
            }
        }
    }

    fn stderr(&self) -> AutoStream<std::io::StderrLock<'static>> {
        AutoStream::new(std::io::stderr().lock(), self.stderr_color)
    }
}
