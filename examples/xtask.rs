//! An xtask that ships a workspace through the library, as `cargo xtask ship`
//! would: deploy, record a config change, smoke-test the new release, and
//! roll back if it fails. It matches on values and typed errors; it never
//! parses the tool's text output.
//!
//! Usage: `cargo run --example xtask -- path/to/Cargo.toml KEY=VALUE…`

use std::path::PathBuf;
use std::process::ExitCode;

use cargo_release_log::{Context, DeployOptions, Error, RunOptions, Workspace};

fn main() -> ExitCode {
    match ship() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xtask: {err}");
            ExitCode::FAILURE
        }
    }
}

fn ship() -> Result<(), Error> {
    let mut args = std::env::args().skip(1);
    let manifest = PathBuf::from(args.next().unwrap_or_else(|| "Cargo.toml".to_owned()));
    let config: Vec<String> = args.collect();
    let ws = Workspace::open(&manifest)?;
    let ctx = Context::new(now()).with_user("xtask@example.com");

    let mut opts = DeployOptions::default();
    opts.quiet = true;
    let deployed = match ws.deploy(&ctx, &opts) {
        Ok(deployed) => deployed,
        Err(Error::Dirty { paths }) => {
            println!("not shipping: commit {} first", paths.join(", "));
            return Ok(());
        }
        Err(other) => return Err(other),
    };
    let slug = &deployed.release.code.slug;
    println!(
        "deployed v{} ({}), {} executable(s), {} bytes",
        deployed.release.version,
        deployed.release.code.short_commit(),
        slug.executables.len(),
        slug.total_size
    );

    if !config.is_empty() {
        let changed = ws.config_set(&ctx, &config)?;
        println!(
            "config v{}: {}",
            changed.release.version, changed.release.change
        );
    }

    let status = ws.run_command(&RunOptions::default())?.command.status()?;
    if status.success() {
        println!("smoke test passed");
    } else {
        let back = ws.rollback(&ctx, None)?;
        println!(
            "smoke test failed ({status}); rolled back to v{} as v{}",
            back.target, back.release.version
        );
    }

    for info in ws.releases(10)? {
        let r = &info.release;
        println!(
            "v{} {:?} {} current={} eligible={}",
            r.version, r.kind, r.change, info.current, info.eligible_for_rollback
        );
    }
    Ok(())
}

/// The system clock, or `CARGO_RELEASE_LOG_NOW` (seconds) for reproducible runs.
fn now() -> jiff::ZonedDateTime {
    let tz = jiff::tz::TimeZone::system();
    std::env::var("CARGO_RELEASE_LOG_NOW")
        .ok()
        .and_then(|s| s.parse().ok())
        .and_then(|s| jiff::Timestamp::from_second(s).ok())
        .unwrap_or_else(jiff::Timestamp::now)
        .to_zoned_datetime(tz)
}
