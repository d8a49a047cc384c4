//! The importer killed with SIGKILL at random moments, 50 times: the central database is
//! intact and holds either none of the bundle or all of it, never part.

use std::path::Path;

mod common;
use common::{shequ_ok as shequ, Lcg};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

#[test]
fn a_killed_import_leaves_all_or_nothing() {
    let root = tempfile::tempdir().unwrap();
    let (centre, laptop) = (root.path().join("centre"), root.path().join("laptop"));
    let recipient = shequ(&centre, &["keys", "init-centre"])
        .lines()
        .last()
        .unwrap()
        .to_string();
    shequ(&laptop, &["demo"]);
    shequ(&laptop, &["keys", "set-centre", &recipient]);
    // The analyst accepts the laptop by the fingerprint it shows.
    let shown = shequ(&laptop, &["--lang", "en", "keys", "show"]);
    let fp = shown
        .lines()
        .find_map(|l| l.strip_prefix("Fingerprint: "))
        .unwrap()
        .to_string();
    assert!(shequ(&centre, &["--lang", "en", "keys", "accept", &fp]).contains(&fp));
    let bundle = root.path().join("laptop.shequ");
    shequ(
        &laptop,
        &["bundle", "export", "--out", bundle.to_str().unwrap()],
    );
    let full: i64 = 423;

    // How long a whole import takes here, to aim the kills inside it.
    let probe = root.path().join("probe");
    copy_dir(&centre, &probe);
    let t = Instant::now();
    shequ(&probe, &["bundle", "import", bundle.to_str().unwrap()]);
    let whole = t.elapsed().as_millis() as u64;

    let mut rng = Lcg(7);
    let (mut none, mut all) = (0, 0);
    for i in 0..50 {
        let dir = root.path().join(format!("c{i}"));
        copy_dir(&centre, &dir);
        let mut child = Command::new(env!("CARGO_BIN_EXE_shequ"))
            .env("SHEQU_PASSPHRASE", "test passphrase")
            .arg("--data-dir")
            .arg(&dir)
            .args(["bundle", "import"])
            .arg(&bundle)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(rng.next(whole + whole / 5)));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let c = shequ_store::raw_connection(
            &dir.join("shequ.db"),
            &shequ_store::Passphrase::new("test passphrase"),
        )
        .unwrap();
        let check: String = c
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok", "kill {i}");
        let responses: i64 = c
            .query_row("SELECT count(*) FROM responses", [], |r| r.get(0))
            .unwrap();
        let imports: i64 = c
            .query_row("SELECT count(*) FROM bundle_imports", [], |r| r.get(0))
            .unwrap();
        let answers: i64 = c
            .query_row("SELECT count(*) FROM answers", [], |r| r.get(0))
            .unwrap();
        match (responses, imports) {
            (0, 0) => {
                assert_eq!(answers, 0, "kill {i}");
                none += 1
            }
            (n, 1) if n == full => all += 1,
            other => {
                panic!("kill {i}: half an import: {other:?} responses/imports, {answers} answers")
            }
        }
    }
    eprintln!("50 kills over a {whole} ms import: {none} left nothing, {all} left everything");
    assert!(
        none > 0 && all > 0,
        "kills must land on both sides of the commit: {none} / {all}"
    );
}
