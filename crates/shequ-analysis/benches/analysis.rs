//! Profiles and classification of a large district, beside pandas doing the same
//! aggregation in the same run.
//!
//!     cargo bench -p shequ-analysis --bench analysis [-- COMMUNITIES RESPONSES_EACH]
//!
//! 2,000 communities × 100 responses of the default scale by default, generated from a fixed
//! seed. Shequ: `analyse` over the records in memory (scores, SD, CI, ICC, λ, percentiles,
//! need degrees, problem indices, tags, classification, k-means). pandas: the same
//! aggregation (`tests/analysis/pandas_profiles.py --bench`) over the same answers written
//! as the CSV export lays them out; loading the CSV is excluded, as loading records is
//! excluded on Shequ's side. Both are the best of 3 runs.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::time::Instant;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use shequ_analysis::{analyse, AnalysisSettings, CommunityInfo, Respondent, Scheme};
use shequ_core::{FormItem, HousingForm};

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let communities = args.first().copied().unwrap_or(2000);
    let each = args.get(1).copied().unwrap_or(100);
    let def = shequ_forms::default_scale().unwrap();
    let scheme = Scheme::from_definition(&def);
    let mut rng = ChaCha8Rng::seed_from_u64(316);

    // Column order of the CSV export: group/question, 0/1 columns after each multi-select.
    let mut columns: Vec<(String, String, Option<String>)> = Vec::new(); // (csv name, key, choice)
    fn walk(
        items: &[FormItem],
        group: &str,
        def: &shequ_core::FormDefinition,
        out: &mut Vec<(String, String, Option<String>)>,
    ) {
        for i in items {
            match i {
                FormItem::Group { name, children, .. } => walk(children, name, def, out),
                FormItem::Question(q) if q.takes_input() => {
                    out.push((format!("{group}/{}", q.name), q.name.clone(), None));
                    if q.qtype == "select_multiple" {
                        for c in &def.choices[q.list_name.as_ref().unwrap()] {
                            out.push((
                                format!("{group}/{}/{}", q.name, c.name),
                                q.name.clone(),
                                Some(c.name.clone()),
                            ));
                        }
                    }
                }
                _ => {}
            }
        }
    }
    walk(&def.items, "", &def, &mut columns);

    let infos: Vec<CommunityInfo> = (0..communities)
        .map(|i| CommunityInfo {
            code: format!("C{i:05}"),
            name: format!("社区{i}"),
            street: format!("街道{}", i / 20),
            housing_form: HousingForm::ALL[i % 8],
        })
        .collect();
    let likert = |rng: &mut ChaCha8Rng, mu: f64| -> String {
        let x: f64 = mu + (rng.random::<f64>() - 0.5) * 3.0;
        (x.round().clamp(1.0, 5.0) as i64).to_string()
    };
    let mut respondents = Vec::with_capacity(communities * each);
    for (ci, _) in infos.iter().enumerate() {
        let mus: Vec<f64> = (0..4).map(|_| rng.random_range(2.0..4.2)).collect();
        let (p_old, p_mig, p_low) = (
            rng.random_range(0.05..0.5),
            rng.random_range(0.05..0.5),
            rng.random_range(0.0..0.1),
        );
        for r in 0..each {
            let mut a: BTreeMap<String, String> = BTreeMap::new();
            let age = if rng.random_bool(p_old) {
                rng.random_range(60..90)
            } else {
                rng.random_range(20..60)
            };
            a.insert("a_age".into(), age.to_string());
            a.insert(
                "a_tenure".into(),
                if rng.random_bool(p_mig) {
                    "renter"
                } else {
                    "owner"
                }
                .into(),
            );
            a.insert(
                "a_hukou".into(),
                if rng.random_bool(p_mig) {
                    "other_province"
                } else {
                    "local_district"
                }
                .into(),
            );
            let mut hh = Vec::new();
            for (c, p) in [
                ("elderly", 0.4),
                ("child", 0.3),
                ("disabled", 0.06),
                ("low_income", p_low),
            ] {
                if rng.random_bool(p) {
                    hh.push(c);
                }
            }
            if hh.is_empty() {
                hh.push("none");
            }
            a.insert("a_household".into(), hh.join(" "));
            for (di, d) in scheme.dimensions.iter().enumerate() {
                for item in &d.items {
                    if rng.random_bool(0.97) {
                        a.insert(item.key.clone(), likert(&mut rng, mus[di]));
                    }
                }
            }
            for need in &scheme.needs {
                let applies = match need.group.as_str() {
                    "elderly" => hh.contains(&"elderly"),
                    "children" => hh.contains(&"child"),
                    "disabled" => hh.contains(&"disabled"),
                    "hardship" => hh.contains(&"low_income"),
                    _ => true,
                };
                if !applies {
                    continue;
                }
                let ticked: Vec<&str> = need
                    .choices
                    .iter()
                    .filter(|_| rng.random_bool(0.3))
                    .map(|c| c.name.as_str())
                    .collect();
                if !ticked.is_empty() {
                    a.insert(need.key.clone(), ticked.join(" "));
                }
            }
            if let Some(p) = &scheme.problems {
                let ticked: Vec<&str> = p
                    .choices
                    .iter()
                    .filter(|_| rng.random_bool(0.2))
                    .map(|c| c.name.as_str())
                    .collect();
                for c in &ticked {
                    a.insert(
                        scheme.severity[*c].key.clone(),
                        rng.random_range(1..=3).to_string(),
                    );
                }
                if !ticked.is_empty() {
                    a.insert(p.key.clone(), ticked.join(" "));
                }
            }
            respondents.push(Respondent {
                community: ci,
                instance_id: format!("{ci}-{r}"),
                answers: a,
            });
        }
    }
    let settings = AnalysisSettings::default();

    // The same answers as the CSV export lays them out, for pandas.
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("export.csv");
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&csv).unwrap());
        let mut w = csv::Writer::from_writer(&mut f);
        let mut header: Vec<&str> = columns.iter().map(|(c, _, _)| c.as_str()).collect();
        header.push("shequ/community_code");
        w.write_record(&header).unwrap();
        for r in &respondents {
            let mut row: Vec<String> = columns
                .iter()
                .map(|(_, key, choice)| match (r.answers.get(key), choice) {
                    (None, _) => String::new(),
                    (Some(v), None) => v.clone(),
                    (Some(v), Some(c)) => (v.split_whitespace().any(|x| x == c) as u8).to_string(),
                })
                .collect();
            row.push(infos[r.community].code.clone());
            w.write_record(&row).unwrap();
        }
        w.flush().unwrap();
    }

    let mut best = f64::INFINITY;
    let mut district = None;
    for _ in 0..3 {
        let t0 = Instant::now();
        let d = analyse("bench", &scheme, &infos, &respondents, &settings, None);
        best = best.min(t0.elapsed().as_secs_f64());
        district = Some(d);
    }
    let d = district.unwrap();
    let classified = d
        .classifications
        .iter()
        .filter(|c| c.social_type.is_some())
        .count();

    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/analysis/pandas_profiles.py");
    let scale = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../assets/instruments/community-analysis-scale.xlsx");
    let out = std::process::Command::new("python3")
        .arg(&script)
        .arg(&scale)
        .arg(&csv)
        .arg("--bench")
        .output()
        .expect("python3 with pandas (scripts/setup.sh installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let pandas = v["seconds"].as_f64().unwrap();
    let mut so = std::io::stdout().lock();
    writeln!(so, "district: {communities} communities × {each} responses = {} records; {classified} classified; k-means k = {:?}",
        respondents.len(), d.kmeans.as_ref().map(|k| k.k)).unwrap();
    writeln!(
        so,
        "shequ  analyse (profiles + classification + k-means): {:>8.1} ms",
        best * 1e3
    )
    .unwrap();
    writeln!(
        so,
        "pandas groupby (the same profile numbers, no classification): {:>8.1} ms",
        pandas * 1e3
    )
    .unwrap();
    writeln!(so, "pandas / shequ = {:.1}× (goal ≥ 5×)", pandas / best).unwrap();
}
