//! Every read command's `--json`, as scripts see it: documented in docs/json.md, snapshotted here.

use crate::snap;
use crate::support::*;

/// JSON with what differs between machines replaced: shas, sizes, the root.
fn stable(p: &Project, json: &str) -> String {
    let text = redact(json, p.root());
    let text = regex::Regex::new(r"[0-9a-f]{40}")
        .unwrap()
        .replace_all(&text, "[SHA]")
        .into_owned();
    regex::Regex::new(r#""(size|total-size)": \d+"#)
        .unwrap()
        .replace_all(&text, r#""$1": "[SIZE]""#)
        .into_owned()
}

#[test]
fn every_read_command_speaks_json() {
    let p = Project::new();
    p.write(
        ".cargo/config.toml",
        "[env]\nPORT = { value = \"8080\", force = true }\nDATA = { value = \"data\", relative = true }\n",
    );
    p.commit("config");
    p.ok(&["deploy", "-m", "first"]);
    p.advance(60);
    p.ok(&["config", "set", "MYVAR=42"]);
    p.advance(60);
    p.ok(&["rollback"]);
    p.advance(60);
    for args in [
        &["releases", "--json"][..],
        &["info", "--json"],
        &["info", "v1", "--json"],
        &["config", "--json"],
        &["config", "get", "PORT", "--json"],
        &["addons", "--json"],
        &["diff", "v1", "v2", "--json"],
        &["check", "--json"],
    ] {
        let json = p.ok(args);
        serde_json::from_str::<serde_json::Value>(&json).unwrap();
        snap!(format!(
            "$ cargo release-log {}\n{}",
            args.join(" "),
            stable(&p, &json)
        ));
    }
}
