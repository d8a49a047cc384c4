//! Community profiles (社区肖像) from the latest finalized record of each response.

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset};
use serde::Serialize;
use shequ_core::{HousingForm, LocalizedText};
use shequ_forms::expr::{Env, Expr, Value};
use ts_rs::TS;

use crate::classify::{classify, Classification};
use crate::kmeans::{kmeans, KMeansResult};
use crate::scheme::{ChoiceItem, ScaleItem, Scheme, SchemeNote};
use crate::stats;
use crate::AnalysisSettings;

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct CommunityInfo {
    pub code: String,
    pub name: String,
    pub street: String,
    pub housing_form: HousingForm,
}

/// One respondent's record: the latest finalized version of a response.
#[derive(Debug, Clone)]
pub struct Respondent {
    /// Index into the communities.
    pub community: usize,
    pub instance_id: String,
    pub answers: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum Tier {
    High,
    Medium,
    Low,
}

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct PreviousScore {
    pub round: String,
    pub score: f64,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    pub change: f64,
    /// Whether the two 95% intervals overlap (no clear change when they do).
    pub cis_overlap: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct DimensionScore {
    pub dimension: String,
    /// 0–100; `None` when no respondent answered enough of its items.
    pub score: Option<f64>,
    /// Respondents with a score for this dimension.
    pub n: u32,
    pub sd: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    /// Reliability of the community mean, λ = n·ICC / (1 + (n − 1)·ICC).
    pub lambda: Option<f64>,
    /// Percentile among the district's communities with enough data.
    pub percentile: Option<f64>,
    pub previous: Option<PreviousScore>,
}

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct NeedDegree {
    pub group: String,
    pub item: String,
    pub choice: String,
    pub label: LocalizedText,
    /// Respondents to whom the item applied.
    pub applied: u32,
    pub ticked: u32,
    /// % of `applied`; `None` when it applied to nobody.
    pub degree: Option<f64>,
    pub tier: Option<Tier>,
}

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct ProblemIndex {
    pub item: String,
    pub choice: String,
    pub label: LocalizedText,
    pub applied: u32,
    pub ticked: u32,
    /// % of `applied` who ticked it.
    pub share: Option<f64>,
    /// Mean severity of those who ticked it and rated it.
    pub severity: Option<f64>,
    /// share (%) × mean severity; `None` without a severity rating.
    pub index: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct TagRate {
    pub tag: String,
    /// Respondents who answered a question the tag is computed from.
    pub n: u32,
    pub count: u32,
    /// % of `n`.
    pub rate: Option<f64>,
}

/// A portrait question's answers: counts per choice, a sum for numbers, texts verbatim.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct PortraitEntry {
    pub section: String,
    pub item: String,
    /// Marked personal in the form (the texts are shown at the centre, never printed in a
    /// document that leaves it).
    pub personal: bool,
    pub label: LocalizedText,
    pub answered: u32,
    pub sum: Option<f64>,
    pub positive: Option<u32>,
    pub counts: Vec<ChoiceCount>,
    pub texts: Vec<Verbatim>,
}

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct ChoiceCount {
    pub choice: String,
    pub label: LocalizedText,
    pub count: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct Verbatim {
    pub instance_id: String,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct CommunityProfile {
    pub code: String,
    pub name: String,
    pub street: String,
    pub housing_form: HousingForm,
    /// Respondents (latest finalized versions) in the round.
    pub n: u32,
    /// `n` reached the minimum: only then are scores, needs and problems given.
    pub sufficient: bool,
    pub dimensions: Vec<DimensionScore>,
    pub needs: Vec<NeedDegree>,
    pub problems: Vec<ProblemIndex>,
    pub tags: Vec<TagRate>,
    pub portrait: Vec<PortraitEntry>,
}

/// A round's analysis of the whole district.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct District {
    pub round: String,
    pub form_id: String,
    pub settings: AnalysisSettings,
    /// ICC(1) per dimension, across the communities with at least two scores.
    pub icc: BTreeMap<String, f64>,
    /// The cut-off used per typology dimension (fixed or the district median).
    pub cutoffs: BTreeMap<String, f64>,
    pub communities: Vec<CommunityProfile>,
    pub classifications: Vec<Classification>,
    pub kmeans: Option<KMeansResult>,
    pub notes: Vec<SchemeNote>,
}

impl District {
    pub fn profile(&self, code: &str) -> Option<&CommunityProfile> {
        self.communities.iter().find(|c| c.code == code)
    }
    pub fn classification(&self, code: &str) -> Option<&Classification> {
        self.classifications.iter().find(|c| c.code == code)
    }
}

/// What an expression sees of a stored record: its values by key, `.` the answer.
struct RecordEnv<'a> {
    answers: &'a BTreeMap<String, String>,
    current: &'a str,
}

impl Env for RecordEnv<'_> {
    fn resolve(&self, name: &str) -> Value {
        Value::Str(self.answers.get(name).cloned().unwrap_or_default())
    }
    fn current(&self) -> Value {
        Value::Str(self.current.to_string())
    }
    fn position(&self) -> Option<usize> {
        None
    }
    fn choice_label(&self, _question: &str, _value: &str) -> Option<String> {
        None
    }
    fn now(&self) -> DateTime<FixedOffset> {
        DateTime::UNIX_EPOCH.fixed_offset()
    }
    fn random(&self) -> f64 {
        0.0
    }
}

fn holds(expr: &Expr, answers: &BTreeMap<String, String>, current: &str) -> bool {
    expr.eval(&RecordEnv { answers, current }).as_bool()
}

/// An item's score on 0–100, reverse items flipped; `None` when unanswered or out of range.
fn item_score(item: &ScaleItem, answers: &BTreeMap<String, String>) -> Option<f64> {
    let x: f64 = answers.get(&item.key)?.trim().parse().ok()?;
    if !(item.min..=item.max).contains(&x) {
        return None;
    }
    let x = if item.reverse {
        item.min + item.max - x
    } else {
        x
    };
    Some((x - item.min) / (item.max - item.min) * 100.0)
}

/// A respondent's dimension score: the mean of the items answered, when at least half are.
pub fn respondent_score(items: &[ScaleItem], answers: &BTreeMap<String, String>) -> Option<f64> {
    let scores: Vec<f64> = items
        .iter()
        .filter_map(|i| item_score(i, answers))
        .collect();
    if scores.is_empty() || scores.len() * 2 < items.len() {
        return None;
    }
    stats::mean(&scores)
}

fn applies(item: &ChoiceItem, answers: &BTreeMap<String, String>) -> bool {
    item.relevance.iter().all(|e| holds(e, answers, ""))
}

/// Profiles every community, classifies them and groups them by k-means. `previous` is the
/// analysis of the round before, for the change of each score.
pub fn analyse(
    round: &str,
    scheme: &Scheme,
    communities: &[CommunityInfo],
    respondents: &[Respondent],
    settings: &AnalysisSettings,
    previous: Option<&District>,
) -> District {
    let mut by_community: Vec<Vec<&Respondent>> = vec![Vec::new(); communities.len()];
    for r in respondents {
        if let Some(v) = by_community.get_mut(r.community) {
            v.push(r);
        }
    }
    // Respondent scores per dimension, per community.
    let scores: Vec<Vec<Vec<f64>>> = by_community
        .iter()
        .map(|rs| {
            scheme
                .dimensions
                .iter()
                .map(|d| {
                    rs.iter()
                        .filter_map(|r| respondent_score(&d.items, &r.answers))
                        .collect()
                })
                .collect()
        })
        .collect();
    let icc: BTreeMap<String, f64> = scheme
        .dimensions
        .iter()
        .enumerate()
        .filter_map(|(di, d)| {
            let groups: Vec<Vec<f64>> = scores.iter().map(|c| c[di].clone()).collect();
            stats::icc1(&groups).map(|v| (d.name.clone(), v))
        })
        .collect();

    let mut profiles: Vec<CommunityProfile> = communities
        .iter()
        .enumerate()
        .map(|(ci, info)| {
            let rs = &by_community[ci];
            let n = rs.len() as u32;
            let sufficient = n >= settings.min_responses;
            let dimensions = if sufficient {
                scheme
                    .dimensions
                    .iter()
                    .enumerate()
                    .map(|(di, d)| {
                        let s = stats::summarize(&scores[ci][di]);
                        DimensionScore {
                            dimension: d.name.clone(),
                            score: s.map(|s| s.mean),
                            n: s.map_or(0, |s| s.n),
                            sd: s.and_then(|s| s.sd),
                            ci_low: s.and_then(|s| s.ci_low),
                            ci_high: s.and_then(|s| s.ci_high),
                            lambda: s.and_then(|s| {
                                icc.get(&d.name).map(|&icc| stats::reliability(s.n, icc))
                            }),
                            percentile: None,
                            previous: None,
                        }
                    })
                    .collect()
            } else {
                Vec::new()
            };
            CommunityProfile {
                code: info.code.clone(),
                name: info.name.clone(),
                street: info.street.clone(),
                housing_form: info.housing_form,
                n,
                sufficient,
                dimensions,
                needs: if sufficient {
                    need_degrees(scheme, rs, settings)
                } else {
                    Vec::new()
                },
                problems: if sufficient {
                    problem_indices(scheme, rs)
                } else {
                    Vec::new()
                },
                tags: if sufficient {
                    tag_rates(scheme, rs)
                } else {
                    Vec::new()
                },
                portrait: portrait(scheme, rs),
            }
        })
        .collect();

    // The district's distribution and the previous round.
    for (di, d) in scheme.dimensions.iter().enumerate() {
        let all: Vec<f64> = profiles
            .iter()
            .filter_map(|p| p.dimensions.get(di).and_then(|s| s.score))
            .collect();
        for p in profiles.iter_mut() {
            let code = p.code.clone();
            let Some(s) = p.dimensions.get_mut(di) else {
                continue;
            };
            if let Some(score) = s.score {
                s.percentile = stats::percentile_rank(score, &all);
                s.previous = previous.and_then(|prev| {
                    let ps = prev
                        .profile(&code)?
                        .dimensions
                        .iter()
                        .find(|x| x.dimension == d.name)?;
                    let prev_score = ps.score?;
                    let overlap = match (s.ci_low, s.ci_high, ps.ci_low, ps.ci_high) {
                        (Some(a), Some(b), Some(c), Some(e)) => Some(a <= e && c <= b),
                        _ => None,
                    };
                    Some(PreviousScore {
                        round: prev.round.clone(),
                        score: prev_score,
                        ci_low: ps.ci_low,
                        ci_high: ps.ci_high,
                        change: score - prev_score,
                        cis_overlap: overlap,
                    })
                });
            }
        }
    }

    let cutoffs = crate::classify::cutoffs(&profiles, settings);
    let classifications: Vec<Classification> = profiles
        .iter()
        .map(|p| classify(p, scheme, &cutoffs, settings))
        .collect();
    let kmeans = kmeans(&profiles, &classifications);
    let mut notes = scheme.notes.clone();
    notes.dedup();
    District {
        round: round.to_string(),
        form_id: scheme.form_id.clone(),
        settings: settings.clone(),
        icc,
        cutoffs,
        communities: std::mem::take(&mut profiles),
        classifications,
        kmeans,
        notes,
    }
}

fn tier(degree: f64, settings: &AnalysisSettings) -> Tier {
    if degree >= settings.need_high {
        Tier::High
    } else if degree >= settings.need_medium {
        Tier::Medium
    } else {
        Tier::Low
    }
}

/// For one multi-select item: how many respondents it applied to, and per choice (in list
/// order) how many of them ticked it. One pass, each answer split once.
fn tick_counts<'a>(
    item: &ChoiceItem,
    rs: &[&'a Respondent],
    mut each: impl FnMut(usize, &'a Respondent),
) -> (u32, Vec<u32>) {
    let mut applied = 0;
    let mut counts = vec![0u32; item.choices.len()];
    for r in rs.iter().filter(|r| applies(item, &r.answers)) {
        applied += 1;
        let Some(v) = r.answers.get(&item.key) else {
            continue;
        };
        for token in v.split_whitespace() {
            if let Some(i) = item.choices.iter().position(|c| c.name == token) {
                counts[i] += 1;
                each(i, r);
            }
        }
    }
    (applied, counts)
}

fn need_degrees(
    scheme: &Scheme,
    rs: &[&Respondent],
    settings: &AnalysisSettings,
) -> Vec<NeedDegree> {
    let mut out = Vec::new();
    for item in &scheme.needs {
        let (applied, counts) = tick_counts(item, rs, |_, _| {});
        for (c, &count) in item.choices.iter().zip(&counts) {
            let degree = (applied > 0).then(|| count as f64 / applied as f64 * 100.0);
            out.push(NeedDegree {
                group: item.group.clone(),
                item: item.key.clone(),
                choice: c.name.clone(),
                label: c.label.clone(),
                applied,
                ticked: count,
                degree,
                tier: degree.map(|d| tier(d, settings)),
            });
        }
    }
    out
}

fn problem_indices(scheme: &Scheme, rs: &[&Respondent]) -> Vec<ProblemIndex> {
    let Some(item) = &scheme.problems else {
        return Vec::new();
    };
    let sev: Vec<Option<&ScaleItem>> = item
        .choices
        .iter()
        .map(|c| scheme.severity.get(&c.name))
        .collect();
    // Per choice: the sum and count of valid severities of those who ticked it.
    let mut sums = vec![(0.0f64, 0u32); item.choices.len()];
    let (applied, counts) = tick_counts(item, rs, |i, r| {
        if let Some(s) = sev[i] {
            if let Some(x) = r
                .answers
                .get(&s.key)
                .and_then(|v| v.trim().parse::<f64>().ok())
                .filter(|x| (s.min..=s.max).contains(x))
            {
                sums[i].0 += x;
                sums[i].1 += 1;
            }
        }
    });
    item.choices
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let who = counts[i];
            let share = (applied > 0).then(|| who as f64 / applied as f64 * 100.0);
            let severity =
                (sev[i].is_some() && sums[i].1 > 0).then(|| sums[i].0 / sums[i].1 as f64);
            ProblemIndex {
                item: item.key.clone(),
                choice: c.name.clone(),
                label: c.label.clone(),
                applied,
                ticked: who,
                share,
                severity,
                index: match (share, severity) {
                    (Some(s), Some(v)) => Some(s * v),
                    // Ticked by nobody: no severity to weigh, and no problem.
                    (Some(s), None) if who == 0 && sev[i].is_some() => Some(s * 0.0),
                    _ => None,
                },
            }
        })
        .collect()
}

fn tag_rates(scheme: &Scheme, rs: &[&Respondent]) -> Vec<TagRate> {
    let mut tags: Vec<&str> = scheme.tags.iter().map(|t| t.tag.as_str()).collect();
    tags.sort();
    tags.dedup();
    tags.into_iter()
        .map(|tag| {
            let rules: Vec<_> = scheme.tags.iter().filter(|t| t.tag == tag).collect();
            let mut n = 0;
            let mut count = 0;
            for r in rs {
                let answered: Vec<_> = rules
                    .iter()
                    .filter_map(|rule| {
                        r.answers
                            .get(&rule.key)
                            .filter(|v| !v.is_empty())
                            .map(|v| (rule, v))
                    })
                    .collect();
                if answered.is_empty() {
                    continue;
                }
                n += 1;
                if answered
                    .iter()
                    .any(|(rule, v)| holds(&rule.expr, &r.answers, v))
                {
                    count += 1;
                }
            }
            TagRate {
                tag: tag.to_string(),
                n,
                count,
                rate: (n > 0).then(|| count as f64 / n as f64 * 100.0),
            }
        })
        .collect()
}

fn portrait(scheme: &Scheme, rs: &[&Respondent]) -> Vec<PortraitEntry> {
    scheme
        .portrait
        .iter()
        .map(|item| {
            let values: Vec<(&str, &str)> = rs
                .iter()
                .filter_map(|r| {
                    r.answers
                        .get(&item.key)
                        .filter(|v| !v.trim().is_empty())
                        .map(|v| (r.instance_id.as_str(), v.as_str()))
                })
                .collect();
            let numeric = matches!(item.qtype.as_str(), "integer" | "decimal" | "range");
            let select = item.qtype.starts_with("select_");
            let nums: Vec<f64> = if numeric {
                values.iter().filter_map(|(_, v)| v.parse().ok()).collect()
            } else {
                Vec::new()
            };
            PortraitEntry {
                section: item.section.clone(),
                item: item.key.clone(),
                personal: item.personal,
                label: item.label.clone(),
                answered: values.len() as u32,
                sum: numeric.then(|| nums.iter().sum()),
                positive: numeric.then(|| nums.iter().filter(|x| **x > 0.0).count() as u32),
                counts: if select {
                    item.choices
                        .iter()
                        .map(|c| ChoiceCount {
                            choice: c.name.clone(),
                            label: c.label.clone(),
                            count: values
                                .iter()
                                .filter(|(_, v)| v.split_whitespace().any(|x| x == c.name))
                                .count() as u32,
                        })
                        .collect()
                } else {
                    Vec::new()
                },
                texts: if !numeric && !select {
                    values
                        .iter()
                        .map(|(id, v)| Verbatim {
                            instance_id: id.to_string(),
                            text: v.to_string(),
                        })
                        .collect()
                } else {
                    Vec::new()
                },
            }
        })
        .collect()
}
