//! What a clone verified of the store, remembered only while each object is unchanged.

use super::*;

/// A directory store of a workspace with a ledger folder, where what is verified is remembered.
fn remembering_directory_store() -> (tempfile::TempDir, RemoteStore) {
    let (root, store) = directory_store();
    fs::create_dir(root.path().join(".releases")).unwrap();
    fs::write(root.path().join(".releases/.gitignore"), "/slugs/").unwrap();
    (root, store)
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
