//! The report formats, as `shequ-export` owns the data exports: a community's profile and
//! governance checklist as a Word document a street office would circulate, the district's
//! classification as a workbook, and the chart images they carry. Every visible string comes
//! from the `report` block of the catalogues (and the `analysis` keys it shares with the
//! window). No I/O but finding a CJK font for the charts (`charts::font`).

mod agenda;
pub mod charts;
mod docx;
mod xlsx;

use std::collections::BTreeMap;

use shequ_core::{i18n, Lang};

pub use agenda::{agenda_docx, agenda_xlsx, Agenda, AgendaCandidate, AgendaItem};
pub use charts::{bars_png, radar_png};
pub use docx::{community_docx, CommunityReport};
pub use xlsx::classification_xlsx;

/// How many needs the bar chart shows.
pub const TOP_NEEDS_CHARTED: usize = 10;

/// A number as the reports print it: fixed decimals, "—" when absent.
pub fn num(x: Option<f64>, decimals: usize) -> String {
    match x {
        Some(v) if v.is_finite() => format!("{v:.decimals$}"),
        _ => "—".to_string(),
    }
}

pub(crate) fn t(lang: Lang, key: &str) -> String {
    i18n::text(lang, &format!("report.{key}"))
}

pub(crate) fn m(lang: Lang, key: &str, params: &[(&str, String)]) -> String {
    let p: BTreeMap<String, String> = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    i18n::message(lang, &format!("report.{key}"), &p)
}

/// The title of a community's report (`梧桐里社区社区肖像与治理清单（2026 年度）`).
pub fn title(lang: Lang, name: &str, round: &str) -> String {
    m(
        lang,
        "title",
        &[("name", name.to_string()), ("round", round.to_string())],
    )
}

/// The sentence a community with too few responses gets instead of its numbers.
pub fn insufficient_sentence(lang: Lang, n: u32, min: u32) -> String {
    m(
        lang,
        "insufficient",
        &[("n", n.to_string()), ("min", min.to_string())],
    )
}

/// The social type column of the classification table: the type, else the status.
pub fn social_type_text(c: &shequ_analysis::Classification, lang: Lang) -> String {
    use shequ_analysis::classify::Status;
    match (c.status, c.social_type) {
        (Status::Classified, Some(t)) => t.label(lang),
        (Status::InsufficientData, _) => i18n::text(lang, "analysis.status.insufficient_data"),
        _ => i18n::text(lang, "analysis.status.missing_dimension"),
    }
}
