//! Start-up time and memory of the release app, beside an empty Tauri v2 app built with the
//! same profile, measured in the same run (BENCHMARKS.md, "Start-up and memory").
//!
//! `scripts/bench-startup.sh` builds both in release and runs this under Xvfb. Four set-ups:
//! the empty app with Tauri's defaults and with Shequ's software compositing (like for like),
//! Shequ as shipped (software compositing) and Shequ with WebKit's GPU compositing. Each
//! `RUNS` times (default 5, the order rotated each round):
//! - **start-up**: from just before the process is spawned to the page reporting its first
//!   screen interactive (`SHEQU_READY_FILE`): Shequ's home screen with the demo district
//!   listed (opened with `SHEQU_PASSPHRASE`, as a kiosk would), the empty app's page;
//! - **memory**: two seconds later, the proportional set size (PSS, `/proc/PID/smaps_rollup`)
//!   of the app and every process under it (WebKit's web and network processes).
//!
//! Then once, Shequ opened through tauri-driver: a full interview of the default scale (started
//! in the window, every required answer saved and finalized through the app's own IPC), back
//! to the home screen, and the PSS again.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use shequ_e2e::*;

fn release(bin: &str) -> PathBuf {
    let p = repo_root().join("target/release").join(bin);
    assert!(
        p.is_file(),
        "{} missing: run scripts/bench-startup.sh (it builds both apps in release)",
        p.display()
    );
    p
}

/// Every process under `root` (and itself): pid → name.
fn tree(root: u32) -> BTreeMap<u32, String> {
    let mut parent: BTreeMap<u32, (u32, String)> = BTreeMap::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            continue;
        };
        // pid (comm) state ppid …: the name may hold spaces, so split at the last ')'.
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let name = stat[open + 1..close].to_string();
        let ppid = stat[close + 2..]
            .split_whitespace()
            .nth(1)
            .and_then(|p| p.parse().ok())
            .unwrap_or(0);
        parent.insert(pid, (ppid, name));
    }
    let mut out = BTreeMap::new();
    let mut todo = vec![root];
    while let Some(p) = todo.pop() {
        if let Some((_, name)) = parent.get(&p) {
            out.insert(p, name.clone());
        }
        todo.extend(
            parent
                .iter()
                .filter(|(_, (pp, _))| *pp == p)
                .map(|(c, _)| *c),
        );
    }
    out
}

/// PSS in KiB of one process.
fn pss(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("Pss:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// PSS of a process tree, in MiB: the total and by process name.
fn tree_pss(root: u32) -> (f64, BTreeMap<String, f64>) {
    let mut by_name: BTreeMap<String, f64> = BTreeMap::new();
    let mut total = 0.0;
    for (pid, name) in tree(root) {
        let mib = pss(pid) as f64 / 1024.0;
        total += mib;
        *by_name.entry(name).or_default() += mib;
    }
    (total, by_name)
}

fn wait_ready(file: &Path, screen: &str, t0: Instant) -> Duration {
    let deadline = t0 + Duration::from_secs(120);
    loop {
        if std::fs::read_to_string(file)
            .unwrap_or_default()
            .lines()
            .any(|l| l == screen)
        {
            return t0.elapsed();
        }
        assert!(Instant::now() < deadline, "{screen} never became ready");
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn stop(mut child: Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

struct Sample {
    start_ms: f64,
    pss: f64,
    by_name: BTreeMap<String, f64>,
}

/// One app as measured: its binary, its data folder (Shequ's demo district), and how it
/// composites (`SHEQU_GPU_COMPOSITING`: Shequ draws in software unless it is 1; the empty app
/// keeps Tauri's defaults unless it is 0).
struct Setup<'a> {
    label: &'static str,
    bin: &'a Path,
    data: Option<&'a Path>,
    gpu: Option<&'static str>,
}

fn run_once(setup: &Setup, scratch: &Path) -> Sample {
    let ready = scratch.join("ready");
    let _ = std::fs::remove_file(&ready);
    let mut cmd = Command::new(setup.bin);
    match setup.gpu {
        Some(gpu) => cmd.env("SHEQU_GPU_COMPOSITING", gpu),
        None => cmd.env_remove("SHEQU_GPU_COMPOSITING"),
    };
    cmd.env("SHEQU_READY_FILE", &ready)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if let Some(d) = setup.data {
        cmd.env("SHEQU_PASSPHRASE", PASSPHRASE)
            .arg("--data-dir")
            .arg(d);
    }
    let t0 = Instant::now();
    let child = cmd.spawn().expect("start the app");
    let took = wait_ready(&ready, "home", t0);
    std::thread::sleep(Duration::from_secs(2));
    let (pss, by_name) = tree_pss(child.id());
    stop(child);
    Sample {
        start_ms: took.as_secs_f64() * 1000.0,
        pss,
        by_name,
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn report(name: &str, samples: &[Sample]) -> (f64, f64) {
    let start = median(samples.iter().map(|s| s.start_ms).collect());
    let pss = median(samples.iter().map(|s| s.pss).collect());
    let min = samples.iter().map(|s| s.start_ms).fold(f64::MAX, f64::min);
    let max = samples.iter().map(|s| s.start_ms).fold(0.0, f64::max);
    let last = &samples[samples.len() / 2].by_name;
    let parts: Vec<String> = last.iter().map(|(n, m)| format!("{n} {m:.1}")).collect();
    println!(
        "{name:<34} start-up median {start:7.1} ms (min {min:.1}, max {max:.1}) | PSS median {pss:6.1} MiB [{}]",
        parts.join(", ")
    );
    (start, pss)
}

/// A full interview of the default scale in Shequ opened through tauri-driver, then the PSS.
async fn after_interview(bin: &Path, data: &Path) -> (f64, BTreeMap<String, f64>) {
    std::env::set_var("SHEQU_PASSPHRASE", PASSPHRASE);
    // As shipped: drawing in software, whatever the caller's environment says.
    std::env::remove_var("SHEQU_GPU_COMPOSITING");
    let driver = Driver::start().await;
    let c = driver.open_binary(bin, data).await;
    wait_text(&c, &testid("start-interview"), |t| !t.is_empty()).await;
    click(&c, &testid("start-interview")).await;
    wait_text(&c, &testid("start-heading"), |t| !t.is_empty()).await;
    keys(&c, "梧桐").await;
    keys(&c, &enter()).await;
    wait_text(&c, &testid("start-chosen"), |t| t.contains("梧桐里社区")).await;
    keys(&c, "张敏").await;
    keys(&c, "\u{e004}").await; // Tab
    keys(&c, "3号楼201室").await;
    keys(&c, "\u{e004}").await;
    keys(&c, " ").await; // consent
    keys(&c, &enter()).await;
    wait_text(&c, &testid("shortcut-legend"), |t| !t.is_empty()).await;
    let answers: Vec<(String, String)> = shequ_app::fieldwork::DEFAULT_SCALE_REQUIRED
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let script = r#"
        const [answers, done] = [arguments[0], arguments[arguments.length - 1]];
        const invoke = window.__TAURI_INTERNALS__.invoke;
        (async () => {
          const [drafts] = await invoke('response_lists');
          const id = drafts[0].response.instance_id;
          for (const [key, value] of answers) await invoke('answer', { id, key, value });
          const out = await invoke('finalize', { id });
          done(JSON.stringify(out.finalized));
        })().catch((e) => done('error ' + JSON.stringify(e)));
    "#;
    let out = c
        .execute_async(script, vec![serde_json::to_value(&answers).unwrap()])
        .await
        .unwrap();
    assert_eq!(
        out.as_str(),
        Some("true"),
        "the interview is finalized: {out}"
    );
    // Back to the home screen, where the finished interview is listed.
    c.refresh().await.unwrap();
    wait_text(&c, &testid("start-interview"), |t| !t.is_empty()).await;
    std::thread::sleep(Duration::from_secs(2));
    let app = tree(std::process::id())
        .into_iter()
        .find(|(_, n)| n == "shequ-desktop")
        .map(|(p, _)| p)
        .expect("the app under tauri-driver");
    let measured = tree_pss(app);
    c.close().await.unwrap();
    drop(driver);
    std::env::remove_var("SHEQU_PASSPHRASE");
    measured
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let runs: usize = std::env::var("RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(5);
    let shequ = release("shequ-desktop");
    let empty = release("shequ-empty-app");
    let scratch = tempfile::tempdir().unwrap();
    // The demo district, loaded by the release CLI, as the centre (no first-run question).
    let data = scratch.path().join("demo");
    for args in [vec!["demo"], vec!["role", "centre"]] {
        let ok = Command::new(release("shequ"))
            .env("SHEQU_PASSPHRASE", PASSPHRASE)
            .arg("--data-dir")
            .arg(&data)
            .args(&args)
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(ok.success(), "shequ {args:?}");
    }
    println!(
        "start-up and memory, {runs} runs each, release builds, {}",
        std::env::var("DISPLAY").unwrap_or_default()
    );
    let setups = [
        Setup {
            label: "empty app, Tauri defaults",
            bin: &empty,
            data: None,
            gpu: None,
        },
        Setup {
            label: "empty app, software compositing",
            bin: &empty,
            data: None,
            gpu: Some("0"),
        },
        Setup {
            label: "shequ (software compositing)",
            bin: &shequ,
            data: Some(&data),
            gpu: None,
        },
        Setup {
            label: "shequ, GPU compositing",
            bin: &shequ,
            data: Some(&data),
            gpu: Some("1"),
        },
    ];
    // One warm-up of each: the first start reads the libraries from disk. Then each round
    // runs every set-up, in an order rotated by one each round.
    for setup in &setups {
        run_once(setup, scratch.path());
    }
    let mut samples: Vec<Vec<Sample>> = setups.iter().map(|_| Vec::new()).collect();
    for round in 0..runs {
        for k in 0..setups.len() {
            let i = (round + k) % setups.len();
            samples[i].push(run_once(&setups[i], scratch.path()));
        }
    }
    let medians: Vec<(f64, f64)> = setups
        .iter()
        .zip(&samples)
        .map(|(setup, s)| report(setup.label, s))
        .collect();
    let ratio = |a: usize, b: usize, what: &str| {
        println!(
            "{} / {}: start-up {:.2}x ({:+.0} ms), PSS {:.2}x ({:+.1} MiB){what}",
            setups[a].label,
            setups[b].label,
            medians[a].0 / medians[b].0,
            medians[a].0 - medians[b].0,
            medians[a].1 / medians[b].1,
            medians[a].1 - medians[b].1,
        );
    };
    ratio(
        2,
        0,
        "; goal: home interactive under 1000 ms, PSS within 1.3x",
    );
    ratio(2, 1, ", like for like");
    ratio(3, 0, ", both with GPU compositing");
    let (after, by_name) = after_interview(&shequ, &data).await;
    let parts: Vec<String> = by_name.iter().map(|(n, m)| format!("{n} {m:.1}")).collect();
    println!(
        "shequ after a full interview: PSS {after:.1} MiB [{}], {:.2}x the empty app (Tauri defaults) after start",
        parts.join(", "),
        after / medians[0].1
    );
}
