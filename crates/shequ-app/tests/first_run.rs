//! The first run of a data folder: asked once, laptop (with the centre's key from a pasted
//! line or a key file's text, a secret key refused) or centre (its key made); a folder
//! already in use is not asked.

use chrono::Utc;
use shequ_app::analysis::Role;
use shequ_app::{App, Passphrase};
use shequ_core::ErrorCode;

fn fresh() -> (tempfile::TempDir, App) {
    let dir = tempfile::tempdir().unwrap();
    let app = App::open(dir.path(), &Passphrase::new("test passphrase"), Utc::now()).unwrap();
    (dir, app)
}

#[test]
fn a_new_folder_is_asked_once_and_a_laptop_takes_the_centre_key_from_a_key_file() {
    let (dir, mut app) = fresh();
    let first = app.first_run().unwrap();
    assert!(first.pending);
    assert_eq!(first.data_dir, dir.path().display().to_string());
    let centre = shequ_bundle::CentreIdentity::generate();
    // What `age-keygen` prints of a secret key is refused: it belongs at the centre only.
    let secret = format!(
        "# created: 2026-11-30\n# public key: {}\n{}\n",
        centre.recipient(),
        &*centre.secret()
    );
    let e = app.choose_laptop(Some(&secret)).unwrap_err();
    assert_eq!(e.params["why"], "secret_key_given");
    let e = app.choose_laptop(Some("age1notakey")).unwrap_err();
    assert_eq!(e.code, ErrorCode::BundleKeyInvalid);
    assert!(
        app.first_run().unwrap().pending,
        "nothing written on a refusal"
    );
    // A key file with a comment line, as a centre might hand it out.
    let file = format!("社区分析 区中心公钥：\n{}\n", centre.recipient());
    app.choose_laptop(Some(&file)).unwrap();
    assert_eq!(app.centre_recipient().unwrap(), Some(centre.recipient()));
    assert_eq!(app.role().unwrap(), Role::Laptop);
    assert!(!app.first_run().unwrap().pending, "asked once");
}

#[test]
fn the_centre_makes_its_key_and_a_folder_in_use_is_not_asked() {
    let (_dir, mut app) = fresh();
    let key = app.choose_centre().unwrap();
    assert!(key.starts_with("age1"));
    // Asked once: the choice cannot be made again (the home screen switches the role).
    let again = app.choose_laptop(None).unwrap_err();
    assert_eq!(again.params["why"], "first_run_done");
    assert_eq!(
        app.choose_centre().unwrap_err().params["why"],
        "first_run_done"
    );
    assert_eq!(app.key_status().unwrap().centre_public, Some(key.clone()));
    assert_eq!(app.role().unwrap(), Role::Centre);
    assert!(app.key_status().unwrap().is_centre);
    assert!(!app.first_run().unwrap().pending);

    let (_d2, mut used) = fresh();
    used.load_demo(Utc::now()).unwrap();
    assert!(!used.first_run().unwrap().pending);
    assert_eq!(
        used.choose_centre().unwrap_err().params["why"],
        "first_run_done"
    );
    assert!(
        !used.key_status().unwrap().is_centre,
        "a folder in use is not made a centre"
    );
    // A laptop may start without the key and set it later.
    let (_d3, mut later) = fresh();
    later.choose_laptop(None).unwrap();
    assert_eq!(later.centre_recipient().unwrap(), None);
    assert!(!later.first_run().unwrap().pending);
}
