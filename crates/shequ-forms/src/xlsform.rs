//! XLSForm workbook → `FormDefinition`, read the way pyxform reads it, with every refusal
//! located by sheet, row and column and explained in the user's language.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Cursor;

use calamine::{open_workbook_auto_from_rs, Data, DataRef, Reader, Sheets};
use serde::Serialize;
use shequ_core::{
    Choice, Error, ErrorCode, FormDefinition, FormItem, LocalizedText, Question, Result, Scoring,
};
use ts_rs::TS;

use crate::expr;
use crate::types::{needs_label, parse_type, type_in_its_case, RowType};

/// A form that imported, with what the designer should look at before confirming.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct Imported {
    pub definition: FormDefinition,
    pub warnings: Vec<Warning>,
}

/// A non-fatal finding: `problem` is a key under `form_warnings.` in the catalogues.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct Warning {
    pub sheet: String,
    pub row: u32,
    pub column: String,
    pub problem: String,
    pub params: BTreeMap<String, String>,
}

impl Warning {
    /// The warning in the user's language, with its location.
    pub fn message(&self, lang: shequ_core::Lang) -> String {
        let mut params = self.params.clone();
        params.insert("sheet".into(), self.sheet.clone());
        params.insert("row".into(), self.row.to_string());
        // A warning about the whole file (sheet empty) names the file in its own text.
        let location = if self.sheet.is_empty() {
            String::new()
        } else {
            shequ_core::i18n::message(lang, "form_warnings.location", &params)
        };
        format!(
            "{location}{}",
            shequ_core::i18n::message(lang, &format!("form_warnings.{}", self.problem), &params)
        )
    }
}

/// Reads a form, refusing it on the first problem. Warnings are dropped: see [`import_xlsform`].
pub fn read_xlsform(bytes: &[u8], source: &str) -> Result<FormDefinition> {
    import_xlsform(bytes, source).map(|i| i.definition)
}

/// A `score_tag` cell, `tag: expression`: the tag (lowercase letters, digits, `_`) and the
/// expression, with `.` the answer. `None` when it has not that shape.
pub fn split_score_tag(cell: &str) -> Option<(&str, &str)> {
    let (tag, expression) = cell.split_once(':')?;
    let (tag, expression) = (tag.trim(), expression.trim());
    let tag_ok = !tag.is_empty()
        && tag
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    (tag_ok && !expression.is_empty()).then_some((tag, expression))
}

fn invalid(sheet: &str, row: usize, column: &str, problem: &str) -> Error {
    Error::new(ErrorCode::FormInvalid)
        .with("sheet", sheet)
        .with("row", row)
        .with("column", column)
        .with("problem", problem)
}

fn file_invalid(source: &str, problem: &str) -> Error {
    Error::new(ErrorCode::FormFileInvalid)
        .with("file", source)
        .with("problem", problem)
}

/// pyxform's header normalisation: the part before `::` (or a single `:`) in snake case,
/// lowercased, de-aliased; the language after it trimmed and kept as written.
fn normalize_header(h: &str) -> String {
    let h = h.trim();
    if let Some(h) = namespaced_header(h) {
        return normalize_header(&h);
    }
    let (base, lang) = match h.split_once("::") {
        Some((b, l)) => (b, Some(l.trim())),
        None => match h.split_once(':') {
            Some((b, l)) if !b.trim().eq_ignore_ascii_case("jr") && !l.trim().is_empty() => {
                (b, Some(l.trim()))
            }
            _ => (h, None),
        },
    };
    let base = base
        .split_whitespace()
        .collect::<Vec<_>>()
        .join("_")
        .to_lowercase();
    let base = match base.as_str() {
        "caption" => "label",
        "relevance" => "relevant",
        "readonly" => "read_only",
        "calculate" => "calculation",
        "constraining_message" => "constraint_message",
        "requiredmsg" => "required_message",
        "count" | "jr:count" => "repeat_count",
        "set_form_id" => "form_id",
        "set_form_title" => "form_title",
        "value" => "name",
        other => other,
    }
    .to_string();
    match lang {
        Some(l) => format!("{base}::{l}"),
        None => base,
    }
}

/// pyxform's `bind:…` and `control:…` headers (`bind:relevant`, `bind:jr:constraintMsg:English`,
/// `control:appearance`) set the same properties as the plain columns: their plain spelling.
fn namespaced_header(h: &str) -> Option<String> {
    let lower = h.to_lowercase();
    let rest = ["bind::", "control::", "bind:", "control:"]
        .iter()
        .find_map(|p| lower.starts_with(p).then(|| &h[p.len()..]))?;
    let tokens: Vec<&str> = rest
        .split(':')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .collect();
    let (key, lang) = match tokens.as_slice() {
        ["jr", k, lang @ ..] | ["JR", k, lang @ ..] => (format!("jr:{k}"), lang),
        [k, lang @ ..] => (k.to_string(), lang),
        [] => return None,
    };
    let plain = match key.to_lowercase().as_str() {
        "relevant" => "relevant",
        "constraint" => "constraint",
        "required" => "required",
        "readonly" => "read_only",
        "calculate" => "calculation",
        "jr:constraintmsg" => "constraint_message",
        "jr:requiredmsg" => "required_message",
        "appearance" => "appearance",
        "jr:count" => "repeat_count",
        _ => return None,
    };
    Some(if lang.is_empty() {
        plain.to_string()
    } else {
        format!("{plain}::{}", lang.join(":"))
    })
}

/// pyxform replaces curly quotes in expressions; Shequ does so in expression columns only
/// (labels keep them: they are correct punctuation in Chinese text).
fn straighten_quotes(s: &str) -> String {
    s.replace(['‘', '’'], "'").replace(['“', '”'], "\"")
}

struct Sheet {
    name: &'static str,
    headers: Vec<String>,
    /// The headers as written (trimmed), beside `headers`.
    raw_headers: Vec<String>,
    /// Header → column, for the plain (language-less) headers.
    columns: HashMap<String, usize>,
    /// Base column (`label`) → its (column, language) pairs, computed once per sheet.
    texts: HashMap<String, Vec<(usize, String)>>,
    /// (file row number, cells)
    rows: Vec<(usize, Vec<String>)>,
    /// The first row with content after the run of empty rows that ends the data.
    ignored_from: Option<usize>,
}

fn cell(d: &Data) -> String {
    match d {
        Data::Empty => String::new(),
        Data::String(s) => s.trim().to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Int(i) => i.to_string(),
        Data::Bool(b) => {
            if *b {
                "TRUE".into()
            } else {
                "FALSE".into()
            }
        }
        Data::DateTime(dt) if dt.is_datetime() => excel_datetime(dt),
        other => other.to_string().trim().to_string(),
    }
}

/// A date or time cell as pyxform writes it (Python's `str` of a datetime, or of a time when
/// the serial number has no day part): `2024-03-01 00:00:00`, `09:30:00`.
fn excel_datetime(dt: &calamine::ExcelDateTime) -> String {
    let (y, mo, d, h, mi, s, ms) = dt.to_ymd_hms_milli();
    let time = if ms > 0 {
        format!("{h:02}:{mi:02}:{s:02}.{:06}", u32::from(ms) * 1000)
    } else {
        format!("{h:02}:{mi:02}:{s:02}")
    };
    if dt.as_f64().trunc() == 0.0 {
        time
    } else {
        format!("{y:04}-{mo:02}-{d:02} {time}")
    }
}

/// A cell of a range whose shared strings are borrowed (xlsx, xlsb): one copy, not two.
fn cell_ref(d: &DataRef) -> String {
    match d {
        DataRef::Empty => String::new(),
        DataRef::SharedString(s) => s.trim().to_string(),
        DataRef::String(s) => s.trim().to_string(),
        other => cell(&Data::from(other.clone())),
    }
}

impl Sheet {
    fn from_cells(
        name: &'static str,
        start: Option<(u32, u32)>,
        cells: impl Iterator<Item = Vec<String>>,
    ) -> Sheet {
        let first_row = start.map_or(0, |(r, _)| r as usize);
        let mut rows = cells.enumerate().map(|(i, r)| (first_row + i + 1, r));
        // As pyxform: the header row ends after a run of more than 20 empty cells.
        let raw_headers = rows.next().map(|(_, h)| h).unwrap_or_default();
        let mut width = 0;
        let mut empty_run = 0;
        for (i, h) in raw_headers.iter().enumerate() {
            if h.is_empty() {
                if empty_run == 20 {
                    break;
                }
                empty_run += 1;
            } else {
                empty_run = 0;
                width = i + 1;
            }
        }
        let raw_headers: Vec<String> = raw_headers[..width]
            .iter()
            .map(|h| h.trim().to_string())
            .collect();
        let headers: Vec<String> = raw_headers.iter().map(|h| normalize_header(h)).collect();
        let mut columns = HashMap::new();
        let mut texts: HashMap<String, Vec<(usize, String)>> = HashMap::new();
        for (i, h) in headers.iter().enumerate() {
            columns.entry(h.clone()).or_insert(i);
            let (base, lang) = match h.split_once("::") {
                Some((b, l)) => (b.to_string(), l.to_string()),
                None => (h.clone(), LocalizedText::NO_LANGUAGE.to_string()),
            };
            texts.entry(base).or_default().push((i, lang));
        }
        // Cells under no header are not read; the data ends after a run of more than 60
        // empty rows (pyxform stops there too).
        let mut kept = Vec::new();
        let mut empty_run = 0;
        let mut ignored_from = None;
        let blank_unheaded = |mut r: Vec<String>| {
            r.truncate(headers.len());
            for (c, h) in r.iter_mut().zip(&headers) {
                if h.is_empty() {
                    c.clear();
                }
            }
            r
        };
        let mut rows = rows.map(|(n, r)| (n, blank_unheaded(r)));
        for (n, r) in rows.by_ref() {
            if r.iter().all(String::is_empty) {
                if empty_run == 60 {
                    break;
                }
                empty_run += 1;
            } else {
                empty_run = 0;
                kept.push((n, r));
            }
        }
        if let Some((n, _)) = rows.find(|(_, r)| r.iter().any(|c| !c.is_empty())) {
            ignored_from = Some(n);
        }
        Sheet {
            name,
            headers,
            raw_headers,
            columns,
            texts,
            rows: kept,
            ignored_from,
        }
    }

    fn header_row(&self) -> usize {
        self.rows
            .first()
            .map_or(1, |(n, _)| n.saturating_sub(1).max(1))
    }

    fn col(&self, header: &str) -> Option<usize> {
        self.columns.get(header).copied()
    }

    fn get<'a>(&self, row: &'a [String], header: &str) -> &'a str {
        self.col(header)
            .and_then(|i| row.get(i))
            .map(String::as_str)
            .unwrap_or("")
    }

    fn text(&self, row: &[String], base: &str) -> LocalizedText {
        let mut out = BTreeMap::new();
        for (i, lang) in self.texts.get(base).into_iter().flatten() {
            if let Some(v) = row.get(*i).filter(|v| !v.is_empty()) {
                out.insert(lang.clone(), v.clone());
            }
        }
        LocalizedText(out)
    }

    fn languages(&self) -> Vec<String> {
        let mut langs = Vec::new();
        for h in &self.headers {
            let translatable = [
                "label",
                "hint",
                "constraint_message",
                "required_message",
                "guidance_hint",
            ];
            if let Some((base, lang)) = h.split_once("::") {
                if translatable.contains(&base) && !langs.iter().any(|l| l == lang) {
                    langs.push(lang.to_string());
                }
            }
        }
        langs
    }

    fn require(&self, header: &str) -> Result<()> {
        match self.col(header) {
            Some(_) => Ok(()),
            None => Err(invalid(
                self.name,
                self.header_row(),
                header,
                "missing_column",
            )),
        }
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn utf16(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(|u| u.to_le_bytes()).collect()
}

/// Refuses what is not a plain workbook before calamine sees it; `Ok(true)` when it holds
/// macros (VBA), which calamine never runs: as pyxform, they are ignored.
fn sniff(bytes: &[u8], source: &str) -> Result<bool> {
    const ZIP: &[u8] = b"PK\x03\x04";
    const CFB: &[u8] = &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
    if bytes.starts_with(ZIP) {
        if !contains(bytes, b"xl/workbook") {
            return Err(file_invalid(source, "not_a_spreadsheet"));
        }
        Ok(contains(bytes, b"xl/vbaProject.bin"))
    } else if bytes.starts_with(CFB) {
        if contains(bytes, &utf16("EncryptedPackage")) || contains(bytes, &utf16("EncryptionInfo"))
        {
            return Err(file_invalid(source, "encrypted_workbook"));
        }
        Ok(contains(bytes, &utf16("_VBA_PROJECT")))
    } else {
        Err(file_invalid(source, "not_a_spreadsheet"))
    }
}

fn yes_no_or_expr(s: &str) -> Option<String> {
    match s.trim() {
        "" => None,
        "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "true()" => Some("true()".into()),
        "no" | "No" | "NO" | "false" | "False" | "FALSE" | "false()" => None,
        other => Some(straighten_quotes(other)),
    }
}

fn opt(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// An expression cell to check once the whole survey is read.
struct PendingExpr {
    row: usize,
    column: &'static str,
    owner: String,
    text: String,
}

struct Open {
    name: String,
    label: LocalizedText,
    hint: LocalizedText,
    relevant: Option<String>,
    appearance: Option<String>,
    repeat: bool,
    repeat_count: Option<String>,
    row: usize,
    children: Vec<FormItem>,
    /// Lower-cased names of the children so far → row (siblings never share a name).
    child_names: HashMap<String, usize>,
    /// `begin loop over LIST`: the list whose choices each get a copy of the children.
    loop_list: Option<String>,
}

/// Reads an XLSForm workbook (`.xlsx` or `.xls`) from bytes; `source` names it in messages.
pub fn import_xlsform(bytes: &[u8], source: &str) -> Result<Imported> {
    // calamine asserts on some malformed files (found by fuzzing: a bad .xls sector table)
    // instead of returning an error. A panic in the reader refuses the file; it never takes
    // the app down.
    std::panic::catch_unwind(|| import_inner(bytes, source))
        .unwrap_or_else(|_| Err(file_invalid(source, "malformed_workbook")))
        .map_err(|e| match e.code {
            ErrorCode::FormInvalid => e.with("form_file", source),
            _ => e,
        })
}

/// The most cells a sheet's used range may span (rows × columns). The largest real forms
/// have a few thousand rows and a few dozen columns.
const MAX_SHEET_CELLS: u64 = 5_000_000;

/// Lays sparse cells out as rows over their used range, as calamine's `Range` does; `None`
/// when the range spans more than [`MAX_SHEET_CELLS`].
#[allow(clippy::type_complexity)]
fn lay_out(cells: Vec<((u32, u32), String)>) -> Option<(Option<(u32, u32)>, Vec<Vec<String>>)> {
    let Some(first) = cells.first() else {
        return Some((None, Vec::new()));
    };
    let (mut r0, mut c0, mut r1, mut c1) = (first.0 .0, first.0 .1, first.0 .0, first.0 .1);
    for ((r, c), _) in &cells {
        r0 = r0.min(*r);
        r1 = r1.max(*r);
        c0 = c0.min(*c);
        c1 = c1.max(*c);
    }
    let (height, width) = ((r1 - r0 + 1) as u64, (c1 - c0 + 1) as u64);
    if height * width > MAX_SHEET_CELLS {
        return None;
    }
    let mut rows = vec![vec![String::new(); width as usize]; height as usize];
    for ((r, c), v) in cells {
        rows[(r - r0) as usize][(c - c0) as usize] = v;
    }
    Some((Some((r0, c0)), rows))
}

/// A sheet's cells laid out over its used range, or too large to lay out.
enum SheetRows {
    Laid(Option<(u32, u32)>, Vec<Vec<String>>),
    TooLarge,
}

/// Reads one sheet as text. .xlsx and .xlsb are read cell by cell (shared strings borrowed),
/// and the used range is checked before it is laid out: one cell at XFD1048576 would
/// otherwise ask for half a terabyte.
fn sheet_rows(wb: &mut Sheets<Cursor<&[u8]>>, name: &str, source: &str) -> Result<SheetRows> {
    let unreadable = |e: calamine::Error| {
        Error::new(ErrorCode::FileUnreadable)
            .with("file", source)
            .with("detail", e)
    };
    let mut cells: Vec<((u32, u32), String)> = Vec::new();
    let mut keep = |pos: (u32, u32), v: &DataRef| {
        if !matches!(v, DataRef::Empty) {
            cells.push((pos, cell_ref(v)));
        }
    };
    let streamed = match wb {
        Sheets::Xlsx(x) => match x.worksheet_cells_reader(name) {
            Ok(mut rd) => {
                while let Some(c) = rd
                    .next_cell()
                    .map_err(|e| unreadable(calamine::Error::Xlsx(e)))?
                {
                    keep(c.get_position(), c.get_value());
                }
                true
            }
            // A chart sheet: no cells, as calamine reads it.
            Err(calamine::XlsxError::NotAWorksheet(_)) => true,
            Err(e) => return Err(unreadable(calamine::Error::Xlsx(e))),
        },
        Sheets::Xlsb(x) => {
            let mut rd = x
                .worksheet_cells_reader(name)
                .map_err(|e| unreadable(calamine::Error::Xlsb(e)))?;
            while let Some(c) = rd
                .next_cell()
                .map_err(|e| unreadable(calamine::Error::Xlsb(e)))?
            {
                keep(c.get_position(), c.get_value());
            }
            true
        }
        _ => false,
    };
    if streamed {
        Ok(match lay_out(cells) {
            Some((start, rows)) => SheetRows::Laid(start, rows),
            None => SheetRows::TooLarge,
        })
    } else {
        let r = wb.worksheet_range(name).map_err(unreadable)?;
        Ok(SheetRows::Laid(
            r.start(),
            r.rows().map(|row| row.iter().map(cell).collect()).collect(),
        ))
    }
}

/// Every worksheet of a workbook (.xlsx, .xlsb, .xls, .ods) as rows of text from its first
/// used row, with the form reader's caps and panic guard: for the other workbooks people
/// bring (the resource and expert library templates). A sheet too large is refused by name.
pub fn read_sheets(bytes: &[u8], source: &str) -> Result<Vec<(String, Vec<Vec<String>>)>> {
    std::panic::catch_unwind(|| {
        sniff(bytes, source)?;
        let mut wb = open_workbook_auto_from_rs(Cursor::new(bytes)).map_err(|e| {
            Error::new(ErrorCode::FileUnreadable)
                .with("file", source)
                .with("detail", e)
        })?;
        let names: Vec<String> = wb.sheet_names().to_vec();
        let mut out = Vec::new();
        for n in names {
            match sheet_rows(&mut wb, &n, source)? {
                SheetRows::Laid(_, rows) => out.push((n, rows)),
                SheetRows::TooLarge => {
                    return Err(file_invalid(source, "sheet_too_large").with("sheet", n))
                }
            }
        }
        Ok(out)
    })
    .unwrap_or_else(|_| Err(file_invalid(source, "malformed_workbook")))
}

fn import_inner(bytes: &[u8], source: &str) -> Result<Imported> {
    let macros = sniff(bytes, source)?;
    let mut wb = open_workbook_auto_from_rs(Cursor::new(bytes)).map_err(|e| {
        Error::new(ErrorCode::FileUnreadable)
            .with("file", source)
            .with("detail", e)
    })?;
    let names: Vec<String> = wb.sheet_names().to_vec();
    let mut sheet = |want: &'static str| -> Result<Option<Sheet>> {
        // As pyxform: a workbook of one sheet, whatever its name, is the survey.
        const SHEETS: &[&str] = &[
            "survey",
            "choices",
            "settings",
            "external_choices",
            "osm",
            "entities",
        ];
        let lone = (want == "survey" && names.len() == 1)
            .then(|| &names[0])
            .filter(|n| !SHEETS.iter().any(|s| n.trim().eq_ignore_ascii_case(s)));
        let Some(n) = names
            .iter()
            .find(|n| n.trim().eq_ignore_ascii_case(want))
            .or(lone)
        else {
            return Ok(None);
        };
        match sheet_rows(&mut wb, n, source)? {
            SheetRows::Laid(start, rows) => {
                Ok(Some(Sheet::from_cells(want, start, rows.into_iter())))
            }
            SheetRows::TooLarge => Err(file_invalid(source, "sheet_too_large").with("sheet", want)),
        }
    };
    let mut survey = sheet("survey")?.ok_or_else(|| invalid("survey", 0, "", "missing_sheet"))?;
    let choices_sheet = sheet("choices")?;
    let settings = sheet("settings")?;
    // The lists of the external_choices sheet (select_one_external reads them on the phone).
    let external_lists: Option<HashSet<String>> = sheet("external_choices")?
        .filter(|s| !s.rows.is_empty())
        .map(|s| {
            s.rows
                .iter()
                .map(|(_, r)| s.get(r, "list_name").to_string())
                .filter(|l| !l.is_empty())
                .collect()
        });
    // As pyxform (unless `clean_text_values` is no): runs of spaces in survey cells are one.
    let clean = settings
        .as_ref()
        .and_then(|s| s.rows.first().map(|(_, r)| s.get(r, "clean_text_values")))
        .is_none_or(|v| yes_no_or_expr(v).is_some() || v.is_empty());
    if clean {
        for (_, row) in &mut survey.rows {
            for c in row.iter_mut() {
                if c.contains("  ") {
                    *c = collapse_spaces(c);
                }
            }
        }
    }
    survey.require("type")?;
    survey.require("name")?;
    let mut warnings = Vec::new();
    if macros {
        warnings.push(Warning {
            sheet: String::new(),
            row: 0,
            column: String::new(),
            problem: "macros_ignored".into(),
            params: [("file".to_string(), source.to_string())].into(),
        });
    }
    for sh in [Some(&survey), choices_sheet.as_ref()]
        .into_iter()
        .flatten()
    {
        if let Some(row) = sh.ignored_from {
            warnings.push(Warning {
                sheet: sh.name.into(),
                row: row as u32,
                column: String::new(),
                problem: "rows_after_gap".into(),
                params: BTreeMap::new(),
            });
        }
    }

    // Choices.
    let mut choices: BTreeMap<String, Vec<Choice>> = BTreeMap::new();
    let mut list_rows: HashMap<String, usize> = HashMap::new();
    let allow_dup_choices = settings
        .as_ref()
        .and_then(|s| {
            s.rows
                .first()
                .map(|(_, r)| s.get(r, "allow_choice_duplicates").to_lowercase())
        })
        .is_some_and(|v| v == "yes" || v == "true");
    // A choices sheet without rows is no choices sheet (pyxform ignores it).
    if let Some(cs) = choices_sheet.as_ref().filter(|c| !c.rows.is_empty()) {
        cs.require("name")?;
        let mut seen: HashMap<(String, String), usize> = HashMap::new();
        for (rownum, row) in &cs.rows {
            let list = cs.get(row, "list_name").to_string();
            let name = cs.get(row, "name").to_string();
            if list.is_empty() {
                // pyxform drops a row without a list name; Shequ says so.
                warnings.push(Warning {
                    sheet: "choices".into(),
                    row: *rownum as u32,
                    column: "list_name".into(),
                    problem: "choice_without_list".into(),
                    params: [("name".to_string(), name)].into(),
                });
                continue;
            }
            if name.is_empty() {
                return Err(
                    invalid("choices", *rownum, "name", "empty_choice_name").with("list", &list)
                );
            }
            if let Some(first) = seen.insert((list.clone(), name.clone()), *rownum) {
                if !allow_dup_choices {
                    return Err(invalid("choices", *rownum, "name", "duplicate_choice")
                        .with("list", &list)
                        .with("first_row", first));
                }
            }
            list_rows.entry(list.clone()).or_insert(*rownum);
            let columns: BTreeMap<String, String> = cs
                .headers
                .iter()
                .zip(&cs.raw_headers)
                .zip(row.iter())
                .filter(|((_, raw), _)| !raw.contains(char::is_whitespace))
                .map(|((h, _), v)| (h, v))
                .filter(|(h, v)| {
                    !v.is_empty()
                        && !h.is_empty()
                        && !matches!(h.as_str(), "list_name" | "name" | "label")
                        && !h.contains("::")
                        && !matches!(h.as_str(), "image" | "audio" | "video" | "big-image")
                })
                .map(|(h, v)| (h.clone(), v.clone()))
                .collect();
            choices.entry(list).or_default().push(Choice {
                name,
                label: cs.text(row, "label"),
                columns,
            });
        }
    }

    // The survey tree.
    let mut stack: Vec<Open> = vec![Open {
        name: String::new(),
        label: LocalizedText::default(),
        hint: LocalizedText::default(),
        relevant: None,
        appearance: None,
        repeat: false,
        repeat_count: None,
        row: 0,
        children: vec![],
        child_names: HashMap::new(),
        loop_list: None,
    }];
    // Every name in the form, lower-cased (for the "case" hint of an unknown reference).
    let mut names_seen: HashSet<String> = HashSet::new();
    // As pyxform: a repeat's name is unique among the form's repeats.
    let mut repeat_names: HashMap<String, usize> = HashMap::new();
    let mut pending: Vec<PendingExpr> = Vec::new();
    let mut used_lists: HashSet<String> = HashSet::new();
    let mut survey_settings: HashMap<&str, String> = HashMap::new();
    let mut or_other_lists: Vec<String> = Vec::new();
    let languages = survey.languages();
    for (rownum, row) in &survey.rows {
        let rownum = *rownum;
        // As pyxform: a row with disabled = yes is left out.
        if yes_no_or_expr(survey.get(row, "disabled")).as_deref() == Some("true()") {
            continue;
        }
        let raw_type = survey.get(row, "type");
        if raw_type.is_empty() {
            // A row with neither name nor label is a comment row (pyxform skips it too).
            if survey.get(row, "name").is_empty() && survey.text(row, "label").is_empty() {
                continue;
            }
            return Err(invalid("survey", rownum, "type", "empty_type"));
        }
        let words: Vec<&str> = raw_type.split_whitespace().collect();
        let loop_words: Vec<&str> = match words.first().and_then(|w| w.split_once('_')) {
            Some((verb, kind)) => [verb, kind]
                .into_iter()
                .chain(words[1..].iter().copied())
                .collect(),
            None => words.clone(),
        };
        // As pyxform: `begin loop over LIST` (or `begin loop LIST`) … `end loop`: a group whose
        // children are copied once per choice of the list (see `expand_loop`).
        let loop_row = match loop_words.as_slice() {
            ["begin", "loop", "over", list] | ["begin", "loop", list] => Some(Some(*list)),
            ["begin", "loop", ..] => {
                return Err(
                    invalid("survey", rownum, "type", "missing_choice_list").with("list", "")
                );
            }
            ["end", "loop"] => Some(None),
            _ => None,
        };
        if let Some(list) = loop_row {
            let name = survey.get(row, "name").to_string();
            let Some(list) = list else {
                let open = if stack.len() > 1 { stack.pop() } else { None };
                let Some(open) = open else {
                    return Err(invalid("survey", rownum, "type", "unmatched_end"));
                };
                let Some(list) = open.loop_list.clone() else {
                    return Err(invalid("survey", rownum, "type", "mismatched_end")
                        .with("name", &open.name)
                        .with("begin_row", open.row));
                };
                let mut columns = choices.get(&list).cloned().unwrap_or_default();
                if or_other_lists.contains(&list) && !columns.iter().any(|c| c.name == "other") {
                    columns.push(other_choice(choices_sheet.as_ref()));
                }
                let item = expand_loop(open, &columns);
                stack.last_mut().expect("root stays").children.push(item);
                continue;
            };
            if name.is_empty() {
                return Err(invalid("survey", rownum, "name", "empty_name"));
            }
            if !valid_name(&name) {
                return Err(invalid("survey", rownum, "name", "bad_name").with("value", &name));
            }
            if !choices.contains_key(list) {
                return Err(
                    invalid("survey", rownum, "type", "missing_choice_list").with("list", list)
                );
            }
            used_lists.insert(list.to_string());
            sibling_name(&mut stack, &mut names_seen, &name, rownum)?;
            let relevant = opt(&straighten_quotes(survey.get(row, "relevant")));
            if let Some(r) = &relevant {
                pending.push(PendingExpr {
                    row: rownum,
                    column: "relevant",
                    owner: name.clone(),
                    text: r.clone(),
                });
            }
            stack.push(Open {
                name,
                label: survey.text(row, "label"),
                hint: survey.text(row, "hint"),
                relevant,
                appearance: opt(survey.get(row, "appearance")),
                repeat: false,
                repeat_count: None,
                row: rownum,
                children: vec![],
                child_names: HashMap::new(),
                loop_list: Some(list.to_string()),
            });
            continue;
        }
        // As pyxform: a form_title or form_id "type" on the survey sheet sets that setting
        // from the name column.
        let setting_row = match raw_type.trim() {
            "form_title" | "set_form_title" => Some("form_title"),
            "form_id" | "set_form_id" => Some("form_id"),
            "prefix" => Some("prefix"),
            _ => None,
        };
        if let Some(key) = setting_row {
            survey_settings.insert(key, survey.get(row, "name").to_string());
            continue;
        }
        let Some(row_type) = parse_type(raw_type) else {
            if let Some(spelling) = type_in_its_case(raw_type) {
                // pyxform (and so ODK) reads types only in their own case.
                return Err(invalid("survey", rownum, "type", "type_case")
                    .with("value", raw_type)
                    .with("spelling", spelling));
            }
            return Err(invalid("survey", rownum, "type", "unknown_type").with("value", raw_type));
        };
        let mut name = survey.get(row, "name").to_string();
        if name.is_empty()
            && matches!(&row_type, RowType::Question { qtype, .. } if qtype == "note")
        {
            // As pyxform: a note needs no name; it gets one from its row.
            name = format!("generated_note_name_{rownum}");
        }
        if matches!(&row_type, RowType::Question { qtype, .. } if qtype == "audit") {
            // ODK's audit log is always called audit.
            if name.is_empty() {
                name = "audit".into();
            } else if name != "audit" {
                return Err(invalid("survey", rownum, "name", "audit_name").with("value", &name));
            }
        }
        if let RowType::EndGroup { repeat } = row_type {
            let open = if stack.len() > 1 { stack.pop() } else { None };
            let Some(open) = open else {
                return Err(invalid("survey", rownum, "type", "unmatched_end"));
            };
            if open.repeat != repeat || open.loop_list.is_some() {
                return Err(invalid("survey", rownum, "type", "mismatched_end")
                    .with("name", &open.name)
                    .with("begin_row", open.row));
            }
            let item = FormItem::Group {
                name: open.name,
                label: open.label,
                hint: open.hint,
                relevant: open.relevant,
                appearance: open.appearance,
                repeat: open.repeat,
                repeat_count: open.repeat_count,
                row: open.row as u32,
                children: open.children,
                key_path: String::new(),
            };
            stack.last_mut().expect("root stays").children.push(item);
            continue;
        }
        if name.is_empty() {
            return Err(invalid("survey", rownum, "name", "empty_name"));
        }
        if !valid_name(&name) {
            return Err(invalid("survey", rownum, "name", "bad_name").with("value", &name));
        }
        sibling_name(&mut stack, &mut names_seen, &name, rownum)?;
        if matches!(row_type, RowType::BeginGroup { repeat: true }) {
            if let Some(first) = repeat_names.insert(name.clone(), rownum) {
                return Err(invalid("survey", rownum, "name", "duplicate_repeat_name")
                    .with("value", &name)
                    .with("first_row", first));
            }
        }
        let relevant = opt(&straighten_quotes(survey.get(row, "relevant")));
        if let Some(r) = &relevant {
            pending.push(PendingExpr {
                row: rownum,
                column: "relevant",
                owner: name.clone(),
                text: r.clone(),
            });
        }
        let label = survey.text(row, "label");
        let hint = survey.text(row, "hint");
        for (column, text) in [("label", &label), ("hint", &hint)] {
            if !text.is_empty()
                && text.0.len() < languages.len()
                && !text.0.contains_key(LocalizedText::NO_LANGUAGE)
            {
                let missing: Vec<&str> = languages
                    .iter()
                    .filter(|l| !text.0.contains_key(*l))
                    .map(String::as_str)
                    .collect();
                warnings.push(Warning {
                    sheet: "survey".into(),
                    row: rownum as u32,
                    column: column.into(),
                    problem: "missing_translation".into(),
                    params: [
                        ("name".to_string(), name.clone()),
                        ("languages".to_string(), missing.join(", ")),
                    ]
                    .into(),
                });
            }
        }
        match row_type {
            RowType::BeginGroup { repeat } => {
                let mut repeat_count = opt(&straighten_quotes(survey.get(row, "repeat_count")));
                if let Some(rc) = repeat_count.as_mut() {
                    if !is_reference(rc) {
                        // As pyxform: a count that is not a plain ${reference} is computed
                        // by a generated read-only calculation `<name>_count` before the
                        // repeat, which the repeat then reads (ODK's data has that column).
                        let count_name = format!("{name}_count");
                        sibling_name(&mut stack, &mut names_seen, &count_name, rownum)?;
                        pending.push(PendingExpr {
                            row: rownum,
                            column: "repeat_count",
                            owner: count_name.clone(),
                            text: rc.clone(),
                        });
                        let mut q = plain_question(count_name.clone(), "calculate");
                        q.calculation = Some(std::mem::take(rc));
                        q.read_only = Some("true()".into());
                        stack
                            .last_mut()
                            .expect("root stays")
                            .children
                            .push(FormItem::Question(q));
                        *rc = format!("${{{count_name}}}");
                    }
                    pending.push(PendingExpr {
                        row: rownum,
                        column: "repeat_count",
                        owner: name.clone(),
                        text: rc.clone(),
                    });
                }
                stack.push(Open {
                    name,
                    label,
                    hint,
                    relevant,
                    appearance: opt(survey.get(row, "appearance")),
                    repeat,
                    repeat_count,
                    row: rownum,
                    children: vec![],
                    child_names: HashMap::new(),
                    loop_list: None,
                });
            }
            RowType::Question {
                qtype,
                list,
                or_other,
                mut supported,
                implied_constraint,
            } => {
                if let Some(list) = &list {
                    if supported {
                        if !choices.contains_key(list) {
                            return Err(invalid("survey", rownum, "type", "missing_choice_list")
                                .with("list", list));
                        }
                        used_lists.insert(list.clone());
                    } else if qtype == "select_one_external" {
                        let Some(ext) = &external_lists else {
                            return Err(invalid("external_choices", 0, "", "missing_sheet"));
                        };
                        if !ext.contains(list) {
                            return Err(invalid("survey", rownum, "type", "missing_external_list")
                                .with("list", list));
                        }
                    } else {
                        // select_one_from_file: one extension ODK reads.
                        let ext_ok = [".csv", ".xml", ".geojson"].iter().any(|e| {
                            list.ends_with(e) && !list[..list.len() - e.len()].contains('.')
                        });
                        if !ext_ok {
                            return Err(invalid("survey", rownum, "type", "file_extension")
                                .with("value", list));
                        }
                    }
                }
                check_parameters(
                    &qtype,
                    survey.get(row, "parameters"),
                    survey.get(row, "appearance"),
                    &choices,
                )
                .map_err(|(problem, params)| {
                    params.into_iter().fold(
                        invalid("survey", rownum, "parameters", problem),
                        |e, (k, v)| e.with(k, v),
                    )
                })?;
                let calculation = opt(&straighten_quotes(survey.get(row, "calculation")));
                if qtype == "calculate" && calculation.is_none() {
                    return Err(
                        invalid("survey", rownum, "calculation", "empty_required_column")
                            .with("name", &name),
                    );
                }
                if needs_label(&qtype) && label.is_empty() && hint.is_empty() && qtype != "note" {
                    return Err(
                        invalid("survey", rownum, "label", "missing_label").with("name", &name)
                    );
                }
                let type_supported = supported;
                if !supported {
                    warnings.push(Warning {
                        sheet: "survey".into(),
                        row: rownum as u32,
                        column: "type".into(),
                        problem: unavailable_reason(&qtype).into(),
                        params: [
                            ("name".to_string(), name.clone()),
                            ("type".to_string(), qtype.clone()),
                        ]
                        .into(),
                    });
                }
                let required = yes_no_or_expr(survey.get(row, "required"));
                let read_only = yes_no_or_expr(survey.get(row, "read_only"));
                let constraint =
                    opt(&straighten_quotes(survey.get(row, "constraint"))).or(implied_constraint);
                let choice_filter = opt(&straighten_quotes(survey.get(row, "choice_filter")));
                if or_other && choice_filter.is_some() {
                    return Err(
                        invalid("survey", rownum, "choice_filter", "or_other_filter")
                            .with("name", &name),
                    );
                }
                if qtype == "select_multiple" {
                    // A space in a choice name would split it in the stored answer.
                    if let Some(c) = list
                        .as_ref()
                        .and_then(|l| choices.get(l))
                        .and_then(|cs| cs.iter().find(|c| c.name.contains(' ')))
                    {
                        return Err(invalid("survey", rownum, "type", "choice_name_space")
                            .with("list", list.as_deref().unwrap_or(""))
                            .with("value", &c.name));
                    }
                }
                for (column, text) in [
                    ("calculation", &calculation),
                    ("constraint", &constraint),
                    ("choice_filter", &choice_filter),
                    ("required", &required),
                    ("read_only", &read_only),
                ] {
                    if let Some(t) = text {
                        pending.push(PendingExpr {
                            row: rownum,
                            column,
                            owner: name.clone(),
                            text: t.clone(),
                        });
                    }
                }
                // pulldata() reads a CSV that travels with the form on a phone; a laptop has
                // none, so the question imports but is not available.
                if type_supported {
                    for (column, text) in [
                        ("calculation", &calculation),
                        ("constraint", &constraint),
                        ("relevant", &relevant),
                        ("required", &required),
                        ("read_only", &read_only),
                        ("choice_filter", &choice_filter),
                    ] {
                        if text.as_deref().is_some_and(uses_pulldata) {
                            supported = false;
                            warnings.push(Warning {
                                sheet: "survey".into(),
                                row: rownum as u32,
                                column: column.into(),
                                problem: "pulldata".into(),
                                params: [("name".to_string(), name.clone())].into(),
                            });
                            break;
                        }
                    }
                }
                for text in [&label, &hint] {
                    for t in text.0.values() {
                        if t.contains("${") {
                            pending.push(PendingExpr {
                                row: rownum,
                                column: "label",
                                owner: name.clone(),
                                text: t.clone(),
                            });
                        }
                    }
                }
                let q = Question {
                    name: name.clone(),
                    qtype,
                    list_name: list.clone(),
                    or_other,
                    label,
                    hint,
                    required,
                    required_message: survey.text(row, "required_message"),
                    relevant,
                    constraint,
                    constraint_message: survey.text(row, "constraint_message"),
                    calculation,
                    default: opt(survey.get(row, "default")),
                    read_only,
                    appearance: opt(survey.get(row, "appearance")),
                    choice_filter,
                    parameters: opt(survey.get(row, "parameters")),
                    scoring: Scoring {
                        dimension: opt(survey.get(row, "score_dimension")),
                        reverse: yes_no_or_expr(survey.get(row, "score_reverse")).is_some(),
                        need: opt(survey.get(row, "need_group")),
                        severity_of: opt(survey.get(row, "severity_of")),
                        tag: opt(survey.get(row, "score_tag")),
                        profile: opt(survey.get(row, "profile")),
                        personal: yes_no_or_expr(survey.get(row, "personal")).is_some(),
                    },
                    supported,
                    row: rownum as u32,
                    key_path: String::new(),
                };
                if let Some(tag) = &q.scoring.tag {
                    let (_, expression) = split_score_tag(tag).ok_or_else(|| {
                        invalid("survey", rownum, "score_tag", "score_tag_syntax")
                            .with("value", tag)
                    })?;
                    pending.push(PendingExpr {
                        row: rownum,
                        column: "score_tag",
                        owner: name.clone(),
                        text: expression.to_string(),
                    });
                }
                stack
                    .last_mut()
                    .expect("root stays")
                    .children
                    .push(FormItem::Question(q));
                if or_other {
                    // As pyxform: an "other" choice and a `<name>_other` text question.
                    let other_name = format!("{name}_other");
                    sibling_name(&mut stack, &mut names_seen, &other_name, rownum)?;
                    let parent = &mut stack.last_mut().expect("root stays").children;
                    if let Some(l) = &list {
                        or_other_lists.push(l.clone());
                    }
                    let mut q = plain_question(other_name, "text");
                    q.label = LocalizedText(
                        [(
                            LocalizedText::NO_LANGUAGE.to_string(),
                            "Specify other.".to_string(),
                        )]
                        .into(),
                    );
                    q.relevant = Some(format!("selected(${{{name}}}, 'other')"));
                    parent.push(FormItem::Question(q));
                }
            }
            RowType::EndGroup { .. } => unreachable!("handled above"),
        }
    }
    if stack.len() > 1 {
        let open = stack.pop().expect("checked");
        return Err(invalid("survey", open.row, "type", "unclosed_group").with("name", open.name));
    }
    let items = stack.pop().expect("root").children;

    // "Other" choices for or_other lists, labelled in every language as pyxform does.
    for list in or_other_lists {
        if let Some(items) = choices.get_mut(&list) {
            if !items.iter().any(|c| c.name == "other") {
                items.push(other_choice(choices_sheet.as_ref()));
            }
        }
    }

    // A choice list no question uses is worth a look (often a misspelt list name), but it is
    // no reason to refuse the form: pyxform accepts it.
    let mut unused: Vec<(&String, &usize)> = list_rows
        .iter()
        .filter(|(l, _)| !used_lists.contains(*l))
        .collect();
    unused.sort_by_key(|(_, r)| **r);
    for (list, row) in unused {
        warnings.push(Warning {
            sheet: "choices".into(),
            row: *row as u32,
            column: "list_name".into(),
            problem: "unused_choice_list".into(),
            params: [("list".to_string(), list.clone())].into(),
        });
    }

    // Expressions: syntax, then references.
    let known = names_seen;
    let exact: HashMap<String, usize> = {
        let mut s = HashMap::new();
        collect_names(&items, &mut s);
        s
    };
    // References of value-defining expressions, reused by the cycle check below.
    let mut value_refs: HashMap<String, Vec<String>> = HashMap::new();
    for p in &pending {
        let refs = if p.column == "label" {
            expr::text_references(&p.text)
        } else {
            let parsed = if p.column == "choice_filter" {
                expr::parse_choice_filter(&p.text)
            } else {
                expr::parse(&p.text)
            };
            match parsed {
                Ok(e) => expr::references(&e),
                Err(e) => {
                    return Err(invalid("survey", p.row, p.column, "expression_syntax")
                        .with("expression", &p.text)
                        .with("position", e.position + 1)
                        .with("near", &e.near)
                        .with("expr_problem", e.problem));
                }
            }
        };
        if matches!(p.column, "relevant" | "calculation" | "repeat_count") {
            value_refs
                .entry(p.owner.clone())
                .or_default()
                .extend(refs.iter().cloned());
        }
        for r in refs {
            if exact.get(&r).is_some_and(|&n| n > 1) {
                // As pyxform: a reference to a name that several questions or groups carry
                // is refused, as it cannot say which one is meant.
                return Err(invalid("survey", p.row, p.column, "ambiguous_reference")
                    .with("reference", format!("${{{r}}}"))
                    .with("name", &p.owner)
                    .with("count", exact[&r]));
            }
            if !exact.contains_key(&r) {
                let hint = if known.contains(&r.to_lowercase()) {
                    "case"
                } else {
                    ""
                };
                return Err(invalid("survey", p.row, p.column, "unknown_reference")
                    .with("reference", format!("${{{r}}}"))
                    .with("name", &p.owner)
                    .with("hint", hint));
            }
        }
    }

    let setting = |key: &str| -> String {
        if let Some(v) = survey_settings.get(key) {
            return v.clone();
        }
        settings
            .as_ref()
            .and_then(|s| s.rows.first().map(|(_, r)| s.get(r, key).to_string()))
            .unwrap_or_default()
    };
    // `id_string` is pyxform's own name for the form id (form_id wins when both are given).
    let form_id = opt(&setting("form_id")).or_else(|| opt(&setting("id_string")));
    let stem = source.rsplit(['/', '\\']).next().unwrap_or(source);
    let stem = stem
        .rsplit_once('.')
        .map(|(s, _)| s)
        .unwrap_or(stem)
        .to_string();
    let mut all_languages = languages;
    if let Some(cs) = &choices_sheet {
        for l in cs.languages() {
            if !all_languages.contains(&l) {
                all_languages.push(l);
            }
        }
    }
    let mut items = items;
    crate::state::assign_keys(&mut items);
    let definition = FormDefinition {
        form_id: form_id.clone().unwrap_or_else(|| stem.clone()),
        version: setting("version"),
        // As pyxform: the title, else the form id, else the file name.
        title: opt(&setting("form_title"))
            .or_else(|| opt(&setting("title")))
            .or(form_id)
            .unwrap_or(stem),
        default_language: opt(&setting("default_language")),
        languages: all_languages,
        items,
        choices,
    };
    if let Some(cycle) = crate::state::dependency_cycle_with(&definition, &|name| {
        value_refs.get(name).cloned().unwrap_or_default()
    }) {
        let first = definition.question(&cycle[0]).map_or(0, |q| q.row);
        return Err(
            invalid("survey", first as usize, "calculation", "cyclic_dependency")
                .with("cycle", cycle.join(" → ")),
        );
    }
    Ok(Imported {
        definition,
        warnings,
    })
}

fn collapse_spaces(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        if !(ch == ' ' && out.ends_with(' ')) {
            out.push(ch);
        }
    }
    out
}

/// Why a laptop cannot answer a question of this type: the `form_warnings` key.
fn unavailable_reason(qtype: &str) -> &'static str {
    match qtype {
        // Properties of the phone itself.
        "phonenumber" | "simserial" | "subscriberid" | "email" => "device_property",
        // Choices or data from a file that travels with the form to the phone.
        "select_one_from_file"
        | "select_multiple_from_file"
        | "select_one_external"
        | "xml-external"
        | "csv-external" => "needs_form_file",
        // What only ODK Collect does (OpenStreetMap, file upload, its audit log).
        "osm" | "file" | "audit" => "needs_collect",
        // Camera, microphone, GPS, scanner.
        _ => "unsupported_type",
    }
}

type ParamError = (&'static str, Vec<(&'static str, String)>);

/// pyxform's `parameters` cell: `key=value` pairs separated by spaces, commas or semicolons;
/// keys are lowercased, values too except `label` and `value`.
fn parse_parameters(raw: &str) -> std::result::Result<Vec<(String, String)>, ParamError> {
    let delimiter = |c: char| c.is_whitespace() || c == ',' || c == ';';
    // Tokens: runs of anything but delimiters and '=', and '=' itself.
    let mut tokens: Vec<String> = Vec::new();
    let mut cur = String::new();
    for c in raw.chars() {
        if delimiter(c) || c == '=' {
            if !cur.is_empty() {
                tokens.push(std::mem::take(&mut cur));
            }
            if c == '=' {
                tokens.push("=".into());
            }
        } else {
            cur.push(c);
        }
    }
    if !cur.is_empty() {
        tokens.push(cur);
    }
    let syntax = || ("parameters_syntax", vec![("value", raw.to_string())]);
    if !tokens.len().is_multiple_of(3) {
        return Err(syntax());
    }
    let mut out = Vec::new();
    for t in tokens.chunks(3) {
        if t[0] == "=" || t[1] != "=" || t[2] == "=" {
            return Err(syntax());
        }
        let key = t[0].to_lowercase();
        let value = if matches!(key.as_str(), "label" | "value") {
            t[2].clone()
        } else {
            t[2].to_lowercase()
        };
        out.push((key, value));
    }
    Ok(out)
}

/// The parameters pyxform accepts for a type, and the values it checks; other types take any.
fn check_parameters(
    qtype: &str,
    raw: &str,
    appearance: &str,
    choices: &BTreeMap<String, Vec<Choice>>,
) -> std::result::Result<(), ParamError> {
    if raw.trim().is_empty() {
        return Ok(());
    }
    let params = parse_parameters(raw)?;
    let accepted: &[&str] = match qtype {
        "text" => &["rows"],
        "photo" => &["app", "max-pixels"],
        "audio" | "background-audio" => &["quality"],
        "audit" => &[
            "identify-user",
            "location-max-age",
            "location-min-interval",
            "location-priority",
            "track-changes",
            "track-changes-reasons",
        ],
        "geopoint" => &[
            "allow-mock-accuracy",
            "capture-accuracy",
            "reference-geometry",
            "warning-accuracy",
        ],
        "geotrace" | "geoshape" => &["allow-mock-accuracy", "incremental", "reference-geometry"],
        "range" => &[
            "end",
            "placeholder",
            "start",
            "step",
            "tick_interval",
            "tick_labelset",
        ],
        "select_one" | "select_multiple" | "rank" | "select_one_external" => &["randomize", "seed"],
        "select_one_from_file" | "select_multiple_from_file" => {
            &["label", "randomize", "seed", "value"]
        }
        _ => return Ok(()),
    };
    let mut rejected: Vec<&str> = params
        .iter()
        .map(|(k, _)| k.as_str())
        .filter(|k| !accepted.contains(k))
        .collect();
    if !rejected.is_empty() {
        rejected.sort_unstable();
        return Err((
            "parameter_unknown",
            vec![
                ("rejected", rejected.join(", ")),
                ("accepted", accepted.join(", ")),
            ],
        ));
    }
    let get = |k: &str| {
        params
            .iter()
            .rev()
            .find(|(p, _)| p == k)
            .map(|(_, v)| v.as_str())
    };
    let bad = |k: &str| ("parameter_value", vec![("parameter", k.to_string())]);
    let integer = |k: &str| match get(k) {
        Some(v) if v.parse::<i64>().is_err() => Err(bad(k)),
        _ => Ok(()),
    };
    integer("rows")?;
    integer("max-pixels")?;
    if qtype == "audio" || qtype == "background-audio" {
        if let Some(q) = get("quality") {
            if !matches!(q, "voice-only" | "low" | "normal" | "external") {
                return Err(bad("quality"));
            }
        }
    }
    if accepted.contains(&"randomize") {
        match get("randomize") {
            Some("true" | "false") | None => {}
            Some(_) => return Err(bad("randomize")),
        }
        if let Some(seed) = get("seed") {
            if get("randomize").is_none() || !(is_reference(seed) || seed.parse::<f64>().is_ok()) {
                return Err(bad("seed"));
            }
        }
    }
    if qtype == "range" {
        let number = |k: &str| -> std::result::Result<Option<f64>, ParamError> {
            match get(k) {
                None => Ok(None),
                Some(v) => match v.parse::<f64>() {
                    Ok(n) if n.is_finite() => Ok(Some(n)),
                    _ => Err(bad(k)),
                },
            }
        };
        let start = number("start")?.unwrap_or(1.0);
        let end = number("end")?.unwrap_or(10.0);
        let step = number("step")?.unwrap_or(1.0);
        let tick = number("tick_interval")?;
        let placeholder = number("placeholder")?;
        let width = (end - start).abs();
        let multiple = |a: f64, b: f64| ((a / b) - (a / b).round()).abs() < 1e-9;
        if step == 0.0 || step > width {
            return Err(bad("step"));
        }
        if let Some(t) = tick {
            if t == 0.0 || t > width || !multiple(t, step) {
                return Err(bad("tick_interval"));
            }
        }
        if let Some(p) = placeholder {
            if !multiple(p - start, step) || p < start.min(end) || p > start.max(end) {
                return Err(bad("placeholder"));
            }
        }
        if let Some(l) = get("tick_labelset") {
            if !choices.contains_key(l) {
                return Err(bad("tick_labelset"));
            }
        }
        let ticks_or_placeholder =
            tick.is_some() || placeholder.is_some() || get("tick_labelset").is_some();
        if !appearance.is_empty()
            && !appearance.contains("vertical")
            && !appearance.contains("no-ticks")
            && ticks_or_placeholder
        {
            return Err(bad("appearance"));
        }
    }
    Ok(())
}

/// A question the importer adds (as pyxform does), with nothing but a name and a type.
fn plain_question(name: String, qtype: &str) -> Question {
    Question {
        name,
        qtype: qtype.into(),
        list_name: None,
        or_other: false,
        label: LocalizedText::default(),
        hint: LocalizedText::default(),
        required: None,
        required_message: LocalizedText::default(),
        relevant: None,
        constraint: None,
        constraint_message: LocalizedText::default(),
        calculation: None,
        default: None,
        read_only: None,
        appearance: None,
        choice_filter: None,
        parameters: None,
        scoring: Scoring::default(),
        supported: true,
        row: 0,
        key_path: String::new(),
    }
}

/// Whether a cell is exactly one `${name}` reference.
fn is_reference(s: &str) -> bool {
    s.trim()
        .strip_prefix("${")
        .and_then(|r| r.strip_suffix('}'))
        .is_some_and(valid_name)
}

/// Whether an expression calls `pulldata(…)`.
fn uses_pulldata(expr: &str) -> bool {
    let mut rest = expr;
    while let Some(i) = rest.find("pulldata") {
        let before = rest[..i].chars().next_back();
        let after = rest[i + "pulldata".len()..].trim_start();
        if !before.is_some_and(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '$' | '{'))
            && after.starts_with('(')
        {
            return true;
        }
        rest = &rest[i + "pulldata".len()..];
    }
    false
}

/// How many questions and groups (repeats included) carry each name.
fn collect_names(items: &[FormItem], out: &mut HashMap<String, usize>) {
    for item in items {
        match item {
            FormItem::Question(q) => {
                *out.entry(q.name.clone()).or_default() += 1;
            }
            FormItem::Group { name, children, .. } => {
                *out.entry(name.clone()).or_default() += 1;
                collect_names(children, out);
            }
        }
    }
}

/// Records `name` among the children of the innermost open group: as pyxform, siblings never
/// share a name (Shequ compares ignoring case, as before); names in different groups may repeat.
fn sibling_name(
    stack: &mut [Open],
    all: &mut HashSet<String>,
    name: &str,
    row: usize,
) -> Result<()> {
    let lower = name.to_lowercase();
    all.insert(lower.clone());
    let open = stack.last_mut().expect("root stays");
    if let Some(&first) = open.child_names.get(&lower) {
        return Err(invalid("survey", row, "name", "duplicate_name")
            .with("value", name)
            .with("first_row", first));
    }
    open.child_names.insert(lower, row);
    Ok(())
}

/// The "Other" choice pyxform adds to an `or_other` list, labelled in every choice language.
fn other_choice(choices_sheet: Option<&Sheet>) -> Choice {
    let langs = choices_sheet.map(|c| c.languages()).unwrap_or_default();
    let langs = if langs.is_empty() {
        vec![LocalizedText::NO_LANGUAGE.to_string()]
    } else {
        langs
    };
    Choice {
        name: "other".into(),
        label: LocalizedText(
            langs
                .into_iter()
                .map(|l| (l, "Other".to_string()))
                .collect(),
        ),
        columns: BTreeMap::new(),
    }
}

/// A loop as pyxform's builder makes it: a group holding one group per choice of the list
/// (named and labelled as the choice; a choice called `none` is left out), each with a copy of
/// the loop's children in which `%(name)s` and `%(label)s` become the choice's name and label
/// (in the text's language) in every text and expression of the child itself (not of what a
/// child group holds, as pyxform).
fn expand_loop(open: Open, columns: &[Choice]) -> FormItem {
    let groups = columns
        .iter()
        .filter(|c| c.name != "none")
        .map(|c| {
            let label_in = |lang: &str| -> String {
                c.label
                    .0
                    .get(lang)
                    .or_else(|| c.label.0.get(LocalizedText::NO_LANGUAGE))
                    .or_else(|| c.label.0.values().next())
                    .cloned()
                    .unwrap_or_default()
            };
            let sub = |t: &str, lang: &str| -> String {
                if !t.contains('%') {
                    return t.to_string();
                }
                t.replace("%(name)s", &c.name)
                    .replace("%(label)s", &label_in(lang))
                    .replace("%%", "%")
            };
            let text = |t: &LocalizedText| {
                LocalizedText(t.0.iter().map(|(l, v)| (l.clone(), sub(v, l))).collect())
            };
            let expr =
                |e: &Option<String>| e.as_deref().map(|e| sub(e, LocalizedText::NO_LANGUAGE));
            let children = open
                .children
                .iter()
                .map(|child| match child {
                    FormItem::Question(q) => {
                        let mut q = q.clone();
                        q.label = text(&q.label);
                        q.hint = text(&q.hint);
                        q.constraint_message = text(&q.constraint_message);
                        q.required_message = text(&q.required_message);
                        q.relevant = expr(&q.relevant);
                        q.constraint = expr(&q.constraint);
                        q.calculation = expr(&q.calculation);
                        q.required = expr(&q.required);
                        q.read_only = expr(&q.read_only);
                        q.default = expr(&q.default);
                        q.appearance = expr(&q.appearance);
                        q.choice_filter = expr(&q.choice_filter);
                        FormItem::Question(q)
                    }
                    FormItem::Group {
                        name,
                        label,
                        hint,
                        relevant,
                        appearance,
                        repeat,
                        repeat_count,
                        row,
                        children,
                        key_path,
                    } => FormItem::Group {
                        name: name.clone(),
                        label: text(label),
                        hint: text(hint),
                        relevant: expr(relevant),
                        appearance: expr(appearance),
                        repeat: *repeat,
                        repeat_count: repeat_count.clone(),
                        row: *row,
                        children: children.clone(),
                        key_path: key_path.clone(),
                    },
                })
                .collect();
            FormItem::Group {
                name: c.name.clone(),
                label: c.label.clone(),
                hint: LocalizedText::default(),
                relevant: None,
                appearance: None,
                repeat: false,
                repeat_count: None,
                row: open.row as u32,
                children,
                key_path: String::new(),
            }
        })
        .collect();
    FormItem::Group {
        name: open.name,
        label: open.label,
        hint: open.hint,
        relevant: open.relevant,
        appearance: open.appearance,
        repeat: false,
        repeat_count: None,
        row: open.row as u32,
        children: groups,
        key_path: String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::default_scale;
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
        assert_eq!(err.code, ErrorCode::FormFileInvalid);
        assert_eq!(err.params["problem"], "not_a_spreadsheet");
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
            "mismatched_end",
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
            ("f", "7", "f")
        );
        assert_eq!(
            def.question("t").unwrap().label.pick(Lang::ZhCn),
            Some("你好")
        );
    }
}

#[cfg(test)]
mod pyxform_reading {
    use super::*;
    use crate::test_support::{workbook, Rows};
    use shequ_core::Lang;

    const HEAD: &[&str] = &["type", "name", "label", "calculation"];

    fn import(survey: Rows, choices: Rows) -> Imported {
        let mut sheets = vec![("survey", survey)];
        if !choices.is_empty() {
            sheets.push(("choices", choices));
        }
        import_xlsform(&workbook(&sheets), "t.xlsx").unwrap_or_else(|e| panic!("{e}"))
    }

    fn located(i: &Imported) -> Vec<(&str, u32, &str, &str)> {
        i.warnings
            .iter()
            .map(|w| {
                (
                    w.sheet.as_str(),
                    w.row,
                    w.column.as_str(),
                    w.problem.as_str(),
                )
            })
            .collect()
    }

    #[test]
    fn an_unused_choice_list_is_a_located_warning() {
        let i = import(
            &[HEAD, &["select_one yn", "q", "Q", ""]],
            &[
                &["list_name", "name", "label"],
                &["yn", "y", "Y"],
                &["other_list", "a", "A"],
                &["", "orphan", "O"],
            ],
        );
        assert_eq!(
            located(&i),
            vec![
                ("choices", 4, "list_name", "choice_without_list"),
                ("choices", 3, "list_name", "unused_choice_list"),
            ]
        );
        for lang in [Lang::ZhCn, Lang::En] {
            for w in &i.warnings {
                let m = w.message(lang);
                assert!(
                    !m.contains("form_warnings") && m.contains(&w.row.to_string()),
                    "{m}"
                );
            }
        }
        assert!(i.warnings[1].message(Lang::ZhCn).contains("other_list"));
    }

    #[test]
    fn what_a_laptop_cannot_do_imports_marked_and_warned_about() {
        let i = import(
            &[
                HEAD,
                &["osm", "building", "Building", ""],
                &["gps", "where", "Where", ""],
                &[
                    "calculate",
                    "fruit",
                    "",
                    "pulldata('fruits', 'name', 'name', 'mango')",
                ],
                &["text", "t", "T", ""],
            ],
            &[],
        );
        assert_eq!(
            located(&i),
            vec![
                ("survey", 2, "type", "needs_collect"),
                ("survey", 3, "type", "unsupported_type"),
                ("survey", 4, "calculation", "pulldata"),
            ]
        );
        let def = &i.definition;
        let available: Vec<(&str, &str, bool)> = def
            .questions()
            .iter()
            .map(|q| (q.name.as_str(), q.qtype.as_str(), q.supported))
            .collect();
        assert_eq!(
            available,
            vec![
                ("building", "osm", false),
                ("where", "geopoint", false),
                ("fruit", "calculate", false),
                ("t", "text", true),
            ]
        );
        assert!(i.warnings[2].message(Lang::ZhCn).contains("pulldata"));
    }

    #[test]
    fn verbose_spellings_read_as_pyxform_reads_them() {
        let i = import(
            &[
                HEAD,
                &["select one from sexes or specify other", "sex", "Sex", ""],
                &["select all that apply from sexes", "both", "Both", ""],
                &["phone number", "phone", "Phone", ""],
                &["uri:deviceid", "dev", "", ""],
                &["note", "", "Thanks", ""],
                &["", "", "", ""],
            ],
            &[&["list name", "name", "label"], &["sexes", "f", "F"]],
        );
        let def = &i.definition;
        let q = |n: &str| def.question(n).unwrap();
        assert_eq!(
            (q("sex").qtype.as_str(), q("sex").or_other),
            ("select_one", true)
        );
        assert!(def.question("sex_other").is_some());
        assert_eq!(q("both").qtype, "select_multiple");
        assert_eq!(
            (q("phone").qtype.as_str(), q("phone").constraint.as_deref()),
            ("text", Some(r"regex(., '^\d*$')"))
        );
        assert_eq!(q("dev").qtype, "deviceid");
        assert_eq!(
            q("generated_note_name_6").label.pick(Lang::En),
            Some("Thanks")
        );
        assert!(i.warnings.is_empty(), "{:?}", i.warnings);
    }

    #[test]
    fn a_repeat_count_expression_gets_its_generated_calculation() {
        let i = import(
            &[
                &["type", "name", "label", "repeat_count"],
                &["integer", "n", "N", ""],
                &["begin repeat", "r", "R", "${n} + 1"],
                &["text", "t", "T", ""],
                &["end repeat", "", "", ""],
            ],
            &[],
        );
        let count = i.definition.question("r_count").unwrap();
        assert_eq!(
            (
                count.qtype.as_str(),
                count.calculation.as_deref(),
                count.read_only.as_deref()
            ),
            ("calculate", Some("${n} + 1"), Some("true()"))
        );
        let FormItem::Group { repeat_count, .. } = &i.definition.items[2] else {
            panic!("{:?}", i.definition.items);
        };
        assert_eq!(repeat_count.as_deref(), Some("${r_count}"));
    }

    #[test]
    fn a_one_sheet_workbook_is_the_survey_but_two_sheets_need_one_called_survey() {
        let one = workbook(&[("questions", &[HEAD, &["text", "a", "A", ""]])]);
        assert!(import_xlsform(&one, "t.xlsx").is_ok());
        let two = workbook(&[
            ("questions", &[HEAD, &["text", "a", "A", ""]]),
            ("notes", &[&["x"], &["y"]]),
        ]);
        let err = import_xlsform(&two, "t.xlsx").unwrap_err();
        assert_eq!(err.params["problem"], "missing_sheet");
    }

    #[test]
    fn rows_after_more_than_60_empty_rows_are_not_read_and_said_so() {
        let empty: &[&str] = &["", "", "", ""];
        let mut rows: Vec<&[&str]> = vec![HEAD, &["text", "a", "A", ""]];
        rows.extend(std::iter::repeat_n(empty, 61));
        rows.push(&["text", "b", "B", ""]);
        let i = import(&rows, &[]);
        assert!(i.definition.question("b").is_none());
        assert_eq!(located(&i), vec![("survey", 64, "", "rows_after_gap")]);
        // 60 empty rows are still a gap inside the form.
        rows.remove(2);
        let i = import(&rows, &[]);
        assert!(i.definition.question("b").is_some() && i.warnings.is_empty());
    }

    #[test]
    fn a_loop_becomes_one_group_per_choice_as_pyxform_builds_it() {
        let wb = workbook(&[
            (
                "survey",
                &[
                    HEAD,
                    &["begin loop over cols", "tbl", "T", ""],
                    &["integer", "n", "How many %(label)s (%(name)s)?", ""],
                    &["end loop", "", "", ""],
                ],
            ),
            (
                "choices",
                &[
                    &["list_name", "name", "label"],
                    &["cols", "a", "A"],
                    &["cols", "b", "B"],
                    &["cols", "none", "None"],
                ],
            ),
        ]);
        let def = read_xlsform(&wb, "t.xlsx").unwrap();
        let FormItem::Group { name, children, .. } = &def.items[0] else {
            panic!("{:?}", def.items[0]);
        };
        assert_eq!(name, "tbl");
        let got: Vec<(String, String, String)> = children
            .iter()
            .map(|g| {
                let FormItem::Group { name, children, .. } = g else {
                    panic!("{g:?}")
                };
                let FormItem::Question(q) = &children[0] else {
                    panic!("{children:?}")
                };
                let label = q.label.0["default"].clone();
                (name.clone(), label, q.key_path.clone())
            })
            .collect();
        assert_eq!(
            got,
            [
                ("a".into(), "How many A (a)?".into(), "tbl/a/n".into()),
                ("b".into(), "How many B (b)?".into(), "tbl/b/n".into()),
            ]
        );
    }

    #[test]
    fn names_repeat_across_groups_but_a_reference_to_one_is_ambiguous() {
        let survey: &[&[&str]] = &[
            &["type", "name", "label", "relevant"],
            &["begin group", "g1", "G1", ""],
            &["integer", "age", "Age", ""],
            &["end group", "", "", ""],
            &["begin group", "g2", "G2", ""],
            &["integer", "age", "Age", ""],
            &["end group", "", "", ""],
            &["text", "why", "Why", "${age} > 3"],
        ];
        let err = read_xlsform(&workbook(&[("survey", survey)]), "t.xlsx").unwrap_err();
        assert_eq!(
            (
                err.params["row"].as_str(),
                err.params["column"].as_str(),
                err.params["problem"].as_str()
            ),
            ("8", "relevant", "ambiguous_reference")
        );
        for lang in [Lang::ZhCn, Lang::En] {
            let m = err.message(lang);
            assert!(m.contains("${age}") && !m.contains("form_problems."), "{m}");
        }
        let ok = read_xlsform(&workbook(&[("survey", &survey[..7])]), "t.xlsx").unwrap();
        let paths: Vec<&str> = ok.questions().iter().map(|q| q.key_path.as_str()).collect();
        assert_eq!(paths, ["g1/age", "g2/age"]);
        // Repeats keep unique names, as pyxform wants.
        let reps: &[&[&str]] = &[
            &["type", "name", "label"],
            &["begin repeat", "r", "R"],
            &["integer", "x", "X"],
            &["end repeat", "", ""],
            &["begin group", "g", "G"],
            &["begin repeat", "r", "R"],
            &["integer", "y", "Y"],
            &["end repeat", "", ""],
            &["end group", "", ""],
        ];
        let err = read_xlsform(&workbook(&[("survey", reps)]), "t.xlsx").unwrap_err();
        assert_eq!(
            (err.params["row"].as_str(), err.params["problem"].as_str()),
            ("6", "duplicate_repeat_name")
        );
    }
}
