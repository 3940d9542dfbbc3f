//! Fuzzing at scale of what a repository hands the tool: release files
//! (as text and as files on disk) and release numbers (as users type them
//! and as file names). Each target runs a few thousand cases in the usual
//! test run; `RELEASE_LOG_FUZZ_CASES=<n>` runs `n` cases per target and
//! prints how many each test ran (`-- --nocapture`).
//!
//! Release files are made as the tool writes them, from releases with
//! every field set, and then mutated ([`mutate`]): none of the cases may
//! panic; a file either reads as a release that writes back and reads
//! again as the same release, or is refused with a message that holds no
//! control character.

mod generate;
pub(crate) mod mutate;

use std::borrow::Cow;
use std::path::Path;
use std::time::Instant;

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRunner};

use super::*;
use crate::ledger::{Environment, Ledger, release_file_version};
use generate::{SplitMix, release, release_file, text};
pub(crate) use generate::{config_var, var_name};

/// The cases of one target in the usual test run.
const DEFAULT_CASES: u64 = 2_000;

/// Runs `test` on `share` percent of the cases of a target, and prints the
/// count. A failure panics with the smallest failing input proptest found.
pub(crate) fn run<S: Strategy>(
    name: &str,
    share: u64,
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) {
    let per_target = std::env::var("RELEASE_LOG_FUZZ_CASES")
        .ok()
        .and_then(|n| n.trim().parse::<u64>().ok())
        .unwrap_or(DEFAULT_CASES);
    let cases = (per_target * share).div_ceil(100).max(1);
    let mut runner = TestRunner::new(Config {
        cases: u32::try_from(cases).unwrap_or(u32::MAX),
        failure_persistence: None,
        max_global_rejects: u32::MAX,
        // ChaCha, the default, costs more than the case in a debug build.
        rng_algorithm: RngAlgorithm::XorShift,
        ..Config::default()
    });
    let ran = std::cell::Cell::new(0u64);
    let start = Instant::now();
    let cpu_start = thread_cpu_secs();
    let result = runner.run(&strategy, |value| {
        ran.set(ran.get() + 1);
        test(value)
    });
    let secs = start.elapsed().as_secs_f64();
    if let Err(e) = result {
        panic!("fuzz {name}: {e}");
    }
    // The count is the point of the run (the CI log shows it, with
    // `--nocapture`); the test harness captures it otherwise.
    #[expect(clippy::print_stdout, reason = "the test's report")]
    let report = |line: String| println!("{line}");
    // The thread's own CPU time, which other processes do not inflate.
    let cpu = thread_cpu_secs().map(|cpu| cpu - cpu_start.unwrap_or(0.0));
    report(format!(
        "fuzz {name}: {} cases, 0 failures, {secs:.1} s, {:.0} cases/s{}",
        ran.get(),
        ran.get() as f64 / secs.max(1e-9),
        cpu.map(|cpu| format!(" ({:.0} per CPU second)", ran.get() as f64 / cpu.max(0.01)))
            .unwrap_or_default()
    ));
}

/// The CPU time of the calling thread so far, where `/proc` tells it.
fn thread_cpu_secs() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    // The fields after the command name, which is in parentheses.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // The kernel reports user and system time in USER_HZ, 100 on Linux.
    Some(ticks as f64 / 100.0)
}

/// Fails unless `message` (an error as users see it) holds no control
/// character or bidirectional override: a release file is untrusted, and
/// its text reaches terminals.
pub(crate) fn check_printable(message: &str) -> Result<(), TestCaseError> {
    prop_assert!(
        matches!(crate::text::printable(message), Cow::Borrowed(_)),
        "unescaped text in the message {:?}",
        message
    );
    Ok(())
}

/// The file of release `version` is read from `bytes`: a refusal is fine;
/// a release read must write back and read again as itself.
fn check_loaded(
    ledger: &Ledger,
    version: u64,
    loaded: anyhow::Result<Release>,
) -> Result<(), TestCaseError> {
    let release = match loaded {
        Ok(release) => release,
        Err(e) => return check_printable(&format!("{e:#}")),
    };
    prop_assert_eq!(release.version, version);
    let text = release
        .to_toml()
        .map_err(|e| TestCaseError::fail(format!("{e:#}")))?;
    let again = ledger.parse(version, text.as_bytes());
    prop_assert!(
        again.is_ok(),
        "a written release is refused: {:#}\n{}",
        again.unwrap_err(),
        text
    );
    let again = again.unwrap();
    prop_assert_eq!(&again, &release);
    prop_assert_eq!(again.to_toml().ok(), Some(text));
    Ok(())
}

fn ledger_at(root: &Path) -> Ledger {
    Ledger::empty(root, &Environment::default())
}

/// A failure with the input that made it: the corpus is made afresh on
/// each run, so proptest's own report (a corpus index) would not tell it.
pub(crate) fn with_input(e: TestCaseError, bytes: &[u8]) -> TestCaseError {
    TestCaseError::fail(format!("{e}\ninput: {:?}", String::from_utf8_lossy(bytes)))
}

/// Mutated release files, read: `share` percent of the target's cases.
fn mutated_release_files(name: &str, share: u64) {
    let ledger = ledger_at(Path::new("/nonexistent"));
    let cases = (release_file(), mutate::mutations(), 0..8u8);
    run(name, share, cases, |((text, version), mutations, other)| {
        let bytes = mutate::apply(&text, &mutations);
        // Now and then under another number than the file says.
        let version = if other == 0 { version ^ 1 } else { version };
        check_loaded(&ledger, version, ledger.parse(version, &bytes))
            .map_err(|e| with_input(e, &bytes))
    });
}

// Two tests, so that the test threads share the work.
#[test]
fn mutated_release_files_are_read_or_refused() {
    mutated_release_files("release loader (mutated files)", 45);
}

#[test]
fn mutated_release_files_are_read_or_refused_too() {
    mutated_release_files("release loader (mutated files, more)", 45);
}

#[test]
fn written_releases_read_back_as_they_were() {
    let ledger = ledger_at(Path::new("/nonexistent"));
    run(
        "release loader (written releases)",
        6,
        release(),
        |release| {
            prop_assert!(release.validate().is_ok(), "{:?}", release.validate());
            let text = release
                .to_toml()
                .map_err(|e| TestCaseError::fail(format!("{e:#}")))?;
            let read = ledger.parse(release.version, text.as_bytes());
            prop_assert!(read.is_ok(), "{:#}\n{}", read.unwrap_err(), text);
            prop_assert_eq!(read.unwrap(), release.clone());
            // The same file under another number is refused.
            prop_assert!(ledger.parse(release.version ^ 1, text.as_bytes()).is_err());
            Ok(())
        },
    );
}

#[test]
fn release_files_on_disk_are_read_or_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = ledger_at(dir.path());
    std::fs::create_dir_all(ledger.dir.clone()).unwrap();
    run(
        "release loader (files on disk)",
        4,
        (release_file(), mutate::mutations()),
        |((text, version), mutations)| {
            let bytes = mutate::apply(&text, &mutations);
            std::fs::write(ledger.path(version), &bytes).unwrap();
            let read = ledger.read(version);
            std::fs::remove_file(ledger.path(version)).unwrap();
            check_loaded(&ledger, version, read).map_err(|e| with_input(e, &bytes))
        },
    );
}

/// The digits of a release number in the forms people and files get wrong.
fn digits(rng: &mut SplitMix) -> String {
    let n = rng.next();
    match n % 8 {
        0 | 1 => (n % 1000).to_string(),
        2 => (n >> 1).to_string(),
        3 => n.to_string(),
        4 => format!("{}{}", "0".repeat((n % 4) as usize), (n >> 8) % 10_000),
        5 => (0..n % 24)
            .map(|_| char::from(rng.pick(b"0123456789")))
            .collect(),
        6 => rng
            .pick(&[
                "9223372036854775807",
                "9223372036854775808",
                "18446744073709551615",
            ])
            .to_owned(),
        _ => "18446744073709551616".to_owned(),
    }
}

/// `v12`-like text: a prefix, digits and a suffix, each maybe odd; or any text.
fn near_number(
    prefixes: &'static [&'static str],
    suffixes: &'static [&'static str],
) -> impl Strategy<Value = String> {
    prop_oneof![
        6 => any::<u64>().prop_map(move |seed| {
            let mut rng = SplitMix(seed);
            let (prefix, suffix) = (rng.pick(prefixes), rng.pick(suffixes));
            format!("{prefix}{}{suffix}", digits(&mut rng))
        }),
        1 => text(24),
    ]
}

/// Whether `digits` is a release number: decimal, no sign, 1 to `i64::MAX`.
fn in_range(digits: &str) -> bool {
    let significant = digits.trim_start_matches('0');
    !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !significant.is_empty()
        && (significant.len(), significant) <= (19, "9223372036854775807")
}

#[test]
fn release_numbers_parse_exactly() {
    let prefixes = &["v", "", "V", "vv", " v", "+", "-", "v-", "v+", "\u{1b}v"];
    let suffixes = &["", " ", "\n", ".0", "a", ".toml", "\u{202e}", "\0"];
    run(
        "version parser (release numbers)",
        50,
        near_number(prefixes, suffixes),
        |text| {
            let digits = text.strip_prefix('v').unwrap_or(&text);
            match text.parse::<Version>() {
                Ok(v) => {
                    prop_assert!(in_range(digits), "{:?} read as {}", text, v);
                    prop_assert_eq!(digits.trim_start_matches('0'), v.number().to_string());
                    prop_assert_eq!(v.to_string().parse::<Version>(), Ok(v));
                }
                Err(e) => {
                    prop_assert!(!in_range(digits), "{:?} refused", text);
                    let message = e.to_string();
                    prop_assert!(message.starts_with("invalid release `"), "{}", message);
                    check_printable(&message)?;
                }
            }
            Ok(())
        },
    );
}

#[test]
fn release_file_names_parse_exactly() {
    let prefixes = &["v", "", "V", "vv", ".v", "v-", "v+"];
    let suffixes = &[
        ".toml",
        "",
        ".TOML",
        ".toml.tmp",
        ".tom",
        "toml",
        ".toml\n",
        " .toml",
    ];
    run(
        "version parser (release file names)",
        50,
        near_number(prefixes, suffixes),
        |name| {
            let digits = name.strip_prefix('v').and_then(|n| n.strip_suffix(".toml"));
            match release_file_version(&name) {
                Some(n) => {
                    // Exactly one name per release: no sign, no leading
                    // zero; and a number users can name.
                    prop_assert_eq!(&name, &format!("v{n}.toml"));
                    prop_assert_eq!(format!("v{n}").parse::<Version>(), Ok(Version(n)));
                }
                None => {
                    let canonical = digits.is_some_and(|d| in_range(d) && !d.starts_with('0'));
                    prop_assert!(!canonical, "{:?} is not taken for a release file", name);
                }
            }
            Ok(())
        },
    );
}

/// Found by the fuzz targets: what a file says reached refusals unescaped
/// (an unknown key, `when`, an executable's name), terminal escapes and
/// bidirectional overrides included.
#[test]
fn refusals_escape_what_the_file_says() {
    let ledger = ledger_at(Path::new("/nonexistent"));
    let file = include_str!("../../../tests/fixtures/legacy-ledger/v1.toml");
    for (from, to, shown) in [
        (
            "[code]\n",
            "[code]\n\"\\u202e\" = 1\n",
            r"unknown field `\u{202e}`",
        ),
        (
            "when = \"2026-01-15T12:00:00+00:00\"",
            "when = \"\\u001b[2J\"",
            r#"`when = "\u{1b}[2J"`"#,
        ),
        (
            "name = \"myapp\"\nsize = 455312\nsha256 = \"5",
            "name = \"\\u001b]0;x\"\nsize = 455312\nsha256 = \"x",
            r"executable `\u{1b}]0;x`",
        ),
    ] {
        assert!(file.contains(from), "{from}");
        let refused = ledger
            .parse(1, file.replace(from, to).as_bytes())
            .unwrap_err();
        let message = format!("{refused:#}");
        assert!(message.contains(shown), "{message}");
        check_printable(&message).unwrap();
    }
}
