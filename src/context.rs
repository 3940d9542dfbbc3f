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
    on_lock_wait: Box<dyn Fn() + Send + Sync>,
    interrupt: Option<Arc<AtomicBool>>,
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
            on_lock_wait: Box::new(|| {}),
            interrupt: None,
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
    /// this one has to wait for it (cargo says "Blocking waiting for file lock").
    pub fn on_lock_wait(mut self, hook: impl Fn() + Send + Sync + 'static) -> Self {
        self.on_lock_wait = Box::new(hook);
        self
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
    pub(crate) fn interrupt(&self) -> Option<Arc<AtomicBool>> {
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

    pub(crate) fn lock_wait_hook(&self) -> &(dyn Fn() + Send + Sync) {
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
