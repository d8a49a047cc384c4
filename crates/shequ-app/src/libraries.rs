//! The resource and expert libraries: the template the centre hands out, its import (Excel or
//! CSV, Chinese or English headers, GBK or UTF-8; every row checked before anything is
//! written), and matching a community's needs and problems to them.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use shequ_analysis::matching::{demands, DemandMatches, Index, Place};
use shequ_analysis::resources::{
    Availability, Expert, Resolved, Resource, ResourceKind, Vocabulary,
};
use shequ_analysis::Scheme;
use shequ_core::{i18n, Error, ErrorCode, Lang, Result};
use shequ_store::ProjectNeedRow;
use shequ_store::{LibraryEntry, LibraryKind, MatchRow};
use ts_rs::TS;
use uuid::Uuid;

use crate::App;

/// One library entry as the window's form holds it: the template's columns by key (`kind`,
/// `name`, `organisation`, `community`, `street`, `contact`, `capacity`, `days`, `hours`,
/// `until`, `tags`), all as typed.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, TS)]
#[ts(export)]
pub struct LibraryForm {
    /// `resources` or `experts`.
    pub library: String,
    /// The entry changed; `None` adds one.
    pub id: Option<String>,
    pub fields: BTreeMap<String, String>,
}

/// What an import added (or, on a dry run, would add).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct LibraryImport {
    pub file: String,
    pub resources: u32,
    pub experts: u32,
    pub dry_run: bool,
}

/// A community's demands and, for each, the ranked candidates.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct CommunityMatches {
    pub code: String,
    pub name: String,
    pub round: String,
    pub demands: Vec<DemandMatches>,
    /// The matches already recorded for the community.
    pub recorded: Vec<MatchRow>,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum Col {
    Kind,
    Name,
    Organisation,
    Community,
    Street,
    Contact,
    Capacity,
    Days,
    Hours,
    Until,
    Tags,
}

impl Col {
    /// The template's header, in the user's language.
    fn header(self, lang: Lang, library: LibraryKind) -> String {
        let key = match (library, self) {
            (LibraryKind::Experts, Col::Name) => "person_name",
            (LibraryKind::Experts, Col::Tags) => "fields",
            _ => self.key(),
        };
        i18n::text(lang, &format!("libraries.columns.{key}"))
    }

    fn key(self) -> &'static str {
        match self {
            Col::Kind => "kind",
            Col::Name => "name",
            Col::Organisation => "organisation",
            Col::Community => "community",
            Col::Street => "street",
            Col::Contact => "contact",
            Col::Capacity => "capacity",
            Col::Days => "days",
            Col::Hours => "hours",
            Col::Until => "until",
            Col::Tags => "tags",
        }
    }

    fn from_header(h: &str, library: LibraryKind) -> Option<Col> {
        let h = h
            .trim()
            .trim_matches('\u{feff}')
            .to_lowercase()
            .replace([' ', '_', '-', '*'], "");
        Some(match h.as_str() {
            "kind" | "type" | "类型" | "资源类型" => Col::Kind,
            "name" | "名称" | "资源名称" | "姓名" | "专家姓名" => Col::Name,
            "organisation" | "organization" | "单位" | "工作单位" | "所在单位" => {
                Col::Organisation
            }
            "community" | "所属社区" | "社区" | "社区编码" => Col::Community,
            "street" | "所属街道" | "街道" | "所在街道" => Col::Street,
            "contact" | "联系方式" | "联系人" | "联系电话" => Col::Contact,
            "capacity" | "可承接数" | "可承接数量" | "容量" => Col::Capacity,
            "days" | "可用日" | "服务日" | "可用日期" => Col::Days,
            "hours" | "可用时段" | "时段" | "服务时间" => Col::Hours,
            "until" | "有效期至" | "截止日期" | "有效期" => Col::Until,
            "tags" | "标签" | "服务领域" if library == LibraryKind::Resources => Col::Tags,
            "fields" | "expertise" | "专长领域" | "专长" | "领域" | "标签"
                if library == LibraryKind::Experts =>
            {
                Col::Tags
            }
            _ => return None,
        })
    }
}

const RESOURCE_COLUMNS: [Col; 10] = [
    Col::Kind,
    Col::Name,
    Col::Community,
    Col::Street,
    Col::Contact,
    Col::Capacity,
    Col::Days,
    Col::Hours,
    Col::Until,
    Col::Tags,
];
const EXPERT_COLUMNS: [Col; 9] = [
    Col::Name,
    Col::Organisation,
    Col::Street,
    Col::Contact,
    Col::Capacity,
    Col::Days,
    Col::Hours,
    Col::Until,
    Col::Tags,
];
const RESOURCE_REQUIRED: [Col; 3] = [Col::Kind, Col::Name, Col::Tags];
const EXPERT_REQUIRED: [Col; 3] = [Col::Name, Col::Organisation, Col::Tags];

/// Which library a sheet holds, from its headers: experts have an organisation or a
/// "专长" column, resources a kind.
fn library_of(headers: &[String]) -> Option<LibraryKind> {
    let has = |lib, col| {
        headers
            .iter()
            .any(|h| Col::from_header(h, lib) == Some(col))
    };
    if has(LibraryKind::Experts, Col::Organisation)
        || headers
            .iter()
            .any(|h| h.contains("专长") || h.eq_ignore_ascii_case("expertise"))
    {
        Some(LibraryKind::Experts)
    } else if has(LibraryKind::Resources, Col::Kind) {
        Some(LibraryKind::Resources)
    } else {
        None
    }
}

fn invalid(file: &str, problem: &str) -> Error {
    Error::new(ErrorCode::LibraryInvalid)
        .with("file", file)
        .with("library_problem", problem)
}

/// The resource kind from its label in either language, or its code.
fn parse_kind(s: &str) -> Option<ResourceKind> {
    let s = s.trim();
    ResourceKind::ALL.into_iter().find(|k| {
        k.tag() == s
            || [Lang::ZhCn, Lang::En].into_iter().any(|l| {
                i18n::lookup(l, &format!("libraries.kinds.{}", k.tag()))
                    .is_some_and(|label| label.eq_ignore_ascii_case(s))
            })
    })
}

/// Available days as people write them: 每天, 工作日, 周末, 周一至周五, 周一、周三, Mon-Fri, 1-5.
fn parse_days(s: &str) -> Option<Vec<u8>> {
    let s = s.trim();
    if s.is_empty() {
        return Some(Vec::new());
    }
    fn day(t: &str) -> Option<u8> {
        let t = t.trim().to_lowercase();
        let t = t
            .trim_start_matches("星期")
            .trim_start_matches("礼拜")
            .trim_start_matches('周');
        Some(match t {
            "一" | "1" | "mon" | "monday" => 1,
            "二" | "2" | "tue" | "tuesday" => 2,
            "三" | "3" | "wed" | "wednesday" => 3,
            "四" | "4" | "thu" | "thursday" => 4,
            "五" | "5" | "fri" | "friday" => 5,
            "六" | "6" | "sat" | "saturday" => 6,
            "日" | "天" | "7" | "sun" | "sunday" => 7,
            _ => return None,
        })
    }
    let mut out = BTreeSet::new();
    for part in s.split(['、', ',', '，', ';', '；', '/', ' ']) {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        match part.to_lowercase().as_str() {
            "每天" | "每日" | "全天" | "全周" | "daily" | "everyday" | "any" => {
                out.extend(1..=7)
            }
            "工作日" | "weekdays" => out.extend(1..=5),
            "周末" | "双休日" | "weekends" | "weekend" => out.extend([6, 7]),
            _ => {
                let range = ["至", "到", "-", "~", "～", "—"]
                    .iter()
                    .find_map(|sep| part.split_once(sep));
                match range {
                    Some((a, b)) => {
                        let (a, b) = (day(a)?, day(b)?);
                        if a > b {
                            return None;
                        }
                        out.extend(a..=b);
                    }
                    None => {
                        out.insert(day(part)?);
                    }
                }
            }
        }
    }
    Some(out.into_iter().collect())
}

/// A date as Excel or a person writes it: 2026-12-31, 2026/12/31, 2026.12.31, 2026年12月31日,
/// or an Excel serial day number.
fn parse_date(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    let cleaned: String = s
        .replace(['年', '月', '/', '.'], "-")
        .replace('日', "")
        .split('T')
        .next()
        .unwrap_or("")
        .split(' ')
        .next()
        .unwrap_or("")
        .to_string();
    if let Ok(d) = NaiveDate::parse_from_str(&cleaned, "%Y-%m-%d") {
        return Some(d);
    }
    // An Excel serial date: days since 1899-12-30.
    let serial: f64 = s.parse().ok()?;
    if !(1.0..=2_958_465.0).contains(&serial) {
        return None;
    }
    NaiveDate::from_ymd_opt(1899, 12, 30)?.checked_add_days(chrono::Days::new(serial as u64))
}

const TAG_SEPARATORS: [char; 7] = ['、', ',', '，', ';', '；', '|', '\n'];

/// The tags of a cell. Labels may hold a separator themselves (停车难、乱停车), so where
/// adjacent pieces together are a term, they stay one tag (the longest run wins).
pub(crate) fn split_tags<'t>(cell: &'t str, vocabulary: &Vocabulary) -> Vec<&'t str> {
    // The pieces, as (start, end) byte spans of the cell.
    let mut spans = Vec::new();
    let mut start = 0;
    for (i, ch) in cell.char_indices() {
        if TAG_SEPARATORS.contains(&ch) {
            spans.push((start, i));
            start = i + ch.len_utf8();
        }
    }
    spans.push((start, cell.len()));
    let mut out = Vec::new();
    let mut i = 0;
    while i < spans.len() {
        let mut taken = i;
        // A label holds a separator or two at most: a few pieces joined, exact lookups only.
        for j in (i + 1..spans.len().min(i + 4)).rev() {
            let joined = cell[spans[i].0..spans[j].1].trim();
            if vocabulary.exact(joined).is_some() {
                taken = j;
                break;
            }
        }
        let piece = cell[spans[i].0..spans[taken].1].trim();
        if !piece.is_empty() {
            out.push(piece);
        }
        i = taken + 1;
    }
    out
}

fn parse_capacity(s: &str) -> std::result::Result<Option<u32>, ()> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    let s = s.strip_suffix(".0").unwrap_or(s);
    match s.parse::<u32>() {
        Ok(n) if n > 0 => Ok(Some(n)),
        _ => Err(()),
    }
}

/// The sheets of the file, as (name, rows); a CSV is one sheet named after the file.
fn tables(bytes: &[u8], file: &str) -> Result<Vec<(String, Vec<Vec<String>>)>> {
    const ZIP: &[u8] = b"PK\x03\x04";
    const CFB: &[u8] = &[0xD0, 0xCF, 0x11, 0xE0];
    if bytes.starts_with(ZIP) || bytes.starts_with(CFB) {
        return shequ_forms::read_sheets(bytes, file);
    }
    let text = crate::community_csv::decode(bytes, file)?;
    let text = text.trim_start_matches('\u{feff}');
    let first_line = text.lines().next().unwrap_or("");
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(crate::community_csv::delimiter(first_line))
        .flexible(true)
        .has_headers(false)
        .from_reader(text.as_bytes());
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            invalid(file, "unreadable_row")
                .with("row", e.position().map_or(0, |p| p.line()))
                .with("detail", e)
        })?;
        rows.push(record.iter().map(|c| c.to_string()).collect());
    }
    let name = std::path::Path::new(file)
        .file_stem()
        .map_or(file.to_string(), |s| s.to_string_lossy().into_owned());
    Ok(vec![(name, rows)])
}

/// One parsed entry, with the sheet row it came from (1-based, the header is row 1).
struct Parsed {
    library: LibraryKind,
    sheet: String,
    row: usize,
    entry: LibraryEntry,
    label: String,
}

/// An agenda item being built: term, member communities (names), mean value, mean weight,
/// a problem, and the title the cluster's own list gives it.
type Item = (String, Vec<String>, f64, f64, bool, Option<String>);

impl App {
    /// The vocabulary of the scale the current round is analysed with (the default scale
    /// when nothing has been collected yet).
    pub fn vocabulary(&self) -> Result<Vocabulary> {
        let def = match self.store().setting(shequ_store::SETTING_CURRENT_ROUND)? {
            Some(round) if !round.is_empty() => {
                let form = self.analysed_form(&round, None)?;
                self.instrument(&form)?.definition
            }
            _ => Self::default_definition()?,
        };
        Ok(Vocabulary::from_scheme(&Scheme::from_definition(&def)))
    }

    pub fn resources(&self) -> Result<Vec<Resource>> {
        self.store()
            .library(LibraryKind::Resources)?
            .iter()
            .map(|j| serde_json::from_str(j).map_err(Error::internal))
            .collect()
    }

    pub fn experts(&self) -> Result<Vec<Expert>> {
        self.store()
            .library(LibraryKind::Experts)?
            .iter()
            .map(|j| serde_json::from_str(j).map_err(Error::internal))
            .collect()
    }

    /// The template the centre hands out: a resource sheet and an expert sheet with their
    /// headers, the vocabulary (every tag with its words in both languages) and the kinds.
    pub fn library_template(&self, lang: Lang) -> Result<Vec<u8>> {
        use rust_xlsxwriter::{Format, Workbook};
        let vocabulary = self.vocabulary()?;
        let xl = |e: rust_xlsxwriter::XlsxError| Error::internal(e);
        let bold = Format::new().set_bold();
        let mut wb = Workbook::new();
        for (sheet, library, cols) in [
            (
                "libraries.sheets.resources",
                LibraryKind::Resources,
                &RESOURCE_COLUMNS[..],
            ),
            (
                "libraries.sheets.experts",
                LibraryKind::Experts,
                &EXPERT_COLUMNS[..],
            ),
        ] {
            let ws = wb.add_worksheet();
            ws.set_name(i18n::text(lang, sheet)).map_err(xl)?;
            for (c, col) in cols.iter().enumerate() {
                ws.write_string_with_format(0, c as u16, col.header(lang, library), &bold)
                    .map_err(xl)?;
                ws.set_column_width(c as u16, if *col == Col::Tags { 40 } else { 16 })
                    .map_err(xl)?;
            }
            ws.set_freeze_panes(1, 0).map_err(xl)?;
        }
        let ws = wb.add_worksheet();
        ws.set_name(i18n::text(lang, "libraries.sheets.vocabulary"))
            .map_err(xl)?;
        for (c, h) in [
            "libraries.vocab_key",
            "libraries.vocab_zh",
            "libraries.vocab_en",
        ]
        .iter()
        .enumerate()
        {
            ws.write_string_with_format(0, c as u16, i18n::text(lang, h), &bold)
                .map_err(xl)?;
            ws.set_column_width(c as u16, 30).map_err(xl)?;
        }
        for (r, t) in vocabulary.terms.iter().enumerate() {
            let r = r as u32 + 1;
            ws.write_string(r, 0, &t.key).map_err(xl)?;
            ws.write_string(r, 1, t.label.pick(Lang::ZhCn).unwrap_or(""))
                .map_err(xl)?;
            ws.write_string(r, 2, t.label.pick(Lang::En).unwrap_or(""))
                .map_err(xl)?;
        }
        let ws = wb.add_worksheet();
        ws.set_name(i18n::text(lang, "libraries.sheets.kinds"))
            .map_err(xl)?;
        ws.set_column_width(0, 24).map_err(xl)?;
        ws.set_column_width(1, 24).map_err(xl)?;
        for (r, k) in ResourceKind::ALL.iter().enumerate() {
            let key = format!("libraries.kinds.{}", k.tag());
            ws.write_string(r as u32, 0, i18n::text(Lang::ZhCn, &key))
                .map_err(xl)?;
            ws.write_string(r as u32, 1, i18n::text(Lang::En, &key))
                .map_err(xl)?;
        }
        wb.save_to_buffer().map_err(xl)
    }

    /// Reads a filled template (or any sheet with its headers) and adds every row to its
    /// library, audited, in one transaction: all of it or, for the first bad row, nothing,
    /// with a message naming the sheet, the row, the column and what is wrong.
    pub fn import_libraries(
        &mut self,
        bytes: &[u8],
        file: &str,
        dry_run: bool,
        now: DateTime<Utc>,
    ) -> Result<LibraryImport> {
        let parsed = self.parse_libraries(bytes, file)?;
        let entries: Vec<LibraryEntry> = parsed.iter().map(|p| p.entry.clone()).collect();
        if let Some(&i) = self.store().library_existing(&entries)?.first() {
            let p = &parsed[i];
            return Err(invalid(file, "duplicate_existing")
                .with("sheet", &p.sheet)
                .with("row", p.row)
                .with("name", &p.label));
        }
        let count = |lib| parsed.iter().filter(|p| p.library == lib).count() as u32;
        let report = LibraryImport {
            file: file.to_string(),
            resources: count(LibraryKind::Resources),
            experts: count(LibraryKind::Experts),
            dry_run,
        };
        if !dry_run {
            let actor = self.actor();
            self.store_mut().insert_library(&entries, &actor, now)?;
        }
        Ok(report)
    }

    fn parse_libraries(&self, bytes: &[u8], file: &str) -> Result<Vec<Parsed>> {
        self.parse_tables(tables(bytes, file)?, file)
    }

    /// Adds one entry, or changes one (`form.id`), as typed in the window: the template's
    /// columns by key, checked exactly as an imported row is. Audited; a name that another
    /// entry of the library has is refused.
    pub fn save_library_entry(
        &mut self,
        form: &LibraryForm,
        now: DateTime<Utc>,
    ) -> Result<Libraries> {
        let library = match form.library.as_str() {
            "resources" => LibraryKind::Resources,
            "experts" => LibraryKind::Experts,
            other => {
                return Err(Error::new(ErrorCode::InvalidValue)
                    .with("field", "library")
                    .with("value", other)
                    .with("why", "unknown_library"))
            }
        };
        let columns: &[Col] = match library {
            LibraryKind::Resources => &RESOURCE_COLUMNS,
            LibraryKind::Experts => &EXPERT_COLUMNS,
        };
        let header: Vec<String> = columns
            .iter()
            .map(|c| c.header(Lang::ZhCn, library))
            .collect();
        let cells: Vec<String> = columns
            .iter()
            .map(|c| form.fields.get(c.key()).cloned().unwrap_or_default())
            .collect();
        // The form has no file, sheet or row: the refusal names the field, the value and
        // what is wrong with it.
        let unplaced = |e: Error| {
            if e.code != ErrorCode::LibraryInvalid {
                return e;
            }
            let p = |k: &str| e.params.get(k).cloned().unwrap_or_default();
            let column = Col::from_header(&p("column"), library).map(Col::key);
            let (field, value, why) = match p("library_problem").as_str() {
                "tag_unknown" => ("tags", p("tag"), "unknown_term"),
                "tag_unknown_near" => ("tags", p("tag"), "tag_near"),
                "no_place" => ("street", String::new(), "library_no_place"),
                "required" => (column.unwrap_or("name"), p("value"), "library_required"),
                "bad_capacity" => ("capacity", p("value"), "library_capacity"),
                "bad_days" => ("days", p("value"), "library_days"),
                "bad_date" => ("until", p("value"), "library_date"),
                "no_tags" => ("tags", p("value"), "library_no_tags"),
                "bad_kind" => ("kind", p("value"), "library_kind"),
                "unknown_community" => ("community", p("value"), "library_community"),
                _ => return e,
            };
            let mut out = Error::new(ErrorCode::InvalidValue)
                .with("field", field)
                .with("value", value)
                .with("why", why);
            if let Some(s) = e.params.get("suggestion") {
                out = out.with("suggestion", s);
            }
            out
        };
        let mut parsed = self
            .parse_tables(vec![(String::new(), vec![header, cells])], "")
            .map_err(unplaced)?;
        let mut entry = parsed.remove(0).entry;
        let actor = self.actor();
        let duplicate = || {
            Error::new(ErrorCode::InvalidValue)
                .with("field", "name")
                .with(
                    "value",
                    form.fields.get("name").cloned().unwrap_or_default(),
                )
                .with("why", "library_duplicate")
        };
        match form.id.as_deref() {
            None => {
                if !self
                    .store()
                    .library_existing(std::slice::from_ref(&entry))?
                    .is_empty()
                {
                    return Err(duplicate());
                }
                self.store_mut().insert_library(&[entry], &actor, now)?;
            }
            Some(id) => {
                let id: Uuid = id.parse().map_err(|_| {
                    Error::new(ErrorCode::NotFound)
                        .with("what", "library_entry")
                        .with("id", id)
                })?;
                entry.id = id.to_string();
                entry.data = match library {
                    LibraryKind::Resources => {
                        let old = self.resources()?.into_iter().find(|r| r.id == id);
                        let mut r: Resource =
                            serde_json::from_str(&entry.data).map_err(Error::internal)?;
                        r.id = id;
                        r.source_instance = old.and_then(|o| o.source_instance);
                        serde_json::to_string(&r).map_err(Error::internal)?
                    }
                    LibraryKind::Experts => {
                        let mut e: Expert =
                            serde_json::from_str(&entry.data).map_err(Error::internal)?;
                        e.id = id;
                        serde_json::to_string(&e).map_err(Error::internal)?
                    }
                };
                if !self.store_mut().update_library(&entry, &actor, now)? {
                    return Err(duplicate());
                }
            }
        }
        self.libraries()
    }

    fn parse_tables(
        &self,
        tables: Vec<(String, Vec<Vec<String>>)>,
        file: &str,
    ) -> Result<Vec<Parsed>> {
        let vocabulary = self.vocabulary()?;
        let communities = self.store().communities()?;
        let by_code: HashMap<&str, &shequ_core::Community> =
            communities.iter().map(|c| (c.code.as_str(), c)).collect();
        // By name only where the name is one community's (names may repeat; codes do not).
        let mut by_name: HashMap<&str, Option<&shequ_core::Community>> = HashMap::new();
        for c in &communities {
            by_name
                .entry(c.name.as_str())
                .and_modify(|e| *e = None)
                .or_insert(Some(c));
        }
        let mut out: Vec<Parsed> = Vec::new();
        let mut first_seen: HashMap<(LibraryKind, [String; 4]), (String, usize)> = HashMap::new();
        let mut recognised = false;
        for (sheet, rows) in tables {
            let Some(header_row) = rows.first() else {
                continue;
            };
            let Some(library) = library_of(header_row) else {
                continue;
            };
            recognised = true;
            let mut columns: HashMap<Col, usize> = HashMap::new();
            for (i, h) in header_row.iter().enumerate() {
                if let Some(c) = Col::from_header(h, library) {
                    columns.entry(c).or_insert(i);
                }
            }
            let required = match library {
                LibraryKind::Resources => &RESOURCE_REQUIRED,
                LibraryKind::Experts => &EXPERT_REQUIRED,
            };
            let missing: Vec<String> = required
                .iter()
                .filter(|c| !columns.contains_key(c))
                .map(|c| c.header(Lang::ZhCn, library))
                .collect();
            if !missing.is_empty() {
                return Err(invalid(file, "missing_columns")
                    .with("sheet", &sheet)
                    .with("columns", missing.join("、")));
            }
            for (i, cells) in rows.iter().enumerate().skip(1) {
                let row = i + 1;
                if cells.iter().all(|c| c.trim().is_empty()) {
                    continue;
                }
                let get = |c: Col| {
                    columns
                        .get(&c)
                        .and_then(|&i| cells.get(i))
                        .map_or("", |s| s.trim())
                };
                let bad = |c: Col, problem: &str| {
                    let column = columns
                        .get(&c)
                        .and_then(|&i| header_row.get(i))
                        .map_or_else(|| c.header(Lang::ZhCn, library), |h| h.trim().to_string());
                    invalid(file, problem)
                        .with("sheet", &sheet)
                        .with("row", row)
                        .with("column", column)
                        .with("value", get(c))
                };
                let name = get(Col::Name).to_string();
                if name.is_empty() || name.chars().count() > 200 {
                    return Err(bad(Col::Name, "required"));
                }
                let capacity = parse_capacity(get(Col::Capacity))
                    .map_err(|_| bad(Col::Capacity, "bad_capacity"))?;
                let days = parse_days(get(Col::Days)).ok_or_else(|| bad(Col::Days, "bad_days"))?;
                let until = match get(Col::Until) {
                    "" => None,
                    s => Some(parse_date(s).ok_or_else(|| bad(Col::Until, "bad_date"))?),
                };
                let mut tags: Vec<String> = Vec::new();
                for t in split_tags(get(Col::Tags), &vocabulary) {
                    match vocabulary.resolve(t) {
                        Resolved::Term(term) => {
                            if !tags.contains(&term.key) {
                                tags.push(term.key.clone());
                            }
                        }
                        Resolved::Unknown(near) => {
                            let e = bad(Col::Tags, "tag_unknown").with("tag", t);
                            return Err(match near {
                                Some(n) => invalid(file, "tag_unknown_near")
                                    .with("sheet", &sheet)
                                    .with("row", row)
                                    .with("tag", t)
                                    .with("suggestion", n.label.pick(Lang::ZhCn).unwrap_or(&n.key))
                                    .with(
                                        "suggestion_en",
                                        n.label.pick(Lang::En).unwrap_or(&n.key),
                                    ),
                                None => e,
                            });
                        }
                    }
                }
                if tags.is_empty() {
                    return Err(bad(Col::Tags, "no_tags"));
                }
                let availability = Availability {
                    days,
                    hours: get(Col::Hours).to_string(),
                    until,
                };
                let contact = get(Col::Contact).to_string();
                let id = shequ_core::new_id();
                let (identity, data) = match library {
                    LibraryKind::Resources => {
                        let kind =
                            parse_kind(get(Col::Kind)).ok_or_else(|| bad(Col::Kind, "bad_kind"))?;
                        let community = match get(Col::Community) {
                            "" => None,
                            s => Some(
                                by_code
                                    .get(s)
                                    .copied()
                                    .or_else(|| by_name.get(s).copied().flatten())
                                    .ok_or_else(|| bad(Col::Community, "unknown_community"))?,
                            ),
                        };
                        let street = match (get(Col::Street), community) {
                            ("", Some(c)) => c.street.clone(),
                            ("", None) => return Err(bad(Col::Street, "no_place")),
                            (s, _) => s.to_string(),
                        };
                        let r = Resource {
                            id,
                            kind,
                            name: name.clone(),
                            community: community.map(|c| c.code.clone()),
                            street: street.clone(),
                            contact,
                            capacity,
                            availability,
                            tags,
                            source_instance: None,
                        };
                        let identity = [
                            kind.tag().to_string(),
                            name.clone(),
                            street,
                            r.community.clone().unwrap_or_default(),
                        ];
                        (
                            identity,
                            serde_json::to_string(&r).map_err(Error::internal)?,
                        )
                    }
                    LibraryKind::Experts => {
                        let organisation = get(Col::Organisation).to_string();
                        if organisation.is_empty() {
                            return Err(bad(Col::Organisation, "required"));
                        }
                        let e = Expert {
                            id,
                            name: name.clone(),
                            organisation: organisation.clone(),
                            street: get(Col::Street).to_string(),
                            contact,
                            capacity,
                            availability,
                            fields: tags,
                        };
                        let identity = [name.clone(), organisation, String::new(), String::new()];
                        (
                            identity,
                            serde_json::to_string(&e).map_err(Error::internal)?,
                        )
                    }
                };
                if let Some((first_sheet, first_row)) = first_seen.get(&(library, identity.clone()))
                {
                    return Err(invalid(file, "duplicate_row")
                        .with("sheet", &sheet)
                        .with("row", row)
                        .with("name", &name)
                        .with("first_sheet", first_sheet)
                        .with("first_row", first_row));
                }
                first_seen.insert((library, identity.clone()), (sheet.clone(), row));
                out.push(Parsed {
                    library,
                    sheet: sheet.clone(),
                    row,
                    entry: LibraryEntry {
                        library,
                        id: id.to_string(),
                        identity,
                        data,
                    },
                    label: name,
                });
            }
        }
        if !recognised {
            return Err(invalid(file, "no_library_sheet"));
        }
        if out.is_empty() {
            return Err(invalid(file, "empty"));
        }
        Ok(out)
    }

    /// The ranked, explained candidates for a community's high and medium needs and its top
    /// problems, at most `limit` for each, on `today` (expired offers are left out).
    pub fn community_matches(
        &self,
        code: &str,
        round: Option<&str>,
        limit: usize,
        today: NaiveDate,
    ) -> Result<CommunityMatches> {
        let district = self.district(round, None)?;
        let profile = district
            .communities
            .iter()
            .find(|c| c.code == code)
            .ok_or_else(|| {
                Error::new(ErrorCode::NotFound)
                    .with("what", "community")
                    .with("id", code)
            })?;
        let class = district.classification(code).ok_or_else(|| {
            Error::new(ErrorCode::NotFound)
                .with("what", "community")
                .with("id", code)
        })?;
        let (resources, experts) = (self.resources()?, self.experts()?);
        let recorded = self.store().matches()?;
        let index = Index::new(&resources, &experts, &current_load(&recorded), today);
        let cluster = self.cluster_mates(code, today)?;
        let place = Place {
            code,
            street: &profile.street,
            cluster: &cluster,
        };
        let found = index.matches(&place, &demands(profile, class), limit);
        Ok(CommunityMatches {
            code: code.to_string(),
            name: profile.name.clone(),
            round: district.round.clone(),
            demands: found,
            recorded: recorded
                .into_iter()
                .filter(|m| m.community_code == code)
                .collect(),
        })
    }

    /// Records a match (or moves one on): the analyst's confirmation of a candidate for a
    /// community's need or problem, with its status and outcome; audited.
    pub fn set_match(
        &mut self,
        code: &str,
        term: &str,
        supplier: Uuid,
        status: &str,
        outcome: &str,
        now: DateTime<Utc>,
    ) -> Result<MatchRow> {
        if self.store().community_by_code(code)?.is_none() {
            return Err(Error::new(ErrorCode::NotFound)
                .with("what", "community")
                .with("id", code));
        }
        if self.vocabulary()?.get(term).is_none() {
            return Err(Error::new(ErrorCode::InvalidValue)
                .with("field", "term")
                .with("value", term)
                .with("why", "unknown_term"));
        }
        let name = self
            .resources()?
            .into_iter()
            .find(|r| r.id == supplier)
            .map(|r| r.name)
            .or_else(|| {
                self.experts()
                    .ok()?
                    .into_iter()
                    .find(|e| e.id == supplier)
                    .map(|e| e.name)
            })
            .ok_or_else(|| {
                Error::new(ErrorCode::NotFound)
                    .with("what", "supplier")
                    .with("id", supplier)
            })?;
        let actor = self.actor();
        self.store_mut().set_match(
            code,
            term,
            &supplier.to_string(),
            &name,
            status,
            outcome,
            &actor,
            now,
        )
    }
}

/// Matches agreed or in progress, per supplier.
fn current_load(recorded: &[MatchRow]) -> BTreeMap<Uuid, u32> {
    let mut load = BTreeMap::new();
    for m in recorded
        .iter()
        .filter(|m| m.status == "agreed" || m.status == "in_progress")
    {
        if let Ok(id) = m.supplier_id.parse::<Uuid>() {
            *load.entry(id).or_default() += 1;
        }
    }
    load
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_read_as_people_write_them() {
        assert_eq!(parse_days(""), Some(vec![]));
        assert_eq!(parse_days("每天"), Some(vec![1, 2, 3, 4, 5, 6, 7]));
        assert_eq!(parse_days("工作日"), Some(vec![1, 2, 3, 4, 5]));
        assert_eq!(parse_days("周一至周五"), Some(vec![1, 2, 3, 4, 5]));
        assert_eq!(parse_days("周一、周三，星期六"), Some(vec![1, 3, 6]));
        assert_eq!(parse_days("周末"), Some(vec![6, 7]));
        assert_eq!(parse_days("Mon-Fri"), Some(vec![1, 2, 3, 4, 5]));
        assert_eq!(parse_days("1-3, 7"), Some(vec![1, 2, 3, 7]));
        assert_eq!(parse_days("周五至周一"), None);
        assert_eq!(parse_days("有空就来"), None);
    }

    #[test]
    fn dates_capacities_and_kinds() {
        let d = NaiveDate::from_ymd_opt(2026, 12, 31);
        for s in [
            "2026-12-31",
            "2026/12/31",
            "2026.12.31",
            "2026年12月31日",
            "46387",
        ] {
            assert_eq!(parse_date(s), d, "{s}");
        }
        assert_eq!(parse_date("明年"), None);
        assert_eq!(parse_date("2026-13-01"), None);
        assert_eq!(parse_capacity(""), Ok(None));
        assert_eq!(parse_capacity("3"), Ok(Some(3)));
        assert_eq!(parse_capacity("3.0"), Ok(Some(3)));
        assert_eq!(parse_capacity("0"), Err(()));
        assert_eq!(parse_capacity("三个"), Err(()));
        assert_eq!(
            parse_kind("社会组织"),
            Some(ResourceKind::SocialOrganisation)
        );
        assert_eq!(parse_kind("Volunteer"), Some(ResourceKind::Volunteer));
        assert_eq!(parse_kind("open_venue"), Some(ResourceKind::OpenVenue));
        assert_eq!(parse_kind("外星人"), None);
    }
}

/// A vocabulary term with its words in both languages, as the window shows tags.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct TermWords {
    pub key: String,
    pub zh: String,
    pub en: String,
}

/// Both libraries and the vocabulary their tags come from.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct Libraries {
    pub resources: Vec<Resource>,
    pub experts: Vec<Expert>,
    pub terms: Vec<TermWords>,
}

impl App {
    pub fn libraries(&self) -> Result<Libraries> {
        let terms = self
            .vocabulary()?
            .terms
            .into_iter()
            .map(|t| TermWords {
                zh: t.label.pick(Lang::ZhCn).unwrap_or(&t.key).to_string(),
                en: t.label.pick(Lang::En).unwrap_or(&t.key).to_string(),
                key: t.key,
            })
            .collect();
        Ok(Libraries {
            resources: self.resources()?,
            experts: self.experts()?,
            terms,
        })
    }

    /// Writes the template into `dir` as `资源库模板.xlsx` (`library-template.xlsx` in
    /// English); returns its path.
    pub fn library_template_into(
        &self,
        dir: &std::path::Path,
        lang: Lang,
    ) -> Result<std::path::PathBuf> {
        let path = dir.join(i18n::text(lang, "libraries.template_file"));
        shequ_core::fs::write_atomic(&path, &self.library_template(lang)?)?;
        Ok(path)
    }

    /// The agenda of a cluster's project matching meeting, as Word and Excel in `dir`: the
    /// needs and problems two or more current members share (all of theirs when none is
    /// shared), each with the three best resources and experts for the cluster (a member's
    /// own resources count as the cluster's).
    pub fn cluster_agenda(
        &self,
        name: &str,
        lang: Lang,
        dir: &std::path::Path,
        now: DateTime<Utc>,
    ) -> Result<Vec<std::path::PathBuf>> {
        let view = self.cluster(name, now)?;
        let district = self.district(None, None)?;
        let today = self.today(now);
        let vocabulary = self.vocabulary()?;
        // Term → (communities, values, weights).
        let mut by_term: BTreeMap<String, (Vec<String>, Vec<f64>, Vec<f64>, bool)> =
            BTreeMap::new();
        for code in &view.current {
            let (Some(p), Some(c)) = (district.profile(code), district.classification(code)) else {
                continue;
            };
            for d in demands(p, c) {
                let e = by_term.entry(d.term.clone()).or_default();
                e.0.push(p.name.clone());
                e.1.push(d.value);
                e.2.push(d.weight);
                e.3 = d.problem;
            }
        }
        // The cluster's own annual list when it keeps one for this year; else the needs the
        // members share (or, when they share none, all of their needs).
        let listed: Vec<ProjectNeedRow> = self
            .project_needs(name, Some(chrono::Datelike::year(&today)))?
            .into_iter()
            .filter(|n| n.status != "dropped")
            .collect();
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
        let from_list: Vec<Item> = listed
            .iter()
            .map(|n| {
                let found = by_term.get(&n.term);
                (
                    n.term.clone(),
                    found.map(|f| f.0.clone()).unwrap_or_default(),
                    found.map_or(0.0, |f| mean(&f.1)),
                    found.map_or(1.0, |f| mean(&f.2)),
                    found.map_or(n.term.starts_with("problem:"), |f| f.3),
                    Some(n.title.clone()),
                )
            })
            .collect();
        let shared = by_term.values().any(|v| v.0.len() >= 2);
        let mut items: Vec<Item> = by_term
            .into_iter()
            .filter(|(_, v)| !shared || v.0.len() >= 2)
            .map(|(term, (communities, values, weights, problem))| {
                (
                    term,
                    communities.clone(),
                    mean(&values),
                    mean(&weights),
                    problem,
                    None,
                )
            })
            .collect();
        items.sort_by(|a, b| {
            b.1.len()
                .cmp(&a.1.len())
                .then(b.3.total_cmp(&a.3))
                .then(a.0.cmp(&b.0))
        });
        items.truncate(10);
        if !from_list.is_empty() {
            items = from_list;
        }
        let (resources, experts) = (self.resources()?, self.experts()?);
        let recorded = self.store().matches()?;
        let index = Index::new(&resources, &experts, &current_load(&recorded), today);
        let cluster: BTreeSet<String> = view.current.iter().cloned().collect();
        // The cluster as a place: its members' resources are "same cluster"; no street.
        let place = Place {
            code: "",
            street: "\u{0}",
            cluster: &cluster,
        };
        let proximity = |p: shequ_analysis::matching::Proximity| {
            i18n::text(lang, &format!("cli.proximity.{}", p.key()))
        };
        let agenda_items = items
            .into_iter()
            .map(|(term, communities, value, weight, problem, title)| {
                let demand = shequ_analysis::matching::Demand {
                    term: term.clone(),
                    problem,
                    value,
                    tier: None,
                    weight,
                };
                let found = index.matches(&place, std::slice::from_ref(&demand), 3);
                let candidates = found
                    .into_iter()
                    .flat_map(|d| d.candidates)
                    .map(|c| {
                        let kind = match &c.supplier {
                            shequ_analysis::matching::Supplier::Resource { kind, .. } => {
                                i18n::text(lang, &format!("libraries.kinds.{}", kind.tag()))
                            }
                            shequ_analysis::matching::Supplier::Expert { organisation, .. } => {
                                organisation.clone()
                            }
                        };
                        let load = match c.capacity {
                            Some(cap) => i18n::message(
                                lang,
                                "cli.match_load_of",
                                &BTreeMap::from([
                                    ("active".to_string(), c.active.to_string()),
                                    ("capacity".to_string(), cap.to_string()),
                                ]),
                            ),
                            None => i18n::message(
                                lang,
                                "cli.match_load",
                                &BTreeMap::from([("active".to_string(), c.active.to_string())]),
                            ),
                        };
                        shequ_report::AgendaCandidate {
                            name: c.supplier.name().to_string(),
                            kind,
                            score: c.score,
                            why: format!("{} · {}", proximity(c.proximity), load),
                        }
                    })
                    .collect();
                let term_label = vocabulary
                    .get(&term)
                    .and_then(|t| t.label.pick(lang))
                    .unwrap_or(&term)
                    .to_string();
                shequ_report::AgendaItem {
                    label: match title {
                        Some(t) if term.is_empty() => t,
                        Some(t) => format!("{t}（{term_label}）"),
                        None => term_label,
                    },
                    communities,
                    value,
                    problem,
                    candidates,
                }
            })
            .collect();
        let round_no = shequ_analysis::clusters::round_of(
            NaiveDate::parse_from_str(&view.cluster.starts, "%Y-%m-%d").map_err(Error::internal)?,
            view.cluster.months,
            today,
        );
        let chair = view
            .schedule
            .iter()
            .find(|t| Some(t.round) == round_no && t.kept)
            .map(|t| t.chair.clone());
        let names: Vec<String> = view
            .current
            .iter()
            .map(|c| district.profile(c).map_or(c.clone(), |p| p.name.clone()))
            .collect();
        let agenda = shequ_report::Agenda {
            cluster: view.cluster.name.clone(),
            members: names,
            round: district.round.clone(),
            chair,
            items: agenda_items,
            lang,
            generated_at: now
                .with_timezone(&self.utc_offset)
                .format("%Y-%m-%d %H:%M")
                .to_string(),
        };
        let stem = format!(
            "{}-{}-{}",
            i18n::text(lang, "libraries.agenda_file"),
            crate::reports::file_name_safe(&view.cluster.name),
            crate::reports::file_name_safe(&district.round)
        );
        let docx = dir.join(format!("{stem}.docx"));
        let xlsx = dir.join(format!("{stem}.xlsx"));
        shequ_core::fs::write_atomic(&docx, &shequ_report::agenda_docx(&agenda)?)?;
        shequ_core::fs::write_atomic(&xlsx, &shequ_report::agenda_xlsx(&agenda)?)?;
        Ok(vec![docx, xlsx])
    }
}

#[cfg(test)]
mod tag_tests {
    use super::*;

    #[test]
    fn a_label_holding_a_separator_stays_one_tag() {
        let def = shequ_forms::default_scale().unwrap();
        let v = Vocabulary::from_scheme(&Scheme::from_definition(&def));
        assert_eq!(split_tags("停车难、乱停车", &v), ["停车难、乱停车"]);
        assert_eq!(
            split_tags("加装电梯、停车难、乱停车，物业服务差", &v),
            ["加装电梯", "停车难、乱停车", "物业服务差"]
        );
        assert_eq!(
            split_tags(" 加装电梯 ;; 居家维修 ", &v),
            ["加装电梯", "居家维修"]
        );
        // Pieces that are no term together stay apart (and are refused one by one).
        assert_eq!(split_tags("停车难、航天", &v), ["停车难", "航天"]);
        assert_eq!(
            split_tags("Pets (unleashed dogs, droppings)", &v),
            ["Pets (unleashed dogs, droppings)"]
        );
    }
}

/// What a resident volunteered in block I of the scale, offered for the resource library.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct VolunteeredOffer {
    /// The interview it came from.
    pub instance_id: String,
    pub community_code: String,
    pub kind: ResourceKind,
    /// Hours a month offered (volunteers).
    pub hours: Option<u32>,
    /// The skills ticked (choice names of the scale's `skills` list).
    pub skills: Vec<String>,
    /// Need terms the skills can meet, as a starting point the analyst can change.
    pub suggested_tags: Vec<String>,
    /// Already in the library.
    pub included: bool,
}

/// The default scale's skills and the needs they can meet. A skill of another scale, or
/// `other`, suggests nothing: the analyst chooses the tags.
const SKILL_TERMS: &[(&str, &[&str])] = &[
    ("repair", &["service:repairs"]),
    (
        "medical",
        &["service:health_check", "elderly:medical_escort"],
    ),
    ("legal", &["hardship:assistance"]),
    ("teaching", &["children:tutoring", "children:after_school"]),
    ("arts", &["service:culture_sports", "elderly:activities"]),
    ("it", &["service:info_hotline"]),
    ("cooking", &["elderly:meals"]),
];

impl App {
    /// Block I of the current round's interviews: residents who would volunteer hours, offer
    /// a venue, or connect the community with outside resources, each with the interview it
    /// came from. Nothing personal is carried (no name, no contact, no free text).
    pub fn volunteered(&self) -> Result<Vec<VolunteeredOffer>> {
        let Some(round) = self
            .store()
            .setting(shequ_store::SETTING_CURRENT_ROUND)?
            .filter(|r| !r.is_empty())
        else {
            return Ok(Vec::new());
        };
        let form = self.analysed_form(&round, None)?;
        let vocabulary = self.vocabulary()?;
        let included: BTreeSet<String> = self
            .resources()?
            .into_iter()
            .filter_map(|r| r.source_instance)
            .collect();
        let mut out = Vec::new();
        for rec in self.store().analysis_records(&round, &form)? {
            let a = &rec.answers;
            let mut offer = |kind, hours, skills: Vec<String>| {
                let suggested_tags: Vec<String> = skills
                    .iter()
                    .flat_map(|s| {
                        SKILL_TERMS
                            .iter()
                            .filter(move |(k, _)| k == s)
                            .flat_map(|(_, terms)| terms.iter())
                    })
                    .filter(|t| vocabulary.get(t).is_some())
                    .map(|t| t.to_string())
                    .collect();
                let instance_id = format!(
                    "{}#{}",
                    rec.instance_id,
                    serde_json::to_value(kind)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default()
                );
                out.push(VolunteeredOffer {
                    included: included.contains(&instance_id),
                    instance_id,
                    community_code: rec.community_code.clone(),
                    kind,
                    hours,
                    skills,
                    suggested_tags,
                });
            };
            let hours: u32 = a
                .get("i_volunteer_hours")
                .and_then(|h| h.trim().parse().ok())
                .unwrap_or(0);
            if hours > 0 {
                let skills = a
                    .get("i_skills")
                    .map(|s| s.split_whitespace().map(str::to_string).collect())
                    .unwrap_or_default();
                offer(ResourceKind::Volunteer, Some(hours), skills);
            }
            if a.get("i_venue").map(String::as_str) == Some("yes") {
                offer(ResourceKind::OpenVenue, None, Vec::new());
            }
        }
        Ok(out)
    }

    /// Adds a volunteered offer to the resource library under the tags the analyst chose,
    /// named after its community (no resident's name), with the interview it came from.
    pub fn include_volunteered(
        &mut self,
        offer_id: &str,
        tags: &[String],
        now: DateTime<Utc>,
    ) -> Result<Resource> {
        let offer = self
            .volunteered()?
            .into_iter()
            .find(|o| o.instance_id == offer_id)
            .ok_or_else(|| {
                Error::new(ErrorCode::NotFound)
                    .with("what", "volunteered")
                    .with("id", offer_id)
            })?;
        if offer.included {
            return Err(Error::new(ErrorCode::InvalidValue)
                .with("field", "offer")
                .with("value", offer_id)
                .with("why", "already_included"));
        }
        let vocabulary = self.vocabulary()?;
        let mut keys = Vec::new();
        for t in tags.iter().flat_map(|t| split_tags(t, &vocabulary)) {
            let key = crate::clusters::resolve_tag(&vocabulary, "tags", t)?;
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
        if keys.is_empty() {
            return Err(Error::new(ErrorCode::InvalidValue)
                .with("field", "tags")
                .with("value", "")
                .with("why", "unknown_term"));
        }
        let community = self
            .store()
            .community_by_code(&offer.community_code)?
            .ok_or_else(|| Error::internal("offer of an unknown community"))?;
        // The id's random tail (a v7 id's head is its time, shared by interviews of a minute).
        let instance = offer_id.split('#').next().unwrap_or(offer_id);
        let short: String = instance
            .chars()
            .rev()
            .take(8)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        let name = i18n::message(
            Lang::ZhCn,
            &format!("libraries.volunteered_name.{}", offer.kind.tag()),
            &BTreeMap::from([
                ("community".to_string(), community.name.clone()),
                ("id".to_string(), short),
            ]),
        );
        let r = Resource {
            id: shequ_core::new_id(),
            kind: offer.kind,
            name: name.clone(),
            community: Some(community.code.clone()),
            street: community.street.clone(),
            contact: String::new(),
            capacity: None,
            availability: Availability {
                days: Vec::new(),
                hours: offer.hours.map(|h| format!("{h} h/月")).unwrap_or_default(),
                until: None,
            },
            tags: keys,
            source_instance: Some(offer.instance_id.clone()),
        };
        let entry = LibraryEntry {
            library: LibraryKind::Resources,
            id: r.id.to_string(),
            identity: [
                r.kind.tag().to_string(),
                name,
                r.street.clone(),
                community.code.clone(),
            ],
            data: serde_json::to_string(&r).map_err(Error::internal)?,
        };
        let actor = self.actor();
        self.store_mut().insert_library(&[entry], &actor, now)?;
        Ok(r)
    }
}
