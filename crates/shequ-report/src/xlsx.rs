//! The district's classification table as a workbook: one row per community, then the
//! settings it was computed with and the k-means grouping beside it.

use rust_xlsxwriter::{Format, FormatAlign, Workbook, XlsxError};
use shequ_analysis::{CutoffMode, District, TAGS};
use shequ_core::{i18n, Error, Lang, Result};

use crate::{m, social_type_text, t};

/// The typology and efficacy dimensions, in the order of the table's score columns.
pub const SCORE_COLUMNS: [&str; 4] = ["interaction", "identity", "linkages", "efficacy"];

fn dim(lang: Lang, name: &str) -> String {
    i18n::text(lang, &format!("analysis.dimensions.{name}"))
}

/// The district's classification table as .xlsx.
pub fn classification_xlsx(d: &District, lang: Lang) -> Result<Vec<u8>> {
    build(d, lang).map_err(Error::internal)
}

fn build(d: &District, lang: Lang) -> std::result::Result<Vec<u8>, XlsxError> {
    let mut wb = Workbook::new();
    let head = Format::new()
        .set_bold()
        .set_background_color("E8EEF5")
        .set_text_wrap()
        .set_align(FormatAlign::Top);
    let wrap = Format::new().set_text_wrap().set_align(FormatAlign::Top);
    let one = Format::new().set_num_format("0.0");
    let yes_no = |b: bool| t(lang, if b { "yes" } else { "no" });

    // Sheet 1: one row per community.
    let ws = wb.add_worksheet();
    ws.set_name(t(lang, "xlsx.sheet_classification"))?;
    let mut header: Vec<String> = ["code", "name", "street", "housing", "n"]
        .iter()
        .map(|k| t(lang, &format!("xlsx.{k}")))
        .collect();
    for s in SCORE_COLUMNS {
        header.push(m(lang, "xlsx.score", &[("dimension", dim(lang, s))]));
    }
    for k in [
        "social_type",
        "borderline",
        "unnamed",
        "tags",
        "label",
        "cluster",
        "explanation",
    ] {
        header.push(t(lang, &format!("xlsx.{k}")));
    }
    for (c, h) in header.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, h, &head)?;
    }
    let widths = [
        10.0, 16.0, 12.0, 18.0, 8.0, 10.0, 10.0, 10.0, 10.0, 10.0, 8.0, 8.0, 28.0, 40.0, 10.0, 70.0,
    ];
    for (c, w) in widths.iter().enumerate() {
        ws.set_column_width(c as u16, *w)?;
    }
    ws.set_freeze_panes(1, 0)?;
    for (i, c) in d.classifications.iter().enumerate() {
        let row = i as u32 + 1;
        let p = d.profile(&c.code);
        ws.write_string(row, 0, &c.code)?;
        ws.write_string(row, 1, p.map_or("", |p| p.name.as_str()))?;
        ws.write_string(row, 2, p.map_or("", |p| p.street.as_str()))?;
        ws.write_string(row, 3, c.housing_form.label(lang))?;
        ws.write_number(row, 4, c.n as f64)?;
        for (j, s) in SCORE_COLUMNS.iter().enumerate() {
            let score = p
                .and_then(|p| p.dimensions.iter().find(|x| x.dimension == *s))
                .and_then(|x| x.score);
            if let Some(v) = score {
                ws.write_number_with_format(row, 5 + j as u16, v, &one)?;
            }
        }
        ws.write_string(row, 9, social_type_text(c, lang))?;
        ws.write_string(row, 10, yes_no(c.borderline))?;
        ws.write_string(row, 11, yes_no(c.unnamed))?;
        let sep = if lang == Lang::ZhCn { "、" } else { "; " };
        let tags: Vec<String> = c.tags.iter().map(|t| t.render(lang)).collect();
        ws.write_string(row, 12, tags.join(sep))?;
        ws.write_string(row, 13, c.label(lang))?;
        if let Some(k) = c.cluster {
            ws.write_number(row, 14, k as f64)?;
        }
        ws.write_string_with_format(row, 15, c.explain(lang).join("\n"), &wrap)?;
    }

    // Sheet 2: the thresholds used and each dimension's ICC(1).
    let ws = wb.add_worksheet();
    ws.set_name(t(lang, "xlsx.sheet_settings"))?;
    ws.write_string_with_format(0, 0, t(lang, "xlsx.setting"), &head)?;
    ws.write_string_with_format(0, 1, t(lang, "xlsx.value"), &head)?;
    ws.set_column_width(0, 30.0)?;
    ws.set_column_width(1, 16.0)?;
    ws.set_freeze_panes(1, 0)?;
    let s = &d.settings;
    let name = |k: &str| i18n::text(lang, &format!("analysis.setting_names.{k}"));
    let mode = match s.cutoff_mode {
        CutoffMode::Fixed => "fixed",
        CutoffMode::Median => "median",
    };
    let mut rows: Vec<(String, Cell)> = vec![
        (t(lang, "xlsx.round"), Cell::Text(d.round.clone())),
        (name("min_responses"), Cell::Num(s.min_responses as f64)),
        (
            t(lang, "xlsx.cutoff_mode"),
            Cell::Text(i18n::text(lang, &format!("analysis.cutoff_modes.{mode}"))),
        ),
        (name("cutoff"), Cell::Num(s.cutoff)),
        (name("borderline_margin"), Cell::Num(s.borderline_margin)),
        (name("need_high"), Cell::Num(s.need_high)),
        (name("need_medium"), Cell::Num(s.need_medium)),
    ];
    for tag in TAGS {
        rows.push((name(tag), Cell::Num(s.tag_threshold(tag))));
    }
    rows.push((name("top_needs"), Cell::Num(s.top_needs as f64)));
    rows.push((name("top_problems"), Cell::Num(s.top_problems as f64)));
    rows.push((name("problem_index_min"), Cell::Num(s.problem_index_min)));
    for (k, v) in &d.cutoffs {
        rows.push((
            m(lang, "xlsx.cutoff_of", &[("dimension", dim(lang, k))]),
            Cell::Num(*v),
        ));
    }
    for (k, v) in &d.icc {
        rows.push((
            m(lang, "xlsx.icc", &[("dimension", dim(lang, k))]),
            Cell::Num(*v),
        ));
    }
    for (i, (k, v)) in rows.iter().enumerate() {
        let r = i as u32 + 1;
        ws.write_string(r, 0, k)?;
        match v {
            Cell::Num(x) => ws.write_number(r, 1, *x)?,
            Cell::Text(x) => ws.write_string(r, 1, x)?,
        };
    }

    // Sheet 3: k-means, when the district was clustered.
    if let Some(k) = &d.kmeans {
        let ws = wb.add_worksheet();
        ws.set_name(t(lang, "xlsx.sheet_kmeans"))?;
        ws.set_column_width(0, 26.0)?;
        ws.write_string_with_format(0, 0, t(lang, "xlsx.k"), &head)?;
        ws.write_number(0, 1, k.k as f64)?;
        ws.write_string_with_format(1, 0, t(lang, "xlsx.silhouette"), &head)?;
        ws.write_number(1, 1, k.silhouette)?;
        ws.write_string_with_format(3, 0, t(lang, "xlsx.cross_table"), &head)?;
        for c in 0..k.k {
            ws.write_string_with_format(
                3,
                c as u16 + 1,
                m(lang, "xlsx.cluster_no", &[("no", (c + 1).to_string())]),
                &head,
            )?;
        }
        for (i, (ty, counts)) in k.cross_table.iter().enumerate() {
            let r = i as u32 + 4;
            let label = i18n::lookup(lang, &format!("analysis.types.{ty}"))
                .map_or_else(|| ty.clone(), str::to_string);
            ws.write_string(r, 0, label)?;
            for (c, n) in counts.iter().enumerate() {
                ws.write_number(r, c as u16 + 1, *n as f64)?;
            }
        }
    }

    wb.save_to_buffer()
}

enum Cell {
    Num(f64),
    Text(String),
}
