//! Exports in the survey world's shapes. One wide table per form version keyed by `KEY`
//! (`uuid:<instance id>`, as ODK Briefcase), one table per repeat with `PARENT_KEY`, columns
//! named `group/question` (as KoboToolbox), select_multiple as one column plus one 0/1 column
//! per choice, values or labels in a chosen language. CSV is UTF-8 with a BOM so Excel shows
//! Chinese; XLSX has one sheet per table and a data dictionary; JSON Lines has one object per
//! response. This crate owns these formats and knows nothing about the store. Every file is
//! written through `shequ_core::fs::AtomicFile`: complete and synced under its final name, or
//! a `FileUnwritable` error and the previous file (if any) untouched.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::Serialize;
use shequ_core::fs::{unwritable, write_atomic, AtomicFile};
use shequ_core::{Error, FormDefinition, FormItem, Lang, Question, Result};
use uuid::Uuid;

/// One response to export (its latest finalized version).
#[derive(Debug, Clone, Serialize)]
pub struct ExportResponse {
    pub instance_id: Uuid,
    pub deprecated_id: Option<Uuid>,
    pub community_code: String,
    pub community_name: String,
    pub interviewer: String,
    pub respondent: String,
    pub finalized_at: Option<DateTime<Utc>>,
    pub answers: BTreeMap<String, String>,
    pub repeat_counts: BTreeMap<String, u32>,
}

/// Values as stored (choice names) or as choice labels in a language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Values {
    Names,
    Labels(Lang),
}

#[derive(Debug, Clone)]
struct Column {
    header: String,
    /// Answer key suffix (the question name) or a meta field.
    source: Source,
}

#[derive(Debug, Clone)]
enum Source {
    Meta(&'static str),
    Answer(Question),
    /// The 0/1 column of one choice of a select_multiple.
    Choice(Question, String),
    ParentKey,
}

/// One output table: the main one, or one per repeat.
#[derive(Debug, Clone)]
struct Table {
    /// `""` for the main table, else the repeat's path (`household/member`).
    repeat_path: String,
    repeat_name: String,
    columns: Vec<Column>,
    /// Repeat nesting: names from the outermost repeat down to this one.
    chain: Vec<String>,
}

const META: [(&str, &str); 8] = [
    ("SubmissionDate", "finalized_at"),
    ("shequ/community_code", "community_code"),
    ("shequ/community_name", "community_name"),
    ("shequ/interviewer", "interviewer"),
    ("shequ/respondent", "respondent"),
    ("meta/instanceID", "instance_id"),
    ("meta/deprecatedID", "deprecated_id"),
    ("KEY", "key"),
];

fn exported(q: &Question) -> bool {
    q.qtype != "note"
}

fn tables(def: &FormDefinition) -> Vec<Table> {
    fn walk(
        items: &[FormItem],
        path: &str,
        table: usize,
        tables: &mut Vec<Table>,
        def: &FormDefinition,
    ) {
        for item in items {
            match item {
                FormItem::Question(q) if exported(q) => {
                    let header = format!("{path}{}", q.name);
                    tables[table].columns.push(Column {
                        header: header.clone(),
                        source: Source::Answer(q.clone()),
                    });
                    if q.qtype == "select_multiple" {
                        for c in q
                            .list_name
                            .as_ref()
                            .and_then(|l| def.choices.get(l))
                            .into_iter()
                            .flatten()
                        {
                            tables[table].columns.push(Column {
                                header: format!("{header}/{}", c.name),
                                source: Source::Choice(q.clone(), c.name.clone()),
                            });
                        }
                    }
                }
                FormItem::Question(_) => {}
                FormItem::Group {
                    name,
                    repeat: true,
                    children,
                    ..
                } => {
                    let mut chain = tables[table].chain.clone();
                    chain.push(name.clone());
                    tables.push(Table {
                        repeat_path: format!("{path}{name}"),
                        repeat_name: name.clone(),
                        columns: vec![Column {
                            header: "PARENT_KEY".into(),
                            source: Source::ParentKey,
                        }],
                        chain,
                    });
                    let idx = tables.len() - 1;
                    walk(children, &format!("{path}{name}/"), idx, tables, def);
                    tables[idx].columns.push(Column {
                        header: "KEY".into(),
                        source: Source::Meta("key"),
                    });
                }
                FormItem::Group { name, children, .. } => {
                    walk(children, &format!("{path}{name}/"), table, tables, def)
                }
            }
        }
    }
    let mut out = vec![Table {
        repeat_path: String::new(),
        repeat_name: String::new(),
        columns: vec![],
        chain: vec![],
    }];
    out[0].columns.push(Column {
        header: META[0].0.into(),
        source: Source::Meta(META[0].1),
    });
    walk(&def.items, "", 0, &mut out, def);
    for (h, m) in &META[1..] {
        out[0].columns.push(Column {
            header: (*h).into(),
            source: Source::Meta(m),
        });
    }
    out
}

fn label(def: &FormDefinition, q: &Question, value: &str, values: Values) -> String {
    let Values::Labels(lang) = values else {
        return value.to_string();
    };
    let Some(list) = q.list_name.as_ref().and_then(|l| def.choices.get(l)) else {
        return value.to_string();
    };
    let one = |v: &str| {
        list.iter()
            .find(|c| c.name == v)
            .and_then(|c| c.label.pick(lang))
            .unwrap_or(v)
            .to_string()
    };
    if q.qtype == "select_multiple" {
        value
            .split_whitespace()
            .map(one)
            .collect::<Vec<_>>()
            .join(" ")
    } else {
        one(value)
    }
}

/// The rows of every table for one response.
fn rows(
    def: &FormDefinition,
    tables: &[Table],
    r: &ExportResponse,
    values: Values,
) -> Vec<Vec<Vec<String>>> {
    let key = format!("uuid:{}", r.instance_id);
    let meta = |m: &str| -> String {
        match m {
            "finalized_at" => r.finalized_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
            "community_code" => r.community_code.clone(),
            "community_name" => r.community_name.clone(),
            "interviewer" => r.interviewer.clone(),
            "respondent" => r.respondent.clone(),
            "instance_id" => key.clone(),
            "deprecated_id" => r
                .deprecated_id
                .map(|d| format!("uuid:{d}"))
                .unwrap_or_default(),
            _ => key.clone(),
        }
    };
    let cell = |col: &Column, prefix: &str, row_key: &str, parent: &str| -> String {
        match &col.source {
            Source::Meta("key") => row_key.to_string(),
            Source::Meta(m) => meta(m),
            Source::ParentKey => parent.to_string(),
            Source::Answer(q) => {
                let v = r
                    .answers
                    .get(&format!("{prefix}{}", q.key_name()))
                    .map(String::as_str)
                    .unwrap_or("");
                label(def, q, v, values)
            }
            // The instance key: the key path for a name used in several groups.
            Source::Choice(q, c) => match r.answers.get(&format!("{prefix}{}", q.key_name())) {
                Some(v) => (v.split_whitespace().any(|x| x == c) as u8).to_string(),
                None => String::new(),
            },
        }
    };
    let mut out: Vec<Vec<Vec<String>>> = vec![Vec::new(); tables.len()];
    out[0].push(
        tables[0]
            .columns
            .iter()
            .map(|c| cell(c, "", &key, ""))
            .collect(),
    );
    // Repeat instances: walk each repeat table's chain through the repeat counts.
    for (ti, t) in tables.iter().enumerate().skip(1) {
        let mut contexts: Vec<(String, String)> = vec![(String::new(), key.clone())]; // (answer prefix, parent KEY)
        for (depth, name) in t.chain.iter().enumerate() {
            let last = depth == t.chain.len() - 1;
            let mut next = Vec::new();
            for (prefix, parent) in &contexts {
                let count = r
                    .repeat_counts
                    .get(&format!("{prefix}{name}"))
                    .copied()
                    .unwrap_or(0);
                for i in 1..=count {
                    let p = format!("{prefix}{name}[{i}]/");
                    let k = format!("{parent}/{name}[{i}]");
                    if last {
                        out[ti].push(t.columns.iter().map(|c| cell(c, &p, &k, parent)).collect());
                    }
                    next.push((p, k));
                }
            }
            contexts = next;
        }
    }
    out
}

/// A name from a form (its id, version, a repeat's name) as a part of a file name: letters,
/// digits, `-`, `_` and `.` only, so no form can name a path outside the chosen folder.
fn safe(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// A CSV cell Excel would run as a formula (`=`, `+`, `-`, `@`, tab, CR first) is prefixed
/// with `'`, as OWASP advises; numbers (`-3.5`) are left as they are.
pub fn neutralise_cell(cell: &str) -> std::borrow::Cow<'_, str> {
    let risky = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if risky && cell.trim().parse::<f64>().is_err() {
        std::borrow::Cow::Owned(format!("'{cell}"))
    } else {
        std::borrow::Cow::Borrowed(cell)
    }
}

/// The file name (without extension) of a form version's export: `form_id_vVERSION`, made safe.
pub fn file_stem(def: &FormDefinition) -> String {
    if def.version.is_empty() {
        safe(&def.form_id)
    } else {
        format!("{}_v{}", safe(&def.form_id), safe(&def.version))
    }
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |e| unwritable(path, &e)
}

/// A csv error while writing: the file's error when it is an I/O failure.
fn csv_err(path: &Path) -> impl Fn(csv::Error) -> Error + '_ {
    move |e| match e.into_kind() {
        csv::ErrorKind::Io(e) => unwritable(path, &e),
        other => Error::internal(format!("{other:?}")),
    }
}

/// Writes the CSV files of one form version into `dir`; returns their paths.
pub fn write_csv(
    def: &FormDefinition,
    responses: &[ExportResponse],
    values: Values,
    dir: &Path,
) -> Result<Vec<PathBuf>> {
    let tables = tables(def);
    let stem = file_stem(def);
    let mut paths = Vec::new();
    let mut writers = Vec::new();
    for t in &tables {
        let name = if t.repeat_path.is_empty() {
            format!("{stem}.csv")
        } else {
            format!("{stem}-{}.csv", safe(&t.repeat_name))
        };
        let path = dir.join(name);
        let mut f = std::io::BufWriter::with_capacity(1 << 20, AtomicFile::create(&path)?);
        f.write_all(b"\xEF\xBB\xBF").map_err(io(&path))?;
        let mut w = csv::Writer::from_writer(f);
        w.write_record(t.columns.iter().map(|c| c.header.as_str()))
            .map_err(csv_err(&path))?;
        writers.push(w);
        paths.push(path);
    }
    for r in responses {
        for (ti, table_rows) in rows(def, &tables, r, values).into_iter().enumerate() {
            for row in table_rows {
                let w = &mut writers[ti];
                for cell in &row {
                    w.write_field(neutralise_cell(cell).as_bytes())
                        .map_err(csv_err(&paths[ti]))?;
                }
                w.write_record(None::<&[u8]>).map_err(csv_err(&paths[ti]))?;
            }
        }
    }
    // Every table is written and flushed before any is committed.
    let mut files = Vec::with_capacity(writers.len());
    for (w, p) in writers.into_iter().zip(&paths) {
        let f = w.into_inner().map_err(|e| io(p)(e.into_error()))?;
        files.push(f.into_inner().map_err(|e| io(p)(e.into_error()))?);
    }
    for f in files {
        f.commit()?;
    }
    Ok(paths)
}

/// Writes one XLSX workbook: a sheet per table and a data dictionary.
pub fn write_xlsx(
    def: &FormDefinition,
    responses: &[ExportResponse],
    values: Values,
    lang: Lang,
    path: &Path,
) -> Result<()> {
    let tables = tables(def);
    let mut wb = rust_xlsxwriter::Workbook::new();
    let x = |e: rust_xlsxwriter::XlsxError| Error::internal(e);
    let mut sheets = Vec::new();
    for t in &tables {
        let ws = wb.add_worksheet();
        let name: String = if t.repeat_path.is_empty() {
            "data".into()
        } else {
            t.repeat_name.chars().take(31).collect()
        };
        ws.set_name(&name).map_err(x)?;
        for (c, col) in t.columns.iter().enumerate() {
            ws.write_string(0, c as u16, &col.header).map_err(x)?;
        }
        sheets.push(1u32);
    }
    for r in responses {
        for (ti, table_rows) in rows(def, &tables, r, values).into_iter().enumerate() {
            let ws = wb.worksheet_from_index(ti).map_err(x)?;
            for row in table_rows {
                for (c, v) in row.iter().enumerate() {
                    if !v.is_empty() {
                        ws.write_string(sheets[ti], c as u16, v).map_err(x)?;
                    }
                }
                sheets[ti] += 1;
            }
        }
    }
    let dict = wb.add_worksheet();
    dict.set_name("dictionary").map_err(x)?;
    for (c, h) in ["column", "label", "type", "choices"].iter().enumerate() {
        dict.write_string(0, c as u16, *h).map_err(x)?;
    }
    let mut row = 1u32;
    for t in &tables {
        for col in &t.columns {
            let (label, ty, choices) = match &col.source {
                Source::Answer(q) => {
                    let choices = q
                        .list_name
                        .as_ref()
                        .and_then(|l| def.choices.get(l))
                        .map(|cs| {
                            cs.iter()
                                .map(|c| format!("{}={}", c.name, c.label.pick(lang).unwrap_or("")))
                                .collect::<Vec<_>>()
                                .join("; ")
                        })
                        .unwrap_or_default();
                    (
                        q.label.pick(lang).unwrap_or("").to_string(),
                        q.qtype.clone(),
                        choices,
                    )
                }
                Source::Choice(q, c) => (
                    format!("{} = {c}", q.label.pick(lang).unwrap_or("")),
                    "0/1".into(),
                    String::new(),
                ),
                _ => (String::new(), "meta".into(), String::new()),
            };
            for (c, v) in [col.header.as_str(), &label, &ty, &choices]
                .iter()
                .enumerate()
            {
                dict.write_string(row, c as u16, *v).map_err(x)?;
            }
            row += 1;
        }
    }
    let bytes = wb.save_to_buffer().map_err(x)?;
    write_atomic(path, &bytes)
}

/// Writes JSON Lines: one object per response with its metadata and answers.
pub fn write_jsonl(responses: &[ExportResponse], path: &Path) -> Result<()> {
    let mut f = std::io::BufWriter::new(AtomicFile::create(path)?);
    for r in responses {
        serde_json::to_writer(&mut f, r).map_err(|e| match e.io_error_kind() {
            Some(_) => unwritable(path, &std::io::Error::from(e)),
            None => Error::internal(e),
        })?;
        f.write_all(b"\n").map_err(io(path))?;
    }
    f.into_inner()
        .map_err(|e| io(path)(e.into_error()))?
        .commit()
}

#[cfg(test)]
mod hostile_tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised_and_numbers_kept() {
        for (cell, out) in [
            (
                "=HYPERLINK(\"http://x\",\"点我\")",
                "'=HYPERLINK(\"http://x\",\"点我\")",
            ),
            ("+1+1", "'+1+1"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\t=1", "'\t=1"),
            ("-3.5", "-3.5"),
            ("+12", "+12"),
            ("加装电梯", "加装电梯"),
            ("", ""),
        ] {
            assert_eq!(neutralise_cell(cell), out, "{cell:?}");
        }
    }

    #[test]
    fn form_names_cannot_leave_the_folder() {
        let def = FormDefinition {
            form_id: "../../evil".into(),
            version: "1/../../x".into(),
            title: String::new(),
            default_language: None,
            languages: vec![],
            items: vec![],
            choices: Default::default(),
        };
        assert_eq!(file_stem(&def), ".._.._evil_v1_.._.._x");
        assert!(!file_stem(&def).contains('/'));
        assert_eq!(safe("../../etc/passwd"), ".._.._etc_passwd");
        assert_eq!(safe("a\\b:c"), "a_b_c");
        assert_eq!(safe("社区_v1"), "社区_v1");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> FormDefinition {
        let p = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/fixtures/xlsform")
            .join(name);
        shequ_forms::read_xlsform(&std::fs::read(&p).unwrap(), name).unwrap()
    }

    fn response(answers: &[(&str, &str)], repeats: &[(&str, u32)]) -> ExportResponse {
        ExportResponse {
            instance_id: Uuid::from_u128(7),
            deprecated_id: None,
            community_code: "DH-01".into(),
            community_name: "梧桐里社区".into(),
            interviewer: "张敏".into(),
            respondent: "3-201".into(),
            finalized_at: None,
            answers: answers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            repeat_counts: repeats.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
        }
    }

    fn read(path: &Path) -> Vec<Vec<String>> {
        let bytes = std::fs::read(path).unwrap();
        assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "UTF-8 BOM for Excel");
        csv::Reader::from_reader(&bytes[3..])
            .records()
            .map(|r| r.unwrap().iter().map(str::to_string).collect())
            .collect()
    }

    fn headers(path: &Path) -> Vec<String> {
        let bytes = std::fs::read(path).unwrap();
        csv::Reader::from_reader(&bytes[3..])
            .headers()
            .unwrap()
            .iter()
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn the_same_name_in_two_groups_gets_its_own_column_and_value() {
        let dir = tempfile::tempdir().unwrap();
        let def = fixture("ok_duplicate_across_groups.xlsx");
        let r = response(&[("g1/q", "one"), ("g2/q", "two")], &[]);
        let files = write_csv(&def, std::slice::from_ref(&r), Values::Names, dir.path()).unwrap();
        let h = headers(&files[0]);
        let rows = read(&files[0]);
        let col = |name: &str| {
            h.iter()
                .position(|x| x == name)
                .unwrap_or_else(|| panic!("{h:?}"))
        };
        assert_eq!(
            (rows[0][col("g1/q")].as_str(), rows[0][col("g2/q")].as_str()),
            ("one", "two")
        );
        // A loop: one group per choice, the same names in each.
        let def = fixture("ok_loop.xlsx");
        let r = response(
            &[
                ("have", "bedroom kitchen"),
                ("per_room/bedroom/count", "3"),
                ("per_room/kitchen/count", "1"),
            ],
            &[],
        );
        let dir = tempfile::tempdir().unwrap();
        let files = write_csv(&def, std::slice::from_ref(&r), Values::Names, dir.path()).unwrap();
        let h = headers(&files[0]);
        let rows = read(&files[0]);
        let col = |name: &str| {
            h.iter()
                .position(|x| x == name)
                .unwrap_or_else(|| panic!("{h:?}"))
        };
        assert_eq!(rows[0][col("per_room/bedroom/count")], "3");
        assert_eq!(rows[0][col("per_room/kitchen/count")], "1");
        assert_eq!(rows[0][col("per_room/kitchen/about")], "");
    }

    #[test]
    fn csv_has_odk_keys_kobo_columns_and_split_multiselects() {
        let def = fixture("ok_chinese_text.xlsx");
        let dir = tempfile::tempdir().unwrap();
        let r = response(
            &[("needs", "lift meals"), ("advice", "多装路灯,\"亮一点\"")],
            &[],
        );
        let files = write_csv(&def, std::slice::from_ref(&r), Values::Names, dir.path()).unwrap();
        assert_eq!(files.len(), 1);
        assert!(files[0].ends_with("cn_form_v2026.1.csv"));
        let h = headers(&files[0]);
        assert_eq!(
            &h[..5],
            [
                "SubmissionDate",
                "needs",
                "needs/lift",
                "needs/meals",
                "advice"
            ]
        );
        assert_eq!(h.last().unwrap(), "KEY");
        let rows = read(&files[0]);
        let col = |name: &str| h.iter().position(|x| x == name).unwrap();
        assert_eq!(rows[0][col("needs")], "lift meals");
        assert_eq!(
            (
                rows[0][col("needs/lift")].as_str(),
                rows[0][col("needs/meals")].as_str()
            ),
            ("1", "1")
        );
        assert_eq!(
            rows[0][col("advice")],
            "多装路灯,\"亮一点\"",
            "commas and quotes survive"
        );
        assert_eq!(rows[0][col("KEY")], format!("uuid:{}", Uuid::from_u128(7)));
        assert_eq!(rows[0][col("shequ/community_name")], "梧桐里社区");
        // Labels in a language instead of names.
        write_csv(&def, &[r], Values::Labels(Lang::ZhCn), dir.path()).unwrap();
        assert_eq!(read(&files[0])[0][col("needs")], "加装电梯 老年助餐");
    }

    #[test]
    fn repeats_get_their_own_file_with_parent_keys() {
        let def = fixture("ok_nested_repeats.xlsx");
        let dir = tempfile::tempdir().unwrap();
        let r = response(
            &[
                ("building[1]/bname", "一号楼"),
                ("building[1]/flat[1]/residents", "3"),
                ("building[1]/flat[2]/residents", "2"),
                ("building[2]/bname", "二号楼"),
                ("building[2]/flat[1]/residents", "5"),
            ],
            &[
                ("building", 2),
                ("building[1]/flat", 2),
                ("building[2]/flat", 1),
            ],
        );
        let files = write_csv(&def, &[r], Values::Names, dir.path()).unwrap();
        assert_eq!(files.len(), 3);
        let buildings = read(&files[1]);
        let key = format!("uuid:{}", Uuid::from_u128(7));
        assert_eq!(
            buildings,
            vec![
                vec![key.clone(), "一号楼".into(), format!("{key}/building[1]")],
                vec![key.clone(), "二号楼".into(), format!("{key}/building[2]")],
            ]
        );
        let flats = read(&files[2]);
        assert_eq!(flats.len(), 3);
        assert_eq!(
            flats[2],
            vec![
                format!("{key}/building[2]"),
                "5".into(),
                format!("{key}/building[2]/flat[1]")
            ]
        );
    }

    #[test]
    fn xlsx_has_a_sheet_per_table_and_a_dictionary_and_jsonl_one_line_per_response() {
        use calamine::Reader;
        let def = fixture("ok_repeat_simple.xlsx");
        let dir = tempfile::tempdir().unwrap();
        let r = response(
            &[("member[1]/mname", "李"), ("member[1]/mage", "70")],
            &[("member", 1)],
        );
        let path = dir.path().join("out.xlsx");
        write_xlsx(
            &def,
            &[r.clone(), r.clone()],
            Values::Names,
            Lang::ZhCn,
            &path,
        )
        .unwrap();
        let mut wb: calamine::Xlsx<_> = calamine::open_workbook(&path).unwrap();
        assert_eq!(wb.sheet_names(), vec!["data", "member", "dictionary"]);
        let member = wb.worksheet_range("member").unwrap();
        assert_eq!(member.height(), 3, "header and one row per response");
        let dict = wb.worksheet_range("dictionary").unwrap();
        assert!(dict
            .rows()
            .any(|row| row[0] == "member/mage" && row[2] == "integer"));
        let jl = dir.path().join("out.jsonl");
        write_jsonl(&[r.clone(), r], &jl).unwrap();
        let text = std::fs::read_to_string(&jl).unwrap();
        assert_eq!(text.lines().count(), 2);
        let v: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        assert_eq!(v["answers"]["member[1]/mage"], "70");
    }

    #[test]
    fn an_unwritable_destination_is_an_error_naming_it_and_leaves_no_partial_files() {
        let def = fixture("ok_repeat_simple.xlsx");
        let dir = tempfile::tempdir().unwrap();
        let r = response(&[("member[1]/mname", "李")], &[("member", 1)]);
        let one = std::slice::from_ref(&r);
        let gone = dir.path().join("stick");
        let e = write_csv(&def, one, Values::Names, &gone).unwrap_err();
        assert_eq!(
            (e.code, e.params["io_problem"].as_str()),
            (shequ_core::ErrorCode::FileUnwritable, "not_found")
        );
        assert!(e.params["path"].starts_with(&gone.display().to_string()));
        for p in [gone.join("x.xlsx"), gone.join("x.jsonl")] {
            let e = if p.extension().unwrap() == "xlsx" {
                write_xlsx(&def, one, Values::Names, Lang::En, &p).unwrap_err()
            } else {
                write_jsonl(one, &p).unwrap_err()
            };
            assert_eq!(e.params["path"], p.display().to_string());
            assert!(e.message(Lang::ZhCn).contains("无法写入文件"));
        }
        // A folder in the way of one table's file: nothing of the export is committed.
        let out = dir.path().join("out");
        std::fs::create_dir_all(out.join(format!("{}-member.csv", file_stem(&def)))).unwrap();
        let e = write_csv(&def, one, Values::Names, &out).unwrap_err();
        assert_eq!(e.params["io_problem"], "is_directory");
        let names: Vec<String> = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, vec![format!("{}-member.csv", file_stem(&def))]);
    }
}
