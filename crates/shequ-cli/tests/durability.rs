//! Durability of the save path: a process saving answers through `shequ interview script`
//! (the same `App::answer` → `Store::save_answer` path as the desktop app) is killed with
//! SIGKILL at random moments, 200 times. After each kill the database passes
//! `PRAGMA integrity_check`, and every answer acknowledged before the kill is there.

use std::io::{BufRead, BufReader};

mod common;
use common::{shequ_ok as shequ, Lcg};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const KILLS: usize = 200;
const KEYS: [&str; 3] = ["j_suggestions", "i_contacts_detail", "a_age"];

fn counter(value: &str, run: usize) -> Option<u64> {
    // Values look like "r{run}-{n}" (or, for a_age, "{run*10000 + n}").
    if let Some(rest) = value.strip_prefix(&format!("r{run}-")) {
        return rest.parse().ok();
    }
    value
        .parse::<u64>()
        .ok()
        .filter(|v| *v / 10_000 == run as u64)
        .map(|v| v % 10_000)
}

#[test]
fn acknowledged_answers_survive_sigkill_and_the_database_stays_intact() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    shequ(
        &data,
        &[
            "communities",
            "add",
            "--code",
            "K1",
            "--name",
            "测试社区",
            "--housing-form",
            "mixed",
        ],
    );
    let started = shequ(
        &data,
        &[
            "interview",
            "start",
            "--community",
            "K1",
            "--interviewer",
            "张敏",
            "--respondent",
            "1-101",
            "--consent",
        ],
    );
    let id = started.lines().last().unwrap().trim().to_string();
    let db = data.join("shequ.db");
    let mut rng = Lcg(20261127);
    let mut saves_acked = 0usize;
    let mut kills_mid_run = 0usize;

    for run in 1..=KILLS {
        let answers: Vec<(String, String)> = (0..3000u64)
            .map(|n| {
                let key = KEYS[(n % 3) as usize];
                let value = if key == "a_age" {
                    (run as u64 * 10_000 + n % 10_000).to_string()
                } else {
                    format!("r{run}-{n}")
                };
                (key.to_string(), value)
            })
            .collect();
        let script = dir.path().join("script.json");
        std::fs::write(
            &script,
            serde_json::to_string(&serde_json::json!({ "id": id, "answers": answers })).unwrap(),
        )
        .unwrap();

        let mut child = Command::new(env!("CARGO_BIN_EXE_shequ"))
            .env("SHEQU_PASSPHRASE", "test passphrase")
            .arg("--data-dir")
            .arg(&data)
            .args(["interview", "script"])
            .arg(&script)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let acked: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
        let reader = {
            let acked = acked.clone();
            let stdout = child.stdout.take().unwrap();
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    let mut parts = line.splitn(3, ' ');
                    if parts.next() == Some("saved") {
                        let (k, v) = (
                            parts.next().unwrap_or("").to_string(),
                            parts.next().unwrap_or("").to_string(),
                        );
                        acked.lock().unwrap().push((k, v));
                    }
                }
            })
        };
        // A debug build takes some 70 ms to open the store and compile the form before its
        // first save; kills are spread over the saving that follows (a run of 3,000 saves
        // lasts seconds, so every kill still lands mid-run).
        std::thread::sleep(Duration::from_millis(5 + rng.next(300)));
        child.kill().unwrap(); // SIGKILL
        let status = child.wait().unwrap();
        reader.join().unwrap();
        if !status.success() {
            kills_mid_run += 1;
        }
        let acked = acked.lock().unwrap().clone();
        saves_acked += acked.len();

        let conn =
            shequ_store::raw_connection(&db, &shequ_store::Passphrase::new("test passphrase"))
                .unwrap();
        let check: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok", "run {run}");
        for key in KEYS {
            let Some((_, last)) = acked.iter().rev().find(|(k, _)| k == key) else {
                continue;
            };
            let stored: String = conn
                .query_row(
                    "SELECT value FROM answers WHERE instance_id = ?1 AND question = ?2",
                    [id.as_str(), key],
                    |r| r.get(0),
                )
                .unwrap_or_else(|e| {
                    panic!("run {run}: acknowledged {key} = {last} is missing ({e})")
                });
            let (acked_n, stored_n) = (counter(last, run).unwrap(), counter(&stored, run));
            let stored_n = stored_n
                .unwrap_or_else(|| panic!("run {run}: {key} = {stored}, acknowledged {last}"));
            // The stored value is the last acknowledged one, or the one saved (not yet
            // acknowledged) when the kill came.
            assert!(
                stored_n == acked_n || stored_n == acked_n + 3,
                "run {run}: {key} stored #{stored_n}, acknowledged #{acked_n}"
            );
        }
    }
    assert!(
        kills_mid_run >= KILLS * 3 / 4,
        "most kills must land mid-run: {kills_mid_run} of {KILLS}"
    );
    assert!(
        saves_acked > KILLS * 10,
        "the runs saved something: {saves_acked}"
    );
    eprintln!("{KILLS} kills ({kills_mid_run} mid-run), {saves_acked} acknowledged saves checked");
}
