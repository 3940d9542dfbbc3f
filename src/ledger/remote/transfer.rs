//! Uploads and fetches: an executable's bytes to and from the store, checked against what its release records.

use std::io::{Read as _, Write as _};
use std::path::Path;

use anyhow::{Context as _, bail};
use fs_err as fs;
use futures_util::StreamExt as _;
use object_store::WriteMultipart;
use object_store::path::Path as Key;
use object_store::{ObjectStoreExt as _, PutMode, PutOptions, PutPayload, PutResult};
use sha2::{Digest as _, Sha256};

use super::{Damage, Fetched, Found, RemoteStore, Trust, Uploaded, hex};
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
    /// Uploads the executable stored at `local_path`, unless the store has
    /// it: an object of that key counts only once its bytes are verified
    /// against the sha256 (see [`RemoteStore::examine`]); one that is not
    /// the recorded bytes is replaced.
    ///
    /// The file is checked against `exe` as it is read, so bytes that are
    /// not what the release records never reach the store.
    pub(crate) fn upload(&self, exe: &Executable, local_path: &Path) -> anyhow::Result<Uploaded> {
        let key = self.key(exe)?;
        let mut damage = match self.examine_key(exe, &key, Trust::Remembered)? {
            Found::Verified => return Ok(Uploaded::Skipped),
            Found::Missing => None,
            Found::Wrong(damage) => Some(damage),
        };
        // Twice at most: a create-if-absent that finds another uploader's
        // object verifies it, and replaces it if it is wrong.
        for _ in 0..2 {
            let file = open_regular(local_path)?;
            let put = if exe.size <= self.part_size as u64 {
                self.put_whole(&key, exe, file, local_path, damage.is_some())?
            } else {
                Some(self.put_parts(&key, exe, file, local_path)?)
            };
            let Some(put) = put else {
                match self.examine_key(exe, &key, Trust::Remembered)? {
                    Found::Verified => return Ok(Uploaded::Skipped),
                    Found::Missing => damage = None,
                    Found::Wrong(found) => damage = Some(found),
                }
                continue;
            };
            self.remember_upload(exe, &key, &put)?;
            return Ok(match damage {
                None => Uploaded::Sent { bytes: exe.size },
                Some(damage) => Uploaded::Repaired {
                    bytes: exe.size,
                    damage,
                },
            });
        }
        bail!("`{key}` in {self} kept changing while it was uploaded; nothing is sure, try again")
    }

    /// What the store holds for `exe`: its object is read and hashed, unless
    /// with [`Trust::Remembered`] it was verified before and is unchanged
    /// since (same identity, see [`RemoteStore::identity`]).
    pub(crate) fn examine(&self, exe: &Executable, trust: Trust) -> anyhow::Result<Found> {
        let key = self.key(exe)?;
        self.examine_key(exe, &key, trust)
    }

    fn examine_key(&self, exe: &Executable, key: &Key, trust: Trust) -> anyhow::Result<Found> {
        let Some(meta) = self.head(key)? else {
            return Ok(Found::Missing);
        };
        if meta.size != exe.size {
            return Ok(Found::Wrong(Damage::Size(meta.size)));
        }
        if trust == Trust::Remembered
            && let Some(remembered) = &self.remembered
            && let Some(identity) = self.identity(key, &meta)
            && remembered.trusts(exe, &self.scope(), key, &identity)
        {
            return Ok(Found::Verified);
        }
        let (found, identity) = self.read_object(exe, key)?;
        if trust == Trust::Remembered
            && found == Found::Verified
            && let (Some(remembered), Some(identity)) = (&self.remembered, identity)
        {
            remembered.remember(exe, &self.scope(), key, &identity);
        }
        Ok(found)
    }

    /// Reads the object `key` through, hashing it: what it is, and the
    /// identity of the version read (taken as it was opened, so that a
    /// write during or after the reading makes it another identity).
    fn read_object(&self, exe: &Executable, key: &Key) -> anyhow::Result<(Found, Option<String>)> {
        let mut tally = Tally::new(exe);
        let read = match &self.dir {
            Some(dir) => self.read_file(&dir.join(key.as_ref()), key, &mut tally)?,
            None => self.runtime.block_on(self.read_stream(key, &mut tally))?,
        };
        let Some(identity) = read else {
            return Ok((Found::Missing, None));
        };
        let size = tally.size;
        let found = match tally.mismatch() {
            None => Found::Verified,
            Some(_) if size != exe.size => Found::Wrong(Damage::Size(size)),
            Some(sha256) => Found::Wrong(Damage::Bytes(sha256)),
        };
        Ok((found, identity))
    }

    /// Hashes the file of a directory store's object; `None` when there is
    /// none, else the identity of the file read, if it is one.
    fn read_file(
        &self,
        path: &Path,
        key: &Key,
        tally: &mut Tally<'_>,
    ) -> anyhow::Result<Option<Option<String>>> {
        let mut file = match std::fs::File::open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("failed to read `{key}` in {self}")),
        };
        // The identity of what is read: a write after this changes it.
        let meta = file
            .metadata()
            .with_context(|| format!("failed to read `{key}` in {self}"))?;
        let mut buf = vec![0; 64 * 1024];
        loop {
            let n = file
                .read(&mut buf)
                .with_context(|| format!("failed to read `{key}` in {self}"))?;
            if n == 0 || !tally.update(&buf[..n]) {
                break;
            }
        }
        Ok(Some(
            meta.is_file()
                .then(|| format!("file {}", crate::files::stamp(&meta))),
        ))
    }

    /// Downloads and hashes an object; `None` when there is none, else the
    /// identity of the version downloaded, if it has one.
    async fn read_stream(
        &self,
        key: &Key,
        tally: &mut Tally<'_>,
    ) -> anyhow::Result<Option<Option<String>>> {
        let got = match self.store.get(key).await {
            Ok(got) => got,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => {
                return Err(e).with_context(|| format!("failed to download `{key}` from {self}"));
            }
        };
        // The response's own: what identifies the very bytes that follow.
        let identity = self.identity(key, &got.meta);
        let mut stream = got.into_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.with_context(|| format!("failed to download `{key}` from {self}"))?;
            if !tally.update(&chunk) {
                break;
            }
        }
        Ok(Some(identity))
    }

    /// After an upload: remembers the object as verified when it is surely
    /// the one written. A directory store's is read back (a local read); an
    /// S3 object is when the store reports the ETag the upload was given.
    fn remember_upload(&self, exe: &Executable, key: &Key, put: &PutResult) -> anyhow::Result<()> {
        let Some(remembered) = &self.remembered else {
            return Ok(());
        };
        if self.dir.is_some() {
            let (found, identity) = self.read_object(exe, key)?;
            if let Found::Wrong(damage) = found {
                bail!(
                    "`{key}` in {self} does not read back as what was uploaded: {damage}, \
                     not {} bytes with sha256 {}",
                    exe.size,
                    exe.sha256
                );
            }
            if let (Found::Verified, Some(identity)) = (found, identity) {
                remembered.remember(exe, &self.scope(), key, &identity);
            }
            return Ok(());
        }
        if let Some(meta) = self.head(key)?
            && meta.size == exe.size
            && put.e_tag.is_some()
            && meta.e_tag == put.e_tag
            && let Some(identity) = self.identity(key, &meta)
        {
            remembered.remember(exe, &self.scope(), key, &identity);
        }
        Ok(())
    }

    /// Sends a small file in one request, create-if-absent unless it
    /// replaces a broken object, so that of two uploaders racing one
    /// writes and the other skips. `None` when it did not write.
    fn put_whole(
        &self,
        key: &Key,
        exe: &Executable,
        file: fs::File,
        local_path: &Path,
        overwrite: bool,
    ) -> anyhow::Result<Option<PutResult>> {
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
    /// already there is left alone and `None` returned.
    pub(super) fn put_new(
        &self,
        key: &Key,
        payload: PutPayload,
        mode: PutMode,
    ) -> anyhow::Result<Option<PutResult>> {
        let opts = PutOptions {
            mode,
            ..PutOptions::default()
        };
        match self
            .runtime
            .block_on(self.store.put_opts(key, payload, opts))
        {
            Ok(put) => Ok(Some(put)),
            Err(object_store::Error::AlreadyExists { .. }) => Ok(None),
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
    ) -> anyhow::Result<PutResult> {
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
