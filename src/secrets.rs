//! Secret config vars: which vars are secret, and the local store that
//! keeps their values outside git.
//!
//! Release files are committed, so a secret's value is never written to
//! one: a release records that the var is secret and a keyed fingerprint of
//! its value (HMAC-SHA256 under a key that never leaves this machine, so the
//! fingerprint does not let anyone guess the value offline). The value lives
//! in a store folder (0700) outside the workspace, one file (0600) per
//! value, named by that fingerprint.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use fs_err as fs;
use hmac::{KeyInit as _, Mac as _};

use crate::files;

pub(crate) mod team;

/// How a secret's fingerprint starts.
pub(crate) const FINGERPRINT_PREFIX: &str = "hmac-sha256:";

/// The parts of a var name that make it look secret.
const SECRET_WORDS: [&str; 10] = [
    "KEY",
    "SECRET",
    "TOKEN",
    "PASSWORD",
    "PASSWD",
    "PASSPHRASE",
    "CREDENTIAL",
    "PRIVATE",
    "AUTH",
    "DSN",
];

/// Words that make a var name look secret only as a whole `_`-separated
/// word (`DB_PASS`, `MYSQL_PWD`), since they start or end everyday words
/// (`PASSENGER`, `BYPASS`).
const SECRET_WHOLE_WORDS: [&str; 3] = ["PASS", "PWD", "PW"];

/// The keys of a connection string (`Server=db;User Id=app;Password=…`,
/// `host=db password=…`, Azure's `AccountKey=…`) whose value is secret,
/// in lowercase.
const SECRET_KEYS: [&str; 8] = [
    "password",
    "pwd",
    "passwd",
    "pass",
    "accountkey",
    "sharedaccesskey",
    "secret",
    "token",
];

/// Why a var is kept secret when nobody said so.
pub(crate) fn looks_secret(name: &str, value: &str) -> Option<&'static str> {
    if name_looks_secret(name) {
        return Some("its name looks secret");
    }
    if url_has_password(value) {
        return Some("its value is a URL with a password");
    }
    if connection_string_has_secret(value) {
        return Some("its value is a connection string with a password or key");
    }
    None
}

/// `API_KEY`, `GITHUB_TOKEN`, `DB_PASSWORD`, `OAUTH_CLIENT`, `SENTRY_DSN`,
/// `APIKEY`, `SECRETS`: a `_`-separated word that is, starts or ends with
/// one of the secret words (`AUTHOR` is not `AUTH`); `DB_PASS`,
/// `MYSQL_PWD`: a word that is one of the whole secret words.
fn name_looks_secret(name: &str) -> bool {
    let name = name.to_ascii_uppercase();
    // The shell's working folder, not a password.
    if matches!(name.as_str(), "PWD" | "OLDPWD") {
        return false;
    }
    name.split('_').any(|word| {
        SECRET_WHOLE_WORDS.contains(&word)
            || SECRET_WORDS.iter().any(|secret| {
                word == *secret
                    || word.ends_with(secret)
                    || (word.starts_with(secret) && *secret != "AUTH")
                    || (*secret == "AUTH" && matches!(word, "AUTHN" | "AUTHZ" | "AUTHORIZATION"))
            })
    })
}

/// `Server=db;Password=…`, `DefaultEndpointsProtocol=https;AccountKey=…`,
/// `host=db password=…`, `…?sslmode=require&password=…`: a `key=value`
/// list (split on `;`, `&`, `?` and spaces) with a non-empty secret key.
fn connection_string_has_secret(value: &str) -> bool {
    value
        .split([';', '&', '?', ' ', '\t', '\n'])
        .filter_map(|pair| pair.split_once('='))
        .any(|(key, secret)| {
            let key: String = key
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect::<String>()
                .to_ascii_lowercase();
            SECRET_KEYS.contains(&key.as_str()) && !secret.trim().is_empty()
        })
}

/// `postgres://admin:pw@db/prod`: a URL whose user info carries a password.
fn url_has_password(value: &str) -> bool {
    let Some((_, rest)) = value.split_once("://") else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    authority
        .rsplit_once('@')
        .and_then(|(userinfo, _)| userinfo.split_once(':'))
        .is_some_and(|(_, password)| !password.is_empty())
}

/// Whether `text` is a fingerprint as the store writes them.
pub(crate) fn is_fingerprint(text: &str) -> bool {
    text.strip_prefix(FINGERPRINT_PREFIX)
        .is_some_and(crate::ledger::release::is_sha256)
}

/// The local store of secret values.
#[derive(Clone)]
pub(crate) struct SecretStore {
    dir: PathBuf,
    key: [u8; 32],
}

impl std::fmt::Debug for SecretStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key.
        f.debug_struct("SecretStore")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl SecretStore {
    /// Where the store is unless a caller says: `CARGO_RELEASE_LOG_SECRETS`,
    /// else `cargo-release-log/secrets` in the user's data folder.
    pub(crate) fn default_dir() -> Option<PathBuf> {
        if let Some(dir) = std::env::var_os("CARGO_RELEASE_LOG_SECRETS").filter(|d| !d.is_empty()) {
            return Some(PathBuf::from(dir));
        }
        let data = std::env::var_os("XDG_DATA_HOME")
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
            .or_else(|| {
                if cfg!(windows) {
                    std::env::var_os("APPDATA").map(PathBuf::from)
                } else if cfg!(target_os = "macos") {
                    std::env::var_os("HOME")
                        .map(|h| PathBuf::from(h).join("Library/Application Support"))
                } else {
                    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share"))
                }
            })?;
        Some(data.join("cargo-release-log").join("secrets"))
    }

    /// Opens the store at `dir`, making it (and its key) when `create`;
    /// `None` when it does not exist and `create` is false.
    pub(crate) fn open(dir: &Path, create: bool) -> anyhow::Result<Option<Self>> {
        let key_path = dir.join("key");
        if !files::real_dir(dir)? {
            if !create {
                return Ok(None);
            }
            create_private_dir(dir)?;
        }
        let key = match files::read_bounded(&key_path, 64)? {
            Some(bytes) => bytes,
            None if create => make_key(&key_path)?,
            None => return Ok(None),
        };
        let key: [u8; 32] = key.as_slice().try_into().map_err(|_| {
            anyhow::anyhow!(
                "`{}` is not a key of 32 bytes; restore it from a backup, or remove the \
                 store to start a new one (its secrets are then lost)",
                key_path.display()
            )
        })?;
        Ok(Some(Self {
            dir: dir.to_owned(),
            key,
        }))
    }

    /// Writes `contents` to file `name` of the store's folder `folder`, only
    /// its owner can read it (0600), atomically; returns its path.
    pub(crate) fn write_private(
        &self,
        folder: &str,
        name: &str,
        contents: &[u8],
    ) -> anyhow::Result<PathBuf> {
        let dir = self.dir.join(folder);
        if !files::real_dir(&dir)? {
            create_private_dir(&dir)?;
        }
        let path = dir.join(name);
        let mut tmp = tempfile::Builder::new()
            .prefix(".tmp-")
            .tempfile_in(&dir)
            .with_context(|| format!("failed to create a file in `{}`", dir.display()))?;
        std::io::Write::write_all(&mut tmp, contents)
            .and_then(|()| tmp.as_file().sync_all())
            .with_context(|| format!("failed to write `{}`", tmp.path().display()))?;
        tmp.persist(&path)
            .map_err(|e| e.error)
            .with_context(|| format!("failed to write `{}`", path.display()))?;
        Ok(path)
    }

    /// The keyed fingerprint of var `name` holding `value`.
    pub(crate) fn fingerprint(&self, name: &str, value: &str) -> String {
        keyed_fingerprint(&self.key, name, value)
    }

    fn value_path(&self, fingerprint: &str) -> PathBuf {
        let hex = fingerprint
            .strip_prefix(FINGERPRINT_PREFIX)
            .unwrap_or(fingerprint);
        self.dir.join("values").join(hex)
    }

    /// Keeps `value` of var `name`, returning its fingerprint.
    pub(crate) fn put(&self, name: &str, value: &str) -> anyhow::Result<String> {
        let fingerprint = self.fingerprint(name, value);
        let path = self.value_path(&fingerprint);
        if files::is_regular_file(&path) {
            return Ok(fingerprint);
        }
        let hex = fingerprint
            .strip_prefix(FINGERPRINT_PREFIX)
            .unwrap_or(&fingerprint);
        self.write_private("values", hex, value.as_bytes())?;
        files::sync_dir(&self.dir.join("values"))?;
        Ok(fingerprint)
    }

    /// The value of var `name` whose fingerprint is `fingerprint`, if this
    /// store has it (and it has not been changed since).
    pub(crate) fn get(&self, name: &str, fingerprint: &str) -> anyhow::Result<Option<String>> {
        let path = self.value_path(fingerprint);
        let Some(bytes) = files::read_bounded(&path, crate::ledger::config_vars::MAX_VALUE)? else {
            return Ok(None);
        };
        let value = String::from_utf8(bytes)
            .with_context(|| format!("`{}` is not UTF-8 text", path.display()))?;
        if self.fingerprint(name, &value) != fingerprint {
            // Another var's value, or a file changed by hand: not this one.
            return Ok(None);
        }
        Ok(Some(value))
    }
}

/// `hmac-sha256:<hex>` of `name\0value` under `key`.
pub(crate) fn keyed_fingerprint(key: &[u8; 32], name: &str, value: &str) -> String {
    let mut mac =
        hmac::Hmac::<sha2::Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(name.as_bytes());
    mac.update(&[0]);
    mac.update(value.as_bytes());
    let digest = mac.finalize().into_bytes();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("{FINGERPRINT_PREFIX}{hex}")
}

/// A folder only its owner can read (0700).
fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    if let Some(parent) = dir.parent() {
        fs::create_dir_all(parent)?;
    }
    let mut builder = std::fs::DirBuilder::new();
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    match builder.create(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            files::real_dir(dir)?;
            Ok(())
        }
        Err(e) => Err(e).with_context(|| format!("failed to create `{}`", dir.display())),
    }
}

/// Makes the store's key: 32 random bytes in a file only its owner reads.
fn make_key(path: &Path) -> anyhow::Result<Vec<u8>> {
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).map_err(|e| anyhow::anyhow!("no randomness for a key: {e}"))?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(mut file) => {
            std::io::Write::write_all(&mut file, &key)
                .and_then(|()| file.sync_all())
                .with_context(|| format!("failed to write `{}`", path.display()))?;
            Ok(key.to_vec())
        }
        // Another process made it first: use that one.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            match files::read_bounded(path, 64)? {
                Some(bytes) => Ok(bytes),
                None => bail!("`{}` vanished as it was made", path.display()),
            }
        }
        Err(e) => Err(e).with_context(|| format!("failed to create `{}`", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn which_names_and_values_look_secret() {
        for name in [
            "API_KEY",
            "GITHUB_TOKEN",
            "DB_PASSWORD",
            "PASSWD",
            "AWS_SECRET_ACCESS_KEY",
            "GOOGLE_CREDENTIALS",
            "PRIVATE_PEM",
            "OAUTH_CLIENT",
            "SENTRY_DSN",
            "APIKEY",
            "api_key",
            "AUTH",
            "DB_PASS",
            "SMTP_PASS",
            "MYSQL_PWD",
            "REDIS_PW",
            "GPG_PASSPHRASE",
        ] {
            assert!(name_looks_secret(name), "{name}");
        }
        for name in [
            "PORT",
            "RUST_LOG",
            "GIT_AUTHOR_NAME",
            "DATABASE_URL",
            "MYVAR",
            "PWD",
            "OLDPWD",
            "PASSENGER_LIMIT",
            "CACHE_BYPASS",
            "COMPASS_URL",
        ] {
            assert!(!name_looks_secret(name), "{name}");
        }
        for value in [
            "DefaultEndpointsProtocol=https;AccountName=app;AccountKey=abc123==;EndpointSuffix=core.windows.net",
            "Server=db;Database=app;User Id=app;Password=hunter2;",
            "Driver={ODBC};Server=db;Uid=app;Pwd=hunter2",
            "Endpoint=sb://x.servicebus.windows.net/;SharedAccessKeyName=r;SharedAccessKey=abc=",
            "host=db port=5432 user=app password=hunter2",
            "mongodb://db/app?authSource=admin&password=hunter2",
        ] {
            assert!(connection_string_has_secret(value), "{value}");
            assert!(looks_secret("CONN", value).is_some(), "{value}");
        }
        for value in [
            "Server=db;Database=app;Trusted_Connection=True",
            "Server=db;Password=;",
            "host=db port=5432",
            "a=b",
            "plain text",
        ] {
            assert!(!connection_string_has_secret(value), "{value}");
        }
        assert!(url_has_password("postgres://admin:pw@db/prod"));
        assert!(!url_has_password("postgres://admin@db/prod"));
        assert!(!url_has_password("https://example.com/a:b@c"));
        assert!(!url_has_password("not a url"));
    }

    #[test]
    fn values_are_kept_by_keyed_fingerprint() {
        let dir = tempfile::tempdir().unwrap();
        let store = SecretStore::open(&dir.path().join("s"), true)
            .unwrap()
            .unwrap();
        let fp = store.put("DB_PASSWORD", "hunter2").unwrap();
        assert!(is_fingerprint(&fp), "{fp}");
        // Keyed: not the plain sha256 of the value.
        assert_ne!(
            fp,
            format!(
                "{FINGERPRINT_PREFIX}{}",
                crate::ledger::slugs::sha256_bytes(b"hunter2")
            )
        );
        assert_eq!(
            store.get("DB_PASSWORD", &fp).unwrap().as_deref(),
            Some("hunter2")
        );
        // The same value under another name is another secret.
        assert_eq!(store.get("OTHER", &fp).unwrap(), None);
        // Reopened, the key is the same.
        let again = SecretStore::open(&dir.path().join("s"), false)
            .unwrap()
            .unwrap();
        assert_eq!(again.fingerprint("DB_PASSWORD", "hunter2"), fp);
        assert!(!format!("{again:?}").contains("key:"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&dir.path().join("s")), 0o700);
            assert_eq!(mode(&dir.path().join("s/key")), 0o600);
            assert_eq!(mode(&store.value_path(&fp)), 0o600);
        }
    }
}
