//! The centre's analysis through the `shequ` binary: the demo district's classification
//! (golden), every profile number checked against pandas over the CSV export, rounds carried
//! by bundles and compared, checklists, and bad input in the user's language.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::shequ_ok;
use serde_json::Value;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn shequ(dir: &Path, args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_shequ"))
        .env("SHEQU_PASSPHRASE", "test passphrase")
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .env_remove("SHEQU_LANG")
        .env_remove("LANG")
        .env_remove("LC_ALL")
        .output()
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn json(dir: &Path, args: &[&str]) -> Value {
    serde_json::from_str(&shequ_ok(dir, args)).unwrap()
}

fn demo() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    shequ_ok(&data, &["demo"]);
    (tmp, data)
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The demo district is made to show every type and tag; this pins what it shows, so a
/// change of the scoring, the thresholds or the demo is seen.
#[test]
fn the_demo_district_golden_classification() {
    let (_tmp, data) = demo();
    let doc = json(&data, &["classify", "--json"]);
    let list = doc["communities"].as_array().unwrap();
    let row = |code: &str| list.iter().find(|c| c["code"] == code).unwrap().clone();
    #[rustfmt::skip]
    let golden: &[(&str, &str, &str, &[&str])] = &[
        ("DH-01", "classified", "diffuse", &["ageing", "hardship", "service:lift"]),
        ("DH-02", "classified", "anomic", &["migrant", "service:property"]),
        ("DH-03", "insufficient_data", "", &[]),
        ("DH-04", "classified", "transitory", &["ageing", "migrant", "hardship"]),
        ("DH-05", "classified", "parochial", &["ageing", "hardship"]),
        ("DH-06", "classified", "integral", &["ageing"]),
        ("XH-01", "classified", "anomic", &["ageing", "migrant", "hardship"]),
        ("XH-02", "classified", "parochial", &["ageing", "hardship", "service:lift"]),
        ("XH-03", "classified", "stepping_stone", &["migrant"]),
        ("XH-04", "insufficient_data", "", &[]),
        ("XH-05", "classified", "integral", &[]),
        ("XH-06", "insufficient_data", "", &[]),
    ];
    let mut types = std::collections::BTreeSet::new();
    let mut tags = std::collections::BTreeSet::new();
    for (code, status, social, expected_tags) in golden {
        let c = row(code);
        assert_eq!(c["status"], *status, "{code}");
        if social.is_empty() {
            assert!(c["social_type"].is_null(), "{code}");
            assert!(
                c["dimensions"].as_object().unwrap().is_empty(),
                "{code}: no scores"
            );
        } else {
            assert_eq!(c["social_type"], *social, "{code}");
            types.insert(social.to_string());
        }
        let got: Vec<&str> = c["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap())
            .collect();
        for t in *expected_tags {
            assert!(got.contains(t), "{code}: {t} not in {got:?}");
        }
        for t in &got {
            tags.insert(t.split(':').next().unwrap().to_string());
        }
        assert!(!c["explanation"].as_array().unwrap().is_empty());
    }
    assert_eq!(types.len(), 6, "{types:?}");
    for t in ["ageing", "migrant", "hardship", "service"] {
        assert!(tags.contains(t), "{t} missing from {tags:?}");
    }
    // The composite label and the explanation, in Chinese.
    let dh01 = row("DH-01");
    assert_eq!(
        dh01["label"],
        "老旧小区 × 松散型 + 老龄化 + 困难群体集中 + 需求：加装电梯"
    );
    let why = dh01["explanation"].to_string();
    assert!(
        why.contains("社区认同") && why.contains("判为“高”") && why.contains("松散型"),
        "{why}"
    );
    assert!(row("DH-03")["explanation"]
        .to_string()
        .contains("只有 18 份已完成问卷"));
    // k-means beside the types: k in 2..=8, and every classified community in a cluster.
    let k = &doc["kmeans"];
    let kk = k["k"].as_u64().unwrap();
    assert!((2..=8).contains(&kk), "{k}");
    assert_eq!(k["assignments"].as_object().unwrap().len(), 9);
    let crossed: u64 = k["cross_table"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|v| v.as_array().unwrap().iter().map(|x| x.as_u64().unwrap()))
        .sum();
    assert_eq!(crossed, 9);
}

/// Every score, SD, n, need degree and problem index of every community with enough data,
/// against pandas over the CSV export of the same store.
#[test]
fn profiles_match_pandas_over_the_csv_export() {
    let (tmp, data) = demo();
    let out = tmp.path().join("csv");
    std::fs::create_dir_all(&out).unwrap();
    shequ_ok(
        &data,
        &["export", "--format", "csv", "--out", out.to_str().unwrap()],
    );
    let csv = std::fs::read_dir(&out)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let py = Command::new("python3")
        .arg(repo().join("tests/analysis/pandas_profiles.py"))
        .arg(repo().join("assets/instruments/community-analysis-scale.xlsx"))
        .arg(&csv)
        .output()
        .expect("python3 with pandas (scripts/setup.sh installs it)");
    assert!(
        py.status.success(),
        "{}",
        String::from_utf8_lossy(&py.stderr)
    );
    let reference: Value = serde_json::from_slice(&py.stdout).unwrap();
    let ours = json(&data, &["profiles", "--json"]);
    let ours = ours.as_array().unwrap();
    let mut compared = 0;
    let same = |a: &Value, b: &Value, what: &str| match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => assert!((x - y).abs() < 1e-9, "{what}: pandas {x}, shequ {y}"),
        _ => assert_eq!(a.is_null(), b.is_null(), "{what}: pandas {a}, shequ {b}"),
    };
    let reference = reference.as_object().unwrap();
    assert_eq!(reference.len(), 9, "communities with at least 30 responses");
    for (code, r) in reference {
        let s = ours.iter().find(|c| c["code"] == code.as_str()).unwrap();
        assert_eq!(s["n"], r["n"], "{code}");
        for (dim, v) in r["dimensions"].as_object().unwrap() {
            for k in ["score", "sd", "n"] {
                same(
                    &v[k],
                    &s["dimensions"][dim][k],
                    &format!("{code} {dim} {k}"),
                );
                compared += 1;
            }
        }
        for (item, choices) in r["needs"].as_object().unwrap() {
            for (c, v) in choices.as_object().unwrap() {
                same(v, &s["needs"][item][c], &format!("{code} {item} {c}"));
                compared += 1;
            }
        }
        for (c, v) in r["problems"].as_object().unwrap() {
            for k in ["share", "severity", "index"] {
                same(&v[k], &s["problems"][c][k], &format!("{code} {c} {k}"));
                compared += 1;
            }
        }
    }
    assert!(compared > 600, "{compared}");
}

/// Two laptops in two rounds; the centre receives both bundles and compares the rounds.
#[test]
fn rounds_travel_in_bundles_and_the_centre_compares_a_community_with_its_last_round() {
    let tmp = tempfile::tempdir().unwrap();
    let centre = tmp.path().join("centre");
    shequ_ok(&centre, &["rounds", "--start", "2026 年度"]);
    for (name, round) in [("a", "2025 年度"), ("b", "2026 年度")] {
        let laptop = tmp.path().join(name);
        shequ_ok(&laptop, &["rounds", "--start", round]);
        shequ_ok(&laptop, &["demo"]);
        let out = tmp.path().join(format!("{name}.shequ"));
        shequ_ok(
            &laptop,
            &[
                "bundle",
                "export",
                "--out",
                out.to_str().unwrap(),
                "--unencrypted",
            ],
        );
        let shown = shequ_ok(&laptop, &["--lang", "en", "keys", "show"]);
        let fp = shown
            .lines()
            .find_map(|l| l.strip_prefix("Fingerprint: "))
            .unwrap();
        let r = shequ(
            &centre,
            &[
                "bundle",
                "import",
                out.to_str().unwrap(),
                "--accept-device",
                fp,
            ],
        );
        assert_eq!(r.code, 0, "{}", r.stderr);
    }
    let rounds = json(&centre, &["rounds", "--json"]);
    let names: Vec<(&str, u64)> = rounds
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap(),
                r["responses"].as_u64().unwrap(),
            )
        })
        .collect();
    assert!(
        names.contains(&("2025 年度", 423)) && names.contains(&("2026 年度", 423)),
        "{names:?}"
    );
    // The same seed made the same answers: every change is 0 and the intervals overlap.
    let now = json(&centre, &["profiles", "--json", "--round", "2026 年度"]);
    let dh06 = now
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == "DH-06")
        .unwrap();
    let prev = &dh06["dimensions"]["identity"]["previous"];
    assert_eq!(prev["round"], "2025 年度");
    assert_eq!(prev["change"].as_f64(), Some(0.0));
    assert_eq!(prev["cis_overlap"], true);
    assert_eq!(prev["score"], dh06["dimensions"]["identity"]["score"]);
    // The first round has nothing before it.
    let first = json(&centre, &["profiles", "--json", "--round", "2025 年度"]);
    let dh06 = first
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == "DH-06")
        .unwrap();
    assert!(dh06["dimensions"]["identity"]["previous"].is_null());
}

#[test]
fn thresholds_reclassify_and_the_checklist_shows_the_change_before_it_is_accepted() {
    let (_tmp, data) = demo();
    let before = json(&data, &["checklist", "DH-01", "--json"]);
    assert!(before["pending_add"].as_array().unwrap().is_empty());
    let ids = |v: &Value| -> Vec<String> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["item"]["id"].as_str().unwrap().to_string())
            .collect()
    };
    assert!(ids(&before).iter().any(|i| i.starts_with("type.diffuse.")));
    // DH-01's identity is 71.9: a cut-off of 75 makes it Anomic.
    shequ_ok(&data, &["thresholds", "--set", "cutoff=75"]);
    let c = json(&data, &["classify", "--json"]);
    let dh01 = c["communities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == "DH-01")
        .unwrap();
    assert_eq!(dh01["social_type"], "anomic");
    let pending = json(&data, &["checklist", "DH-01", "--json"]);
    assert_eq!(
        ids(&pending),
        ids(&before),
        "nothing changes until it is accepted"
    );
    let adds: Vec<&str> = pending["pending_add"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["item"]["id"].as_str().unwrap())
        .collect();
    assert!(
        !adds.is_empty() && adds.iter().all(|i| i.starts_with("type.anomic.")),
        "{adds:?}"
    );
    let removes = pending["pending_remove"].as_array().unwrap();
    assert!(
        !removes.is_empty()
            && removes
                .iter()
                .all(|i| i.as_str().unwrap().starts_with("type.diffuse."))
    );
    let text = shequ_ok(&data, &["checklist", "DH-01"]);
    assert!(text.contains("shequ checklist DH-01 --accept"), "{text}");
    let accepted = json(&data, &["checklist", "DH-01", "--accept", "--json"]);
    assert!(accepted["pending_add"].as_array().unwrap().is_empty());
    assert!(ids(&accepted).iter().any(|i| i.starts_with("type.anomic.")));
    assert!(!ids(&accepted)
        .iter()
        .any(|i| i.starts_with("type.diffuse.")));
    // The thresholds as saved.
    let t = json(&data, &["thresholds", "--json"]);
    assert_eq!(t["cutoff"].as_f64(), Some(75.0));
}

#[test]
fn bad_input_is_refused_in_the_users_language_and_changes_nothing() {
    let (_tmp, data) = demo();
    let before = shequ_ok(&data, &["thresholds", "--json"]);
    for (args, zh) in [
        (
            vec!["thresholds", "--set", "cutoff=120"],
            "“分界值”应在 0 到 100 之间，120 没有保存。",
        ),
        (
            vec!["thresholds", "--set", "need_medium=70"],
            "“中需求度标准”应在 0 到 60 之间",
        ),
        (
            vec!["thresholds", "--set", "cutoff=abc"],
            "阈值设置（应写成 名称=数值）“cutoff=abc”不能接受",
        ),
        (
            vec!["thresholds", "--set", "colour=blue"],
            "“colour=blue”不能接受",
        ),
        (
            vec!["profiles", "--round", "2019 年度"],
            "没有名为“2019 年度”的调查轮次。现有轮次：2026 年度。",
        ),
        (vec!["checklist", "ZZ-99"], "找不到 社区“ZZ-99”"),
        (vec!["rounds", "--start", "   "], "名称不能为空"),
    ] {
        let r = shequ(&data, &args);
        assert_eq!(r.code, 1, "{args:?}");
        assert!(r.stderr.contains(zh), "{args:?}: {}", r.stderr);
        assert!(r.stdout.is_empty(), "{args:?}: {}", r.stdout);
    }
    assert_eq!(shequ_ok(&data, &["thresholds", "--json"]), before);
    let r = Command::new(env!("CARGO_BIN_EXE_shequ"))
        .env("SHEQU_PASSPHRASE", "test passphrase")
        .args([
            "--data-dir",
            data.to_str().unwrap(),
            "--lang",
            "en",
            "thresholds",
            "--set",
            "cutoff=-1",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(
        err.contains("Cut-off must be between 0 and 100; -1 was not saved."),
        "{err}"
    );
    // A round with no interviews yet: every community has too little data, none a score.
    shequ_ok(&data, &["rounds", "--start", "2027 年度"]);
    let now = json(&data, &["profiles", "--json"]);
    assert!(now
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["status"] == "insufficient_data"
            && c["dimensions"].as_object().unwrap().is_empty()));
}

/// A form without scoring columns: what can be computed is, and each missing part says why;
/// no community is given a score or a type it cannot have.
#[test]
fn a_scale_without_scoring_columns_says_what_it_cannot_compute() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    shequ_ok(
        &data,
        &[
            "communities",
            "add",
            "--code",
            "T-01",
            "--name",
            "测试社区",
            "--housing-form",
            "老旧小区",
            "--target-sample",
            "10",
        ],
    );
    let form = repo().join("tests/fixtures/xlsform/ok_chinese_text.xlsx");
    shequ_ok(&data, &["instruments", "import", form.to_str().unwrap()]);
    for i in 1..=3 {
        let out = shequ_ok(
            &data,
            &[
                "interview",
                "start",
                "--community",
                "T-01",
                "--interviewer",
                "张敏",
                "--respondent",
                &format!("{i}号楼"),
                "--consent",
                "--instrument",
                "cn_form",
            ],
        );
        let id = out.lines().last().unwrap().trim().to_string();
        shequ_ok(&data, &["interview", "answer", &id, "needs", "lift"]);
        shequ_ok(&data, &["interview", "finalize", &id]);
    }
    shequ_ok(&data, &["thresholds", "--set", "min_responses=2"]);
    let text = shequ_ok(&data, &["classify"]);
    for line in [
        "问卷没有标注“社区认同”维度（score_dimension 列），算不出这一维度得分，也就无法进行社会类型分类。",
        "问卷没有标注需求题（need_group 列），算不出需求度。",
        "问卷没有“老龄化”的标签规则（score_tag 列），不会打这个标签。",
    ] {
        assert!(text.contains(line), "{line} not in\n{text}");
    }
    let doc = json(&data, &["classify", "--json"]);
    let t01 = &doc["communities"][0];
    assert_eq!(
        (t01["code"].as_str(), t01["n"].as_u64()),
        (Some("T-01"), Some(3))
    );
    assert_eq!(t01["status"], "missing_dimension");
    assert!(t01["social_type"].is_null());
    assert!(t01["explanation"]
        .to_string()
        .contains("没有“社区认同”得分，无法分类。"));
    let profiles = json(&data, &["profiles", "--json"]);
    assert!(profiles[0]["needs"].as_object().unwrap().is_empty());
    assert!(profiles[0]["dimensions"].as_object().unwrap().is_empty());
}
