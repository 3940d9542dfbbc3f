//! One builder for the `git` and `cargo` processes the tool spawns.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use anyhow::{Context as _, bail};

/// A command to spawn, never through a shell; its `Display` shows it the way
/// a user would type it, so failures say exactly what ran.
#[derive(Debug, Clone)]
pub(crate) struct ProcessBuilder {
    program: OsString,
    args: Vec<OsString>,
    cwd: Option<PathBuf>,
    envs: Vec<(OsString, OsString)>,
    removed: Vec<OsString>,
}

impl ProcessBuilder {
    pub(crate) fn new(program: impl AsRef<OsStr>) -> Self {
        Self {
            program: program.as_ref().to_owned(),
            args: Vec::new(),
            cwd: None,
            envs: Vec::new(),
            removed: Vec::new(),
        }
    }

    /// `git`, as found on `PATH`.
    pub(crate) fn git(cwd: &Path) -> Self {
        Self::new("git").cwd(cwd)
    }

    /// The `cargo` that started us (`$CARGO`), else the one on `PATH`, in
    /// the environment a user's own `cargo` would see: without what `cargo
    /// run` (the repository's alias, an xtask) or a build script sets for the
    /// program it starts, which would make build scripts rerun and their
    /// crates rebuild whenever a build alternates with a plain one.
    pub(crate) fn cargo() -> Self {
        let mut cargo = Self::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
        cargo.removed = std::env::vars_os()
            .map(|(name, _)| name)
            .filter(|name| name.to_str().is_some_and(set_by_cargo_for_a_program))
            .collect();
        cargo
    }

    pub(crate) fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    pub(crate) fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    pub(crate) fn cwd(mut self, cwd: &Path) -> Self {
        self.cwd = Some(cwd.to_owned());
        self
    }

    /// Sets `key` in the process's environment.
    pub(crate) fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.envs
            .push((key.as_ref().to_owned(), value.as_ref().to_owned()));
        self
    }

    pub(crate) fn command(&self) -> Command {
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.args);
        for name in &self.removed {
            cmd.env_remove(name);
        }
        cmd.envs(self.envs.iter().map(|(k, v)| (k, v)));
        if let Some(cwd) = &self.cwd {
            cmd.current_dir(cwd);
        }
        cmd
    }

    /// Runs to completion capturing its output; a non-zero exit is an error
    /// that carries the command, its exit status and its stderr.
    pub(crate) fn output(&self) -> anyhow::Result<Output> {
        let output = self.output_unchecked()?;
        if !output.status.success() {
            bail!(self.failure(&output));
        }
        Ok(output)
    }

    /// Runs to completion capturing its output, whatever its exit status.
    pub(crate) fn output_unchecked(&self) -> anyhow::Result<Output> {
        self.command()
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("could not execute process `{self}`"))
    }

    /// The stdout of a successful run, trimmed, as UTF-8.
    pub(crate) fn read(&self) -> anyhow::Result<String> {
        let output = self.output()?;
        let text = String::from_utf8(output.stdout)
            .with_context(|| format!("`{self}` printed output that is not UTF-8"))?;
        Ok(text.trim_end().to_owned())
    }

    pub(crate) fn failure(&self, output: &Output) -> String {
        let mut msg = format!(
            "process didn't exit successfully: `{self}` ({})",
            output.status
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        let stderr = stderr.trim_end();
        if !stderr.is_empty() {
            msg.push_str("\n--- stderr\n");
            msg.push_str(stderr);
        }
        msg
    }
}

/// Whether cargo sets `name` for a program it runs or a build script it
/// starts (its "environment variables Cargo sets for crates"), rather than a
/// user setting it to configure cargo.
fn set_by_cargo_for_a_program(name: &str) -> bool {
    const NAMES: [&str; 12] = [
        "CARGO_MANIFEST_DIR",
        "CARGO_MANIFEST_PATH",
        "CARGO_MANIFEST_LINKS",
        "CARGO_CRATE_NAME",
        "CARGO_BIN_NAME",
        "CARGO_PRIMARY_PACKAGE",
        "CARGO_TARGET_TMPDIR",
        "CARGO_RUSTC_CURRENT_DIR",
        "CARGO_MAKEFLAGS",
        "OUT_DIR",
        "NUM_JOBS",
        "RUSTC_LINKER",
    ];
    const PREFIXES: [&str; 5] = [
        "CARGO_PKG_",
        "CARGO_CFG_",
        "CARGO_FEATURE_",
        "CARGO_BIN_EXE_",
        "__CARGO_",
    ];
    NAMES.contains(&name) || PREFIXES.iter().any(|p| name.starts_with(p))
}

impl fmt::Display for ProcessBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let program = Path::new(&self.program)
            .file_name()
            .unwrap_or(&self.program)
            .to_string_lossy();
        f.write_str(&program)?;
        for arg in &self.args {
            let arg = arg.to_string_lossy();
            if arg.contains(' ') || arg.is_empty() {
                write!(f, " '{arg}'")?;
            } else {
                write!(f, " {arg}")?;
            }
        }
        Ok(())
    }
}
