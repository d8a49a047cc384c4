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
    retype(&c, &testid("proposal-starts-0"), "2026-01-01").await;
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

/// The rest of the network in the real window, and what the centre sends back: a resource
/// added and changed in the form, a volunteered offer included, a cluster's annual project
/// need driving the agenda, a good case added and found, and the cluster and library records
/// exported for the laptop, which a laptop's store then imports.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_centre_edits_its_libraries_lists_project_needs_keeps_cases_and_sends_them_back() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("centre");
    let laptop_dir = root.path().join("laptop");
    // A laptop's first bundle carries its key; the centre accepts it and imports it.
    let mut laptop = shequ_app::App::open(&laptop_dir, &passphrase(), Utc::now()).unwrap();
    {
        let mut centre = shequ_app::App::open(&data, &passphrase(), Utc::now()).unwrap();
        centre.load_demo(Utc::now()).unwrap();
        centre.set_role(Role::Centre).unwrap();
        let key = centre.init_centre().unwrap();
        laptop.set_centre_recipient(&key).unwrap();
        let (b, _) = laptop
            .export_bundle(root.path().join("b1.shequ"), false, false, Utc::now())
            .unwrap();
        centre
            .accept_device(&laptop.device_fingerprint().unwrap())
            .unwrap();
        centre
            .import_bundle(&b, "b1.shequ", false, Utc::now())
            .unwrap();
    }
    let out = root.path().join("发回笔记本");
    std::fs::create_dir(&out).unwrap();
    let agenda_dir = root.path().join("议程");
    std::fs::create_dir(&agenda_dir).unwrap();
    let driver = Driver::start().await;
    let c = driver.open(&data).await;
    click(&c, &testid("nav-network")).await;

    // A resource added in the form: a mistyped tag is refused with the nearest term.
    click(&c, &testid("new-resource")).await;
    retype(&c, &testid("entry-name"), "东湖停车互助队").await;
    retype(&c, &testid("entry-community"), "DH-06").await;
    retype(&c, &testid("entry-tags"), "停车南").await;
    click(&c, &testid("entry-save")).await;
    let e = wait_text(&c, &testid("entry-error"), |t| !t.is_empty()).await;
    assert!(
        e.starts_with("标签“停车南”不能接受：不在需求词表里，最接近的是"),
        "{e}"
    );
    retype(&c, &testid("entry-tags"), "停车难、乱停车").await;
    retype(&c, &testid("entry-capacity"), "2").await;
    click(&c, &testid("entry-save")).await;
    wait_text(&c, &testid("entry-saved"), |t| {
        t == "已保存“东湖停车互助队”"
    })
    .await;
    // Changed: a capacity that is not a number is refused, then 3 is kept.
    click(&c, &testid("edit-resource")).await;
    retype(&c, &testid("entry-capacity"), "三个").await;
    click(&c, &testid("entry-save")).await;
    let e = wait_text(&c, &testid("entry-error"), |t| !t.is_empty()).await;
    assert!(e.starts_with("可承接数“三个”不能接受"), "{e}");
    retype(&c, &testid("entry-capacity"), "3").await;
    click(&c, &testid("entry-save")).await;
    wait_text(&c, &testid("entry-saved"), |t| t.contains("东湖停车互助队")).await;
    wait_count(&c, &testid("resource-row"), 1).await;

    // What residents volunteered: the first offer is included under a tag chosen here.
    let offers = wait_any_text(&c, &testid("volunteered-row"), |_| true).await;
    assert!(!offers.is_empty(), "the demo has volunteered offers");
    retype(
        &c,
        &format!("{} input", testid("volunteered-row")),
        "居家维修",
    )
    .await;
    click(&c, &testid("volunteered-include")).await;
    wait_count(&c, &testid("resource-row"), 2).await;
    screenshot(&c, "network-entry-volunteered-zh-CN.png").await;

    // A cluster with this year's project need: the agenda is made from the list.
    c.execute("window.scrollTo(0, 0)", vec![]).await.unwrap();
    click(&c, &testid("network-tab-clusters")).await;
    wait_text(&c, &testid("proposal-0"), |t| {
        t.starts_with("整合型：DH-06、XH-05")
    })
    .await;
    retype(&c, &testid("proposal-starts-0"), "2026-01-01").await;
    click(&c, &testid("create-cluster-0")).await;
    wait_text(&c, &testid("project-needs-none"), |t| {
        t.contains("还没有列出今年的项目需求")
    })
    .await;
    retype(&c, &testid("project-need-title"), "停车改造项目").await;
    c.execute(
        "const s = document.querySelector('[data-testid=project-need-tag]'); s.value = 'problem:parking'; s.dispatchEvent(new Event('change'))",
        vec![],
    )
    .await
    .unwrap();
    click(&c, &testid("project-need-add")).await;
    let need = wait_text(&c, &testid("project-need"), |t| !t.is_empty()).await;
    assert!(need.contains("停车改造项目（停车难、乱停车）"), "{need}");
    choose_folder(&c, "agenda-folder-整合型社区群", &agenda_dir).await;
    click(&c, &testid("export-agenda")).await;
    wait_text(&c, &testid("agenda-written"), |t| t.contains(".docx")).await;
    let docx = std::fs::read_dir(&agenda_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "docx"))
        .unwrap();
    let doc = zip_text(&docx, "word/document.xml");
    assert!(doc.contains("停车改造项目（停车难、乱停车）") && doc.contains("东湖停车互助队"));
    assert!(
        !doc.contains("物业服务差"),
        "only the listed need, not the shared ones"
    );
    screenshot(&c, "network-project-needs-zh-CN.png").await;

    // A good case, added to the cluster and found by a word.
    c.execute("window.scrollTo(0, 0)", vec![]).await.unwrap();
    click(&c, &testid("network-tab-cases")).await;
    wait_text(&c, &testid("no-cases"), |t| t == "没有找到案例。").await;
    retype(&c, &testid("case-title"), "停车错时共享").await;
    retype(
        &c,
        &testid("case-summary"),
        "单位车位夜间向居民开放，缓解停车难。",
    )
    .await;
    wait_count(&c, &format!("{} option", testid("case-cluster")), 2).await;
    c.execute(
        "const s = document.querySelector('[data-testid=case-cluster]'); s.value = '整合型社区群'; s.dispatchEvent(new Event('change'))",
        vec![],
    )
    .await
    .unwrap();
    retype(&c, &testid("case-tags"), "停车难、乱停车").await;
    click(&c, &testid("case-save")).await;
    wait_text(&c, &testid("case-notice"), |t| {
        t == "已保存案例“停车错时共享”"
    })
    .await;
    retype(&c, &testid("case-search-text"), "错时").await;
    click(&c, &testid("case-search-go")).await;
    let found = wait_text(&c, &testid("case"), |t| t.contains("停车错时共享")).await;
    assert!(
        found.contains("整合型社区群") && found.contains("停车难、乱停车"),
        "{found}"
    );
    screenshot(&c, "network-cases-zh-CN.png").await;

    // The exchange: the centre writes the records back for the one laptop it knows.
    c.execute("window.scrollTo(0, 0)", vec![]).await.unwrap();
    click(&c, &testid("nav-exchange")).await;
    wait_text(&c, &testid("send-back-panel"), |t| {
        t.contains("1 台交过数据包的笔记本")
    })
    .await;
    choose_folder(&c, "send-back-folder", &out).await;
    click(&c, &testid("send-back")).await;
    wait_text(&c, &testid("exchange-message"), |t| {
        t.starts_with("已写出给 1 台笔记本的数据包")
    })
    .await;
    screenshot(&c, "exchange-send-back-zh-CN.png").await;
    c.close().await.unwrap();
    drop(driver);

    // The laptop opens it with its own key, once it has accepted the centre's fingerprint.
    let file = std::fs::read_dir(&out)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let bytes = std::fs::read(&file).unwrap();
    let centre_fp = shequ_app::App::open(&data, &passphrase(), Utc::now())
        .unwrap()
        .device_fingerprint()
        .unwrap();
    laptop.accept_device(&centre_fp).unwrap();
    let r = laptop
        .import_bundle(&bytes, "back.shequ", false, Utc::now())
        .unwrap();
    assert_eq!((r.counts.new, r.counts.shared_conflicts), (0, 0));
    let cluster = laptop.cluster("整合型社区群", Utc::now()).unwrap();
    assert_eq!(cluster.current, ["DH-06", "XH-05"]);
    let needs = laptop.project_needs("整合型社区群", None).unwrap();
    assert_eq!(needs[0].title, "停车改造项目");
    assert_eq!(laptop.cases(Some("错时"), None).unwrap().len(), 1);
    let names: Vec<String> = laptop
        .resources()
        .unwrap()
        .into_iter()
        .map(|r| r.name)
        .collect();
    assert!(names.contains(&"东湖停车互助队".to_string()), "{names:?}");
    assert_eq!(names.len(), 2);
}
