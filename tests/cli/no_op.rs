//! Only real changes make releases: committing the ledger, or setting a value it has, records nothing.

use crate::support::*;

fn no_op_releases(tier: Option<&str>) {
    let p = Project::new();
    if let Some(tier) = tier {
        p.ok(&["init", "--tier", tier, "--yes"]);
        p.commit("the tier");
    }
    p.ok(&["deploy"]);
    p.ok(&["config", "set", "A=2"]);
    let files = p.release_files();

    // Committing the ledger, as the README says to, is no new code.
    p.git(&["add", "-A", "-f", ".releases"]);
    p.git(&["commit", "-q", "-m", "record the ledger"]);
    let deploy = ok(&p, &["deploy"]);
    assert!(
        deploy.stdout.contains("already runs") && deploy.stdout.contains("nothing was recorded"),
        "{deploy}"
    );
    assert_eq!(p.release_files(), files);

    // A value it has already.
    let set = ok(&p, &["config", "set", "A=2"]);
    assert_eq!(
        set.stdout,
        "Config vars unchanged: v2 has these values already; nothing was recorded \
         (`config set --force` records a release anyway)\n"
    );
    assert!(set.changes.is_empty(), "{set}");
    assert_eq!(p.release_files(), files);

    // `--force` records anyway; a real change records.
    let forced = ok(&p, &["config", "set", "--force", "A=2"]);
    assert!(forced.stdout.contains("done, v3"), "{forced}");
    let changed = ok(&p, &["config", "set", "A=3"]);
    assert!(changed.stdout.contains("done, v4"), "{changed}");
    change_code(&p, "v5");
    assert!(p.ok(&["deploy"]).contains("done, v5"));
}

#[test]
fn in_the_advanced_tier() {
    no_op_releases(None);
}

#[test]
fn in_the_basic_tier() {
    no_op_releases(Some("basic"));
}
