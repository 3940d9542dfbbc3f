//! One honest eligibility answer on another machine: `info`, `releases
//! --json` and `rollback` agree on what is missing here, list every missing
//! piece at once, put the refusal that matters first, and name the command
//! that helps.

use std::path::Path;

use crate::support::*;

/// `cargo release-log <args>` on another machine: the clone `dir`, with a
/// secret store of its own (and no slugs): (exit code, stdout, stderr).
fn on(p: &Project, dir: &Path, args: &[&str]) -> (i32, String, String) {
    p.run_in(
        dir,
        args,
        &[("CARGO_RELEASE_LOG_SECRETS", &p.scratch().join("secrets-b"))],
    )
}

#[test]
fn another_machine_hears_every_missing_piece_and_the_command_that_helps() {
    let p = Project::with_registry();
    p.ok(&["deploy"]);
    p.ok(&["config", "set", "--secret", "API_KEY=k1", "DB_PASSWORD=p1"]);
    p.ok(&["config", "set", "OTHER_TOKEN=t1"]);
    p.ok(&["addons:add", "memcache"]);
    p.git(&["add", "-A"]);
    p.commit("memcache");
    p.ok(&["deploy"]);
    let b = p.share_and_clone("machine-b");

    // `info` prints what the release file says, and what is missing here.
    let (code, info, _) = on(&p, &b, &["info", "v4"]);
    assert_eq!(code, 0, "{info}");
    assert!(info.contains("Change: Add-on add memcache"), "{info}");
    assert!(
        info.contains(
            "Eligible for Rollback?: No (its built executables are neither here nor in a slug \
             store: myapp; and the values of secrets API_KEY, DB_PASSWORD, OTHER_TOKEN are not \
             on this machine)"
        ),
        "{info}"
    );
    // `releases --json` gives the same answer, for programs.
    let (_, json, _) = on(&p, &b, &["releases", "--json"]);
    assert!(json.contains("\"reason\": \"slug-missing\""), "{json}");
    assert!(json.contains("\"rebuildable\": true"), "{json}");
    assert!(
        json.contains("\"secrets\": [\n        \"API_KEY\",\n        \"DB_PASSWORD\",\n        \"OTHER_TOKEN\"\n      ]"),
        "{json}"
    );

    // The refusal that matters first: v3 is before the add-on release.
    let (code, _, err) = on(&p, &b, &["rollback", "v3"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.starts_with(
            "error: cannot roll back to v3: it would undo an add-on release: memcache 0.2.0 (v4)"
        ),
        "{err}"
    );
    // v4's executables are missing; the hint names the exact rebuild.
    let (code, _, err) = on(&p, &b, &["rollback", "v4"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("neither here nor in a slug store: myapp"),
        "{err}"
    );
    assert!(
        err.contains("help: `cargo release-log rebuild v4`"),
        "{err}"
    );
    let (code, _, err) = on(&p, &b, &["rebuild", "v4"]);
    assert_eq!(code, 0, "{err}");
    // Rebuilt, v4 lacks only the secrets' values: all of them, at once.
    let (code, _, err) = on(&p, &b, &["rollback", "v4"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.starts_with(
            "error: cannot roll back to v4: the values of secrets API_KEY, DB_PASSWORD, \
             OTHER_TOKEN are not on this machine"
        ),
        "{err}"
    );
    let (_, info, _) = on(&p, &b, &["info", "v4"]);
    assert!(
        info.contains("Eligible for Rollback?: No (the values of secrets API_KEY"),
        "{info}"
    );
}
