//! The home screen in the real window: demo communities in Chinese, the switch to English,
//! the language remembered across a restart, the empty state's demo button, and a corrupt
//! database reported in the window.

use chrono::Utc;
use fantoccini::Locator;
use shequ_e2e::*;

const DEMO_NAMES: [&str; 12] = [
    "梧桐里社区",
    "锦绣苑社区",
    "湖景名邸社区",
    "新港安置社区",
    "东湖村社区",
    "纺织新村社区",
    "西河苑社区",
    "柳岸社区",
    "春晖家园社区",
    "河口社区",
    "滨江花园社区",
    "机床厂社区",
];

fn demo_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut app = shequ_app::App::open(dir.path(), &shequ_e2e::passphrase(), Utc::now()).unwrap();
    app.load_demo(Utc::now()).unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn home_lists_demo_communities_in_chinese_then_english_and_remembers_the_language() {
    let dir = demo_dir();
    let driver = Driver::start().await;
    let c = driver.open(dir.path()).await;

    // Chinese by default.
    assert_eq!(
        wait_text(&c, &testid("communities-heading"), |t| !t.is_empty()).await,
        "社区"
    );
    let rows = wait_count(&c, &testid("community-name"), 12).await;
    assert_eq!(texts(&rows).await, DEMO_NAMES);
    let forms = texts(
        &c.find_all(Locator::Css(&testid("housing-form")))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(forms[0], "老旧小区/售后公房");
    assert_eq!(forms[4], "村改居");
    let progress = texts(&c.find_all(Locator::Css(&testid("progress"))).await.unwrap()).await;
    assert_eq!(progress[0], "42 / 60");
    assert_eq!(
        c.find_all(Locator::Css(&testid("low-reliability")))
            .await
            .unwrap()
            .len(),
        3,
        "DH-03 (18), XH-04 (12) and XH-06 (8) have fewer than 30 responses"
    );
    assert_eq!(
        wait_text(&c, &testid("communities-count"), |t| !t.is_empty()).await,
        "共 12 个社区，2 个街道"
    );
    let instrument = wait_text(&c, &testid("instrument"), |t| !t.is_empty()).await;
    assert!(
        instrument.starts_with("社区分析量表") && instrument.contains("61"),
        "{instrument}"
    );
    screenshot(&c, "home-zh-CN.png").await;
    // The chart is drawn when its panel scrolls into view.
    assert!(c
        .find(fantoccini::Locator::Css(&testid("progress-chart")))
        .await
        .is_err());
    c.execute(
        "document.querySelector('[data-testid=\"chart-panel\"]').scrollIntoView()",
        vec![],
    )
    .await
    .unwrap();
    wait_count(&c, &format!("{} canvas", testid("progress-chart")), 1).await;
    screenshot(&c, "home-chart-zh-CN.png").await;

    // Search narrows the list.
    c.find(Locator::Css(&testid("community-search")))
        .await
        .unwrap()
        .send_keys("XH-0")
        .await
        .unwrap();
    wait_count(&c, &testid("community-row"), 6).await;
    // Backspace four times, as a user would (WebDriver's clear() fires no input event).
    let backspaces: String = std::iter::repeat_n('\u{E003}', 4).collect();
    c.find(Locator::Css(&testid("community-search")))
        .await
        .unwrap()
        .send_keys(&backspaces)
        .await
        .unwrap();
    wait_count(&c, &testid("community-row"), 12).await;

    // Switch to English.
    click(&c, &testid("lang-en")).await;
    assert_eq!(
        wait_text(&c, &testid("communities-heading"), |t| t != "社区").await,
        "Communities"
    );
    let rows = wait_count(&c, &testid("community-name"), 12).await;
    assert_eq!(
        texts(&rows).await,
        DEMO_NAMES,
        "names are data, not translated"
    );
    let forms = texts(
        &c.find_all(Locator::Css(&testid("housing-form")))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(forms[0], "Old / sold public housing");
    assert_eq!(forms[4], "Village converted to residential");
    assert_eq!(
        wait_text(&c, &testid("communities-count"), |t| t.starts_with("12")).await,
        "12 communities in 2 subdistricts"
    );
    screenshot(&c, "home-en.png").await;
    c.close().await.unwrap();

    // Restart: English is remembered.
    let c = driver.open(dir.path()).await;
    assert_eq!(
        wait_text(&c, &testid("communities-heading"), |t| !t.is_empty()).await,
        "Communities"
    );
    wait_count(&c, &testid("community-row"), 12).await;
    click(&c, &testid("lang-zh-CN")).await;
    assert_eq!(
        wait_text(&c, &testid("communities-heading"), |t| t != "Communities").await,
        "社区"
    );
    c.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_store_offers_the_demo_and_loads_it() {
    let dir = tempfile::tempdir().unwrap();
    let driver = Driver::start().await;
    let c = driver.open(dir.path()).await;
    let empty = wait_text(&c, &testid("empty-state"), |t| !t.is_empty()).await;
    assert!(
        empty.starts_with("还没有社区") && empty.contains("载入示范数据"),
        "{empty}"
    );
    screenshot(&c, "home-empty-zh-CN.png").await;
    // Every change of the progress strip, and when the communities arrive, as the page sees it.
    c.execute(
        r#"window.__seen = []; window.__loaded = null;
        new MutationObserver(() => {
          const el = document.querySelector('[data-testid=work-progress]');
          if (el) window.__seen.push([el.dataset.stage, +el.dataset.done, +el.dataset.total, performance.now(), el.textContent]);
          if (window.__loaded === null && document.querySelector('[data-testid=community-name]')) window.__loaded = performance.now();
        }).observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });"#,
        vec![],
    )
    .await
    .unwrap();
    click(&c, &testid("load-demo")).await;
    let rows = wait_count(&c, &testid("community-name"), 12).await;
    assert_eq!(texts(&rows).await, DEMO_NAMES);
    let strip = wait_text(&c, &testid("work-progress"), |t| t.contains("13/13")).await;
    assert_eq!(strip, "正在生成示例数据（13/13）");
    screenshot(&c, "progress-demo-zh-CN.png").await;
    wait_gone(&c, &testid("work-progress")).await;
    // The bar moved while the work ran (the command off the main thread, its reports
    // delivered as they were made): several counts, in order, before the communities came.
    let seen = c
        .execute("return [window.__seen, window.__loaded]", vec![])
        .await
        .unwrap();
    let (seen, loaded) = (
        seen[0].as_array().unwrap().clone(),
        seen[1].as_f64().unwrap(),
    );
    let counts: Vec<(i64, f64)> = seen
        .iter()
        .map(|s| (s[1].as_i64().unwrap(), s[3].as_f64().unwrap()))
        .collect();
    assert!(
        seen.iter().all(|s| s[0] == "load_demo" && s[2] == 13),
        "{seen:?}"
    );
    assert!(counts.windows(2).all(|w| w[0].0 <= w[1].0), "{counts:?}");
    let mut before: Vec<i64> = counts
        .iter()
        .filter(|c| c.1 < loaded)
        .map(|c| c.0)
        .collect();
    before.dedup();
    assert!(
        before.len() >= 3,
        "counts shown before the demo arrived: {counts:?}, loaded at {loaded}"
    );
    eprintln!(
        "progress shown while the demo loaded (count, ms): {counts:?}; communities at {loaded} ms"
    );
    c.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_database_is_explained_in_the_window_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let junk: Vec<u8> = (0..4096u32).map(|i| (i * 13 % 251) as u8).collect();
    let db = dir.path().join("shequ.db");
    std::fs::write(&db, &junk).unwrap();
    let driver = Driver::start().await;
    let c = driver.open_locked(dir.path()).await;
    // Without its key an encrypted database cannot be told from random bytes: the unlock
    // screen says the passphrase does not open it, or the file may be damaged.
    retype(&c, &testid("unlock-passphrase"), PASSPHRASE).await;
    click(&c, &testid("unlock-submit")).await;
    let text = wait_text(&c, &testid("unlock-error"), |t| !t.is_empty()).await;
    assert!(
        text.contains("口令不对") && text.contains("shequ.db") && text.contains("可能已损坏"),
        "{text}"
    );
    screenshot(&c, "home-corrupt-db-zh-CN.png").await;
    c.close().await.unwrap();
    assert_eq!(std::fs::read(&db).unwrap(), junk);
}

fn fixture(name: &str) -> std::path::PathBuf {
    repo_root().join("tests/fixtures/xlsform").join(name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_designer_previews_and_imports_an_xlsform_and_a_bad_one_is_explained() {
    let dir = tempfile::tempdir().unwrap();
    let driver = Driver::start().await;
    let c = driver.open(dir.path()).await;
    wait_count(&c, &testid("instrument"), 1).await;
    click(&c, &testid("import-instrument")).await;
    wait_text(&c, &testid("import-heading"), |t| t.starts_with("导入量表")).await;

    // A malformed form: the reason, with sheet, row and column, in Chinese.
    choose_file(&c, "import-file", &fixture("bad_syntax_error.xlsx")).await;
    let err = wait_text(&c, &testid("import-error"), |t| !t.is_empty()).await;
    assert!(
        err.contains("工作表 survey 第 3 行“relevant”列") && err.contains("语法错误"),
        "{err}"
    );
    screenshot(&c, "import-error-zh-CN.png").await;

    // A good one with unsupported questions: preview, warnings, then import.
    choose_file(&c, "import-file", &fixture("ok_unsupported_media.xlsx")).await;
    assert_eq!(
        wait_text(&c, &testid("preview-status"), |t| !t.is_empty()).await,
        "新量表"
    );
    let warnings = wait_text(&c, &testid("preview-warnings"), |t| !t.is_empty()).await;
    assert!(
        warnings.contains("photo") && warnings.contains("第 3 行"),
        "{warnings}"
    );
    wait_count(&c, &format!("{} tbody tr", testid("preview-outline")), 5).await;
    screenshot(&c, "import-preview-zh-CN.png").await;
    click(&c, &testid("import-confirm")).await;
    let notice = wait_text(&c, &testid("notice"), |t| !t.is_empty()).await;
    assert_eq!(notice, "已导入“ok_unsupported_media”（未标版本）。");
    let titles = texts(&wait_count(&c, &testid("instrument"), 2).await).await;
    assert!(
        titles.iter().any(|t| t.starts_with("ok_unsupported_media")),
        "{titles:?}"
    );
    c.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_laptop_exports_a_bundle_and_the_centre_imports_it_in_the_window() {
    let root = tempfile::tempdir().unwrap();
    let (laptop, centre) = (root.path().join("laptop"), root.path().join("centre"));
    let recipient = shequ_app::App::open(&centre, &shequ_e2e::passphrase(), Utc::now())
        .unwrap()
        .init_centre()
        .unwrap();
    {
        let mut app = shequ_app::App::open(&laptop, &shequ_e2e::passphrase(), Utc::now()).unwrap();
        app.load_demo(Utc::now()).unwrap();
        app.set_centre_recipient(&recipient).unwrap();
    }
    let out = root.path().join("usb");
    std::fs::create_dir_all(&out).unwrap();
    let driver = Driver::start().await;

    // The laptop exports everything to the "USB stick".
    let c = driver.open(&laptop).await;
    wait_text(&c, &testid("open-exchange"), |t| !t.is_empty()).await;
    click(&c, &testid("open-exchange")).await;
    wait_text(&c, &testid("last-export"), |t| t == "还没有导出过。").await;
    choose_folder(&c, "exchange-folder", &out).await;
    click(&c, &testid("export-all")).await;
    let msg = wait_text(&c, &testid("exchange-message"), |t| !t.is_empty()).await;
    assert!(msg.starts_with("已导出 423 份问卷到"), "{msg}");
    wait_text(&c, &testid("last-export"), |t| t.contains("423 份问卷")).await;
    // The laptop shows its key fingerprint, for the centre to compare.
    let shown = wait_text(&c, &testid("device-fingerprint"), |t| !t.is_empty()).await;
    let fp = shown
        .strip_prefix("本机指纹：")
        .and_then(|r| r.split('（').next())
        .unwrap_or_else(|| panic!("{shown}"))
        .to_string();
    assert_eq!(fp.len(), 24, "{shown}");
    screenshot(&c, "exchange-export-zh-CN.png").await;
    c.close().await.unwrap();
    let bundle = std::fs::read_dir(&out)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    assert_eq!(bundle.extension().unwrap(), "shequ");

    // The centre plans, then imports it.
    // The centre (it holds the centre key) has its own navigation, and its exchange screen
    // shows the import side, not a laptop's export panel.
    let c = driver.open(&centre).await;
    click(&c, &testid("nav-exchange")).await;
    wait_text(&c, &testid("exchange-heading"), |t| t == "数据交换").await;
    wait_count(&c, &testid("export-panel"), 0).await;
    wait_count(&c, &testid("open-exchange"), 0).await;
    choose_file(&c, "bundle-files", &bundle).await;
    let plan = wait_text(&c, &testid("bundle-plan"), |t| !t.is_empty()).await;
    assert!(
        plan.contains("新增 423") && plan.contains("首次出现的设备"),
        "{plan}"
    );
    // A new device: its fingerprint is the one the laptop showed, and nothing is imported
    // until the analyst ticks that they match.
    let new = wait_text(&c, &testid("new-device"), |t| !t.is_empty()).await;
    assert!(new.contains(&fp), "{new} / {fp}");
    screenshot(&c, "exchange-plan-zh-CN.png").await;
    click(&c, &testid("bundle-apply")).await;
    let refused = wait_text(&c, &testid("bundle-errors"), |t| !t.is_empty()).await;
    assert!(refused.contains("没有核对设备指纹，未导入"), "{refused}");
    wait_count(&c, &testid("bundle-applied"), 0).await;
    choose_file(&c, "bundle-files", &bundle).await;
    click(&c, &testid("accept-device")).await;
    click(&c, &testid("bundle-apply")).await;
    let applied = wait_text(&c, &testid("bundle-applied"), |t| !t.is_empty()).await;
    assert!(applied.contains("新增 423"), "{applied}");
    // The same file again changes nothing.
    choose_file(&c, "bundle-files", &bundle).await;
    wait_text(&c, &testid("bundle-plan"), |t| t.contains("已经导入过")).await;
    click(&c, &testid("exchange-close")).await;
    let progress = texts(&wait_count(&c, &testid("progress"), 12).await).await;
    assert_eq!(progress[0], "42 / 60");
    c.close().await.unwrap();
}
