//! Every IPC command, called from inside the real window as a hostile page script would:
//! missing arguments, wrong types, megabyte strings, paths that climb out, ids that do not
//! exist. Each call must settle with a clean refusal (or harmlessly succeed), none may hang
//! or take the process down, no message may echo a megabyte back, and afterwards the window
//! still works on an unchanged store.

use serde_json::{json, Value};
use shequ_e2e::*;

/// One call, made in the page through Tauri's own invoke; settles within 20 s.
const CALL: &str = r#"
const [cmd, which, done] = [arguments[0], arguments[1], arguments[arguments.length - 1]];
const big = 'x'.repeat(1 << 20);
const payloads = [
  {},
  { id: 42, key: [], value: {}, input: 'x', name: 7, bytes: 'nope', dir: 5, round: 9, code: {},
    lang: 'xx', role: 'root', minutes: -1, count: -5, passphrase: 1, confirm: 2, current: [],
    new: null, settings: 'x', edit: 1, format: 'exe', labels: 'klingon', dryRun: 'yes',
    sinceLast: 3, allowUnencrypted: 'no', includePersonal: 'x', takeIncoming: 'x', start: 5 },
  { id: 'not-a-uuid', key: big, value: big, name: big, bytes: [256, -1, 'a'], dir: big, round: big,
    code: big, lang: big, role: big, minutes: 4294967296, count: 4294967296, passphrase: big,
    confirm: big, current: big, new: big, format: big, labels: big,
    input: { code: big, name: big, street: big, district: big, housing_form: big, households: -1, target_sample: -1 },
    settings: { cutoff: 1e308 }, edit: { add: big }, dryRun: true, sinceLast: true,
    allowUnencrypted: true, includePersonal: true, takeIncoming: true, start: big },
  { id: '00000000-0000-0000-0000-000000000000', key: '../../a_age', value: '=cmd|calc!A1',
    name: '../../../../etc/passwd', bytes: [80, 75, 3, 4, 0, 0], dir: '/proc/1/no/such/folder',
    round: '../../..', code: '../../NOPE', lang: 'en', role: 'laptop\u0000centre', minutes: 0,
    count: 4294967295, passphrase: 'short', confirm: 'other', current: 'not the passphrase',
    new: 'new passphrase', format: 'csv', labels: null, dryRun: false, sinceLast: false,
    allowUnencrypted: false, includePersonal: true, takeIncoming: true, start: '/proc/1/root' },
];
// 4 and 5: a raw body of junk, as a file upload, with a name that is not valid
// percent-encoding, then with one that climbs out of any folder.
const junk = new Uint8Array(1 << 20).map((_, i) => (i * 131) & 255);
const raw = [
  [junk, { headers: { 'x-shequ-name': '%FF%FE%', 'x-shequ-dry-run': '1' } }],
  [junk, { headers: { 'x-shequ-name': encodeURIComponent('../../../etc/passwd'), 'x-shequ-dry-run': '0' } }],
];
const [body, options] = which < 4 ? [payloads[which], undefined] : raw[which - 4];
const timer = setTimeout(() => done({ hung: true }), 20000);
window.__TAURI_INTERNALS__.invoke(cmd, body, options).then(
  (v) => { clearTimeout(timer); done({ ok: true, size: JSON.stringify(v ?? null).length }); },
  (e) => { clearTimeout(timer); done({ ok: false, error: e }); },
);
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_command_refuses_hostile_arguments_cleanly_and_the_store_is_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let state = |app: &shequ_app::App| {
        let now = chrono::Utc::now();
        (
            app.role().unwrap(),
            app.rounds().unwrap().len(),
            app.finalized(now).unwrap().len(),
            app.drafts(now).unwrap().len(),
            app.communities().unwrap().len(),
            app.ui_lang().unwrap(),
        )
    };
    let before = {
        let mut app = shequ_app::App::open(dir.path(), &passphrase(), chrono::Utc::now()).unwrap();
        app.load_demo(chrono::Utc::now()).unwrap();
        state(&app)
    };
    let driver = Driver::start().await;
    let c = driver.open(dir.path()).await;
    wait_count(&c, &testid("community-name"), 12).await;

    let commands: Vec<String> = declared_commands()
        .into_iter()
        // Locking is what it says; it is called last, below.
        .filter(|c| c != "lock")
        .collect();
    assert!(commands.len() > 40, "{commands:?}");
    let (mut refused, mut tauri_refused, mut succeeded) = (0, 0, Vec::new());
    let mut codes = std::collections::BTreeSet::<String>::new();
    for cmd in &commands {
        for which in 0..6 {
            // The folder dialog is harmless (the person cancels it), so it is cancelled.
            let closer = (cmd == "choose_folder")
                .then(|| tokio::spawn(cancel_folder_dialog(std::time::Duration::from_secs(5))));
            let r = c
                .execute_async(CALL, vec![json!(cmd), json!(which)])
                .await
                .unwrap_or_else(|e| panic!("{cmd} #{which}: the call failed: {e}"));
            if let Some(closer) = closer {
                closer.await.unwrap();
            }
            assert!(r["hung"].is_null(), "{cmd} #{which} never settled");
            if r["ok"] == Value::Bool(true) {
                succeeded.push(format!("{cmd}#{which}"));
                continue;
            }
            refused += 1;
            // Tauri refuses arguments it cannot read with a string of its own (which quotes
            // the bad value, and never reaches a user: the UI sends only typed arguments);
            // every refusal of ours is an IpcError whose message names what was refused
            // without echoing it whole.
            let e = &r["error"];
            match e {
                Value::String(s) => {
                    assert!(s.contains("invalid args"), "{cmd} #{which}: {s:.200}");
                    tauri_refused += 1;
                }
                Value::Object(o) => {
                    let code = o["code"].as_str().unwrap_or_default();
                    assert!(
                        !code.is_empty() && code != "internal",
                        "{cmd} #{which}: {e}"
                    );
                    let text = o["message"].as_str().unwrap_or_default();
                    assert!(!text.is_empty(), "{cmd} #{which}");
                    assert!(
                        text.chars().count() < 2000,
                        "{cmd} #{which}: a {} byte message echoes the input",
                        text.len()
                    );
                    assert!(!text.contains("panicked"), "{cmd} #{which}: {text}");
                    codes.insert(code.to_string());
                }
                other => panic!("{cmd} #{which}: odd rejection {other}"),
            }
        }
    }
    eprintln!(
        "{} commands × 6 hostile payloads: {refused} refused ({tauri_refused} by Tauri's \
         argument check, the rest by ours with codes {codes:?}), {} succeeded harmlessly: \
         {succeeded:?}",
        commands.len(),
        succeeded.len()
    );
    // Our own checks answered too, not only Tauri's argument types.
    for code in [
        "not_found",
        "invalid_value",
        "wrong_passphrase",
        "setting_out_of_range",
        // A folder the person never picked in the dialog: nothing is written there.
        "folder_not_chosen",
    ] {
        assert!(codes.contains(code), "no {code} among {codes:?}");
    }
    // The window still works, on the same data, in the same role and language.
    click(&c, &testid("lang-en")).await;
    wait_text(&c, "[data-testid=app-title]", |t| t.contains("Community")).await;
    click(&c, &testid("lang-zh-CN")).await;
    wait_count(&c, &testid("community-name"), 12).await;
    let r = c
        .execute_async(
            "const done = arguments[arguments.length - 1];
             window.__TAURI_INTERNALS__.invoke('lock').then(() => done('locked'), (e) => done(e));",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(r, json!("locked"));
    c.close().await.unwrap();

    let app = shequ_app::App::open(dir.path(), &passphrase(), chrono::Utc::now()).unwrap();
    assert!(app.store().integrity_ok().unwrap());
    assert_eq!(state(&app), before);
}
