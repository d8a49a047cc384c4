//! The hand-over in the real window: an export to a folder picked and then gone (a USB stick
//! pulled) says so and is not recorded, so the next export still holds every interview; at
//! the centre, the exchange screen names the bundle of a laptop that never arrived.

use chrono::{Duration, Utc};
use shequ_app::App;
use shequ_core::Lang;
use shequ_e2e::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_export_is_not_recorded_and_the_centre_sees_a_missing_bundle() {
    let root = tempfile::tempdir().unwrap();
    let (laptop, centre) = (root.path().join("laptop"), root.path().join("centre"));
    let recipient = App::open(&centre, &shequ_e2e::passphrase(), Utc::now())
        .unwrap()
        .init_centre()
        .unwrap();
    {
        let mut app = App::open(&laptop, &shequ_e2e::passphrase(), Utc::now()).unwrap();
        app.load_demo(Utc::now()).unwrap();
        app.set_centre_recipient(&recipient).unwrap();
    }
    let usb = root.path().join("usb");
    let driver = Driver::start().await;

    // The stick is picked in the folder dialog, then pulled out: the export fails with the
    // reason, and nothing is recorded.
    let c = driver.open(&laptop).await;
    click(&c, &testid("open-exchange")).await;
    wait_text(&c, &testid("last-export"), |t| t == "还没有导出过。").await;
    std::fs::create_dir_all(&usb).unwrap();
    choose_folder(&c, "exchange-folder", &usb).await;
    std::fs::remove_dir(&usb).unwrap();
    click(&c, &testid("export-new")).await;
    let err = wait_text(&c, &testid("exchange-error"), |t| !t.is_empty()).await;
    assert!(
        err.contains("无法写入文件") && err.contains(usb.to_str().unwrap()),
        "{err}"
    );
    screenshot(&c, "exchange-export-failed-zh-CN.png").await;
    assert_eq!(
        wait_text(&c, &testid("last-export"), |t| !t.is_empty()).await,
        "还没有导出过。",
        "a failed export is not recorded"
    );

    // The stick is back: "only what is new" still holds all 423 interviews.
    std::fs::create_dir_all(&usb).unwrap();
    click(&c, &testid("export-new")).await;
    let msg = wait_text(&c, &testid("exchange-message"), |t| !t.is_empty()).await;
    assert!(msg.starts_with("已导出 423 份问卷到"), "{msg}");
    c.close().await.unwrap();

    // Two more bundles, each with one edited interview; the centre receives the 1st and 3rd.
    let mut bundles = vec![std::fs::read_dir(&usb)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path()];
    {
        let mut app = App::open(&laptop, &shequ_e2e::passphrase(), Utc::now()).unwrap();
        let finished = app.finalized(Utc::now()).unwrap();
        for (i, row) in finished.iter().take(2).enumerate() {
            let now = Utc::now() + Duration::seconds(i as i64 + 1);
            let v2 = app.edit_interview(row.response.instance_id, now).unwrap();
            app.answer(v2.instance_id, "b1", "1", Lang::ZhCn, now)
                .unwrap();
            let f = app.finalize(v2.instance_id, Lang::ZhCn, now).unwrap();
            assert!(f.finalized, "{:?}", f.blockers);
            let file = usb.join(format!("extra-{i}.shequ"));
            let (_, row) = app.export_bundle(&file, true, false, now).unwrap();
            assert_eq!(row.responses, 1);
            bundles.push(file);
        }
    }
    {
        let fp = App::open(&laptop, &shequ_e2e::passphrase(), Utc::now())
            .unwrap()
            .device_fingerprint()
            .unwrap();
        let mut app = App::open(&centre, &shequ_e2e::passphrase(), Utc::now()).unwrap();
        app.accept_device(&fp).unwrap();
        for b in [&bundles[0], &bundles[2]] {
            let bytes = std::fs::read(b).unwrap();
            app.import_bundle(&bytes, &b.display().to_string(), false, Utc::now())
                .unwrap();
        }
    }
    let c = driver.open(&centre).await;
    click(&c, &testid("nav-exchange")).await;
    let status = wait_text(&c, &testid("bundle-status"), |t| !t.is_empty()).await;
    assert!(status.contains("缺第 2 包（共 3 包）"), "{status}");
    screenshot(&c, "exchange-missing-bundle-zh-CN.png").await;
    click(&c, &testid("lang-en")).await;
    let status = wait_text(&c, &testid("bundle-status"), |t| t.contains("bundle")).await;
    assert!(status.contains("bundle 2 of 3 missing"), "{status}");
    screenshot(&c, "exchange-missing-bundle-en.png").await;
    c.close().await.unwrap();
}
