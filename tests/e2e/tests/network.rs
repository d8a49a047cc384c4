//! Resources and clusters in the real window, at the district centre: a library imported
//! from a filled template, a community's need matched to a resource and confirmed, a cluster
//! formed from the classification, a joint meeting recorded with a follow-up, and the project
//! matching meeting's agenda exported (Word and Excel, read back from their zip).

use std::io::Read;

use chrono::Utc;
use shequ_app::analysis::Role;
use shequ_e2e::*;

/// What a district fills into the template, as a CSV saved from Excel.
const LIBRARY: &str =
    "资源类型,名称,所属社区,所属街道,联系方式,可承接数,可用日,可用时段,有效期至,标签
社会组织,梧桐加梯互助会,DH-01,,王阿姨,2,工作日,,,加装电梯、居家维修
驻区单位,东湖电梯公司,,东湖街道,李经理,3,周一至周五,9:00-17:00,2030-12-31,加装电梯
驻区单位,纺织厂停车场,DH-06,,厂办,,每天,,,停车难、乱停车
社会组织,物业服务促进会,XH-05,,,,,,,物业服务差、物业和业委会服务
";

fn zip_text(path: &std::path::Path, entry: &str) -> String {
    let mut z = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut s = String::new();
    z.by_name(entry).unwrap().read_to_string(&mut s).unwrap();
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_centre_imports_a_library_matches_a_need_forms_a_cluster_and_exports_the_agenda() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("centre");
    {
        let mut app = shequ_app::App::open(&data, &passphrase(), Utc::now()).unwrap();
        app.load_demo(Utc::now()).unwrap();
        app.set_role(Role::Centre).unwrap();
    }
    let csv = root.path().join("资源库.csv");
    std::fs::write(&csv, LIBRARY).unwrap();
    let out = root.path().join("议程");
    std::fs::create_dir(&out).unwrap();
    let driver = Driver::start().await;
    let c = driver.open(&data).await;

    // The libraries: the file is checked, then imported.
    click(&c, &testid("nav-network")).await;
    wait_text(&c, &testid("no-resources"), |t| {
        t.contains("资源库还是空的")
    })
    .await;
    choose_file(&c, "library-file", &csv).await;
    let plan = wait_text(&c, &testid("library-plan"), |t| !t.is_empty()).await;
    assert!(plan.contains("将导入 4 条资源、0 位专家"), "{plan}");
    click(&c, &testid("library-apply")).await;
    wait_text(&c, &testid("library-imported"), |t| {
        t.contains("已导入 4 条资源")
    })
    .await;
    let rows = texts(&wait_count(&c, &testid("resource-row"), 4).await).await;
    assert!(
        rows.iter()
            .any(|r| r.contains("梧桐加梯互助会") && r.contains("加装电梯、居家维修")),
        "{rows:?}"
    );
    screenshot(&c, "network-libraries-zh-CN.png").await;

    // Matching: DH-01's lift need, its own community's group first, then the street's company.
    click(&c, &testid("network-tab-match")).await;
    let select = c
        .find(fantoccini::Locator::Css(&testid("match-community")))
        .await
        .unwrap();
    wait_text(
        &c,
        &format!("{} option[value=\"DH-01\"]", testid("match-community")),
        |t| !t.is_empty(),
    )
    .await;
    select.select_by_value("DH-01").await.unwrap();
    let lift = format!("{} {}", testid("demand-service:lift"), testid("candidate"));
    let candidates = texts(&wait_count(&c, &lift, 2).await).await;
    assert!(
        candidates[0].starts_with("1梧桐加梯互助会59.5"),
        "{candidates:?}"
    );
    assert!(candidates[0].contains("本社区"), "{candidates:?}");
    assert!(
        candidates[1].starts_with("2东湖电梯公司47.6") && candidates[1].contains("同街道"),
        "{candidates:?}"
    );
    click(
        &c,
        &format!(
            "{} {}",
            testid("demand-service:lift"),
            testid("confirm-match")
        ),
    )
    .await;
    let recorded = wait_text(&c, &testid("match-recorded"), |t| !t.is_empty()).await;
    assert_eq!(recorded, "已记录对接：加装电梯 ← 梧桐加梯互助会。");
    wait_text(&c, &testid("recorded-matches"), |t| {
        t.contains("梧桐加梯互助会")
    })
    .await;
    screenshot(&c, "network-match-zh-CN.png").await;

    // Clusters: the first proposal (整合型: DH-06 and XH-05) is formed.
    click(&c, &testid("network-tab-clusters")).await;
    let p = wait_text(&c, &testid("proposal-0"), |t| !t.is_empty()).await;
    assert!(p.starts_with("整合型：DH-06、XH-05"), "{p}");
    retype(&c, &testid("proposal-starts"), "2026-01-01").await;
    click(&c, &testid("create-cluster-0")).await;
    wait_text(&c, &testid("cluster-notice"), |t| {
        t == "已成立社区群“整合型社区群”。"
    })
    .await;
    let card = testid("cluster-整合型社区群");
    wait_text(&c, &card, |t| t.contains("DH-06、XH-05")).await;
    // A meeting with a follow-up, in round 2 (2026-04-01 …): XH-05 chairs.
    click(&c, &testid("open-meeting")).await;
    retype(&c, &testid("meeting-date"), "2026-05-10").await;
    retype(&c, &testid("meeting-attendees"), "王书记，李主任").await;
    retype(&c, &testid("meeting-minutes"), "交流物业管理和停车的做法。").await;
    retype(&c, &testid("meeting-decision"), "联合招标物业服务").await;
    retype(&c, &testid("follow-action"), "起草招标文件").await;
    retype(&c, &testid("follow-owner"), "锦绣苑社区").await;
    retype(&c, &testid("follow-due"), "2026-06-30").await;
    click(&c, &testid("save-meeting")).await;
    let meeting = wait_text(&c, &testid("meeting"), |t| !t.is_empty()).await;
    assert!(
        meeting.contains("2026-05-10 第 2 轮联席会议，主席 XH-05")
            && meeting.contains("起草招标文件（锦绣苑社区，2026-06-30）"),
        "{meeting}"
    );
    // A meeting dated before round 1 is refused with the reason.
    click(&c, &testid("open-meeting")).await;
    retype(&c, &testid("meeting-date"), "2025-12-01").await;
    retype(&c, &testid("meeting-minutes"), "太早了").await;
    click(&c, &testid("save-meeting")).await;
    let e = wait_text(&c, &testid("cluster-error"), |t| !t.is_empty()).await;
    assert_eq!(
        e,
        "2025-12-01 不在“整合型社区群”的任何一轮里：第 1 轮从 2026-01-01 开始。"
    );
    screenshot(&c, "network-clusters-zh-CN.png").await;

    // The agenda of the project matching meeting, into a folder picked in the dialog.
    choose_folder(&c, "agenda-folder-整合型社区群", &out).await;
    click(&c, &testid("export-agenda")).await;
    wait_text(&c, &testid("agenda-written"), |t| t.contains(".docx")).await;
    let docx = out.join("项目对接会议程-整合型社区群-2026 年度.docx");
    let xlsx = out.join("项目对接会议程-整合型社区群-2026 年度.xlsx");
    let doc = zip_text(&docx, "word/document.xml");
    for want in [
        "整合型社区群项目对接会议程",
        "停车难、乱停车",
        "纺织厂停车场",
        "物业服务差",
        "物业服务促进会",
        "同社区群",
    ] {
        assert!(doc.contains(want), "{want} not in the agenda");
    }
    let strings = zip_text(&xlsx, "xl/sharedStrings.xml");
    assert!(
        strings.contains("纺织厂停车场") && strings.contains("项目需求"),
        "xlsx"
    );

    // In English, the same screens speak English.
    click(&c, &testid("lang-en")).await;
    wait_text(&c, &testid("network-tab-clusters"), |t| t == "Clusters").await;
    // Back up the page, as a person scrolls to the tabs.
    c.execute("window.scrollTo(0, 0)", vec![]).await.unwrap();
    click(&c, &testid("network-tab-libraries")).await;
    wait_text(&c, &testid("libraries"), |t| {
        t.contains("Resource and expert libraries")
    })
    .await;
    screenshot(&c, "network-libraries-en.png").await;
    c.close().await.unwrap();
}
