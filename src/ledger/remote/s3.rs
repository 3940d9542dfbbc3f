//! The `s3://` stores: S3-compatible buckets, when built with the `s3` feature.

use std::ffi::OsString;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use object_store::RetryConfig;
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};

use super::{Key, RemoteStore, SETTING};

/// Opens `s3://bucket/prefix` with the `AWS_*` variables of `env`.
pub(super) fn open(
    spec: &str,
    env: impl IntoIterator<Item = (OsString, OsString)>,
) -> anyhow::Result<RemoteStore> {
    let (bucket, prefix) = super::split_s3(spec)?;
    // As `AmazonS3Builder::from_env`, reading `env` rather than the
    // process's environment.
    let mut builder = AmazonS3Builder::new();
    let mut endpoint = None;
    for (key, value) in env {
        let (Some(key), Some(value)) = (key.to_str(), value.to_str()) else {
            continue;
        };
        if !key.starts_with("AWS_") {
            continue;
        }
        let lower = key.to_ascii_lowercase();
        if let Ok(config) = lower.parse::<AmazonS3ConfigKey>() {
            // S3 signs requests; a `user:password@` in an endpoint URL
            // only ends up in the request URLs that errors show.
            let value = if lower.contains("endpoint") {
                without_userinfo(value)
            } else {
                value.to_owned()
            };
            if config == AmazonS3ConfigKey::Endpoint {
                endpoint = Some(value.clone());
            }
            builder = builder.with_config(config, value);
        }
    }
    // A server that does not answer fails in seconds, not after the
    // default ten retries over three minutes.
    let retry = RetryConfig {
        max_retries: 3,
        retry_timeout: Duration::from_secs(60),
        ..RetryConfig::default()
    };
    // TLS goes through rustls with ring (see Cargo.toml), which reqwest
    // uses once it is the process's default; an embedding program's own
    // choice, made first, is kept. `build` makes the client.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let store = builder
        .with_bucket_name(bucket)
        .with_retry(retry)
        .build()
        // object_store names the missing or malformed setting, never a secret's value.
        .with_context(|| format!("failed to open the `{SETTING}` bucket `{bucket}`"))?;
    let prefix = Key::parse(prefix)
        .with_context(|| format!("the prefix of `{SETTING} = \"{spec}\"` is not valid"))?;
    RemoteStore::new(Arc::new(store), prefix, spec.to_owned(), endpoint)
}

/// `http://host:port` of `http://user:pass@host:port`.
fn without_userinfo(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if !parsed.username().is_empty() || parsed.password().is_some() => {
            let _ = parsed.set_username("");
            let _ = parsed.set_password(None);
            parsed.to_string()
        }
        Ok(_) => url.to_owned(),
        Err(_) => "an endpoint that is not a URL".to_owned(),
    }
}
