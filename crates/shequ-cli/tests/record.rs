//! The captured record is what ODK Collect would submit, end to end through the real path:
//! `shequ interview script` answers the default scale (ticking, then unticking, needs and
//! problems), finalizes, and `shequ export --format csv` is read back by Python's own `csv`
//! module, cell by cell: calculations filled, non-relevant answers empty.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use common::shequ_ok;

/// The default scale's required answers, with a household that has an older member and a
/// contact outside the community (so their follow-up questions apply).
fn required() -> Vec<(&'static str, &'static str)> {
    let mut a = shequ_app::fieldwork::DEFAULT_SCALE_REQUIRED.to_vec();
    a.extend([
        ("a_household", "elderly"),
        ("i_contacts", "yes"),
        ("i_contacts_detail", "单位工会"),
    ]);
    a
}

fn setup(dir: &Path) {
    shequ_ok(dir, &["init"]);
    shequ_ok(
        dir,
        &[
            "communities",
            "add",
            "--code",
            "T-01",
            "--name",
            "测试社区",
            "--housing-form",
            "老旧小区",
        ],
    );
}

fn script(dir: &Path, answers: &[(&str, &str)], finalize: bool) -> std::process::Output {
    let file = dir.join("script.json");
    let body = serde_json::json!({
        "start": {"community": "T-01", "interviewer": "张敏", "respondent": "5号楼301室", "consent": true},
        "answers": answers,
        "finalize": finalize,
    });
    std::fs::write(&file, body.to_string()).unwrap();
    Command::new(env!("CARGO_BIN_EXE_shequ"))
        .env("SHEQU_PASSPHRASE", "test passphrase")
        .arg("--data-dir")
        .arg(dir)
        .args(["--lang", "en", "interview", "script"])
        .arg(&file)
        .output()
        .unwrap()
}

/// The main table of a CSV export, read by Python's csv module: one map per row.
fn read_main_csv(out: &Path) -> Vec<BTreeMap<String, String>> {
    let main = std::fs::read_dir(out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.extension().is_some_and(|e| e == "csv")
                && p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("community_analysis_scale")
                && !p.file_name().unwrap().to_string_lossy().contains('-')
        })
        .unwrap_or_else(|| panic!("no main CSV in {out:?}"));
    let py = r#"
import csv, json, sys
with open(sys.argv[1], newline='', encoding='utf-8-sig') as f:
    print(json.dumps(list(csv.DictReader(f)), ensure_ascii=False))
"#;
    let o = Command::new("python3")
        .args(["-c", py])
        .arg(&main)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn the_csv_export_holds_calculations_and_no_answer_that_stopped_applying() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    setup(d);
    let mut answers = required();
    answers.extend([
        // Two needs and the most urgent one, then one need unticked: "most urgent" no
        // longer applies.
        ("f_needs", "lift parking"),
        ("f_top", "parking"),
        ("g_elderly", "meals"),
        // Three problems rated, then two unticked.
        ("h_problems", "pets theft noise"),
        ("h_sev_pets", "3"),
        ("h_sev_theft", "2"),
        ("h_sev_noise", "1"),
        ("h_problems", "theft"),
        ("f_needs", "lift"),
        // Volunteering hours with skills, then back to none: the skills stop applying.
        ("i_volunteer_hours", "4"),
        ("i_skills", "medical"),
        ("i_volunteer_hours", "0"),
    ]);
    let out = script(d, &answers, true);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.trim_end().ends_with("finalized"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let export = d.join("export");
    shequ_ok(
        d,
        &[
            "export",
            "--format",
            "csv",
            "--out",
            export.to_str().unwrap(),
        ],
    );
    let rows = read_main_csv(&export);
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    let cell = |col: &str| -> &str {
        let k = row
            .keys()
            .find(|k| *k == col || k.ends_with(&format!("/{col}")))
            .unwrap_or_else(|| panic!("no column {col}: {:?}", row.keys()));
        &row[k]
    };
    // The calculation is filled from the final answers.
    assert_eq!(cell("h_count"), "1");
    // What still applies is there.
    assert_eq!(cell("h_problems"), "theft");
    assert_eq!(cell("h_sev_theft"), "2");
    assert_eq!(cell("f_needs"), "lift");
    assert_eq!(cell("i_volunteer_hours"), "0");
    // Personal data (the respondent, a question marked `personal`) is pseudonymised by
    // default: the same value, the same pseudonym.
    let pseudo = cell("i_contacts_detail").to_string();
    assert!(pseudo.starts_with("p:") && pseudo.len() == 14, "{pseudo}");
    assert!(
        cell("respondent").starts_with("p:"),
        "{}",
        cell("respondent")
    );
    assert_eq!(cell("g_elderly"), "meals");
    // What stopped applying is empty.
    for col in ["h_sev_pets", "h_sev_noise", "f_top", "i_skills"] {
        assert_eq!(cell(col), "", "{col} no longer applies");
    }
    // ODK metadata: RFC 3339 with milliseconds and an offset.
    for col in ["start", "end"] {
        let v = cell(col);
        assert!(
            chrono::DateTime::parse_from_rfc3339(v).is_ok() && v.len() == 29 && &v[19..20] == ".",
            "{col} = {v}"
        );
    }
    // Asked for, personal data is exported as recorded; a second pseudonymised export gives
    // the same pseudonym.
    let raw = d.join("export-raw");
    shequ_ok(
        d,
        &[
            "export",
            "--format",
            "csv",
            "--include-personal",
            "--out",
            raw.to_str().unwrap(),
        ],
    );
    let rows = read_main_csv(&raw);
    let get = |col: &str| {
        rows[0]
            .iter()
            .find(|(k, _)| k.as_str() == col || k.ends_with(&format!("/{col}")))
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    assert_eq!(get("i_contacts_detail"), "单位工会");
    assert_eq!(get("respondent"), "5号楼301室");
    let again = d.join("export-again");
    shequ_ok(
        d,
        &[
            "export",
            "--format",
            "csv",
            "--out",
            again.to_str().unwrap(),
        ],
    );
    let rows = read_main_csv(&again);
    let v = rows[0]
        .iter()
        .find(|(k, _)| k.ends_with("/i_contacts_detail"))
        .unwrap()
        .1;
    assert_eq!(*v, pseudo);
}

#[test]
fn a_script_stops_at_the_first_answer_the_form_cannot_hold_and_writes_nothing_for_it() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    setup(d);
    for (key, value, says) in [
        ("h_count", "3", "the form fills this item itself"),
        ("a_age", "forty", "“forty” is not a whole number"),
        (
            "a_sex",
            "alien",
            "“alien” is not one of this question’s choices",
        ),
        (
            "no_such_question",
            "1",
            "the form has no question “no_such_question”",
        ),
        ("member[2]/a_age", "1", "the form has no question"),
    ] {
        let out = script(
            d,
            &[("a_age", "45"), (key, value), ("a_party", "no")],
            false,
        );
        assert!(!out.status.success(), "{key} accepted");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(says), "{key}: {stderr}");
        assert!(stderr.contains("Nothing was saved"), "{stderr}");
        assert!(
            stdout.contains("saved a_age 45"),
            "the good answer before it stands"
        );
        assert!(
            !stdout.contains(&format!("saved {key} {value}")),
            "{stdout}"
        );
        assert!(!stdout.contains("saved a_party"), "the script stops there");
    }
    // Every draft holds exactly the one good answer (with the metadata and calculation
    // the form fills), never the refused one.
    let list = shequ_ok(d, &["interview", "list", "--json"]);
    let drafts: Vec<serde_json::Value> = serde_json::from_str(&list).unwrap();
    assert_eq!(drafts.len(), 5);
    for r in &drafts {
        let id = r["response"]["instance_id"].as_str().unwrap();
        let shown = shequ_ok(d, &["interview", "show", id]);
        let v: serde_json::Value = serde_json::from_str(&shown).unwrap();
        let values = v["answers"]["values"].as_object().unwrap();
        let keys: Vec<&str> = values.keys().map(String::as_str).collect();
        assert_eq!(keys, ["a_age", "h_count", "start", "today"], "{values:?}");
        assert_eq!(values["h_count"], "0");
    }
}

#[test]
fn two_processes_saving_into_one_store_never_fail_with_busy() {
    // The window and the CLI on the same data folder: each save reads (is the response
    // still a draft?) and then writes. Write transactions begin IMMEDIATE, so the second
    // writer waits for the first instead of failing with SQLITE_BUSY.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    setup(d);
    let scripts: Vec<std::path::PathBuf> = (0..3)
        .map(|i| {
            let answers: Vec<(String, String)> = (0..400)
                .map(|n| ("a_age".to_string(), (20 + (n + i) % 60).to_string()))
                .collect();
            let file = d.join(format!("busy-{i}.json"));
            let body = serde_json::json!({
                "start": {"community": "T-01", "interviewer": "张敏", "respondent": format!("{i}号楼"), "consent": true},
                "answers": answers,
            });
            std::fs::write(&file, body.to_string()).unwrap();
            file
        })
        .collect();
    let children: Vec<_> = scripts
        .iter()
        .map(|s| {
            Command::new(env!("CARGO_BIN_EXE_shequ"))
                .env("SHEQU_PASSPHRASE", "test passphrase")
                .arg("--data-dir")
                .arg(d)
                .args(["--lang", "en", "interview", "script"])
                .arg(s)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let acks = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| l.starts_with("saved a_age"))
            .count();
        assert_eq!(acks, 400);
    }
}
