//! Cargo's own files in a workspace (the manifests, `Cargo.lock`,
//! `.cargo/config.toml`): read by the tool, and handed to `cargo metadata`,
//! only as regular files of a bounded size.
//!
//! A cloned repository can commit a FIFO, a link to a device or a file of
//! gigabytes at any of them. The tool reads none of those, nor lets cargo
//! read them (cargo would wait on a FIFO for ever, and read a device or a
//! huge file into memory); a link inside the workspace is followed, one
//! leading out of it is refused. An error about such a file names it and
//! never shows more of it than a short, escaped excerpt.

use std::io::Read as _;
use std::path::{Component, Path, PathBuf};

use anyhow::{Context as _, bail};

use crate::files;
use crate::text::printable;

/// The largest `Cargo.toml` read or handed to cargo: a hand-written
/// manifest is a few kilobytes, a generated one rarely a few hundred.
pub(crate) const MAX_CARGO_TOML: u64 = 4 << 20;

/// The largest `Cargo.lock` read or handed to cargo: a workspace with
/// thousands of packages locks them in a few megabytes.
pub(crate) const MAX_CARGO_LOCK: u64 = 10 << 20;

/// The largest `.cargo/config.toml` (or `.cargo/config`), as `[env]` is
/// read from it, and the largest `rust-toolchain` file.
pub(crate) const MAX_CARGO_CONFIG: u64 = files::MAX_FILE;

/// The most characters of a file an error shows, escaped.
const MAX_EXCERPT: usize = 80;

/// The most folder entries listed to expand a workspace's member globs,
/// whose manifests are checked before cargo reads them.
const MAX_MEMBERS: usize = 10_000;

/// The text of cargo's file `path`, refused unless it is a regular UTF-8
/// file of at most `limit` bytes, reached (when it lies inside the
/// workspace `root`) without a link leading out of it. `Ok(None)` when it
/// is missing.
pub(crate) fn read_text(
    path: &Path,
    limit: u64,
    root: Option<&Path>,
) -> anyhow::Result<Option<String>> {
    if let Some(root) = root {
        refuse_link_out(path, &Tree::of(root)?)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        // Opening a FIFO must not wait for a writer.
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = match options.open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("failed to open `{}`", shown(path))),
    };
    let meta = file
        .metadata()
        .with_context(|| format!("failed to read the metadata of `{}`", shown(path)))?;
    refuse_kind(path, &meta, limit)?;
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0) + 1);
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("failed to read `{}`", shown(path)))?;
    if bytes.len() as u64 > limit {
        bail!("{}", too_large(path, limit));
    }
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|_| anyhow::anyhow!("`{}` is not UTF-8 text", shown(path)))
}

/// Parses cargo's file `path` (already read as `text`) into `T`; an error
/// names the line and column and shows a short excerpt of the line.
pub(crate) fn parse<T: serde::de::DeserializeOwned>(path: &Path, text: &str) -> anyhow::Result<T> {
    toml::from_str(text).map_err(|e| parse_error(path, text, e.message(), e.span()))
}

/// The error for TOML `text` from `path` that does not parse: `message`
/// at byte `span`, with the line's text around it, escaped and cut short.
pub(crate) fn parse_error(
    path: &Path,
    text: &str,
    message: &str,
    span: Option<std::ops::Range<usize>>,
) -> anyhow::Error {
    let at = span
        .and_then(|span| {
            text.get(..span.start)
                .map(|before| (before, &text[span.start..]))
        })
        .map(|(before, after)| {
            let line_start = before.rfind('\n').map_or(0, |i| i + 1);
            let line = before.matches('\n').count() + 1;
            let column = before[line_start..].chars().count() + 1;
            // Up to a quarter of the excerpt before the spot, the rest after it.
            let mut from = Vec::new();
            let mut room = MAX_EXCERPT / 4;
            for c in before[line_start..].chars().rev() {
                let len = excerpt(c.encode_utf8(&mut [0; 4]), 10).chars().count();
                if len > room {
                    from.push('…');
                    break;
                }
                room -= len;
                from.push(c);
            }
            let from: String = from.into_iter().rev().collect();
            let rest = after.split('\n').next().unwrap_or_default();
            let rest = rest.strip_suffix('\r').unwrap_or(rest);
            let near = format!(
                "{}{}",
                excerpt(&from, MAX_EXCERPT),
                excerpt(rest, MAX_EXCERPT / 4 * 3)
            );
            format!(" at line {line}, column {column}, near `{near}`")
        })
        .unwrap_or_default();
    anyhow::anyhow!(
        "failed to parse `{}`{at}: {}",
        shown(path),
        excerpt(message.trim(), 2 * MAX_EXCERPT)
    )
}

/// `text` escaped as [`printable`] writes it, on one line, cut to at most
/// `max` characters (the cut marked with `…`).
pub(crate) fn excerpt(text: &str, max: usize) -> String {
    // Escaping only lengthens: the cut falls within the first `max + 1` characters.
    let window: String = text.chars().take(max + 1).collect();
    // As `printable` does: once anything is escaped, so is `\`.
    let escaping = matches!(printable(&window), std::borrow::Cow::Owned(_));
    let mut out = String::new();
    let mut count = 0;
    for c in window.chars() {
        let mut buf = [0; 4];
        let piece = match printable(c.encode_utf8(&mut buf)) {
            _ if escaping && c == '\\' => "\\\\".into(),
            piece => piece,
        };
        let len = piece.chars().count();
        if count + len > max {
            out.push('…');
            return out;
        }
        out.push_str(&piece);
        count += len;
    }
    out
}

/// Refuses cargo's file `path` unless it is a regular file of at most
/// `limit` bytes, reached without a link leading out of `tree`, without
/// opening it. A missing file is left to cargo to report.
fn check(path: &Path, limit: u64, tree: &Tree) -> anyhow::Result<()> {
    refuse_link_out(path, tree)?;
    match std::fs::metadata(path) {
        Ok(meta) => refuse_kind(path, &meta, limit),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("failed to look at `{}`", shown(path))),
    }
}

/// Refuses any of the manifests and lock file `paths` of the workspace at
/// `root` that is not a regular file within its limit.
pub(crate) fn check_all(root: &Path, paths: &[PathBuf]) -> anyhow::Result<()> {
    let tree = Tree::of(root)?;
    for path in paths {
        let limit = if path.ends_with("Cargo.lock") {
            MAX_CARGO_LOCK
        } else {
            MAX_CARGO_TOML
        };
        check(path, limit, &tree)?;
    }
    Ok(())
}

fn refuse_kind(path: &Path, meta: &std::fs::Metadata, limit: u64) -> anyhow::Result<()> {
    if !meta.is_file() {
        bail!(
            "`{}` is not a regular file (a folder, FIFO or device); cargo release-log reads \
             cargo's files, and lets cargo read them, only as regular files: replace it with one",
            shown(path)
        );
    }
    if meta.len() > limit {
        bail!("{}", too_large(path, limit));
    }
    Ok(())
}

fn too_large(path: &Path, limit: u64) -> String {
    format!(
        "`{}` is larger than {} MiB, more than such a file ever holds; it is not read, nor \
         handed to cargo",
        shown(path),
        limit >> 20
    )
}

/// A workspace root, as written and as the file system resolves it.
struct Tree {
    root: PathBuf,
    real: PathBuf,
}

impl Tree {
    fn of(root: &Path) -> anyhow::Result<Self> {
        let root = if root.as_os_str().is_empty() {
            Path::new(".")
        } else {
            root
        };
        let real = std::fs::canonicalize(root)
            .with_context(|| format!("failed to look at `{}`", shown(root)))?;
        Ok(Self {
            root: lexical(root),
            real,
        })
    }
}

/// Refuses a `path` inside the workspace (as written) that a link leads
/// out of it. One outside it as written (a path add-on) is left alone.
fn refuse_link_out(path: &Path, tree: &Tree) -> anyhow::Result<()> {
    if !lexical(path).starts_with(&tree.root) {
        return Ok(());
    }
    match std::fs::canonicalize(path) {
        Ok(real) if real.starts_with(&tree.real) => Ok(()),
        Ok(real) => bail!(
            "`{}` leads out of the workspace, to `{}`, through a symbolic link; cargo \
             release-log does not read cargo's files there, nor let cargo read them: replace \
             it with a regular file",
            shown(path),
            shown(&real)
        ),
        // Missing, or a dangling link: cargo says so.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("failed to look at `{}`", shown(path))),
    }
}

/// `path` with `.` and `..` resolved as written, without the file system.
fn lexical(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

fn shown(path: &Path) -> String {
    printable(&path.display().to_string()).into_owned()
}

/// What the root manifest says about the files `cargo metadata --no-deps`
/// reads besides it: the members (as globs) and path dependencies.
#[derive(Debug, Default, Clone)]
pub(crate) struct CargoReads {
    members: Vec<String>,
    exclude: Vec<String>,
    paths: Vec<String>,
}

impl CargoReads {
    pub(crate) fn of(manifest: &toml::Table) -> Self {
        let strings = |value: Option<&toml::Value>| -> Vec<String> {
            value
                .and_then(toml::Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(toml::Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default()
        };
        let ws = manifest.get("workspace");
        let mut tables: Vec<&toml::Value> = Vec::new();
        for section in ["dependencies", "build-dependencies", "dev-dependencies"] {
            tables.extend(manifest.get(section));
            tables.extend(ws.and_then(|w| w.get(section)));
            if let Some(targets) = manifest.get("target").and_then(toml::Value::as_table) {
                tables.extend(targets.values().filter_map(|t| t.get(section)));
            }
        }
        let paths = tables
            .iter()
            .filter_map(|t| t.as_table())
            .flat_map(|t| t.values())
            .filter_map(|dep| dep.get("path")?.as_str().map(str::to_owned))
            .collect();
        Self {
            members: strings(ws.and_then(|w| w.get("members"))),
            exclude: strings(ws.and_then(|w| w.get("exclude"))),
            paths,
        }
    }

    /// Refuses the workspace at `root` (root manifest `manifest`) unless
    /// every file `cargo metadata --no-deps` reads there, as far as the
    /// root manifest tells, is a regular file within its limit: the
    /// manifests, `Cargo.lock`, `.cargo/config.toml` and the toolchain file.
    pub(crate) fn check(&self, root: &Path, manifest: &Path) -> anyhow::Result<()> {
        let tree = Tree::of(root)?;
        check(manifest, MAX_CARGO_TOML, &tree)?;
        check(&root.join("Cargo.lock"), MAX_CARGO_LOCK, &tree)?;
        for name in [
            ".cargo/config",
            ".cargo/config.toml",
            "rust-toolchain",
            "rust-toolchain.toml",
        ] {
            check(&root.join(name), MAX_CARGO_CONFIG, &tree)?;
        }
        for path in &self.paths {
            check(&root.join(path).join("Cargo.toml"), MAX_CARGO_TOML, &tree)?;
        }
        let mut budget = MAX_MEMBERS;
        for member in &self.members {
            let globbed = member.contains(['*', '?', '[']);
            for dir in expand(root, member, &mut budget) {
                let excluded = self
                    .exclude
                    .iter()
                    .any(|e| lexical(&dir).starts_with(lexical(&root.join(e))));
                if !(globbed && excluded) {
                    check(&dir.join("Cargo.toml"), MAX_CARGO_TOML, &tree)?;
                }
            }
        }
        Ok(())
    }
}

/// The folders the member glob `pattern` names under `root`, as cargo's
/// `*` and `?` match; a pattern with a character class or `**` is left to
/// cargo. Lists at most `budget` entries in all.
fn expand(root: &Path, pattern: &str, budget: &mut usize) -> Vec<PathBuf> {
    if pattern.contains('[') || pattern.contains("**") {
        return Vec::new();
    }
    let mut found = vec![root.to_owned()];
    for part in Path::new(pattern).components() {
        let part = part.as_os_str().to_string_lossy();
        if !part.contains(['*', '?']) {
            found.iter_mut().for_each(|dir| dir.push(&*part));
            continue;
        }
        let mut next = Vec::new();
        for dir in &found {
            let Ok(entries) = std::fs::read_dir(dir) else {
                continue;
            };
            for entry in entries.flatten() {
                if *budget == 0 {
                    return next;
                }
                *budget -= 1;
                let name = entry.file_name();
                if wildcard(&part, &name.to_string_lossy()) {
                    next.push(dir.join(name));
                }
            }
        }
        found = next;
    }
    found
}

/// Whether `name` matches `pattern`, where `*` is any run of characters
/// and `?` any one.
fn wildcard(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ni));
            pi += 1;
        } else if let Some((sp, sn)) = star {
            pi = sp + 1;
            ni = sn + 1;
            star = Some((sp, sn + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests;
