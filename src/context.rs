//! The inputs that would otherwise be globals: the clock, the acting user,
//! and the flag a signal handler sets.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use jiff::ZonedDateTime as Zoned;

/// The system time zone, read as cheaply as the platform allows: on Unix
/// without `TZ`, the file `/etc/localtime` itself, named after where its
/// link points, rather than through jiff's zoneinfo database, whose first
/// use lists every zone it has: a millisecond that every command would pay
/// to show a UTC offset.
pub fn system_time_zone() -> jiff::tz::TimeZone {
    #[cfg(unix)]
    if std::env::var_os("TZ").is_none() {
        const LOCALTIME: &str = "/etc/localtime";
        if let Ok(data) = std::fs::read(LOCALTIME) {
            let name = std::fs::read_link(LOCALTIME)
                .ok()
                .and_then(|target| {
                    let target = target.to_str()?;
                    let at = target.rfind("zoneinfo/")?;
                    Some(target[at + "zoneinfo/".len()..].to_owned())
                })
                .unwrap_or_else(|| "Local".to_owned());
            if let Ok(tz) = jiff::tz::TimeZone::tzif(&name, &data) {
                return tz;
            }
        }
    }
    jiff::tz::TimeZone::system()
}

/// Where what the commands a release runs print goes.
type OutputHook = dyn Fn(&[u8]) + Send + Sync;

/// Told who holds the ledger lock, when that is known, as a command waits for it.
type LockWaitHook = dyn Fn(Option<&str>) + Send + Sync;

/// What a command takes from its surroundings, so that its output can be reproduced.
///
/// ```
/// use cargo_release_log::Context;
///
/// let now = jiff::Timestamp::from_second(1_768_478_400)?
///     .to_zoned_datetime(jiff::tz::TimeZone::UTC);
/// let ctx = Context::new(now).with_user("ci@example.com");
/// assert_eq!(ctx.now().year(), 2026);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Context {
    now: Zoned,
    /// Whether "now" is read again when a release is recorded.
    live: bool,
    user: Option<String>,
    on_lock_wait: Box<LockWaitHook>,
    on_output: Box<OutputHook>,
    on_warning: Box<dyn Fn(&str) + Send + Sync>,
    interrupt: Option<Arc<AtomicBool>>,
    skip_release_phase: bool,
}

impl Context {
    /// A context whose clock stands at `now` (the time zone is the one
    /// absolute times are shown in), acting as `git config user.email`
    /// (else the OS user): output is reproducible.
    pub fn new(now: Zoned) -> Self {
        Self {
            now,
            live: false,
            user: None,
            on_lock_wait: Box::new(|_| {}),
            on_output: Box::new(|_| {}),
            on_warning: Box::new(|_| {}),
            interrupt: None,
            skip_release_phase: false,
        }
    }

    /// A context on the system clock in the system time zone: a release is
    /// stamped when it is recorded, after a build, so it never sorts before
    /// one recorded while it was building.
    pub fn system() -> Self {
        Self {
            live: true,
            ..Self::new(jiff::Timestamp::now().to_zoned_datetime(system_time_zone()))
        }
    }

    /// Acts as `user` instead of asking git and the OS.
    pub fn with_user(mut self, user: impl Into<String>) -> Self {
        self.user = Some(user.into());
        self
    }

    /// Calls `hook` once whenever another process holds the ledger lock and
    /// this one has to wait for it (cargo says "Blocking waiting for file lock"),
    /// with who holds it when that is known (`process 1234 (cargo release-log
    /// config set A=1)`, and whether that process is stopped).
    pub fn on_lock_wait(mut self, hook: impl Fn(Option<&str>) + Send + Sync + 'static) -> Self {
        self.on_lock_wait = Box::new(hook);
        self
    }

    /// Calls `hook` with what the release phase, the health check and the
    /// post-release hook print, as they print it (their stdout and stderr
    /// interleaved), so that the caller can show it: the library never prints.
    pub fn on_release_output(mut self, hook: impl Fn(&[u8]) + Send + Sync + 'static) -> Self {
        self.on_output = Box::new(hook);
        self
    }

    /// Calls `hook` with a warning that does not stop the command, e.g. a
    /// post-release hook that failed.
    pub fn on_warning(mut self, hook: impl Fn(&str) + Send + Sync + 'static) -> Self {
        self.on_warning = Box::new(hook);
        self
    }

    /// Records releases without running the release phase
    /// (`--skip-release-phase`, for emergencies): each release says so.
    pub fn skip_release_phase(mut self, skip: bool) -> Self {
        self.skip_release_phase = skip;
        self
    }

    pub(crate) fn skips_release_phase(&self) -> bool {
        self.skip_release_phase
    }

    pub(crate) fn release_output(&self, bytes: &[u8]) {
        (self.on_output)(bytes);
    }

    pub(crate) fn warn(&self, text: &str) {
        (self.on_warning)(text);
    }

    /// Stops a change at its next safe point once `flag` is set (by the
    /// caller's signal handler, on Ctrl-C), undoing what it did: an add-on
    /// change puts Cargo.toml and Cargo.lock back and records nothing
    /// ([`Error::Interrupted`](crate::Error::Interrupted)).
    pub fn interrupted_by(mut self, flag: Arc<AtomicBool>) -> Self {
        self.interrupt = Some(flag);
        self
    }

    /// The flag given to [`Context::interrupted_by`].
    pub fn interrupt(&self) -> Option<Arc<AtomicBool>> {
        self.interrupt.clone()
    }

    /// Whether the flag given to [`Context::interrupted_by`] is set.
    pub(crate) fn interrupted(&self) -> bool {
        self.interrupt
            .as_ref()
            .is_some_and(|flag| flag.load(Ordering::SeqCst))
    }

    /// "Now", in the time zone used to show absolute times: when the
    /// command started, or the fixed time given.
    pub fn now(&self) -> &Zoned {
        &self.now
    }

    /// The time a release recorded now gets.
    pub(crate) fn recording_time(&self) -> Zoned {
        if self.live {
            jiff::Timestamp::now().to_zoned_datetime(self.now.time_zone().clone())
        } else {
            self.now.clone()
        }
    }

    /// The user given, if any.
    pub(crate) fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    pub(crate) fn lock_wait_hook(&self) -> &LockWaitHook {
        &*self.on_lock_wait
    }
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("now", &self.now)
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}
