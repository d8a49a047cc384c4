//! The `shequ` binary end to end: real processes, real data folders.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn shequ(dir: &Path, args: &[&str]) -> Run {
    shequ_env(dir, args, &[])
}

/// A device's key fingerprint, as `shequ keys show` prints it on the laptop.
fn fingerprint(dir: &Path) -> String {
    let out = shequ(dir, &["keys", "show"]).stdout;
    let line = out
        .lines()
        .find_map(|l| l.strip_prefix("本机指纹："))
        .unwrap_or_else(|| panic!("no fingerprint in {out}"));
    assert_eq!(line.len(), 24, "{line}");
    line.to_string()
}

fn shequ_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_shequ"));
    cmd.env("SHEQU_PASSPHRASE", "test passphrase")
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .env_remove("SHEQU_LANG")
        .env_remove("LANG")
        .env_remove("LC_ALL");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.output().expect("run shequ");
    Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

fn list_json(dir: &Path) -> serde_json::Value {
    let r = shequ(dir, &["communities", "list", "--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    serde_json::from_str(&r.stdout).unwrap()
}

const DEMO_CODES: [&str; 12] = [
    "DH-01", "DH-02", "DH-03", "DH-04", "DH-05", "DH-06", "XH-01", "XH-02", "XH-03", "XH-04",
    "XH-05", "XH-06",
];

#[test]
fn demo_then_list_shows_the_demo_district_in_chinese_and_english() {
    let dir = tempfile::tempdir().unwrap();
    let r = shequ(dir.path(), &["demo"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("12 个社区"), "{}", r.stdout);

    let zh = shequ(dir.path(), &["communities", "list"]);
    assert_eq!(zh.code, 0);
    for code in DEMO_CODES {
        assert!(zh.stdout.contains(code), "{code} missing:\n{}", zh.stdout);
    }
    for text in [
        "梧桐里社区",
        "东湖街道",
        "西河街道",
        "老旧小区/售后公房",
        "村改居",
        "42/60",
        "8/40（信度偏低）",
    ] {
        assert!(zh.stdout.contains(text), "{text} missing:\n{}", zh.stdout);
    }
    let en = shequ(dir.path(), &["--lang", "en", "communities", "list"]);
    for text in [
        "Old / sold public housing",
        "Village converted to residential",
        "8/40 (low reliability)",
    ] {
        assert!(en.stdout.contains(text), "{text} missing:\n{}", en.stdout);
    }

    let list = list_json(dir.path());
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 12);
    let total: u64 = list.iter().map(|c| c["finalized"].as_u64().unwrap()).sum();
    assert_eq!(total, 423);
    let streets: std::collections::BTreeSet<&str> = list
        .iter()
        .map(|c| c["community"]["street"].as_str().unwrap())
        .collect();
    assert_eq!(streets.len(), 2);
}

#[test]
fn demo_twice_is_refused_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(shequ(dir.path(), &["demo"]).code, 0);
    let before = list_json(dir.path());
    let r = shequ(dir.path(), &["demo"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("示范数据已经载入过了"), "{}", r.stderr);
    assert_eq!(list_json(dir.path()), before);
}

#[test]
fn the_environment_variable_chooses_the_data_folder() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("from-env");
    let out = Command::new(env!("CARGO_BIN_EXE_shequ"))
        .env("SHEQU_PASSPHRASE", "test passphrase")
        .args(["--lang", "en", "init"])
        .env("SHEQU_DATA_DIR", &data)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(data.join("shequ.db").is_file());
    assert!(String::from_utf8_lossy(&out.stdout).contains("Initialized data folder"));
}

#[test]
fn instruments_list_and_show_the_default_scale() {
    let dir = tempfile::tempdir().unwrap();
    let r = shequ(dir.path(), &["instruments", "list"]);
    assert!(
        r.stdout.contains("community_analysis_scale") && r.stdout.contains("社区分析量表"),
        "{}",
        r.stdout
    );
    let show = shequ(
        dir.path(),
        &[
            "--lang",
            "en",
            "instruments",
            "show",
            "community_analysis_scale",
        ],
    );
    assert_eq!(show.code, 0);
    assert!(
        show.stdout.contains("[B] B Community identity"),
        "{}",
        show.stdout
    );
    assert!(show
        .stdout
        .contains("Given the chance, I would move out of this community."));
    let missing = shequ(dir.path(), &["instruments", "show", "nope"]);
    assert_eq!(missing.code, 1);
    assert!(missing.stderr.contains("nope"));
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

#[test]
fn import_reads_gbk_and_bom_files() {
    let dir = tempfile::tempdir().unwrap();
    let text = "社区编码,社区名称,街道,房屋业态,户数,目标样本量\nA1,三兴居委,石门二路街道,老旧小区,418,50\n";
    let (gbk, _, _) = encoding_rs::GBK.encode(text);
    let f = write(dir.path(), "gbk.csv", &gbk);
    let r = shequ(dir.path(), &["communities", "import", f.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("导入 1 个社区"), "{}", r.stdout);
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend_from_slice("code,name,housing_form\nB1,华安,commercial\n".as_bytes());
    let f = write(dir.path(), "bom.csv", &bom);
    assert_eq!(
        shequ(dir.path(), &["communities", "import", f.to_str().unwrap()]).code,
        0
    );
    let list = list_json(dir.path());
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["community"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["华安", "三兴居委"]);
}

#[test]
fn bad_csv_files_are_refused_with_file_and_row_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    assert_eq!(
        shequ(
            &data,
            &[
                "communities",
                "add",
                "--code",
                "A1",
                "--name",
                "已有",
                "--housing-form",
                "村改居"
            ]
        )
        .code,
        0
    );
    let before = list_json(&data);
    let db_before = std::fs::read(data.join("shequ.db")).unwrap();
    let cases: &[(&str, &[u8], &str, &str)] = &[
        (
            "missing.csv",
            "社区名称,街道\n甲,乙\n".as_bytes(),
            "缺少必需的列：社区编码、房屋业态",
            "Missing required columns: Community code, Housing form",
        ),
        (
            "dup.csv",
            "code,name,housing_form\nB1,一,mixed\nB1,二,mixed\n".as_bytes(),
            "第 3 行",
            "row 3",
        ),
        (
            "exists.csv",
            "code,name,housing_form\nB1,一,mixed\nA1,二,mixed\n".as_bytes(),
            "第 3 行：社区编码“A1”已被“已有”使用",
            "row 3",
        ),
        (
            "form.csv",
            "code,name,housing_form\nB1,一,别墅\n".as_bytes(),
            "无法识别房屋业态“别墅”",
            "Unknown housing form",
        ),
        (
            "num.csv",
            "code,name,housing_form,户数\nB1,一,mixed,-3\n".as_bytes(),
            "“户数”一栏的值“-3”无效",
            "column “户数”",
        ),
        (
            "enc.csv",
            b"code,name,housing_form\nB1,\xff\xfe\xfd,mixed\n",
            "第 2 行：文字编码无法识别",
            "neither UTF-8 nor GBK",
        ),
        ("empty.csv", b"", "文件是空的", "The file is empty"),
    ];
    for (name, bytes, zh, en) in cases {
        let f = write(dir.path(), name, bytes);
        let r = shequ(&data, &["communities", "import", f.to_str().unwrap()]);
        assert_eq!(r.code, 1, "{name}");
        assert!(
            r.stderr.contains(name) && r.stderr.contains(zh),
            "{name}: {}",
            r.stderr
        );
        let r = shequ(
            &data,
            &["--lang", "en", "communities", "import", f.to_str().unwrap()],
        );
        assert!(
            r.stderr.contains(name) && r.stderr.contains(en),
            "{name}: {}",
            r.stderr
        );
        assert_eq!(list_json(&data), before, "{name} wrote something");
    }
    let missing = shequ(&data, &["communities", "import", "/no/such/file.csv"]);
    assert!(
        missing.stderr.contains("/no/such/file.csv") && missing.stderr.contains("无法读取"),
        "{}",
        missing.stderr
    );
    assert_eq!(
        std::fs::read(data.join("shequ.db")).unwrap(),
        db_before,
        "database bytes unchanged"
    );
}

#[test]
fn a_corrupt_database_is_reported_by_path_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let junk: Vec<u8> = (0..4096u32).map(|i| (i * 31 % 251) as u8).collect();
    std::fs::write(dir.path().join("shequ.db"), &junk).unwrap();
    let r = shequ(dir.path(), &["communities", "list"]);
    assert_eq!(r.code, 1);
    assert!(
        // Without its key an encrypted database cannot be told from random bytes.
        r.stderr.contains("shequ.db") && r.stderr.contains("可能已损坏"),
        "{}",
        r.stderr
    );
    assert_eq!(std::fs::read(dir.path().join("shequ.db")).unwrap(), junk);
}

#[test]
fn a_newer_database_is_refused_with_both_versions() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(shequ(dir.path(), &["init"]).code, 0);
    let db = dir.path().join("shequ.db");
    {
        let c = shequ_store::raw_connection(&db, &shequ_store::Passphrase::new("test passphrase"))
            .unwrap();
        c.pragma_update(None, "user_version", 42).unwrap();
    }
    let before = std::fs::read(&db).unwrap();
    let r = shequ(dir.path(), &["--lang", "en", "communities", "list"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains(&format!(
            "newer Shequ (schema version 42; this build supports up to {})",
            shequ_store::SCHEMA_VERSION
        )),
        "{}",
        r.stderr
    );
    assert_eq!(std::fs::read(&db).unwrap(), before);
}

#[test]
fn an_unusable_data_folder_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "plain-file", b"x");
    let r = shequ(&file.join("sub"), &["init"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("无法使用数据文件夹") && r.stderr.contains("plain-file"),
        "{}",
        r.stderr
    );
}

#[test]
fn add_validates_fields_in_the_users_language() {
    let dir = tempfile::tempdir().unwrap();
    let r = shequ(
        dir.path(),
        &[
            "communities",
            "add",
            "--code",
            "Z",
            "--name",
            "甲",
            "--housing-form",
            "别墅",
        ],
    );
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("无法识别房屋业态“别墅”"), "{}", r.stderr);
    let r = shequ(
        dir.path(),
        &[
            "--lang",
            "en",
            "communities",
            "add",
            "--code",
            "Z",
            "--name",
            "甲",
            "--housing-form",
            "mixed",
            "--target-sample",
            "0",
        ],
    );
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("Target sample “0” is not valid"),
        "{}",
        r.stderr
    );
    assert_eq!(list_json(dir.path()), serde_json::json!([]));
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/xlsform")
        .join(name)
}

#[test]
fn instruments_import_adds_forms_and_versions_and_refuses_bad_ones() {
    let dir = tempfile::tempdir().unwrap();
    let form = fixture("ok_chinese_text.xlsx");
    let r = shequ(
        dir.path(),
        &["instruments", "import", form.to_str().unwrap(), "--dry-run"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout
            .starts_with("预览（未导入）：量表“社区服务需求调查”（cn_form，版本 2026.1）：2 道题"),
        "{}",
        r.stdout
    );
    assert!(
        !shequ(dir.path(), &["instruments", "list"])
            .stdout
            .contains("cn_form"),
        "dry run wrote nothing"
    );
    let r = shequ(
        dir.path(),
        &["instruments", "import", form.to_str().unwrap()],
    );
    assert!(
        r.stdout.starts_with("已导入量表“社区服务需求调查”"),
        "{}",
        r.stdout
    );
    let r = shequ(
        dir.path(),
        &[
            "--lang",
            "en",
            "instruments",
            "import",
            form.to_str().unwrap(),
        ],
    );
    assert!(
        r.stdout.contains("already installed with the same content"),
        "{}",
        r.stdout
    );
    assert!(shequ(dir.path(), &["instruments", "list"])
        .stdout
        .contains("cn_form"));

    let media = fixture("ok_unsupported_media.xlsx");
    let r = shequ(
        dir.path(),
        &[
            "--lang",
            "en",
            "instruments",
            "import",
            media.to_str().unwrap(),
        ],
    );
    assert_eq!(r.code, 0);
    assert!(
        r.stdout.contains("Worth a look:")
            && r.stdout
                .contains("sheet survey, row 3: “photo” is a photo question"),
        "{}",
        r.stdout
    );

    let before = shequ(dir.path(), &["instruments", "list", "--json"]).stdout;
    for (file, zh, en) in [
        (
            "bad_syntax_error.xlsx",
            "工作表 survey 第 3 行“relevant”列：表达式“${a} =”在第 7 个字符附近有语法错误",
            "near character 7: the expression ends too early",
        ),
        (
            "bad_cyclic_calculation.xlsx",
            "循环引用：x → y → x",
            "in a loop: x → y → x",
        ),
        (
            "bad_unknown_type.xlsx",
            "无法识别的题型“txt”",
            "unknown type “txt”",
        ),
        (
            "bad_password_protected.xlsx",
            "设置了打开密码",
            "password-protected",
        ),
        (
            "bad_not_a_spreadsheet.xlsx",
            "这不是 Excel 表格文件",
            "not an Excel workbook",
        ),
    ] {
        let path = fixture(file);
        let r = shequ(
            dir.path(),
            &["instruments", "import", path.to_str().unwrap()],
        );
        assert_eq!(r.code, 1, "{file}");
        assert!(r.stderr.contains(zh), "{file}: {}", r.stderr);
        let r = shequ(
            dir.path(),
            &[
                "--lang",
                "en",
                "instruments",
                "import",
                path.to_str().unwrap(),
            ],
        );
        assert!(r.stderr.contains(en), "{file}: {}", r.stderr);
    }
    assert_eq!(
        shequ(dir.path(), &["instruments", "list", "--json"]).stdout,
        before,
        "refusals wrote nothing"
    );
}

#[test]
fn export_writes_csv_xlsx_and_jsonl_of_the_finalized_interviews() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    shequ(&data, &["demo"]);
    let out = dir.path().join("out");
    let r = shequ(
        &data,
        &[
            "export",
            "--format",
            "csv",
            "--out",
            out.to_str().unwrap(),
            "--labels",
            "zh-CN",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.starts_with("已导出 423 份问卷"), "{}", r.stdout);
    let csv_path = out.join("community_analysis_scale_v2026.2.csv");
    let bytes = std::fs::read(&csv_path).unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"));
    let mut reader = csv::Reader::from_reader(&bytes[3..]);
    let headers = reader.headers().unwrap().clone();
    assert!(headers.iter().any(|h| h == "B/b1") && headers.iter().any(|h| h == "F/f_needs/lift"));
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 423);
    let b1 = headers.iter().position(|h| h == "B/b1").unwrap();
    assert!(
        rows.iter()
            .all(|r| ["非常不同意", "不同意", "说不清", "同意", "非常同意"].contains(&&r[b1])),
        "labels, not codes"
    );
    for format in ["xlsx", "jsonl"] {
        let r = shequ(
            &data,
            &[
                "--lang",
                "en",
                "export",
                "--format",
                format,
                "--out",
                out.to_str().unwrap(),
            ],
        );
        assert!(
            r.stdout.starts_with("Exported 423 interviews"),
            "{}",
            r.stdout
        );
    }
    assert_eq!(
        std::fs::read_to_string(out.join("community_analysis_scale_v2026.2.jsonl"))
            .unwrap()
            .lines()
            .count(),
        423
    );
    assert!(out.join("community_analysis_scale_v2026.2.xlsx").is_file());
}

/// A finished interview of the default scale, through `shequ interview script`.
fn scripted_interview(data: &Path, respondent: &str) {
    let answers = shequ_app::fieldwork::DEFAULT_SCALE_REQUIRED;
    let script = data.with_extension(format!("{respondent}.json"));
    std::fs::write(
        &script,
        serde_json::json!({
            "start": {"community": "DH-01", "interviewer": "张敏", "respondent": respondent, "consent": true},
            "answers": answers,
            "finalize": true,
        })
        .to_string(),
    )
    .unwrap();
    let r = shequ(data, &["interview", "script", script.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
}

fn export_bundle(data: &Path, out: &Path, extra: &[&str]) -> Run {
    let mut args = vec![
        "bundle",
        "export",
        "--out",
        out.to_str().unwrap(),
        "--unencrypted",
    ];
    args.extend_from_slice(extra);
    shequ(data, &args)
}

#[test]
fn a_bundle_export_that_cannot_be_written_records_nothing_and_the_next_since_last_has_every_interview(
) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    assert_eq!(shequ(&data, &["demo"]).code, 0);

    // The USB stick was pulled: its folder is gone.
    let gone = dir.path().join("stick/shequ.shequ");
    let r = export_bundle(&data, &gone, &["--since-last"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stderr.contains(&format!(
            "无法写入文件 {}：文件夹不存在（U 盘是否已拔出？）",
            gone.display()
        )),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("读取"), "not a read error: {}", r.stderr);
    let r = shequ_env(
        &data,
        &[
            "bundle",
            "export",
            "--out",
            gone.to_str().unwrap(),
            "--unencrypted",
            "--since-last",
        ],
        &[("SHEQU_LANG", "en")],
    );
    assert!(
        r.stderr.contains(&format!(
            "Cannot write the file {}: the folder does not exist",
            gone.display()
        )),
        "{}",
        r.stderr
    );
    assert!(!dir.path().join("stick").exists());
    // A folder in the way of the file.
    let in_the_way = dir.path().join("in-the-way.shequ");
    std::fs::create_dir(&in_the_way).unwrap();
    let r = export_bundle(&data, &in_the_way, &["--since-last"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("这里已有一个同名的文件夹"),
        "{}",
        r.stderr
    );

    // Data exports go through the same durable write and say the same.
    let out = dir.path().join("stick/out");
    let r = shequ(
        &data,
        &["export", "--format", "xlsx", "--out", out.to_str().unwrap()],
    );
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains(&format!("无法写入文件 {}：文件夹不存在", out.display())),
        "{}",
        r.stderr
    );

    // Nothing was recorded: the next --since-last holds every demo interview, as bundle 1.
    let ok = dir.path().join("ok.shequ");
    let r = export_bundle(&data, &ok, &["--since-last"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("：423 份问卷"), "{}", r.stdout);
    assert!(
        r.stdout.contains("这是本机导出的第 1 个数据包。"),
        "{}",
        r.stdout
    );
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(!names.iter().any(|n| n.ends_with(".partial")), "{names:?}");

    // The centre finds every one of them, once it has accepted the laptop: a new device's
    // bundle is refused with its fingerprint, which the analyst compares with the one the
    // laptop shows before accepting it.
    let centre = dir.path().join("centre");
    let fp = fingerprint(&data);
    let r = shequ(&centre, &["bundle", "import", ok.to_str().unwrap()]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("尚未接收的设备") && r.stderr.contains(&fp),
        "{}",
        r.stderr
    );
    assert!(shequ(&centre, &["bundle", "status"]).stdout.trim().len() < 80);
    let r = shequ(
        &centre,
        &[
            "bundle",
            "import",
            ok.to_str().unwrap(),
            "--accept-device",
            "3f2a-0000",
        ],
    );
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("20 位十六进制数字"), "{}", r.stderr);
    let typed = fp.to_lowercase().replace('-', " ");
    let r = shequ(
        &centre,
        &[
            "bundle",
            "import",
            ok.to_str().unwrap(),
            "--accept-device",
            &typed,
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains(&format!("已接收设备指纹 {fp}")),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("新增 423 份"), "{}", r.stdout);

    // One more interview, then a failed and a good incremental export: just that one.
    scripted_interview(&data, "9号楼901室");
    assert_eq!(export_bundle(&data, &gone, &["--since-last"]).code, 1);
    let next = dir.path().join("next.shequ");
    let r = export_bundle(&data, &next, &["--since-last"]);
    assert!(
        r.stdout.contains("：1 份问卷") && r.stdout.contains("第 2 个数据包"),
        "{}",
        r.stdout
    );
    let r = shequ(&centre, &["bundle", "import", next.to_str().unwrap()]);
    assert!(r.stdout.contains("新增 1 份"), "{}", r.stdout);
}

#[test]
fn the_centre_reports_the_bundle_of_a_laptop_it_has_not_received() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("laptop");
    assert_eq!(shequ(&data, &["demo"]).code, 0);
    let mut files = Vec::new();
    for i in 1..=4 {
        if i > 1 {
            scripted_interview(&data, &format!("{i}号楼"));
        }
        let f = dir.path().join(format!("b{i}.shequ"));
        let r = export_bundle(&data, &f, &["--since-last"]);
        assert!(
            r.stdout.contains(&format!("第 {i} 个数据包")),
            "{}",
            r.stdout
        );
        files.push(f);
    }
    let centre = dir.path().join("centre");
    let r = shequ(
        &centre,
        &[
            "bundle",
            "import",
            "--accept-device",
            &fingerprint(&data),
            files[0].to_str().unwrap(),
            files[1].to_str().unwrap(),
            files[3].to_str().unwrap(),
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("：缺第 3 包（共 4 包）"), "{}", r.stdout);
    let r = shequ(&centre, &["bundle", "status"]);
    assert!(
        r.stdout.starts_with("笔记本 1（") && r.stdout.contains("：缺第 3 包（共 4 包）"),
        "{}",
        r.stdout
    );
    let r = shequ(&centre, &["--lang", "en", "bundle", "status"]);
    assert!(
        r.stdout.contains("): bundle 3 of 4 missing"),
        "{}",
        r.stdout
    );
    let json: serde_json::Value =
        serde_json::from_str(&shequ(&centre, &["bundle", "status", "--json"]).stdout).unwrap();
    assert_eq!(json[0]["received"], serde_json::json!([1, 2, 4]));
    assert_eq!(json[0]["missing"], serde_json::json!([3]));

    let r = shequ(&centre, &["bundle", "import", files[2].to_str().unwrap()]);
    assert!(
        r.stdout.contains("新增 1 份") && !r.stdout.contains("缺第"),
        "{}",
        r.stdout
    );
    let r = shequ(&centre, &["bundle", "status"]);
    assert!(r.stdout.contains("：4 个数据包都已收到"), "{}", r.stdout);
}

#[test]
fn taking_the_incoming_side_keeps_the_replaced_version_and_restore_brings_it_back() {
    let dir = tempfile::tempdir().unwrap();
    let laptop = dir.path().join("laptop");
    assert_eq!(shequ(&laptop, &["demo"]).code, 0);
    let b1 = dir.path().join("b1.shequ");
    assert_eq!(export_bundle(&laptop, &b1, &[]).code, 0);

    // A restored copy of the laptop whose store diverged: one answer differs.
    let copy = dir.path().join("laptop-copy");
    std::fs::create_dir_all(&copy).unwrap();
    for e in std::fs::read_dir(&laptop).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), copy.join(e.file_name())).unwrap();
    }
    let (instance, original): (String, String) = {
        let c = shequ_store::raw_connection(
            &copy.join("shequ.db"),
            &shequ_store::Passphrase::new("test passphrase"),
        )
        .unwrap();
        let found: (String, String) = c
            .query_row(
                "SELECT a.instance_id, a.value FROM answers a JOIN responses r USING (instance_id)
                 WHERE r.status = 'finalized' AND a.question = 'b1' ORDER BY a.instance_id LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        c.execute(
            "UPDATE answers SET value = ?2 WHERE instance_id = ?1 AND question = 'b1'",
            [
                &found.0,
                &if found.1 == "1" { "2" } else { "1" }.to_string(),
            ],
        )
        .unwrap();
        c.execute("DELETE FROM exports", []).unwrap();
        found
    };
    let b2 = dir.path().join("b2.shequ");
    assert_eq!(export_bundle(&copy, &b2, &[]).code, 0);

    let centre = dir.path().join("centre");
    let r = shequ(
        &centre,
        &[
            "bundle",
            "import",
            "--accept-device",
            &fingerprint(&laptop),
            b1.to_str().unwrap(),
            b2.to_str().unwrap(),
        ],
    );
    assert!(r.stdout.contains("冲突 1 份"), "{}", r.stdout);
    let listed = shequ(&centre, &["bundle", "conflicts"]).stdout;
    let id = listed
        .trim()
        .strip_prefix("冲突 ")
        .and_then(|l| l.split('：').next())
        .unwrap()
        .to_string();
    let stored = || -> String {
        shequ_store::raw_connection(
            &centre.join("shequ.db"),
            &shequ_store::Passphrase::new("test passphrase"),
        )
        .unwrap()
        .query_row(
            "SELECT value FROM answers WHERE instance_id = ?1 AND question = 'b1'",
            [&instance],
            |r| r.get(0),
        )
        .unwrap()
    };
    assert_eq!(stored(), original);
    let r = shequ(&centre, &["bundle", "resolve", &id, "--take", "incoming"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_ne!(stored(), original, "the incoming version was taken");

    let r = shequ(&centre, &["bundle", "replaced"]);
    assert!(
        r.stdout.contains(&id) && r.stdout.contains(&format!("shequ bundle restore {id}")),
        "{}",
        r.stdout
    );
    let r = shequ(&centre, &["bundle", "restore", &id]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout
            .contains(&format!("已恢复问卷 {instance} 被替换的版本。")),
        "{}",
        r.stdout
    );
    assert_eq!(stored(), original, "the replaced version is back");
    assert!(shequ(&centre, &["bundle", "replaced"])
        .stdout
        .contains("没有可恢复的被替换版本"));
    assert_eq!(shequ(&centre, &["bundle", "restore", &id]).code, 1);
    let audited: i64 = shequ_store::raw_connection(
        &centre.join("shequ.db"),
        &shequ_store::Passphrase::new("test passphrase"),
    )
    .unwrap()
    .query_row(
        "SELECT count(*) FROM audit WHERE entity_id = ?1 AND field = 'conflict'
             AND new_value IN ('took_incoming', 'restored_replaced')",
        [&instance],
        |r| r.get(0),
    )
    .unwrap();
    assert_eq!(audited, 2);
}

#[test]
fn files_larger_than_the_app_reads_are_refused_before_reading() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // Sparse files: their size is claimed, not written.
    let bundle = dir.path().join("huge.shequ");
    std::fs::File::create(&bundle)
        .unwrap()
        .set_len((1 << 30) + 1)
        .unwrap();
    let r = shequ(&data, &["bundle", "import", bundle.to_str().unwrap()]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("huge.shequ")
            && r.stderr.contains("文件太大（约 1025 MB，最多 1024 MB）"),
        "{}",
        r.stderr
    );
    let form = dir.path().join("huge.xlsx");
    std::fs::File::create(&form)
        .unwrap()
        .set_len(60 << 20)
        .unwrap();
    let r = shequ(&data, &["instruments", "import", form.to_str().unwrap()]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("最多 50 MB"), "{}", r.stderr);
    let csv = dir.path().join("huge.csv");
    std::fs::File::create(&csv)
        .unwrap()
        .set_len(60 << 20)
        .unwrap();
    let r = shequ(&data, &["communities", "import", csv.to_str().unwrap()]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("最多 50 MB"), "{}", r.stderr);
    assert!(list_json(&data).as_array().unwrap().is_empty());
}
