//! Paths under `.releases/`, walked from that folder down without
//! following any link.
//!
//! A cloned repository can commit a symbolic link at any folder of the
//! ledger (`.releases/slugs`, `.releases/slugs/<sha256>`,
//! `.releases/environments/NAME`, `.releases/output`): opening only the
//! last component without following links would still go through it.
//! Every folder from `.releases` down is therefore opened relative to the
//! one before it, refusing a link (`openat` with `O_NOFOLLOW`), and the
//! file itself is opened, created, renamed or removed relative to the
//! folder so opened. The workspace root may be reached through the user's
//! own links: only the components from the last `.releases` down are
//! walked. Paths elsewhere (Cargo.toml, `.cargo/`, a build's output) keep
//! the rule for their last component only.

use std::ffi::OsStr;
use std::path::{Component, Path, PathBuf};

use anyhow::{Context as _, bail};

/// The folder the walk starts from.
const LEDGER: &str = ".releases";

/// What is at a name in a folder, without following it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    File,
    Dir,
    Link,
    /// A FIFO, a device or a socket.
    Other,
}

/// An entry's kind, and its permissions (kept by a file that is replaced).
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub(crate) kind: Kind,
    permissions: std::fs::Permissions,
}

impl Entry {
    pub(crate) fn permissions(&self) -> std::fs::Permissions {
        self.permissions.clone()
    }
}

/// How [`Dir::open`] opens a file.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Access {
    /// To read, never waiting on a FIFO.
    Read,
    /// To read and write, created (0666 less the umask) when missing.
    Update,
}

/// `path` split where the walk starts: the folder opened as the user's
/// path leads (following their links), and the components walked from
/// `.releases` down. `None` when no component is `.releases`.
fn split(path: &Path) -> Option<(PathBuf, Vec<&OsStr>)> {
    let components: Vec<Component<'_>> = path.components().collect();
    let at = components
        .iter()
        .rposition(|c| *c == Component::Normal(OsStr::new(LEDGER)))?;
    let start: PathBuf = components[..at].iter().collect();
    let start = if start.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        start
    };
    let walked = components[at..].iter().map(|c| c.as_os_str()).collect();
    Some((start, walked))
}

/// The file name of `path` and its folder.
fn parent_and_name(path: &Path) -> anyhow::Result<(&Path, &OsStr)> {
    let name = path
        .file_name()
        .with_context(|| format!("`{}` names no file", path.display()))?;
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    Ok((parent, name))
}

/// Opens the folder `dir`: from `.releases` down, no link is followed, and
/// one is refused with an error naming it. Elsewhere a link at the last
/// component is refused unless `follow_last`. `Ok(None)` when a folder on
/// the way is missing.
pub(crate) fn open_dir(dir: &Path, follow_last: bool) -> anyhow::Result<Option<Dir>> {
    let Some((start, walked)) = split(dir) else {
        return Dir::open_path(dir, follow_last);
    };
    let Some(mut current) = Dir::open_path(&start, true)? else {
        return Ok(None);
    };
    let mut path = start;
    for name in walked {
        path.push(name);
        if name == OsStr::new("..") {
            bail!("`{}` leads out of its folder", path.display());
        }
        match current.open_dir(name) {
            Ok(next) => current = next,
            Err(e) => {
                return match current.lstat(name) {
                    Ok(None) => Ok(None),
                    Ok(Some(entry)) if entry.kind == Kind::Link => {
                        bail!("{}", super::link_refused(&path))
                    }
                    Ok(Some(entry)) if entry.kind != Kind::Dir => {
                        bail!("`{}` is not a folder", path.display())
                    }
                    _ => Err(e).with_context(|| format!("failed to open `{}`", path.display())),
                };
            }
        }
    }
    Ok(Some(current))
}

/// The folder of `path`, opened as [`open_dir`] does (following a link at
/// its last component only outside `.releases`), and the file's name in
/// it. `Ok(None)` when the folder is missing.
pub(crate) fn parent_of(path: &Path) -> anyhow::Result<Option<(Dir, &OsStr)>> {
    let (parent, name) = parent_and_name(path)?;
    Ok(open_dir(parent, true)?.map(|dir| (dir, name)))
}

#[cfg(unix)]
pub(crate) use unix::Dir;

#[cfg(unix)]
mod unix {
    use std::ffi::OsStr;
    use std::io;
    use std::os::fd::OwnedFd;
    use std::os::unix::fs::PermissionsExt as _;
    use std::path::Path;

    use rustix::fs::{AtFlags, FileType, Mode, OFlags};

    use super::{Access, Entry, Kind};

    /// A folder held open: what is done in it is done in that folder,
    /// whatever happens to the path that led to it.
    #[derive(Debug)]
    pub(crate) struct Dir {
        fd: OwnedFd,
    }

    const DIR_FLAGS: OFlags = OFlags::RDONLY
        .union(OFlags::DIRECTORY)
        .union(OFlags::CLOEXEC);

    impl Dir {
        /// Opens the folder at `path` as the path leads, or not through a
        /// link at its last component unless `follow_last`.
        pub(super) fn open_path(path: &Path, follow_last: bool) -> anyhow::Result<Option<Self>> {
            let flags = if follow_last {
                DIR_FLAGS
            } else {
                DIR_FLAGS | OFlags::NOFOLLOW
            };
            match rustix::fs::openat(rustix::fs::CWD, path, flags, Mode::empty()) {
                Ok(fd) => Ok(Some(Self { fd })),
                Err(e) => match std::fs::symlink_metadata(path) {
                    Err(m) if m.kind() == io::ErrorKind::NotFound => Ok(None),
                    Ok(m) if m.file_type().is_symlink() && !follow_last => {
                        anyhow::bail!("{}", crate::files::link_refused(path))
                    }
                    Ok(m) if !m.is_dir() && !m.file_type().is_symlink() => {
                        anyhow::bail!("`{}` is not a folder", path.display())
                    }
                    _ => Err(anyhow::Error::new(io::Error::from(e))
                        .context(format!("failed to open `{}`", path.display()))),
                },
            }
        }

        fn openat(&self, name: &OsStr, flags: OFlags) -> io::Result<OwnedFd> {
            let flags = flags | OFlags::NOFOLLOW | OFlags::CLOEXEC;
            Ok(rustix::fs::openat(
                &self.fd,
                name,
                flags,
                Mode::from_raw_mode(0o666),
            )?)
        }

        /// The folder `name` in it, never through a link.
        pub(crate) fn open_dir(&self, name: &OsStr) -> io::Result<Self> {
            Ok(Self {
                fd: self.openat(name, DIR_FLAGS)?,
            })
        }

        /// The file `name` in it, never through a link.
        pub(crate) fn open(&self, name: &OsStr, access: Access) -> io::Result<std::fs::File> {
            let flags = match access {
                Access::Read => OFlags::RDONLY | OFlags::NONBLOCK,
                Access::Update => OFlags::RDWR | OFlags::CREATE | OFlags::NONBLOCK,
            };
            Ok(std::fs::File::from(self.openat(name, flags)?))
        }

        /// What `name` is, not following a link; `None` when it is missing.
        pub(crate) fn lstat(&self, name: &OsStr) -> io::Result<Option<Entry>> {
            let stat = match rustix::fs::statat(&self.fd, name, AtFlags::SYMLINK_NOFOLLOW) {
                Ok(stat) => stat,
                Err(rustix::io::Errno::NOENT) => return Ok(None),
                Err(e) => return Err(e.into()),
            };
            let kind = match FileType::from_raw_mode(stat.st_mode) {
                FileType::RegularFile => Kind::File,
                FileType::Directory => Kind::Dir,
                FileType::Symlink => Kind::Link,
                _ => Kind::Other,
            };
            Ok(Some(Entry {
                kind,
                permissions: std::fs::Permissions::from_mode(stat.st_mode & 0o7777),
            }))
        }

        /// Creates the folder `name` in it.
        pub(crate) fn mkdir(&self, name: &OsStr) -> io::Result<()> {
            Ok(rustix::fs::mkdirat(
                &self.fd,
                name,
                Mode::from_raw_mode(0o777),
            )?)
        }

        /// Removes the file `name` (a link itself, never what it points at).
        pub(crate) fn unlink(&self, name: &OsStr) -> io::Result<()> {
            Ok(rustix::fs::unlinkat(&self.fd, name, AtFlags::empty())?)
        }

        /// Renames `from_name` of folder `from` to `name` here, replacing
        /// what is there (a link is replaced, never followed).
        pub(crate) fn rename_from(
            &self,
            from: &Self,
            from_name: &OsStr,
            name: &OsStr,
        ) -> io::Result<()> {
            Ok(rustix::fs::renameat(&from.fd, from_name, &self.fd, name)?)
        }

        /// Makes a rename or removal in it durable.
        pub(crate) fn sync(&self) -> io::Result<()> {
            Ok(rustix::fs::fsync(&self.fd)?)
        }
    }
}

#[cfg(not(unix))]
pub(crate) use other::Dir;

#[cfg(not(unix))]
mod other {
    //! Without `openat`: each folder is looked at without following it as
    //! the walk goes down, then used by its path.

    use std::ffi::OsStr;
    use std::io;
    use std::path::{Path, PathBuf};

    use super::{Access, Entry, Kind};

    #[derive(Debug)]
    pub(crate) struct Dir {
        path: PathBuf,
    }

    impl Dir {
        pub(super) fn open_path(path: &Path, follow_last: bool) -> anyhow::Result<Option<Self>> {
            let meta = if follow_last {
                std::fs::metadata(path)
            } else {
                std::fs::symlink_metadata(path)
            };
            match meta {
                Ok(m) if m.file_type().is_symlink() => {
                    anyhow::bail!("{}", crate::files::link_refused(path))
                }
                Ok(m) if m.is_dir() => Ok(Some(Self {
                    path: path.to_owned(),
                })),
                Ok(_) => anyhow::bail!("`{}` is not a folder", path.display()),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
                Err(e) => {
                    Err(anyhow::Error::new(e)
                        .context(format!("failed to open `{}`", path.display())))
                }
            }
        }

        fn refuse_link(&self, name: &OsStr) -> io::Result<PathBuf> {
            let path = self.path.join(name);
            match std::fs::symlink_metadata(&path) {
                Ok(m) if m.file_type().is_symlink() => {
                    Err(io::Error::other("a symbolic link is not followed"))
                }
                _ => Ok(path),
            }
        }

        pub(crate) fn open_dir(&self, name: &OsStr) -> io::Result<Self> {
            let path = self.refuse_link(name)?;
            if std::fs::metadata(&path)?.is_dir() {
                Ok(Self { path })
            } else {
                Err(io::Error::other("not a folder"))
            }
        }

        pub(crate) fn open(&self, name: &OsStr, access: Access) -> io::Result<std::fs::File> {
            let path = self.refuse_link(name)?;
            let mut options = std::fs::OpenOptions::new();
            match access {
                Access::Read => options.read(true),
                Access::Update => options.read(true).write(true).create(true),
            };
            options.open(path)
        }

        pub(crate) fn lstat(&self, name: &OsStr) -> io::Result<Option<Entry>> {
            match std::fs::symlink_metadata(self.path.join(name)) {
                Ok(m) => {
                    let kind = if m.file_type().is_symlink() {
                        Kind::Link
                    } else if m.is_dir() {
                        Kind::Dir
                    } else if m.is_file() {
                        Kind::File
                    } else {
                        Kind::Other
                    };
                    Ok(Some(Entry {
                        kind,
                        permissions: m.permissions(),
                    }))
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(e),
            }
        }

        pub(crate) fn mkdir(&self, name: &OsStr) -> io::Result<()> {
            std::fs::create_dir(self.path.join(name))
        }

        pub(crate) fn unlink(&self, name: &OsStr) -> io::Result<()> {
            std::fs::remove_file(self.path.join(name))
        }

        pub(crate) fn rename_from(
            &self,
            from: &Self,
            from_name: &OsStr,
            name: &OsStr,
        ) -> io::Result<()> {
            std::fs::rename(from.path.join(from_name), self.path.join(name))
        }

        pub(crate) fn sync(&self) -> io::Result<()> {
            Ok(())
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn a_link_on_the_way_down_from_the_ledger_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(outside.path().join("abc")).unwrap();
        std::fs::write(outside.path().join("abc/app"), "outside").unwrap();
        let ledger = dir.path().join(LEDGER);
        std::fs::create_dir(&ledger).unwrap();
        std::os::unix::fs::symlink(outside.path(), ledger.join("slugs")).unwrap();

        let err = parent_of(&ledger.join("slugs/abc/app")).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("is a symbolic link"), "{text}");
        assert!(text.contains("slugs`"), "{text}");
        assert!(open_dir(&ledger.join("slugs/abc"), true).is_err());
        // Missing folders are no error; the ledger itself is walked too.
        assert!(
            open_dir(&ledger.join("none/deeper"), true)
                .unwrap()
                .is_none()
        );
        assert!(open_dir(&ledger, false).unwrap().is_some());

        // The workspace root may be reached through the user's own link.
        let via = outside.path().join("via");
        std::os::unix::fs::symlink(dir.path(), &via).unwrap();
        assert!(open_dir(&via.join(LEDGER), false).unwrap().is_some());
        // Outside the ledger, only a link at the last component counts.
        assert!(open_dir(&via, false).is_err());
        assert!(open_dir(&via, true).unwrap().is_some());
    }
}
