//! Large ledgers made quickly, for benchmarks and scale tests: not part of
//! the supported API.

use std::path::Path;

use fs_err as fs;

use crate::ledger::release::FORMAT;
use crate::ledger::{
    ChangeKind, Code, ConfigVar, LockedLedger, Release, Slug, Status, file_digest,
};

/// Writes a ledger of `count` releases into the workspace at `root`: a
/// deploy of commit `commit` (which must be a full sha) that runs
/// `executable` (its bytes stored as the slug), then config changes `N<i>=<i>`,
/// linked as the tool links them, one file a second apart from `start`
/// (seconds since the epoch). Written without the per-file fsync a real
/// release takes, so a hundred thousand take seconds, not minutes.
pub fn write_ledger(
    root: &Path,
    count: u64,
    commit: &str,
    executable: &Path,
    start: i64,
) -> crate::Result<()> {
    let (mut ledger, _) =
        LockedLedger::create(root, &crate::ledger::Environment::default(), &|_| {})?;
    if let Some(newest) = ledger.newest() {
        return Err(anyhow::anyhow!(
            "`{}` already holds releases (up to v{newest}); a ledger is generated into an empty one",
            ledger.path(newest).parent().unwrap_or(root).display()
        )
        .into());
    }
    let name = executable
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("app")
        .to_owned();
    let exe = ledger
        .slugs()
        .store_file(&name, executable, ledger.scratch())?;
    let code = Code {
        commit: commit.to_owned(),
        deploy: 1,
        built_from: None,
        dirty: false,
        uncommitted: Default::default(),
        build: Some(crate::ledger::Build::default()),
        slug: Slug::from_executables(vec![exe]),
        addons: Vec::new(),
    };
    let mut previous: Option<String> = None;
    let mut config = crate::ledger::ConfigVars::new();
    let tz = jiff::tz::TimeZone::UTC;
    let mut last = None;
    for version in 1..=count {
        let (kind, change) = if version == 1 {
            (ChangeKind::Deploy, format!("Deploy {}", &commit[..7]))
        } else {
            // A handful of vars, so every file is about the same size.
            let name = format!("N{}", version % 5);
            config.insert(name.clone(), ConfigVar::plain(version.to_string()));
            (ChangeKind::Config, format!("Config add {name}"))
        };
        let when = jiff::Timestamp::from_second(start + version as i64)
            .map_err(anyhow::Error::from)?
            .to_zoned_datetime(tz.clone());
        let release = Release {
            format: FORMAT,
            version,
            kind,
            change,
            message: None,
            by: "bench@example.com".to_owned(),
            when: when.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string(),
            status: Status::Succeeded,
            note: None,
            rollback_to: None,
            promoted_from: None,
            release_phase: None,
            previous_digest: previous.take(),
            code: code.clone(),
            latest_deploy: None,
            addon_releases: Default::default(),
            unhealthy: Default::default(),
            config: config.clone(),
            team: None,
        };
        let text = release.to_toml()?;
        fs::write(ledger.path(version), &text)?;
        ledger.written_directly(version);
        previous = Some(file_digest(text.as_bytes()));
        last = Some(release);
    }
    if let Some(last) = &last {
        let mut env = crate::workspace::EnvFile::load(root)?;
        env.set_vars(&last.config)?;
        env.save(ledger.scratch())?;
        ledger.switch_current(last)?;
    }
    Ok(())
}
