//! The resource and expert libraries through the `shequ` binary: the template read back with
//! calamine, a filled workbook and a GBK CSV imported, every kind of bad file refused with
//! its reason and nothing written, and matching ranked as worked out by hand from the demo
//! district's own need degrees.

mod common;

use std::path::Path;
use std::process::Command;

use calamine::{open_workbook, Reader, Xlsx};
use serde_json::Value;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn shequ(dir: &Path, args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_shequ"))
        .env("SHEQU_PASSPHRASE", "test passphrase")
        .env_remove("SHEQU_LANG")
        .env_remove("LANG")
        .env_remove("LC_ALL")
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .output()
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn json(dir: &Path, args: &[&str]) -> Value {
    serde_json::from_str(&common::shequ_ok(dir, args)).unwrap()
}

fn library_sizes(dir: &Path) -> (usize, usize) {
    let r = json(dir, &["resources", "list", "--json"]);
    let e = json(dir, &["resources", "list", "--experts", "--json"]);
    (r.as_array().unwrap().len(), e.as_array().unwrap().len())
}

/// A workbook with a resource sheet and an expert sheet, Chinese headers, as a person fills
/// in the template.
fn workbook(path: &Path, resources: &[[&str; 10]], experts: &[[&str; 9]]) {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("资源库").unwrap();
    let head = [
        "资源类型",
        "名称",
        "所属社区",
        "所属街道",
        "联系方式",
        "可承接数",
        "可用日",
        "可用时段",
        "有效期至",
        "标签",
    ];
    for (c, h) in head.iter().enumerate() {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    for (r, row) in resources.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            ws.write_string(r as u32 + 1, c as u16, *v).unwrap();
        }
    }
    let ws = wb.add_worksheet();
    ws.set_name("专家库").unwrap();
    let head = [
        "姓名",
        "单位",
        "所在街道",
        "联系方式",
        "可承接数",
        "可用日",
        "可用时段",
        "有效期至",
        "专长领域",
    ];
    for (c, h) in head.iter().enumerate() {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    for (r, row) in experts.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            ws.write_string(r as u32 + 1, c as u16, *v).unwrap();
        }
    }
    wb.save(path).unwrap();
}

#[test]
fn the_template_lists_the_columns_the_vocabulary_and_the_kinds() {
    let dir = tempfile::tempdir().unwrap();
    let t = dir.path().join("模板.xlsx");
    let out = common::shequ_ok(
        dir.path(),
        &["resources", "template", "--out", t.to_str().unwrap()],
    );
    assert!(out.contains("已写出资源库模板"), "{out}");
    let mut wb: Xlsx<_> = open_workbook(&t).unwrap();
    assert_eq!(wb.sheet_names(), ["资源库", "专家库", "词表", "资源类型"]);
    let row = |wb: &mut Xlsx<_>, sheet: &str, r: usize| -> Vec<String> {
        let range = wb.worksheet_range(sheet).unwrap();
        range
            .rows()
            .nth(r)
            .unwrap()
            .iter()
            .map(|c| c.to_string())
            .collect()
    };
    assert_eq!(
        row(&mut wb, "资源库", 0),
        [
            "资源类型",
            "名称",
            "所属社区",
            "所属街道",
            "联系方式",
            "可承接数",
            "可用日",
            "可用时段",
            "有效期至",
            "标签"
        ]
    );
    assert_eq!(row(&mut wb, "专家库", 0)[..2], ["姓名", "单位"]);
    let vocab = wb.worksheet_range("词表").unwrap();
    assert_eq!(
        vocab.height(),
        44,
        "a header and the scale's 43 need and problem choices"
    );
    let lift: Vec<String> = vocab
        .rows()
        .find(|r| r[0].to_string() == "service:lift")
        .unwrap()
        .iter()
        .map(|c| c.to_string())
        .collect();
    assert_eq!(lift, ["service:lift", "加装电梯", "Lift installation"]);
    assert_eq!(wb.worksheet_range("资源类型").unwrap().height(), 9);
    // In English, the headers are English.
    let en = dir.path().join("template.xlsx");
    let r = shequ(
        dir.path(),
        &[
            "--lang",
            "en",
            "resources",
            "template",
            "--out",
            en.to_str().unwrap(),
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let mut wb: Xlsx<_> = open_workbook(&en).unwrap();
    assert_eq!(wb.sheet_names()[..2], ["Resources", "Experts"]);
    assert_eq!(row(&mut wb, "Resources", 0)[..2], ["kind", "name"]);
}

#[test]
fn bad_files_are_refused_with_their_reason_and_nothing_is_added() {
    let dir = tempfile::tempdir().unwrap();
    common::shequ_ok(dir.path(), &["demo"]);
    let file = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let cases: Vec<(std::path::PathBuf, &str)> = vec![
        (
            file("typo.csv", "资源类型,名称,所属街道,标签\n社会组织,加梯互助会,东湖街道,加装电悌\n"),
            "第 2 行：“typo”表的标签“加装电悌”不在词表里，是不是“加装电梯”？",
        ),
        (
            file("unknown.csv", "资源类型,名称,所属街道,标签\n社会组织,甲,东湖街道,加装电梯、航天发射\n"),
            "标签“航天发射”不在词表里（词表见模板的“词表”页）",
        ),
        (
            file("columns.csv", "资源类型,名称,所属街道\n社会组织,甲,东湖街道\n"),
            "“columns”表缺少必需的列：标签",
        ),
        (
            file("nothing.csv", "名称,地址\n甲,某处\n"),
            "没有找到资源库或专家库的表",
        ),
        (file("empty.csv", "资源类型,名称,所属街道,标签\n"), "表头下面没有任何资源或专家"),
        (
            file("twice.csv", "资源类型,名称,所属街道,标签\n社会组织,甲,东湖街道,加装电梯\n社会组织,甲,东湖街道,停车\n"),
            "第 3 行：“twice”表的“甲”与“twice”表第 2 行重复",
        ),
        (
            file("kind.csv", "资源类型,名称,所属街道,标签\n外星组织,甲,东湖街道,加装电梯\n"),
            "资源类型“外星组织”不认识",
        ),
        (
            file("days.csv", "资源类型,名称,所属街道,可用日,标签\n志愿者,甲,东湖街道,有空就来,加装电梯\n"),
            "“可用日”一栏的“有空就来”看不懂",
        ),
        (
            file("date.csv", "资源类型,名称,所属街道,有效期至,标签\n志愿者,甲,东湖街道,明年,加装电梯\n"),
            "“有效期至”一栏的“明年”不是日期",
        ),
        (
            file("capacity.csv", "资源类型,名称,所属街道,可承接数,标签\n志愿者,甲,东湖街道,0,加装电梯\n"),
            "“可承接数”一栏的“0”应为正整数",
        ),
        (
            file("community.csv", "资源类型,名称,所属社区,标签\n志愿者,甲,NOPE-9,加装电梯\n"),
            "所属社区“NOPE-9”不在社区名单里",
        ),
        (
            file("place.csv", "资源类型,名称,标签\n志愿者,甲,加装电梯\n"),
            "没有填所属社区，也没有填所属街道",
        ),
        (
            file("notags.csv", "资源类型,名称,所属街道,标签\n志愿者,甲,东湖街道,\n"),
            "“标签”一栏没有标签",
        ),
        (
            file("expert.csv", "姓名,单位,专长领域\n张教授,,心理疏导\n"),
            "“单位”一栏不能为空",
        ),
    ];
    for (path, expected) in &cases {
        let r = shequ(dir.path(), &["resources", "import", path.to_str().unwrap()]);
        assert_eq!(r.code, 1, "{}: {}", path.display(), r.stdout);
        assert!(
            r.stderr.contains(expected) && r.stderr.contains("没有导入任何资源或专家"),
            "{}: {}",
            path.display(),
            r.stderr
        );
        assert_eq!(library_sizes(dir.path()), (0, 0), "{}", path.display());
    }
    // The same refusal in English offers the English word too.
    let r = shequ(
        dir.path(),
        &[
            "--lang",
            "en",
            "resources",
            "import",
            cases[0].0.to_str().unwrap(),
        ],
    );
    assert!(
        r.stderr
            .contains("did you mean “Lift installation” (加装电梯)?")
            && r.stderr.contains("No resource or expert was imported."),
        "{}",
        r.stderr
    );
    // Not a workbook at all.
    let junk = dir.path().join("junk.xlsx");
    std::fs::write(&junk, b"PK\x03\x04 not really a zip").unwrap();
    let r = shequ(dir.path(), &["resources", "import", junk.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert_eq!(library_sizes(dir.path()), (0, 0));
}

#[test]
fn a_filled_workbook_and_a_gbk_csv_are_imported_and_needs_are_matched_as_worked_by_hand() {
    let dir = tempfile::tempdir().unwrap();
    common::shequ_ok(dir.path(), &["demo"]);
    let wb = dir.path().join("资源.xlsx");
    workbook(
        &wb,
        &[
            [
                "驻区单位",
                "东湖电梯公司",
                "",
                "东湖街道",
                "李经理",
                "2",
                "工作日",
                "9:00-17:00",
                "2030-12-31",
                "加装电梯",
            ],
            [
                "社会组织",
                "梧桐加梯互助会",
                "DH-01",
                "",
                "",
                "",
                "",
                "",
                "",
                "Lift installation、居家维修",
            ],
            [
                "社会组织",
                "西河加梯服务社",
                "XH-01",
                "",
                "",
                "",
                "",
                "",
                "",
                "service:lift",
            ],
            [
                "志愿者",
                "过期的维修队",
                "",
                "东湖街道",
                "",
                "",
                "",
                "",
                "2020-01-01",
                "加装电梯",
            ],
        ],
        &[[
            "王工",
            "区建设局",
            "东湖街道",
            "",
            "3",
            "",
            "",
            "",
            "加装电梯、违章搭建",
        ]],
    );
    // A dry run counts and writes nothing.
    let out = common::shequ_ok(
        dir.path(),
        &["resources", "import", wb.to_str().unwrap(), "--dry-run"],
    );
    assert!(
        out.contains("可导入 4 条资源、1 位专家（试运行，未写入）"),
        "{out}"
    );
    assert_eq!(library_sizes(dir.path()), (0, 0));
    let out = common::shequ_ok(dir.path(), &["resources", "import", wb.to_str().unwrap()]);
    assert!(out.contains("导入 4 条资源、1 位专家"), "{out}");
    // A GBK CSV of experts, as Excel in China saves it.
    let (gbk, _, _) = encoding_rs::GBK
        .encode("姓名,单位,专长领域,可用日\n陈律师,东湖律师事务所,申请救助；心理疏导,周一至周五\n");
    let csv = dir.path().join("专家.csv");
    std::fs::write(&csv, &gbk).unwrap();
    common::shequ_ok(dir.path(), &["resources", "import", csv.to_str().unwrap()]);
    assert_eq!(library_sizes(dir.path()), (4, 2));
    // The same workbook again: already in the library, nothing added.
    let r = shequ(dir.path(), &["resources", "import", wb.to_str().unwrap()]);
    assert!(r.stderr.contains("已经在库里了"), "{}", r.stderr);
    assert_eq!(library_sizes(dir.path()), (4, 2));

    let resources = json(dir.path(), &["resources", "list", "--json"]);
    let by_name = |name: &str| -> Value {
        resources
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == name)
            .unwrap()
            .clone()
    };
    let mutual = by_name("梧桐加梯互助会");
    assert_eq!(
        mutual["tags"],
        serde_json::json!(["service:lift", "service:repairs"])
    );
    assert_eq!(mutual["community"], "DH-01");
    assert_eq!(mutual["street"], "东湖街道", "the community's street");
    let company = by_name("东湖电梯公司");
    assert_eq!(
        company["availability"]["days"],
        serde_json::json!([1, 2, 3, 4, 5])
    );
    assert_eq!(company["availability"]["until"], "2030-12-31");
    assert_eq!(company["capacity"], 2);
    let experts = json(dir.path(), &["resources", "list", "--experts", "--json"]);
    let lawyer = experts
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "陈律师")
        .unwrap();
    assert_eq!(
        lawyer["fields"],
        serde_json::json!(["hardship:assistance", "hardship:counselling"])
    );

    // DH-01 (东湖街道) needs a lift at the demo's own degree d. By hand, with w = d / 100:
    //   梧桐加梯互助会  its own community 1.0        → 100·w
    //   东湖电梯公司     same street 0.8, 0 of 2 busy → 80·w
    //   王工             same street 0.8, 0 of 3 busy → 80·w   (tie: by name, 东 < 王)
    //   西河加梯服务社   another street 0.4          → 40·w
    //   过期的维修队 expired in 2020: not offered.
    let m = json(
        dir.path(),
        &["resources", "match", "DH-01", "--json", "--limit", "10"],
    );
    let lift = m["demands"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["demand"]["term"] == "service:lift")
        .expect("DH-01 has a high or medium lift need in the demo");
    let d = lift["demand"]["value"].as_f64().unwrap();
    assert!(d >= 50.0, "a high or medium need: {d}");
    let ranked: Vec<(String, f64)> = lift["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["supplier"]["name"].as_str().unwrap().to_string(),
                c["score"].as_f64().unwrap(),
            )
        })
        .collect();
    let w = d / 100.0;
    let expected = [
        ("梧桐加梯互助会", 100.0 * w),
        ("东湖电梯公司", 80.0 * w),
        ("王工", 80.0 * w),
        ("西河加梯服务社", 40.0 * w),
    ];
    assert_eq!(ranked.len(), expected.len(), "{ranked:?}");
    for ((name, score), (want_name, want_score)) in ranked.iter().zip(expected) {
        assert_eq!(name, want_name, "{ranked:?}");
        assert!(
            (score - want_score).abs() < 1e-9,
            "{name}: {score} vs {want_score}"
        );
    }

    // The analyst agrees the mutual-aid group for DH-01's lift need; it is recorded, audited,
    // and its load (1 under way, no capacity: × 1/2) moves it below the company and 王工.
    let id = mutual["id"].as_str().unwrap();
    let out = common::shequ_ok(
        dir.path(),
        &["resources", "confirm", "DH-01", "service:lift", id],
    );
    assert!(
        out.contains("已记录对接：DH-01 的 service:lift ← 梧桐加梯互助会（已商定）"),
        "{out}"
    );
    let m = json(dir.path(), &["resources", "match", "DH-01", "--json"]);
    let lift = m["demands"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["demand"]["term"] == "service:lift")
        .unwrap();
    let names: Vec<&str> = lift["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["supplier"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["东湖电梯公司", "王工", "梧桐加梯互助会", "西河加梯服务社"]
    );
    assert_eq!(m["recorded"][0]["status"], "agreed");
    // Moved on to done with an outcome: the same match, not a second one.
    common::shequ_ok(
        dir.path(),
        &[
            "resources",
            "confirm",
            "DH-01",
            "service:lift",
            id,
            "--status",
            "done",
            "--outcome",
            "3 部电梯已开工",
        ],
    );
    let m = json(dir.path(), &["resources", "match", "DH-01", "--json"]);
    assert_eq!(m["recorded"].as_array().unwrap().len(), 1);
    assert_eq!(m["recorded"][0]["status"], "done");
    assert_eq!(m["recorded"][0]["outcome"], "3 部电梯已开工");

    // Bad confirmations: a status, a term, a supplier, a community that do not exist.
    for (args, expected) in [
        (
            vec!["DH-01", "service:lift", id, "--status", "maybe"],
            "对接状态只能是",
        ),
        (vec!["DH-01", "service:rockets", id], "不在需求词表里"),
        (
            vec![
                "DH-01",
                "service:lift",
                "00000000-0000-0000-0000-000000000000",
            ],
            "资源或专家",
        ),
        (vec!["NOPE-1", "service:lift", id], "NOPE-1"),
    ] {
        let mut all = vec!["resources", "confirm"];
        all.extend(args);
        let r = shequ(dir.path(), &all);
        assert_eq!(r.code, 1, "{all:?}");
        assert!(r.stderr.contains(expected), "{all:?}: {}", r.stderr);
    }
    let m = json(dir.path(), &["resources", "match", "DH-01", "--json"]);
    assert_eq!(
        m["recorded"][0]["status"], "done",
        "nothing changed by the refusals"
    );
}

#[test]
fn clusters_and_meetings_through_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    common::shequ_ok(dir.path(), &["demo"]);
    let p = json(dir.path(), &["clusters", "propose", "--json"]);
    let first: Vec<&str> = p["proposals"][0]["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    assert_eq!(first, ["DH-06", "XH-05"]);
    let out = common::shequ_ok(
        dir.path(),
        &[
            "clusters",
            "confirm",
            "--name",
            "整合型社区群",
            "--starts",
            "2026-01-01",
            "DH-06",
            "XH-05",
        ],
    );
    assert!(out.contains("社区群“整合型社区群”：DH-06、XH-05"), "{out}");
    // Refusals: one member, a date that is not a date, a meeting before round 1.
    for (args, expected) in [
        (
            vec![
                "clusters",
                "confirm",
                "--name",
                "孤单",
                "--starts",
                "2026-01-01",
                "DH-01",
            ],
            "社区群至少要有两个成员社区，现在只有 1 个。",
        ),
        (
            vec![
                "clusters",
                "confirm",
                "--name",
                "日期",
                "--starts",
                "明年一月",
                "DH-01",
                "DH-04",
            ],
            "日期请写成 2026-03-01 这样",
        ),
        (
            vec![
                "meetings",
                "add",
                "整合型社区群",
                "--date",
                "2025-12-31",
                "--minutes",
                "早了",
            ],
            "2025-12-31 不在“整合型社区群”的任何一轮里：第 1 轮从 2026-01-01 开始。",
        ),
        (
            vec![
                "meetings",
                "add",
                "没有这个群",
                "--date",
                "2026-05-10",
                "--minutes",
                "x",
            ],
            "没有这个群",
        ),
    ] {
        let r = shequ(dir.path(), &args);
        assert_eq!(r.code, 1, "{args:?}");
        assert!(r.stderr.contains(expected), "{args:?}: {}", r.stderr);
    }
    let out = common::shequ_ok(
        dir.path(),
        &[
            "meetings",
            "add",
            "整合型社区群",
            "--date",
            "2026-05-10",
            "--attendees",
            "王书记,李主任",
            "--minutes",
            "交流物业管理",
            "--decision",
            "联合招标物业",
            "--follow-up",
            "起草招标文件|锦绣苑社区|2026-06-30",
        ],
    );
    assert!(out.contains("第 2 轮，主席 XH-05"), "{out}");
    let show = json(dir.path(), &["clusters", "show", "整合型社区群", "--json"]);
    let m = &show[0]["meetings"][0];
    assert_eq!(
        m["record"]["attendees"],
        serde_json::json!(["王书记", "李主任"])
    );
    assert_eq!(m["follow_ups"][0]["due"], "2026-06-30");
    let id = m["follow_ups"][0]["id"].as_str().unwrap();
    let out = common::shequ_ok(
        dir.path(),
        &["meetings", "follow-up", id, "--status", "done"],
    );
    assert!(out.contains("已改为已完成"), "{out}");
    let show = json(dir.path(), &["clusters", "show", "--json"]);
    assert_eq!(show[0]["meetings"][0]["follow_ups"][0]["status"], "done");
    // Rounds 1 and 2 are kept (the meeting kept its round); the rest are planned.
    let kept: Vec<bool> = show[0]["schedule"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["kept"].as_bool().unwrap())
        .collect();
    assert_eq!(kept[..4], [true, true, false, false]);
}

#[test]
fn good_cases_are_kept_tagged_and_found_across_clusters() {
    let dir = tempfile::tempdir().unwrap();
    common::shequ_ok(dir.path(), &["demo"]);
    common::shequ_ok(
        dir.path(),
        &[
            "clusters",
            "confirm",
            "--name",
            "整合型社区群",
            "--starts",
            "2026-01-01",
            "DH-06",
            "XH-05",
        ],
    );
    let out = common::shequ_ok(
        dir.path(),
        &[
            "cases",
            "add",
            "--title",
            "错峰共享停车",
            "--summary",
            "与纺织厂协商夜间开放停车场，缓解停车难。",
            "--cluster",
            "整合型社区群",
            "--tag",
            "停车难、乱停车",
            "--checklist-item",
            "type.anomic.building_heads",
        ],
    );
    assert!(out.contains("已加入案例库：错峰共享停车"), "{out}");
    common::shequ_ok(
        dir.path(),
        &[
            "cases",
            "add",
            "--title",
            "楼道加梯议事会",
            "--community",
            "DH-01",
            "--tag",
            "service:lift",
        ],
    );
    // Found by words in the summary, by a tag typed as a label, or all.
    let by_text = json(dir.path(), &["cases", "search", "纺织厂", "--json"]);
    assert_eq!(by_text.as_array().unwrap().len(), 1);
    assert_eq!(by_text[0]["cluster"], "整合型社区群");
    assert_eq!(
        by_text[0]["record"]["tags"],
        serde_json::json!(["problem:parking"])
    );
    assert_eq!(
        by_text[0]["record"]["checklist_items"],
        serde_json::json!(["type.anomic.building_heads"])
    );
    let by_tag = json(
        dir.path(),
        &["cases", "search", "--tag", "加装电梯", "--json"],
    );
    assert_eq!(by_tag[0]["title"], "楼道加梯议事会");
    assert_eq!(by_tag[0]["community"], "DH-01");
    assert_eq!(
        json(dir.path(), &["cases", "search", "--json"])
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let none = common::shequ_ok(dir.path(), &["cases", "search", "没有这种案例"]);
    assert!(none.contains("没有找到案例"), "{none}");
    // Refusals: a tag near a term, a checklist item that does not exist, no title.
    for (args, expected) in [
        (
            vec!["cases", "add", "--title", "甲", "--tag", "加装电悌"],
            "最接近的是“加装电梯”",
        ),
        (
            vec![
                "cases",
                "add",
                "--title",
                "乙",
                "--checklist-item",
                "no.such.item",
            ],
            "no.such.item",
        ),
        (vec!["cases", "add", "--title", "  "], "案例要有标题"),
        (
            vec!["cases", "add", "--title", "丙", "--cluster", "没有这个群"],
            "没有这个群",
        ),
    ] {
        let r = shequ(dir.path(), &args);
        assert_eq!(r.code, 1, "{args:?}");
        assert!(r.stderr.contains(expected), "{args:?}: {}", r.stderr);
    }
    assert_eq!(
        json(dir.path(), &["cases", "search", "--json"])
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn what_residents_volunteered_is_offered_with_its_interview_and_included_under_chosen_tags() {
    let dir = tempfile::tempdir().unwrap();
    common::shequ_ok(dir.path(), &["demo"]);
    let offers = json(dir.path(), &["resources", "volunteered", "--json"]);
    let offers = offers.as_array().unwrap();
    // The same count from the CSV export, read with the csv crate: a volunteer offer for each
    // interview with hours above 0, a venue offer for each that said yes to a venue.
    let out = dir.path().join("csv");
    common::shequ_ok(
        dir.path(),
        &["export", "--format", "csv", "--out", out.to_str().unwrap()],
    );
    let file = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("community_analysis_scale")
        })
        .unwrap();
    let mut rd = csv::Reader::from_path(&file).unwrap();
    let headers = rd.headers().unwrap().clone();
    let col = |name: &str| headers.iter().position(|h| h.ends_with(name)).unwrap();
    let (hours, venue, key) = (col("i_volunteer_hours"), col("i_venue"), col("KEY"));
    let (mut volunteers, mut venues, mut keys) = (0, 0, std::collections::BTreeSet::new());
    for r in rd.records() {
        let r = r.unwrap();
        keys.insert(r[key].trim_start_matches("uuid:").to_string());
        if r[hours].parse::<u32>().unwrap_or(0) > 0 {
            volunteers += 1;
        }
        if &r[venue] == "yes" {
            venues += 1;
        }
    }
    let kind = |k: &str| offers.iter().filter(|o| o["kind"] == k).count();
    assert_eq!(
        (kind("volunteer"), kind("open_venue")),
        (volunteers, venues)
    );
    assert!(volunteers > 0 && venues > 0);
    // Each names the interview it came from, and carries nothing personal.
    for o in offers {
        let id = o["instance_id"].as_str().unwrap();
        let instance = id.split('#').next().unwrap();
        assert!(keys.contains(instance), "{id}");
        assert!(o.get("respondent").is_none() && o.get("contact").is_none());
    }
    // A teacher's skills suggest tutoring; the analyst includes the offer under chosen tags.
    let teacher = offers
        .iter()
        .find(|o| {
            o["skills"]
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s == "teaching")
        })
        .unwrap();
    assert!(teacher["suggested_tags"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t == "children:tutoring"));
    let id = teacher["instance_id"].as_str().unwrap();
    let outp = common::shequ_ok(
        dir.path(),
        &[
            "resources",
            "include",
            id,
            "--tag",
            "学业辅导",
            "--tag",
            "课后看护",
        ],
    );
    assert!(outp.contains("居民志愿者"), "{outp}");
    let resources = json(dir.path(), &["resources", "list", "--json"]);
    assert_eq!(resources[0]["source_instance"], id);
    assert_eq!(resources[0]["kind"], "volunteer");
    assert_eq!(
        resources[0]["tags"],
        serde_json::json!(["children:tutoring", "children:after_school"])
    );
    assert_eq!(resources[0]["contact"], "", "no resident's contact");
    let again = json(dir.path(), &["resources", "volunteered", "--json"]);
    assert!(again
        .as_array()
        .unwrap()
        .iter()
        .any(|o| o["instance_id"] == id && o["included"] == true));
    // Refusals: the same offer twice, an offer that does not exist, a tag outside the vocabulary.
    for (args, expected) in [
        (
            vec!["resources", "include", id, "--tag", "学业辅导"],
            "已经加入资源库了",
        ),
        (
            vec![
                "resources",
                "include",
                "nope#volunteer",
                "--tag",
                "学业辅导",
            ],
            "nope#volunteer",
        ),
        (
            vec![
                "resources",
                "include",
                offers[1]["instance_id"].as_str().unwrap(),
                "--tag",
                "航天发射",
            ],
            "不在需求词表里",
        ),
    ] {
        let r = shequ(dir.path(), &args);
        assert_eq!(r.code, 1, "{args:?}");
        assert!(r.stderr.contains(expected), "{args:?}: {}", r.stderr);
    }
    assert_eq!(library_sizes(dir.path()), (1, 0));
}

/// The key fingerprint (`3F2A-91C0-77DE-0B4C-A1E9`) in `shequ keys show`'s output.
fn fingerprint(dir: &Path) -> String {
    let out = common::shequ_ok(dir, &["keys", "show"]);
    out.split(|c: char| !(c.is_ascii_hexdigit() || c == '-'))
        .find(|w| w.len() == 24 && w.matches('-').count() == 4)
        .unwrap_or_else(|| panic!("no fingerprint in {out}"))
        .to_string()
}

#[test]
fn a_cluster_reaches_a_laptop_in_a_bundle_the_centre_writes_back() {
    let (centre, laptop) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (c, l) = (centre.path(), laptop.path());
    common::shequ_ok(c, &["demo"]);
    let key = common::shequ_ok(c, &["keys", "init-centre"]);
    let key = key.lines().find(|s| s.starts_with("age1")).unwrap();
    common::shequ_ok(l, &["keys", "set-centre", key]);
    // The laptop's first bundle (nothing finalized yet) carries its key to the centre.
    let b1 = l.join("b1.shequ");
    common::shequ_ok(l, &["bundle", "export", "--out", b1.to_str().unwrap()]);
    let fp = fingerprint(l);
    common::shequ_ok(
        c,
        &[
            "bundle",
            "import",
            b1.to_str().unwrap(),
            "--accept-device",
            &fp,
        ],
    );
    common::shequ_ok(
        c,
        &[
            "clusters",
            "confirm",
            "--name",
            "整合型社区群",
            "--starts",
            "2026-01-01",
            "DH-06",
            "XH-05",
        ],
    );
    let n1 = c.join("n1.shequ");
    common::shequ_ok(c, &["bundle", "export", "--out", n1.to_str().unwrap()]);
    // Without accepting the centre first, the laptop refuses it and keeps nothing.
    let refused = shequ(l, &["bundle", "import", n1.to_str().unwrap()]);
    assert_ne!(refused.code, 0);
    assert!(
        refused.stderr.contains(&fingerprint(c)),
        "{}",
        refused.stderr
    );
    let fp_centre = fingerprint(c);
    let out = common::shequ_ok(
        l,
        &[
            "bundle",
            "import",
            n1.to_str().unwrap(),
            "--accept-device",
            &fp_centre,
        ],
    );
    // the cluster, its two members
    assert!(
        out.contains("社区群与资源库记录：新增 3，更新 0，未变 0，冲突 0"),
        "{out}"
    );
    let shown = json(l, &["clusters", "show", "整合型社区群", "--json"]);
    let members: Vec<&str> = shown[0]["current"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    assert_eq!(members, ["DH-06", "XH-05"]);
    // The same bundle again changes nothing.
    let out = common::shequ_ok(l, &["bundle", "import", n1.to_str().unwrap()]);
    assert!(!out.contains("新增 3"), "{out}");
}
