//! The district's resource and expert libraries (资源库, 专家库) and the vocabulary their tags
//! come from: the need and problem choices of the scale, so a resource tagged 加装电梯 meets
//! exactly the communities whose residents ticked it.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use shequ_core::LocalizedText;
use ts_rs::TS;
use uuid::Uuid;

use crate::scheme::Scheme;

/// One term of the controlled vocabulary: `service:lift`, `elderly:meals`, `problem:parking`
/// (the `group:choice` keys the classification's need tags and top problems use).
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct Term {
    /// `{need group}:{choice}`, or `problem:{choice}`.
    pub key: String,
    /// The need group (`service`, `elderly`, …) or `problem`.
    pub group: String,
    pub label: LocalizedText,
}

/// The terms resources, experts, needs and problems share, in the scale's order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct Vocabulary {
    pub terms: Vec<Term>,
}

/// How a typed tag was understood.
#[derive(Debug, Clone, PartialEq)]
pub enum Resolved<'a> {
    Term(&'a Term),
    /// Not a term; the nearest one, if any is near enough to offer.
    Unknown(Option<&'a Term>),
}

impl Vocabulary {
    pub fn from_scheme(scheme: &Scheme) -> Vocabulary {
        let mut terms = Vec::new();
        for item in scheme.needs.iter().chain(scheme.problems.iter()) {
            for c in &item.choices {
                let key = format!("{}:{}", item.group, c.name);
                if !terms.iter().any(|t: &Term| t.key == key) {
                    terms.push(Term {
                        key,
                        group: item.group.clone(),
                        label: c.label.clone(),
                    });
                }
            }
        }
        Vocabulary { terms }
    }

    /// The term whose key or label this is exactly (after folding), without a suggestion.
    pub fn exact(&self, text: &str) -> Option<&Term> {
        let want = fold(text);
        self.terms
            .iter()
            .find(|t| fold(&t.key) == want || t.label.0.values().any(|l| fold(l) == want))
    }

    pub fn get(&self, key: &str) -> Option<&Term> {
        self.terms.iter().find(|t| t.key == key)
    }

    /// A tag as a person types it: the key (`service:lift`), or a label in any language of
    /// the scale (加装电梯, "Lift installation"), ignoring case, spaces and full-width forms.
    /// A label shared by several groups (就业 in two) resolves to the first, in scale order.
    pub fn resolve(&self, text: &str) -> Resolved<'_> {
        let want = fold(text);
        if want.is_empty() {
            return Resolved::Unknown(None);
        }
        fn names(t: &Term) -> Vec<String> {
            std::iter::once(fold(&t.key))
                .chain(t.label.0.values().map(|l| fold(l)))
                .collect()
        }
        if let Some(t) = self.terms.iter().find(|t| names(t).contains(&want)) {
            return Resolved::Term(t);
        }
        // The nearest by edit distance over characters, when it is close for its length.
        let nearest = self
            .terms
            .iter()
            .flat_map(|t| {
                let want = &want;
                names(t).into_iter().map(move |n| (distance(want, &n), t))
            })
            .min_by_key(|(d, _)| *d)
            .filter(|(d, _)| *d <= (want.chars().count() / 3).max(1))
            .map(|(_, t)| t);
        Resolved::Unknown(nearest)
    }
}

/// Lower case, no spaces, full-width ASCII folded to half-width.
fn fold(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            _ => c,
        })
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Levenshtein distance over characters (Chinese labels are a few characters long).
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The nine kinds of resource the method names, in three families.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum ResourceKind {
    /// 党组织
    PartyOrganisation,
    /// 驻区单位
    ResidentUnit,
    /// 群众团体
    MassOrganisation,
    /// 社会组织
    SocialOrganisation,
    /// 党员
    PartyMember,
    /// 社区能人
    CommunityTalent,
    /// 志愿者
    Volunteer,
    /// 政府公共资源 (venues)
    PublicVenue,
    /// 社会开放资源 (venues)
    OpenVenue,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum ResourceFamily {
    Organisation,
    People,
    Venue,
}

impl ResourceKind {
    pub const ALL: [ResourceKind; 9] = [
        ResourceKind::PartyOrganisation,
        ResourceKind::ResidentUnit,
        ResourceKind::MassOrganisation,
        ResourceKind::SocialOrganisation,
        ResourceKind::PartyMember,
        ResourceKind::CommunityTalent,
        ResourceKind::Volunteer,
        ResourceKind::PublicVenue,
        ResourceKind::OpenVenue,
    ];

    pub fn family(self) -> ResourceFamily {
        use ResourceKind::*;
        match self {
            PartyOrganisation | ResidentUnit | MassOrganisation | SocialOrganisation => {
                ResourceFamily::Organisation
            }
            PartyMember | CommunityTalent | Volunteer => ResourceFamily::People,
            PublicVenue | OpenVenue => ResourceFamily::Venue,
        }
    }

    pub fn tag(self) -> &'static str {
        use ResourceKind::*;
        match self {
            PartyOrganisation => "party_organisation",
            ResidentUnit => "resident_unit",
            MassOrganisation => "mass_organisation",
            SocialOrganisation => "social_organisation",
            PartyMember => "party_member",
            CommunityTalent => "community_talent",
            Volunteer => "volunteer",
            PublicVenue => "public_venue",
            OpenVenue => "open_venue",
        }
    }

    pub fn parse(tag: &str) -> Option<ResourceKind> {
        ResourceKind::ALL.into_iter().find(|k| k.tag() == tag)
    }
}

/// When a resource or expert can be called on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Availability {
    /// Days of the week, Monday = 1 … Sunday = 7; empty = any day.
    pub days: Vec<u8>,
    /// Free text as the owner gave it: "9:00–17:00", "周末下午".
    pub hours: String,
    /// The last day it is offered; `None` = open-ended.
    #[ts(type = "string | null")]
    pub until: Option<NaiveDate>,
}

impl Availability {
    pub fn expired(&self, today: NaiveDate) -> bool {
        self.until.is_some_and(|u| u < today)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Resource {
    pub id: Uuid,
    pub kind: ResourceKind,
    pub name: String,
    /// The community it belongs to (its code), if it belongs to one.
    pub community: Option<String>,
    /// The street (街道) it belongs to; with no community, it serves the whole street.
    pub street: String,
    pub contact: String,
    /// How many matches it can carry at once; `None` = not limited.
    pub capacity: Option<u32>,
    pub availability: Availability,
    /// Vocabulary keys.
    pub tags: Vec<String>,
    /// The interview it was volunteered in (block I), when it came from one.
    pub source_instance: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Expert {
    pub id: Uuid,
    pub name: String,
    pub organisation: String,
    /// The street the expert is based in, if any (experts serve the whole district).
    pub street: String,
    pub contact: String,
    pub capacity: Option<u32>,
    pub availability: Availability,
    /// Fields of expertise, as vocabulary keys.
    pub fields: Vec<String>,
}

/// Matches already agreed or under way, per resource or expert id: the current load.
pub type Load = BTreeMap<Uuid, u32>;

#[cfg(test)]
mod tests {
    use super::*;

    fn vocabulary() -> Vocabulary {
        let def = shequ_forms::default_scale().unwrap();
        Vocabulary::from_scheme(&Scheme::from_definition(&def))
    }

    #[test]
    fn the_vocabulary_is_the_scales_need_and_problem_choices() {
        let v = vocabulary();
        // 13 services, 6 elderly, 5 children, 4 disability, 4 hardship, 11 problems.
        assert_eq!(v.terms.len(), 43);
        assert_eq!(v.terms[0].key, "service:property");
        let lift = v.get("service:lift").unwrap();
        assert_eq!(lift.label.pick(shequ_core::Lang::ZhCn), Some("加装电梯"));
        assert!(v.get("problem:parking").is_some() && v.get("service:parking").is_some());
    }

    #[test]
    fn tags_are_understood_however_typed_and_a_near_miss_is_offered_the_nearest_term() {
        let v = vocabulary();
        let key = |text: &str| match v.resolve(text) {
            Resolved::Term(t) => Ok(t.key.clone()),
            Resolved::Unknown(near) => Err(near.map(|t| t.key.clone())),
        };
        assert_eq!(key("加装电梯"), Ok("service:lift".into()));
        assert_eq!(key(" 加装 电梯 "), Ok("service:lift".into()));
        assert_eq!(key("Lift Installation"), Ok("service:lift".into()));
        assert_eq!(key("service:lift"), Ok("service:lift".into()));
        assert_eq!(key("ＳＥＲＶＩＣＥ：ＬＩＦＴ"), Ok("service:lift".into()));
        // The label of one group only: 就业 is the hardship list's.
        assert_eq!(key("就业"), Ok("hardship:employment".into()));
        // Near misses: a wrong character, a missing one, an English typo.
        assert_eq!(key("加装电悌"), Err(Some("service:lift".into())));
        assert_eq!(key("老年助"), Err(Some("service:elderly_meals".into())));
        assert_eq!(key("Lift instalation"), Err(Some("service:lift".into())));
        // Nothing like it, or nothing at all.
        assert_eq!(key("航天发射"), Err(None));
        assert_eq!(key("  "), Err(None));
    }
}
