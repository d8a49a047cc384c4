//! The centre's analysis in the real window: the classification table of the demo district,
//! a community's profile, a change of the identity cut-off that re-classifies it, its
//! checklist showing what the change adds and removes, accepted, then one item edited with a
//! reason; the Word report written from the profile page; the same screens in English.

use chrono::Utc;
use shequ_app::analysis::Role;
use shequ_app::App;
use shequ_e2e::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cutoff_change_reclassifies_a_community_and_its_new_checklist_is_accepted_and_edited() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("centre");
    let reports = root.path().join("reports");
    std::fs::create_dir_all(&reports).unwrap();
    {
        let mut app = App::open(&data, &shequ_e2e::passphrase(), Utc::now()).unwrap();
        app.load_demo(Utc::now()).unwrap();
        app.set_role(Role::Centre).unwrap();
    }
    let driver = Driver::start().await;
    let c = driver.open(&data).await;

    // The centre's own navigation; the analysis opens on the classification table.
    click(&c, &testid("nav-analysis")).await;
    let label = wait_text(
        &c,
        &format!("{} {}", testid("class-row-DH-01"), testid("class-label")),
        |t| !t.is_empty(),
    )
    .await;
    assert_eq!(
        label,
        "老旧小区 × 松散型 + 老龄化 + 困难群体集中 + 需求：加装电梯"
    );
    wait_text(
        &c,
        &format!("{} {}", testid("class-row-XH-06"), testid("class-type")),
        |t| t.contains("数据不足"),
    )
    .await;
    click(
        &c,
        &format!("{} {}", testid("class-row-DH-01"), testid("class-name")),
    )
    .await;
    let why = wait_text(&c, &testid("explanation"), |t| t.contains("松散型")).await;
    assert!(
        why.contains("社区认同 71.9 分") && why.contains("判为“高”"),
        "{why}"
    );
    screenshot(&c, "analysis-classification-zh-CN.png").await;

    // The profile: scores with their interval and reliability.
    click(&c, &testid("open-profile")).await;
    let identity = wait_text(&c, &testid("dimension-row-identity"), |t| {
        t.contains("71.9")
    })
    .await;
    assert!(identity.contains("42"), "n = 42: {identity}");
    wait_text(&c, &testid("profile"), |t| {
        t.contains("梧桐里社区") && t.contains("加装电梯")
    })
    .await;
    screenshot(&c, "analysis-profile-zh-CN.png").await;

    // The Word report, from the profile page, into the folder picked in the folder dialog.
    choose_folder(&c, "report-folder", &reports).await;
    click(&c, &testid("export-report")).await;
    let written = wait_text(&c, &testid("report-written"), |t| t.contains(".docx")).await;
    assert!(written.contains("社区肖像-DH-01"), "{written}");

    // The identity cut-off goes to 75: DH-01 (identity 71.9) becomes Anomic at once.
    click(&c, &testid("nav-analysis")).await;
    click(&c, &testid("analysis-tab-settings")).await;
    click(&c, &testid("setting-cutoff")).await; // waits for the form
    retype(&c, &testid("setting-cutoff"), "75").await;
    click(&c, &testid("save-settings")).await;
    wait_text(&c, &testid("settings-saved"), |t| !t.is_empty()).await;
    // A value out of range is refused with the reason, and nothing is saved.
    retype(&c, &testid("setting-cutoff"), "150").await;
    click(&c, &testid("save-settings")).await;
    let err = wait_text(&c, &testid("settings-error"), |t| !t.is_empty()).await;
    assert!(err.contains("“分界值”应在 0 到 100 之间"), "{err}");
    retype(&c, &testid("setting-cutoff"), "75").await;
    // Back up to the tabs (WebKitWebDriver would scroll them under the sticky header).
    c.execute("window.scrollTo(0, 0)", vec![]).await.unwrap();
    click(&c, &testid("analysis-tab-table")).await;
    wait_text(
        &c,
        &format!("{} {}", testid("class-row-DH-01"), testid("class-type")),
        |t| t.contains("失范型"),
    )
    .await;
    screenshot(&c, "analysis-reclassified-zh-CN.png").await;

    // Its checklist stays as it was, and shows what the change adds and removes.
    click(
        &c,
        &format!("{} {}", testid("class-row-DH-01"), testid("class-name")),
    )
    .await;
    click(&c, &testid("open-checklist")).await;
    let pending = wait_text(&c, &testid("pending-changes"), |t| !t.is_empty()).await;
    assert!(
        pending.contains("招募楼组长"),
        "the Anomic items are offered: {pending}"
    );
    screenshot(&c, "analysis-checklist-pending-zh-CN.png").await;
    click(&c, &testid("accept-checklist")).await;
    let item = testid("item-type.anomic.building_heads");
    wait_text(&c, &format!("{item} {}", testid("item-action")), |t| {
        t.contains("招募楼组长")
    })
    .await;

    // One new item re-prioritised, with a reason.
    click(
        &c,
        &format!(
            "{} option[value=\"3\"]",
            testid("priority-type.anomic.building_heads")
        ),
    )
    .await;
    click(&c, &testid("edit-reason")).await;
    retype(&c, &testid("edit-reason"), "楼组长已基本配齐，先做其他事项").await;
    click(&c, &testid("edit-save")).await;
    let hist = format!("{item} {}", testid("item-history"));
    wait_count(&c, &hist, 1).await;
    c.execute(
        "document.querySelectorAll('details.history').forEach(d => d.open = true); \
         document.querySelector('[data-testid=\"item-type.anomic.building_heads\"]').scrollIntoView({block: 'center'})",
        vec![],
    )
    .await
    .unwrap();
    wait_text(&c, &hist, |t| t.contains("楼组长已基本配齐")).await;
    screenshot(&c, "analysis-checklist-edited-zh-CN.png").await;

    // The same screens in English.
    click(&c, &testid("lang-en")).await;
    click(&c, &testid("nav-analysis")).await;
    wait_text(
        &c,
        &format!("{} {}", testid("class-row-DH-01"), testid("class-type")),
        |t| t.contains("Anomic"),
    )
    .await;
    screenshot(&c, "analysis-classification-en.png").await;
    c.close().await.unwrap();
    drop(driver);

    // What the window did is in the store: the thresholds, the acceptance, the edit.
    let app = App::open(&data, &shequ_e2e::passphrase(), Utc::now()).unwrap();
    assert_eq!(app.analysis_settings().unwrap().cutoff, 75.0);
    let list = app.checklist("DH-01").unwrap();
    assert!(list.pending_add.is_empty() && list.pending_remove.is_empty());
    let edited = list
        .items
        .iter()
        .find(|i| i.item.id == "type.anomic.building_heads")
        .unwrap();
    assert_eq!(edited.item.priority, 3);
    assert_eq!(edited.edits[0].reason, "楼组长已基本配齐，先做其他事项");
    assert!(!list
        .items
        .iter()
        .any(|i| i.item.id.starts_with("type.diffuse.")));
    // The report the window wrote is a Word file with the community's title.
    let docx = std::fs::read_dir(&reports)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&docx).unwrap()).unwrap();
    let mut xml = String::new();
    std::io::Read::read_to_string(&mut zip.by_name("word/document.xml").unwrap(), &mut xml)
        .unwrap();
    assert!(
        xml.contains("梧桐里社区社区肖像与治理清单"),
        "title in {}",
        docx.display()
    );
}
