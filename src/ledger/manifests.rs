//! Copies of the manifests a release was built from before they were
//! committed (an add-on release's edit of Cargo.toml and Cargo.lock),
//! content-addressed as `.releases/manifests/<sha256>.toml`.
//!
//! They are committed with the release files, so any clone can tell what
//! such a release was built from. A copy is trusted only when its bytes
//! hash to its name: a clone can commit anything there.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};

use super::slugs::sha256_bytes;
use crate::files::{self, Scratch};

/// The folder inside `.releases/`.
pub(crate) const DIR: &str = "manifests";

/// The largest manifest the tool copies or reads back: Cargo.lock of a
/// large workspace is a few hundred kilobytes.
pub(crate) const MAX_MANIFEST: u64 = 16 << 20;

/// Where the copy of the manifest with digest `sha256:<hex>` lives
/// (`base` relative gives the path relative to the workspace root).
pub(crate) fn path(base: &Path, digest: &str) -> Option<PathBuf> {
    let hex = digest.strip_prefix("sha256:")?;
    super::release::is_sha256(hex).then(|| base.join(DIR).join(format!("{hex}.toml")))
}

/// Copies each manifest of `manifests` (path from the workspace `root` to
/// its `sha256:<hex>` digest) into `base`'s copies, unless a copy is there.
/// A manifest whose bytes no longer match its digest changed meanwhile.
pub(crate) fn keep(
    base: &Path,
    root: &Path,
    manifests: &BTreeMap<String, String>,
    scratch: &Scratch,
) -> anyhow::Result<()> {
    for (rel, digest) in manifests {
        let Some(copy) = path(base, digest) else {
            bail!("`{digest}` is not a sha256 digest");
        };
        if read_copy(&copy, digest).is_some() {
            continue;
        }
        let source = root.join(rel);
        let bytes = files::read_bounded(&source, MAX_MANIFEST)?
            .with_context(|| format!("`{}` is gone", source.display()))?;
        if format!("sha256:{}", sha256_bytes(&bytes)) != *digest {
            bail!(
                "`{}` changed while the release was made; nothing was recorded, try again",
                source.display()
            );
        }
        files::create_real_dir(&base.join(DIR))?;
        scratch.write(&copy, &bytes)?;
    }
    Ok(())
}

/// The bytes of the copy with `digest`, when it is here and hashes to it.
pub(crate) fn read(base: &Path, digest: &str) -> Option<Vec<u8>> {
    read_copy(&path(base, digest)?, digest)
}

fn read_copy(copy: &Path, digest: &str) -> Option<Vec<u8>> {
    let bytes = files::read_bounded(copy, MAX_MANIFEST).ok()??;
    (format!("sha256:{}", sha256_bytes(&bytes)) == digest).then_some(bytes)
}
