//! The unlock screen in the real window: choosing the passphrase in a new folder, wrong
//! passphrases and the wait after them, locking by hand, changing the passphrase, the idle
//! lock, the first run (a laptop given the centre's key, a centre making its own), and the
//! demo folder's published passphrase.

use std::time::Duration;

use chrono::Utc;
use shequ_e2e::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_folder_chooses_a_passphrase_and_only_it_opens_the_window_again() {
    let dir = tempfile::tempdir().unwrap();
    let driver = Driver::start().await;
    let c = driver.open_locked(dir.path()).await;
    let title = wait_text(&c, "[data-testid=unlock] h2", |t| !t.is_empty()).await;
    assert_eq!(title, "设置数据口令");
    // Two different typings, then a short one: refused, nothing made.
    retype(&c, &testid("unlock-passphrase"), "我们社区的口令2026").await;
    retype(&c, &testid("unlock-confirm"), "我们社区的口令2025").await;
    click(&c, &testid("unlock-submit")).await;
    let e = wait_text(&c, &testid("unlock-error"), |t| !t.is_empty()).await;
    assert!(e.contains("两次输入的口令不一致"), "{e}");
    retype(&c, &testid("unlock-passphrase"), "短口令").await;
    retype(&c, &testid("unlock-confirm"), "短口令").await;
    click(&c, &testid("unlock-submit")).await;
    let e = wait_text(&c, &testid("unlock-error"), |t| t.contains("太短")).await;
    assert!(e.contains("至少要 8 个字符"), "{e}");
    assert!(!dir.path().join("shequ.db").exists());
    screenshot(&c, "unlock-new-zh-CN.png").await;
    retype(&c, &testid("unlock-passphrase"), "我们社区的口令2026").await;
    retype(&c, &testid("unlock-confirm"), "我们社区的口令2026").await;
    click(&c, &testid("unlock-submit")).await;

    // The first run asks what the computer is for: a field laptop, given the centre's key as
    // the centre hands it out (a line of text); a secret key pasted by mistake is refused.
    let centre_key = shequ_bundle::CentreIdentity::generate();
    wait_text(&c, &testid("first-run"), |t| {
        t.contains("先说一下这台电脑的用途")
    })
    .await;
    let shown_dir = wait_text(&c, &testid("first-run-dir"), |t| !t.is_empty()).await;
    assert_eq!(shown_dir, dir.path().display().to_string());
    click(&c, &testid("first-run-laptop")).await;
    retype(&c, &testid("first-run-key"), &centre_key.secret()).await;
    click(&c, &testid("first-run-laptop-done")).await;
    let e = wait_text(&c, &testid("first-run-error"), |t| !t.is_empty()).await;
    assert!(e.contains("这是区中心的私钥，不能放在笔记本上"), "{e}");
    retype(
        &c,
        &testid("first-run-key"),
        &format!("区中心公钥：{}", centre_key.recipient()),
    )
    .await;
    screenshot(&c, "first-run-laptop-zh-CN.png").await;
    click(&c, &testid("first-run-laptop-done")).await;
    wait_text(&c, &testid("empty-state"), |t| t.starts_with("还没有社区")).await;

    // Locked by hand: the unlock screen asks once, and three wrong tries make it wait.
    click(&c, &testid("lock-now")).await;
    let title = wait_text(&c, "[data-testid=unlock] h2", |t| !t.is_empty()).await;
    assert_eq!(title, "输入口令，打开数据");
    assert!(c
        .find_all(fantoccini::Locator::Css(&testid("unlock-confirm")))
        .await
        .unwrap()
        .is_empty());
    for _ in 0..3 {
        retype(&c, &testid("unlock-passphrase"), "不是这个口令").await;
        click(&c, &testid("unlock-submit")).await;
        wait_text(&c, &testid("unlock-error"), |t| t.contains("口令不对")).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let w = wait_text(&c, &testid("unlock-wait"), |t| t.contains("秒后再试")).await;
    assert!(w.contains("输错次数过多"), "{w}");
    screenshot(&c, "unlock-wait-zh-CN.png").await;
    // After the wait, the right passphrase opens it.
    wait_gone(&c, &testid("unlock-wait")).await;
    unlock(&c, "我们社区的口令2026").await;
    wait_text(&c, &testid("empty-state"), |t| t.starts_with("还没有社区")).await;

    // The passphrase is changed on the home screen, the current one checked first.
    click(&c, "[data-testid=security] summary").await;
    retype(&c, &testid("pass-current"), "不是这个口令").await;
    retype(&c, &testid("pass-new"), "新的社区口令2027").await;
    retype(&c, &testid("pass-confirm"), "新的社区口令2027").await;
    click(&c, &testid("pass-change")).await;
    let e = wait_text(&c, &testid("pass-error"), |t| !t.is_empty()).await;
    assert!(e.contains("口令不对"), "{e}");
    retype(&c, &testid("pass-current"), "我们社区的口令2026").await;
    retype(&c, &testid("pass-new"), "新的社区口令2027").await;
    retype(&c, &testid("pass-confirm"), "新的社区口令2027").await;
    click(&c, &testid("pass-change")).await;
    wait_text(&c, &testid("pass-message"), |t| t.contains("口令已修改")).await;
    screenshot(&c, "security-zh-CN.png").await;
    click(&c, &testid("lock-now")).await;
    retype(&c, &testid("unlock-passphrase"), "我们社区的口令2026").await;
    click(&c, &testid("unlock-submit")).await;
    wait_text(&c, &testid("unlock-error"), |t| t.contains("口令不对")).await;
    unlock(&c, "新的社区口令2027").await;
    wait_text(&c, &testid("empty-state"), |t| t.starts_with("还没有社区")).await;

    // The idle lock: one minute without a key or a click locks the window.
    click(&c, "[data-testid=security] summary").await;
    retype(&c, &testid("idle-minutes"), "0").await;
    click(&c, &testid("idle-save")).await;
    let e = wait_text(&c, &testid("idle-error"), |t| !t.is_empty()).await;
    assert!(e.contains("1 到 240"), "{e}");
    retype(&c, &testid("idle-minutes"), "1").await;
    click(&c, &testid("idle-save")).await;
    wait_text(&c, &testid("idle-message"), |t| t.contains("1 分钟")).await;
    tokio::time::sleep(Duration::from_secs(68)).await;
    let idle = wait_text(&c, &testid("unlock-idle"), |t| !t.is_empty()).await;
    assert!(idle.contains("已自动锁定"), "{idle}");
    screenshot(&c, "unlock-idle-zh-CN.png").await;
    c.close().await.unwrap();
    // Nothing of it in clear in the folder.
    for e in std::fs::read_dir(dir.path()).unwrap() {
        let bytes = std::fs::read(e.unwrap().path()).unwrap();
        assert!(!bytes.windows(15).any(|w| w == b"SQLite format 3"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_centre_makes_its_key_on_the_first_run_in_english() {
    let dir = tempfile::tempdir().unwrap();
    let driver = Driver::start().await;
    let c = driver.open_locked(dir.path()).await;
    unlock(&c, PASSPHRASE).await;
    click(&c, &testid("lang-en")).await;
    wait_text(&c, &testid("first-run"), |t| {
        t.contains("what is this computer for?")
    })
    .await;
    click(&c, &testid("first-run-centre")).await;
    click(&c, &testid("first-run-make-key")).await;
    let key = wait_text(&c, &testid("first-run-centre-key"), |t| {
        t.starts_with("age1")
    })
    .await;
    wait_text(&c, &testid("first-run-centre-done"), |t| t == "Start").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    screenshot(&c, "first-run-centre-en.png").await;
    click(&c, &testid("first-run-centre-done")).await;
    wait_text(&c, &testid("centre-nav"), |t| t.contains("Analysis")).await;
    c.close().await.unwrap();
    drop(driver);
    // The key shown is the centre's own, and the role is kept.
    let app = shequ_app::App::open(
        dir.path(),
        &shequ_app::Passphrase::new(PASSPHRASE),
        chrono::Utc::now(),
    )
    .unwrap();
    let status = app.key_status().unwrap();
    assert!(status.is_centre);
    assert_eq!(status.centre_public.as_deref(), Some(key.as_str()));
    assert_eq!(app.role().unwrap(), shequ_app::analysis::Role::Centre);
    assert!(!app.first_run().unwrap().pending);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_folder_shows_its_published_passphrase() {
    let dir = tempfile::tempdir().unwrap();
    {
        let pass = shequ_app::Passphrase::new(shequ_app::unlock::DEMO_PASSPHRASE);
        let mut app = shequ_app::App::open(dir.path(), &pass, Utc::now()).unwrap();
        app.load_demo(Utc::now()).unwrap();
        app.set_ui_lang(shequ_core::Lang::En).unwrap();
    }
    let driver = Driver::start().await;
    let c = driver.open_locked(dir.path()).await;
    let hint = wait_text(&c, &testid("unlock-demo"), |t| !t.is_empty()).await;
    assert!(
        hint.contains("demo data") && hint.ends_with("shequ-demo"),
        "{hint}"
    );
    screenshot(&c, "unlock-demo-en.png").await;
    unlock(&c, "shequ-demo").await;
    wait_count(&c, &testid("community-name"), 12).await;
    c.close().await.unwrap();
}
