//! The commands a commit runs around a release: `release-command`, `post-release`, `health-check`.

use crate::context::Context;
use crate::error::Error;
use crate::hooks;
use crate::ledger::remote::RemoteStore;
use crate::ledger::{ChangeKind, Release, Status};
use crate::workspace::Hooks;

use super::{Draft, Transaction};

/// How a health check ended.
enum Health {
    Passed,
    Failed(String),
    Interrupted,
}

impl Transaction<'_> {
    /// Runs the release phase of `release` (not yet written), when there is
    /// one, and records what it did in it; a failure marks it failed and is
    /// returned, to be reported once the release is recorded.
    pub(super) fn release_phase(
        &self,
        ctx: &Context,
        release: &mut Release,
        hooks: &Hooks,
        remote: Option<&RemoteStore>,
    ) -> crate::Result<Option<String>> {
        let Some(argv) = hooks
            .release_command
            .as_ref()
            .filter(|_| release.succeeded())
        else {
            return Ok(None);
        };
        // The number the ledger gives it, which the command is told.
        release.version = self.ledger.next_version()?;
        if ctx.skips_release_phase() {
            release.release_phase = Some(hooks::skipped());
            return Ok(None);
        }
        let ran = self.run_hook(ctx, release, argv, hooks.release_timeout, &[])?;
        let kept = hooks::keep_output(
            &self.ledger,
            self.ws,
            release.version,
            "release-phase",
            &ran.output,
        )?;
        // Shared with the slugs, so that every clone can read it.
        if let Some(remote) = remote {
            let object = hooks::output_object(&kept.0, kept.1);
            let path = hooks::output_path(self.ws, release.version, "release-phase");
            if let Err(e) = remote.upload(&object, &path) {
                ctx.warn(&format!(
                    "the release phase's output could not be uploaded to {}: {e:#}",
                    remote.location()
                ));
            }
        }
        release.release_phase = Some(hooks::phase_record(&ran, kept));
        if ran.failure.is_some() {
            release.status = Status::Failed;
        }
        Ok(ran.failure)
    }

    /// Runs the health check of `release`, now current; if it never
    /// passes, rolls back to `previous` (once: a rollback is not rolled back
    /// again) and returns [`Error::HealthCheckFailed`].
    pub(super) fn check_health(
        &mut self,
        ctx: &Context,
        release: &Release,
        previous: Option<Release>,
        argv: &[String],
        hooks: &Hooks,
    ) -> crate::Result<()> {
        let reason = match self.health_check(ctx, release, argv, hooks)? {
            Health::Passed => return Ok(()),
            Health::Interrupted => {
                return Err(Error::Interrupted(format!(
                    "the health check of v{} was stopped; v{} stays current",
                    release.version, release.version
                )));
            }
            Health::Failed(reason) => reason,
        };
        // A failing check after a rollback stops there: no loops.
        let rolled_back = match previous.filter(|_| release.kind != ChangeKind::Rollback) {
            None => None,
            Some(target) => {
                let mut back = Draft::new(
                    ChangeKind::Rollback,
                    format!(
                        "Rollback to v{} (health check of v{} failed)",
                        target.version, release.version
                    ),
                    target.code.clone(),
                    target.config.clone(),
                );
                back.rollback_to = Some(target.version);
                back.team = Some(target.team.clone());
                back.latest_code = release.latest_code().clone();
                back.addon_releases = release.addon_releases.clone();
                back.unhealthy = Some(release.version);
                match self.commit(ctx, back) {
                    Ok(done) => Some((target.version, done.release.version)),
                    Err(Error::HealthCheckFailed { version, .. }) => {
                        Some((target.version, version))
                    }
                    // The failed check is the news; why the rollback did
                    // not happen follows it.
                    Err(e) => {
                        ctx.warn(&format!(
                            "the rollback to v{} after the failed health check of v{} \
                             failed: {e}",
                            target.version, release.version
                        ));
                        None
                    }
                }
            }
        };
        Err(Error::HealthCheckFailed {
            version: release.version,
            reason,
            rolled_back,
        })
    }

    /// Runs `argv` for `release` with its config vars, its metadata and `extra`.
    pub(super) fn run_hook(
        &self,
        ctx: &Context,
        release: &Release,
        argv: &[String],
        timeout: std::time::Duration,
        extra: &[(String, String)],
    ) -> crate::Result<hooks::Ran> {
        let mut env = self
            .ws
            .environment(&release.config, release.team.as_ref())?;
        // What the command prints is shown and kept: secret values are masked.
        let secrets: Vec<String> = env
            .iter()
            .filter(|(name, _)| release.config.get(name).is_some_and(|v| v.is_secret()))
            .map(|(_, value)| value.clone())
            .collect();
        env.extend(hooks::metadata(self.ws, &self.ledger, release));
        env.extend(extra.iter().cloned());
        let launch = hooks::Launch {
            argv,
            env: &env,
            secrets: &secrets,
            timeout,
        };
        Ok(hooks::run(ctx, self.ws, &self.ledger, release, &launch)?)
    }

    /// Runs the post-release hook; its failure is a warning, kept beside the
    /// ledger for `info`, and never undoes the release.
    pub(super) fn post_release(
        &self,
        ctx: &Context,
        release: &Release,
        argv: &[String],
        timeout: std::time::Duration,
    ) -> crate::Result<()> {
        let status = if release.succeeded() {
            "succeeded"
        } else {
            "failed"
        };
        let extra = [("RELEASE_LOG_STATUS".to_owned(), status.to_owned())];
        let ran = match self.run_hook(ctx, release, argv, timeout, &extra) {
            Ok(ran) => ran,
            Err(e) => {
                let why = format!("{e:#}");
                hooks::keep_failure(&self.ledger, self.ws, release.version, &why)?;
                ctx.warn(&format!(
                    "the post-release hook of v{} could not run: {why}",
                    release.version
                ));
                return Ok(());
            }
        };
        hooks::keep_output(
            &self.ledger,
            self.ws,
            release.version,
            "post-release",
            &ran.output,
        )?;
        if let Some(why) = &ran.failure {
            hooks::keep_failure(&self.ledger, self.ws, release.version, why)?;
            ctx.warn(&format!(
                "the post-release hook of v{} failed ({why}); v{} stays recorded as it is",
                release.version, release.version
            ));
        }
        Ok(())
    }

    /// Runs the health check until it passes, a second apart, as many times
    /// as `health-retries` allows.
    fn health_check(
        &self,
        ctx: &Context,
        release: &Release,
        argv: &[String],
        hooks: &crate::workspace::Hooks,
    ) -> crate::Result<Health> {
        let mut last = Health::Passed;
        for attempt in 0..=hooks.health_retries {
            if attempt > 0 {
                std::thread::sleep(std::time::Duration::from_secs(1));
            }
            let ran = self.run_hook(ctx, release, argv, hooks.health_timeout, &[])?;
            match ran.failure {
                None => return Ok(Health::Passed),
                // Ctrl-C is no verdict on the release: nothing is rolled back.
                Some(_) if ran.interrupted => return Ok(Health::Interrupted),
                Some(why) => last = Health::Failed(why),
            }
        }
        Ok(last)
    }
}
