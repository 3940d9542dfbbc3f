//! The slug store against a real S3-compatible server (s3s-fs, in-process).

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
    let err = RemoteStore::parse_with_env("s3://slugs/a//b", root.path(), no_env()).unwrap_err();
    assert!(format!("{err:#}").contains("the prefix of"), "{err:#}");
}
