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
    /// Its name in the catalogues (`cli.proximity.*`, `network.proximity.*`), as serialised.
    pub fn key(self) -> &'static str {
        match self {
            Proximity::SameCommunity => "same_community",
            Proximity::SameStreet => "same_street",
            Proximity::SameCluster => "same_cluster",
            Proximity::District => "district",
        }
    }

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

/// The libraries indexed for matching, with the current load and date applied, built once
/// for many communities. Within a demand, every candidate's score is the demand's weight times
/// its proximity times its load factor; only proximity depends on the community. So for each
/// term the suppliers are kept sorted by load factor (then name, then id), and a demand needs
/// only its street's and cluster's suppliers (proximity above the district's 0.4) and the first
/// `limit` others from that list: nothing further down can outrank them.
pub struct Index<'a> {
    resources: &'a [Resource],
    experts: &'a [Expert],
    /// Term → the suppliers carrying it that can be offered, best load factor first.
    by_term: HashMap<&'a str, Vec<Entry>>,
    /// (term, street) and (term, community code) → positions in `by_term[term]`.
    by_street: HashMap<(&'a str, &'a str), Vec<usize>>,
    by_community: HashMap<(&'a str, &'a str), Vec<usize>>,
}

/// A supplier that can be offered (not expired, not full), with its load.
#[derive(Debug, Clone, Copy)]
struct Entry {
    who: Who,
    id: Uuid,
    active: u32,
    capacity: Option<u32>,
    load_factor: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Resource(usize),
    Expert(usize),
}

/// The load factor, or `None` for a supplier that cannot take more (or has expired).
fn load_factor(
    id: Uuid,
    capacity: Option<u32>,
    availability: &crate::resources::Availability,
    load: &Load,
    today: NaiveDate,
) -> Option<(u32, f64)> {
    if availability.expired(today) {
        return None;
    }
    let active = load.get(&id).copied().unwrap_or(0);
    match capacity {
        Some(c) if active >= c => None,
        Some(c) => Some((active, 1.0 - f64::from(active) / f64::from(c))),
        None => Some((active, 1.0 / (1.0 + f64::from(active)))),
    }
}

impl<'a> Index<'a> {
    pub fn new(
        resources: &'a [Resource],
        experts: &'a [Expert],
        load: &Load,
        today: NaiveDate,
    ) -> Index<'a> {
        let mut by_term: HashMap<&'a str, Vec<Entry>> = HashMap::new();
        for (i, r) in resources.iter().enumerate() {
            if let Some((active, lf)) = load_factor(r.id, r.capacity, &r.availability, load, today)
            {
                // A tag given twice is one offer.
                for t in r.tags.iter().collect::<BTreeSet<_>>() {
                    by_term.entry(t.as_str()).or_default().push(Entry {
                        who: Who::Resource(i),
                        id: r.id,
                        active,
                        capacity: r.capacity,
                        load_factor: lf,
                    });
                }
            }
        }
        for (i, e) in experts.iter().enumerate() {
            if let Some((active, lf)) = load_factor(e.id, e.capacity, &e.availability, load, today)
            {
                for t in e.fields.iter().collect::<BTreeSet<_>>() {
                    by_term.entry(t.as_str()).or_default().push(Entry {
                        who: Who::Expert(i),
                        id: e.id,
                        active,
                        capacity: e.capacity,
                        load_factor: lf,
                    });
                }
            }
        }
        let mut index = Index {
            resources,
            experts,
            by_term: HashMap::new(),
            by_street: HashMap::new(),
            by_community: HashMap::new(),
        };
        for (term, mut entries) in by_term {
            entries.sort_by(|a, b| {
                b.load_factor
                    .total_cmp(&a.load_factor)
                    .then_with(|| index.name(a.who).cmp(index.name(b.who)))
                    .then_with(|| a.id.cmp(&b.id))
            });
            for (pos, e) in entries.iter().enumerate() {
                let (street, community) = match e.who {
                    Who::Resource(i) => (
                        resources[i].street.as_str(),
                        resources[i].community.as_deref(),
                    ),
                    Who::Expert(i) => (experts[i].street.as_str(), None),
                };
                if !street.is_empty() {
                    index.by_street.entry((term, street)).or_default().push(pos);
                }
                if let Some(c) = community {
                    index.by_community.entry((term, c)).or_default().push(pos);
                }
            }
            index.by_term.insert(term, entries);
        }
        index
    }

    fn name(&self, who: Who) -> &str {
        match who {
            Who::Resource(i) => &self.resources[i].name,
            Who::Expert(i) => &self.experts[i].name,
        }
    }

    fn proximity(&self, who: Who, place: &Place<'_>) -> Proximity {
        match who {
            Who::Resource(i) => {
                let r = &self.resources[i];
                if r.community.as_deref() == Some(place.code) {
                    Proximity::SameCommunity
                } else if !r.street.is_empty() && r.street == place.street {
                    Proximity::SameStreet
                } else if r
                    .community
                    .as_ref()
                    .is_some_and(|c| place.cluster.contains(c))
                {
                    Proximity::SameCluster
                } else {
                    Proximity::District
                }
            }
            Who::Expert(i) => {
                let e = &self.experts[i];
                if !e.street.is_empty() && e.street == place.street {
                    Proximity::SameStreet
                } else {
                    Proximity::District
                }
            }
        }
    }

    /// The ranked candidates for each demand, at most `limit` each: highest score first, then
    /// by name and id so the order is the same every time.
    pub fn matches(
        &self,
        place: &Place<'_>,
        demands: &[Demand],
        limit: usize,
    ) -> Vec<DemandMatches> {
        demands
            .iter()
            .map(|d| DemandMatches {
                demand: d.clone(),
                candidates: self.candidates(place, d, limit),
            })
            .collect()
    }

    fn candidates(&self, place: &Place<'_>, d: &Demand, limit: usize) -> Vec<Candidate> {
        let term = d.term.as_str();
        let Some(entries) = self.by_term.get(term) else {
            return Vec::new();
        };
        // Everyone nearer than the district: the street's, and the community's and its
        // cluster's (a cluster member may be in another street).
        let mut near: Vec<usize> = Vec::new();
        if let Some(v) = self.by_street.get(&(term, place.street)) {
            near.extend(v);
        }
        for code in std::iter::once(place.code).chain(place.cluster.iter().map(String::as_str)) {
            if let Some(v) = self.by_community.get(&(term, code)) {
                near.extend(v);
            }
        }
        near.sort_unstable();
        near.dedup();
        let mut picked: Vec<(usize, Proximity)> = near
            .iter()
            .map(|&p| (p, self.proximity(entries[p].who, place)))
            .collect();
        // Then the best of the rest, in load order: all at the district's 0.4.
        picked.extend(
            entries
                .iter()
                .enumerate()
                .filter(|(p, _)| near.binary_search(p).is_err())
                .take(limit)
                .map(|(p, _)| (p, Proximity::District)),
        );
        let mut scored: Vec<(f64, usize, Proximity)> = picked
            .into_iter()
            .map(|(p, prox)| {
                (
                    100.0 * d.weight * prox.factor() * entries[p].load_factor,
                    p,
                    prox,
                )
            })
            .collect();
        scored.sort_by(|a, b| {
            b.0.total_cmp(&a.0)
                .then_with(|| self.name(entries[a.1].who).cmp(self.name(entries[b.1].who)))
                .then_with(|| entries[a.1].id.cmp(&entries[b.1].id))
        });
        scored.truncate(limit);
        scored
            .into_iter()
            .map(|(score, p, proximity)| self.candidate(entries[p], d, score, proximity))
            .collect()
    }

    fn candidate(&self, e: Entry, d: &Demand, score: f64, proximity: Proximity) -> Candidate {
        let (supplier, availability) = match e.who {
            Who::Resource(i) => {
                let r = &self.resources[i];
                (
                    Supplier::Resource {
                        id: r.id,
                        name: r.name.clone(),
                        kind: r.kind,
                    },
                    &r.availability,
                )
            }
            Who::Expert(i) => {
                let x = &self.experts[i];
                (
                    Supplier::Expert {
                        id: x.id,
                        name: x.name.clone(),
                        organisation: x.organisation.clone(),
                    },
                    &x.availability,
                )
            }
        };
        Candidate {
            supplier,
            score,
            weight: d.weight,
            proximity,
            active: e.active,
            capacity: e.capacity,
            load_factor: e.load_factor,
            hours: availability.hours.clone(),
            until: availability.until,
        }
    }
}
