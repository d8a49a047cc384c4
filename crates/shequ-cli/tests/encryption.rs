//! Encryption at rest through the real path: interviews typed with `shequ interview script`,
//! the data folder searched byte by byte afterwards, wrong passphrases, a passphrase change
//! killed with SIGKILL fifty times, and the centre key's passphrase-protected backup.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::Lcg;
use shequ_store::Passphrase;

const PASS: &str = "test passphrase";
const ANSWER: &str = "王秀兰的女儿在区妇联上班";
const RESPONDENT: &str = "桃源里7号楼502室";
const COMMUNITY: &str = "桃源里居委会";

fn shequ_with(dir: &Path, pass: Option<&str>, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_shequ"));
    cmd.env_remove("SHEQU_PASSPHRASE")
        .env_remove("SHEQU_NEW_PASSPHRASE")
        .env_remove("SHEQU_BACKUP_PASSPHRASE")
        .env_remove("SHEQU_LANG")
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .stdin(Stdio::null());
    if let Some(p) = pass {
        cmd.env("SHEQU_PASSPHRASE", p);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let o = shequ_with(dir, Some(PASS), args, &[]);
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Every file under `dir`, with its bytes.
fn files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files(&p));
        } else {
            out.push((p.clone(), std::fs::read(&p).unwrap()));
        }
    }
    out.sort();
    out
}

fn find(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

/// A data folder with one community and one finalized interview typed through the CLI.
fn interviewed(root: &Path) -> PathBuf {
    let data = root.join("data");
    ok(&data, &["init"]);
    ok(
        &data,
        &[
            "communities",
            "add",
            "--code",
            "TY-01",
            "--name",
            COMMUNITY,
            "--housing-form",
            "老旧小区",
        ],
    );
    let mut answers = shequ_app::fieldwork::DEFAULT_SCALE_REQUIRED.to_vec();
    answers.extend([("i_contacts", "yes"), ("i_contacts_detail", ANSWER)]);
    // The script lives outside the data folder: it holds the answers in clear.
    let script = root.join("script.json");
    let body = serde_json::json!({
        "start": {"community": "TY-01", "interviewer": "张敏", "respondent": RESPONDENT, "consent": true},
        "answers": answers,
        "finalize": true,
    });
    std::fs::write(&script, body.to_string()).unwrap();
    ok(&data, &["interview", "script", script.to_str().unwrap()]);
    data
}

#[test]
fn no_answer_name_or_key_is_anywhere_in_the_data_folder() {
    let root = tempfile::tempdir().unwrap();
    let data = interviewed(root.path());
    // The answer is really stored: the export (outside the folder) has it.
    let out = root.path().join("export");
    ok(
        &data,
        &[
            "export",
            "--format",
            "csv",
            "--include-personal",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    let exported: Vec<u8> = files(&out).into_iter().flat_map(|f| f.1).collect();
    assert!(find(&exported, ANSWER.as_bytes()));
    assert!(find(&exported, RESPONDENT.as_bytes()));

    let device_key: String =
        shequ_store::raw_connection(&data.join("shequ.db"), &Passphrase::new(PASS))
            .unwrap()
            .query_row(
                "SELECT value FROM settings WHERE key = 'device_signing_key'",
                [],
                |r| r.get(0),
            )
            .unwrap();
    let raw_key = hex::decode(&device_key).unwrap();
    assert_eq!(raw_key.len(), 32);
    let all = files(&data);
    assert!(all.iter().any(|(p, _)| p.ends_with("shequ.db")));
    for (path, bytes) in &all {
        for (what, needle) in [
            ("answer", ANSWER.as_bytes()),
            ("respondent", RESPONDENT.as_bytes()),
            ("community", COMMUNITY.as_bytes()),
            ("interviewer", "张敏".as_bytes()),
            ("device key (hex)", device_key.as_bytes()),
            ("device key (bytes)", &raw_key),
            ("passphrase", PASS.as_bytes()),
            ("sqlite header", b"SQLite format 3"),
        ] {
            assert!(!find(bytes, needle), "{what} in clear in {path:?}");
        }
    }

    // A wrong passphrase opens nothing and changes no byte of the database.
    let db_files = |d: &Path| -> Vec<(PathBuf, Vec<u8>)> {
        files(d)
            .into_iter()
            .filter(|(p, _)| p.to_string_lossy().contains("shequ.db"))
            .collect()
    };
    let before = db_files(&data);
    let o = shequ_with(
        &data,
        Some("test passphrasE"),
        &["--lang", "en", "communities", "list"],
        &[],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("does not open the data"),
        "{}",
        stderr(&o)
    );
    assert!(!String::from_utf8_lossy(&o.stdout).contains(COMMUNITY));
    assert_eq!(db_files(&data), before);
    // No passphrase and no terminal to ask at: told how to give one.
    let o = shequ_with(&data, None, &["communities", "list"], &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("SHEQU_PASSPHRASE"), "{}", stderr(&o));
    // The right one still opens it.
    assert!(ok(&data, &["communities", "list"]).contains(COMMUNITY));
}

#[test]
fn a_passphrase_change_killed_at_any_moment_leaves_the_old_or_the_new_one_working() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    ok(&data, &["demo"]);
    let count = |p: &str| -> Option<(i64, String)> {
        let c = shequ_store::raw_connection(&data.join("shequ.db"), &Passphrase::new(p)).ok()?;
        let n: i64 = c
            .query_row("SELECT count(*) FROM responses", [], |r| r.get(0))
            .ok()?;
        let check: String = c
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        Some((n, check))
    };
    let (responses, _) = count(PASS).unwrap();
    assert!(responses > 400);
    let change = |from: &str, to: &str| {
        Command::new(env!("CARGO_BIN_EXE_shequ"))
            .env("SHEQU_PASSPHRASE", from)
            .env("SHEQU_NEW_PASSPHRASE", to)
            .arg("--data-dir")
            .arg(&data)
            .arg("passphrase")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    // One change uninterrupted, timed, to aim the kills inside one.
    let t = Instant::now();
    assert!(change(PASS, "second passphrase").wait().unwrap().success());
    let whole = t.elapsed().as_millis() as u64;
    let mut current = "second passphrase".to_string();
    let mut rng = Lcg(11);
    let (mut old_kept, mut new_took) = (0, 0);
    for i in 0..50 {
        let next = format!("passphrase number {i}");
        let mut child = change(&current, &next);
        std::thread::sleep(Duration::from_millis(rng.next(whole + whole / 4)));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let old = count(&current);
        let new = count(&next);
        match (old, new) {
            (Some((n, check)), None) => {
                assert_eq!((n, check.as_str()), (responses, "ok"), "kill {i}");
                old_kept += 1;
            }
            (None, Some((n, check))) => {
                assert_eq!((n, check.as_str()), (responses, "ok"), "kill {i}");
                new_took += 1;
                current = next;
            }
            other => panic!("kill {i}: old/new opened {other:?}"),
        }
    }
    eprintln!(
        "50 kills over a {whole} ms passphrase change: {old_kept} kept the old, {new_took} took the new"
    );
    assert!(
        old_kept > 0 && new_took > 0,
        "kills must land on both sides of the rename: {old_kept} / {new_took}"
    );
    // And the app opens what is left, leftovers cleaned.
    let o = shequ_with(&data, Some(&current), &["communities", "list"], &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!data.join("shequ.db.rekey").exists());
}

#[test]
fn the_centre_key_backup_restores_only_with_its_passphrase() {
    let root = tempfile::tempdir().unwrap();
    let centre = root.path().join("centre");
    let recipient = ok(&centre, &["keys", "init-centre"]);
    let recipient = recipient.lines().last().unwrap().trim().to_string();
    assert!(recipient.starts_with("age1"));
    let backup = root.path().join("centre-key.age");
    let b = backup.to_str().unwrap();
    let o = shequ_with(
        &centre,
        Some(PASS),
        &["keys", "backup-centre", "--out", b],
        &[("SHEQU_BACKUP_PASSPHRASE", "short")],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("太短"), "{}", stderr(&o));
    assert!(!backup.exists());
    let o = shequ_with(
        &centre,
        Some(PASS),
        &["keys", "backup-centre", "--out", b],
        &[("SHEQU_BACKUP_PASSPHRASE", "backup passphrase")],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let bytes = std::fs::read(&backup).unwrap();
    assert!(bytes.starts_with(b"age-encryption.org/v1\n-> scrypt "));
    assert!(!find(&bytes, b"AGE-SECRET-KEY"));

    let fresh = root.path().join("new-pc");
    let o = shequ_with(
        &fresh,
        Some(PASS),
        &["--lang", "en", "keys", "restore-centre", b],
        &[("SHEQU_BACKUP_PASSPHRASE", "wrong backup pass")],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("centre-key.age"), "{}", stderr(&o));
    let o = shequ_with(
        &fresh,
        Some(PASS),
        &["keys", "restore-centre", b],
        &[("SHEQU_BACKUP_PASSPHRASE", "backup passphrase")],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).lines().last().unwrap(),
        recipient
    );
    // A computer that already has another centre key keeps it.
    let other = root.path().join("other-centre");
    ok(&other, &["keys", "init-centre"]);
    let o = shequ_with(
        &other,
        Some(PASS),
        &["keys", "restore-centre", b],
        &[("SHEQU_BACKUP_PASSPHRASE", "backup passphrase")],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("不能覆盖"), "{}", stderr(&o));
}
