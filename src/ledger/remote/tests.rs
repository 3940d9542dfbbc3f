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

#[cfg(feature = "s3")]
mod s3 {
    use object_store::{PutMode, PutPayload};

    use super::super::s3_server::{BUCKET, S3Server, SECRET_KEY};
    use super::*;

    fn env(server: &S3Server) -> Vec<(OsString, OsString)> {
        server
            .env()
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect()
    }

    fn s3_store(server: &S3Server, spec: &str) -> RemoteStore {
        let root = tempfile::tempdir().unwrap();
        RemoteStore::parse_with_env(spec, root.path(), env(server)).unwrap()
    }

    /// The file s3s-fs keeps an object in, and its identity: a re-put replaces the file.
    fn identity(path: &Path) -> (u64, std::time::SystemTime) {
        use std::os::unix::fs::MetadataExt as _;
        let meta = fs::metadata(path).unwrap();
        (meta.ino(), meta.modified().unwrap())
    }

    #[test]
    fn upload_once_then_fetch() {
        let server = S3Server::start();
        let store = s3_store(&server, &format!("s3://{BUCKET}/team/slugs/"));
        let contents = bytes(70_000, 8);
        let app = exe("app", &contents);
        let (_dir, built) = local_file(&contents);

        assert!(!store.contains(&app).unwrap());
        assert_eq!(
            store.upload(&app, &built).unwrap(),
            Uploaded::Sent { bytes: 70_000 }
        );
        let object = server
            .bucket_dir()
            .join("team/slugs")
            .join(&app.sha256)
            .join("app");
        assert_eq!(fs::read(&object).unwrap(), contents);
        let before = identity(&object);
        assert_eq!(store.upload(&app, &built).unwrap(), Uploaded::Skipped);
        assert_eq!(identity(&object), before, "the object was put again");
        assert_eq!(store.list().unwrap(), std::slice::from_ref(&app));

        // Two uploaders that both missed the object: the one that comes
        // second finds it there (create-if-absent) and writes nothing.
        let key = store.key(&app).unwrap();
        let again = PutPayload::from(contents.clone());
        assert!(
            store
                .put_new(&key, again, PutMode::Create)
                .unwrap()
                .is_none()
        );
        assert_eq!(identity(&object), before, "the object was put again");

        // Someone else's fresh clone fetches and verifies it.
        let other = s3_store(&server, &format!("s3://{BUCKET}/team/slugs"));
        let fresh = tempfile::tempdir().unwrap();
        let dest = fresh
            .path()
            .join(".releases/slugs")
            .join(&app.sha256)
            .join("app");
        assert_eq!(
            other.fetch(&app, &dest).unwrap(),
            Fetched::Downloaded { bytes: 70_000 }
        );
        assert_eq!(fs::read(&dest).unwrap(), contents);
        assert_eq!(other.fetch(&app, &dest).unwrap(), Fetched::AlreadyHere);

        assert_eq!(other.delete(&app.sha256, "app").unwrap(), 70_000);
        assert_eq!(store.list().unwrap(), []);
        assert!(!object.exists());
    }

    /// An S3 object is identified by its size, ETag, time and version,
    /// which every write through S3 changes: one verified is not read again
    /// while they hold (here shown by an edit behind the server's back,
    /// which keeps them, and which only reading finds); a new time has it
    /// read again.
    #[test]
    fn remembered_while_etag_and_time_hold() {
        let server = S3Server::start();
        let root = tempfile::tempdir().unwrap();
        fs::create_dir(root.path().join(".releases")).unwrap();
        // A bucket of its own, as a team's would be.
        let bucket = server.create_bucket("team-slugs");
        let spec = "s3://team-slugs/slugs";
        let store = RemoteStore::parse_with_env(spec, root.path(), env(&server)).unwrap();
        let contents = bytes(20_000, 14);
        let app = exe("app", &contents);
        let (_dir, built) = local_file(&contents);
        assert_eq!(
            store.upload(&app, &built).unwrap(),
            Uploaded::Sent { bytes: 20_000 }
        );
        let text = fs::read_to_string(root.path().join(".releases").join(REMEMBERED)).unwrap();
        assert!(
            text.contains(&format!("\t{spec} at {}\t", server.endpoint()))
                && text.contains("\tobject 20000 \""),
            "{text}"
        );
        let object = bucket.join("slugs").join(&app.sha256).join("app");
        let before = identity(&object);
        assert_eq!(store.upload(&app, &built).unwrap(), Uploaded::Skipped);
        assert_eq!(identity(&object), before, "the object was put again");

        super::flip_a_byte(&object);
        assert_eq!(store.upload(&app, &built).unwrap(), Uploaded::Skipped);
        // What `check --store` does: read it, whatever was remembered.
        assert!(matches!(
            store.examine(&app, Trust::Nothing).unwrap(),
            Found::Wrong(Damage::Bytes(_))
        ));
        // A write through S3 gives the object a new time.
        let later =
            fs::metadata(&object).unwrap().modified().unwrap() + std::time::Duration::from_secs(5);
        super::set_modified(&object, later);
        assert!(matches!(
            store.upload(&app, &built).unwrap(),
            Uploaded::Repaired {
                damage: Damage::Bytes(_),
                ..
            }
        ));
        assert_eq!(fs::read(&object).unwrap(), contents);
        assert_eq!(
            store.examine(&app, Trust::Nothing).unwrap(),
            Found::Verified
        );
        assert_eq!(
            store.object_name(&app).unwrap(),
            format!("s3://team-slugs/slugs/{}/app", app.sha256)
        );
    }

    #[test]
    fn big_files_stream_in_parts() {
        let server = S3Server::start();
        let mut store = s3_store(&server, &format!("s3://{BUCKET}"));
        // S3's smallest part, so that the test stays quick with several parts.
        store.part_size = 5 * 1024 * 1024;
        let contents = bytes(11 * 1024 * 1024 + 5, 9);
        let app = exe("server", &contents);
        let (_dir, built) = local_file(&contents);
        assert_eq!(
            store.upload(&app, &built).unwrap(),
            Uploaded::Sent { bytes: app.size }
        );
        let object = server.bucket_dir().join(&app.sha256).join("server");
        let before = identity(&object);
        assert_eq!(store.upload(&app, &built).unwrap(), Uploaded::Skipped);
        assert_eq!(identity(&object), before, "the object was put again");
        assert_eq!(store.list().unwrap(), std::slice::from_ref(&app));

        let fresh = tempfile::tempdir().unwrap();
        let dest = fresh.path().join("server");
        assert_eq!(
            store.fetch(&app, &dest).unwrap(),
            Fetched::Downloaded { bytes: app.size }
        );
        assert!(fs::read(&dest).unwrap() == contents);

        // A local file that changed after it was stored is never completed into an object.
        let mut changed = contents.clone();
        changed[6 * 1024 * 1024] ^= 1;
        let other = exe("other", &contents);
        let (_dir, built) = local_file(&changed);
        let err = store.upload(&other, &built).unwrap_err();
        assert!(
            format!("{err:#}").contains("is not the `other` recorded"),
            "{err:#}"
        );
        assert_eq!(store.list().unwrap(), [app]);
    }

    #[test]
    fn corrupt_and_missing() {
        let server = S3Server::start();
        let store = s3_store(&server, &format!("s3://{BUCKET}/slugs"));
        corrupt_objects_are_refused(&store, &server.bucket_dir().join("slugs"));
        missing_objects_are_named(&store);
    }

    #[test]
    fn secrets_never_show() {
        let server = S3Server::start();
        let store = s3_store(&server, &format!("s3://{BUCKET}/slugs"));
        let shown = format!("{store} {store:?}");
        assert!(shown.contains(server.endpoint()), "{shown}");
        assert!(!shown.contains(SECRET_KEY), "{shown}");

        // A wrong secret and credentials in the endpoint URL: the errors name neither.
        let root = tempfile::tempdir().unwrap();
        let mut env = env(&server);
        let wrong = "wrong-secret-9fQ2";
        for (key, value) in &mut env {
            if key == "AWS_SECRET_ACCESS_KEY" {
                *value = wrong.into();
            }
            if key == "AWS_ENDPOINT" {
                let with_user = server.endpoint().replace("http://", "http://user:pw-3kT@");
                *value = with_user.into();
            }
        }
        let store =
            RemoteStore::parse_with_env(&format!("s3://{BUCKET}/slugs"), root.path(), env).unwrap();
        let app = exe("app", b"contents");
        let (_dir, built) = local_file(b"contents");
        let errors = [
            store.upload(&app, &built).unwrap_err(),
            store.fetch(&app, &root.path().join("app")).unwrap_err(),
            store.list().unwrap_err(),
        ];
        for err in errors {
            let text = format!("{store} {store:?} {err:#} {err:?}");
            for secret in [SECRET_KEY, wrong, "pw-3kT"] {
                assert!(!text.contains(secret), "{secret} shows in: {text}");
            }
        }
        assert_eq!(names(&server.bucket_dir()), Vec::<String>::new());
    }

    #[test]
    fn parse_errors() {
        let root = tempfile::tempdir().unwrap();
        let err =
            RemoteStore::parse_with_env("s3://slugs/a//b", root.path(), no_env()).unwrap_err();
        assert!(format!("{err:#}").contains("the prefix of"), "{err:#}");
    }
}

/// A directory store of a workspace with a ledger folder, where what is verified is remembered.
fn remembering_directory_store() -> (tempfile::TempDir, RemoteStore) {
    let (root, store) = directory_store();
    fs::create_dir(root.path().join(".releases")).unwrap();
    fs::write(root.path().join(".releases/.gitignore"), "/slugs/").unwrap();
    (root, store)
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

#[test]
fn an_object_counts_once_its_bytes_are_verified() {
    // No ledger folder: nothing is remembered, every object is read.
    let (root, store) = directory_store();
    let contents = bytes(5000, 11);
    let app = exe("app", &contents);
    let (_dir, built) = local_file(&contents);
    assert_eq!(store.examine(&app, Trust::Nothing).unwrap(), Found::Missing);
    store.upload(&app, &built).unwrap();
    assert_eq!(
        store.examine(&app, Trust::Nothing).unwrap(),
        Found::Verified
    );
    assert!(!root.path().join(".releases").exists());

    // Same size, other bytes: found, and replaced with the right ones.
    let object = Path::new(&store.location).join(&app.sha256).join("app");
    flip_a_byte(&object);
    let bad = hex(&Sha256::digest(fs::read(&object).unwrap()));
    assert_eq!(
        store.examine(&app, Trust::Remembered).unwrap(),
        Found::Wrong(Damage::Bytes(bad.clone()))
    );
    assert_eq!(
        store.upload(&app, &built).unwrap(),
        Uploaded::Repaired {
            bytes: 5000,
            damage: Damage::Bytes(bad)
        }
    );
    assert_eq!(fs::read(&object).unwrap(), contents);
    assert_eq!(store.upload(&app, &built).unwrap(), Uploaded::Skipped);

    // Longer: counted up to where reading stopped.
    fs::write(&object, bytes(9000, 11)).unwrap();
    assert_eq!(
        store.examine(&app, Trust::Nothing).unwrap(),
        Found::Wrong(Damage::Size(9000))
    );
    assert_eq!(
        store.object_name(&app).unwrap(),
        object.display().to_string()
    );
}

#[test]
fn a_directory_object_is_remembered_only_while_its_file_is_unchanged() {
    let (root, store) = remembering_directory_store();
    let contents = bytes(3000, 12);
    let app = exe("app", &contents);
    let (_dir, built) = local_file(&contents);
    assert_eq!(
        store.upload(&app, &built).unwrap(),
        Uploaded::Sent { bytes: 3000 }
    );
    // Read back once written, and remembered by the file's stamp.
    let remembered = root.path().join(".releases").join(REMEMBERED);
    let text = fs::read_to_string(&remembered).unwrap();
    let key = format!("{}/app", app.sha256);
    assert!(
        text.lines()
            .any(|l| l.starts_with(&format!("{} 3000\t", app.sha256))
                && l.contains(&format!("\t{key}\tfile 3000 "))),
        "{text}"
    );
    assert_eq!(
        fs::read_to_string(root.path().join(".releases/.gitignore")).unwrap(),
        "/slugs/\n/.store-verified\n"
    );
    assert_eq!(store.upload(&app, &built).unwrap(), Uploaded::Skipped);

    // Changed in place with its modification time put back: the change
    // time tells, and the object is read again.
    let object = Path::new(&store.location).join(&app.sha256).join("app");
    flip_a_byte(&object);
    assert!(matches!(
        store.upload(&app, &built).unwrap(),
        Uploaded::Repaired { .. }
    ));
    assert_eq!(fs::read(&object).unwrap(), contents);
    // Another process of the same clone trusts the repaired object.
    let other = RemoteStore::parse_with_env("shared", root.path(), no_env()).unwrap();
    assert_eq!(
        other.examine(&app, Trust::Remembered).unwrap(),
        Found::Verified
    );

    // A deleted object is forgotten.
    assert_eq!(store.delete(&app.sha256, "app").unwrap(), 3000);
    let text = fs::read_to_string(&remembered).unwrap();
    assert!(!text.contains(&key), "{text}");
}

#[test]
fn a_remembered_line_for_another_object_or_identity_is_no_proof() {
    let (root, store) = remembering_directory_store();
    let contents = bytes(2000, 13);
    let app = exe("app", &contents);
    let (_dir, built) = local_file(&contents);
    store.upload(&app, &built).unwrap();
    let remembered = root.path().join(".releases").join(REMEMBERED);
    let text = fs::read_to_string(&remembered).unwrap();
    let line = text.lines().find(|l| l.starts_with(&app.sha256)).unwrap();
    let object = Path::new(&store.location).join(&app.sha256).join("app");
    let mut bad = contents.clone();
    bad[0] ^= 1;
    fs::write(&object, &bad).unwrap();
    let stamp = crate::files::stamp(&fs::metadata(&object).unwrap());
    // The damaged file's own identity, but remembered for another store,
    // another key, another size: none vouches for it.
    let (_, rest) = line.split_once('\t').unwrap();
    let (scope, rest) = rest.split_once('\t').unwrap();
    let (key, _) = rest.split_once('\t').unwrap();
    let forged = [
        format!("{} 2000\tother store\t{key}\tfile {stamp}", app.sha256),
        format!(
            "{} 2000\t{scope}\t{}/other\tfile {stamp}",
            app.sha256, app.sha256
        ),
        format!("{} 2001\t{scope}\t{key}\tfile {stamp}", app.sha256),
        // Torn: no identity.
        format!("{} 2000\t{scope}\t{key}\tfile", app.sha256),
    ];
    fs::write(&remembered, forged.join("\n") + "\n").unwrap();
    let fresh = RemoteStore::parse_with_env("shared", root.path(), no_env()).unwrap();
    assert!(matches!(
        fresh.upload(&app, &built).unwrap(),
        Uploaded::Repaired {
            damage: Damage::Bytes(_),
            ..
        }
    ));
    assert_eq!(fs::read(&object).unwrap(), contents);
}
