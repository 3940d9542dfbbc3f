//! How cargo built a slug: the profile and selection flags, and the `cargo build` arguments.

use serde::{Deserialize, Serialize};

/// How cargo built a slug: the profile, and cargo's selection flags, so
/// that `info` shows it and `rebuild` builds it the same way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[non_exhaustive]
pub struct Build {
    /// `--profile`.
    pub profile: String,
    /// `--target`, a target triple.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// `--package`s; none means `--workspace`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub packages: Vec<String>,
    /// `--exclude`d packages (with `--workspace`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<String>,
    /// `--bin`s; none means every binary (`--bins`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bins: Vec<String>,
    /// `--features`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub features: Vec<String>,
    /// `--all-features`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub all_features: bool,
    /// `--no-default-features`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub no_default_features: bool,
}

impl Default for Build {
    fn default() -> Self {
        Self {
            profile: "release".to_owned(),
            target: None,
            packages: Vec::new(),
            exclude: Vec::new(),
            bins: Vec::new(),
            features: Vec::new(),
            all_features: false,
            no_default_features: false,
        }
    }
}

impl Build {
    /// The arguments `cargo build` takes for it, each value joined to its
    /// flag (`--profile=dev`), so that none can be read as another flag.
    pub fn cargo_args(&self) -> Vec<String> {
        let mut args = vec![format!("--profile={}", self.profile)];
        if self.packages.is_empty() {
            args.push("--workspace".to_owned());
            args.extend(self.exclude.iter().map(|p| format!("--exclude={p}")));
        } else {
            args.extend(self.packages.iter().map(|p| format!("--package={p}")));
        }
        if self.bins.is_empty() {
            args.push("--bins".to_owned());
        } else {
            args.extend(self.bins.iter().map(|b| format!("--bin={b}")));
        }
        if !self.features.is_empty() {
            args.push(format!("--features={}", self.features.join(",")));
        }
        if self.all_features {
            args.push("--all-features".to_owned());
        }
        if self.no_default_features {
            args.push("--no-default-features".to_owned());
        }
        if let Some(target) = &self.target {
            args.push(format!("--target={target}"));
        }
        args
    }

    /// The selection as people read it: `release, -p api, --features fast`.
    pub fn describe(&self) -> String {
        let mut parts = vec![self.profile.clone()];
        parts.extend(self.packages.iter().map(|p| format!("-p {p}")));
        parts.extend(self.exclude.iter().map(|p| format!("--exclude {p}")));
        parts.extend(self.bins.iter().map(|b| format!("--bin {b}")));
        if !self.features.is_empty() {
            parts.push(format!("--features {}", self.features.join(",")));
        }
        if self.all_features {
            parts.push("--all-features".to_owned());
        }
        if self.no_default_features {
            parts.push("--no-default-features".to_owned());
        }
        if let Some(target) = &self.target {
            parts.push(format!("--target {target}"));
        }
        parts.join(", ")
    }

    /// Checks every value is a word cargo takes there: a release file is
    /// untrusted, and these become arguments of `cargo build`.
    pub(crate) fn validate(&self) -> Result<(), String> {
        let word = |kind: &str, value: &str, extra: &[char]| {
            let ok = value
                .chars()
                .next()
                .is_some_and(|c| c.is_alphanumeric() || c == '_')
                && value
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == '-' || c == '_' || extra.contains(&c));
            if ok {
                Ok(())
            } else {
                Err(format!(
                    "{kind} `{}` is not one cargo takes",
                    value.escape_debug()
                ))
            }
        };
        word("profile", &self.profile, &[])?;
        if let Some(target) = &self.target {
            word("target", target, &['.'])?;
        }
        for package in self.packages.iter().chain(&self.exclude) {
            word("package", package, &['@', '.', '+'])?;
        }
        for bin in &self.bins {
            word("binary", bin, &[])?;
        }
        for feature in &self.features {
            word("feature", feature, &['/', '+', '.'])?;
        }
        Ok(())
    }
}
