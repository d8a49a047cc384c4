//! The record is what ODK would submit, seen from the real window: a problem ticked, its
//! severity rated, the problem unticked (the severity leaves the screen, and the record at
//! finalize); the 12th option of a long list chosen by keyboard; a repeat nested two levels
//! deep filled in and finalized. The record is then read back through the app layer.

use std::time::Duration;

use chrono::Utc;
use fantoccini::{Client, Locator};
use shequ_app::fieldwork::StartInterview;
use shequ_app::App;
use shequ_core::Lang;
use shequ_e2e::*;

fn start(app: &mut App, instrument: Option<uuid::Uuid>, respondent: &str) -> uuid::Uuid {
    let c = app.store().community_by_code("DH-01").unwrap().unwrap().id;
    app.start_interview(
        StartInterview {
            community_id: c,
            instrument_id: instrument,
            interviewer: "李静".into(),
            respondent: respondent.into(),
            consent: true,
        },
        Utc::now(),
    )
    .unwrap()
    .instance_id
}

async fn is_on(c: &Client, id: &str) -> bool {
    match c.find(Locator::Css(&testid(id))).await {
        Ok(e) => e
            .attr("class")
            .await
            .unwrap()
            .unwrap_or_default()
            .split_whitespace()
            .any(|k| k == "on"),
        Err(_) => false,
    }
}

async fn wait_on(c: &Client, id: &str, on: bool) {
    for _ in 0..150 {
        if is_on(c, id).await == on {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{id} should be {}", if on { "on" } else { "off" });
}

async fn wait_gone(c: &Client, id: &str) {
    for _ in 0..150 {
        if c.find(Locator::Css(&testid(id))).await.is_err() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{id} is still on screen");
}

async fn focus(c: &Client, id: &str) {
    c.execute(
        &format!("document.querySelector('[data-testid=\"{id}\"]').focus()"),
        vec![],
    )
    .await
    .unwrap();
}

async fn wait_saved(c: &Client, key: &str) {
    wait_text(c, &testid(&format!("status-{key}")), |t| t == "已保存").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unticked_problem_leaves_no_severity_and_the_12th_need_is_one_keystroke_pair() {
    let dir = tempfile::tempdir().unwrap();
    let id = {
        let mut app = App::open(dir.path(), &shequ_e2e::passphrase(), Utc::now()).unwrap();
        app.load_demo(Utc::now()).unwrap();
        let id = start(&mut app, None, "9号楼101室");
        // Every required answer of blocks A–E and I, through the same path as the window.
        for (k, v) in shequ_app::fieldwork::DEFAULT_SCALE_REQUIRED {
            app.answer(id, k, v, Lang::ZhCn, Utc::now()).unwrap();
        }
        id
    };
    let driver = Driver::start().await;
    let c = driver.open(dir.path()).await;
    click(&c, &testid(&format!("resume-{id}"))).await;
    wait_text(&c, &testid("interview-status"), |t| t == "草稿").await;

    // F: 13 services; "1" then "2" typed quickly is the 12th, 加装电梯 (lift).
    click(&c, &testid("page-F")).await;
    assert_eq!(page_title(&c).await, "F 公共服务需求");
    expect_focus(&c, "f_needs").await;
    let kbd = c
        .find(Locator::Css(&format!("{} kbd", testid("opt-f_needs-lift"))))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(kbd, "12", "a long list numbers its options 1–13");
    keys(&c, "1").await;
    wait_text(&c, &testid("digits-f_needs"), |t| t.contains('1')).await;
    screenshot(&c, "interview-long-list-digits-zh-CN.png").await;
    keys(&c, "2").await;
    wait_on(&c, "opt-f_needs-lift", true).await;
    wait_saved(&c, "f_needs").await;
    assert!(!is_on(&c, "opt-f_needs-property").await, "only the 12th");
    assert!(!is_on(&c, "opt-f_needs-public_facilities").await);
    screenshot(&c, "interview-12th-option-zh-CN.png").await;

    // H: tick 不文明养宠 (pets), rate it, untick it: the severity leaves the screen.
    click(&c, &testid("page-H")).await;
    assert_eq!(page_title(&c).await, "H 社区问题");
    expect_focus(&c, "h_problems").await;
    keys(&c, "1").await; // 11 problems: a lone "1" is picked after a short pause
    wait_on(&c, "opt-h_problems-pets", true).await;
    click(&c, &testid("opt-h_sev_pets-3")).await;
    wait_saved(&c, "h_sev_pets").await;
    screenshot(&c, "interview-severity-rated-zh-CN.png").await;
    focus(&c, "q-h_problems").await;
    keys(&c, "6").await; // 偷盗 (theft): 6 cannot start a two-digit number here
    wait_on(&c, "opt-h_problems-theft", true).await;
    keys(&c, "1").await; // pets again: unticked after the pause
    wait_on(&c, "opt-h_problems-pets", false).await;
    wait_gone(&c, "q-h_sev_pets").await;
    wait_saved(&c, "h_problems").await;
    click(&c, &testid("opt-h_sev_theft-2")).await;
    wait_saved(&c, "h_sev_theft").await;
    screenshot(&c, "interview-severity-gone-zh-CN.png").await;

    // Before finalize the unticked severity is still kept (restorable, as in Collect)…
    {
        let app = App::open(dir.path(), &shequ_e2e::passphrase(), Utc::now()).unwrap();
        let draft = app.store().stored_answers(id).unwrap().values;
        assert_eq!(draft["h_sev_pets"], "3");
        assert_eq!(
            draft["h_count"], "1",
            "the calculation is stored with each save"
        );
    }
    click(&c, &testid("page-finish")).await;
    click(&c, &testid("finalize")).await;
    wait_text(&c, &testid("notice"), |t| t == "问卷已提交。").await;

    // …and after it, the record is what ODK would submit.
    {
        let app = App::open(dir.path(), &shequ_e2e::passphrase(), Utc::now()).unwrap();
        let rec = app.store().stored_answers(id).unwrap().values;
        assert!(!rec.contains_key("h_sev_pets"), "{rec:?}");
        assert_eq!(rec["h_problems"], "theft");
        assert_eq!(rec["h_sev_theft"], "2");
        assert_eq!(rec["h_count"], "1");
        assert_eq!(rec["f_needs"], "lift");
    }
    // The history says what was removed, in words and local time.
    click(&c, &testid(&format!("view-{id}"))).await;
    click(&c, &testid("page-finish")).await;
    let audit = wait_any_text(&c, &testid("audit-entry"), |a| a.contains("不再适用")).await;
    let dropped = audit.iter().find(|a| a.contains("不再适用")).unwrap();
    assert!(
        dropped.contains("（h_sev_pets）") && dropped.contains("“很严重”"),
        "{dropped}"
    );
    assert!(
        !audit
            .iter()
            .any(|a| a.contains("T") && a.contains("+08:00")),
        "no raw timestamps: {audit:?}"
    );
    screenshot(&c, "interview-history-dropped-zh-CN.png").await;
    c.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeat_nested_two_levels_deep_is_filled_and_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let id = {
        let mut app = App::open(dir.path(), &shequ_e2e::passphrase(), Utc::now()).unwrap();
        app.load_demo(Utc::now()).unwrap();
        let bytes =
            std::fs::read(repo_root().join("tests/fixtures/xlsform/ok_nested_repeats.xlsx"))
                .unwrap();
        let (summary, _) = app
            .import_instrument(&bytes, "ok_nested_repeats.xlsx", Utc::now())
            .unwrap();
        start(&mut app, Some(summary.id), "12号楼")
    };
    let driver = Driver::start().await;
    let c = driver.open(dir.path()).await;
    click(&c, &testid(&format!("resume-{id}"))).await;
    wait_text(&c, &testid("interview-status"), |t| t == "草稿").await;

    click(&c, &testid("add-building")).await;
    click(&c, &testid("input-building[1]/bname")).await;
    keys(&c, "一号楼").await;
    click(&c, &testid("add-building[1]/flat")).await;
    wait_saved(&c, "building[1]/bname").await;
    click(&c, &testid("add-building[1]/flat")).await;
    click(&c, &testid("input-building[1]/flat[2]/residents")).await;
    keys(&c, "3").await;
    click(&c, &testid("add-building")).await;
    wait_saved(&c, "building[1]/flat[2]/residents").await;
    click(&c, &testid("input-building[2]/bname")).await;
    keys(&c, "二号楼").await;
    click(&c, &testid("add-building[2]/flat")).await;
    wait_saved(&c, "building[2]/bname").await;
    click(&c, &testid("input-building[2]/flat[1]/residents")).await;
    keys(&c, "5").await;
    click(&c, &testid("input-building[1]/flat[1]/residents")).await;
    wait_saved(&c, "building[2]/flat[1]/residents").await;
    keys(&c, "2").await;
    click(&c, &testid("input-building[2]/bname")).await;
    wait_saved(&c, "building[1]/flat[1]/residents").await;
    assert_eq!(
        wait_text(&c, &testid("heading-building[2]/flat[1]"), |t| !t
            .is_empty())
        .await,
        "Flat（第 1 项）"
    );
    screenshot(&c, "interview-nested-repeat-zh-CN.png").await;

    click(&c, &testid("page-finish")).await;
    click(&c, &testid("finalize")).await;
    wait_text(&c, &testid("notice"), |t| t == "问卷已提交。").await;
    c.close().await.unwrap();

    let app = App::open(dir.path(), &shequ_e2e::passphrase(), Utc::now()).unwrap();
    let rec = app.store().stored_answers(id).unwrap();
    let v = |k: &str| rec.values.get(k).map(String::as_str);
    assert_eq!(v("building[1]/bname"), Some("一号楼"));
    assert_eq!(v("building[1]/flat[1]/residents"), Some("2"));
    assert_eq!(v("building[1]/flat[2]/residents"), Some("3"));
    assert_eq!(v("building[2]/bname"), Some("二号楼"));
    assert_eq!(v("building[2]/flat[1]/residents"), Some("5"));
    assert_eq!(
        rec.repeat_counts,
        [
            ("building".to_string(), 2),
            ("building[1]/flat".to_string(), 2),
            ("building[2]/flat".to_string(), 1)
        ]
        .into_iter()
        .collect()
    );
}
