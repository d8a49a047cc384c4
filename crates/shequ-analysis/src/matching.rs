//! Matching (供需对接): for a community's high and medium needs and its top problems, the
//! resources and experts carrying the same term, ranked, each with the reasons for its rank.
//!
//! score = weight × proximity × load, where
//! - weight is the need degree / 100 (a problem: its index / 300, share × severity at most 300);
//! - proximity is 1.0 for a resource of the community itself, 0.8 of its street, 0.6 of a
//!   community in the same cluster, 0.4 from elsewhere in the district (experts: 0.8 in the
//!   same street, else 0.4);
//! - load is 1 − active / capacity (an unlimited one: 1 / (1 + active)), where active counts
//!   the matches agreed or in progress; a full or expired one is not offered.

use std::collections::{BTreeSet, HashMap};

use chrono::NaiveDate;
use serde::Serialize;
use ts_rs::TS;
use uuid::Uuid;

use crate::classify::Classification;
use crate::profile::{CommunityProfile, Tier};
use crate::resources::{Expert, Load, Resource, ResourceKind};

/// What a community asks for: a need at high or medium degree, or one of its top problems.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct Demand {
    /// Vocabulary key, `group:choice`.
    pub term: String,
    pub problem: bool,
    /// Need degree (%) or problem index.
    pub value: f64,
    pub tier: Option<Tier>,
    /// 0–1: degree / 100, or index / 300.
    pub weight: f64,
}

/// A community's demands: needs at high or medium degree, highest first, then the top
/// problems the classification lists (at or above the index threshold).
pub fn demands(profile: &CommunityProfile, class: &Classification) -> Vec<Demand> {
    let mut out: Vec<Demand> = profile
        .needs
        .iter()
        .filter(|n| matches!(n.tier, Some(Tier::High | Tier::Medium)))
        .filter_map(|n| {
            Some(Demand {
                term: format!("{}:{}", n.group, n.choice),
                problem: false,
                value: n.degree?,
                tier: n.tier,
                weight: n.degree? / 100.0,
            })
        })
        .collect();
    out.sort_by(|a, b| b.value.total_cmp(&a.value).then(a.term.cmp(&b.term)));
    for key in &class.top_problems {
        let choice = key.split_once(':').map_or(key.as_str(), |(_, c)| c);
        if let Some(p) = profile.problems.iter().find(|p| p.choice == choice) {
            if let Some(index) = p.index {
                out.push(Demand {
                    term: format!("problem:{choice}"),
                    problem: true,
                    value: index,
                    tier: None,
                    weight: (index / 300.0).min(1.0),
                });
            }
        }
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum Proximity {
    SameCommunity,
    SameStreet,
    SameCluster,
    District,
}

impl Proximity {
    pub fn factor(self) -> f64 {
        match self {
            Proximity::SameCommunity => 1.0,
            Proximity::SameStreet => 0.8,
            Proximity::SameCluster => 0.6,
            Proximity::District => 0.4,
        }
    }
}

/// Who could meet a demand.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(tag = "type", rename_all = "snake_case")]
#[ts(export)]
pub enum Supplier {
    Resource {
        id: Uuid,
        name: String,
        kind: ResourceKind,
    },
    Expert {
        id: Uuid,
        name: String,
        organisation: String,
    },
}

impl Supplier {
    pub fn id(&self) -> Uuid {
        match self {
            Supplier::Resource { id, .. } | Supplier::Expert { id, .. } => *id,
        }
    }
    pub fn name(&self) -> &str {
        match self {
            Supplier::Resource { name, .. } | Supplier::Expert { name, .. } => name,
        }
    }
}

/// One candidate, with every factor of its score.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct Candidate {
    pub supplier: Supplier,
    /// 0–100.
    pub score: f64,
    pub weight: f64,
    pub proximity: Proximity,
    /// Matches agreed or in progress now.
    pub active: u32,
    pub capacity: Option<u32>,
    pub load_factor: f64,
    pub hours: String,
    #[ts(type = "string | null")]
    pub until: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct DemandMatches {
    pub demand: Demand,
    pub candidates: Vec<Candidate>,
}

/// Where the community stands: its code, street and the codes of its cluster's members.
pub struct Place<'a> {
    pub code: &'a str,
    pub street: &'a str,
    pub cluster: &'a BTreeSet<String>,
}

/// The libraries indexed by term, built once for many communities.
pub struct Index<'a> {
    resources: &'a [Resource],
    experts: &'a [Expert],
    by_term: HashMap<&'a str, (Vec<usize>, Vec<usize>)>,
}

impl<'a> Index<'a> {
    pub fn new(resources: &'a [Resource], experts: &'a [Expert]) -> Index<'a> {
        let mut by_term: HashMap<&'a str, (Vec<usize>, Vec<usize>)> = HashMap::new();
        for (i, r) in resources.iter().enumerate() {
            for t in &r.tags {
                by_term.entry(t.as_str()).or_default().0.push(i);
            }
        }
        for (i, e) in experts.iter().enumerate() {
            for t in &e.fields {
                by_term.entry(t.as_str()).or_default().1.push(i);
            }
        }
        Index {
            resources,
            experts,
            by_term,
        }
    }

    /// The ranked candidates for each demand, at most `limit` each: highest score first, then
    /// by name and id so the order is the same every time.
    pub fn matches(
        &self,
        place: &Place<'_>,
        demands: &[Demand],
        load: &Load,
        today: NaiveDate,
        limit: usize,
    ) -> Vec<DemandMatches> {
        demands
            .iter()
            .map(|d| {
                let mut candidates = Vec::new();
                if let Some((rs, es)) = self.by_term.get(d.term.as_str()) {
                    for &i in rs {
                        let r = &self.resources[i];
                        let proximity = if r.community.as_deref() == Some(place.code) {
                            Proximity::SameCommunity
                        } else if r.street == place.street {
                            Proximity::SameStreet
                        } else if r
                            .community
                            .as_ref()
                            .is_some_and(|c| place.cluster.contains(c))
                        {
                            Proximity::SameCluster
                        } else {
                            Proximity::District
                        };
                        let supplier = Supplier::Resource {
                            id: r.id,
                            name: r.name.clone(),
                            kind: r.kind,
                        };
                        candidates.extend(candidate(
                            supplier,
                            d,
                            proximity,
                            r.capacity,
                            &r.availability,
                            load,
                            today,
                        ));
                    }
                    for &i in es {
                        let e = &self.experts[i];
                        let proximity = if !e.street.is_empty() && e.street == place.street {
                            Proximity::SameStreet
                        } else {
                            Proximity::District
                        };
                        let supplier = Supplier::Expert {
                            id: e.id,
                            name: e.name.clone(),
                            organisation: e.organisation.clone(),
                        };
                        candidates.extend(candidate(
                            supplier,
                            d,
                            proximity,
                            e.capacity,
                            &e.availability,
                            load,
                            today,
                        ));
                    }
                }
                rank(&mut candidates, limit);
                DemandMatches {
                    demand: d.clone(),
                    candidates,
                }
            })
            .collect()
    }
}

fn candidate(
    supplier: Supplier,
    d: &Demand,
    proximity: Proximity,
    capacity: Option<u32>,
    availability: &crate::resources::Availability,
    load: &Load,
    today: NaiveDate,
) -> Option<Candidate> {
    if availability.expired(today) {
        return None;
    }
    let active = load.get(&supplier.id()).copied().unwrap_or(0);
    let load_factor = match capacity {
        Some(c) if active >= c => return None,
        Some(c) => 1.0 - f64::from(active) / f64::from(c),
        None => 1.0 / (1.0 + f64::from(active)),
    };
    Some(Candidate {
        score: 100.0 * d.weight * proximity.factor() * load_factor,
        supplier,
        weight: d.weight,
        proximity,
        active,
        capacity,
        load_factor,
        hours: availability.hours.clone(),
        until: availability.until,
    })
}

fn rank(candidates: &mut Vec<Candidate>, limit: usize) {
    let order = |a: &Candidate, b: &Candidate| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| a.supplier.name().cmp(b.supplier.name()))
            .then_with(|| a.supplier.id().cmp(&b.supplier.id()))
    };
    if candidates.len() > limit {
        candidates.select_nth_unstable_by(limit, order);
        candidates.truncate(limit);
    }
    candidates.sort_by(order);
}
