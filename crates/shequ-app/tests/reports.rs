//! Reports on the demo district: the community .docx (title, scores as the analysis gives
//! them, charts that decode, every checklist action in a table row; no numbers for a
//! community with too little data) and the classification .xlsx read back with calamine.

use std::collections::BTreeMap;
use std::io::{Cursor, Read};
use std::path::Path;

use calamine::{Data, Reader, Xlsx};
use chrono::{DateTime, TimeZone, Utc};
use shequ_analysis::checklist::pick;
use shequ_analysis::classify::Status;
use shequ_app::App;
use shequ_core::{i18n, ErrorCode, Lang};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 29, 8, 30, 0).unwrap()
}

fn demo(dir: &Path) -> App {
    let mut app = App::open(dir, &shequ_app::Passphrase::new("test passphrase"), now()).unwrap();
    app.load_demo(now()).unwrap();
    app
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// The text of every `<w:t>` in `xml`, concatenated.
fn text_of(xml: &str) -> String {
    let mut out = String::new();
    let mut rest = xml;
    while let Some(i) = rest.find("<w:t") {
        rest = &rest[i + 4..];
        // `<w:t>` or `<w:t xml:space=…>`, not `<w:tbl>`, `<w:tr>`, `<w:tc>`…
        if !(rest.starts_with('>') || rest.starts_with(' ')) {
            continue;
        }
        let Some(open_end) = rest.find('>') else {
            break;
        };
        if rest[..open_end].ends_with('/') {
            rest = &rest[open_end + 1..];
            continue;
        }
        rest = &rest[open_end + 1..];
        let close = rest.find("</w:t>").expect("closed w:t");
        out.push_str(&unescape(&rest[..close]));
        rest = &rest[close..];
    }
    out
}

/// The parts of `xml` between `<tag>`/`<tag …>` and `</tag>` (not nested in themselves).
fn elements<'a>(xml: &'a str, tag: &str) -> Vec<&'a str> {
    let open = format!("<{tag}");
    let close = format!("</{tag}>");
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(i) = rest.find(&open) {
        let after = &rest[i + open.len()..];
        if !(after.starts_with('>') || after.starts_with(' ')) {
            rest = after;
            continue;
        }
        let Some(end) = after.find(&close) else { break };
        out.push(&after[..end]);
        rest = &after[end + close.len()..];
    }
    out
}

struct Docx {
    paragraphs: Vec<String>,
    /// Each table row as its cells' texts.
    rows: Vec<Vec<String>>,
    media: Vec<(String, Vec<u8>)>,
}

fn read_docx(path: &Path) -> Docx {
    let bytes = std::fs::read(path).unwrap();
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    let mut xml = String::new();
    zip.by_name("word/document.xml")
        .unwrap()
        .read_to_string(&mut xml)
        .unwrap();
    let mut media = Vec::new();
    for i in 0..zip.len() {
        let mut f = zip.by_index(i).unwrap();
        let name = f.name().unwrap().to_string();
        if name.starts_with("word/media/") && name.ends_with(".png") {
            let mut b = Vec::new();
            f.read_to_end(&mut b).unwrap();
            media.push((name, b));
        }
    }
    Docx {
        paragraphs: elements(&xml, "w:p").into_iter().map(text_of).collect(),
        rows: elements(&xml, "w:tr")
            .into_iter()
            .map(|r| elements(r, "w:tc").into_iter().map(text_of).collect())
            .collect(),
        media,
    }
}

fn png_size(bytes: &[u8]) -> (u32, u32) {
    let decoder = png::Decoder::new(Cursor::new(bytes));
    let mut reader = decoder.read_info().expect("decodes as PNG");
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).expect("a frame");
    (info.width, info.height)
}

fn round(app: &App) -> String {
    let rounds = app.rounds().unwrap();
    rounds
        .iter()
        .find(|r| r.current)
        .unwrap_or(&rounds[0])
        .name
        .clone()
}

#[test]
fn community_report_carries_the_analysis_charts_and_checklist() {
    let dir = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let app = demo(dir.path());
    let round = round(&app);
    let district = app.district(None, None).unwrap();
    let profile = district.profile("DH-06").unwrap();
    assert!(profile.sufficient, "DH-06 has enough responses in the demo");
    assert_eq!(profile.name, "纺织新村社区");

    let path = app
        .community_report("DH-06", None, Lang::ZhCn, out.path(), now())
        .unwrap();
    assert_eq!(
        path.file_name().unwrap().to_str().unwrap(),
        format!("社区肖像-DH-06-{round}.docx")
    );
    let doc = read_docx(&path);

    let title = format!("纺织新村社区社区肖像与治理清单（{round}）");
    assert_eq!(
        doc.paragraphs.first(),
        Some(&title),
        "{:?}",
        &doc.paragraphs[..3]
    );
    assert!(
        doc.paragraphs[1].contains("东湖街道"),
        "{}",
        doc.paragraphs[1]
    );
    assert!(doc.paragraphs[1].contains(&profile.n.to_string()));

    // Each dimension's score, as the analysis has it to one decimal, in its table row.
    assert_eq!(profile.dimensions.len(), 4);
    for s in &profile.dimensions {
        let label = i18n::text(Lang::ZhCn, &format!("analysis.dimensions.{}", s.dimension));
        let score = format!("{:.1}", s.score.expect("a score"));
        let row = doc
            .rows
            .iter()
            .find(|r| r.first() == Some(&label))
            .unwrap_or_else(|| panic!("no row for {label}"));
        assert_eq!(row[1], score, "{label}: {row:?}");
        assert_eq!(row[2], s.n.to_string());
    }

    // The composite label and its explanation.
    let class = district.classification("DH-06").unwrap();
    let label = class.label(Lang::ZhCn);
    assert!(doc.paragraphs.iter().any(|p| p.contains(&label)), "{label}");
    for e in class.explain(Lang::ZhCn) {
        assert!(doc.paragraphs.iter().any(|p| p.contains(&e)), "{e}");
    }

    // Radar, needs and problems: at least three charts, each a PNG.
    assert!(
        doc.media.len() >= 3,
        "{:?}",
        doc.media.iter().map(|m| &m.0).collect::<Vec<_>>()
    );
    for (name, bytes) in &doc.media {
        let (w, h) = png_size(bytes);
        assert!(w >= 1000 && h >= 60, "{name}: {w}×{h}");
    }

    // Suggestions are printed verbatim; the contacts residents named (marked personal in
    // the scale) are counted, never printed.
    let portrait = |item: &str| profile.portrait.iter().find(|e| e.item == item).unwrap();
    let suggestions = portrait("j_suggestions");
    assert!(!suggestions.personal && !suggestions.texts.is_empty());
    let printed = |text: &str| doc.paragraphs.iter().any(|p| p.ends_with(text.trim()));
    assert!(printed(&suggestions.texts[0].text));
    let contacts = portrait("i_contacts_detail");
    assert!(contacts.personal && !contacts.texts.is_empty());
    for v in &contacts.texts {
        assert!(!printed(&v.text), "personal text printed: {}", v.text);
    }
    let withheld = format!("另有 {} 条个人信息，报告中不列出。", contacts.texts.len());
    assert!(printed(&withheld), "{withheld}");

    // Every checklist item in force, by its action, in a table row; removed ones are not.
    let checklist = app.checklist("DH-06").unwrap();
    let in_force: Vec<_> = checklist.items.iter().filter(|i| !i.removed).collect();
    assert!(!in_force.is_empty());
    for item in in_force {
        let action = pick(&item.item.action, Lang::ZhCn);
        assert!(
            doc.rows.iter().any(|r| r.iter().any(|c| c == action)),
            "checklist action missing: {action}"
        );
    }
}

#[test]
fn a_community_with_too_little_data_gets_the_sentence_and_no_scores() {
    let dir = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let app = demo(dir.path());
    let district = app.district(None, None).unwrap();
    let profile = district.profile("XH-06").unwrap();
    assert!(!profile.sufficient);
    assert_eq!(profile.n, 8);

    let path = app
        .community_report("XH-06", None, Lang::ZhCn, out.path(), now())
        .unwrap();
    let doc = read_docx(&path);
    let sentence = i18n::message(
        Lang::ZhCn,
        "report.insufficient",
        &BTreeMap::from([
            ("n".to_string(), "8".to_string()),
            (
                "min".to_string(),
                district.settings.min_responses.to_string(),
            ),
        ]),
    );
    assert!(sentence.contains('8') && !sentence.starts_with("report."));
    assert!(doc.paragraphs.contains(&sentence), "{:?}", doc.paragraphs);
    // No score: no dimension row, no scores heading, no charts.
    for d in ["interaction", "identity", "linkages", "efficacy"] {
        let label = i18n::text(Lang::ZhCn, &format!("analysis.dimensions.{d}"));
        assert!(
            !doc.rows.iter().any(|r| r.first() == Some(&label)),
            "{label}"
        );
    }
    let scores = i18n::text(Lang::ZhCn, "report.sections.scores");
    assert!(
        !doc.paragraphs.iter().any(|p| p.ends_with(&scores)),
        "a scores heading"
    );
    assert!(doc.media.is_empty());
}

#[test]
fn english_report_has_the_english_title() {
    let dir = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let app = demo(dir.path());
    let round = round(&app);
    let path = app
        .community_report("DH-06", Some(&round), Lang::En, out.path(), now())
        .unwrap();
    let doc = read_docx(&path);
    assert_eq!(
        doc.paragraphs[0],
        format!("纺织新村社区: Community Portrait and Governance Checklist ({round})")
    );
    let heading = i18n::text(Lang::En, "report.sections.checklist");
    assert!(doc.paragraphs.iter().any(|p| p.ends_with(&heading)));
}

#[test]
fn refusals_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let app = demo(dir.path());
    let e = app
        .community_report("NOPE-1", None, Lang::ZhCn, out.path(), now())
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::NotFound);
    assert_eq!(e.params["what"], "community");
    assert_eq!(e.params["id"], "NOPE-1");
    assert_eq!(std::fs::read_dir(out.path()).unwrap().count(), 0);

    let gone = out.path().join("gone");
    let e = app
        .community_report("DH-06", None, Lang::ZhCn, &gone, now())
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::FileUnwritable);
    let e = app
        .classification_report(None, Lang::ZhCn, &gone)
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::FileUnwritable);
    assert!(!gone.exists());
    assert_eq!(std::fs::read_dir(out.path()).unwrap().count(), 0);
}

fn cell(d: &Data) -> String {
    match d {
        Data::Empty => String::new(),
        other => other.to_string(),
    }
}

#[test]
fn classification_workbook_has_a_row_per_community_in_the_chosen_language() {
    let dir = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let app = demo(dir.path());
    let round = round(&app);
    let district = app.district(None, None).unwrap();
    for (lang, sheet, code_header, type_header) in [
        (Lang::ZhCn, "分类", "社区代码", "社会类型"),
        (Lang::En, "Classification", "Code", "Social type"),
    ] {
        let path = app.classification_report(None, lang, out.path()).unwrap();
        assert_eq!(
            path.file_name().unwrap().to_str().unwrap(),
            format!("社区分类-{round}.xlsx")
        );
        let mut wb: Xlsx<_> = calamine::open_workbook(&path).unwrap();
        let names = wb.sheet_names();
        assert_eq!(names[0], sheet, "{names:?}");
        assert!(names.len() >= 2);
        let range = wb.worksheet_range(sheet).unwrap();
        let rows: Vec<Vec<String>> = range.rows().map(|r| r.iter().map(cell).collect()).collect();
        let header = &rows[0];
        assert_eq!(header[0], code_header);
        let type_col = header.iter().position(|h| h == type_header).unwrap();
        assert_eq!(rows.len() - 1, district.communities.len());
        for c in &district.classifications {
            let row = rows
                .iter()
                .find(|r| r[0] == c.code)
                .unwrap_or_else(|| panic!("no row for {}", c.code));
            let expected = match (c.status, c.social_type) {
                (Status::Classified, Some(t)) => {
                    i18n::text(lang, &format!("analysis.types.{}", t.code()))
                }
                (Status::InsufficientData, _) => {
                    i18n::text(lang, "analysis.status.insufficient_data")
                }
                _ => i18n::text(lang, "analysis.status.missing_dimension"),
            };
            assert_eq!(row[type_col], expected, "{}", c.code);
        }
        if district.kmeans.is_some() {
            assert_eq!(names.len(), 3);
        }
    }
}
