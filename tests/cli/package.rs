//! The published package: its `rust-version` is true of every package `Cargo.lock` pins.

use std::ffi::OsString;
use std::process::Command;

/// The cargo running the tests.
fn cargo() -> OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

/// The host's target triple, from `cargo -vV`.
fn host() -> String {
    let output = Command::new(cargo()).arg("-vV").output().unwrap();
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    stdout
        .lines()
        .find_map(|line| line.strip_prefix("host: "))
        .unwrap_or_else(|| panic!("`cargo -vV` names no host:\n{stdout}"))
        .to_owned()
}

#[test]
fn rust_version_is_new_enough_for_every_locked_package() {
    // Offline and quick: `cargo test` has downloaded every package the host
    // builds, but not those only other platforms build, which plain
    // `cargo metadata` would fetch; `--filter-platform` leaves those out.
    let metadata = cargo_metadata::MetadataCommand::new()
        .cargo_path(cargo())
        .manifest_path(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"))
        .other_options(["--locked", "--offline", "--filter-platform", &host()].map(String::from))
        .exec()
        .unwrap();
    let root = metadata.root_package().unwrap();
    let ours = root
        .rust_version
        .as_ref()
        .unwrap_or_else(|| panic!("{} sets no rust-version", root.name));
    // The dependencies were listed: an empty list would pass whatever it held.
    let count = metadata.packages.len();
    assert!(count > 100, "only {count} packages");
    let newer: Vec<String> = metadata
        .packages
        .iter()
        .filter_map(|package| {
            let needs = package.rust_version.as_ref()?;
            (needs > ours).then(|| {
                format!(
                    "{} {} (rust-version {needs})",
                    package.name, package.version
                )
            })
        })
        .collect();
    assert!(
        newer.is_empty(),
        "Cargo.toml says rust-version {ours}, but locked packages need a newer Rust:\n{}",
        newer.join("\n")
    );
}
