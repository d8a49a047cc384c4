//! A full interview of the default scale in the real window, keyboard only: a constraint
//! error, a required-question block, skip logic, finalize; then a restart finds it, an edit
//! makes a new version, and the audit trail shows the change. Screenshots of every page.

use chrono::Utc;
use fantoccini::{key::Key, Locator};
use shequ_e2e::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_interview_by_keyboard_then_restart_edit_and_audit() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut app =
            shequ_app::App::open(dir.path(), &shequ_e2e::passphrase(), Utc::now()).unwrap();
        app.load_demo(Utc::now()).unwrap();
    }
    let driver = Driver::start().await;
    let c = driver.open(dir.path()).await;

    // Home → start (the start button has focus).
    wait_text(&c, &testid("start-interview"), |t| t == "开始访谈").await;
    keys(&c, &enter()).await;
    wait_text(&c, &testid("start-heading"), |t| !t.is_empty()).await;
    keys(&c, "梧桐").await;
    keys(&c, &enter()).await;
    wait_text(&c, &testid("start-chosen"), |t| t.contains("梧桐里社区")).await;
    keys(&c, "张敏").await;
    keys(&c, &char::from(Key::Tab).to_string()).await;
    keys(&c, "3号楼201室").await;
    keys(&c, &char::from(Key::Tab).to_string()).await;
    keys(&c, " ").await; // consent
    screenshot(&c, "interview-start-zh-CN.png").await;
    keys(&c, &enter()).await;

    // A: basic information, with a constraint error fixed on the way.
    assert_eq!(page_title(&c).await, "A 基本信息");
    wait_text(&c, &testid("shortcut-legend"), |t| {
        t.contains("Enter 下一题")
    })
    .await;
    expect_focus(&c, "a_intro").await;
    answer(&c, "").await;
    expect_focus(&c, "a_age").await;
    answer(&c, "45").await;
    answer(&c, "2").await; // a_sex: female
    answer(&c, "1").await; // a_tenure: owner
    answer(&c, "50").await; // a_years: more than the age
    let problem = wait_text(&c, &testid("problem-a_years"), |t| !t.is_empty()).await;
    assert_eq!(problem, "居住年数不能超过年龄。");
    screenshot(&c, "interview-constraint-zh-CN.png").await;
    keys(&c, &shift_enter()).await;
    expect_focus(&c, "a_years").await;
    let backspace = char::from(Key::Backspace).to_string();
    answer(&c, &format!("{backspace}{backspace}10")).await;
    answer(&c, "1").await; // a_hukou
    answer(&c, "5").await; // a_household: none
    answer(&c, "2").await; // a_party: no → next page
    assert_eq!(page_title(&c).await, "B 社区认同");

    // B: Enter through unanswered required questions; the page refuses to move on.
    for _ in 0..7 {
        keys(&c, &enter()).await;
    }
    assert_eq!(
        page_title(&c).await,
        "B 社区认同",
        "required questions block the next page"
    );
    expect_focus(&c, "b1").await;
    assert_eq!(
        wait_text(&c, &testid("problem-b1"), |t| !t.is_empty()).await,
        "此题必答。"
    );
    screenshot(&c, "interview-required-zh-CN.png").await;
    for v in ["4", "4", "2", "4", "5", "4"] {
        answer(&c, v).await;
    }
    assert_eq!(page_title(&c).await, "C 邻里互动");
    screenshot(&c, "interview-page-c-zh-CN.png").await;
    answer(&c, "3").await; // c1

    // Switch language mid-interview: nothing is lost, the page follows the language.
    click(&c, &testid("lang-en")).await;
    assert_eq!(
        wait_text(&c, &testid("page-title"), |t| t.starts_with("C ")
            && t != "C 邻里互动")
        .await,
        "C Neighbourly interaction"
    );
    let c1 = c.find(Locator::Css(&testid("opt-c1-3"))).await.unwrap();
    assert!(
        c1.attr("class")
            .await
            .unwrap()
            .unwrap_or_default()
            .contains("on"),
        "c1 keeps its answer"
    );
    assert!(wait_text(&c, &testid("q-c2"), |t| !t.is_empty())
        .await
        .contains("I visit neighbours"));
    screenshot(&c, "interview-page-c-en.png").await;
    click(&c, &testid("lang-zh-CN")).await;
    assert_eq!(
        wait_text(&c, &testid("page-title"), |t| t == "C 邻里互动").await,
        "C 邻里互动"
    );
    c.execute(
        "document.querySelector('[data-testid=\"q-c2\"]').focus()",
        vec![],
    )
    .await
    .unwrap();
    for v in ["2", "3", "3", "4"] {
        answer(&c, v).await;
    }
    assert_eq!(page_title(&c).await, "D 外部联系");
    for v in ["4", "3", "4", "3", "2"] {
        answer(&c, v).await;
    }
    assert_eq!(page_title(&c).await, "E 参与与集体效能");
    for v in ["4", "4", "4", "3", "2", "1", "2"] {
        answer(&c, v).await;
    }

    // F: skip logic — "most urgent" appears only when two or more needs are ticked.
    assert_eq!(page_title(&c).await, "F 公共服务需求");
    // 13 needs: "3" and "4" cannot start a two-digit number, so each picks at once.
    keys(&c, "3").await;
    wait_text(&c, &testid("status-f_needs"), |t| t == "已保存").await;
    assert!(
        c.find(Locator::Css(&testid("q-f_top"))).await.is_err(),
        "f_top hidden with one need"
    );
    keys(&c, "4").await;
    wait_text(&c, &testid("q-f_top"), |t| t.contains("最迫切")).await;
    screenshot(&c, "interview-skip-logic-zh-CN.png").await;
    keys(&c, &enter()).await;
    expect_focus(&c, "f_top").await;
    answer(&c, "2").await;

    // G: the household has none of the groups: only the note.
    assert_eq!(page_title(&c).await, "G 群体需求");
    expect_focus(&c, "g_none").await;
    answer(&c, "").await;
    // H: a problem and its severity.
    assert_eq!(page_title(&c).await, "H 社区问题");
    keys(&c, "1").await;
    keys(&c, &enter()).await;
    expect_focus(&c, "h_sev_pets").await;
    answer(&c, "2").await;
    // I: no volunteering, so no skills question.
    assert_eq!(page_title(&c).await, "I 资源");
    answer(&c, "0").await;
    expect_focus(&c, "i_venue").await;
    answer(&c, "2").await;
    answer(&c, "2").await;
    // J: free text.
    assert_eq!(page_title(&c).await, "J 建议");
    answer(&c, "希望小区能加装电梯").await;
    wait_text(&c, &testid("finalize"), |t| t == "提交问卷").await;
    screenshot(&c, "interview-finish-zh-CN.png").await;
    keys(&c, &enter()).await;
    assert_eq!(
        wait_text(&c, &testid("notice"), |t| !t.is_empty()).await,
        "问卷已提交。"
    );
    c.close().await.unwrap();

    // Restart: the finalized interview is there, read-only.
    let c = driver.open(dir.path()).await;
    let rows = texts(&wait_count(&c, &testid("finalized-row"), 30).await).await;
    assert!(
        rows[0].contains("梧桐里社区") && rows[0].contains("3号楼201室"),
        "{}",
        rows[0]
    );
    click(&c, &format!("{} button", testid("finalized-row"))).await;
    assert_eq!(
        wait_text(&c, &testid("interview-status"), |t| !t.is_empty()).await,
        "已完成（只读）"
    );
    click(&c, &testid("page-finish")).await;
    click(&c, &testid("edit-interview")).await;
    assert_eq!(
        wait_text(&c, &testid("interview-status"), |t| t != "已完成（只读）").await,
        "修改中的新版本"
    );
    click(&c, &testid("page-B")).await;
    click(&c, &testid("opt-b1-1")).await;
    wait_text(&c, &testid("status-b1"), |t| t == "已保存").await;
    click(&c, &testid("page-finish")).await;
    click(&c, &testid("finalize")).await;
    wait_text(&c, &testid("notice"), |t| t == "问卷已提交。").await;

    // The new version replaces the old in the list, and its history shows the change.
    wait_any_text(&c, &testid("finalized-row"), |t| t.contains("已修改")).await;
    click(&c, &format!("{} button", testid("finalized-row"))).await;
    click(&c, &testid("page-finish")).await;
    let audit = wait_any_text(&c, &testid("audit-entry"), |a| {
        a.contains("修改 我觉得自己属于这个社区。（b1）：“同意” → “非常不同意”")
    })
    .await;
    assert!(audit.iter().any(|a| a.contains("生成新版本")), "{audit:?}");
    screenshot(&c, "interview-history-zh-CN.png").await;
    c.close().await.unwrap();
}
