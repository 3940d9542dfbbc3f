//! The size limits of config values hold on every path: `config set`,
//! `[env]` at a deploy, and release files a clone brings (`rollback`,
//! `sync`, `run`).

use crate::support::*;

/// `[env]` of `.cargo/config.toml` with `name` holding `size` bytes.
fn env_with(name: &str, size: usize) -> String {
    format!("[env]\n{name} = \"{}\"\n", "x".repeat(size))
}

/// Points `previous-digest` of release file `file` at `previous`'s bytes,
/// as a clone that rewrote the chain would.
fn relink(p: &Project, file: &str, previous: &str) {
    let digest = sha256_hex(p.read(previous).as_bytes());
    let text: String = p
        .read(file)
        .lines()
        .map(|line| {
            if line.starts_with("previous-digest = ") {
                format!("previous-digest = \"sha256:{digest}\"\n")
            } else {
                format!("{line}\n")
            }
        })
        .collect();
    p.write(file, &text);
}

#[test]
fn a_value_one_byte_over_says_both_sizes_in_bytes() {
    let p = Project::new();
    p.ok(&["deploy", "--no-build"]);
    let big = format!("BIG={}", "x".repeat(32 * 1024 + 1));
    let run = refused(&p, &["config", "set", &big]);
    assert_eq!(
        run.stderr,
        "error: `BIG` is 32,769 bytes; a config value is at most 32,768 bytes (a program's \
         environment must fit the system's limits)\n",
        "{run}"
    );
    let exact = format!("BIG={}", "x".repeat(32 * 1024));
    p.ok(&["config", "set", &exact]);
}

#[test]
fn deploy_refuses_a_huge_env_value_and_records_nothing() {
    let p = Project::new();
    // The first deploy: no ledger is created.
    p.write(".cargo/config.toml", &env_with("BIG", 200 * 1024));
    p.commit("a huge value");
    let run = refused(&p, &["deploy"]);
    assert!(
        run.stderr.contains(
            "`[env]` in .cargo/config.toml: `BIG` is 204,800 bytes; a config value is at most \
             32,768 bytes"
        ),
        "{run}"
    );
    assert!(!p.exists(".releases"), "{run}");
    // On top of a release, with or without a build.
    p.write(".cargo/config.toml", &env_with("SMALL", 10));
    p.commit("a small value");
    p.ok(&["deploy"]);
    p.write(".cargo/config.toml", &env_with("BIG", 200 * 1024));
    p.commit("a huge value again");
    for args in [&["deploy"][..], &["deploy", "--no-build"]] {
        let run = refused(&p, args);
        assert!(run.stderr.contains("`BIG` is 204,800 bytes"), "{run}");
    }
    assert_eq!(p.release_files(), ["v1.toml"]);
    // Many values within the limit that are over it together.
    let many: String = (0..9)
        .map(|i| format!("V{i} = \"{}\"\n", "x".repeat(30_000)))
        .collect();
    p.write(".cargo/config.toml", &format!("[env]\n{many}"));
    p.commit("many values");
    let run = refused(&p, &["deploy", "--no-build"]);
    assert!(
        run.stderr.contains(
            "the config vars hold 270,018 bytes; a release's names and values are at most \
             262,144 bytes together"
        ),
        "{run}"
    );
}

#[test]
fn a_crafted_release_over_the_limit_is_refused_before_env_changes() {
    let p = Project::new();
    p.ok(&["deploy"]);
    p.ok(&["config", "set", "A=1"]);
    p.ok(&["config", "set", "A=2"]);
    let huge = format!("BIG = \"{}\"", "x".repeat(200 * 1024));

    // An older release, its chain rewritten to hold: `rollback` to it.
    craft_config(&p, ".releases/v2.toml", &huge);
    relink(&p, ".releases/v3.toml", ".releases/v2.toml");
    p.ok(&["check"]);
    refused_saying(
        &p,
        &["rollback", "v2"],
        "v2 cannot be applied: `BIG` is 204,800 bytes; a config value is at most 32,768 bytes",
    );

    // The chain broken: refused all the same.
    craft_config(&p, ".releases/v1.toml", &huge);
    let run = p.run(&["rollback", "v1"]);
    assert_ne!(run.code, 0, "{run}");
    assert!(run.changes.is_empty(), "{run}");

    // The newest release (nothing links to it): `sync`, `run` and `--shell`
    // refuse it rather than write it to `[env]` or start a program with it.
    craft_config(&p, ".releases/v3.toml", &huge);
    refused_saying(
        &p,
        &["sync"],
        "v3 cannot be applied: `BIG` is 204,800 bytes; a config value is at most 32,768 bytes",
    );
    for args in [&["run"][..], &["config", "--shell"], &["info", "--shell"]] {
        let run = refused_saying(
            &p,
            args,
            "`BIG` is 204,800 bytes; a config value is at most 32,768 bytes",
        );
        // A warning of the drift shows the value cut short.
        assert!(run.stderr.len() < 1000, "{run}");
    }
    assert!(!p.read(".cargo/config.toml").contains("BIG"));
}
