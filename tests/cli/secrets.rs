//! Secret config vars: values out of git, masked everywhere unless asked for.

use fs_err as fs;

use crate::snap;
use crate::support::*;

/// Commits everything, the ledger and `.cargo/config.toml` included, as a
/// team does to share the history.
fn commit_all(p: &Project, message: &str) {
    p.git(&["add", "-A"]);
    p.git(&["commit", "-q", "--allow-empty", "-m", message]);
}

/// Every byte git holds, in every commit.
fn all_history(p: &Project) -> String {
    p.git(&["log", "-p", "--all", "--format=%H %s"])
}

#[test]
fn secret_values_never_reach_a_committed_file() {
    let p = Project::new();
    p.ok(&["deploy"]);
    commit_all(&p, "v1");
    p.advance(60);
    let set = ok(
        &p,
        &[
            "config",
            "set",
            "DATABASE_URL=postgres://admin:pw@db/prod",
            "MYVAR=42",
        ],
    );
    assert!(
        set.stdout.contains(
            "DATABASE_URL is kept secret, out of git, as its value is a URL with a password"
        ),
        "{set}"
    );
    commit_all(&p, "v2");
    p.advance(60);
    ok(&p, &["config", "set", "API_TOKEN=tok-123456"]);
    commit_all(&p, "v3");
    p.advance(60);
    ok(&p, &["config", "unset", "DATABASE_URL"]);
    commit_all(&p, "v4");
    p.advance(60);
    ok(&p, &["rollback", "v2"]);
    commit_all(&p, "v5");
    let history = all_history(&p);
    for secret in ["admin:pw", "tok-123456"] {
        assert!(
            !history.contains(secret),
            "`{secret}` reached git:\n{history}"
        );
    }
    for file in p.git(&["ls-files", ".releases", ".cargo"]).lines() {
        let text = p.read(file);
        assert!(
            !text.contains("admin:pw") && !text.contains("tok-123456"),
            "{file}"
        );
    }
    // The running program still gets every value.
    assert_eq!(
        p.ok(&["config", "get", "DATABASE_URL"]),
        "postgres://admin:pw@db/prod\n"
    );
    let v5 = p.read(".releases/v5.toml");
    assert!(
        v5.contains("[config.DATABASE_URL]\nsecret = \"hmac-sha256:"),
        "{v5}"
    );
    assert!(!p.read(".cargo/config.toml").contains("DATABASE_URL"));
}

#[test]
fn every_output_masks_a_secret_unless_asked() {
    let p = Project::new();
    p.ok(&["deploy"]);
    p.advance(60);
    p.ok(&["config", "set", "--secret", "MYVAR=hunter2"]);
    p.ok(&["config", "set", "PLAIN=visible"]);
    p.advance(60);
    p.ok(&["config", "set", "MYVAR=hunter3"]);
    p.advance(60);
    let runs = vec![
        ok(&p, &["releases"]),
        ok(&p, &["info"]),
        ok(&p, &["config"]),
        ok(&p, &["config", "--json"]),
        ok(&p, &["diff", "v2"]),
        ok(&p, &["diff", "v3"]),
        ok(&p, &["check"]),
        ok(&p, &["info", "--json"]),
    ];
    for run in &runs {
        assert!(!run.to_string().contains("hunter"), "{run}");
    }
    snap!(transcript(&runs));
    // Asked for, the value shows.
    assert_eq!(p.ok(&["config", "get", "MYVAR"]), "hunter3\n");
    assert!(p.ok(&["config", "--reveal"]).contains("MYVAR: hunter3\n"));
    assert!(
        p.ok(&["config", "--json", "--reveal"])
            .contains("\"MYVAR\": \"hunter3\"")
    );
    assert_eq!(
        vars(p.ok(&["config", "--shell"])),
        "MYVAR=hunter3\nPLAIN=visible\n"
    );
    assert_eq!(
        p.ok(&["run"]),
        "hello from v1 (MYVAR=Some(\"hunter3\"), args=[])\n"
    );

    // A secret-looking value edited into `[env]` by hand: an error shows
    // that it changed, never the value; a deploy keeps it secret.
    p.write(
        ".cargo/config.toml",
        &(p.read(".cargo/config.toml") + "DB_PASSWORD = \"s3cr3t\"\n"),
    );
    let refused = refused(&p, &["config", "set", "X=1"]);
    assert!(
        refused.stderr.contains("+ DB_PASSWORD => <hidden>"),
        "{refused}"
    );
    let sync_preview = p.run(&["config"]);
    let sync = ok(&p, &["sync"]);
    p.write(
        ".cargo/config.toml",
        &(p.read(".cargo/config.toml") + "DB_PASSWORD = \"s3cr3t\"\n"),
    );
    let deploy = ok(&p, &["deploy"]);
    assert!(
        deploy.stdout.contains(
            "-----> Keeping DB_PASSWORD secret, as its name looks secret: its value moved from .cargo/config.toml to the secret store"
        ),
        "{deploy}"
    );
    assert!(!p.read(".cargo/config.toml").contains("s3cr3t"));
    assert_eq!(p.ok(&["config", "get", "DB_PASSWORD"]), "s3cr3t\n");
    let runs = [refused, sync_preview, sync, deploy];
    for run in &runs {
        assert!(!run.to_string().contains("s3cr3t"), "{run}");
    }
    snap!(transcript(&runs));
}

#[test]
fn a_rollback_needs_the_secret_here_and_says_which() {
    let p = Project::new();
    p.ok(&["deploy"]);
    p.ok(&["config", "set", "SESSION_KEY=abc"]);
    p.ok(&["config", "unset", "SESSION_KEY"]);
    // Another machine: the release files, but not this machine's store.
    fs::remove_dir_all(p.secret_store()).unwrap();
    let run = refused(&p, &["rollback", "v2"]);
    assert!(
        run.stderr.starts_with(
            "error: cannot roll back to v2: the value of secret SESSION_KEY is not on this machine"
        ),
        "{run}"
    );
    let check = ok(&p, &["check"]);
    assert!(
        check.stdout.is_empty() || !check.stdout.contains("abc"),
        "{check}"
    );
}

#[test]
fn plain_values_of_secret_looking_vars_are_protected_once() {
    let p = Project::new();
    p.ok(&["deploy"]);
    p.ok(&[
        "config",
        "set",
        "--plain",
        "GITHUB_TOKEN=ghp_visible",
        "PORT=80",
    ]);
    assert!(p.read(".releases/v2.toml").contains("ghp_visible"));
    let protect = ok(&p, &["config", "protect"]);
    assert!(
        protect.stdout.contains("GITHUB_TOKEN => <secret "),
        "{protect}"
    );
    assert!(!p.read(".releases/v3.toml").contains("ghp_visible"));
    assert!(!p.read(".cargo/config.toml").contains("ghp_visible"));
    assert_eq!(p.read(".releases/v3.toml").matches("secret = ").count(), 1);
    assert!(p.ok(&["releases"]).contains("Config protect GITHUB_TOKEN"));
    assert_eq!(p.ok(&["config", "get", "GITHUB_TOKEN"]), "ghp_visible\n");
    let again = p.run(&["config", "protect"]);
    assert_eq!(again.code, 2, "{again}");
}

#[test]
fn cargo_gets_the_secrets_through_a_config_file_outside_the_workspace() {
    let p = Project::new();
    p.ok(&["deploy"]);
    p.ok(&["config", "set", "--secret", "MYVAR=hunter2"]);
    let output = p.command(&["config", "--cargo-config"]).output().unwrap();
    let path = String::from_utf8(output.stdout).unwrap();
    let path = path.trim_end();
    assert!(
        path.starts_with(&p.secret_store().display().to_string()),
        "{path}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let output = p
        .program(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args(["--config", path, "run", "--quiet", "--offline"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "hello from v1 (MYVAR=Some(\"hunter2\"), args=[])\n",
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn values_have_a_size_limit() {
    let p = Project::new();
    p.ok(&["deploy"]);
    let big = format!("BIG={}", "x".repeat(40 * 1024));
    let run = refused(&p, &["config", "set", &big]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("a config value is at most 32,768 bytes"),
        "{run}"
    );
}
