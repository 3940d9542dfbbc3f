//! Team secrets: with `secret-recipients`, a secret's value travels sealed
//! in the release files, so any recipient's machine runs, rolls back and
//! fingerprints it alike; any other machine sees it masked and is refused
//! where a value is needed; no plaintext ever reaches a git object.

use std::path::{Path, PathBuf};
use std::process::Command;

use fs_err as fs;

use crate::support::*;

const FIRST: &str = "alpha-team-secret-4711";
const SECOND: &str = "beta-team-secret-0815";

/// A program that prints `API_KEY`.
fn main_rs(what: &str) -> String {
    MAIN_RS
        .replace("MYVAR", "API_KEY")
        .replace("hello from v1", &format!("hello from {what}"))
}

/// An SSH key pair made with `ssh-keygen`, commented `name`: the private
/// key's path and the public key's line.
pub fn keygen(p: &Project, name: &str) -> (PathBuf, String) {
    let home = p.scratch().join(format!("home-{name}"));
    let ssh = home.join(".ssh");
    fs::create_dir_all(&ssh).unwrap();
    let key = ssh.join("id_ed25519");
    let output = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", name, "-f"])
        .arg(&key)
        .output()
        .expect("ssh-keygen runs");
    assert!(output.status.success(), "{output:?}");
    let public = fs::read_to_string(key.with_extension("pub")).unwrap();
    (key, public.trim().to_owned())
}

/// The manifest of `p` with `secret-recipients` (and a shared slug store).
fn set_recipients(p: &Project, recipients: &[&str]) {
    let manifest = p.read("Cargo.toml");
    let base = manifest
        .split("\n[package.metadata.release-log]")
        .next()
        .unwrap()
        .to_owned();
    fs::create_dir_all(p.scratch().join("store")).unwrap();
    let list: Vec<String> = recipients.iter().map(|r| format!("{r:?}")).collect();
    p.write(
        "Cargo.toml",
        &format!(
            "{base}\n[package.metadata.release-log]\nslug-store = \"../store\"\n\
             secret-recipients = [{}]\n",
            list.join(", ")
        ),
    );
}

/// Commits everything, the ledger included, as a team shares its history.
fn commit_all(p: &Project, message: &str) {
    p.git(&["add", "-A"]);
    p.git(&["commit", "-q", "--allow-empty", "-m", message]);
}

/// Another machine: a clone of the repository, its own secret store and key.
struct Machine<'p> {
    p: &'p Project,
    dir: PathBuf,
    env: Vec<(String, String)>,
}

impl<'p> Machine<'p> {
    fn clone(p: &'p Project, name: &str, identity: &Path) -> Self {
        let dir = p.clone_repo(&format!("machine-{name}"));
        Self {
            p,
            dir,
            env: machine_env(p, name, identity),
        }
    }

    fn run(&self, args: &[&str]) -> (i32, String, String) {
        let output = self
            .p
            .command(args)
            .current_dir(&self.dir)
            .envs(self.env.iter().cloned())
            .output()
            .unwrap();
        (
            output.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }

    fn ok(&self, args: &[&str]) -> String {
        let (code, stdout, stderr) = self.run(args);
        assert_eq!(code, 0, "`{}` failed:\n{stdout}\n{stderr}", args.join(" "));
        stdout
    }

    /// Every file of the clone but `.git/`, `target/` and the local caches
    /// git ignores (the lock, the index, fetched slugs), by path and digest
    /// of its content, and git's view of it.
    fn state(&self) -> (Vec<(PathBuf, String)>, String) {
        fn walk(dir: &Path, out: &mut Vec<(PathBuf, String)>) {
            for entry in fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                if [".git", "target", ".lock", ".index", ".chain"].contains(&name.as_str()) {
                    continue;
                }
                if path.is_dir() {
                    walk(&path, out);
                } else {
                    out.push((path.clone(), sha256_hex(&fs::read(&path).unwrap())));
                }
            }
        }
        let mut files = Vec::new();
        walk(&self.dir, &mut files);
        files.sort();
        let status = clean(Command::new("git"))
            .args(["status", "--porcelain"])
            .current_dir(&self.dir)
            .output()
            .unwrap();
        (files, String::from_utf8_lossy(&status.stdout).into_owned())
    }
}

/// A machine's own identity and secret store (and nothing of the tester's).
fn machine_env(p: &Project, name: &str, identity: &Path) -> Vec<(String, String)> {
    vec![
        (
            "CARGO_RELEASE_LOG_IDENTITY".to_owned(),
            identity.display().to_string(),
        ),
        (
            "CARGO_RELEASE_LOG_SECRETS".to_owned(),
            p.scratch()
                .join(format!("secrets-{name}"))
                .display()
                .to_string(),
        ),
    ]
}

/// The fingerprint release `version` of the repository at `dir` records for `name`.
fn fingerprint(dir: &Path, version: u64, name: &str) -> String {
    let text = fs::read_to_string(dir.join(format!(".releases/v{version}.toml"))).unwrap();
    let release: toml::Table = toml::from_str(&text).unwrap();
    release["config"][name]["secret"]
        .as_str()
        .unwrap_or_else(|| panic!("v{version} has no secret {name}:\n{text}"))
        .to_owned()
}

/// Every object of the repository at `dir`, as git stores them, and its
/// history as patches: neither may hold a plaintext value.
fn assert_no_plaintext_in_git(dir: &Path, values: &[&str]) {
    let objects = clean(Command::new("git"))
        .args(["cat-file", "--batch-all-objects", "--batch"])
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(objects.status.success());
    assert!(objects.stdout.len() > 1000, "no objects read");
    let log = clean(Command::new("git"))
        .args(["log", "-p", "--all"])
        .current_dir(dir)
        .output()
        .unwrap();
    for value in values {
        for (what, bytes) in [("an object", &objects.stdout), ("a patch", &log.stdout)] {
            assert!(
                !bytes.windows(value.len()).any(|w| w == value.as_bytes()),
                "`{value}` is in {what} of {}",
                dir.display()
            );
        }
    }
    for entry in fs::read_dir(dir.join(".releases")).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            let text = fs::read(&path).unwrap();
            for value in values {
                assert!(
                    !text.windows(value.len()).any(|w| w == value.as_bytes()),
                    "`{value}` is in {}",
                    path.display()
                );
            }
        }
    }
}

#[test]
fn team_secrets_travel_sealed_to_the_recipients_only() {
    let p = Project::new();
    let (alice_key, alice) = keygen(&p, "alice");
    let (bob_key, bob) = keygen(&p, "bob");
    let (carol_key, _carol) = keygen(&p, "carol");
    p.set_env(machine_env(&p, "a", &alice_key));
    set_recipients(&p, &[&alice, &bob]);
    p.write("src/main.rs", &main_rs("v1"));
    p.commit("team secrets");

    // Machine A (alice): v1, the secret at v2, new code at v3, a new value at v4.
    p.ok(&["deploy"]);
    p.advance(60);
    let set = ok(
        &p,
        &["config", "set", "--secret", &format!("API_KEY={FIRST}")],
    );
    assert!(set.stdout.contains("API_KEY => <secret "), "{set}");
    assert!(!set.stdout.contains(FIRST) && !set.stderr.contains(FIRST));
    let v2 = p.read(".releases/v2.toml");
    assert!(v2.contains("sealed = \""), "{v2}");
    assert!(
        v2.contains("[team]") && v2.contains("alice") && v2.contains("bob"),
        "{v2}"
    );
    // Not in A's local store: the value is in the release file, sealed.
    assert!(!p.scratch().join("secrets-a/values").exists());
    assert!(p.ok(&["run"]).contains(FIRST));
    p.advance(60);
    p.write("src/main.rs", &main_rs("v3"));
    p.commit("v3 code");
    p.ok(&["deploy"]);
    p.advance(60);
    ok(&p, &["config", "set", &format!("API_KEY={SECOND}")]);
    let v3 = p.read(".releases/v3.toml");
    assert!(v3.contains("[team]"), "the team key is carried on:\n{v3}");
    assert_eq!(
        fingerprint(p.root(), 2, "API_KEY"),
        fingerprint(p.root(), 3, "API_KEY")
    );
    // The same value set twice records nothing new.
    let again = ok(&p, &["config", "set", &format!("API_KEY={SECOND}")]);
    assert!(again.stdout.contains("unchanged"), "{again}");
    commit_all(&p, "v4");

    // Machine B (bob, a clone): runs each release with its value.
    let b = Machine::clone(&p, "b", &bob_key);
    let masked = b.ok(&["config"]);
    assert!(
        masked.contains("<secret ") && !masked.contains(SECOND),
        "{masked}"
    );
    assert!(b.ok(&["run"]).contains(SECOND));
    assert!(b.ok(&["config", "get", "API_KEY"]).contains(SECOND));
    b.ok(&["rollback", "v3"]);
    let out = b.ok(&["run"]);
    assert!(
        out.contains("hello from v3") && out.contains(FIRST),
        "{out}"
    );
    b.ok(&["rollback", "v2"]);
    let out = b.ok(&["run"]);
    assert!(
        out.contains("hello from v1") && out.contains(FIRST),
        "{out}"
    );
    // B's fingerprint of a value is A's.
    b.ok(&["config", "set", &format!("API_KEY={SECOND}")]);
    assert_eq!(
        fingerprint(&b.dir, 7, "API_KEY"),
        fingerprint(p.root(), 4, "API_KEY")
    );

    // Machine C (carol, no recipient; her key where ssh keeps it): masked
    // values, and refusals that write nothing.
    let c = Machine::clone(&p, "c", &carol_key);
    let masked = c.ok(&["config"]);
    assert!(masked.contains("<secret "), "{masked}");
    let before = c.state();
    let (code, stdout, stderr) = c.run(&["run"]);
    assert_ne!(code, 0, "{stdout}{stderr}");
    assert!(!stdout.contains("hello"), "{stdout}");
    assert!(
        stderr.contains("error: the value of secret config var `API_KEY` is sealed to the team's secret recipients (alice, bob)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("help: ask a recipient to add your public key"),
        "{stderr}"
    );
    assert!(stderr.contains("secret-recipients"), "{stderr}");
    for refused in [
        &["config", "get", "API_KEY"][..],
        &["config", "--shell"],
        &["config", "set", "API_KEY=guess"],
    ] {
        let (code, stdout, stderr) = c.run(refused);
        assert_ne!(code, 0, "{refused:?}: {stdout}{stderr}");
        assert!(
            stderr.contains("sealed to the team's"),
            "{refused:?}: {stderr}"
        );
    }
    let (code, stdout, stderr) = c.run(&["rollback", "v3"]);
    assert_ne!(code, 0, "{stdout}{stderr}");
    assert!(
        stderr.contains(
            "sealed to the team's secret recipients (alice, bob), and no key of this machine is \
             one of them\nhelp: ask a recipient to add your public key"
        ),
        "{stderr}"
    );
    let after = c.state();
    let changed: Vec<_> = after
        .0
        .iter()
        .filter(|f| !before.0.contains(f))
        .chain(before.0.iter().filter(|f| !after.0.contains(f)))
        .map(|(path, _)| path.display().to_string())
        .collect();
    assert!(changed.is_empty(), "a refused command wrote {changed:?}");
    assert_eq!(after.1, before.1, "a refused command changed git's view");
    // `info` says the same: one answer (and fetches the slug, a cache).
    let (code, info, _) = c.run(&["info", "v3"]);
    assert_eq!(code, 0, "{info}");
    assert!(info.contains("Eligible for Rollback?: No (the value of secret API_KEY is sealed to the team's secret recipients (alice, bob)"), "{info}");

    // A removes bob: one new release re-seals every secret to alice alone.
    set_recipients(&p, &[&alice]);
    p.commit("bob leaves");
    // Not behind A's back: a change is refused until the secrets are re-sealed.
    let (code, _, stderr) = {
        let run = p.run(&["config", "set", "API_KEY=x"]);
        (run.code, run.stdout, run.stderr)
    };
    assert_ne!(code, 0);
    assert!(stderr.contains("`secret-recipients` changed"), "{stderr}");
    p.advance(60);
    let protect = ok(&p, &["config", "protect"]);
    assert!(protect.stdout.contains("done, v5"), "{protect}");
    assert!(
        protect
            .stderr
            .contains("bob can no longer open the secrets of v5")
            && protect.stderr.contains("rotate them"),
        "{protect}"
    );
    let v5 = p.read(".releases/v5.toml");
    assert!(v5.contains("change = \"Recipients -bob\""), "{v5}");
    assert_ne!(
        fingerprint(p.root(), 5, "API_KEY"),
        fingerprint(p.root(), 4, "API_KEY"),
        "a new team key"
    );
    assert!(p.ok(&["run"]).contains(SECOND));
    commit_all(&p, "v5");
    let b2 = Machine::clone(&p, "b2", &bob_key);
    let (code, stdout, stderr) = b2.run(&["run"]);
    assert_ne!(code, 0, "{stdout}{stderr}");
    assert!(
        stderr.contains("sealed to the team's secret recipients (alice)"),
        "{stderr}"
    );

    // A rollback across the change copies values sealed to alice and bob,
    // and says so: its team is its target's, until `config protect`.
    p.advance(60);
    ok(&p, &["rollback", "v4"]);
    let v6 = p.read(".releases/v6.toml");
    assert!(v6.contains("bob"), "the target's recipients:\n{v6}");
    assert_eq!(
        fingerprint(p.root(), 6, "API_KEY"),
        fingerprint(p.root(), 4, "API_KEY")
    );
    assert!(p.ok(&["run"]).contains(SECOND));
    p.advance(60);
    let protect = ok(&p, &["config", "protect"]);
    assert!(protect.stdout.contains("done, v7"), "{protect}");
    assert!(
        p.read(".releases/v7.toml")
            .contains("change = \"Recipients -bob\"")
    );

    for dir in [p.root(), &b.dir, &c.dir, &b2.dir] {
        assert_no_plaintext_in_git(dir, &[FIRST, SECOND]);
    }
}

#[test]
fn config_protect_moves_local_secrets_to_the_team() {
    let p = Project::new();
    let (alice_key, alice) = keygen(&p, "alice");
    let (bob_key, bob) = keygen(&p, "bob");
    p.set_env(machine_env(&p, "a", &alice_key));
    set_recipients(&p, &[]);
    p.write("src/main.rs", &main_rs("v1"));
    p.commit("code");
    p.ok(&["deploy"]);
    p.advance(60);
    // One developer: the value stays in A's store.
    ok(&p, &["config", "set", &format!("API_KEY={FIRST}")]);
    assert!(!p.read(".releases/v2.toml").contains("sealed"));
    set_recipients(&p, &[&alice, &bob]);
    p.commit("a team");
    p.advance(60);
    let protect = ok(&p, &["config", "protect"]);
    assert!(protect.stdout.contains("done, v3"), "{protect}");
    assert!(
        protect.stderr.contains("alice, bob can now open"),
        "{protect}"
    );
    let v3 = p.read(".releases/v3.toml");
    assert!(
        v3.contains("change = \"Recipients +alice, +bob; Config protect API_KEY\""),
        "{v3}"
    );
    commit_all(&p, "v3");
    let b = Machine::clone(&p, "b", &bob_key);
    assert!(b.ok(&["run"]).contains(FIRST));
    // Nothing left to protect.
    let again = p.run(&["config", "protect"]);
    assert_ne!(again.code, 0, "{again}");
    assert_no_plaintext_in_git(p.root(), &[FIRST]);
}

#[test]
fn a_deploy_seals_a_secret_it_finds_in_env() {
    let p = Project::new();
    let (alice_key, alice) = keygen(&p, "alice");
    p.set_env(machine_env(&p, "a", &alice_key));
    set_recipients(&p, &[&alice]);
    p.write("src/main.rs", &main_rs("v1"));
    p.commit("code");
    p.ok(&["deploy"]);
    p.advance(60);
    p.write(
        ".cargo/config.toml",
        &format!("[env]\nPORT = \"80\"\nAPI_KEY = \"{FIRST}\"\n"),
    );
    let deploy = ok(&p, &["deploy"]);
    assert!(deploy.stdout.contains("done, v2"), "{deploy}");
    let v2 = p.read(".releases/v2.toml");
    assert!(v2.contains("sealed = \"") && v2.contains("[team]"), "{v2}");
    assert!(!v2.contains(FIRST) && !p.read(".cargo/config.toml").contains(FIRST));
    assert!(p.ok(&["run"]).contains(FIRST));
}

/// An add-on release made on one machine, with a team secret, before its
/// manifests were committed: a recipient's clone rebuilds it to the same
/// sha256 and runs it with the secret's value.
#[test]
fn a_recipient_rebuilds_an_addon_release_and_runs_it_with_its_secret() {
    let p = Project::with_crates(
        REGISTRY,
        &[
            (
                "Cargo.toml",
                "[package]\nname = \"myapp\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\n",
            ),
            ("src/main.rs", &main_rs("v1")),
        ],
    );
    let (alice_key, alice) = keygen(&p, "alice");
    let (bob_key, bob) = keygen(&p, "bob");
    p.set_env(machine_env(&p, "a", &alice_key));
    set_recipients(&p, &[&alice, &bob]);
    p.commit("team secrets");
    p.ok(&["deploy"]);
    p.advance(60);
    ok(
        &p,
        &["config", "set", "--secret", &format!("API_KEY={FIRST}")],
    );
    p.advance(60);
    ok(&p, &["addons:add", "memcache"]);
    // Only the ledger is committed: the manifests cargo edited are not.
    p.git(&["add", ".releases"]);
    p.git(&["commit", "-q", "-m", "v3"]);
    let v3 = p.read(".releases/v3.toml");
    let recorded = v3
        .split("sha256 = \"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();

    let b = Machine::clone(&p, "b", &bob_key);
    let rebuild = b.ok(&["rebuild", "v3"]);
    assert!(rebuild.contains("matches the record"), "{rebuild}");
    let stored = fs::read(b.dir.join(format!(".releases/slugs/{recorded}/myapp"))).unwrap();
    assert_eq!(sha256_hex(&stored), recorded);
    let out = b.ok(&["run"]);
    assert!(out.contains(FIRST), "{out}");
    assert_no_plaintext_in_git(&b.dir, &[FIRST]);
}

/// Anyone who can push can seal a value to the recipients' public keys, or
/// copy an older sealed value, but only a recipient can fingerprint one: a
/// sealed value that does not match its release's fingerprint never runs.
#[test]
fn a_swapped_sealed_value_is_refused() {
    let p = Project::new();
    let (alice_key, alice) = keygen(&p, "alice");
    p.set_env(machine_env(&p, "a", &alice_key));
    set_recipients(&p, &[&alice]);
    p.write("src/main.rs", &main_rs("v1"));
    p.commit("team secrets");
    p.ok(&["deploy"]);
    ok(
        &p,
        &["config", "set", "--secret", &format!("API_KEY={FIRST}")],
    );
    ok(&p, &["config", "set", &format!("API_KEY={SECOND}")]);
    assert!(p.ok(&["run"]).contains(SECOND));
    let sealed = |version: u64| -> String {
        let text = p.read(&format!(".releases/v{version}.toml"));
        let release: toml::Table = toml::from_str(&text).unwrap();
        release["config"]["API_KEY"]["sealed"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let v3 = p.read(".releases/v3.toml");
    p.write(".releases/v3.toml", &v3.replace(&sealed(3), &sealed(2)));
    let run = p.run(&["run"]);
    assert_ne!(run.code, 0, "{run}");
    assert!(!run.stdout.contains(FIRST), "{run}");
    assert!(
        run.stderr.contains(
            "the sealed value of config var `API_KEY` does not match the fingerprint its \
             release records"
        ),
        "{run}"
    );
}
