//! Uploads and fetches: an executable's bytes to and from the store, checked against what its release records.

use std::io::{Read as _, Write as _};
use std::path::Path;

use anyhow::{Context as _, bail};
use fs_err as fs;
use futures_util::StreamExt as _;
use object_store::WriteMultipart;
use object_store::path::Path as Key;
use object_store::{ObjectStoreExt as _, PutMode, PutOptions, PutPayload};
use sha2::{Digest as _, Sha256};

use super::{Fetched, RemoteStore, Uploaded, hex};
use crate::ledger::release::Executable;
use crate::ledger::slugs::sha256_file;

/// Files larger than this are uploaded in parts of this size, so that a big
/// executable is never held in memory whole; smaller ones go in one request,
/// which is the only kind `object_store` can make create-if-absent.
/// (S3 wants parts of at least 5 MiB.)
pub(super) const PART_SIZE: usize = 8 * 1024 * 1024;

/// Parts uploading at once: with the part being filled, at most three parts
/// (24 MiB) of a big executable are in memory.
const PARTS_IN_FLIGHT: usize = 2;

impl RemoteStore {
    /// Uploads the executable stored at `local_path`, unless the store has it.
    ///
    /// The file is checked against `exe` as it is read, so bytes that are
    /// not what the release records never reach the store.
    pub(crate) fn upload(&self, exe: &Executable, local_path: &Path) -> anyhow::Result<Uploaded> {
        let key = self.key(exe)?;
        let repair = match self.head(&key)? {
            Some(meta) if meta.size == exe.size => return Ok(Uploaded::Skipped),
            Some(_) => true,
            None => false,
        };
        let file = open_regular(local_path)?;
        let sent = if exe.size <= self.part_size as u64 {
            self.put_whole(&key, exe, file, local_path, repair)?
        } else {
            self.put_parts(&key, exe, file, local_path)?;
            true
        };
        Ok(match (sent, repair) {
            (false, _) => Uploaded::Skipped,
            (true, false) => Uploaded::Sent { bytes: exe.size },
            (true, true) => Uploaded::Repaired { bytes: exe.size },
        })
    }

    /// Sends a small file in one request, create-if-absent unless it
    /// replaces a broken object, so that of two uploaders racing one
    /// writes and the other skips. Says whether it wrote.
    fn put_whole(
        &self,
        key: &Key,
        exe: &Executable,
        file: fs::File,
        local_path: &Path,
        overwrite: bool,
    ) -> anyhow::Result<bool> {
        // The one copy in memory: `object_store` sends a payload it holds
        // whole, and this one is at most `part_size`.
        let mut bytes = Vec::with_capacity(usize::try_from(exe.size).unwrap_or(0));
        let mut source = RecordedSource::new(file, local_path, exe);
        let mut buf = vec![0; 64 * 1024];
        while let Some(chunk) = source.next_chunk(&mut buf)? {
            bytes.extend_from_slice(chunk);
        }
        source.finish()?;
        let mode = if overwrite {
            PutMode::Overwrite
        } else {
            PutMode::Create
        };
        self.put_new(key, PutPayload::from(bytes), mode)
    }

    /// Writes `payload` at `key`; with [`PutMode::Create`], an object that is
    /// already there is left alone and `false` returned.
    pub(super) fn put_new(
        &self,
        key: &Key,
        payload: PutPayload,
        mode: PutMode,
    ) -> anyhow::Result<bool> {
        let opts = PutOptions {
            mode,
            ..PutOptions::default()
        };
        match self
            .runtime
            .block_on(self.store.put_opts(key, payload, opts))
        {
            Ok(_) => Ok(true),
            Err(object_store::Error::AlreadyExists { .. }) => Ok(false),
            Err(e) => Err(e).with_context(|| format!("failed to upload `{key}` to {self}")),
        }
    }

    /// Streams a big file in parts. A multipart upload cannot be made
    /// create-if-absent with `object_store`; two racing uploaders both
    /// write, and as the key names the content, the object is whole and
    /// right whichever completes last.
    fn put_parts(
        &self,
        key: &Key,
        exe: &Executable,
        file: fs::File,
        local_path: &Path,
    ) -> anyhow::Result<()> {
        self.runtime.block_on(async {
            let upload = self
                .store
                .put_multipart(key)
                .await
                .with_context(|| format!("failed to start uploading `{key}` to {self}"))?;
            let mut writer = WriteMultipart::new_with_chunk_size(upload, self.part_size);
            let mut source = RecordedSource::new(file, local_path, exe);
            let sent: anyhow::Result<()> = async {
                let mut buf = vec![0; 64 * 1024];
                while let Some(chunk) = source.next_chunk(&mut buf)? {
                    writer
                        .wait_for_capacity(PARTS_IN_FLIGHT)
                        .await
                        .with_context(|| format!("failed to upload `{key}` to {self}"))?;
                    writer.write(chunk);
                }
                // On a mismatch, the parts sent are never completed into an object.
                source.finish()
            }
            .await;
            match sent {
                Ok(()) => writer
                    .finish()
                    .await
                    .map(drop)
                    .with_context(|| format!("failed to upload `{key}` to {self}")),
                Err(e) => {
                    // Unfinished parts cost storage on S3 until aborted. The
                    // error worth reporting is the first one.
                    let _ = writer.abort().await;
                    Err(e)
                }
            }
        })
    }

    /// Downloads the executable to `dest`, verifying its size and sha256
    /// before anything is renamed into place. A `dest` that already holds
    /// the right bytes is kept as it is; a corrupt or missing object is an
    /// error and leaves `dest` (and its folder) as they were.
    pub(crate) fn fetch(&self, exe: &Executable, dest: &Path) -> anyhow::Result<Fetched> {
        let key = self.key(exe)?;
        let replace = match fs::symlink_metadata(dest) {
            Ok(meta) if meta.is_file() => {
                let (sha256, size) = sha256_file(dest)?;
                if sha256 == exe.sha256 && size == exe.size {
                    return Ok(Fetched::AlreadyHere);
                }
                // A damaged local copy is no good copy: the verified download replaces it.
                true
            }
            Ok(_) => bail!(
                "refusing to fetch into `{}`: it is not a regular file",
                dest.display()
            ),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
            Err(e) => return Err(e.into()),
        };
        let dir = match dest.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        fs::create_dir_all(dir)?;
        // The slug folder is written into; a symlink there could lead out of `.releases/`.
        if fs::symlink_metadata(dir)?.is_symlink() {
            bail!(
                "refusing to fetch into `{}`: it is a symbolic link",
                dir.display()
            );
        }
        let mut builder = tempfile::Builder::new();
        builder.prefix(".tmp-fetch-");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            // It is an executable: `run` starts it.
            builder.permissions(std::fs::Permissions::from_mode(0o755));
        }
        let mut tmp = builder
            .tempfile_in(dir)
            .with_context(|| format!("failed to create a temporary file in `{}`", dir.display()))?;
        let tmp_path = tmp.path().to_owned();
        // On any error below, `tmp` is dropped and so deleted.
        self.runtime.block_on(async {
            let got = match self.store.get(&key).await {
                Ok(got) => got,
                Err(object_store::Error::NotFound { .. }) => {
                    bail!(
                        "`{key}` is not in {self}, so `{}` cannot be fetched",
                        exe.name
                    )
                }
                Err(e) => {
                    return Err(e)
                        .with_context(|| format!("failed to download `{key}` from {self}"));
                }
            };
            if got.meta.size != exe.size {
                bail!(
                    "`{key}` in {self} is corrupt: it has {} bytes, but `{}` (sha256 {}) \
                     has {}; nothing was fetched",
                    got.meta.size,
                    exe.name,
                    exe.sha256,
                    exe.size
                );
            }
            let corrupt = |what: String| {
                anyhow::anyhow!("`{key}` in {self} is corrupt: {what}; nothing was fetched")
            };
            let mut tally = Tally::new(exe);
            let mut stream = got.into_stream();
            while let Some(chunk) = stream.next().await {
                let chunk =
                    chunk.with_context(|| format!("failed to download `{key}` from {self}"))?;
                if !tally.update(&chunk) {
                    return Err(corrupt(format!(
                        "it has more than the {} bytes of `{}`",
                        exe.size, exe.name
                    )));
                }
                tmp.write_all(&chunk)
                    .with_context(|| format!("failed to write `{}`", tmp_path.display()))?;
            }
            let size = tally.size;
            match tally.mismatch() {
                None => Ok(()),
                Some(sha256) if size != exe.size => Err(corrupt(format!(
                    "it has {size} bytes with sha256 {sha256}, but `{}` has {} bytes \
                     with sha256 {}",
                    exe.name, exe.size, exe.sha256
                ))),
                Some(sha256) => Err(corrupt(format!(
                    "its sha256 is {sha256}, but `{}` has sha256 {}",
                    exe.name, exe.sha256
                ))),
            }
        })?;
        tmp.as_file()
            .sync_all()
            .with_context(|| format!("failed to write `{}`", tmp_path.display()))?;
        if replace {
            tmp.persist(dest)
                .map_err(|e| e.error)
                .with_context(|| format!("failed to replace `{}`", dest.display()))?;
        } else {
            match tmp.persist_noclobber(dest) {
                Ok(_) => {}
                // Another process fetched or stored it meanwhile: theirs stays.
                Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => {
                    return Err(e.error)
                        .with_context(|| format!("failed to create `{}`", dest.display()));
                }
            }
        }
        crate::files::sync_dir(dir)?;
        Ok(Fetched::Downloaded { bytes: exe.size })
    }
}

/// Bytes streamed through sha256 and counted, to compare with what a release records.
struct Tally<'a> {
    exe: &'a Executable,
    hasher: Sha256,
    size: u64,
}

impl<'a> Tally<'a> {
    fn new(exe: &'a Executable) -> Self {
        Self {
            exe,
            hasher: Sha256::new(),
            size: 0,
        }
    }

    /// `false` once more bytes came than recorded, so a wrong stream stops early.
    fn update(&mut self, bytes: &[u8]) -> bool {
        self.size += bytes.len() as u64;
        self.hasher.update(bytes);
        self.size <= self.exe.size
    }

    /// The sha256 of the bytes, when they are not exactly the recorded ones.
    fn mismatch(self) -> Option<String> {
        let sha256 = hex(&self.hasher.finalize());
        (self.size != self.exe.size || sha256 != self.exe.sha256).then_some(sha256)
    }
}

/// A local file read for upload, checked as it is read against the
/// executable a release records: more bytes than recorded stop it at once,
/// other bytes are refused at the end, before anything is completed.
struct RecordedSource<'a> {
    file: fs::File,
    path: &'a Path,
    tally: Tally<'a>,
}

impl<'a> RecordedSource<'a> {
    fn new(file: fs::File, path: &'a Path, exe: &'a Executable) -> Self {
        Self {
            file,
            path,
            tally: Tally::new(exe),
        }
    }

    /// The next bytes read into `buf`, or `None` at the end of the file.
    fn next_chunk<'b>(&mut self, buf: &'b mut [u8]) -> anyhow::Result<Option<&'b [u8]>> {
        let n = self
            .file
            .read(buf)
            .with_context(|| format!("failed to read `{}`", self.path.display()))?;
        if n == 0 {
            return Ok(None);
        }
        if !self.tally.update(&buf[..n]) {
            let (exe, size) = (self.tally.exe, self.tally.size);
            return Err(not_recorded(self.path, exe, size, None));
        }
        Ok(Some(&buf[..n]))
    }

    /// Refuses the whole file when it is not exactly the recorded bytes.
    fn finish(self) -> anyhow::Result<()> {
        let (exe, size) = (self.tally.exe, self.tally.size);
        match self.tally.mismatch() {
            Some(sha256) => Err(not_recorded(self.path, exe, size, Some(&sha256))),
            None => Ok(()),
        }
    }
}

/// The error for a local file that is not the executable a release records.
fn not_recorded(path: &Path, exe: &Executable, size: u64, sha256: Option<&str>) -> anyhow::Error {
    let what = match sha256 {
        Some(sha256) => format!("{size} bytes with sha256 {sha256}"),
        None => format!("more than {} bytes", exe.size),
    };
    anyhow::anyhow!(
        "`{}` is not the `{}` recorded: it has {what}, not {} bytes with sha256 {}; \
         nothing was uploaded",
        path.display(),
        exe.name,
        exe.size,
        exe.sha256
    )
}

/// Opens a file to upload, refusing anything but a regular file (a
/// symlink could lead out of `.releases/`).
fn open_regular(path: &Path) -> anyhow::Result<fs::File> {
    let meta = fs::symlink_metadata(path)?;
    if !meta.is_file() {
        bail!(
            "refusing to upload `{}`: it is not a regular file",
            path.display()
        );
    }
    Ok(fs::File::open(path)?)
}
