//! Finding the workspace root the way cargo does, without spawning cargo.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};

use super::cargo_files::{self, MAX_CARGO_TOML};
use crate::text::printable;

/// The manifest a command started in `dir` is about: the nearest `Cargo.toml`
/// in `dir` or above it (cargo's `find_root_manifest_for_wd`). One that is
/// not a regular file is found too, to be refused when it is read.
pub(crate) fn manifest_above(dir: &Path) -> anyhow::Result<PathBuf> {
    for ancestor in dir.ancestors() {
        let manifest = ancestor.join("Cargo.toml");
        if manifest.exists() {
            return Ok(manifest);
        }
    }
    bail!(
        "could not find `Cargo.toml` in `{}` or any parent directory",
        dir.display()
    )
}

/// The root manifest of the workspace `manifest` belongs to, with its
/// parsed text. As cargo decides it: the manifest itself when it has
/// `[workspace]`; the one `package.workspace` points at; else the nearest
/// ancestor with `[workspace]` that does not exclude it; else itself.
pub(crate) fn workspace_manifest(manifest: &Path) -> anyhow::Result<(PathBuf, toml::Table)> {
    let table = read_manifest(manifest)?;
    if table.contains_key("workspace") {
        return Ok((manifest.to_owned(), table));
    }
    let dir = parent(manifest);
    if let Some(pointer) = table
        .get("package")
        .and_then(|p| p.get("workspace"))
        .and_then(toml::Value::as_str)
    {
        let root = dir.join(pointer).join("Cargo.toml");
        let root_table = read_manifest(&root).with_context(|| {
            format!(
                "`package.workspace` in `{}` points at a workspace that cannot be read",
                manifest.display()
            )
        })?;
        return Ok((root, root_table));
    }
    for ancestor in dir.ancestors().skip(1) {
        // Packages being verified by `cargo package` are never members.
        if ancestor.ends_with("target/package") {
            break;
        }
        let candidate = ancestor.join("Cargo.toml");
        if !candidate.exists() {
            continue;
        }
        let candidate_table = read_manifest(&candidate)?;
        if let Some(ws) = candidate_table.get("workspace")
            && !is_excluded(ws, ancestor, manifest)
        {
            return Ok((candidate, candidate_table));
        }
    }
    Ok((manifest.to_owned(), table))
}

/// cargo's rule: excluded when under an `exclude` entry and not under an
/// explicit `members` entry (taken as written, globs unexpanded).
fn is_excluded(ws: &toml::Value, root: &Path, manifest: &Path) -> bool {
    let under = |key: &str| {
        ws.get(key)
            .and_then(toml::Value::as_array)
            .is_some_and(|entries| {
                entries
                    .iter()
                    .filter_map(toml::Value::as_str)
                    .any(|entry| manifest.starts_with(root.join(entry)))
            })
    };
    under("exclude") && !under("members")
}

/// A manifest as cargo would read it, but refused when it is not a regular
/// file of at most [`MAX_CARGO_TOML`] bytes within its own folder.
fn read_manifest(path: &Path) -> anyhow::Result<toml::Table> {
    let text =
        cargo_files::read_text(path, MAX_CARGO_TOML, Some(parent(path)))?.with_context(|| {
            format!(
                "`{}` does not exist",
                printable(&path.display().to_string())
            )
        })?;
    cargo_files::parse(path, &text)
}

fn parent(path: &Path) -> &Path {
    path.parent().unwrap_or(Path::new("."))
}

#[cfg(test)]
mod tests {
    use super::*;
    use fs_err as fs;

    fn write(root: &Path, rel: &str, text: &str) -> PathBuf {
        let path = root.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn roots_as_cargo_finds_them() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let ws = write(
            root,
            "Cargo.toml",
            "[workspace]\nmembers = [\"api\", \"tools/keep\"]\nexclude = [\"tools\", \"scratch\"]\n",
        );
        let api = write(root, "api/Cargo.toml", "[package]\nname = \"api\"\n");
        let scratch = write(root, "scratch/x/Cargo.toml", "[package]\nname = \"x\"\n");
        let kept = write(
            root,
            "tools/keep/Cargo.toml",
            "[package]\nname = \"keep\"\n",
        );
        let pointer = write(
            root,
            "elsewhere/p/Cargo.toml",
            "[package]\nname = \"p\"\nworkspace = \"../..\"\n",
        );
        let root_of = |m: &Path| workspace_manifest(m).unwrap().0;
        assert_eq!(root_of(&ws), ws);
        assert_eq!(root_of(&api), ws);
        // Excluded: a workspace of its own.
        assert_eq!(root_of(&scratch), scratch);
        // Under an exclude entry but an explicit member.
        assert_eq!(root_of(&kept), ws);
        assert_eq!(root_of(&pointer), root.join("elsewhere/p/../../Cargo.toml"));
        // The nearest manifest from a folder inside a package.
        fs::create_dir_all(root.join("api/src/bin")).unwrap();
        assert_eq!(manifest_above(&root.join("api/src/bin")).unwrap(), api);
    }
}
