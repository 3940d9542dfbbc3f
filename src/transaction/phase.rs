//! The commands a commit runs around a release: `release-command`, `post-release`, `health-check`.

use crate::context::Context;
use crate::hooks;
use crate::ledger::Release;

use super::Transaction;

/// How a health check ended.
pub(super) enum Health {
    Passed,
    Failed(String),
    Interrupted,
}

impl Transaction<'_> {
    /// Runs `argv` for `release` with its config vars, its metadata and `extra`.
    pub(super) fn run_hook(
        &self,
        ctx: &Context,
        release: &Release,
        argv: &[String],
        timeout: std::time::Duration,
        extra: &[(String, String)],
    ) -> crate::Result<hooks::Ran> {
        let mut env = self.ws.environment(&release.config)?;
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
    pub(super) fn health_check(
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
