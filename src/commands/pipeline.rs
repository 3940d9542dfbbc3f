//! `releases --all-envs`: every environment's current release side by side, and what waits for promotion.

use serde::Serialize;

use super::diff::CommitLine;
use crate::ledger::{Environment, Release};
use crate::workspace::{Workspace, git};

/// One environment in the pipeline.
#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct EnvironmentStatus {
    /// The environment's name (`default` for the default one).
    pub environment: String,
    /// Its current release, when it has one.
    pub current: Option<Release>,
    /// The environment it takes promotions from (`promote-from`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub promote_from: Option<String>,
    /// The commits that environment runs and this one does not yet, newest
    /// first (`None` without `promote-from`, or when a commit is not in
    /// this repository).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_promoted: Option<Vec<CommitLine>>,
}

impl Workspace {
    /// `releases --all-envs`: the current release of every environment, and
    /// for each that takes promotions, the commits its source has that it
    /// does not yet.
    pub fn pipeline(&self) -> crate::Result<Vec<EnvironmentStatus>> {
        let mut statuses = Vec::new();
        let mut currents: Vec<(Environment, Option<Release>)> = Vec::new();
        for env in self.environments() {
            let ws = self.for_env(&env)?;
            let current = ws.read_ledger(|ledger| Ok(ledger.current()?))?;
            currents.push((env, current));
        }
        for (env, current) in &currents {
            let ws = self.for_env(env)?;
            let from = ws.promote_from()?.cloned();
            let source = from
                .as_ref()
                .and_then(|from| currents.iter().find(|(e, _)| e == from))
                .and_then(|(_, release)| release.as_ref());
            let not_promoted = match (source, current) {
                (Some(source), Some(here)) => {
                    git::commits_between(self.root(), &here.code.commit, &source.code.commit)?.map(
                        |lines| {
                            lines
                                .into_iter()
                                .map(|(sha, subject)| CommitLine { sha, subject })
                                .collect()
                        },
                    )
                }
                _ => None,
            };
            statuses.push(EnvironmentStatus {
                environment: env.name().to_owned(),
                current: current.clone(),
                promote_from: from.map(|f| f.name().to_owned()),
                not_promoted,
            });
        }
        Ok(statuses)
    }
}
