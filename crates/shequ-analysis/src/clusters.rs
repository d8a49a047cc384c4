//! Community clusters (社区群): same-type communities proposed together, and the rotating chair
//! of their joint meeting.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, Months, NaiveDate};
use serde::{Deserialize, Serialize};
use shequ_core::HousingForm;
use ts_rs::TS;

use crate::classify::{Classification, SocialType, Status};

/// How communities are grouped into proposed clusters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Grouping {
    /// Also the same housing form.
    pub by_housing: bool,
    /// Also the same street (Ningbo's 组团联建: neighbours work together).
    pub by_street: bool,
    /// Also neighbours: connected through the neighbour list (a chain of neighbouring
    /// communities of the type makes one proposal).
    #[serde(default)]
    pub by_neighbours: bool,
}

/// A proposed cluster: what its members share, and the terms most of them ask for.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct Proposal {
    pub social_type: SocialType,
    pub housing_form: Option<HousingForm>,
    pub street: Option<String>,
    /// Community codes, in code order.
    pub members: Vec<String>,
    /// Need and problem terms shared by at least two members, most shared first.
    pub shared: Vec<SharedTerm>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct SharedTerm {
    pub term: String,
    pub members: u32,
}

/// Proposals for every group of two or more classified communities, and the communities
/// left alone (their group has one member: no cluster of one is proposed).
pub fn propose(
    classes: &[Classification],
    streets: &BTreeMap<String, String>,
    neighbours: &[(String, String)],
    grouping: Grouping,
) -> (Vec<Proposal>, Vec<String>) {
    type Key = (SocialType, Option<HousingForm>, Option<String>);
    let mut groups: BTreeMap<Key, Vec<&Classification>> = BTreeMap::new();
    for c in classes {
        let (Status::Classified, Some(t)) = (c.status, c.social_type) else {
            continue;
        };
        let key = (
            t,
            grouping.by_housing.then_some(c.housing_form),
            grouping
                .by_street
                .then(|| streets.get(&c.code).cloned().unwrap_or_default()),
        );
        groups.entry(key).or_default().push(c);
    }
    let (mut proposals, mut alone) = (Vec::new(), Vec::new());
    let groups = groups.into_iter().flat_map(|(key, members)| {
        let parts = match grouping.by_neighbours {
            true => components(members, neighbours),
            false => vec![members],
        };
        parts.into_iter().map(move |m| (key.clone(), m))
    });
    for ((social_type, housing_form, street), mut members) in groups {
        members.sort_by(|a, b| a.code.cmp(&b.code));
        if members.len() < 2 {
            alone.extend(members.iter().map(|c| c.code.clone()));
            continue;
        }
        proposals.push(Proposal {
            social_type,
            housing_form,
            street,
            members: members.iter().map(|c| c.code.clone()).collect(),
            shared: shared_terms(&members),
        });
    }
    alone.sort();
    (proposals, alone)
}

/// The communities split into the groups connected through neighbour pairs among them, each
/// group ordered as given, groups by their first member.
fn components<'a>(
    members: Vec<&'a Classification>,
    pairs: &[(String, String)],
) -> Vec<Vec<&'a Classification>> {
    let index: BTreeMap<&str, usize> = members
        .iter()
        .enumerate()
        .map(|(i, c)| (c.code.as_str(), i))
        .collect();
    // Union-find over the members.
    let mut parent: Vec<usize> = (0..members.len()).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    for (a, b) in pairs {
        if let (Some(&i), Some(&j)) = (index.get(a.as_str()), index.get(b.as_str())) {
            let (ri, rj) = (root(&mut parent, i), root(&mut parent, j));
            parent[ri.max(rj)] = ri.min(rj);
        }
    }
    let mut groups: BTreeMap<usize, Vec<&Classification>> = BTreeMap::new();
    for (i, c) in members.iter().enumerate() {
        let r = root(&mut parent, i);
        groups.entry(r).or_default().push(c);
    }
    groups.into_values().collect()
}

/// Terms (top needs and top problems) that two or more of the communities have.
pub fn shared_terms(members: &[&Classification]) -> Vec<SharedTerm> {
    let mut count: BTreeMap<String, u32> = BTreeMap::new();
    for c in members {
        let terms: BTreeSet<String> = c
            .tags
            .iter()
            .filter(|t| t.kind == "need")
            .map(|t| t.key.clone())
            .chain(c.top_problems.iter().cloned())
            .collect();
        for t in terms {
            *count.entry(t).or_default() += 1;
        }
    }
    let mut shared: Vec<SharedTerm> = count
        .into_iter()
        .filter(|(_, n)| *n >= 2)
        .map(|(term, members)| SharedTerm { term, members })
        .collect();
    shared.sort_by(|a, b| b.members.cmp(&a.members).then(a.term.cmp(&b.term)));
    shared
}

/// A member's time in the cluster: it takes part in rounds starting on or after `joined`
/// and before `left`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Membership {
    pub code: String,
    #[ts(type = "string")]
    pub joined: NaiveDate,
    #[ts(type = "string | null")]
    pub left: Option<NaiveDate>,
}

impl Membership {
    fn present(&self, day: NaiveDate) -> bool {
        self.joined <= day && self.left.is_none_or(|l| day < l)
    }
}

/// One round of the joint meeting and who chairs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ChairTurn {
    /// 1-based.
    pub round: u32,
    #[ts(type = "string")]
    pub starts: NaiveDate,
    pub chair: String,
}

/// The first day of round `round` (1-based), rounds being `months` long from `start`.
pub fn round_start(start: NaiveDate, months: u32, round: u32) -> NaiveDate {
    start
        .checked_add_months(Months::new(months * (round - 1)))
        .unwrap_or(NaiveDate::MAX)
}

/// The round a day falls in, if the schedule has begun by then.
pub fn round_of(start: NaiveDate, months: u32, day: NaiveDate) -> Option<u32> {
    if day < start || months == 0 {
        return None;
    }
    let elapsed = (day.year() - start.year()) * 12 + day.month() as i32 - start.month() as i32;
    let mut round = (elapsed.max(0) as u32) / months + 1;
    // A month boundary not yet reached (start on the 15th, day on the 10th).
    while round > 1 && round_start(start, months, round) > day {
        round -= 1;
    }
    Some(round)
}

/// Continues a chair schedule to `rounds` rounds, fairly: the rounds go in cycles, and in each
/// cycle every member present chairs once before anyone chairs again. A member who joins
/// mid-cycle goes to the end of the current cycle's queue; one who leaves drops out of it.
/// A cycle starts with the members in the order they joined (then by code). Turns already in
/// `history` are kept as they are (the schedule is history, never rewritten).
pub fn continue_rotation(
    members: &[Membership],
    start: NaiveDate,
    months: u32,
    history: &[ChairTurn],
    rounds: u32,
) -> Vec<ChairTurn> {
    let mut turns: Vec<ChairTurn> = history.to_vec();
    let mut order: Vec<&Membership> = members.iter().collect();
    order.sort_by(|a, b| a.joined.cmp(&b.joined).then(a.code.cmp(&b.code)));
    // Replay the history to know who has chaired in the current cycle.
    let mut chaired: BTreeSet<String> = BTreeSet::new();
    for t in &turns {
        let present: Vec<&str> = order
            .iter()
            .filter(|m| m.present(t.starts))
            .map(|m| m.code.as_str())
            .collect();
        if present.iter().all(|c| chaired.contains(*c)) {
            chaired.clear();
        }
        chaired.insert(t.chair.clone());
    }
    for round in turns.len() as u32 + 1..=rounds {
        let starts = round_start(start, months, round);
        let present: Vec<&Membership> = order
            .iter()
            .copied()
            .filter(|m| m.present(starts))
            .collect();
        if present.is_empty() {
            break;
        }
        if present.iter().all(|m| chaired.contains(&m.code)) {
            chaired.clear();
        }
        let chair = present
            .iter()
            .find(|m| !chaired.contains(&m.code))
            .map(|m| m.code.clone())
            .unwrap_or_default();
        chaired.insert(chair.clone());
        turns.push(ChairTurn {
            round,
            starts,
            chair,
        });
    }
    turns
}
