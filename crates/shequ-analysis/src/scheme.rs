//! What a scale's scoring columns say, read once from its definition: the Likert items of
//! each dimension, the need and problem items, severity ratings, tag rules and the portrait's
//! verbatim parts. A scale without some of them is still profiled as far as it can be; each
//! missing part is a [`SchemeNote`] saying why.

use std::collections::BTreeMap;

use serde::Serialize;
use shequ_core::{Choice, FormDefinition, FormItem, LocalizedText, Question};
use shequ_forms::expr::{parse, Expr};
use ts_rs::TS;

/// The dimensions of the "三一六" typology; others (efficacy…) are profiled but not typed.
pub const IDENTITY: &str = "identity";
pub const INTERACTION: &str = "interaction";
pub const LINKAGES: &str = "linkages";
/// The need group whose item lists problems (rated by `severity_of` questions).
pub const PROBLEM_GROUP: &str = "problem";

#[derive(Debug, Clone)]
pub struct ScaleItem {
    pub key: String,
    pub reverse: bool,
    pub min: f64,
    pub max: f64,
}

#[derive(Debug, Clone)]
pub struct Dimension {
    pub name: String,
    pub items: Vec<ScaleItem>,
}

/// A multi-select item: a need list or the problem list.
#[derive(Debug, Clone)]
pub struct ChoiceItem {
    pub key: String,
    pub group: String,
    pub label: LocalizedText,
    pub choices: Vec<Choice>,
    /// Relevance of the item and of every group around it: it applied to a respondent when
    /// all hold on their record.
    pub relevance: Vec<Expr>,
}

#[derive(Debug, Clone)]
pub struct TagRule {
    pub tag: String,
    pub key: String,
    pub expr: Expr,
}

#[derive(Debug, Clone)]
pub struct PortraitItem {
    pub key: String,
    pub section: String,
    /// Marked personal in the form: documents that leave the centre do not print it.
    pub personal: bool,
    pub qtype: String,
    pub label: LocalizedText,
    pub choices: Vec<Choice>,
}

/// Why part of a profile cannot be computed from this scale.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct SchemeNote {
    /// Catalogue key under `analysis.notes`.
    pub key: String,
    pub params: BTreeMap<String, String>,
}

impl SchemeNote {
    /// The note in the user's language (dimension and tag names translated).
    pub fn render(&self, lang: shequ_core::Lang) -> String {
        let params: BTreeMap<String, String> = self
            .params
            .iter()
            .map(|(k, v)| (k.clone(), crate::classify::render_param(lang, k, v)))
            .collect();
        shequ_core::i18n::message(lang, &format!("analysis.notes.{}", self.key), &params)
    }

    fn new(key: &str, params: &[(&str, &str)]) -> SchemeNote {
        SchemeNote {
            key: key.into(),
            params: params
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Scheme {
    pub form_id: String,
    pub dimensions: Vec<Dimension>,
    pub needs: Vec<ChoiceItem>,
    pub problems: Option<ChoiceItem>,
    /// Problem choice name → the key of its severity question and that question's range.
    pub severity: BTreeMap<String, ScaleItem>,
    pub tags: Vec<TagRule>,
    pub portrait: Vec<PortraitItem>,
    pub notes: Vec<SchemeNote>,
    /// Question key → (choice name → label), for labelling needs and problems.
    pub choice_labels: BTreeMap<String, BTreeMap<String, LocalizedText>>,
}

impl Scheme {
    pub fn dimension(&self, name: &str) -> Option<&Dimension> {
        self.dimensions.iter().find(|d| d.name == name)
    }

    pub fn from_definition(def: &FormDefinition) -> Scheme {
        let mut s = Scheme {
            form_id: def.form_id.clone(),
            ..Scheme::default()
        };
        let mut dims: BTreeMap<String, Vec<ScaleItem>> = BTreeMap::new();
        let mut order: Vec<String> = Vec::new();
        walk(
            &def.items,
            &mut Vec::new(),
            false,
            &mut |q, relevance, in_repeat| {
                let sc = &q.scoring;
                let scored = sc.dimension.is_some()
                    || sc.need.is_some()
                    || sc.severity_of.is_some()
                    || sc.tag.is_some()
                    || sc.profile.is_some();
                if !scored {
                    return;
                }
                if in_repeat {
                    s.notes
                        .push(SchemeNote::new("item_in_repeat", &[("question", &q.name)]));
                    return;
                }
                let key = q.key_name().to_string();
                let choices = q
                    .list_name
                    .as_ref()
                    .and_then(|l| def.choices.get(l))
                    .cloned()
                    .unwrap_or_default();
                if let Some(dim) = &sc.dimension {
                    match numeric_range(&choices) {
                        Some((min, max)) => {
                            if !dims.contains_key(dim) {
                                order.push(dim.clone());
                            }
                            dims.entry(dim.clone()).or_default().push(ScaleItem {
                                key: key.clone(),
                                reverse: sc.reverse,
                                min,
                                max,
                            });
                        }
                        None => s.notes.push(SchemeNote::new(
                            "item_not_numeric",
                            &[("question", &q.name), ("dimension", dim)],
                        )),
                    }
                }
                if let Some(group) = &sc.need {
                    if !q.qtype.starts_with("select_") {
                        s.notes
                            .push(SchemeNote::new("need_not_select", &[("question", &q.name)]));
                    } else {
                        let item = ChoiceItem {
                            key: key.clone(),
                            group: group.clone(),
                            label: q.label.clone(),
                            choices: choices.clone(),
                            relevance: relevance.to_vec(),
                        };
                        s.choice_labels.insert(
                            key.clone(),
                            choices
                                .iter()
                                .map(|c| (c.name.clone(), c.label.clone()))
                                .collect(),
                        );
                        if group == PROBLEM_GROUP {
                            if s.problems.is_none() {
                                s.problems = Some(item);
                            }
                        } else {
                            s.needs.push(item);
                        }
                    }
                }
                if let Some(choice) = &sc.severity_of {
                    match numeric_range(&choices) {
                        Some((min, max)) => {
                            s.severity.insert(
                                choice.clone(),
                                ScaleItem {
                                    key: key.clone(),
                                    reverse: false,
                                    min,
                                    max,
                                },
                            );
                        }
                        None => s.notes.push(SchemeNote::new(
                            "severity_not_numeric",
                            &[("question", &q.name)],
                        )),
                    }
                }
                if let Some(cell) = &sc.tag {
                    // The import checked the shape and the syntax; a definition stored by an
                    // older version is checked again here.
                    match shequ_forms::split_score_tag(cell)
                        .and_then(|(t, e)| Some((t, parse(e).ok()?)))
                    {
                        Some((tag, expr)) => s.tags.push(TagRule {
                            tag: tag.to_string(),
                            key: key.clone(),
                            expr,
                        }),
                        None => s
                            .notes
                            .push(SchemeNote::new("tag_invalid", &[("question", &q.name)])),
                    }
                }
                if let Some(section) = &sc.profile {
                    s.portrait.push(PortraitItem {
                        key: key.clone(),
                        section: section.clone(),
                        personal: sc.personal,
                        qtype: q.qtype.clone(),
                        label: q.label.clone(),
                        choices: choices.clone(),
                    });
                }
            },
        );
        s.dimensions = order
            .into_iter()
            .map(|name| Dimension {
                items: dims.remove(&name).unwrap_or_default(),
                name,
            })
            .collect();
        for dim in [INTERACTION, IDENTITY, LINKAGES] {
            if s.dimension(dim).is_none() {
                s.notes
                    .push(SchemeNote::new("no_dimension", &[("dimension", dim)]));
            }
        }
        if s.needs.is_empty() {
            s.notes.push(SchemeNote::new("no_needs", &[]));
        }
        match &s.problems {
            None => s.notes.push(SchemeNote::new("no_problems", &[])),
            Some(p) => {
                if !p.choices.iter().any(|c| s.severity.contains_key(&c.name)) {
                    s.notes.push(SchemeNote::new("no_severity", &[]));
                }
            }
        }
        for tag in crate::TAGS {
            if !s.tags.iter().any(|t| t.tag == tag) {
                s.notes
                    .push(SchemeNote::new("no_tag_rule", &[("tag", tag)]));
            }
        }
        s
    }
}

/// The numeric range of a choice list whose every name is a number (a Likert list).
fn numeric_range(choices: &[Choice]) -> Option<(f64, f64)> {
    if choices.is_empty() {
        return None;
    }
    let nums: Option<Vec<f64>> = choices.iter().map(|c| c.name.trim().parse().ok()).collect();
    let nums = nums?;
    let min = nums.iter().cloned().fold(f64::INFINITY, f64::min);
    let max = nums.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    (max > min).then_some((min, max))
}

fn walk(
    items: &[FormItem],
    relevance: &mut Vec<Expr>,
    in_repeat: bool,
    f: &mut dyn FnMut(&Question, &[Expr], bool),
) {
    for item in items {
        match item {
            FormItem::Question(q) => {
                let pushed = push_relevance(relevance, q.relevant.as_deref());
                f(q, relevance, in_repeat);
                if pushed {
                    relevance.pop();
                }
            }
            FormItem::Group {
                relevant,
                repeat,
                children,
                ..
            } => {
                let pushed = push_relevance(relevance, relevant.as_deref());
                walk(children, relevance, in_repeat || *repeat, f);
                if pushed {
                    relevance.pop();
                }
            }
        }
    }
}

fn push_relevance(stack: &mut Vec<Expr>, src: Option<&str>) -> bool {
    match src.map(str::trim).filter(|s| !s.is_empty()).map(parse) {
        Some(Ok(e)) => {
            stack.push(e);
            true
        }
        // The import refused bad syntax; nothing else reaches here.
        _ => false,
    }
}
