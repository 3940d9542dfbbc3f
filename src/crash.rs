//! Named points in the write path where a test can kill the process.
//!
//! Recovery from a crash is only as good as its tests: with
//! `CARGO_RELEASE_LOG_CRASH_AT=<point>` in its environment, the process
//! kills itself with SIGKILL when it reaches that point, as a power cut or
//! an OOM kill would, leaving whatever it wrote so far for the next command
//! to finish or undo. Without the variable, a point costs one lookup.

/// The variable naming the point to die at.
pub(crate) const CRASH_AT: &str = "CARGO_RELEASE_LOG_CRASH_AT";

/// Dies here, at once and without cleanup, when `CRASH_AT` names `point`.
pub(crate) fn point(point: &str) {
    if std::env::var_os(CRASH_AT).is_some_and(|at| at == point) {
        // kill(1): this crate has no unsafe code to call kill(2) with.
        let _ = std::process::Command::new("kill")
            .args(["-KILL", &std::process::id().to_string()])
            .status();
        // Where that failed: as abrupt, no destructor runs.
        std::process::abort();
    }
}
