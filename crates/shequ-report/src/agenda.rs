//! The agenda of a cluster's project matching meeting (项目对接会): the members' shared
//! project needs, each with the resources and experts ranked for it, as Word and Excel.

use docx_rs::{Paragraph, Run};
use rust_xlsxwriter::{Format, Workbook, XlsxError};
use shequ_core::{Error, Lang, Result};

use crate::docx::{bullet, heading, new_document, pack, para, table};
use crate::{m, t};

/// One candidate on the agenda.
pub struct AgendaCandidate {
    pub name: String,
    /// Resource kind or the expert's organisation, in the reader's language.
    pub kind: String,
    pub score: f64,
    /// Why it ranks there, in the reader's language.
    pub why: String,
}

/// One project need: a need or problem several members share.
pub struct AgendaItem {
    pub label: String,
    /// The member communities that have it (names).
    pub communities: Vec<String>,
    /// Mean need degree (%) or problem index over them.
    pub value: f64,
    pub problem: bool,
    pub candidates: Vec<AgendaCandidate>,
}

pub struct Agenda {
    pub cluster: String,
    pub members: Vec<String>,
    pub round: String,
    /// This round's chair, if one is kept.
    pub chair: Option<String>,
    pub items: Vec<AgendaItem>,
    pub lang: Lang,
    pub generated_at: String,
}

fn value_text(lang: Lang, i: &AgendaItem) -> String {
    if i.problem {
        m(
            lang,
            "agenda.problem_value",
            &[("value", format!("{:.1}", i.value))],
        )
    } else {
        m(
            lang,
            "agenda.need_value",
            &[("value", format!("{:.1}", i.value))],
        )
    }
}

pub fn agenda_docx(a: &Agenda) -> Result<Vec<u8>> {
    let lang = a.lang;
    let sep = if lang == Lang::ZhCn { "、" } else { ", " };
    let mut doc = new_document()
        .add_paragraph(
            Paragraph::new()
                .style("Title")
                .add_run(Run::new().add_text(m(
                    lang,
                    "agenda.title",
                    &[("cluster", a.cluster.clone()), ("round", a.round.clone())],
                ))),
        )
        .add_paragraph(para(m(
            lang,
            "agenda.meta",
            &[
                ("members", a.members.join(sep)),
                ("chair", a.chair.clone().unwrap_or_else(|| "—".into())),
                ("at", a.generated_at.clone()),
            ],
        )));
    doc = doc.add_paragraph(heading(t(lang, "agenda.order")));
    for (n, key) in [
        "agenda.order_open",
        "agenda.order_needs",
        "agenda.order_match",
        "agenda.order_follow",
    ]
    .iter()
    .enumerate()
    {
        doc = doc.add_paragraph(bullet(format!("{}. {}", n + 1, t(lang, key))));
    }
    if a.items.is_empty() {
        doc = doc.add_paragraph(para(t(lang, "agenda.no_items")));
    }
    for (n, i) in a.items.iter().enumerate() {
        doc = doc
            .add_paragraph(heading(m(
                lang,
                "agenda.item",
                &[("n", (n + 1).to_string()), ("label", i.label.clone())],
            )))
            .add_paragraph(para(m(
                lang,
                "agenda.item_meta",
                &[
                    ("communities", i.communities.join(sep)),
                    ("value", value_text(lang, i)),
                ],
            )));
        if i.candidates.is_empty() {
            doc = doc.add_paragraph(para(t(lang, "agenda.no_candidates")));
            continue;
        }
        let rows = i
            .candidates
            .iter()
            .enumerate()
            .map(|(r, c)| {
                vec![
                    (r + 1).to_string(),
                    c.name.clone(),
                    c.kind.clone(),
                    format!("{:.1}", c.score),
                    c.why.clone(),
                ]
            })
            .collect();
        doc = doc.add_table(table(
            ["col_rank", "col_name", "col_kind", "col_score", "col_why"]
                .iter()
                .map(|k| t(lang, &format!("agenda.{k}")))
                .collect(),
            rows,
            &[6, 28, 16, 10, 40],
        ));
    }
    pack(doc)
}

pub fn agenda_xlsx(a: &Agenda) -> Result<Vec<u8>> {
    build_xlsx(a).map_err(|e| Error::internal(format!("xlsx: {e}")))
}

fn build_xlsx(a: &Agenda) -> std::result::Result<Vec<u8>, XlsxError> {
    let lang = a.lang;
    let sep = if lang == Lang::ZhCn { "、" } else { ", " };
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name(t(lang, "agenda.sheet"))?;
    let bold = Format::new().set_bold();
    let head = [
        "col_item",
        "col_need",
        "col_communities",
        "col_value",
        "col_rank",
        "col_name",
        "col_kind",
        "col_score",
        "col_why",
    ];
    for (c, k) in head.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, t(lang, &format!("agenda.{k}")), &bold)?;
    }
    let mut r = 1u32;
    for (n, i) in a.items.iter().enumerate() {
        let rows = i.candidates.len().max(1);
        for k in 0..rows {
            ws.write_number(r, 0, (n + 1) as f64)?;
            ws.write_string(r, 1, &i.label)?;
            ws.write_string(r, 2, i.communities.join(sep))?;
            ws.write_string(r, 3, value_text(lang, i))?;
            if let Some(c) = i.candidates.get(k) {
                ws.write_number(r, 4, (k + 1) as f64)?;
                ws.write_string(r, 5, &c.name)?;
                ws.write_string(r, 6, &c.kind)?;
                ws.write_number(r, 7, (c.score * 10.0).round() / 10.0)?;
                ws.write_string(r, 8, &c.why)?;
            } else {
                ws.write_string(r, 5, t(lang, "agenda.no_candidates"))?;
            }
            r += 1;
        }
    }
    for (c, w) in [6, 22, 28, 16, 6, 24, 14, 8, 40].iter().enumerate() {
        ws.set_column_width(c as u16, *w)?;
    }
    ws.set_freeze_panes(1, 0)?;
    wb.save_to_buffer()
}
