//! How a release came to be: the release phase it went through, the environment it came from.

use serde::{Deserialize, Serialize};

/// What the release phase did for a release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[non_exhaustive]
pub struct ReleasePhase {
    /// How it ended.
    pub status: PhaseStatus,
    /// Why it failed: `exit status: 1`, `killed by signal 9`, `timed out after 10m`,
    /// `interrupted`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The command's exit code, when it exited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// How long it ran, in milliseconds.
    #[serde(default)]
    pub duration_ms: u64,
    /// Its output (stdout and stderr as they came), kept beside the ledger:
    /// `sha256:<hex>` of the bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_sha256: Option<String>,
    /// The size of its output, in bytes.
    #[serde(default)]
    pub output_size: u64,
}

/// How a release phase ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PhaseStatus {
    /// It exited 0: the release became current.
    Passed,
    /// It failed, was killed, timed out or was interrupted: the release failed.
    Failed,
    /// `--skip-release-phase`: it did not run.
    Skipped,
}

/// Where a promoted release's code comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[non_exhaustive]
pub struct Promoted {
    /// The environment it was promoted from.
    pub environment: String,
    /// Its release there.
    pub version: u64,
}
