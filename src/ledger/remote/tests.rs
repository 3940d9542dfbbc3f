use std::ffi::OsString;
use std::path::PathBuf;

use sha2::{Digest as _, Sha256};

use super::verified::REMEMBERED;
use super::*;

/// An executable's record and its bytes.
fn exe(name: &str, bytes: &[u8]) -> Executable {
    Executable {
        name: name.to_owned(),
        size: bytes.len() as u64,
        sha256: hex(&Sha256::digest(bytes)),
    }
}

/// Bytes that differ at every size, so a digest tells them apart.
fn bytes(len: usize, seed: u8) -> Vec<u8> {
    let mut x = u32::from(seed) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

/// A temporary folder holding `file` with `contents`.
fn local_file(contents: &[u8]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("built");
    fs::write(&path, contents).unwrap();
    (dir, path)
}

fn no_env() -> Vec<(OsString, OsString)> {
    Vec::new()
}

/// The names in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

fn directory_store() -> (tempfile::TempDir, RemoteStore) {
    let root = tempfile::tempdir().unwrap();
    fs::create_dir(root.path().join("shared")).unwrap();
    let store = RemoteStore::parse_with_env("shared", root.path(), no_env()).unwrap();
    (root, store)
}

#[test]
fn parse_directories() {
    let root = tempfile::tempdir().unwrap();
    let shared = root.path().join("mnt slugs");
    fs::create_dir(&shared).unwrap();
    // Relative to the workspace root, absolute, and as a file:// URL.
    for spec in [
        "mnt slugs".to_owned(),
        shared.display().to_string(),
        url::Url::from_directory_path(&shared).unwrap().to_string(),
    ] {
        let store = RemoteStore::parse(&spec, root.path()).unwrap();
        assert_eq!(store.location, shared.display().to_string(), "{spec}");
        assert_eq!(
            store.to_string(),
            format!("slug store `{}`", shared.display())
        );
    }
}

#[test]
fn parse_refuses_what_is_no_store() {
    let root = tempfile::tempdir().unwrap();
    fs::write(root.path().join("file"), "").unwrap();
    let cases = [
        ("", "`slug-store` is empty"),
        ("  ", "`slug-store` is empty"),
        ("missing", "is the shared folder mounted?"),
        ("file", "is not a directory"),
        (
            "gs://bucket/slugs",
            "`slug-store = \"gs://bucket/slugs\"` is not supported",
        ),
        ("https://example.com/slugs", "is not supported"),
        ("file://host/slugs", "is not a local `file://` URL"),
        ("s3://", "does not name a bucket"),
        ("s3:///slugs", "does not name a bucket"),
        ("s3://bu?cket/x", "does not name a bucket"),
        ("s3://Bucket Name/x", "does not name a bucket"),
    ];
    for (spec, expected) in cases {
        let err = RemoteStore::parse_with_env(spec, root.path(), no_env()).unwrap_err();
        let text = format!("{err:#}");
        assert!(text.contains(expected), "{spec:?}: {text}");
    }
}

#[test]
fn credentials_in_the_url_are_refused_unechoed() {
    let root = tempfile::tempdir().unwrap();
    for spec in [
        "s3://AKIAEXAMPLE:wJalrXUtnFEMI@bucket/slugs",
        "https://AKIAEXAMPLE:wJalrXUtnFEMI@example.com/slugs",
        "file://AKIAEXAMPLE:wJalrXUtnFEMI@/slugs",
    ] {
        let err = RemoteStore::parse_with_env(spec, root.path(), no_env()).unwrap_err();
        let text = format!("{err:#} {err:?}");
        assert!(text.contains("must not hold credentials"), "{text}");
        assert!(
            !text.contains("wJalrXUtnFEMI") && !text.contains("AKIAEXAMPLE"),
            "{text}"
        );
    }
}

#[test]
#[cfg(unix)]
fn fetch_refuses_a_symlinked_folder() {
    let (_root, store) = directory_store();
    let contents = bytes(100, 10);
    let app = exe("app", &contents);
    let (_dir, built) = local_file(&contents);
    store.upload(&app, &built).unwrap();
    let fresh = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(outside.path(), fresh.path().join("slug")).unwrap();
    let err = store
        .fetch(&app, &fresh.path().join("slug/app"))
        .unwrap_err();
    assert!(format!("{err:#}").contains("is a symbolic link"), "{err:#}");
    assert_eq!(names(outside.path()), Vec::<String>::new());
    // Nor is a symlink where the executable goes replaced.
    std::os::unix::fs::symlink(&built, fresh.path().join("app")).unwrap();
    let err = store.fetch(&app, &fresh.path().join("app")).unwrap_err();
    assert!(format!("{err:#}").contains("not a regular file"), "{err:#}");
}

#[test]
#[cfg(not(feature = "s3"))]
fn s3_needs_the_feature() {
    let root = tempfile::tempdir().unwrap();
    let err = RemoteStore::parse_with_env("s3://bucket/slugs", root.path(), no_env()).unwrap_err();
    assert!(format!("{err}").contains("--features s3"), "{err}");
}

#[test]
fn directory_upload_skip_fetch() {
    let (_root, store) = directory_store();
    let contents = bytes(3000, 1);
    let app = exe("app", &contents);
    let (_dir, built) = local_file(&contents);

    assert!(!store.contains(&app).unwrap());
    assert_eq!(
        store.upload(&app, &built).unwrap(),
        Uploaded::Sent { bytes: 3000 }
    );
    assert!(store.contains(&app).unwrap());
    let object = Path::new(&store.location).join(&app.sha256).join("app");
    assert_eq!(fs::read(&object).unwrap(), contents);
    // Content-addressed: the second upload sends nothing.
    let written = fs::metadata(&object).unwrap().modified().unwrap();
    assert_eq!(store.upload(&app, &built).unwrap(), Uploaded::Skipped);
    assert_eq!(fs::metadata(&object).unwrap().modified().unwrap(), written);
    assert_eq!(store.list().unwrap(), std::slice::from_ref(&app));

    let fresh = tempfile::tempdir().unwrap();
    let dest = fresh.path().join("slugs").join(&app.sha256).join("app");
    assert_eq!(
        store.fetch(&app, &dest).unwrap(),
        Fetched::Downloaded { bytes: 3000 }
    );
    assert_eq!(fs::read(&dest).unwrap(), contents);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = fs::metadata(&dest).unwrap().permissions().mode();
        assert_eq!(mode & 0o111, 0o111, "{mode:o}");
    }
    // Fetching what is already here reads nothing from the store.
    fs::remove_file(&object).unwrap();
    assert_eq!(store.fetch(&app, &dest).unwrap(), Fetched::AlreadyHere);
    assert_eq!(names(dest.parent().unwrap()), ["app"]);
}

#[test]
fn directory_big_files_go_in_parts() {
    let (_root, mut store) = directory_store();
    store.part_size = 64 * 1024;
    let contents = bytes(200 * 1024 + 17, 2);
    let app = exe("app", &contents);
    let (_dir, built) = local_file(&contents);
    assert_eq!(
        store.upload(&app, &built).unwrap(),
        Uploaded::Sent { bytes: app.size }
    );
    assert_eq!(store.upload(&app, &built).unwrap(), Uploaded::Skipped);
    assert_eq!(store.list().unwrap(), std::slice::from_ref(&app));
    let fresh = tempfile::tempdir().unwrap();
    let dest = fresh.path().join("app");
    store.fetch(&app, &dest).unwrap();
    assert_eq!(fs::read(&dest).unwrap(), contents);
}

#[test]
fn upload_refuses_a_local_file_that_is_not_the_record() {
    let (_root, mut store) = directory_store();
    let app = exe("app", &bytes(5000, 3));
    for part_size in [PART_SIZE, 1024] {
        store.part_size = part_size;
        for wrong in [bytes(5000, 4), bytes(4999, 3), bytes(6000, 3)] {
            let (_dir, built) = local_file(&wrong);
            let err = store.upload(&app, &built).unwrap_err();
            let text = format!("{err:#}");
            assert!(text.contains("is not the `app` recorded"), "{text}");
            assert!(text.contains(&app.sha256), "{text}");
        }
        assert_eq!(store.list().unwrap(), []);
    }
    // An aborted upload may leave an empty `<sha256>/` folder, never a file.
    for name in names(Path::new(&store.location)) {
        let dir = Path::new(&store.location).join(name);
        assert_eq!(names(&dir), Vec::<String>::new());
    }
}

#[test]
fn upload_refuses_a_symlink() {
    let (_root, store) = directory_store();
    let contents = bytes(100, 5);
    let app = exe("app", &contents);
    let (dir, built) = local_file(&contents);
    let link = dir.path().join("link");
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(&built, &link).unwrap();
        let err = store.upload(&app, &link).unwrap_err();
        assert!(format!("{err:#}").contains("not a regular file"), "{err:#}");
    }
}

/// A good local copy, a damaged one, and none, each fetched from a corrupt store.
fn corrupt_objects_are_refused(store: &RemoteStore, object_file: &Path) {
    let contents = bytes(4096, 6);
    let app = exe("app", &contents);
    let (_dir, built) = local_file(&contents);
    store.upload(&app, &built).unwrap();
    let key = format!("{}/app", app.sha256);

    // Same size, other bytes: only the digest can tell.
    let mut bad = contents.clone();
    bad[100] ^= 1;
    fs::write(object_file.join(&app.sha256).join("app"), &bad).unwrap();
    let bad_sha256 = hex(&Sha256::digest(&bad));

    let fresh = tempfile::tempdir().unwrap();
    let dest = fresh.path().join("app");
    let err = store.fetch(&app, &dest).unwrap_err();
    let text = format!("{err:#}");
    assert!(text.contains(&key), "{text}");
    assert!(text.contains("is corrupt"), "{text}");
    assert!(
        text.contains(&bad_sha256) && text.contains(&app.sha256),
        "{text}"
    );
    assert_eq!(
        names(fresh.path()),
        Vec::<String>::new(),
        "a temporary file was left"
    );

    // A good local copy is kept, and the store is not even read.
    fs::write(&dest, &contents).unwrap();
    assert_eq!(store.fetch(&app, &dest).unwrap(), Fetched::AlreadyHere);
    assert_eq!(fs::read(&dest).unwrap(), contents);

    // A damaged local copy is not replaced by a corrupt object either.
    fs::write(&dest, b"truncat").unwrap();
    assert!(store.fetch(&app, &dest).is_err());
    assert_eq!(fs::read(&dest).unwrap(), b"truncat");
    assert_eq!(names(fresh.path()), ["app"]);

    // A shorter object is refused by its size, before anything is downloaded.
    fs::write(object_file.join(&app.sha256).join("app"), &contents[..4000]).unwrap();
    let err = store.fetch(&app, &dest).unwrap_err();
    let text = format!("{err:#}");
    let expected = format!(
        "it has 4000 bytes, but `app` (sha256 {}) has 4096",
        app.sha256
    );
    assert!(text.contains(&expected), "{text}");
    assert!(!store.contains(&app).unwrap());

    // A deploy that has the right bytes repairs it.
    assert_eq!(
        store.upload(&app, &built).unwrap(),
        Uploaded::Repaired {
            bytes: 4096,
            damage: Damage::Size(4000)
        }
    );
    assert_eq!(
        store.fetch(&app, &dest).unwrap(),
        Fetched::Downloaded { bytes: 4096 }
    );
    assert_eq!(fs::read(&dest).unwrap(), contents);
    assert_eq!(names(fresh.path()), ["app"]);
}

/// A missing object names its key and the store.
fn missing_objects_are_named(store: &RemoteStore) {
    let app = exe("app", b"never uploaded");
    let fresh = tempfile::tempdir().unwrap();
    let err = store.fetch(&app, &fresh.path().join("app")).unwrap_err();
    let text = format!("{err:#}");
    assert!(
        text.contains(&format!("{}/app` is not in {store}", app.sha256)),
        "{text}"
    );
    assert_eq!(names(fresh.path()), Vec::<String>::new());
    assert!(!store.contains(&app).unwrap());
    assert_eq!(store.delete(&app.sha256, "app").unwrap(), 0);
}

#[test]
fn directory_corrupt_and_missing() {
    let (_root, store) = directory_store();
    corrupt_objects_are_refused(&store, Path::new(&store.location));
    missing_objects_are_named(&store);
}

#[test]
fn directory_delete() {
    let (_root, store) = directory_store();
    let contents = bytes(1234, 7);
    let app = exe("app", &contents);
    let (_dir, built) = local_file(&contents);
    store.upload(&app, &built).unwrap();
    assert_eq!(store.delete(&app.sha256, "app").unwrap(), 1234);
    assert_eq!(store.list().unwrap(), []);
    // No empty `<sha256>/` folder is left behind.
    assert_eq!(names(Path::new(&store.location)), Vec::<String>::new());
    assert!(store.delete("x", "app").is_err());
    assert!(store.delete(&app.sha256, "../app").is_err());
}

#[test]
fn list_ignores_other_objects() {
    let (_root, store) = directory_store();
    let dir = Path::new(&store.location);
    fs::create_dir_all(dir.join("notes")).unwrap();
    fs::write(dir.join("notes/readme"), "").unwrap();
    fs::write(dir.join("loose"), "").unwrap();
    let app = exe("app", b"x");
    fs::create_dir_all(dir.join(&app.sha256).join("deeper")).unwrap();
    fs::write(dir.join(&app.sha256).join("deeper/app"), "x").unwrap();
    assert_eq!(store.list().unwrap(), []);
    fs::write(dir.join(&app.sha256).join("app"), "x").unwrap();
    assert_eq!(store.list().unwrap(), [app]);
}

/// Flips a byte of the file `path`, keeping its size and modification time.
fn flip_a_byte(path: &Path) {
    let modified = fs::metadata(path).unwrap().modified().unwrap();
    let mut bytes = fs::read(path).unwrap();
    bytes[10] ^= 1;
    fs::write(path, &bytes).unwrap();
    set_modified(path, modified);
}

fn set_modified(path: &Path, time: std::time::SystemTime) {
    fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(time)
        .unwrap();
}

#[cfg(feature = "s3")]
mod s3;

mod remembered;
