//! The three-layer classification: housing form × the "三一六" social type × tags, with the
//! explanation of every assignment. Warren's six types are read from (interaction, identity,
//! linkages) above or below a cut-off; the two patterns Warren left unnamed go to the type
//! reached by flipping the dimension nearest its cut-off, and are flagged.

use std::collections::BTreeMap;

use serde::Serialize;
use shequ_core::{i18n, HousingForm, Lang, LocalizedText};
use ts_rs::TS;

use crate::profile::{CommunityProfile, Tier};
use crate::scheme::{Scheme, IDENTITY, INTERACTION, LINKAGES};
use crate::{AnalysisSettings, CutoffMode, TAGS};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum SocialType {
    Integral,
    Parochial,
    Diffuse,
    SteppingStone,
    Transitory,
    Anomic,
}

impl SocialType {
    pub const ALL: [SocialType; 6] = [
        SocialType::Integral,
        SocialType::Parochial,
        SocialType::Diffuse,
        SocialType::SteppingStone,
        SocialType::Transitory,
        SocialType::Anomic,
    ];

    pub fn code(self) -> &'static str {
        match self {
            SocialType::Integral => "integral",
            SocialType::Parochial => "parochial",
            SocialType::Diffuse => "diffuse",
            SocialType::SteppingStone => "stepping_stone",
            SocialType::Transitory => "transitory",
            SocialType::Anomic => "anomic",
        }
    }

    pub fn label(self, lang: Lang) -> String {
        i18n::text(lang, &format!("analysis.types.{}", self.code()))
    }

    /// The named type of a (interaction, identity, linkages) high/low pattern.
    pub fn of_pattern(p: Pattern) -> Option<SocialType> {
        use SocialType::*;
        match (p.interaction, p.identity, p.linkages) {
            (true, true, true) => Some(Integral),
            (true, true, false) => Some(Parochial),
            (false, true, false) => Some(Diffuse),
            (true, false, true) => Some(SteppingStone),
            (false, false, true) => Some(Transitory),
            (false, false, false) => Some(Anomic),
            _ => None,
        }
    }
}

/// High (`true`) or low on each typology dimension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct Pattern {
    pub interaction: bool,
    pub identity: bool,
    pub linkages: bool,
}

impl Pattern {
    fn flip(mut self, dim: &str) -> Pattern {
        match dim {
            INTERACTION => self.interaction = !self.interaction,
            IDENTITY => self.identity = !self.identity,
            _ => self.linkages = !self.linkages,
        }
        self
    }
    fn signs(self) -> String {
        [self.interaction, self.identity, self.linkages]
            .iter()
            .map(|&h| if h { "+" } else { "−" })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum Status {
    Classified,
    /// Fewer finalized responses than the minimum.
    InsufficientData,
    /// A typology dimension has no score (the scale lacks it, or nobody answered it).
    MissingDimension,
}

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct Tag {
    /// `ageing`, `migrant`, `hardship` or `need`.
    pub kind: String,
    /// The tag for the first three; `group:choice` for a need.
    pub key: String,
    /// A need's choice label (empty for the other kinds).
    pub label: LocalizedText,
    pub rate: f64,
    pub threshold: f64,
}

/// One step of an explanation: a catalogue key under `analysis.explain` and its params.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct Step {
    pub key: String,
    pub params: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct Classification {
    pub code: String,
    pub housing_form: HousingForm,
    pub n: u32,
    pub status: Status,
    pub social_type: Option<SocialType>,
    pub pattern: Option<Pattern>,
    /// One of the two patterns Warren left unnamed, read as the nearest type.
    pub unnamed: bool,
    /// Identity within the margin of its cut-off.
    pub borderline: bool,
    pub tags: Vec<Tag>,
    /// Problems at or above the index threshold, highest first (`problem:choice`).
    pub top_problems: Vec<String>,
    pub explanation: Vec<Step>,
    /// k-means cluster (1-based), when the district was clustered.
    pub cluster: Option<u32>,
}

fn fmt1(x: f64) -> String {
    format!("{x:.1}")
}

fn step(key: &str, params: &[(&str, String)]) -> Step {
    Step {
        key: key.into(),
        params: params
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
    }
}

/// The cut-off of each typology dimension: the fixed one, or the district median over the
/// communities with enough data (absent when no community has a score).
pub fn cutoffs(
    profiles: &[CommunityProfile],
    settings: &AnalysisSettings,
) -> BTreeMap<String, f64> {
    [INTERACTION, IDENTITY, LINKAGES]
        .into_iter()
        .filter_map(|dim| {
            let v = match settings.cutoff_mode {
                CutoffMode::Fixed => Some(settings.cutoff),
                CutoffMode::Median => {
                    let xs: Vec<f64> = profiles
                        .iter()
                        .filter(|p| p.sufficient)
                        .filter_map(|p| score(p, dim))
                        .collect();
                    crate::stats::median(&xs)
                }
            };
            v.map(|v| (dim.to_string(), v))
        })
        .collect()
}

fn score(p: &CommunityProfile, dim: &str) -> Option<f64> {
    p.dimensions
        .iter()
        .find(|d| d.dimension == dim)
        .and_then(|d| d.score)
}

pub fn classify(
    p: &CommunityProfile,
    _scheme: &Scheme,
    cutoffs: &BTreeMap<String, f64>,
    settings: &AnalysisSettings,
) -> Classification {
    let mut explanation = vec![step(
        "housing",
        &[("housing", p.housing_form.code().to_string())],
    )];
    let mut c = Classification {
        code: p.code.clone(),
        housing_form: p.housing_form,
        n: p.n,
        status: Status::Classified,
        social_type: None,
        pattern: None,
        unnamed: false,
        borderline: false,
        tags: Vec::new(),
        top_problems: Vec::new(),
        explanation: Vec::new(),
        cluster: None,
    };
    if !p.sufficient {
        c.status = Status::InsufficientData;
        explanation.push(step(
            "insufficient",
            &[
                ("n", p.n.to_string()),
                ("min", settings.min_responses.to_string()),
            ],
        ));
        c.explanation = explanation;
        return c;
    }
    let mode = match settings.cutoff_mode {
        CutoffMode::Fixed => "fixed",
        CutoffMode::Median => "median",
    };
    let mut sides = BTreeMap::new();
    for dim in [INTERACTION, IDENTITY, LINKAGES] {
        match (score(p, dim), cutoffs.get(dim)) {
            (Some(s), Some(&cut)) => {
                let high = s >= cut;
                sides.insert(dim, (s, cut, high));
                explanation.push(step(
                    "dimension",
                    &[
                        ("dimension", dim.to_string()),
                        ("score", fmt1(s)),
                        ("cutoff", fmt1(cut)),
                        ("mode", mode.to_string()),
                        ("side", if high { "high" } else { "low" }.to_string()),
                    ],
                ));
            }
            _ => {
                c.status = Status::MissingDimension;
                explanation.push(step("missing", &[("dimension", dim.to_string())]));
            }
        }
    }
    if c.status == Status::Classified {
        let pattern = Pattern {
            interaction: sides[INTERACTION].2,
            identity: sides[IDENTITY].2,
            linkages: sides[LINKAGES].2,
        };
        c.pattern = Some(pattern);
        match SocialType::of_pattern(pattern) {
            Some(t) => {
                c.social_type = Some(t);
                explanation.push(step(
                    "type",
                    &[("pattern", pattern.signs()), ("type", t.code().to_string())],
                ));
            }
            None => {
                // Both unnamed patterns become a named type whichever one dimension flips;
                // flip the one nearest its cut-off (ties: interaction, identity, linkages).
                let (dim, _) = [INTERACTION, IDENTITY, LINKAGES]
                    .into_iter()
                    .map(|d| (d, (sides[d].0 - sides[d].1).abs()))
                    .fold(None::<(&str, f64)>, |best, (d, dist)| match best {
                        Some((_, b)) if b <= dist => best,
                        _ => Some((d, dist)),
                    })
                    .expect("three dimensions");
                let flipped = pattern.flip(dim);
                let t = SocialType::of_pattern(flipped).expect("one flip names it");
                c.social_type = Some(t);
                c.unnamed = true;
                explanation.push(step(
                    "unnamed",
                    &[
                        ("pattern", pattern.signs()),
                        ("dimension", dim.to_string()),
                        ("distance", fmt1((sides[dim].0 - sides[dim].1).abs())),
                        (
                            "side",
                            if sides[dim].2 { "low" } else { "high" }.to_string(),
                        ),
                        ("type", t.code().to_string()),
                    ],
                ));
            }
        }
        let (id_score, id_cut, _) = sides[IDENTITY];
        if (id_score - id_cut).abs() <= settings.borderline_margin {
            c.borderline = true;
            explanation.push(step(
                "borderline",
                &[
                    ("score", fmt1(id_score)),
                    ("cutoff", fmt1(id_cut)),
                    ("margin", fmt1(settings.borderline_margin)),
                ],
            ));
        }
    }
    // Tags: rates at or above their thresholds, then the top needs.
    for tag in TAGS {
        let threshold = settings.tag_threshold(tag);
        if let Some(rate) = p.tags.iter().find(|t| t.tag == tag).and_then(|t| t.rate) {
            if rate >= threshold {
                c.tags.push(Tag {
                    kind: tag.into(),
                    key: tag.into(),
                    label: LocalizedText::default(),
                    rate,
                    threshold,
                });
                explanation.push(step(
                    "tag",
                    &[
                        ("tag", tag.to_string()),
                        ("rate", fmt1(rate)),
                        ("threshold", fmt1(threshold)),
                    ],
                ));
            }
        }
    }
    let mut needs: Vec<_> = p
        .needs
        .iter()
        .filter(|n| {
            matches!(n.tier, Some(Tier::High | Tier::Medium)) && n.applied >= settings.need_min_base
        })
        .collect();
    needs.sort_by(|a, b| {
        b.degree
            .unwrap_or(0.0)
            .total_cmp(&a.degree.unwrap_or(0.0))
            .then_with(|| a.group.cmp(&b.group))
            .then_with(|| a.choice.cmp(&b.choice))
    });
    for n in needs.into_iter().take(settings.top_needs as usize) {
        let degree = n.degree.unwrap_or(0.0);
        c.tags.push(Tag {
            kind: "need".into(),
            key: format!("{}:{}", n.group, n.choice),
            label: n.label.clone(),
            rate: degree,
            threshold: settings.need_medium,
        });
        explanation.push(step(
            "need",
            &[
                ("need", pick_label(&n.label)),
                ("degree", fmt1(degree)),
                ("threshold", fmt1(settings.need_medium)),
            ],
        ));
    }
    let mut problems: Vec<_> = p
        .problems
        .iter()
        .filter(|x| x.index.is_some_and(|i| i >= settings.problem_index_min))
        .collect();
    problems.sort_by(|a, b| {
        b.index
            .unwrap_or(0.0)
            .total_cmp(&a.index.unwrap_or(0.0))
            .then_with(|| a.choice.cmp(&b.choice))
    });
    c.top_problems = problems
        .into_iter()
        .take(settings.top_problems as usize)
        .map(|x| format!("{}:{}", crate::scheme::PROBLEM_GROUP, x.choice))
        .collect();
    c.explanation = explanation;
    c
}

/// A need's label as an explanation parameter: a step is language-neutral, so the label in
/// every language goes in as JSON and `render_param` picks the one it renders in.
fn pick_label(l: &LocalizedText) -> String {
    serde_json::to_string(&l.0).unwrap_or_default()
}

/// The translated value of an explanation (or scheme note) parameter.
pub(crate) fn render_param(lang: Lang, key: &str, value: &str) -> String {
    let lookup = |k: String| i18n::lookup(lang, &k).map(str::to_string);
    match key {
        "dimension" => lookup(format!("analysis.dimensions.{value}")),
        "type" => lookup(format!("analysis.types.{value}")),
        "side" => lookup(format!("analysis.side.{value}")),
        "mode" => lookup(format!("analysis.cutoff_modes.{value}")),
        "tag" => lookup(format!("analysis.tags.{value}")),
        "housing" => HousingForm::from_code(value).map(|h| h.label(lang)),
        "need" => serde_json::from_str::<BTreeMap<String, String>>(value)
            .ok()
            .map(|m| LocalizedText(m).pick(lang).unwrap_or_default().to_string()),
        _ => None,
    }
    .unwrap_or_else(|| value.to_string())
}

impl Step {
    pub fn render(&self, lang: Lang) -> String {
        let params: BTreeMap<String, String> = self
            .params
            .iter()
            .map(|(k, v)| (k.clone(), render_param(lang, k, v)))
            .collect();
        i18n::message(lang, &format!("analysis.explain.{}", self.key), &params)
    }
}

impl Tag {
    pub fn render(&self, lang: Lang) -> String {
        if self.kind == "need" {
            let label = self.label.pick(lang).unwrap_or(&self.key);
            i18n::message(
                lang,
                "analysis.need_tag",
                &[("need".to_string(), label.to_string())].into(),
            )
        } else {
            i18n::text(lang, &format!("analysis.tags.{}", self.kind))
        }
    }
}

impl Classification {
    /// The composite label: `老旧小区 × 松散型 + 老龄化 + 需求：加装电梯` (the population tags
    /// and the first top need).
    pub fn label(&self, lang: Lang) -> String {
        let housing = self.housing_form.label(lang);
        let housing = housing
            .split('/')
            .next()
            .unwrap_or(&housing)
            .trim()
            .to_string();
        let social = match (self.status, self.social_type) {
            (Status::Classified, Some(t)) => t.label(lang),
            (Status::InsufficientData, _) => i18n::text(lang, "analysis.status.insufficient_data"),
            _ => i18n::text(lang, "analysis.status.missing_dimension"),
        };
        let mut out = format!("{housing} × {social}");
        // The population tags, then the first top need (all of them are in `tags`).
        let needs = self.tags.iter().filter(|t| t.kind == "need").take(1);
        for t in self.tags.iter().filter(|t| t.kind != "need").chain(needs) {
            out.push_str(" + ");
            out.push_str(&t.render(lang));
        }
        out
    }

    pub fn explain(&self, lang: Lang) -> Vec<String> {
        self.explanation.iter().map(|s| s.render(lang)).collect()
    }
}
