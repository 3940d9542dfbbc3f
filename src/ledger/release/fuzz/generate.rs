//! Releases with every field set, valid by construction, and the text
//! that fills them: what the fuzz targets write, read and mutate.

use proptest::prelude::*;
use proptest::strategy::ValueTree as _;
use proptest::test_runner::{Config, TestRunner};

use crate::ledger::config_vars::{ConfigVar, VarValue};
use crate::ledger::release::*;

/// The release files of the test suite's legacy ledger: files an earlier version wrote.
const FIXTURES: &[&str] = &[
    include_str!("../../../../tests/fixtures/legacy-ledger/v1.toml"),
    include_str!("../../../../tests/fixtures/legacy-ledger/v2.toml"),
    include_str!("../../../../tests/fixtures/legacy-ledger/v3.toml"),
];

/// Characters TOML, terminals and shells treat specially.
const SPECIAL: &[char] = &[
    '\0', '\n', '\r', '\t', '"', '\'', '\\', '#', '=', '[', ']', '{', '}', '.', ' ', '\u{1b}',
    '\u{7f}', '\u{85}', '\u{feff}', '\u{202e}', '\u{2028}', '\u{fffd}', 'é', '😀',
];

/// A fast generator for the characters of a string: proptest draws its
/// seed and the length, so a failing case still shrinks to shorter text,
/// at a fraction of the cost of one proptest value per character.
pub(crate) struct SplitMix(pub(crate) u64);

impl SplitMix {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub(crate) fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[(self.next() % items.len() as u64) as usize]
    }
}

/// `len` characters from `seed`, each made by `char`.
fn seeded(max: usize, char: fn(&mut SplitMix) -> char) -> impl Strategy<Value = String> {
    (any::<u64>(), 0..=max).prop_map(move |(seed, len)| {
        let mut rng = SplitMix(seed);
        (0..len).map(|_| char(&mut rng)).collect()
    })
}

/// Text with the characters that TOML, terminals and shells care about.
pub(crate) fn text(max: usize) -> impl Strategy<Value = String> {
    seeded(max, |rng| {
        let r = rng.next();
        let any = |bound: u64| char::from_u32(((r >> 8) % bound) as u32).unwrap_or('\u{fffd}');
        match r % 10 {
            0..=3 => char::from(b'a' + ((r >> 8) % 26) as u8),
            4 | 5 => SPECIAL[((r >> 8) % SPECIAL.len() as u64) as usize],
            6 => any(0x80),
            7 | 8 => any(0x1_0000),
            _ => any(0x11_0000),
        }
    })
}

/// A word cargo takes: a letter or `_`, then letters, digits, `-` and `_`.
fn word() -> impl Strategy<Value = String> {
    (any::<u64>(), 0..10usize).prop_map(|(seed, len)| {
        let mut rng = SplitMix(seed);
        let first = rng.pick(&['a', 'z', 'M', '_', 'é', '9']);
        let rest = ['a', 'p', 'i', '-', '_', '0', '7', 'Z', 'ß'];
        std::iter::once(first)
            .chain((0..len).map(|_| rng.pick(&rest)))
            .collect()
    })
}

fn hex(len: usize) -> impl Strategy<Value = String> {
    any::<u64>().prop_map(move |seed| {
        let mut rng = SplitMix(seed);
        (0..len)
            .map(|_| char::from(rng.pick(b"0123456789abcdef")))
            .collect()
    })
}

fn sha256_digest() -> impl Strategy<Value = String> {
    hex(64).prop_map(|h| format!("sha256:{h}"))
}

fn commit() -> impl Strategy<Value = String> {
    prop_oneof![3 => hex(40), 1 => hex(64)]
}

/// A number a TOML file can hold, small ones and the edges most often.
fn number() -> impl Strategy<Value = u64> {
    prop_oneof![4 => 0..100u64, 1 => Just(i64::MAX as u64), 1 => 0..=i64::MAX as u64]
}

fn when() -> impl Strategy<Value = String> {
    let offset = proptest::sample::select(vec!["Z", "+00:00", "-08:00", "+05:30", "+14:00"]);
    let fraction = proptest::sample::select(vec!["", ".5", ".123456789"]);
    (
        1970..9999i32,
        1..=12u8,
        1..=28u8,
        0..24u8,
        0..60u8,
        0..60u8,
        fraction,
        offset,
    )
        .prop_map(|(y, mo, d, h, mi, s, fraction, offset)| {
            format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}{fraction}{offset}")
        })
}

fn build() -> impl Strategy<Value = Build> {
    let words = || proptest::collection::vec(word(), 0..3);
    (
        word(),
        proptest::option::of(word()),
        words(),
        words(),
        words(),
        words(),
        any::<(bool, bool)>(),
    )
        .prop_map(
            |(profile, target, packages, exclude, bins, features, (all, no_default))| Build {
                profile,
                target,
                packages,
                exclude,
                bins,
                features,
                all_features: all,
                no_default_features: no_default,
            },
        )
}

fn addon() -> impl Strategy<Value = Addon> {
    (
        text(12),
        text(30),
        text(10),
        proptest::option::of(text(8)),
        proptest::collection::vec(text(8), 0..3),
    )
        .prop_map(|(name, source, req, version, used_by)| Addon {
            name,
            source,
            req,
            version,
            used_by,
        })
}

fn code() -> impl Strategy<Value = Code> {
    let executables =
        proptest::collection::vec((word(), number(), hex(64)), 0..3).prop_map(|exes| {
            exes.into_iter()
                .map(|(name, size, sha256)| Executable { name, size, sha256 })
                .collect::<Vec<_>>()
        });
    (
        (
            commit(),
            number(),
            proptest::option::of(commit()),
            any::<bool>(),
        ),
        proptest::collection::btree_map(text(20), sha256_digest(), 0..3),
        proptest::option::of(build()),
        (number(), executables),
        proptest::collection::vec(addon(), 0..3),
    )
        .prop_map(
            |(
                (commit, deploy, built_from, dirty),
                uncommitted,
                build,
                (total_size, executables),
                addons,
            )| Code {
                commit,
                deploy,
                built_from,
                dirty,
                uncommitted,
                build,
                slug: Slug {
                    total_size,
                    executables,
                },
                addons,
            },
        )
}

/// A config var name: mostly one a shell takes.
pub(crate) fn var_name() -> impl Strategy<Value = String> {
    (any::<u64>(), 0..12usize).prop_map(|(seed, len)| {
        let mut rng = SplitMix(seed);
        let first = rng.pick(&['A', 'Z', '_', 'p']);
        let rest = ['A', 'B', '_', '0', '9', 'x'];
        std::iter::once(first)
            .chain((0..len).map(|_| rng.pick(&rest)))
            .collect()
    })
}

/// A config var as a release records it: plain, or a secret's fingerprint (maybe sealed).
pub(crate) fn config_var() -> impl Strategy<Value = ConfigVar> {
    let value = prop_oneof![
        4 => text(40).prop_map(|v| VarValue::Plain(v.replace('\0', ""))),
        1 => hex(64).prop_map(|h| VarValue::Secret(format!("{}{h}", crate::secrets::FINGERPRINT_PREFIX))),
    ];
    (value, any::<(bool, bool, bool)>(), text(20)).prop_map(
        |(value, (force, relative, seal), sealed)| {
            let sealed = (seal && matches!(value, VarValue::Secret(_))).then_some(sealed);
            ConfigVar {
                value,
                force,
                relative,
                sealed,
            }
        },
    )
}

fn release_phase() -> impl Strategy<Value = ReleasePhase> {
    let status = proptest::sample::select(vec![
        PhaseStatus::Passed,
        PhaseStatus::Failed,
        PhaseStatus::Skipped,
    ]);
    (
        status,
        proptest::option::of(text(20)),
        proptest::option::of(any::<i32>()),
        number(),
        proptest::option::of(sha256_digest()),
        number(),
    )
        .prop_map(
            |(status, reason, exit_code, duration_ms, output_sha256, output_size)| ReleasePhase {
                status,
                reason,
                exit_code,
                duration_ms,
                output_sha256,
                output_size,
            },
        )
}

/// A release with any of its fields set, valid by construction.
pub(crate) fn release() -> impl Strategy<Value = Release> {
    let kind = proptest::sample::select(vec![
        ChangeKind::Deploy,
        ChangeKind::Config,
        ChangeKind::Addon,
        ChangeKind::Rollback,
        ChangeKind::Promote,
    ]);
    let status = proptest::sample::select(vec![Status::Succeeded, Status::Failed]);
    let head = (
        1..=i64::MAX as u64,
        kind,
        text(30),
        proptest::option::of(text(30)),
        text(20),
        when(),
        status,
    );
    let links = (
        proptest::option::of(text(20)),
        proptest::option::of(number()),
        proptest::option::of(
            (text(10), number()).prop_map(|(environment, version)| Promoted {
                environment,
                version,
            }),
        ),
        proptest::option::of(release_phase()),
        proptest::option::of(sha256_digest()),
    );
    let body = (
        code(),
        proptest::option::of(code()),
        proptest::collection::btree_map(text(10), number(), 0..3),
        proptest::collection::btree_set(number(), 0..3),
        proptest::collection::btree_map(var_name(), config_var(), 0..5),
        proptest::option::of(
            (proptest::collection::vec(text(20), 0..3), text(30))
                .prop_map(|(recipients, key)| Team { recipients, key }),
        ),
    );
    (head, links, body).prop_map(|(head, links, body)| {
        let (version, kind, change, message, by, when, status) = head;
        let (note, rollback_to, promoted_from, release_phase, previous_digest) = links;
        let (code, latest_deploy, addon_releases, unhealthy, config, team) = body;
        Release {
            format: FORMAT,
            version,
            kind,
            change,
            message,
            by,
            when,
            status,
            note,
            rollback_to,
            promoted_from,
            release_phase,
            previous_digest,
            code,
            latest_deploy,
            addon_releases,
            unhealthy,
            config,
            team,
        }
    })
}

/// How many releases [`corpus`] generates.
const CORPUS: usize = 150;

/// Release files as the tool writes them, of releases [`release`] makes,
/// and those the test suite keeps: made once, and mutated by each case.
fn corpus() -> &'static [(String, u64)] {
    static FILES: std::sync::OnceLock<Vec<(String, u64)>> = std::sync::OnceLock::new();
    FILES.get_or_init(|| {
        let mut files: Vec<(String, u64)> = FIXTURES
            .iter()
            .map(|text| {
                let version = text
                    .lines()
                    .find_map(|l| l.strip_prefix("version = ")?.parse().ok());
                ((*text).to_owned(), version.unwrap_or(1))
            })
            .collect();
        let mut runner = TestRunner::new(Config::default());
        let releases = release();
        for _ in 0..CORPUS {
            let release = releases.new_tree(&mut runner).expect("a release").current();
            files.push((
                release.to_toml().expect("a valid release writes"),
                release.version,
            ));
        }
        files
    })
}

/// A release file from the [`corpus`].
pub(crate) fn release_file() -> impl Strategy<Value = (String, u64)> {
    let files = corpus();
    any::<prop::sample::Index>().prop_map(move |i| i.get(files).clone())
}
