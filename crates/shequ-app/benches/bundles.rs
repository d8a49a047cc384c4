//! `cargo bench -p shequ-app --bench bundles`
//!
//! 100,000 finalized responses of the default scale on 50 simulated laptops (2,000 each):
//! export of the 50 bundles, their import at the centre, the re-import of the same 50 files
//! (all duplicates), then the CSV export of the centre's data beside `sqlite3 -csv` selecting
//! the same answers from the same database, in the same run.
//! `SHEQU_BENCH_RESPONSES` scales it down (e.g. 10000) for a quick look.

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::process::Command;
use std::time::Instant;

use chrono::{Duration, TimeZone, Utc};
use shequ_app::exports::DataFormat;
use shequ_app::App;
use shequ_core::{Answer, HousingForm, NewCommunity, Response, ResponseStatus};
use shequ_store::NewResponse;

const LAPTOPS: usize = 50;

fn main() {
    let total: usize = std::env::var("SHEQU_BENCH_RESPONSES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let per = total / LAPTOPS;
    let root = tempfile::tempdir().unwrap();
    let t0 = Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap();
    let mut centre = App::open(
        &root.path().join("centre"),
        &shequ_app::Passphrase::new("test passphrase"),
        t0,
    )
    .unwrap();
    let recipient = centre.init_centre().unwrap();
    let scale = shequ_forms::default_scale().unwrap();
    let questions: Vec<_> = scale
        .questions()
        .into_iter()
        .filter(|q| q.takes_input())
        .cloned()
        .collect();

    // Fill the laptops (not timed).
    let fill = Instant::now();
    let mut bundles = Vec::new();
    let mut laptops = Vec::new();
    let mut export_time = std::time::Duration::ZERO;
    for l in 0..LAPTOPS {
        let mut app = App::open(
            &root.path().join(format!("l{l}")),
            &shequ_app::Passphrase::new("test passphrase"),
            t0,
        )
        .unwrap();
        app.set_centre_recipient(&recipient).unwrap();
        centre
            .accept_device(&app.device_fingerprint().unwrap())
            .unwrap();
        let mut ids = Vec::new();
        for c in 0..12 {
            let made = app
                .add_community(
                    NewCommunity {
                        code: format!("C-{c:02}"),
                        name: format!("社区{c}"),
                        street: "东湖街道".into(),
                        district: "示范区".into(),
                        housing_form: HousingForm::Mixed,
                        households: Some(1000),
                        target_sample: 50,
                    },
                    t0,
                )
                .unwrap();
            ids.push(made.id);
        }
        let instrument = app
            .store()
            .instrument_version(&scale.form_id, &scale.version)
            .unwrap()
            .unwrap()
            .summary
            .id;
        let items: Vec<NewResponse> = (0..per)
            .map(|i| {
                let id = shequ_core::new_id();
                let at = t0 + Duration::minutes(i as i64);
                let answers = questions
                    .iter()
                    .map(|q| Answer {
                        question: q.name.clone(),
                        value: match q.qtype.as_str() {
                            "integer" => ((i * 7 + q.name.len()) % 60 + 18).to_string(),
                            "select_one" => scale.choices[q.list_name.as_ref().unwrap()]
                                [(i + q.name.len()) % 2]
                                .name
                                .clone(),
                            "select_multiple" => scale.choices[q.list_name.as_ref().unwrap()]
                                [i % 3]
                                .name
                                .clone(),
                            _ => format!("文字回答 {i}"),
                        },
                    })
                    .collect();
                NewResponse {
                    response: Response {
                        instance_id: id,
                        root_id: id,
                        deprecated_id: None,
                        instrument_id: instrument,
                        community_id: ids[i % ids.len()],
                        status: ResponseStatus::Finalized,
                        interviewer: "张敏".into(),
                        device_id: app.device_id().to_string(),
                        respondent: format!("{}号楼{}室", i % 30, i % 600),
                        started_at: at,
                        updated_at: at,
                        finalized_at: Some(at),
                        position: String::new(),
                        discarded_at: None,
                    },
                    answers,
                }
            })
            .collect();
        let actor = app.actor();
        app.store_mut_for_bench()
            .insert_responses(&items, &actor, t0)
            .unwrap();
        let t = Instant::now();
        let (bytes, _) = app
            .export_bundle(
                root.path().join("b.shequ"),
                false,
                false,
                t0 + Duration::days(10),
            )
            .unwrap();
        export_time += t.elapsed();
        bundles.push(bytes);
        laptops.push(app);
    }
    eprintln!(
        "filled {LAPTOPS} laptops with {} responses in {:.1} s",
        per * LAPTOPS,
        fill.elapsed().as_secs_f64()
    );

    let t = Instant::now();
    for (i, b) in bundles.iter().enumerate() {
        let r = centre
            .import_bundle(b, &format!("l{i}.shequ"), false, t0 + Duration::days(11))
            .unwrap();
        assert_eq!(r.counts.new as usize, per);
    }
    let import_time = t.elapsed();
    let t = Instant::now();
    for (i, b) in bundles.iter().enumerate() {
        let r = centre
            .import_bundle(b, &format!("l{i}.shequ"), false, t0 + Duration::days(12))
            .unwrap();
        assert!(r.already_imported);
    }
    let reimport_time = t.elapsed();
    // Re-exported bundles: new files with the same content, so every response is compared.
    let again: Vec<Vec<u8>> = laptops
        .iter_mut()
        .map(|a| {
            a.export_bundle(
                root.path().join("b2.shequ"),
                false,
                false,
                t0 + Duration::days(13),
            )
            .unwrap()
            .0
        })
        .collect();
    let t = Instant::now();
    for (i, b) in again.iter().enumerate() {
        let r = centre
            .import_bundle(
                b,
                &format!("l{i}-again.shequ"),
                false,
                t0 + Duration::days(13),
            )
            .unwrap();
        assert_eq!(r.counts.duplicates as usize, per);
    }
    let reexport_time = t.elapsed();

    // CSV export beside sqlite3 -csv over the same answers.
    let out = root.path().join("csv");
    let t = Instant::now();
    let (_, n) = centre
        .export_data(
            DataFormat::Csv,
            None,
            &out,
            shequ_app::exports::PersonalData::Include,
            chrono::Utc::now(),
        )
        .unwrap();
    let csv_time = t.elapsed();
    assert_eq!(n as usize, per * LAPTOPS);
    let db = root.path().join("centre/shequ.db");
    let sql = "SELECT r.instance_id, c.code, a.question, a.value FROM responses r \
               JOIN communities c ON c.id = r.community_id JOIN answers a ON a.instance_id = r.instance_id \
               WHERE r.status = 'finalized' ORDER BY r.finalized_at, r.instance_id;";
    let t = Instant::now();
    let sq = Command::new("sqlite3")
        .arg("-csv")
        .arg(&db)
        .arg(sql)
        .stdout(std::fs::File::create(root.path().join("sqlite.csv")).unwrap())
        .status();
    let sqlite_time = t.elapsed();
    let sqlite_ok = sq.map(|s| s.success()).unwrap_or(false);

    let s = |d: std::time::Duration| d.as_secs_f64();
    println!(
        "Bundles: {} responses from {LAPTOPS} laptops",
        per * LAPTOPS
    );
    println!(
        "  export (50 bundles)             {:>8.2} s",
        s(export_time)
    );
    println!(
        "  import (50 bundles)             {:>8.2} s",
        s(import_time)
    );
    println!(
        "  re-import (all duplicates)      {:>8.3} s   ({:.1}% of import)",
        s(reimport_time),
        100.0 * s(reimport_time) / s(import_time)
    );
    println!(
        "  re-exported bundles (compared)  {:>8.2} s   ({:.1}% of import)",
        s(reexport_time),
        100.0 * s(reexport_time) / s(import_time)
    );
    println!("  CSV export (shequ export)       {:>8.2} s", s(csv_time));
    if sqlite_ok {
        println!(
            "  sqlite3 -csv, same answers      {:>8.2} s   (ratio {:.2}x)",
            s(sqlite_time),
            s(csv_time) / s(sqlite_time)
        );
    } else {
        println!("  sqlite3 -csv                    not available (apt-get install sqlite3)");
    }
}
