//! `cargo bench -p shequ-app --bench save`
//!
//! The durable answer save as the interview screen calls it (`App::answer`: clean, one
//! SQLite transaction in WAL with synchronous=FULL, then the incremental form state), 10,000
//! times on the encrypted store (SQLCipher) and 10,000 times on an unencrypted one, beside a
//! bare `write` + `fsync` of a small record on the same disk, 10,000 times, in the same run. Set SHEQU_BENCH_DIR to measure another disk (default: the system temp dir).

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::io::{Seek, SeekFrom, Write};
use std::time::{Duration, Instant};

use chrono::Utc;
use shequ_app::fieldwork::StartInterview;
use shequ_app::App;
use shequ_core::{HousingForm, Lang, NewCommunity};

const SAVES: usize = 10_000;

fn pct(sorted: &[Duration], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize].as_secs_f64() * 1e6
}

fn main() {
    let base = std::env::var_os("SHEQU_BENCH_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let dir = tempfile::tempdir_in(&base).unwrap();

    // Reference: the disk's own limit for one durable small write.
    let mut f = std::fs::File::create(dir.path().join("fsync.bin")).unwrap();
    let record = [7u8; 128];
    let mut fsync = Vec::with_capacity(SAVES);
    for i in 0..SAVES {
        let t = Instant::now();
        f.seek(SeekFrom::Start(((i % 64) * 128) as u64)).unwrap();
        f.write_all(&record).unwrap();
        f.sync_all().unwrap();
        fsync.push(t.elapsed());
    }
    fsync.sort();

    // Shequ's save path, encrypted as the app runs it, and without encryption.
    let pass = shequ_app::Passphrase::new("bench passphrase");
    let mut enc = Interview::new(App::open(&dir.path().join("enc"), &pass, Utc::now()).unwrap());
    let mut bare = Interview::new(
        App::open_unencrypted_for_bench(&dir.path().join("plain"), Utc::now()).unwrap(),
    );
    // Interleaved, so both see the same disk and the same machine load.
    let (mut encrypted, mut plain) = (Vec::with_capacity(SAVES), Vec::with_capacity(SAVES));
    for i in 0..SAVES {
        encrypted.push(enc.save(i));
        plain.push(bare.save(i));
    }
    encrypted.sort();
    plain.sort();

    println!(
        "Durable answer save, {SAVES} saves each, on {}",
        base.display()
    );
    println!("                               p50 µs     p99 µs   p50 / fsync");
    let row = |name: &str, d: &[Duration]| {
        println!(
            "  {name:<27}{:>9.1}  {:>9.1}  {:>9.2}x",
            pct(d, 0.5),
            pct(d, 0.99),
            pct(d, 0.5) / pct(&fsync, 0.5)
        )
    };
    row("bare write+fsync", &fsync);
    row("App::answer, unencrypted", &plain);
    row("App::answer, encrypted", &encrypted);
    println!(
        "  encryption costs            {:>9.2}x at p50",
        pct(&encrypted, 0.5) / pct(&plain, 0.5)
    );
}

/// One interview in a store, answered again and again.
struct Interview {
    app: App,
    id: uuid::Uuid,
}

const KEYS: [&str; 5] = ["a_age", "b1", "j_suggestions", "f_needs", "h_problems"];

impl Interview {
    fn new(mut app: App) -> Interview {
        let c = app
            .add_community(
                NewCommunity {
                    code: "B1".into(),
                    name: "基准社区".into(),
                    street: String::new(),
                    district: String::new(),
                    housing_form: HousingForm::Mixed,
                    households: None,
                    target_sample: 50,
                },
                Utc::now(),
            )
            .unwrap();
        let r = app
            .start_interview(
                StartInterview {
                    community_id: c.id,
                    instrument_id: None,
                    interviewer: "张敏".into(),
                    respondent: "1-101".into(),
                    consent: true,
                },
                Utc::now(),
            )
            .unwrap();
        Interview {
            app,
            id: r.instance_id,
        }
    }

    /// The `i`-th save: one of five questions, a value that changes; its duration.
    fn save(&mut self, i: usize) -> Duration {
        let k = KEYS[i % KEYS.len()];
        let v = match k {
            "a_age" => (20 + i % 60).to_string(),
            "b1" => (1 + i % 5).to_string(),
            "f_needs" => ["lift", "lift parking", "repairs"][i % 3].to_string(),
            "h_problems" => ["pets", "noise parking", ""][i % 3].to_string(),
            _ => format!("建议第 {i} 条"),
        };
        let t = Instant::now();
        self.app
            .answer(self.id, k, &v, Lang::ZhCn, Utc::now())
            .unwrap();
        t.elapsed()
    }
}
