//! Add-ons: dependency changes as releases of their own, made with cargo's
//! commands; deploys that move dependencies; the rollback guard; `diff`.

use crate::snap;
use crate::support::*;

const MANIFEST: &str = "[package]\nname = \"myapp\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\nmemcache = \"0.1\"\n";

/// `myapp`, which prints the memcache it was built with; Cargo.lock pins
/// memcache 0.1.0; deployed as v1.
fn app() -> Project {
    let p = Project::with_crates(
        REGISTRY,
        &[
            ("Cargo.toml", MANIFEST),
            (
                "src/main.rs",
                "fn main() { println!(\"memcache {}\", memcache::VERSION); }\n",
            ),
        ],
    );
    p.cargo(&["update", "--offline", "memcache", "--precise", "0.1.0"]);
    p.commit("pin memcache 0.1.0");
    p.ok(&["deploy"]);
    p.advance(60);
    p
}

/// Runs `cargo <args>` in a copy of the workspace's manifests and returns
/// what cargo leaves in Cargo.toml and Cargo.lock.
fn as_cargo_leaves_it(before: &[(String, String)], args: &[&str]) -> (String, String) {
    let mut files: Vec<(&str, &str)> = before
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_str()))
        .collect();
    files.push(("src/main.rs", "fn main() {}\n"));
    let copy = Project::with_crates(REGISTRY, &files);
    copy.cargo(args);
    (copy.read("Cargo.toml"), copy.read("Cargo.lock"))
}

fn manifests(p: &Project) -> Vec<(String, String)> {
    ["Cargo.toml", "Cargo.lock"]
        .iter()
        .map(|f| (f.to_string(), p.read(f)))
        .collect()
}

#[test]
fn addon_releases_as_the_seed_shows() {
    let p = app();
    assert_eq!(p.ok(&["run"]), "memcache 0.1.0\n");

    let before = manifests(&p);
    let add = ok(&p, &["addons:add", "itoa"]);
    assert_eq!(
        (p.read("Cargo.toml"), p.read("Cargo.lock")),
        as_cargo_leaves_it(&before, &["add", "--offline", "itoa"]),
        "Cargo.toml and Cargo.lock end exactly as cargo leaves them"
    );
    p.advance(60);

    let before = manifests(&p);
    let upgrade = ok(&p, &["addons", "upgrade", "memcache"]);
    assert_eq!(p.ok(&["run"]), "memcache 0.1.1\n", "the slug was rebuilt");
    assert_eq!(
        (p.read("Cargo.toml"), p.read("Cargo.lock")),
        as_cargo_leaves_it(&before, &["update", "--offline", "memcache"]),
    );
    p.advance(60);

    let downgrade = ok(&p, &["addons:downgrade", "memcache@0.1.0"]);
    assert_eq!(p.ok(&["run"]), "memcache 0.1.0\n");
    p.advance(60);
    let remove = ok(&p, &["addons:remove", "itoa"]);
    p.advance(60);
    let list = ok(&p, &["addons"]);
    let releases = ok(&p, &["releases"]);
    let info = ok(&p, &["info", "v3"]);
    snap!(transcript(&[
        add, upgrade, downgrade, remove, list, releases, info
    ]));
    snap!(p.ok(&["addons", "--json"]));
    let v5 = p.read(".releases/v5.toml");
    assert!(v5.contains("kind = \"addon\""), "{v5}");
    assert!(
        v5.contains("[addon-releases]\nitoa = 5\nmemcache = 4\n"),
        "{v5}"
    );
}

#[test]
fn a_failing_change_leaves_every_file_as_it_was() {
    let p = app();
    let runs = [
        refused(&p, &["addons", "add", "nosuch"]),
        refused(&p, &["addons", "add", "memcache@9"]),
        refused(&p, &["addons", "downgrade", "memcache@0.0.9"]),
        refused(&p, &["addons", "upgrade", "memcache@0.0.1"]),
        refused(&p, &["addons", "upgrade", "itoa"]),
        refused(&p, &["addons", "remove", "itoa"]),
        refused(&p, &["addons", "add", "../elsewhere"]),
    ];
    snap!(transcript(&runs));
    assert_eq!(p.release_files(), ["v1.toml"]);
}

#[test]
fn a_failed_build_restores_the_manifests_and_records_a_failed_release() {
    let p = app();
    let before = p.snapshot_files();
    let run = p.run(&["addons", "add", "broken"]);
    assert_eq!(run.code, 1, "{run}");
    assert!(
        run.stderr
            .contains("recorded v2 as failed, v1 is still the current release"),
        "{run}"
    );
    let after = p.snapshot_files();
    for file in ["Cargo.toml", "Cargo.lock", "src/main.rs"] {
        assert_eq!(before[file], after[file], "{file} was not restored");
    }
    let v2 = p.read(".releases/v2.toml");
    assert!(
        v2.contains("status = \"failed\"") && v2.contains("change = \"Add-on add broken\""),
        "{v2}"
    );
    assert!(p.ok(&["run"]).contains("0.1.0"));
    assert!(
        p.git(&["status", "--porcelain", "--", "Cargo.toml", "Cargo.lock"])
            .is_empty()
    );
}

#[test]
fn a_deploy_that_bumps_a_dependency_can_be_rolled_back() {
    let p = app();
    p.cargo(&["update", "--offline", "memcache", "--precise", "0.1.1"]);
    p.commit("memcache 0.1.1");
    let deploy = ok(&p, &["deploy"]);
    assert!(
        deploy.stdout.contains("memcache 0.1.0 => 0.1.1"),
        "{deploy}"
    );
    assert_eq!(p.ok(&["run"]), "memcache 0.1.1\n");
    p.advance(60);
    let back = ok(&p, &["rollback"]);
    assert_eq!(
        p.ok(&["run"]),
        "memcache 0.1.0\n",
        "the old code runs again"
    );
    let releases = ok(&p, &["releases"]);
    snap!(transcript(&[deploy, back, releases]));
    // The rollback leaves Cargo.lock alone.
    assert!(p.read("Cargo.lock").contains("version = \"0.1.1\""));
}

#[test]
fn no_rollback_undoes_an_addon_release() {
    let p = app();
    ok(&p, &["addons", "add", "itoa@1.0.0"]);
    p.advance(60);
    p.ok(&["config", "set", "MYVAR=1"]);
    p.advance(60);
    let refusal = refused(&p, &["rollback", "v1"]);
    assert!(
        refusal.stderr.contains("itoa 1.0.1 (v2) => absent (v1)"),
        "{refusal}"
    );
    let info = ok(&p, &["info", "v1"]);
    assert!(
        info.stdout.contains("Eligible for Rollback?: No (it would undo an add-on release: itoa 1.0.1 (v2) => absent (v1)"),
        "{info}"
    );
    // A bare rollback goes to the newest release it may: v2 still has itoa.
    let bare = ok(&p, &["rollback"]);
    assert!(bare.stdout.starts_with("Rolled back to v2\n"), "{bare}");
    p.advance(60);
    // Once the add-on is removed as a release of its own, v1's state is
    // the current one again, and v1 is eligible.
    ok(&p, &["addons", "remove", "itoa"]);
    p.advance(60);
    let to_v1 = ok(&p, &["rollback", "v1"]);
    snap!(transcript(&[refusal, info, bare, to_v1]));
}

#[test]
fn undeployed_code_does_not_ship_with_an_addon_release() {
    let p = app();
    p.write(
        "src/main.rs",
        "fn main() { println!(\"new memcache {}\", memcache::VERSION); }\n",
    );
    p.commit("not deployed yet");
    let run = refused(&p, &["addons", "add", "itoa"]);
    assert!(
        run.stderr
            .contains("has changes that v1, the latest deploy, does not run: src/main.rs"),
        "{run}"
    );
}

#[test]
fn an_addon_release_edit_is_not_dirt_until_it_changes() {
    let p = app();
    ok(&p, &["addons", "add", "itoa"]);
    p.advance(60);
    // Not committed yet: the next deploy accepts exactly these changes…
    let deploy = ok(&p, &["deploy", "--force"]);
    assert!(deploy.stdout.contains("done, v3"), "{deploy}");
    p.advance(60);
    // …and refuses anything else.
    p.write("Cargo.toml", &(p.read("Cargo.toml") + "# a hand edit\n"));
    let refusal = refused(&p, &["deploy"]);
    assert!(refusal.stderr.contains("Cargo.toml"), "{refusal}");
    // Committed, it is ordinary code.
    p.commit("itoa");
    ok(&p, &["deploy"]);
}

#[test]
fn members_sharing_a_dependency_list_it_once_with_git_and_path_sources() {
    let p = Project::with_crates(REGISTRY, &[]);
    let url = p.git_crate("0.3.0");
    p.write(
        "Cargo.toml",
        "[workspace]\nmembers = [\"api\", \"worker\"]\nresolver = \"2\"\n",
    );
    p.write(
        "api/Cargo.toml",
        &format!(
            "[package]\nname = \"api\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\nmemcache = \"0.1\"\ngitdep = {{ git = \"{url}\" }}\nshared = {{ path = \"../../shared\" }}\n"
        ),
    );
    p.write(
        "api/src/main.rs",
        "fn main() { println!(\"api {} {} {}\", memcache::VERSION, gitdep::VERSION, shared::VERSION); }\n",
    );
    p.write(
        "worker/Cargo.toml",
        "[package]\nname = \"worker\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\nmemcache = \"0.1.0\"\n",
    );
    p.write(
        "worker/src/main.rs",
        "fn main() { println!(\"worker {}\", memcache::VERSION); }\n",
    );
    p.write(
        "../shared/Cargo.toml",
        "[package]\nname = \"shared\"\nversion = \"1.2.3\"\nedition = \"2021\"\n",
    );
    p.write(
        "../shared/src/lib.rs",
        &SAYS_VERSION.replace("{version}", "1.2.3"),
    );
    p.cargo_fetching(&["generate-lockfile"]);
    p.commit("a workspace");
    p.ok(&["deploy"]);
    let info = p.ok(&["info"]);
    let rev = p.read("Cargo.lock");
    let rev = &rev[rev.find("git+").unwrap()..];
    let rev = rev[rev.find('#').unwrap() + 1..][..7].to_owned();
    let expected = format!(
        "Addons: gitdep@0.3.0 (git {url}#{rev})\n        memcache@0.1.1\n        shared@1.2.3 (path ../shared)\n"
    );
    assert!(info.contains(&redact(&expected, p.root())), "{info}");
    let v1 = p.read(".releases/v1.toml");
    assert_eq!(v1.matches("name = \"memcache\"").count(), 1, "{v1}");
    assert!(v1.contains("req = \"^0.1, ^0.1.0\""), "{v1}");
    assert!(v1.contains("used-by = [\"api\", \"worker\"]"), "{v1}");
    assert!(v1.contains(&format!("source = \"git+{url}#")), "{v1}");
    assert_eq!(p.ok(&["run", "--bin", "api"]), "api 0.1.1 0.3.0 1.2.3\n");
}

#[test]
fn diff_names_commits_config_addons_and_executables() {
    let p = app();
    p.ok(&["config", "set", "A=1", "B=2"]);
    p.advance(60);
    p.write(
        "src/main.rs",
        "fn main() { println!(\"memcache {} again\", memcache::VERSION); }\n",
    );
    p.commit("say again");
    p.cargo(&["update", "--offline", "memcache", "--precise", "0.1.1"]);
    p.commit("memcache 0.1.1");
    p.ok(&["deploy"]);
    p.advance(60);
    p.ok(&["config", "set", "B=3"]);
    p.ok(&["config", "unset", "A"]);
    p.advance(60);
    let runs = [
        ok(&p, &["diff", "v1"]),
        ok(&p, &["diff", "v3", "v1"]),
        ok(&p, &["diff", "2", "3"]),
        refused(&p, &["diff", "v9"]),
    ];
    snap!(transcript(&runs));
    let json = p.ok(&["diff", "v1", "--json"]);
    let shas = regex::Regex::new(r"[0-9a-f]{40}").unwrap();
    snap!(shas.replace_all(&json, "[SHA]"));
    let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(parsed["commits-added"].as_array().unwrap().len(), 2);
    assert_eq!(parsed["executables"]["changed"][0], "myapp");
}

/// Ctrl-C while an add-on release builds: cargo stops, and the tool puts
/// Cargo.toml and Cargo.lock back and records nothing.
#[cfg(unix)]
#[test]
fn ctrl_c_during_an_addon_release_puts_the_manifests_back() {
    // As a terminal's Ctrl-C does: the signal goes to the whole process group.
    interrupt_a_held_addon_release("-INT", true);
}

/// A termination signal to the tool alone (a supervisor's), which cargo
/// does not hear: the tool stops cargo rather than wait out the build.
#[cfg(unix)]
#[test]
fn a_termination_signal_to_the_tool_alone_stops_cargo_too() {
    interrupt_a_held_addon_release("-TERM", false);
}

/// Starts `addons add itoa` with a build that holds until killed, sends
/// `signal` once it is held (to the process group, or the tool alone), and
/// checks that nothing changed.
#[cfg(unix)]
fn interrupt_a_held_addon_release(signal: &str, to_group: bool) {
    use std::os::unix::process::CommandExt as _;
    let p = Project::with_crates(
        REGISTRY,
        &[
            ("Cargo.toml", MANIFEST),
            (
                "src/main.rs",
                "fn main() { println!(\"memcache {}\", memcache::VERSION); }\n",
            ),
            // Holds the build, once it has said so, when asked to.
            (
                "build.rs",
                "fn main() {\n    println!(\"cargo:rerun-if-env-changed=HOLD_BUILD\");\n    \
                 if let Some(marker) = std::env::var_os(\"HOLD_BUILD\") {\n        \
                 std::fs::write(marker, \"\").unwrap();\n        \
                 std::thread::sleep(std::time::Duration::from_secs(300));\n    }\n}\n",
            ),
        ],
    );
    p.cargo(&["update", "--offline", "memcache", "--precise", "0.1.0"]);
    p.commit("pin memcache 0.1.0");
    p.ok(&["deploy"]);
    let before = manifests(&p);

    let marker = p.scratch().join("building");
    let child = p
        .command(&["addons", "add", "itoa"])
        .env("HOLD_BUILD", &marker)
        .process_group(0)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let group = format!("-{}", child.id());
    // The held build must not outlive the test: once the tool has exited,
    // a build script it left runs on in the group.
    let _guard = KillGroup(group.clone());
    let started = std::time::Instant::now();
    while !marker.exists() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(120),
            "the build never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let target = if to_group {
        group.clone()
    } else {
        child.id().to_string()
    };
    let kill = std::process::Command::new("kill")
        .args([signal, "--", &target])
        .status()
        .unwrap();
    assert!(kill.success());
    let output = child.wait_with_output().unwrap();
    // Well before the held build would have ended.
    assert!(started.elapsed() < std::time::Duration::from_secs(200));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.ends_with(
            "error: interrupted; Cargo.toml and Cargo.lock are as they were, and nothing was recorded\n"
        ),
        "{stderr}"
    );
    assert_eq!(manifests(&p), before);
    assert!(!p.exists(".releases/v2.toml"));
    p.ok(&["check"]);
    // Nothing is left in the way of doing it again.
    p.ok(&["addons:add", "itoa"]);
    assert!(p.read(".releases/v2.toml").contains("Add-on add itoa"));
}

/// Kills a process group when dropped: whatever of it is left.
#[cfg(unix)]
struct KillGroup(String);

#[cfg(unix)]
impl Drop for KillGroup {
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill")
            .args(["-KILL", "--", &self.0])
            .status();
    }
}

/// Crates beneath the add-ons that move are named where the add-ons are:
/// in `diff`, and in a deploy's change text and output, with the add-on
/// they come through. An add-on release built from uncommitted manifests
/// keeps a copy of them beside the release files, so `diff` knows its
/// Cargo.lock in any clone.
#[test]
fn crates_beneath_the_addons_are_named_when_they_move() {
    let p = Project::with_registry();
    p.ok(&["deploy"]);
    p.ok(&["addons:add", "memstore"]);
    let v2 = p.read(".releases/v2.toml");
    let lock = sha256_hex(p.read("Cargo.lock").as_bytes());
    assert!(
        v2.contains(&format!("\"Cargo.lock\" = \"sha256:{lock}\"")),
        "{v2}"
    );
    assert_eq!(
        p.read(&format!(".releases/manifests/{lock}.toml")),
        p.read("Cargo.lock")
    );
    // The commit's Cargo.lock has neither crate: only the copy tells.
    let diff = p.ok(&["diff", "v1", "v2"]);
    assert!(
        diff.contains("+ memstore 1.0.0\n        · +itoa 1.0.1 (via memstore)\n"),
        "{diff}"
    );
    let json = p.ok(&["diff", "v1", "v2", "--json"]);
    assert!(
        json.contains("\"indirect\": [\n      {\n        \"name\": \"itoa\",\n        \"old\": null,\n        \"new\": \"1.0.1\",\n        \"via\": \"memstore\""),
        "{json}"
    );

    p.commit("add memstore");
    p.cargo(&["update", "--offline", "itoa", "--precise", "1.0.0"]);
    p.commit("itoa 1.0.0");
    let deploy = p.run(&["deploy"]);
    assert_eq!(deploy.code, 0, "{deploy}");
    assert!(
        deploy.stdout.contains(
            "-----> Add-ons changed with this code:\n  · itoa 1.0.1 => 1.0.0 (via memstore)\n"
        ),
        "{deploy}"
    );
    let v3 = p.read(".releases/v3.toml");
    assert!(
        v3.contains(" (itoa 1.0.1 => 1.0.0 (via memstore))\""),
        "{v3}"
    );
    let diff = p.ok(&["diff", "v2", "v3"]);
    assert!(
        diff.contains("Addons: · itoa 1.0.1 => 1.0.0 (via memstore)"),
        "{diff}"
    );
}

/// An upgrade or downgrade to a version outside the requirement in
/// Cargo.toml says which requirement change it needs, and makes it with
/// `--allow-requirement-change` (`cargo add NAME@VERSION`), as one add-on
/// release; inside the requirement, the flag changes nothing.
#[test]
fn a_version_outside_the_requirement_changes_it_only_when_allowed() {
    let p = app();
    let refusal = refused(&p, &["addons:upgrade", "memcache@0.2.0"]);
    assert_eq!(refusal.code, 2, "{refusal}");
    assert_eq!(
        refusal.stderr,
        "error: memcache 0.2.0 is outside the requirement `^0.1` that myapp has in Cargo.toml\n\
         help: `--allow-requirement-change` changes it to `0.2.0` (cargo add memcache@0.2.0) \
         as one add-on release\n",
        "{refusal}"
    );
    assert_eq!(p.release_files(), ["v1.toml"]);

    // Inside the requirement, as before: `cargo update --precise`.
    ok(
        &p,
        &[
            "addons",
            "upgrade",
            "memcache@0.1.1",
            "--allow-requirement-change",
        ],
    );
    assert_eq!(p.ok(&["run"]), "memcache 0.1.1\n");
    assert_eq!(p.read("Cargo.toml"), MANIFEST);
    let v2 = p.read(".releases/v2.toml");
    assert!(
        v2.contains("change = \"Add-on upgrade memcache 0.1.0 => 0.1.1\"\n"),
        "{v2}"
    );
    p.advance(60);

    let upgrade = ok(
        &p,
        &[
            "addons:upgrade",
            "memcache@0.2.0",
            "--allow-requirement-change",
        ],
    );
    assert!(
        upgrade
            .stdout
            .starts_with("Changing memcache on myapp from 0.1.1 to 0.2.0... done, v3\n"),
        "{upgrade}"
    );
    assert_eq!(p.release_files(), ["v1.toml", "v2.toml", "v3.toml"]);
    assert!(
        p.read("Cargo.toml").ends_with("\nmemcache = \"0.2.0\"\n"),
        "{}",
        p.read("Cargo.toml")
    );
    assert_eq!(p.ok(&["run"]), "memcache 0.2.0\n", "the slug was rebuilt");
    let v3 = p.read(".releases/v3.toml");
    assert!(
        v3.contains(
            "change = \"Add-on upgrade memcache 0.1.1 => 0.2.0 (requirement ^0.1 => ^0.2.0)\"\n"
        ),
        "{v3}"
    );
    p.advance(60);

    // Back across it: `cargo add memcache@0.1.0` resolves 0.1.1, the
    // newest its requirement allows, so the version asked for is pinned.
    let refusal = refused(&p, &["addons", "downgrade", "memcache@0.1.0"]);
    assert_eq!(refusal.code, 2, "{refusal}");
    assert!(
        refusal.stderr.starts_with(
            "error: memcache 0.1.0 is outside the requirement `^0.2.0` that myapp has in \
             Cargo.toml\nhelp: "
        ),
        "{refusal}"
    );
    ok(
        &p,
        &[
            "addons",
            "downgrade",
            "memcache@0.1.0",
            "--allow-requirement-change",
        ],
    );
    assert!(
        p.read("Cargo.toml").ends_with("\nmemcache = \"0.1.0\"\n"),
        "{}",
        p.read("Cargo.toml")
    );
    assert_eq!(p.ok(&["run"]), "memcache 0.1.0\n");
    let v4 = p.read(".releases/v4.toml");
    assert!(
        v4.contains(
            "change = \"Add-on downgrade memcache 0.2.0 => 0.1.0 (requirement ^0.2.0 => ^0.1.0)\"\n"
        ),
        "{v4}"
    );
    assert_eq!(
        p.release_files(),
        ["v1.toml", "v2.toml", "v3.toml", "v4.toml"]
    );
    // Without a version there is no requirement to go to.
    let bare = refused(
        &p,
        &[
            "addons",
            "upgrade",
            "memcache",
            "--allow-requirement-change",
        ],
    );
    assert_eq!(bare.code, 2, "{bare}");
}

/// In a workspace, each member's requirement changes in its own manifest
/// and table (`-p`, `--build`).
#[test]
fn a_requirement_change_reaches_every_member_that_uses_the_addon() {
    let p = Project::with_crates(
        REGISTRY,
        &[
            (
                "Cargo.toml",
                "[workspace]\nmembers = [\"api\", \"worker\"]\nresolver = \"2\"\n",
            ),
            (
                "api/Cargo.toml",
                "[package]\nname = \"api\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
                 [dependencies]\nmemcache = \"0.1\"\n",
            ),
            (
                "api/src/main.rs",
                "fn main() { println!(\"api {}\", memcache::VERSION); }\n",
            ),
            (
                "worker/Cargo.toml",
                "[package]\nname = \"worker\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
                 [build-dependencies]\nmemcache = \"0.1.1\"\n",
            ),
            (
                "worker/build.rs",
                "fn main() { println!(\"cargo:rustc-env=MEMCACHE={}\", memcache::VERSION); }\n",
            ),
            (
                "worker/src/main.rs",
                "fn main() { println!(\"worker {}\", env!(\"MEMCACHE\")); }\n",
            ),
        ],
    );
    p.ok(&["deploy"]);
    p.advance(60);
    let refusal = refused(&p, &["addons", "upgrade", "memcache@0.2.0"]);
    assert_eq!(
        refusal.stderr,
        "error: memcache 0.2.0 is outside the requirements `^0.1` that api has in \
         api/Cargo.toml and `^0.1.1` that worker's build script has in worker/Cargo.toml\n\
         help: `--allow-requirement-change` changes the requirements to `0.2.0` (cargo add \
         memcache@0.2.0 -p api; cargo add memcache@0.2.0 -p worker --build) as one add-on \
         release\n",
        "{refusal}"
    );
    ok(
        &p,
        &[
            "addons",
            "upgrade",
            "memcache@0.2.0",
            "--allow-requirement-change",
        ],
    );
    assert!(
        p.read("api/Cargo.toml")
            .ends_with("[dependencies]\nmemcache = \"0.2.0\"\n")
    );
    assert!(
        p.read("worker/Cargo.toml")
            .ends_with("[build-dependencies]\nmemcache = \"0.2.0\"\n")
    );
    assert_eq!(p.ok(&["run", "--bin", "api"]), "api 0.2.0\n");
    assert_eq!(p.ok(&["run", "--bin", "worker"]), "worker 0.2.0\n");
    let v2 = p.read(".releases/v2.toml");
    assert!(
        v2.contains(
            "change = \"Add-on upgrade memcache 0.1.1 => 0.2.0 (requirement ^0.1, ^0.1.1 => ^0.2.0)\"\n"
        ),
        "{v2}"
    );
}
