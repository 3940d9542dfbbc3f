//! Atomic file writes: a temporary file beside the target, fsync, rename, fsync of the folder.

use std::io::Write as _;
use std::path::Path;

use anyhow::Context as _;
use fs_err as fs;

/// Replaces `path` with `contents` so that a crash leaves either the old file
/// or the new one, never a mix. Writes nothing when the file already holds
/// exactly `contents`.
pub(crate) fn write(path: &Path, contents: &[u8]) -> anyhow::Result<bool> {
    if fs::read(path).is_ok_and(|old| old == contents) {
        return Ok(false);
    }
    // Replace what a symlink points at, not the link itself.
    let resolved;
    let path = if path.is_symlink() {
        resolved = fs::canonicalize(path)?;
        resolved.as_path()
    } else {
        path
    };
    let dir = parent(path);
    let mut builder = tempfile::Builder::new();
    builder.prefix(".tmp-");
    // A new file gets the usual mode (0666 less the umask), not the 0600 of
    // a temporary file; a replaced file keeps its own below.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let mut tmp = builder
        .tempfile_in(dir)
        .with_context(|| format!("failed to create a temporary file in `{}`", dir.display()))?;
    // Keep the permissions of a file being replaced (a script, a read-only config).
    if let Ok(meta) = fs::metadata(path) {
        fs::set_permissions(tmp.path(), meta.permissions())?;
    }
    tmp.write_all(contents)
        .and_then(|()| tmp.as_file().sync_all())
        .with_context(|| format!("failed to write `{}`", tmp.path().display()))?;
    tmp.persist(path)
        .map_err(|e| e.error)
        .with_context(|| format!("failed to replace `{}`", path.display()))?;
    sync_dir(dir)?;
    Ok(true)
}

/// Removes `path` durably; a missing file is not an error.
pub(crate) fn remove(path: &Path) -> anyhow::Result<()> {
    match fs::remove_file(path) {
        Ok(()) => sync_dir(parent(path)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Makes a rename or removal in `dir` durable.
pub(crate) fn sync_dir(dir: &Path) -> anyhow::Result<()> {
    #[cfg(unix)]
    fs::File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_whole_file_and_leaves_no_temporaries() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v1.toml");
        assert!(write(&path, b"first").unwrap());
        assert!(write(&path, b"second, longer").unwrap());
        assert!(
            !write(&path, b"second, longer").unwrap(),
            "unchanged content is not rewritten"
        );
        assert_eq!(fs::read_to_string(&path).unwrap(), "second, longer");
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["v1.toml"]);
    }

    #[test]
    fn a_failed_replace_keeps_the_old_state_and_no_temporaries() {
        let dir = tempfile::tempdir().unwrap();
        // A folder cannot be replaced by a file: the rename fails.
        let target = dir.path().join("current");
        fs::create_dir(&target).unwrap();
        fs::write(target.join("kept"), "old").unwrap();
        assert!(write(&target, b"new").is_err());
        assert_eq!(fs::read_to_string(target.join("kept")).unwrap(), "old");
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["current"]);
    }
}
