//! A community's portrait and governance checklist as a Word document.

use docx_rs::{
    AlignmentType, Docx, Paragraph, Pic, Run, RunFonts, Shading, Style, StyleType, Table,
    TableCell, TableRow, WidthType,
};
use shequ_analysis::checklist::{pick, Composite, Source};
use shequ_analysis::classify::Step;
use shequ_analysis::profile::{CommunityProfile, Tier};
use shequ_analysis::{CutoffMode, District};
use shequ_core::{i18n, Error, ErrorCode, HousingForm, Lang, LocalizedText, Result};

use crate::{bars_png, charts, m, num, radar_png, t, TOP_NEEDS_CHARTED};

pub struct CommunityReport<'a> {
    /// The round's analysis.
    pub district: &'a District,
    /// The community.
    pub code: &'a str,
    pub checklist: &'a Composite,
    pub lang: Lang,
    /// When the report was made, as the reader's clock shows it (`2026-11-29 16:30`).
    pub generated_at: String,
}

/// Text width of an A4 page with 2.5 cm margins, in EMU (16 cm).
const TEXT_WIDTH_EMU: u32 = 5_760_000;
/// The same in twentieths of a point, for tables.
const TEXT_WIDTH_DXA: usize = 9_070;

fn label(l: &LocalizedText, lang: Lang, fallback: &str) -> String {
    l.pick(lang).unwrap_or(fallback).to_string()
}

pub(crate) fn para(text: impl Into<String>) -> Paragraph {
    Paragraph::new().add_run(Run::new().add_text(text))
}

pub(crate) fn bullet(text: impl Into<String>) -> Paragraph {
    Paragraph::new()
        .indent(
            Some(420),
            Some(docx_rs::SpecialIndentType::Hanging(240)),
            None,
            None,
        )
        .add_run(Run::new().add_text(format!("• {}", text.into())))
}

pub(crate) fn heading(text: impl Into<String>) -> Paragraph {
    Paragraph::new()
        .style("Heading1")
        .add_run(Run::new().add_text(text))
}

fn caption(text: impl Into<String>) -> Paragraph {
    Paragraph::new()
        .align(AlignmentType::Center)
        .add_run(Run::new().add_text(text).size(18).color("555555"))
}

fn image(png: Vec<u8>, w_px: u32, h_px: u32, width_emu: u32) -> Paragraph {
    let h_emu = (width_emu as u64 * h_px as u64 / w_px.max(1) as u64) as u32;
    let pic = Pic::new_with_dimensions(png, w_px, h_px).size(width_emu, h_emu);
    Paragraph::new()
        .align(AlignmentType::Center)
        .add_run(Run::new().add_image(pic))
}

/// A table with a shaded header row; `widths` in parts of the text width.
pub(crate) fn table(header: Vec<String>, rows: Vec<Vec<String>>, widths: &[usize]) -> Table {
    let total: usize = widths.iter().sum::<usize>().max(1);
    let grid: Vec<usize> = widths.iter().map(|w| w * TEXT_WIDTH_DXA / total).collect();
    let cell = |text: &str, i: usize, head: bool| {
        let mut run = Run::new().add_text(text).size(20);
        if head {
            run = run.bold();
        }
        let mut c = TableCell::new()
            .width(grid.get(i).copied().unwrap_or(1000), WidthType::Dxa)
            .add_paragraph(Paragraph::new().add_run(run));
        if head {
            c = c.shading(Shading::new().fill("E8EEF5"));
        }
        c
    };
    let mut out = vec![TableRow::new(
        header
            .iter()
            .enumerate()
            .map(|(i, h)| cell(h, i, true))
            .collect(),
    )];
    for r in rows {
        out.push(TableRow::new(
            r.iter()
                .enumerate()
                .map(|(i, v)| cell(v, i, false))
                .collect(),
        ));
    }
    Table::new(out)
        .set_grid(grid.clone())
        .width(TEXT_WIDTH_DXA, WidthType::Dxa)
}

fn cols(lang: Lang, block: &str, keys: &[&str]) -> Vec<String> {
    keys.iter()
        .map(|k| t(lang, &format!("{block}.{k}")))
        .collect()
}

fn signed(x: f64) -> String {
    if x > 0.0 {
        format!("+{x:.1}")
    } else {
        format!("{x:.1}")
    }
}

fn tier_text(lang: Lang, tier: Option<Tier>) -> String {
    match tier {
        Some(Tier::High) => i18n::text(lang, "analysis.tiers.high"),
        Some(Tier::Medium) => i18n::text(lang, "analysis.tiers.medium"),
        Some(Tier::Low) => i18n::text(lang, "analysis.tiers.low"),
        None => "—".into(),
    }
}

/// Why the classification selected a checklist item, with the value it keyed on.
fn reason_text(lang: Lang, step: &Step, profile: &CommunityProfile) -> String {
    let reason = i18n::text(lang, &format!("analysis.checklist_reasons.{}", step.key));
    let value = step.params.get("value").map(String::as_str).unwrap_or("");
    let (group, choice) = value.split_once(':').unwrap_or(("", value));
    let value = match step.key.as_str() {
        "housing" => HousingForm::from_code(value).map(|h| h.label(lang)),
        "type" => i18n::lookup(lang, &format!("analysis.types.{value}")).map(str::to_string),
        "tag" => i18n::lookup(lang, &format!("analysis.tags.{value}")).map(str::to_string),
        "need" => profile
            .needs
            .iter()
            .find(|n| n.group == group && n.choice == choice)
            .map(|n| label(&n.label, lang, choice)),
        "problem" => profile
            .problems
            .iter()
            .find(|p| p.choice == choice)
            .map(|p| label(&p.label, lang, choice)),
        _ => None,
    };
    match value {
        Some(v) if !v.is_empty() => m(lang, "reason_value", &[("reason", reason), ("value", v)]),
        _ => reason,
    }
}

/// The cut-off ring of the radar: one number when every typology dimension has the same.
fn radar_cutoff(d: &District) -> Option<f64> {
    let mut values = d.cutoffs.values().copied();
    let first = values.next()?;
    if d.settings.cutoff_mode == CutoffMode::Fixed || values.all(|v| (v - first).abs() < 1e-9) {
        Some(first)
    } else {
        None
    }
}

/// A .docx a street office would circulate: the community's classification, scores, needs,
/// problems, what residents offered and said, and its governance checklist.
/// An A4 document with 2.5 cm margins, Song for Chinese, and the title and heading styles.
pub(crate) fn new_document() -> Docx {
    let fonts = RunFonts::new()
        .ascii("Calibri")
        .hi_ansi("Calibri")
        .east_asia("宋体");
    Docx::new()
        .page_size(11_906, 16_838)
        .page_margin(
            docx_rs::PageMargin::new()
                .top(1_418)
                .bottom(1_418)
                .left(1_418)
                .right(1_418),
        )
        .default_fonts(fonts)
        .default_size(22)
        .add_style(
            Style::new("Title", StyleType::Paragraph)
                .name("Title")
                .size(36)
                .bold()
                .align(AlignmentType::Center),
        )
        .add_style(
            Style::new("Heading1", StyleType::Paragraph)
                .name("Heading 1")
                .size(28)
                .bold(),
        )
}

/// The document's bytes.
pub(crate) fn pack(doc: Docx) -> Result<Vec<u8>> {
    let mut out = std::io::Cursor::new(Vec::new());
    doc.build()
        .pack(&mut out)
        .map_err(|e| Error::internal(format!("docx: {e}")))?;
    Ok(out.into_inner())
}

pub fn community_docx(r: &CommunityReport) -> Result<Vec<u8>> {
    let lang = r.lang;
    let d = r.district;
    let (profile, class) = match (d.profile(r.code), d.classification(r.code)) {
        (Some(p), Some(c)) => (p, c),
        _ => {
            return Err(Error::new(ErrorCode::NotFound)
                .with("what", "community")
                .with("id", r.code))
        }
    };
    let numerals: Vec<String> = t(lang, "numerals")
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let mut section_no = 0usize;
    let mut section = |key: &str| {
        let no = numerals
            .get(section_no)
            .cloned()
            .unwrap_or_else(|| (section_no + 1).to_string());
        section_no += 1;
        heading(m(
            lang,
            "heading",
            &[("no", no), ("title", t(lang, &format!("sections.{key}")))],
        ))
    };

    let mut doc = new_document();

    // Title and the line under it.
    doc = doc
        .add_paragraph(
            Paragraph::new()
                .style("Title")
                .add_run(Run::new().add_text(crate::title(lang, &profile.name, &d.round))),
        )
        .add_paragraph(
            Paragraph::new().align(AlignmentType::Center).add_run(
                Run::new()
                    .add_text(m(
                        lang,
                        "meta",
                        &[
                            ("street", profile.street.clone()),
                            ("housing", profile.housing_form.label(lang)),
                            ("n", profile.n.to_string()),
                            ("at", r.generated_at.clone()),
                        ],
                    ))
                    .size(20)
                    .color("555555"),
            ),
        );

    // Classification.
    doc = doc.add_paragraph(section("classification")).add_paragraph(
        Paragraph::new().add_run(
            Run::new()
                .add_text(m(
                    lang,
                    "classification_label",
                    &[("label", class.label(lang))],
                ))
                .bold(),
        ),
    );
    if class.borderline {
        doc = doc.add_paragraph(para(m(
            lang,
            "borderline",
            &[("margin", format!("{}", d.settings.borderline_margin))],
        )));
    }
    if class.unnamed {
        doc = doc.add_paragraph(para(t(lang, "unnamed")));
    }
    doc = doc.add_paragraph(para(t(lang, "explanation")));
    for s in class.explain(lang) {
        doc = doc.add_paragraph(bullet(s));
    }

    if !profile.sufficient {
        doc = doc.add_paragraph(
            Paragraph::new().add_run(
                Run::new()
                    .add_text(crate::insufficient_sentence(
                        lang,
                        profile.n,
                        d.settings.min_responses,
                    ))
                    .bold(),
            ),
        );
    } else {
        // Dimension scores.
        let dim_label = |name: &str| i18n::text(lang, &format!("analysis.dimensions.{name}"));
        let labels: Vec<String> = profile
            .dimensions
            .iter()
            .map(|s| dim_label(&s.dimension))
            .collect();
        let values: Vec<Option<f64>> = profile.dimensions.iter().map(|s| s.score).collect();
        let cutoff = radar_cutoff(d);
        doc = doc.add_paragraph(section("scores")).add_paragraph(image(
            radar_png(&labels, &values, cutoff),
            charts::RADAR_W,
            charts::RADAR_H,
            TEXT_WIDTH_EMU * 3 / 4,
        ));
        doc = doc.add_paragraph(caption(match cutoff {
            Some(c) => m(lang, "radar_caption_cutoff", &[("cutoff", num(Some(c), 1))]),
            None => t(lang, "radar_caption"),
        }));
        let rows = profile
            .dimensions
            .iter()
            .map(|s| {
                let change = match &s.previous {
                    None => t(lang, "no_previous"),
                    Some(p) => match p.cis_overlap {
                        Some(true) => m(lang, "change_overlap", &[("change", signed(p.change))]),
                        Some(false) => m(lang, "change_clear", &[("change", signed(p.change))]),
                        None => signed(p.change),
                    },
                };
                let ci = match (s.ci_low, s.ci_high) {
                    (Some(a), Some(b)) => format!("{a:.1}–{b:.1}"),
                    _ => "—".into(),
                };
                vec![
                    dim_label(&s.dimension),
                    num(s.score, 1),
                    s.n.to_string(),
                    num(s.sd, 1),
                    ci,
                    num(s.lambda, 2),
                    num(s.percentile, 1),
                    change,
                ]
            })
            .collect();
        doc = doc.add_table(table(
            cols(
                lang,
                "scores_columns",
                &[
                    "dimension",
                    "score",
                    "n",
                    "sd",
                    "ci",
                    "lambda",
                    "percentile",
                    "change",
                ],
            ),
            rows,
            &[16, 9, 8, 9, 15, 9, 11, 23],
        ));

        // Need degree.
        doc = doc.add_paragraph(section("needs"));
        let mut needs: Vec<_> = profile
            .needs
            .iter()
            .filter(|n| n.degree.is_some())
            .collect();
        needs.sort_by(|a, b| {
            b.degree
                .partial_cmp(&a.degree)
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        if needs.is_empty() {
            doc = doc.add_paragraph(para(t(lang, "no_needs")));
        } else {
            let top: Vec<_> = needs.iter().take(TOP_NEEDS_CHARTED).collect();
            let labels: Vec<String> = top
                .iter()
                .map(|n| label(&n.label, lang, &n.choice))
                .collect();
            let values: Vec<f64> = top.iter().map(|n| n.degree.unwrap_or(0.0)).collect();
            doc = doc
                .add_paragraph(image(
                    bars_png(&labels, &values, 100.0),
                    charts::BARS_W,
                    charts::bars_height(top.len()),
                    TEXT_WIDTH_EMU,
                ))
                .add_paragraph(caption(m(
                    lang,
                    "needs_caption",
                    &[("n", top.len().to_string())],
                )));
            let rows = needs
                .iter()
                .map(|n| {
                    vec![
                        i18n::lookup(lang, &format!("analysis.need_groups.{}", n.group))
                            .map_or_else(|| n.group.clone(), str::to_string),
                        label(&n.label, lang, &n.choice),
                        num(n.degree, 1),
                        tier_text(lang, n.tier),
                    ]
                })
                .collect();
            doc = doc.add_table(table(
                cols(lang, "needs_columns", &["group", "need", "degree", "tier"]),
                rows,
                &[20, 50, 18, 12],
            ));
        }

        // Problems.
        doc = doc.add_paragraph(section("problems"));
        let mut problems: Vec<_> = profile.problems.iter().collect();
        problems.sort_by(|a, b| {
            b.index
                .or(b.share)
                .partial_cmp(&a.index.or(a.share))
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        if problems.is_empty() {
            doc = doc.add_paragraph(para(t(lang, "no_problems")));
        } else {
            let labels: Vec<String> = problems
                .iter()
                .map(|p| label(&p.label, lang, &p.choice))
                .collect();
            let values: Vec<f64> = problems.iter().map(|p| p.index.unwrap_or(0.0)).collect();
            let max = values.iter().copied().fold(0.0, f64::max);
            doc = doc
                .add_paragraph(image(
                    bars_png(&labels, &values, max),
                    charts::BARS_W,
                    charts::bars_height(problems.len()),
                    TEXT_WIDTH_EMU,
                ))
                .add_paragraph(caption(t(lang, "problems_caption")));
            let rows = problems
                .iter()
                .map(|p| {
                    vec![
                        label(&p.label, lang, &p.choice),
                        num(p.share, 1),
                        num(p.severity, 1),
                        num(p.index, 1),
                    ]
                })
                .collect();
            doc = doc.add_table(table(
                cols(
                    lang,
                    "problems_columns",
                    &["problem", "share", "severity", "index"],
                ),
                rows,
                &[46, 18, 18, 18],
            ));
        }
    }

    // Resources and suggestions, verbatim.
    doc = doc.add_paragraph(section("resources"));
    if profile.portrait.is_empty() {
        doc = doc.add_paragraph(para(t(lang, "no_portrait")));
    }
    let mut last_section = None;
    for e in &profile.portrait {
        if last_section != Some(e.section.as_str()) {
            last_section = Some(e.section.as_str());
            let title = i18n::lookup(lang, &format!("report.portrait_sections.{}", e.section))
                .map_or_else(|| e.section.clone(), str::to_string);
            doc = doc.add_paragraph(Paragraph::new().add_run(Run::new().add_text(title).bold()));
        }
        let name = label(&e.label, lang, &e.item);
        let line = match e.sum {
            Some(sum) => m(
                lang,
                "answered_sum",
                &[
                    ("label", name),
                    ("answered", e.answered.to_string()),
                    ("sum", format!("{}", (sum * 10.0).round() / 10.0)),
                    ("positive", e.positive.unwrap_or(0).to_string()),
                ],
            ),
            None => m(
                lang,
                "answered",
                &[("label", name), ("answered", e.answered.to_string())],
            ),
        };
        doc = doc.add_paragraph(para(line));
        for c in e.counts.iter().filter(|c| c.count > 0) {
            doc = doc.add_paragraph(bullet(m(
                lang,
                "choice_count",
                &[
                    ("choice", label(&c.label, lang, &c.choice)),
                    ("count", c.count.to_string()),
                ],
            )));
        }
        if e.personal && !e.texts.is_empty() {
            // Personal data stays at the centre: the report says how much, not what.
            doc = doc.add_paragraph(bullet(m(
                lang,
                "personal_withheld",
                &[("count", e.texts.len().to_string())],
            )));
        } else {
            for v in &e.texts {
                doc = doc.add_paragraph(bullet(v.text.trim()));
            }
        }
    }

    // The governance checklist.
    doc = doc.add_paragraph(section("checklist"));
    let items: Vec<_> = r.checklist.items.iter().filter(|i| !i.removed).collect();
    if items.is_empty() {
        doc = doc.add_paragraph(para(t(lang, "no_checklist")));
    } else {
        let rows = items
            .iter()
            .map(|i| {
                let source = match (i.source, &i.reason) {
                    (Source::Added, _) => t(lang, "source_added"),
                    (Source::Default, Some(step)) => m(
                        lang,
                        "source_default",
                        &[("reason", reason_text(lang, step, profile))],
                    ),
                    (Source::Default, None) => t(lang, "source_default_plain"),
                };
                vec![
                    i18n::text(lang, &format!("analysis.priorities.{}", i.item.priority)),
                    pick(&i.item.action, lang).to_string(),
                    i18n::text(lang, &format!("analysis.owners.{}", i.item.owner)),
                    i18n::text(lang, &format!("analysis.frequencies.{}", i.item.frequency)),
                    pick(&i.item.indicator, lang).to_string(),
                    source,
                ]
            })
            .collect();
        doc = doc.add_table(table(
            cols(
                lang,
                "checklist_columns",
                &[
                    "priority",
                    "action",
                    "owner",
                    "frequency",
                    "indicator",
                    "source",
                ],
            ),
            rows,
            &[8, 34, 11, 9, 22, 16],
        ));
    }

    pack(doc)
}
