//! Harness for driving the real desktop window: start tauri-driver, open a WebDriver session
//! on the built `shequ-desktop` with a chosen data folder, find elements by `data-testid`,
//! save screenshots under `artifacts/e2e/`.
//!
//! Needs a display (run under `xvfb-run`), `tauri-driver` on PATH (`cargo install
//! tauri-driver --locked`), Debian's `webkit2gtk-driver`, and the app built with its front
//! end (`scripts/test.sh` does all of it). Missing pieces fail the test with a message.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{elements::Element, key::Key, Client, ClientBuilder, Locator};
use serde_json::Value;

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repo root")
}

/// The app binary: `SHEQU_APP` or `target/debug/shequ-desktop`.
pub fn app_binary() -> PathBuf {
    let p = std::env::var_os("SHEQU_APP")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target/debug/shequ-desktop"));
    assert!(
        p.is_file(),
        "app binary {} missing: run scripts/test.sh (it builds the UI and the app)",
        p.display()
    );
    p
}

pub fn artifacts() -> PathBuf {
    let dir = repo_root().join("artifacts/e2e");
    std::fs::create_dir_all(&dir).expect("artifacts dir");
    dir
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// A running tauri-driver; stopped with SIGTERM on drop so it also stops WebKitWebDriver.
pub struct Driver {
    child: Child,
    pub port: u16,
}

impl Driver {
    pub async fn start() -> Driver {
        let port = free_port();
        let native = free_port();
        let child = Command::new("tauri-driver")
            .args([
                "--port",
                &port.to_string(),
                "--native-port",
                &native.to_string(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("tauri-driver on PATH (cargo install tauri-driver --locked)");
        let driver = Driver { child, port };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "tauri-driver did not listen on {port}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        driver
    }

    /// Opens the app on `data_dir` in a new WebDriver session and unlocks it with
    /// [`PASSPHRASE`] (choosing it, typed twice, when the folder is new), as a person does.
    pub async fn open(&self, data_dir: &Path) -> Client {
        let c = self.open_locked(data_dir).await;
        unlock(&c, PASSPHRASE).await;
        past_first_run(&c).await;
        c
    }

    /// Opens the app on `data_dir`, left at its unlock screen.
    pub async fn open_locked(&self, data_dir: &Path) -> Client {
        self.open_binary(&app_binary(), data_dir).await
    }

    /// Opens the given build of the app (an installed one, say) on `data_dir`, left at its
    /// unlock screen.
    pub async fn open_binary(&self, binary: &Path, data_dir: &Path) -> Client {
        let mut caps = serde_json::Map::new();
        caps.insert(
            "tauri:options".into(),
            serde_json::json!({
                "application": binary,
                "args": ["--data-dir", data_dir],
            }),
        );
        ClientBuilder::native()
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .expect("WebDriver session on the app")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
    }
}

/// The app's commands: the quoted names in the `.commands(&[ … ])` call of build.rs, the one
/// place they are written.
pub fn declared_commands() -> Vec<String> {
    let src = std::fs::read_to_string(repo_root().join("src-tauri/build.rs")).unwrap();
    let start = src.find(".commands(&[").expect("commands list in build.rs");
    let end = start + src[start..].find("])").unwrap();
    src[start..end]
        .split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

/// The passphrase of every data folder the tests make (`shequ_app::App::open` with it, or a
/// new folder unlocked by [`Driver::open`]).
pub const PASSPHRASE: &str = "test passphrase";

pub fn passphrase() -> shequ_app::Passphrase {
    shequ_app::Passphrase::new(PASSPHRASE)
}

/// Types `pass` on the unlock screen (twice when one is being chosen), submits, and waits
/// until the screen is gone.
pub async fn unlock(c: &Client, pass: &str) {
    // The field comes only once the screen knows whether a passphrase is chosen or checked,
    // so the second field, when there is one, is there by then.
    click(c, &testid("unlock-passphrase")).await;
    retype(c, &testid("unlock-passphrase"), pass).await;
    if c.find(Locator::Css(&testid("unlock-confirm")))
        .await
        .is_ok()
    {
        retype(c, &testid("unlock-confirm"), pass).await;
    }
    click(c, &testid("unlock-submit")).await;
    wait_gone(c, &testid("unlock")).await;
}

/// A new, empty folder asks once whether this computer is a laptop or the centre: answered as
/// a field laptop that sets the centre's key later (what the tests of a fresh folder assume).
/// A folder in use goes straight to the home screen.
pub async fn past_first_run(c: &Client) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if c.find(Locator::Css(&testid("first-run"))).await.is_ok() {
            click(c, &testid("first-run-laptop")).await;
            click(c, &testid("first-run-later")).await;
            wait_gone(c, &testid("first-run")).await;
            return;
        }
        if c.find(Locator::Css(&testid("start-interview")))
            .await
            .is_ok()
        {
            return;
        }
        if Instant::now() >= deadline {
            let what = "for the first run or home".to_string();
            timed_out(c, &testid("first-run"), what).await;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until nothing matches `css`.
pub async fn wait_gone(c: &Client, css: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !c
        .find_all(Locator::Css(css))
        .await
        .unwrap_or_default()
        .is_empty()
    {
        if Instant::now() >= deadline {
            timed_out(c, css, format!("waiting for {css} to go")).await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub fn testid(id: &str) -> String {
    format!("[data-testid=\"{id}\"]")
}

/// Waits until `css` matches at least one element and the first one's text satisfies `ok`.
pub async fn wait_text(c: &Client, css: &str, ok: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut last = String::new();
    loop {
        if let Ok(e) = c.find(Locator::Css(css)).await {
            if let Ok(t) = e.text().await {
                if ok(&t) {
                    return t;
                }
                last = t;
            }
        }
        if Instant::now() >= deadline {
            timed_out(c, css, format!("waiting on {css}; last text: {last:?}")).await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Ends a wait on the page that timed out, leaving the reader what it waited for, every
/// message the page shows as an alert or a notice (an error the wait did not expect is the
/// usual reason), and a screenshot named after the selector.
async fn timed_out(c: &Client, css: &str, what: String) -> ! {
    let shown = c
        .find_all(Locator::Css("[role=alert], [role=status]"))
        .await
        .unwrap_or_default();
    let alerts = texts(&shown).await;
    let name: String = css
        .chars()
        .map(|ch| if ch.is_ascii_alphanumeric() { ch } else { '-' })
        .collect();
    let path = artifacts().join(format!("timeout-{name}.png"));
    let saved = match snapshot(c).await {
        Some(png) if std::fs::write(&path, &png).is_ok() => path.display().to_string(),
        _ => "none".to_string(),
    };
    panic!("timed out {what}; the page shows {alerts:?} (screenshot: {saved})")
}

/// Waits until exactly `n` elements match, and returns them.
pub async fn wait_count(c: &Client, css: &str, n: usize) -> Vec<Element> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let found = c.find_all(Locator::Css(css)).await.unwrap_or_default();
        if found.len() == n {
            return found;
        }
        if Instant::now() >= deadline {
            let what = format!("{css} matched {} elements, expected {n}", found.len());
            timed_out(c, css, what).await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub async fn texts(els: &[Element]) -> Vec<String> {
    let mut out = Vec::with_capacity(els.len());
    for e in els {
        out.push(e.text().await.unwrap_or_default());
    }
    out
}

pub async fn screenshot(c: &Client, name: &str) -> PathBuf {
    let png = snapshot(c)
        .await
        .unwrap_or_else(|| panic!("no screenshot {name} within 30 s"));
    let path = artifacts().join(name);
    std::fs::write(&path, png).expect("write screenshot");
    path
}

/// The window as a PNG. The app draws in software (`SHEQU_GPU_COMPOSITING` unset), and then
/// WebKit answers a screenshot only after the page's next paint, which a page at rest never
/// makes: the screenshot of an unlock error waited for ever. So a nearly transparent pixel
/// repaints every frame from before the screenshot is asked for until it has come (35 s at
/// most), and is then removed. None after 30 s.
async fn snapshot(c: &Client) -> Option<Vec<u8>> {
    let _ = c
        .execute(
            r#"window.__shequPainting = true;
               const dot = document.createElement('div');
               dot.style.cssText = 'position:fixed;left:0;top:0;width:1px;height:1px;background:#000;opacity:0.004;pointer-events:none';
               document.documentElement.appendChild(dot);
               const until = Date.now() + 35000;
               let n = 0;
               const step = () => {
                 if (!window.__shequPainting || Date.now() > until) { dot.remove(); return; }
                 dot.style.opacity = ++n % 2 ? '0.008' : '0.004';
                 requestAnimationFrame(step);
               };
               requestAnimationFrame(step);"#,
            vec![],
        )
        .await;
    let png = tokio::time::timeout(Duration::from_secs(30), c.screenshot())
        .await
        .ok()
        .and_then(Result::ok);
    let _ = c.execute("window.__shequPainting = false;", vec![]).await;
    png
}

/// Waits until `css` matches, then clicks the first match (screens render asynchronously).
pub async fn click(c: &Client, css: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Ok(e) = c.find(Locator::Css(css)).await {
            if e.click().await.is_ok() {
                return;
            }
        }
        if Instant::now() >= deadline {
            timed_out(c, css, format!("waiting to click {css}")).await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until some element matching `css` has text satisfying `ok`; returns all their texts.
pub async fn wait_any_text(c: &Client, css: &str, ok: impl Fn(&str) -> bool) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let all = texts(&c.find_all(Locator::Css(css)).await.unwrap_or_default()).await;
        if all.iter().any(|t| ok(t)) {
            return all;
        }
        if Instant::now() >= deadline {
            timed_out(c, css, format!("waiting on {css}; texts: {all:?}")).await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Picks `path` in the file input with data-testid `id`, as the file chooser would.
pub async fn choose_file(c: &Client, id: &str, path: &Path) {
    let input = c
        .find(Locator::Css(&testid(id)))
        .await
        .expect("file input on screen");
    input.send_keys(path.to_str().unwrap()).await.unwrap();
}

/// Replaces the text of the input `css` with `text`, as a person selecting it and typing,
/// and looks at the field afterwards, as a person does. WebDriver's clear sends no `input`
/// event, so a screen still loading can render its old value back between the clear and the
/// typing ("2026-01-012026-01-01" was once sent); then it is typed again.
pub async fn retype(c: &Client, css: &str, text: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    let (mut typed, mut seen) = (false, None);
    loop {
        if let Ok(input) = c.find(Locator::Css(css)).await {
            if input.clear().await.is_ok() && input.send_keys(text).await.is_ok() {
                typed = true;
                match input.prop("value").await {
                    Ok(Some(now)) if now == text => return,
                    Ok(now) => seen = now,
                    // Re-rendered under the typing: the field is looked up again.
                    Err(_) => {}
                }
            }
        } else if typed {
            // Typed, then gone: the typing moved the screen on.
            return;
        }
        if Instant::now() >= deadline {
            timed_out(c, css, format!("typing {text:?} into {css}, which holds {seen:?}")).await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

// Keyboard helpers for the interview screen.

/// Types into whatever has focus, as a person at the keyboard does, then waits until the
/// interview has finished what the keys started (saves, moving focus).
pub async fn keys(c: &Client, text: &str) {
    let el = c.active_element().await.expect("something has focus");
    el.send_keys(text).await.unwrap();
    tokio::time::sleep(Duration::from_millis(40)).await;
    for _ in 0..200 {
        let busy = c
            .execute("const i = document.querySelector('[data-testid=\"interview\"]'); return i ? i.dataset.busy : '0'", vec![])
            .await
            .unwrap();
        if busy.as_str() != Some("1") {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the interview stayed busy after {text:?}");
}

pub fn enter() -> String {
    char::from(Key::Enter).to_string()
}

pub fn shift_enter() -> String {
    format!("{}{}", char::from(Key::Shift), char::from(Key::Enter))
}

/// Answers the focused question with `input` and presses Enter.
pub async fn answer(c: &Client, input: &str) {
    keys(c, &format!("{input}{}", enter())).await;
}

pub async fn focused_key(c: &Client) -> String {
    let v = c
        .execute(
            "const q = document.activeElement.closest('[data-key]'); return q ? q.dataset.key : ''",
            vec![],
        )
        .await
        .unwrap();
    v.as_str().unwrap_or_default().to_string()
}

pub async fn expect_focus(c: &Client, key: &str) {
    for _ in 0..50 {
        if focused_key(c).await == key {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("focus should be on {key}, is on {:?}", focused_key(c).await);
}

pub async fn page_title(c: &Client) -> String {
    wait_text(c, &testid("page-title"), |t| !t.is_empty()).await
}

/// Runs `xdotool` with `args` and returns what it printed; `None` when it failed (a window
/// not there yet).
fn xdotool(args: &[&str]) -> Option<String> {
    let out = std::process::Command::new("xdotool")
        .args(args)
        .output()
        .expect("xdotool (apt install xdotool)");
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Waits up to `wait` for the app's folder dialog and gives it the keyboard; false if it
/// never came.
async fn focus_folder_dialog(wait: Duration) -> bool {
    let deadline = Instant::now() + wait;
    loop {
        let found = xdotool(&[
            "search",
            "--onlyvisible",
            "--name",
            "^(选择保存文件的文件夹|Choose the folder to save into)$",
        ]);
        if let Some(w) = found.as_deref().and_then(|s| s.lines().last()) {
            xdotool(&["windowfocus", "--sync", w.trim()]).expect("focus the dialog");
            tokio::time::sleep(Duration::from_millis(300)).await;
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Cancels the folder dialog (Escape) if it opens within `wait`, as a person closing it;
/// true if there was one.
pub async fn cancel_folder_dialog(wait: Duration) -> bool {
    if !focus_folder_dialog(wait).await {
        return false;
    }
    xdotool(&["key", "Escape"]).unwrap();
    true
}

/// Picks `path` in the system's folder dialog that the `{id}-choose` button opens, as a person
/// at the keyboard does: the dialog's location field (Ctrl+L), the path typed, Enter. The
/// dialog is GTK's own window, out of WebDriver's reach, so the keys go through the X server.
/// GTK may still be settling when the keys arrive (the typing lost, or Enter only opening the
/// folder), so a dialog still open gets Enter again, and a pick that missed is made again.
pub async fn choose_folder(c: &Client, id: &str, path: &Path) {
    let path = path.to_str().unwrap();
    let field = testid(id).replace('"', "\\\"");
    let value = || async {
        c.execute(
            &format!("return document.querySelector(\"{field}\")?.value ?? ''"),
            vec![],
        )
        .await
        .unwrap()
    };
    let mut last = Value::Null;
    for _attempt in 0..4 {
        click(c, &testid(&format!("{id}-choose"))).await;
        assert!(
            focus_folder_dialog(Duration::from_secs(15)).await,
            "the folder dialog never opened"
        );
        for _typing in 0..3 {
            xdotool(&["key", "--clearmodifiers", "ctrl+l"]).unwrap();
            tokio::time::sleep(Duration::from_millis(300)).await;
            xdotool(&["key", "ctrl+a"]).unwrap();
            xdotool(&["type", "--delay", "20", path]).unwrap();
            // GTK completes a folder name with a selected "/", and Enter on "…/usb/" only
            // opens the folder: the completion is deleted first.
            tokio::time::sleep(Duration::from_millis(400)).await;
            xdotool(&["key", "Delete"]).unwrap();
            tokio::time::sleep(Duration::from_millis(100)).await;
            xdotool(&["key", "Return"]).unwrap();
            for _ in 0..10 {
                tokio::time::sleep(Duration::from_millis(200)).await;
                last = value().await;
                if last.as_str() == Some(path) {
                    return;
                }
            }
            if !focus_folder_dialog(Duration::ZERO).await {
                break; // closed on another folder: pick again
            }
        }
        cancel_folder_dialog(Duration::ZERO).await;
    }
    panic!("the folder dialog did not pick {path}: the field shows {last}");
}
