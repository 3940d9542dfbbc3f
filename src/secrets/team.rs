//! Team secrets: values sealed in the release files with `age`, to the
//! public keys a workspace names in `secret-recipients`.
//!
//! A release that holds team secrets records its recipients and a team
//! key (32 random bytes, itself sealed to the recipients). A secret var's
//! fingerprint is HMAC-SHA256 under the team key, so every teammate
//! computes the same one for the same value, and someone without a key
//! cannot test a guess against it; its value is sealed beside it. A
//! machine opens values with its identity: `CARGO_RELEASE_LOG_IDENTITY`
//! (an age identity file or an unencrypted SSH private key), else
//! `~/.ssh/id_ed25519`, then `~/.ssh/id_rsa`.

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::str::FromStr as _;

use anyhow::{Context as _, bail};
use base64::Engine as _;

/// The most a sealed value may take in a release file, base64 included.
const MAX_SEALED: usize = 64 * 1024;

/// A public key of `secret-recipients`, parsed.
fn parse_recipient(text: &str) -> Result<Box<dyn age::Recipient + Send>, String> {
    let text = text.trim();
    if text.starts_with("age1") {
        let key = text.split_whitespace().next().unwrap_or(text);
        return age::x25519::Recipient::from_str(key)
            .map(|r| Box::new(r) as Box<dyn age::Recipient + Send>)
            .map_err(|e| format!("`{}` is not an age public key: {e}", short(key)));
    }
    if text.starts_with("ssh-") {
        return match age::ssh::Recipient::from_str(text) {
            Ok(r) => Ok(Box::new(r)),
            Err(age::ssh::ParseRecipientKeyError::Unsupported(kind)) => Err(format!(
                "`{kind}` keys cannot be recipients; use an ssh-ed25519 or ssh-rsa key, or an age key"
            )),
            Err(_) => Err(format!(
                "`{}` is not an ssh-ed25519 or ssh-rsa public key",
                short(text)
            )),
        };
    }
    Err(format!(
        "`{}` is neither an age public key (`age1…`) nor an SSH public key (`ssh-ed25519 …`)",
        short(text)
    ))
}

fn short(text: &str) -> String {
    let mut s: String = text.chars().take(24).collect();
    if text.chars().count() > 24 {
        s.push('…');
    }
    s
}

/// Checks the `secret-recipients` setting: each a public key age takes.
pub(crate) fn check_recipients(recipients: &[String]) -> Result<(), String> {
    for r in recipients {
        parse_recipient(r)?;
    }
    Ok(())
}

/// How a recipient is named to people: its comment (`alice` of
/// `ssh-ed25519 AAAA… alice`), else the start of its key; escaped, as a
/// release file's text may hold terminal control characters.
pub(crate) fn label(recipient: &str) -> String {
    crate::text::printable(&raw_label(recipient)).into_owned()
}

fn raw_label(recipient: &str) -> String {
    let mut words = recipient.split_whitespace();
    let first = words.next().unwrap_or_default();
    let comment: Vec<&str> = if first.starts_with("ssh-") {
        words.skip(1).collect()
    } else {
        words.collect()
    };
    if comment.is_empty() {
        let key = if first.starts_with("ssh-") {
            recipient.split_whitespace().nth(1).unwrap_or(first)
        } else {
            first
        };
        short(key)
    } else {
        comment.join(" ")
    }
}

/// The labels of `recipients`, joined by `, `.
pub(crate) fn labels(recipients: &[String]) -> String {
    recipients
        .iter()
        .map(|r| label(r))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The key of a recipient, without its comment: two spellings of a key
/// are the same recipient.
pub(crate) fn key_of(recipient: &str) -> String {
    let words: Vec<&str> = recipient.split_whitespace().collect();
    match words.as_slice() {
        [kind, key, ..] if kind.starts_with("ssh-") => format!("{kind} {key}"),
        [key, ..] => (*key).to_owned(),
        [] => String::new(),
    }
}

/// Whether two recipient lists name the same keys.
pub(crate) fn same_recipients(a: &[String], b: &[String]) -> bool {
    let keys = |list: &[String]| {
        list.iter()
            .map(|r| key_of(r))
            .collect::<std::collections::BTreeSet<_>>()
    };
    keys(a) == keys(b)
}

/// `plaintext` sealed to every recipient: an age file, in base64.
pub(crate) fn seal(recipients: &[String], plaintext: &[u8]) -> anyhow::Result<String> {
    let parsed = recipients
        .iter()
        .map(|r| parse_recipient(r).map_err(anyhow::Error::msg))
        .collect::<anyhow::Result<Vec<_>>>()?;
    if parsed.is_empty() {
        bail!("no recipients to seal a secret to");
    }
    let encryptor =
        age::Encryptor::with_recipients(parsed.iter().map(|r| r.as_ref() as &dyn age::Recipient))
            .context("failed to seal a secret")?;
    let mut out = Vec::new();
    let mut writer = encryptor.wrap_output(&mut out)?;
    writer.write_all(plaintext)?;
    writer.finish()?;
    Ok(base64::engine::general_purpose::STANDARD.encode(out))
}

/// This machine's keys for opening sealed values, and where they came from.
pub(crate) struct Identities {
    keys: Vec<Box<dyn age::Identity + Send + Sync>>,
    /// The files read, for messages.
    pub(crate) sources: Vec<PathBuf>,
    /// Keys found but not usable (passphrase-protected), for messages.
    pub(crate) skipped: Vec<String>,
}

impl std::fmt::Debug for Identities {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the keys.
        f.debug_struct("Identities")
            .field("sources", &self.sources)
            .finish_non_exhaustive()
    }
}

impl Identities {
    /// `CARGO_RELEASE_LOG_IDENTITY` (which must be readable), else
    /// `~/.ssh/id_ed25519`, then `~/.ssh/id_rsa`, those that exist.
    pub(crate) fn load() -> anyhow::Result<Self> {
        let mut ids = Self {
            keys: Vec::new(),
            sources: Vec::new(),
            skipped: Vec::new(),
        };
        if let Some(path) = std::env::var_os("CARGO_RELEASE_LOG_IDENTITY").filter(|p| !p.is_empty())
        {
            let path = PathBuf::from(path);
            ids.read(&path, true)
                .with_context(|| format!("CARGO_RELEASE_LOG_IDENTITY `{}`", path.display()))?;
            return Ok(ids);
        }
        if let Some(home) = std::env::var_os("HOME").filter(|h| !h.is_empty()) {
            for name in ["id_ed25519", "id_rsa"] {
                let path = PathBuf::from(&home).join(".ssh").join(name);
                if path.is_file() {
                    // A default key that cannot be used is skipped, and said.
                    if let Err(e) = ids.read(&path, false) {
                        ids.skipped.push(format!("`{}`: {e:#}", path.display()));
                    }
                }
            }
        }
        Ok(ids)
    }

    fn read(&mut self, path: &Path, explicit: bool) -> anyhow::Result<()> {
        // The user's own key, outside any repository: a link to it (a
        // dotfiles checkout, a secrets mount) is followed. Only a regular
        // file is read, never a FIFO, and never more than a key holds.
        use std::io::Read as _;
        let mut options = std::fs::OpenOptions::new();
        options.read(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NONBLOCK);
        let file = options.open(path).context("cannot open it")?;
        if !file.metadata()?.is_file() {
            anyhow::bail!("not a regular file");
        }
        let mut text = Vec::new();
        file.take(1024 * 1024 + 1).read_to_end(&mut text)?;
        if text.len() > 1024 * 1024 {
            anyhow::bail!("larger than a key file (1 MiB)");
        }
        let text = String::from_utf8(text).context("not a text key file")?;
        if text.contains("AGE-SECRET-KEY-") {
            let file = age::IdentityFile::from_buffer(text.as_bytes())?;
            for key in file.into_identities()? {
                self.keys.push(key);
            }
        } else {
            match age::ssh::Identity::from_buffer(text.as_bytes(), None)? {
                age::ssh::Identity::Unencrypted(key) => {
                    self.keys
                        .push(Box::new(age::ssh::Identity::Unencrypted(key)));
                }
                age::ssh::Identity::Encrypted(_) => {
                    let what = "a passphrase-protected SSH key, which cargo-release-log cannot \
                                ask for; point CARGO_RELEASE_LOG_IDENTITY at an age identity \
                                file or an unprotected key";
                    if explicit {
                        bail!("{what}");
                    }
                    self.skipped.push(format!("`{}`: {what}", path.display()));
                    return Ok(());
                }
                age::ssh::Identity::Unsupported(_) => bail!("an SSH key of a kind age cannot use"),
            }
        }
        self.sources.push(path.to_owned());
        Ok(())
    }

    /// The files read, for messages: `` `~/.ssh/id_ed25519` `` or "no key".
    pub(crate) fn describe(&self) -> String {
        if self.sources.is_empty() {
            "no key (neither CARGO_RELEASE_LOG_IDENTITY nor ~/.ssh/id_ed25519 or ~/.ssh/id_rsa)"
                .to_owned()
        } else {
            self.sources
                .iter()
                .map(|p| format!("`{}`", p.display()))
                .collect::<Vec<_>>()
                .join(", ")
        }
    }

    /// `sealed` opened, or `None` when none of these keys is a recipient.
    pub(crate) fn open(&self, sealed: &str) -> anyhow::Result<Option<Vec<u8>>> {
        if sealed.len() > MAX_SEALED {
            bail!("a sealed secret of {} bytes is too large", sealed.len());
        }
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(sealed)
            .context("a sealed secret is not base64")?;
        let decryptor =
            age::Decryptor::new_buffered(bytes.as_slice()).context("a sealed secret is corrupt")?;
        match decryptor.decrypt(self.keys.iter().map(|k| k.as_ref() as &dyn age::Identity)) {
            Ok(mut reader) => {
                let mut out = Vec::new();
                reader
                    .read_to_end(&mut out)
                    .context("a sealed secret is corrupt")?;
                Ok(Some(out))
            }
            Err(age::DecryptError::NoMatchingKeys) => Ok(None),
            Err(e) => Err(anyhow::Error::new(e).context("a sealed secret could not be opened")),
        }
    }
}

/// A team key and the `[team]` record that seals it.
#[derive(Clone)]
pub(crate) struct TeamKey {
    pub(crate) key: [u8; 32],
    pub(crate) team: crate::ledger::config_vars::Team,
}

impl std::fmt::Debug for TeamKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TeamKey")
            .field("recipients", &self.team.recipients)
            .finish_non_exhaustive()
    }
}

impl TeamKey {
    /// A fresh key, sealed to `recipients`.
    pub(crate) fn generate(recipients: &[String]) -> anyhow::Result<Self> {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).map_err(|e| anyhow::anyhow!("no randomness for a key: {e}"))?;
        let sealed = seal(recipients, &key)?;
        Ok(Self {
            key,
            team: crate::ledger::config_vars::Team {
                recipients: recipients.to_vec(),
                key: sealed,
            },
        })
    }

    /// The key `team` seals, opened with `ids`; `None` when none of them is a recipient.
    pub(crate) fn open(
        team: &crate::ledger::config_vars::Team,
        ids: &Identities,
    ) -> anyhow::Result<Option<Self>> {
        let Some(bytes) = ids.open(&team.key)? else {
            return Ok(None);
        };
        let key: [u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| anyhow::anyhow!("the sealed team key is not 32 bytes"))?;
        Ok(Some(Self {
            key,
            team: team.clone(),
        }))
    }

    /// The fingerprint of var `name` holding `value` under this key.
    pub(crate) fn fingerprint(&self, name: &str, value: &str) -> String {
        super::keyed_fingerprint(&self.key, name, value)
    }

    /// Var `name` holding `value`, sealed: its fingerprint, and the value
    /// (bound to its name) sealed to the team.
    pub(crate) fn seal_var(&self, name: &str, value: &str) -> anyhow::Result<(String, String)> {
        let sealed = seal(&self.team.recipients, &bound(name, value))?;
        Ok((self.fingerprint(name, value), sealed))
    }
}

/// What a sealed value holds: `name\0value`, so that a sealed value moved
/// to another var is refused.
fn bound(name: &str, value: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(name.len() + 1 + value.len());
    out.extend_from_slice(name.as_bytes());
    out.push(0);
    out.extend_from_slice(value.as_bytes());
    out
}

/// The value of var `name` in an opened sealed value, if it is that var's.
pub(crate) fn unbind(name: &str, opened: &[u8]) -> anyhow::Result<Option<String>> {
    let Some(rest) = opened
        .strip_prefix(name.as_bytes())
        .and_then(|r| r.strip_prefix(&[0]))
    else {
        return Ok(None);
    };
    Ok(Some(
        String::from_utf8(rest.to_vec()).context("a sealed secret is not UTF-8 text")?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recipients_are_named_by_comment_and_compared_by_key() {
        let alice = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA alice@laptop";
        assert_eq!(label(alice), "alice@laptop");
        assert_eq!(
            label("age1abcdefghijklmnopqrstuvwxyz0123"),
            "age1abcdefghijklmnopqrst…"
        );
        assert_eq!(label("age1abc ci"), "ci");
        assert!(same_recipients(
            &[alice.to_owned()],
            &["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA other".to_owned()]
        ));
        assert!(check_recipients(&["hello".to_owned()]).is_err());
    }

    #[test]
    fn sealed_values_open_with_a_recipient_key_only() {
        let alice = age::x25519::Identity::generate();
        let carol = age::x25519::Identity::generate();
        let recipients = vec![format!("{} alice", alice.to_public())];
        let team = TeamKey::generate(&recipients).unwrap();
        let (fp, sealed) = team.seal_var("API_KEY", "hunter2").unwrap();
        assert!(super::super::is_fingerprint(&fp));
        assert!(!sealed.contains("hunter2"));
        let ids = |key: age::x25519::Identity| Identities {
            keys: vec![Box::new(key)],
            sources: Vec::new(),
            skipped: Vec::new(),
        };
        let opened = ids(alice.clone()).open(&sealed).unwrap().unwrap();
        assert_eq!(
            unbind("API_KEY", &opened).unwrap().as_deref(),
            Some("hunter2")
        );
        assert_eq!(unbind("OTHER", &opened).unwrap(), None);
        assert_eq!(ids(carol.clone()).open(&sealed).unwrap(), None);
        // The same key opened elsewhere fingerprints alike.
        let again = TeamKey::open(&team.team, &ids(alice)).unwrap().unwrap();
        assert_eq!(again.fingerprint("API_KEY", "hunter2"), fp);
        assert!(TeamKey::open(&team.team, &ids(carol)).unwrap().is_none());
    }
}
