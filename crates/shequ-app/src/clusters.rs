//! Community clusters (社区群): proposed from the classification, confirmed by the analyst,
//! with a fair rotating chair kept as history, joint meetings and their follow-ups.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use shequ_analysis::clusters::{
    continue_rotation, propose, round_of, shared_terms, ChairTurn, Grouping, Membership, Proposal,
    SharedTerm,
};
use shequ_core::{Error, ErrorCode, Result};
use shequ_store::{ClusterRow, FollowUpRow, MemberRow, ProjectNeedRow, TurnRow};
use ts_rs::TS;

use crate::App;

/// Proposals from the current round's classification.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct ClusterProposals {
    pub round: String,
    pub proposals: Vec<Proposal>,
    /// Classified communities whose group has no other member.
    pub alone: Vec<String>,
    /// Communities already in a cluster (left out of the proposals).
    pub clustered: Vec<String>,
}

/// One round of the chair's schedule: kept (history) or planned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct ScheduledTurn {
    pub round: u32,
    pub starts: String,
    pub chair: String,
    pub kept: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct MeetingRecord {
    pub chair: String,
    pub attendees: Vec<String>,
    pub minutes: String,
    pub decisions: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct Meeting {
    pub id: String,
    pub held_on: String,
    pub round: u32,
    pub record: MeetingRecord,
    pub follow_ups: Vec<FollowUpRow>,
}

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct ClusterView {
    pub cluster: ClusterRow,
    pub members: Vec<MemberRow>,
    /// Members today.
    pub current: Vec<String>,
    /// Top needs and problems two or more current members share.
    pub shared: Vec<SharedTerm>,
    /// Kept turns, then the next four planned.
    pub schedule: Vec<ScheduledTurn>,
    pub meetings: Vec<Meeting>,
}

/// A meeting as the analyst records it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, TS)]
#[ts(export)]
pub struct NewMeeting {
    /// YYYY-MM-DD, as typed.
    pub held_on: String,
    pub attendees: Vec<String>,
    pub minutes: String,
    pub decisions: Vec<String>,
    pub follow_ups: Vec<NewFollowUp>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, TS)]
#[ts(export)]
pub struct NewFollowUp {
    pub action: String,
    pub owner: String,
    /// YYYY-MM-DD, as typed; empty or none for no date.
    pub due: Option<String>,
}

/// The most rounds a schedule is kept for (a century of quarters).
const MAX_ROUNDS: u32 = 400;

fn invalid(problem: &str) -> Error {
    Error::new(ErrorCode::ClusterInvalid).with("cluster_problem", problem)
}

fn date(s: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(Error::internal)
}

fn memberships(rows: &[MemberRow]) -> Result<Vec<Membership>> {
    rows.iter()
        .map(|m| {
            Ok(Membership {
                code: m.community_code.clone(),
                joined: date(&m.joined)?,
                left: m.left_on.as_deref().map(date).transpose()?,
            })
        })
        .collect()
}

/// Whether a membership row is still open on or after `day` (open-ended, or leaving later).
fn open_from(m: &MemberRow, day: &str) -> bool {
    m.left_on.as_deref().is_none_or(|l| l > day)
}

fn present(rows: &[MemberRow], day: &str) -> Vec<String> {
    let mut out: Vec<String> = rows
        .iter()
        .filter(|m| m.joined.as_str() <= day && m.left_on.as_deref().is_none_or(|l| day < l))
        .map(|m| m.community_code.clone())
        .collect();
    out.sort();
    out.dedup();
    out
}

impl App {
    /// The day it is at `now` on this device's clock.
    pub fn today(&self, now: DateTime<Utc>) -> NaiveDate {
        now.with_timezone(&self.utc_offset).date_naive()
    }

    /// Clusters proposed from the current round's classification: the same social type (and,
    /// if asked, the same housing form or street), two members at least. Communities already
    /// in a cluster are left out.
    pub fn propose_clusters(
        &self,
        grouping: Grouping,
        now: DateTime<Utc>,
    ) -> Result<ClusterProposals> {
        let district = self.district(None, None)?;
        let today = self.today(now).to_string();
        let mut clustered = Vec::new();
        for c in self.store().clusters()? {
            clustered.extend(present(&self.store().cluster_members(&c.id)?, &today));
        }
        clustered.sort();
        let classes: Vec<_> = district
            .classifications
            .iter()
            .filter(|c| !clustered.contains(&c.code))
            .cloned()
            .collect();
        let streets: BTreeMap<String, String> = district
            .communities
            .iter()
            .map(|c| (c.code.clone(), c.street.clone()))
            .collect();
        let neighbours = self.store().neighbours()?;
        let (proposals, alone) = propose(&classes, &streets, &neighbours, grouping);
        Ok(ClusterProposals {
            round: district.round,
            proposals,
            alone,
            clustered,
        })
    }

    /// Confirms a cluster: its name, its members (two at least, none already in another
    /// cluster), and its rounds (`months` long from `starts`).
    pub fn create_cluster(
        &mut self,
        name: &str,
        members: &[String],
        starts: NaiveDate,
        months: u32,
        now: DateTime<Utc>,
    ) -> Result<ClusterView> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(invalid("bad_name"));
        }
        if !(1..=12).contains(&months) {
            return Err(invalid("bad_months").with("value", months));
        }
        let mut codes: Vec<String> = members.iter().map(|c| c.trim().to_string()).collect();
        codes.sort();
        codes.dedup();
        codes.retain(|c| !c.is_empty());
        if codes.len() < 2 {
            return Err(invalid("too_small").with("count", codes.len()));
        }
        for code in &codes {
            if self.store().community_by_code(code)?.is_none() {
                return Err(Error::new(ErrorCode::NotFound)
                    .with("what", "community")
                    .with("id", code));
            }
        }
        let day = starts.to_string();
        for code in &codes {
            if let Some(other) = self.membership_from(code, &day)? {
                return Err(invalid("already_in")
                    .with("code", code)
                    .with("other", other));
            }
        }
        // The type most members have in the current classification.
        let social_type = match self.district(None, None) {
            Ok(d) => {
                let mut count: BTreeMap<String, usize> = BTreeMap::new();
                for c in d.classifications.iter().filter(|c| codes.contains(&c.code)) {
                    if let Some(t) = c.social_type {
                        let t = serde_json::to_value(t).map_err(Error::internal)?;
                        *count
                            .entry(t.as_str().unwrap_or_default().to_string())
                            .or_default() += 1;
                    }
                }
                count
                    .into_iter()
                    .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
                    .map(|(t, _)| t)
                    .unwrap_or_default()
            }
            Err(_) => String::new(),
        };
        let actor = self.actor();
        self.store_mut()
            .create_cluster(name, &social_type, &day, months, &codes, &actor, now)?;
        self.cluster(name, now)
    }

    /// The cluster `code` belongs to on or after `day`, if any: a community is in one cluster
    /// at a time, so a new membership may not overlap one still open.
    fn membership_from(&self, code: &str, day: &str) -> Result<Option<String>> {
        for c in self.store().clusters()? {
            let rows = self.store().cluster_members(&c.id)?;
            if rows
                .iter()
                .any(|m| m.community_code == code && open_from(m, day))
            {
                return Ok(Some(c.name));
            }
        }
        Ok(None)
    }

    /// The members today of the cluster `code` is in today (itself included), for matching.
    pub(crate) fn cluster_mates(&self, code: &str, today: NaiveDate) -> Result<BTreeSet<String>> {
        let day = today.to_string();
        for c in self.store().clusters()? {
            let now_in = present(&self.store().cluster_members(&c.id)?, &day);
            if now_in.iter().any(|m| m == code) {
                return Ok(now_in.into_iter().collect());
            }
        }
        Ok(BTreeSet::from([code.to_string()]))
    }

    fn cluster_row(&self, name: &str) -> Result<ClusterRow> {
        self.store().cluster_by_name(name.trim())?.ok_or_else(|| {
            Error::new(ErrorCode::NotFound)
                .with("what", "cluster")
                .with("id", name)
        })
    }

    pub fn clusters(&self, now: DateTime<Utc>) -> Result<Vec<ClusterView>> {
        self.store()
            .clusters()?
            .iter()
            .map(|c| self.cluster(&c.name, now))
            .collect()
    }

    /// A cluster with its members, what they share, the chair's schedule and the meetings.
    pub fn cluster(&self, name: &str, now: DateTime<Utc>) -> Result<ClusterView> {
        let cluster = self.cluster_row(name)?;
        let members = self.store().cluster_members(&cluster.id)?;
        let today = self.today(now).to_string();
        let current = present(&members, &today);
        let shared = match self.district(None, None) {
            Ok(d) => {
                let classes: Vec<_> = d
                    .classifications
                    .iter()
                    .filter(|c| current.contains(&c.code))
                    .collect();
                shared_terms(&classes)
            }
            Err(_) => Vec::new(),
        };
        let kept = self.store().chair_turns(&cluster.id)?;
        let planned = self.planned(&cluster, &members, &kept, kept.len() as u32 + 4)?;
        let schedule = planned
            .into_iter()
            .map(|t| ScheduledTurn {
                kept: kept.iter().any(|k| k.round == t.round),
                round: t.round,
                starts: t.starts.to_string(),
                chair: t.chair,
            })
            .collect();
        let meetings = self
            .store()
            .meetings(&cluster.id)?
            .into_iter()
            .map(|m| {
                Ok(Meeting {
                    record: serde_json::from_str(&m.data).map_err(Error::internal)?,
                    id: m.id,
                    held_on: m.held_on,
                    round: m.round,
                    follow_ups: m.follow_ups,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(ClusterView {
            cluster,
            members,
            current,
            shared,
            schedule,
            meetings,
        })
    }

    /// The schedule through `rounds`: the kept turns, then the fair continuation.
    fn planned(
        &self,
        cluster: &ClusterRow,
        members: &[MemberRow],
        kept: &[TurnRow],
        rounds: u32,
    ) -> Result<Vec<ChairTurn>> {
        let history = kept
            .iter()
            .map(|t| {
                Ok(ChairTurn {
                    round: t.round,
                    starts: date(&t.starts)?,
                    chair: t.chair.clone(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(continue_rotation(
            &memberships(members)?,
            date(&cluster.starts)?,
            cluster.months,
            &history,
            rounds,
        ))
    }

    /// Keeps the chair's turns through round `rounds` (those kept already stay as they are).
    pub fn rotate_cluster(
        &mut self,
        name: &str,
        rounds: u32,
        now: DateTime<Utc>,
    ) -> Result<ClusterView> {
        if !(1..=MAX_ROUNDS).contains(&rounds) {
            return Err(invalid("bad_rounds")
                .with("value", rounds)
                .with("max", MAX_ROUNDS));
        }
        let cluster = self.cluster_row(name)?;
        let members = self.store().cluster_members(&cluster.id)?;
        let kept = self.store().chair_turns(&cluster.id)?;
        let planned = self.planned(&cluster, &members, &kept, rounds)?;
        if (planned.len() as u32) < rounds {
            let round = planned.len() as u32 + 1;
            let starts = shequ_analysis::clusters::round_start(
                date(&cluster.starts)?,
                cluster.months,
                round,
            );
            return Err(invalid("no_members_on")
                .with("name", &cluster.name)
                .with("date", starts));
        }
        let turns: Vec<TurnRow> = planned
            .into_iter()
            .map(|t| TurnRow {
                round: t.round,
                starts: t.starts.to_string(),
                chair: t.chair,
            })
            .collect();
        let actor = self.actor();
        self.store_mut()
            .keep_chair_turns(&cluster.id, &turns, &actor, now)?;
        self.cluster(name, now)
    }

    /// A community joins (or leaves) on `on`.
    pub fn set_cluster_member(
        &mut self,
        name: &str,
        code: &str,
        on: NaiveDate,
        joining: bool,
        now: DateTime<Utc>,
    ) -> Result<ClusterView> {
        let cluster = self.cluster_row(name)?;
        if self.store().community_by_code(code)?.is_none() {
            return Err(Error::new(ErrorCode::NotFound)
                .with("what", "community")
                .with("id", code));
        }
        let members = self.store().cluster_members(&cluster.id)?;
        let day = on.to_string();
        if joining {
            if let Some(other) = self.membership_from(code, &day)? {
                return Err(if other == cluster.name {
                    invalid("already_member")
                        .with("code", code)
                        .with("name", &cluster.name)
                } else {
                    invalid("already_in")
                        .with("code", code)
                        .with("other", other)
                });
            }
        } else {
            // Only an open-ended membership that has begun by then can end then.
            let open = members.iter().any(|m| {
                m.community_code == code && m.joined.as_str() <= day.as_str() && m.left_on.is_none()
            });
            if !open {
                return Err(invalid("not_member")
                    .with("code", code)
                    .with("name", &cluster.name)
                    .with("date", &day));
            }
        }
        let actor = self.actor();
        self.store_mut()
            .set_membership(&cluster.id, code, &day, joining, &actor, now)?;
        self.cluster(name, now)
    }

    /// Records a joint meeting: it belongs to the round its date falls in (a date before the
    /// first round is refused), chaired by that round's chair (kept now if it was not yet),
    /// with its follow-ups open.
    /// Returns the cluster and the new meeting's id.
    pub fn add_meeting(
        &mut self,
        name: &str,
        m: &NewMeeting,
        now: DateTime<Utc>,
    ) -> Result<(ClusterView, String)> {
        let cluster = self.cluster_row(name)?;
        let starts = date(&cluster.starts)?;
        let held_on = typed_day("date", &m.held_on)?;
        // A record of a meeting held: not one in the future (a mistyped year would otherwise
        // keep decades of chair turns that can never be rewritten).
        if held_on > self.today(now) {
            return Err(invalid("meeting_future").with("date", held_on));
        }
        let round = round_of(starts, cluster.months, held_on).ok_or_else(|| {
            invalid("round_missing")
                .with("name", &cluster.name)
                .with("date", held_on)
                .with("starts", starts)
        })?;
        if m.minutes.trim().is_empty() && m.decisions.iter().all(|d| d.trim().is_empty()) {
            return Err(invalid("meeting_empty"));
        }
        let mut follow_ups: Vec<(String, String, Option<String>)> = Vec::new();
        for f in &m.follow_ups {
            if f.action.trim().is_empty() || f.owner.trim().is_empty() {
                return Err(invalid("follow_up_incomplete"));
            }
            let due = match f.due.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
                Some(d) => Some(typed_day("due", d)?.to_string()),
                None => None,
            };
            follow_ups.push((f.action.trim().to_string(), f.owner.trim().to_string(), due));
        }
        let kept = self.store().chair_turns(&cluster.id)?;
        if !kept.iter().any(|t| t.round == round) {
            self.rotate_cluster(name, round, now)?;
        }
        let chair = self
            .store()
            .chair_turns(&cluster.id)?
            .into_iter()
            .find(|t| t.round == round)
            .map(|t| t.chair)
            .unwrap_or_default();
        let record = MeetingRecord {
            chair,
            attendees: m
                .attendees
                .iter()
                .map(|a| a.trim().to_string())
                .filter(|a| !a.is_empty())
                .collect(),
            minutes: m.minutes.trim().to_string(),
            decisions: m
                .decisions
                .iter()
                .map(|d| d.trim().to_string())
                .filter(|d| !d.is_empty())
                .collect(),
        };
        let actor = self.actor();
        let data = serde_json::to_string(&record).map_err(Error::internal)?;
        let id = self.store_mut().add_meeting(
            &cluster.id,
            &held_on.to_string(),
            round,
            &data,
            &follow_ups,
            &actor,
            now,
        )?;
        Ok((self.cluster(name, now)?, id))
    }

    pub fn set_follow_up(
        &mut self,
        id: &str,
        status: &str,
        now: DateTime<Utc>,
    ) -> Result<FollowUpRow> {
        let actor = self.actor();
        self.store_mut().set_follow_up(id, status, &actor, now)
    }
}

/// A good case (案例) as the analyst records it; tags as typed (resolved to the vocabulary).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, TS)]
#[ts(export)]
pub struct NewCase {
    pub title: String,
    pub summary: String,
    pub cluster: Option<String>,
    pub community: Option<String>,
    pub tags: Vec<String>,
    pub checklist_items: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct CaseRecord {
    pub summary: String,
    pub tags: Vec<String>,
    pub checklist_items: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct Case {
    pub id: String,
    pub title: String,
    pub cluster: Option<String>,
    pub community: Option<String>,
    pub record: CaseRecord,
    pub created_at: String,
}

impl App {
    /// Adds a case to the library: a title and what was done, tags from the vocabulary (typed
    /// as keys or labels; an unknown one is refused with the nearest term), the checklist items
    /// it carries out (ids of the checklist library), and the cluster or community it is from.
    pub fn add_case(&mut self, c: &NewCase, now: DateTime<Utc>) -> Result<Case> {
        let title = c.title.trim();
        if title.is_empty() || title.chars().count() > 200 {
            return Err(Error::new(ErrorCode::InvalidValue)
                .with("field", "title")
                .with("value", title)
                .with("why", "case_title"));
        }
        let vocabulary = self.vocabulary()?;
        let mut tags = Vec::new();
        for t in c
            .tags
            .iter()
            .flat_map(|t| crate::libraries::split_tags(t, &vocabulary))
        {
            let key = resolve_tag(&vocabulary, "tags", t)?;
            if !tags.contains(&key) {
                tags.push(key);
            }
        }
        let library = shequ_analysis::Library::default_library()?;
        for id in &c.checklist_items {
            if !library.items.iter().any(|i| &i.id == id) {
                return Err(Error::new(ErrorCode::NotFound)
                    .with("what", "checklist_item")
                    .with("id", id));
            }
        }
        let cluster = match c
            .cluster
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            Some(n) => Some(self.cluster_row(n)?),
            None => None,
        };
        let community = match c
            .community
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            Some(code) => {
                if self.store().community_by_code(code)?.is_none() {
                    return Err(Error::new(ErrorCode::NotFound)
                        .with("what", "community")
                        .with("id", code));
                }
                Some(code.to_string())
            }
            None => None,
        };
        let record = CaseRecord {
            summary: c.summary.trim().to_string(),
            tags,
            checklist_items: c.checklist_items.clone(),
        };
        let row = shequ_store::CaseRow {
            id: shequ_core::new_id().to_string(),
            title: title.to_string(),
            cluster_id: cluster.as_ref().map(|c| c.id.clone()),
            community_code: community,
            data: serde_json::to_string(&record).map_err(Error::internal)?,
            created_at: String::new(),
        };
        let actor = self.actor();
        self.store_mut().add_case(&row, &actor, now)?;
        self.cases(None, None)?
            .into_iter()
            .find(|x| x.id == row.id)
            .ok_or_else(|| Error::internal("case vanished"))
    }

    /// Cases across every cluster, newest first: those whose title or summary holds `text`
    /// (ignoring case) and that carry `tag` (typed as a key or a label), when given.
    pub fn cases(&self, text: Option<&str>, tag: Option<&str>) -> Result<Vec<Case>> {
        let tag = match tag.map(str::trim).filter(|t| !t.is_empty()) {
            Some(t) => match self.vocabulary()?.resolve(t) {
                shequ_analysis::resources::Resolved::Term(term) => Some(term.key.clone()),
                shequ_analysis::resources::Resolved::Unknown(_) => {
                    return Err(Error::new(ErrorCode::InvalidValue)
                        .with("field", "tags")
                        .with("value", t)
                        .with("why", "unknown_term"))
                }
            },
            None => None,
        };
        let names: BTreeMap<String, String> = self
            .store()
            .clusters()?
            .into_iter()
            .map(|c| (c.id, c.name))
            .collect();
        let text = text
            .map(|t| t.trim().to_lowercase())
            .filter(|t| !t.is_empty());
        let mut out = Vec::new();
        for row in self.store().cases()? {
            let record: CaseRecord = serde_json::from_str(&row.data).map_err(Error::internal)?;
            if let Some(t) = &text {
                let hay = format!("{}\n{}", row.title, record.summary).to_lowercase();
                if !hay.contains(t.as_str()) {
                    continue;
                }
            }
            if tag.as_ref().is_some_and(|k| !record.tags.contains(k)) {
                continue;
            }
            out.push(Case {
                id: row.id,
                title: row.title,
                cluster: row.cluster_id.and_then(|id| names.get(&id).cloned()),
                community: row.community_code,
                record,
                created_at: row.created_at,
            });
        }
        Ok(out)
    }
}

/// A day typed as YYYY-MM-DD, or why not.
pub fn typed_day(field: &str, s: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| {
        Error::new(ErrorCode::InvalidValue)
            .with("field", field)
            .with("value", s)
            .with("why", "date_format")
    })
}

/// A tag as typed (a key, or a label in either language), resolved in the vocabulary; an
/// unknown one is refused with the nearest term offered.
pub(crate) fn resolve_tag(
    vocabulary: &shequ_analysis::resources::Vocabulary,
    field: &str,
    typed: &str,
) -> Result<String> {
    match vocabulary.resolve(typed) {
        shequ_analysis::resources::Resolved::Term(term) => Ok(term.key.clone()),
        shequ_analysis::resources::Resolved::Unknown(near) => {
            let e = Error::new(ErrorCode::InvalidValue)
                .with("field", field)
                .with("value", typed);
            Err(match near {
                Some(n) => e.with("why", "tag_near").with(
                    "suggestion",
                    n.label.pick(shequ_core::Lang::ZhCn).unwrap_or(&n.key),
                ),
                None => e.with("why", "unknown_term"),
            })
        }
    }
}

/// An entry for a cluster's annual project-needs list, as the analyst types it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, TS)]
#[ts(export)]
pub struct NewProjectNeed {
    pub year: i32,
    /// A tag in the vocabulary (key or label), or empty.
    pub tag: String,
    pub title: String,
    pub note: String,
}

impl App {
    /// A cluster's annual project-needs list for `year` (every year when `None`).
    pub fn project_needs(&self, cluster: &str, year: Option<i32>) -> Result<Vec<ProjectNeedRow>> {
        let c = self.cluster_row(cluster)?;
        let mut rows = self.store().project_needs(&c.id)?;
        rows.retain(|r| year.is_none_or(|y| r.year == y));
        Ok(rows)
    }

    /// Adds an entry to a cluster's project-needs list (listed, audited).
    pub fn add_project_need(
        &mut self,
        cluster: &str,
        need: &NewProjectNeed,
        now: DateTime<Utc>,
    ) -> Result<ProjectNeedRow> {
        let c = self.cluster_row(cluster)?;
        let title = need.title.trim();
        if title.is_empty() || title.chars().count() > 200 {
            return Err(Error::new(ErrorCode::InvalidValue)
                .with("field", "title")
                .with("value", title)
                .with("why", "need_title"));
        }
        if !(2000..=2100).contains(&need.year) {
            return Err(Error::new(ErrorCode::InvalidValue)
                .with("field", "year")
                .with("value", need.year)
                .with("why", "need_year"));
        }
        let term = match need.tag.trim() {
            "" => String::new(),
            t => resolve_tag(&self.vocabulary()?, "tags", t)?,
        };
        let row = ProjectNeedRow {
            id: shequ_core::new_id().to_string(),
            cluster_id: c.id,
            year: need.year,
            term,
            title: title.to_string(),
            note: need.note.trim().to_string(),
            status: "listed".into(),
            updated_at: String::new(),
        };
        let actor = self.actor();
        self.store_mut().add_project_need(&row, &actor, now)?;
        self.project_needs(cluster, Some(need.year))?
            .into_iter()
            .find(|r| r.id == row.id)
            .ok_or_else(|| Error::internal("project need vanished"))
    }

    /// Sets an entry's status: `listed`, `matched` or `dropped`.
    pub fn set_project_need(&mut self, id: &str, status: &str, now: DateTime<Utc>) -> Result<()> {
        let actor = self.actor();
        self.store_mut().set_project_need(id, status, &actor, now)
    }

    /// Replaces the neighbour list from a CSV of pairs (`社区编码,相邻社区编码` or
    /// `community,neighbour`; UTF-8 or GBK). Every row is checked before anything is written:
    /// both codes known, not the same. Returns the number of pairs.
    pub fn import_neighbours(
        &mut self,
        bytes: &[u8],
        file: &str,
        now: DateTime<Utc>,
    ) -> Result<usize> {
        let text = crate::community_csv::decode(bytes, file)?;
        let mut lines = text.lines().filter(|l| !l.trim().is_empty());
        let head = lines.next().unwrap_or_default().to_lowercase();
        if !(head.contains("社区") || head.contains("community")) {
            return Err(Error::new(ErrorCode::CsvMissingColumns)
                .with("file", file)
                .with("columns", "社区编码, 相邻社区编码"));
        }
        let mut pairs = Vec::new();
        for (i, line) in lines.enumerate() {
            let cells: Vec<&str> = line.split([',', '，', '\t']).map(str::trim).collect();
            let row = i + 2;
            let (Some(a), Some(b)) = (cells.first(), cells.get(1)) else {
                return Err(Error::new(ErrorCode::CsvBadRow)
                    .with("file", file)
                    .with("row", row));
            };
            for code in [a, b] {
                if self.store().community_by_code(code)?.is_none() {
                    return Err(Error::new(ErrorCode::NotFound)
                        .with("what", "community")
                        .with("id", code)
                        .with("file", file)
                        .with("row", row));
                }
            }
            if a == b {
                return Err(Error::new(ErrorCode::InvalidValue)
                    .with("field", "neighbour")
                    .with("value", a)
                    .with("why", "own_neighbour")
                    .with("file", file)
                    .with("row", row));
            }
            pairs.push((a.to_string(), b.to_string()));
        }
        let actor = self.actor();
        self.store_mut().set_neighbours(&pairs, &actor, now)?;
        Ok(pairs.len())
    }
}
