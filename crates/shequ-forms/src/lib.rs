//! XLSForm → `FormDefinition`.
//!
//! This is the *minimal* reader the foundation needs: it reads the `survey`, `choices` and
//! `settings` sheets as pyxform does for the shapes the default scale uses (groups, selects,
//! `::language` columns, scoring columns) and refuses a malformed workbook with the sheet,
//! row and column. The full importer (every type, expressions, dependency graph) replaces
//! it in the questionnaire-engine issue.

use std::collections::{BTreeMap, HashMap};
use std::io::Cursor;

use calamine::{open_workbook_from_rs, Data, Range, Reader, Xlsx};
use shequ_core::{
    Choice, Error, ErrorCode, FormDefinition, FormItem, LocalizedText, Question, Result, Scoring,
};

/// The default scale (社区分析量表), compiled into the binary.
pub const DEFAULT_SCALE_XLSX: &[u8] =
    include_bytes!("../../../assets/instruments/community-analysis-scale.xlsx");
pub const DEFAULT_SCALE_NAME: &str = "community-analysis-scale.xlsx";

/// Reads the default scale.
pub fn default_scale() -> Result<FormDefinition> {
    read_xlsform(DEFAULT_SCALE_XLSX, DEFAULT_SCALE_NAME)
}

fn invalid(sheet: &str, row: usize, column: &str, problem: &str) -> Error {
    Error::new(ErrorCode::FormInvalid)
        .with("sheet", sheet)
        .with("row", row)
        .with("column", column)
        .with("problem", problem)
}

/// A sheet as header → column index, with rows as strings. Headers are matched as pyxform
/// does: case-insensitive, surrounding spaces ignored, `::` language suffix kept verbatim.
struct Sheet {
    name: &'static str,
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
}

fn cell(d: &Data) -> String {
    match d {
        Data::Empty => String::new(),
        Data::String(s) => s.trim().to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Int(i) => i.to_string(),
        Data::Bool(b) => {
            if *b {
                "true".into()
            } else {
                "false".into()
            }
        }
        other => other.to_string().trim().to_string(),
    }
}

fn normalize_header(h: &str) -> String {
    match h.split_once("::") {
        Some((base, lang)) => format!("{}::{}", base.trim().to_lowercase(), lang.trim()),
        None => h.trim().to_lowercase(),
    }
}

impl Sheet {
    fn from_range(name: &'static str, range: Range<Data>) -> Sheet {
        let mut rows = range.rows().map(|r| r.iter().map(cell).collect::<Vec<_>>());
        let headers = rows
            .next()
            .unwrap_or_default()
            .iter()
            .map(|h| normalize_header(h))
            .collect();
        Sheet {
            name,
            headers,
            rows: rows.collect(),
        }
    }

    fn col(&self, header: &str) -> Option<usize> {
        self.headers.iter().position(|h| h == header)
    }

    fn get<'a>(&self, row: &'a [String], header: &str) -> &'a str {
        self.col(header)
            .and_then(|i| row.get(i))
            .map(String::as_str)
            .unwrap_or("")
    }

    /// Every `base::Language` column plus a plain `base` column, as localized text.
    fn text(&self, row: &[String], base: &str) -> LocalizedText {
        let mut out = BTreeMap::new();
        for (i, h) in self.headers.iter().enumerate() {
            let lang = if h == base {
                Some(LocalizedText::NO_LANGUAGE.to_string())
            } else {
                h.strip_prefix(base)
                    .and_then(|rest| rest.strip_prefix("::"))
                    .map(str::to_string)
            };
            if let (Some(lang), Some(v)) = (lang, row.get(i)) {
                if !v.is_empty() {
                    out.insert(lang, v.clone());
                }
            }
        }
        LocalizedText(out)
    }

    fn languages(&self) -> Vec<String> {
        let mut langs = Vec::new();
        for h in &self.headers {
            if let Some((_, lang)) = h.split_once("::") {
                if !langs.iter().any(|l| l == lang) {
                    langs.push(lang.to_string());
                }
            }
        }
        langs
    }

    fn require(&self, header: &str) -> Result<()> {
        match self.col(header) {
            Some(_) => Ok(()),
            None => Err(invalid(self.name, 1, header, "missing_column")),
        }
    }
}

fn truthy(s: &str) -> bool {
    matches!(
        s.trim().to_lowercase().as_str(),
        "yes" | "true" | "true()" | "1" | "y"
    )
}

fn opt(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

/// Reads an XLSForm workbook from bytes. `source` names the file in errors.
pub fn read_xlsform(bytes: &[u8], source: &str) -> Result<FormDefinition> {
    let mut wb: Xlsx<_> = open_workbook_from_rs(Cursor::new(bytes)).map_err(|e| {
        Error::new(ErrorCode::FileUnreadable)
            .with("file", source)
            .with("detail", e)
    })?;
    let names: Vec<String> = wb.sheet_names().to_vec();
    let mut sheet = |want: &'static str, required: bool| -> Result<Option<Sheet>> {
        match names.iter().find(|n| n.trim().eq_ignore_ascii_case(want)) {
            Some(n) => wb
                .worksheet_range(n)
                .map(|r| Some(Sheet::from_range(want, r)))
                .map_err(|e| {
                    Error::new(ErrorCode::FileUnreadable)
                        .with("file", source)
                        .with("detail", e)
                }),
            None if required => Err(invalid(want, 0, "", "missing_sheet")),
            None => Ok(None),
        }
    };
    let survey = sheet("survey", true)?.expect("required sheet");
    let choices_sheet = sheet("choices", false)?;
    let settings = sheet("settings", false)?;

    survey.require("type")?;
    survey.require("name")?;

    let mut choices: BTreeMap<String, Vec<Choice>> = BTreeMap::new();
    if let Some(cs) = &choices_sheet {
        cs.require("list_name")?;
        cs.require("name")?;
        for (i, row) in cs.rows.iter().enumerate() {
            let list = cs.get(row, "list_name");
            let name = cs.get(row, "name");
            if list.is_empty() && name.is_empty() {
                continue;
            }
            if name.is_empty() {
                return Err(invalid("choices", i + 2, "name", "empty_name"));
            }
            choices.entry(list.to_string()).or_default().push(Choice {
                name: name.to_string(),
                label: cs.text(row, "label"),
            });
        }
    }

    // Build the tree with a stack of open groups.
    struct Open {
        name: String,
        label: LocalizedText,
        relevant: Option<String>,
        appearance: Option<String>,
        repeat: bool,
        row: usize,
        children: Vec<FormItem>,
    }
    let mut stack: Vec<Open> = vec![Open {
        name: String::new(),
        label: LocalizedText::default(),
        relevant: None,
        appearance: None,
        repeat: false,
        row: 0,
        children: vec![],
    }];
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, row) in survey.rows.iter().enumerate() {
        let rownum = i + 2;
        let raw_type = survey.get(row, "type");
        if raw_type.is_empty() {
            if row.iter().any(|c| !c.is_empty()) {
                return Err(invalid("survey", rownum, "type", "empty_type"));
            }
            continue;
        }
        let ty = raw_type
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase();
        let name = survey.get(row, "name").to_string();
        if let Some(kind) = ty.strip_prefix("end ").or_else(|| ty.strip_prefix("end_")) {
            let open = stack.pop().filter(|_| !stack.is_empty());
            let Some(open) = open else {
                return Err(invalid("survey", rownum, "type", "unmatched_end"));
            };
            if open.repeat != (kind == "repeat") {
                return Err(invalid("survey", rownum, "type", "unmatched_end"));
            }
            let item = FormItem::Group {
                name: open.name,
                label: open.label,
                relevant: open.relevant,
                appearance: open.appearance,
                repeat: open.repeat,
                children: open.children,
            };
            stack.last_mut().expect("root stays").children.push(item);
            continue;
        }
        if name.is_empty() {
            return Err(invalid("survey", rownum, "name", "empty_name"));
        }
        if let Some(first) = seen.insert(name.clone(), rownum) {
            return Err(
                invalid("survey", rownum, "name", "duplicate_name").with("first_row", first)
            );
        }
        if let Some(kind) = ty
            .strip_prefix("begin ")
            .or_else(|| ty.strip_prefix("begin_"))
        {
            stack.push(Open {
                name,
                label: survey.text(row, "label"),
                relevant: opt(survey.get(row, "relevant")),
                appearance: opt(survey.get(row, "appearance")),
                repeat: kind == "repeat",
                row: rownum,
                children: vec![],
            });
            continue;
        }
        let mut parts = ty.split(' ');
        let base = parts.next().unwrap_or_default().to_string();
        let list_name = match base.as_str() {
            "select_one" | "select_multiple" | "rank" => {
                let list = raw_type.split_whitespace().nth(1).unwrap_or("").to_string();
                if !choices.contains_key(&list) {
                    return Err(
                        invalid("survey", rownum, "type", "missing_choice_list").with("list", list)
                    );
                }
                Some(list)
            }
            _ => None,
        };
        let or_other = ty.ends_with(" or_other");
        let q = Question {
            name,
            qtype: base,
            list_name,
            or_other,
            label: survey.text(row, "label"),
            hint: survey.text(row, "hint"),
            required: truthy(survey.get(row, "required")),
            required_message: survey.text(row, "required_message"),
            relevant: opt(survey.get(row, "relevant")),
            constraint: opt(survey.get(row, "constraint")),
            constraint_message: survey.text(row, "constraint_message"),
            calculation: opt(survey.get(row, "calculation")),
            default: opt(survey.get(row, "default")),
            appearance: opt(survey.get(row, "appearance")),
            parameters: opt(survey.get(row, "parameters")),
            scoring: Scoring {
                dimension: opt(survey.get(row, "score_dimension")),
                reverse: truthy(survey.get(row, "score_reverse")),
                need: opt(survey.get(row, "need_group")),
            },
        };
        stack
            .last_mut()
            .expect("root stays")
            .children
            .push(FormItem::Question(q));
    }
    if stack.len() > 1 {
        let open = stack.pop().expect("checked");
        return Err(invalid("survey", open.row, "type", "unclosed_group").with("name", open.name));
    }
    let items = stack.pop().expect("root").children;

    let setting = |key: &str| -> String {
        settings
            .as_ref()
            .and_then(|s| s.rows.first().map(|r| s.get(r, key).to_string()))
            .unwrap_or_default()
    };
    let stem = source.rsplit(['/', '\\']).next().unwrap_or(source);
    let stem = stem
        .rsplit_once('.')
        .map(|(s, _)| s)
        .unwrap_or(stem)
        .to_string();
    let form_id = opt(&setting("form_id")).unwrap_or_else(|| stem.clone());
    let mut languages = survey.languages();
    if let Some(cs) = &choices_sheet {
        for l in cs.languages() {
            if !languages.contains(&l) {
                languages.push(l);
            }
        }
    }
    Ok(FormDefinition {
        form_id,
        version: setting("version"),
        title: opt(&setting("form_title")).unwrap_or(stem),
        default_language: opt(&setting("default_language")),
        languages,
        items,
        choices,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use shequ_core::Lang;

    #[test]
    fn the_default_scale_reads_with_blocks_a_to_j_in_two_languages() {
        let def = default_scale().unwrap();
        assert_eq!(def.form_id, "community_analysis_scale");
        assert_eq!(def.title, "社区分析量表");
        assert_eq!(def.languages, vec!["中文 (zh)", "English (en)"]);
        let blocks: Vec<&str> = def.blocks().map(|(n, _, _)| n).collect();
        assert_eq!(
            blocks,
            vec!["A", "B", "C", "D", "E", "F", "G", "H", "I", "J"]
        );
        for (name, label, _) in def.blocks() {
            let zh = label.pick(Lang::ZhCn).unwrap();
            let en = label.pick(Lang::En).unwrap();
            assert!(
                zh.starts_with(name) && en.starts_with(name) && zh != en,
                "{name}: {zh} / {en}"
            );
        }
    }

    #[test]
    fn every_labelled_question_and_choice_has_both_languages() {
        let def = default_scale().unwrap();
        for q in def.questions() {
            if matches!(q.qtype.as_str(), "start" | "end" | "today" | "calculate") {
                continue;
            }
            assert!(
                q.label.0.contains_key("中文 (zh)") && q.label.0.contains_key("English (en)"),
                "{}",
                q.name
            );
        }
        for (list, items) in &def.choices {
            for c in items {
                assert_eq!(c.label.0.len(), 2, "{list}/{}", c.name);
            }
        }
    }

    #[test]
    fn scoring_metadata_matches_the_design() {
        let def = default_scale().unwrap();
        let dims = |d: &str| {
            def.questions()
                .iter()
                .filter(|q| q.scoring.dimension.as_deref() == Some(d))
                .count()
        };
        assert_eq!(dims("identity"), 6);
        assert_eq!(dims("interaction"), 5);
        assert_eq!(dims("linkages"), 5);
        assert_eq!(dims("efficacy"), 7);
        let reversed: Vec<&str> = def
            .questions()
            .iter()
            .filter(|q| q.scoring.reverse)
            .map(|q| q.name.as_str())
            .collect();
        assert_eq!(reversed, vec!["b3"]);
        assert_eq!(
            def.question("f_needs").unwrap().scoring.need.as_deref(),
            Some("service")
        );
        assert_eq!(
            def.question("b1").unwrap().list_name.as_deref(),
            Some("agree5")
        );
        assert_eq!(def.choices["agree5"].len(), 5);
    }

    #[test]
    fn bytes_that_are_not_a_workbook_are_refused_naming_the_file() {
        let err = read_xlsform(b"name,code\n", "list.csv").unwrap_err();
        assert_eq!(err.code, ErrorCode::FileUnreadable);
        assert_eq!(err.params["file"], "list.csv");
    }
}

#[cfg(test)]
mod malformed {
    use super::*;
    use shequ_core::Lang;

    /// Builds a workbook from (sheet, rows) with rust_xlsxwriter.
    fn workbook(sheets: &[(&str, &[&[&str]])]) -> Vec<u8> {
        let mut wb = rust_xlsxwriter::Workbook::new();
        for (name, rows) in sheets {
            let ws = wb.add_worksheet();
            ws.set_name(*name).unwrap();
            for (r, row) in rows.iter().enumerate() {
                for (c, v) in row.iter().enumerate() {
                    ws.write_string(r as u32, c as u16, *v).unwrap();
                }
            }
        }
        wb.save_to_buffer().unwrap()
    }

    fn check(sheets: &[(&str, &[&[&str]])], sheet: &str, row: &str, column: &str, problem: &str) {
        let err = read_xlsform(&workbook(sheets), "t.xlsx").unwrap_err();
        assert_eq!(err.code, ErrorCode::FormInvalid, "{err:?}");
        assert_eq!(
            (
                err.params["sheet"].as_str(),
                err.params["row"].as_str(),
                err.params["column"].as_str(),
                err.params["problem"].as_str()
            ),
            (sheet, row, column, problem)
        );
        let zh = err.message(Lang::ZhCn);
        assert!(zh.contains(sheet) && !zh.contains("form_problems"), "{zh}");
    }

    const HEAD: &[&str] = &["type", "name", "label"];

    #[test]
    fn unclosed_group_names_the_begin_row() {
        check(
            &[(
                "survey",
                &[HEAD, &["begin group", "g", "G"], &["text", "t", "T"]],
            )],
            "survey",
            "2",
            "type",
            "unclosed_group",
        );
    }

    #[test]
    fn end_without_begin() {
        check(
            &[(
                "survey",
                &[HEAD, &["text", "t", "T"], &["end group", "", ""]],
            )],
            "survey",
            "3",
            "type",
            "unmatched_end",
        );
    }

    #[test]
    fn end_repeat_closing_a_group() {
        check(
            &[(
                "survey",
                &[HEAD, &["begin group", "g", "G"], &["end repeat", "", ""]],
            )],
            "survey",
            "3",
            "type",
            "unmatched_end",
        );
    }

    #[test]
    fn duplicate_name_points_at_both_rows() {
        let wb = workbook(&[(
            "survey",
            &[HEAD, &["text", "t", "T"], &["integer", "t", "U"]],
        )]);
        let err = read_xlsform(&wb, "t.xlsx").unwrap_err();
        assert_eq!(err.params["problem"], "duplicate_name");
        assert_eq!(
            (err.params["row"].as_str(), err.params["first_row"].as_str()),
            ("3", "2")
        );
        assert!(
            err.message(Lang::En).contains("repeats row 2"),
            "{}",
            err.message(Lang::En)
        );
    }

    #[test]
    fn select_with_a_missing_choice_list() {
        check(
            &[("survey", &[HEAD, &["select_one yn", "q", "Q"]])],
            "survey",
            "2",
            "type",
            "missing_choice_list",
        );
    }

    #[test]
    fn missing_name_column_and_missing_survey_sheet() {
        check(
            &[("survey", &[&["type", "label"], &["text", "T"]])],
            "survey",
            "1",
            "name",
            "missing_column",
        );
        check(
            &[("choices", &[&["list_name", "name"]])],
            "survey",
            "0",
            "",
            "missing_sheet",
        );
    }

    #[test]
    fn row_with_content_but_no_type() {
        check(
            &[("survey", &[HEAD, &["", "t", "T"]])],
            "survey",
            "2",
            "type",
            "empty_type",
        );
    }

    #[test]
    fn headers_tolerate_case_and_spaces_and_blank_rows_are_skipped() {
        let wb = workbook(&[
            (
                "survey",
                &[
                    &[" Type ", "NAME", "Label::中文 (zh)"],
                    &["text", "t", "你好"],
                    &["", "", ""],
                ],
            ),
            ("settings", &[&["form_id", "version"], &["f", "7"]]),
        ]);
        let def = read_xlsform(&wb, "x/y/my form.xlsx").unwrap();
        assert_eq!(
            (
                def.form_id.as_str(),
                def.version.as_str(),
                def.title.as_str()
            ),
            ("f", "7", "my form")
        );
        assert_eq!(
            def.question("t").unwrap().label.pick(Lang::ZhCn),
            Some("你好")
        );
    }
}
