use super::*;

#[test]
fn executable_names_are_plain_words() {
    for name in ["myapp", "my-app", "my_app2", "api", "café"] {
        assert!(is_executable_name(name), "{name}");
    }
    for name in [
        "",
        "-rf",
        ".",
        "..",
        "a/b",
        "$(touch x)",
        "a b",
        "x;y",
        "`id`",
        "a\nb",
    ] {
        assert!(!is_executable_name(name), "{name:?}");
    }
}

#[test]
fn versions_parse_strictly() {
    assert_eq!("v12".parse::<Version>().unwrap(), Version(12));
    assert_eq!("3".parse::<Version>().unwrap(), Version(3));
    for bad in [
        "v0",
        "0",
        "v-1",
        "-1",
        "v",
        "",
        "vv1",
        "v1.0",
        "v../x",
        "+1",
        "v99999999999999999999999",
    ] {
        assert!(bad.parse::<Version>().is_err(), "{bad:?} accepted");
    }
}

mod properties {
    //! The loader of release files, a repository's untrusted input, never
    //! panics, and reads back exactly what it writes.

    use proptest::prelude::*;

    use super::*;
    use crate::ledger::config_vars::ConfigVar;

    fn sha(len: usize) -> impl Strategy<Value = String> {
        proptest::collection::vec(proptest::sample::select(b"0123456789abcdef".to_vec()), len)
            .prop_map(|bytes| String::from_utf8(bytes).unwrap_or_default())
    }

    fn code() -> impl Strategy<Value = Code> {
        (
            sha(40),
            0..1000u64,
            any::<bool>(),
            proptest::collection::vec(("[a-z][a-z0-9_-]{0,8}", 0..1_000_000u64, sha(64)), 0..3),
        )
            .prop_map(|(commit, deploy, dirty, exes)| Code {
                commit,
                deploy,
                built_from: None,
                dirty,
                uncommitted: Default::default(),
                build: None,
                slug: Slug::from_executables(
                    exes.into_iter()
                        .map(|(name, size, sha256)| Executable { name, size, sha256 })
                        .collect(),
                ),
                addons: Vec::new(),
            })
    }

    fn release() -> impl Strategy<Value = Release> {
        (
            1..i64::MAX as u64,
            "\\PC{0,40}",
            proptest::option::of("\\PC{0,40}"),
            "\\PC{1,30}",
            code(),
            proptest::collection::btree_map(
                "[A-Z_][A-Z0-9_]{0,10}",
                ("\\PC{0,30}", any::<bool>(), any::<bool>()),
                0..4,
            ),
        )
            .prop_map(|(version, change, message, by, code, vars)| Release {
                format: FORMAT,
                version,
                kind: ChangeKind::Config,
                change,
                message,
                by,
                when: "2026-01-15T04:00:00-08:00".to_owned(),
                status: Status::Succeeded,
                note: None,
                rollback_to: None,
                promoted_from: None,
                release_phase: None,
                previous_digest: None,
                code,
                latest_deploy: None,
                addon_releases: Default::default(),
                unhealthy: Default::default(),
                config: vars
                    .into_iter()
                    .map(|(name, (value, force, relative))| {
                        let mut var = ConfigVar::plain(value.replace('\0', ""));
                        var.force = force;
                        var.relative = relative;
                        (name, var)
                    })
                    .collect(),
                team: None,
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

        #[test]
        fn arbitrary_text_is_refused_or_read_never_a_panic(text in "\\PC{0,400}", version in 1..20u64) {
            let _ = Release::parse(&text, version);
        }

        #[test]
        fn near_miss_files_never_panic(release in release(), cut in 0..2000usize, junk in "\\PC{0,10}") {
            // A real file, cut short or spliced with junk, as a bad merge leaves it.
            let text = release.to_toml().unwrap_or_default();
            let cut = text.char_indices().map(|(i, _)| i).nth(cut).unwrap_or(text.len());
            let _ = Release::parse(&format!("{}{junk}{}", &text[..cut], &text[cut..]), release.version);
        }

        #[test]
        fn written_releases_read_back_as_they_were(release in release()) {
            prop_assume!(release.validate().is_ok());
            let text = release.to_toml().unwrap();
            prop_assert_eq!(Release::parse(&text, release.version).unwrap(), release);
        }

        #[test]
        fn release_references_parse_strictly(text in "\\PC{0,24}") {
            match text.parse::<Version>() {
                Ok(v) => {
                    let digits = text.strip_prefix('v').unwrap_or(&text);
                    prop_assert!(digits.bytes().all(|b| b.is_ascii_digit()));
                    prop_assert!(v.0 >= 1 && v.0 <= i64::MAX as u64);
                    prop_assert_eq!(v.to_string().parse::<Version>().unwrap(), v);
                }
                Err(e) => prop_assert!(e.to_string().starts_with("invalid release")),
            }
        }
    }
}
