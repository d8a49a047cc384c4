//! Encryption at rest, through the store's public API: what reaches the disk, which
//! passphrase opens it, and what a passphrase change and a plain database's first unlock do.

use std::path::Path;

use shequ_core::ErrorCode;
use shequ_store::{FileState, Passphrase, Store};

const SECRET: &str = "住户王秀兰说楼道灯坏了三个月";

fn pass(s: &str) -> Passphrase {
    Passphrase::new(s)
}

/// Every file in the folder, read whole (database, WAL, shared memory, leftovers).
fn folder_bytes(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        out.push((
            e.file_name().to_string_lossy().into_owned(),
            std::fs::read(e.path()).unwrap(),
        ));
    }
    out.sort();
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn assert_nowhere(dir: &Path, needles: &[&[u8]]) {
    let files = folder_bytes(dir);
    assert!(!files.is_empty());
    for (name, bytes) in &files {
        for n in needles {
            assert!(
                !contains(bytes, n),
                "{name} holds {:?} in clear",
                String::from_utf8_lossy(n)
            );
        }
    }
}

#[test]
fn nothing_reaches_the_disk_in_clear_open_or_closed() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("shequ.db");
    let mut s = Store::open(&p, &pass("正确的口令 correct")).unwrap();
    s.set_setting("note", SECRET).unwrap();
    // While open: the WAL holds the write, encrypted too.
    assert!(dir.path().join("shequ.db-wal").exists());
    assert_nowhere(
        dir.path(),
        &[SECRET.as_bytes(), b"SQLite format 3", b"CREATE TABLE"],
    );
    drop(s);
    assert_nowhere(
        dir.path(),
        &[SECRET.as_bytes(), b"SQLite format 3", b"CREATE TABLE"],
    );
    assert_eq!(
        shequ_store::cipher::file_state(&p).unwrap(),
        FileState::Encrypted
    );
}

#[test]
fn only_the_right_passphrase_opens_and_a_wrong_one_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("shequ.db");
    {
        let mut s = Store::open(&p, &pass("正确的口令 correct")).unwrap();
        s.set_setting("note", SECRET).unwrap();
    }
    let before = folder_bytes(dir.path());
    for wrong in ["正确的口令 Correct", "正确的口令 correct ", "", "x"] {
        let e = Store::open(&p, &pass(wrong)).err().expect("refused");
        assert_eq!(e.code, ErrorCode::WrongPassphrase, "{wrong:?}");
    }
    assert_eq!(folder_bytes(dir.path()), before);
    let s = Store::open(&p, &pass("正确的口令 correct")).unwrap();
    assert_eq!(s.setting("note").unwrap().as_deref(), Some(SECRET));
    assert!(s.passphrase_opens(&pass("正确的口令 correct")).unwrap());
    assert!(!s.passphrase_opens(&pass("wrong one!")).unwrap());
}

#[test]
fn a_new_database_needs_a_passphrase_long_enough() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("shequ.db");
    let e = Store::open(&p, &pass("short")).err().expect("refused");
    assert_eq!(e.code, ErrorCode::PassphraseTooShort);
    assert!(!p.exists(), "nothing written for a refused passphrase");
}

#[test]
fn a_passphrase_change_re_encrypts_everything_and_keeps_the_data() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("shequ.db");
    let mut s = Store::open(&p, &pass("old passphrase")).unwrap();
    s.set_setting("note", SECRET).unwrap();
    let e = s.change_passphrase(&pass("short")).unwrap_err();
    assert_eq!(e.code, ErrorCode::PassphraseTooShort);
    s.change_passphrase(&pass("新的口令 new one")).unwrap();
    // The open store goes on working under the new key.
    s.set_setting("after", "写在改口令之后").unwrap();
    drop(s);
    let e = Store::open(&p, &pass("old passphrase")).err().unwrap();
    assert_eq!(e.code, ErrorCode::WrongPassphrase);
    let s = Store::open(&p, &pass("新的口令 new one")).unwrap();
    assert_eq!(s.setting("note").unwrap().as_deref(), Some(SECRET));
    assert_eq!(
        s.setting("after").unwrap().as_deref(),
        Some("写在改口令之后")
    );
    assert!(s.integrity_ok().unwrap());
    assert_eq!(s.schema_version().unwrap(), shequ_store::SCHEMA_VERSION);
    drop(s);
    let names: Vec<String> = folder_bytes(dir.path()).into_iter().map(|f| f.0).collect();
    assert!(
        names.iter().all(|n| !n.contains("rekey")),
        "no copy left: {names:?}"
    );
    assert_nowhere(dir.path(), &[SECRET.as_bytes()]);
}

#[test]
fn a_plain_database_is_encrypted_on_first_unlock_with_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("shequ.db");
    {
        // A database as the builds before encryption made it.
        let c = rusqlite::Connection::open(&p).unwrap();
        c.execute_batch(
            "PRAGMA application_id = 1397248341;
             PRAGMA journal_mode = WAL;",
        )
        .unwrap();
        c.execute_batch(include_str!("../migrations/0001_init.sql"))
            .unwrap();
        c.execute("INSERT INTO settings VALUES ('note', ?1)", [SECRET])
            .unwrap();
        c.pragma_update(None, "user_version", 1).unwrap();
    }
    assert_eq!(
        shequ_store::cipher::file_state(&p).unwrap(),
        FileState::Plain
    );
    // The first passphrase for it must be one that could be chosen.
    let e = Store::open(&p, &pass("short")).err().unwrap();
    assert_eq!(e.code, ErrorCode::PassphraseTooShort);
    assert_eq!(
        shequ_store::cipher::file_state(&p).unwrap(),
        FileState::Plain
    );
    let s = Store::open(&p, &pass("first passphrase")).unwrap();
    assert_eq!(s.setting("note").unwrap().as_deref(), Some(SECRET));
    assert_eq!(s.schema_version().unwrap(), shequ_store::SCHEMA_VERSION);
    drop(s);
    assert_eq!(
        shequ_store::cipher::file_state(&p).unwrap(),
        FileState::Encrypted
    );
    assert_nowhere(dir.path(), &[SECRET.as_bytes(), b"SQLite format 3"]);
    let e = Store::open(&p, &pass("another passphrase")).err().unwrap();
    assert_eq!(e.code, ErrorCode::WrongPassphrase);
}

#[test]
fn a_copy_left_by_an_interrupted_change_is_removed_and_the_original_opens() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("shequ.db");
    drop(Store::open(&p, &pass("old passphrase")).unwrap());
    let tmp = dir.path().join("shequ.db.rekey");
    std::fs::write(&tmp, vec![1u8; 8192]).unwrap();
    std::fs::write(dir.path().join("shequ.db.rekey-journal"), b"x").unwrap();
    drop(Store::open(&p, &pass("old passphrase")).unwrap());
    assert!(!tmp.exists());
    assert!(!dir.path().join("shequ.db.rekey-journal").exists());
}

#[test]
fn the_passphrase_is_not_changed_while_another_store_has_the_database_open() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("shequ.db");
    let mut a = Store::open(&p, &pass("old passphrase")).unwrap();
    a.set_setting("note", SECRET).unwrap();
    // A second window or command, open and idle.
    let b = Store::open(&p, &pass("old passphrase")).unwrap();
    let e = a.change_passphrase(&pass("new passphrase")).unwrap_err();
    assert_eq!(e.code, ErrorCode::StoreBusy);
    // Both go on working under the old passphrase; nothing was copied or renamed.
    a.set_setting("after", "仍然可以保存").unwrap();
    assert_eq!(b.setting("after").unwrap().as_deref(), Some("仍然可以保存"));
    assert!(!dir.path().join("shequ.db.rekey").exists());
    drop(b);
    a.change_passphrase(&pass("new passphrase")).unwrap();
    drop(a);
    let s = Store::open(&p, &pass("new passphrase")).unwrap();
    assert_eq!(s.setting("note").unwrap().as_deref(), Some(SECRET));
    assert_eq!(s.setting("after").unwrap().as_deref(), Some("仍然可以保存"));
}
