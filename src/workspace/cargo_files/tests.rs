use super::*;

use fs_err as fs;

#[test]
fn excerpts_are_escaped_and_short() {
    assert_eq!(excerpt("name = \"x\"", 80), "name = \"x\"");
    assert_eq!(excerpt("a\0b", 80), "a\\u{0}b");
    // Once anything is escaped, so is `\`, so the excerpt reads back.
    assert_eq!(excerpt("C:\\x\u{1b}", 80), "C:\\\\x\\u{1b}");
    assert_eq!(excerpt(&"x".repeat(200), 10), "xxxxxxxxxx…");
    let nuls = excerpt(&"\0".repeat(1 << 20), 80);
    assert!(nuls.chars().count() <= 81, "{nuls}");
    assert!(nuls.ends_with("\\u{0}…"), "{nuls}");
}

#[test]
fn a_parse_error_shows_where_and_a_short_excerpt() {
    let text = format!("[package]\nname = \"x\"\n{}\n", "\0".repeat(1 << 20));
    let path = Path::new("/w/Cargo.toml");
    let err = parse::<toml::Table>(path, &text).unwrap_err().to_string();
    // The parser stops at the end of the line, which the excerpt ends with.
    assert!(
        err.starts_with(
            "failed to parse `/w/Cargo.toml` at line 3, column 1048577, \
             near `…\\u{0}\\u{0}\\u{0}\\u{0}`: "
        ),
        "{err}"
    );
    // A terminal escape in a comment.
    let text = "[package]\nname = \"x\"\nversion = 1.2.3 # the \u{1b}[2J version\n";
    let err = parse::<toml::Table>(path, text).unwrap_err().to_string();
    assert!(
        err.starts_with(
            "failed to parse `/w/Cargo.toml` at line 3, column 23, \
             near `…rsion = 1.2.3 # the \\u{1b}[2J version`: "
        ),
        "{err}"
    );
    assert!(
        err.len() < 300 && !err.contains('\0') && !err.contains('\n'),
        "{err}"
    );

    // A value the error quotes is cut too.
    let text = format!(
        "[[package]]\nname = \"x\"\nversion = \"1\"\ndependencies = \"{}\"\n",
        "y".repeat(1 << 20)
    );
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Lock {
        package: Vec<Package>,
    }
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Package {
        dependencies: Vec<String>,
    }
    let err = parse::<Lock>(Path::new("Cargo.lock"), &text)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("failed to parse `Cargo.lock` at line 4"),
        "{err}"
    );
    assert!(err.len() < 400, "{err}");
}

#[test]
fn member_globs_match_as_cargo_does() {
    assert!(wildcard("*", "api"));
    assert!(wildcard("crate-?", "crate-a"));
    assert!(wildcard("a*b*c", "aXXbYc"));
    assert!(!wildcard("a*b", "aXXc"));
    assert!(!wildcard("crate-?", "crate-ab"));
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for member in ["crates/a", "crates/b", "tools/x"] {
        fs::create_dir_all(root.join(member)).unwrap();
    }
    let mut budget = 100;
    let mut found = expand(root, "crates/*", &mut budget);
    found.sort();
    assert_eq!(found, [root.join("crates/a"), root.join("crates/b")]);
    assert_eq!(expand(root, "tools/x", &mut budget), [root.join("tools/x")]);
}

#[cfg(unix)]
#[test]
fn fifos_devices_links_out_and_huge_files_are_refused_unopened() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("ws");
    fs::create_dir_all(root.join(".cargo")).unwrap();
    fs::create_dir_all(root.join("crates/api")).unwrap();
    let manifest = root.join("Cargo.toml");
    fs::write(&manifest, "[workspace]\nmembers = [\"crates/*\"]\n").unwrap();
    let table: toml::Table = toml::from_str(&fs::read_to_string(&manifest).unwrap()).unwrap();
    let reads = CargoReads::of(&table);
    reads.check(&root, &manifest).unwrap();

    let fifo = |path: &Path| {
        let made = std::process::Command::new("mkfifo")
            .arg(path)
            .status()
            .unwrap();
        assert!(made.success());
    };
    let refused = |needle: &str| {
        let err = reads.check(&root, &manifest).unwrap_err().to_string();
        assert!(err.contains(needle), "{err}");
    };
    for rel in ["Cargo.lock", ".cargo/config.toml", "crates/api/Cargo.toml"] {
        let path = root.join(rel);
        fifo(&path);
        refused(&format!("`{}` is not a regular file", path.display()));
        assert!(read_text(&path, MAX_CARGO_LOCK, Some(&root)).is_err());
        fs::remove_file(&path).unwrap();
        std::os::unix::fs::symlink("/dev/zero", &path).unwrap();
        refused(&format!(
            "`{}` leads out of the workspace, to `/dev/zero`",
            path.display()
        ));
        fs::remove_file(&path).unwrap();
    }
    // A link inside the workspace is followed.
    fs::write(root.join("real.lock"), "version = 4\n").unwrap();
    std::os::unix::fs::symlink("real.lock", root.join("Cargo.lock")).unwrap();
    reads.check(&root, &manifest).unwrap();
    assert_eq!(
        read_text(&root.join("Cargo.lock"), MAX_CARGO_LOCK, Some(&root))
            .unwrap()
            .unwrap(),
        "version = 4\n"
    );
    fs::remove_file(root.join("Cargo.lock")).unwrap();

    // Sparse: gigabytes on paper, refused by its size alone.
    let huge = fs::File::create(root.join("Cargo.lock")).unwrap();
    huge.set_len(2 << 30).unwrap();
    refused("is larger than 10 MiB");
    let err = read_text(&root.join("Cargo.lock"), MAX_CARGO_LOCK, Some(&root)).unwrap_err();
    assert!(err.to_string().contains("is larger than 10 MiB"), "{err}");
}
