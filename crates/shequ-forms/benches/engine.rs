//! `cargo bench -p shequ-forms --bench engine`
//!
//! 1. Import of a generated 2,000-question XLSForm: Shequ beside pyxform's `xls2json` on the
//!    same file, in the same run (pyxform timed inside Python, interpreter start excluded).
//! 2. Form state: a full evaluation, and re-evaluation after one answer change, in µs.

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use chrono::{FixedOffset, TimeZone};
use shequ_core::Lang;
use shequ_forms::state::EvalEnv;
use shequ_forms::{Answers, CompiledForm};

const QUESTIONS: usize = 2000;

/// 100 groups of 20: selects, integers with relevance and constraints, text, calculations.
fn generate(path: &Path) {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let s = wb.add_worksheet();
    s.set_name("survey").unwrap();
    let head = [
        "type",
        "name",
        "label::中文 (zh)",
        "label::English (en)",
        "relevant",
        "constraint",
        "calculation",
        "required",
    ];
    for (c, h) in head.iter().enumerate() {
        s.write_string(0, c as u16, *h).unwrap();
    }
    let mut r = 1u32;
    let mut put = |row: [&str; 8], r: &mut u32| {
        for (c, v) in row.iter().enumerate() {
            if !v.is_empty() {
                s.write_string(*r, c as u16, *v).unwrap();
            }
        }
        *r += 1;
    };
    let mut n = 0;
    for g in 0..QUESTIONS / 20 {
        let gname = format!("g{g}");
        put(
            [
                "begin group",
                &gname,
                &format!("第 {g} 部分"),
                &format!("Part {g}"),
                "",
                "",
                "",
                "",
            ],
            &mut r,
        );
        for i in 0..20 {
            let name = format!("q{n}");
            let prev = format!("q{}", n.max(1) - 1);
            let (zh, en) = (format!("题目 {n}"), format!("Question {n}"));
            match i % 5 {
                0 => put(
                    ["select_one agree", &name, &zh, &en, "", "", "", "yes"],
                    &mut r,
                ),
                1 => put(
                    [
                        "integer",
                        &name,
                        &zh,
                        &en,
                        &format!("${{{prev}}} >= 3"),
                        ". >= 0 and . < 100",
                        "",
                        "",
                    ],
                    &mut r,
                ),
                2 => put(
                    ["select_multiple needs", &name, &zh, &en, "", "", "", ""],
                    &mut r,
                ),
                3 => put(
                    [
                        "calculate",
                        &name,
                        "",
                        "",
                        "",
                        "",
                        &format!("count-selected(${{{prev}}}) * 2"),
                        "",
                    ],
                    &mut r,
                ),
                _ => put(
                    [
                        "text",
                        &name,
                        &zh,
                        &en,
                        &format!("${{{prev}}} > 2"),
                        "string-length(.) < 200",
                        "",
                        "",
                    ],
                    &mut r,
                ),
            }
            n += 1;
        }
        put(["end group", "", "", "", "", "", "", ""], &mut r);
    }
    let c = wb.add_worksheet();
    c.set_name("choices").unwrap();
    for (i, h) in [
        "list_name",
        "name",
        "label::中文 (zh)",
        "label::English (en)",
    ]
    .iter()
    .enumerate()
    {
        c.write_string(0, i as u16, *h).unwrap();
    }
    let mut row = 1;
    for k in 1..=5 {
        for (i, v) in [
            "agree",
            &k.to_string(),
            &format!("{k} 分"),
            &format!("{k} points"),
        ]
        .iter()
        .enumerate()
        {
            c.write_string(row, i as u16, *v).unwrap();
        }
        row += 1;
    }
    for k in 0..12 {
        for (i, v) in [
            "needs",
            &format!("n{k}"),
            &format!("需求 {k}"),
            &format!("Need {k}"),
        ]
        .iter()
        .enumerate()
        {
            c.write_string(row, i as u16, *v).unwrap();
        }
        row += 1;
    }
    let st = wb.add_worksheet();
    st.set_name("settings").unwrap();
    st.write_string(0, 0, "form_id").unwrap();
    st.write_string(1, 0, "bench_2000").unwrap();
    st.write_string(0, 1, "version").unwrap();
    st.write_string(1, 1, "1").unwrap();
    wb.save(path).unwrap();
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bench_2000.xlsx");
    generate(&path);
    if let Ok(keep) = std::env::var("SHEQU_BENCH_KEEP") {
        std::fs::copy(&path, keep).unwrap();
    }
    let bytes = std::fs::read(&path).unwrap();

    // Shequ import.
    let runs = 20;
    let mut times = Vec::new();
    let mut def = None;
    for _ in 0..runs {
        let t = Instant::now();
        let d = shequ_forms::read_xlsform(&bytes, "bench_2000.xlsx").expect("imports");
        times.push(t.elapsed());
        def = Some(d);
    }
    times.sort();
    let def = def.unwrap();
    assert_eq!(def.questions().len(), QUESTIONS);
    let shequ_ms = ms(percentile(&times, 0.5));

    // pyxform, same file, same run.
    let script = r#"
import sys, time, statistics
from pyxform.xls2json import parse_file_to_json
times = []
for _ in range(int(sys.argv[2])):
    t = time.perf_counter(); parse_file_to_json(sys.argv[1], warnings=[]); times.append(time.perf_counter() - t)
print(statistics.median(times) * 1000)
"#;
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let out = Command::new(python)
        .arg("-c")
        .arg(script)
        .arg(&path)
        .arg("5")
        .output()
        .expect("python3");
    let pyxform_ms: Option<f64> = if out.status.success() {
        String::from_utf8_lossy(&out.stdout).trim().parse().ok()
    } else {
        eprintln!(
            "pyxform not measured: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        None
    };

    // Form state.
    let form = CompiledForm::compile(&def).unwrap();
    let env = EvalEnv {
        lang: Lang::ZhCn,
        now: FixedOffset::east_opt(8 * 3600)
            .unwrap()
            .with_ymd_and_hms(2026, 3, 1, 9, 0, 0)
            .unwrap(),
    };
    let mut answers = Answers::default();
    for (i, q) in def.questions().iter().enumerate() {
        match q.qtype.as_str() {
            "select_one" => answers.set(&q.name, &((i % 5) + 1).to_string()),
            "integer" => answers.set(&q.name, &(i % 50).to_string()),
            "select_multiple" => answers.set(&q.name, "n1 n3"),
            "text" => answers.set(&q.name, "一些文字"),
            _ => {}
        }
    }
    let mut full = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        let st = form.evaluate(&answers, &env);
        full.push(t.elapsed());
        std::hint::black_box(st);
    }
    full.sort();
    let mut state = form.evaluate(&answers, &env);
    let mut one = Vec::new();
    for k in 0..2000 {
        // A select_one in the middle of the form, read by the next question's relevance.
        let name = format!("q{}", 1000 + (k % 20) * 5);
        answers.set(&name, &((k % 5) + 1).to_string());
        let t = Instant::now();
        let changed = form.update(&mut state, &answers, &name, &env);
        one.push(t.elapsed());
        std::hint::black_box(changed);
    }
    one.sort();
    assert_eq!(
        state,
        form.evaluate(&answers, &env),
        "incremental state equals full evaluation"
    );

    println!("XLSForm import, {QUESTIONS} questions (median of {runs} runs)");
    println!("  shequ  read_xlsform      {shequ_ms:>9.2} ms");
    match pyxform_ms {
        Some(p) => {
            println!("  pyxform xls2json         {p:>9.2} ms");
            println!("  speed-up                 {:>9.1}x", p / shequ_ms);
        }
        None => println!("  pyxform xls2json         not installed"),
    }
    println!("Form state, {QUESTIONS} questions");
    println!(
        "  full evaluation  p50     {:>9.1} µs",
        percentile(&full, 0.5).as_secs_f64() * 1e6
    );
    println!(
        "  one answer change p50    {:>9.1} µs",
        percentile(&one, 0.5).as_secs_f64() * 1e6
    );
    println!(
        "  one answer change p99    {:>9.1} µs",
        percentile(&one, 0.99).as_secs_f64() * 1e6
    );
}
