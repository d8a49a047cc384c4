//! Community clusters: members, the chair's turns, joint meetings and follow-ups. Every write
//! is one transaction with its audit entry.

use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension, Transaction};
use serde::Serialize;
use shequ_core::{AuditAction, Error, ErrorCode, Result};
use ts_rs::TS;

use crate::audit::{self, Change};
use crate::{ts, Actor, Store};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct ClusterRow {
    pub id: String,
    pub name: String,
    pub social_type: String,
    /// The first day of round 1 (YYYY-MM-DD).
    pub starts: String,
    pub months: u32,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct MemberRow {
    pub community_code: String,
    pub joined: String,
    pub left_on: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct TurnRow {
    pub round: u32,
    pub starts: String,
    pub chair: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct MeetingRow {
    pub id: String,
    pub held_on: String,
    pub round: u32,
    /// The app's record of the meeting (JSON): chair, attendees, minutes, decisions.
    pub data: String,
    pub follow_ups: Vec<FollowUpRow>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct FollowUpRow {
    pub id: String,
    pub meeting_id: String,
    pub action: String,
    pub owner: String,
    pub due: Option<String>,
    /// `open`, `done` or `dropped`.
    pub status: String,
    pub updated_at: String,
}

pub const FOLLOW_UP_STATUSES: [&str; 3] = ["open", "done", "dropped"];

fn audit_in(
    tx: &Transaction,
    actor: &Actor,
    now: DateTime<Utc>,
    action: AuditAction,
    entity: &str,
    id: &str,
    field: Option<&str>,
    new_value: &str,
) -> rusqlite::Result<()> {
    audit::record(
        tx,
        actor,
        now,
        Change {
            action,
            entity,
            entity_id: id,
            field,
            old_value: None,
            new_value: Some(new_value),
        },
    )
}

impl Store {
    /// A new cluster with its first members, all joining on `starts`.
    #[allow(clippy::too_many_arguments)]
    pub fn create_cluster(
        &mut self,
        name: &str,
        social_type: &str,
        starts: &str,
        months: u32,
        members: &[String],
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<ClusterRow> {
        let path = self.path.clone();
        let err = |e| crate::db_error(&path, e);
        if self.cluster_by_name(name)?.is_some() {
            return Err(Error::new(ErrorCode::InvalidValue)
                .with("field", "name")
                .with("value", name)
                .with("why", "cluster_name_taken"));
        }
        let id = shequ_core::new_id().to_string();
        let tx = self.conn.transaction().map_err(err)?;
        tx.execute(
            "INSERT INTO clusters (id, name, social_type, starts, months, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
            params![id, name, social_type, starts, months, ts(now)],
        )
        .map_err(err)?;
        for code in members {
            tx.execute(
                "INSERT INTO cluster_members (cluster_id, community_code, joined) VALUES (?1, ?2, ?3)",
                params![id, code, starts],
            )
            .map_err(err)?;
        }
        let summary = format!("{name}: {}", members.join(", "));
        audit_in(
            &tx,
            actor,
            now,
            AuditAction::Create,
            "cluster",
            &id,
            None,
            &summary,
        )
        .map_err(err)?;
        tx.commit().map_err(err)?;
        self.cluster_by_name(name)?
            .ok_or_else(|| Error::internal("cluster vanished"))
    }

    pub fn clusters(&self) -> Result<Vec<ClusterRow>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, name, social_type, starts, months, created_at FROM clusters ORDER BY name",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], cluster_row)
            .and_then(|r| r.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(|e| self.err(e));
        rows
    }

    pub fn cluster_by_name(&self, name: &str) -> Result<Option<ClusterRow>> {
        self.conn
            .query_row(
                "SELECT id, name, social_type, starts, months, created_at FROM clusters WHERE name = ?1",
                [name],
                cluster_row,
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    pub fn cluster_members(&self, cluster_id: &str) -> Result<Vec<MemberRow>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT community_code, joined, left_on FROM cluster_members
                 WHERE cluster_id = ?1 ORDER BY joined, community_code",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([cluster_id], |r| {
                Ok(MemberRow {
                    community_code: r.get(0)?,
                    joined: r.get(1)?,
                    left_on: r.get(2)?,
                })
            })
            .and_then(|r| r.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(|e| self.err(e));
        rows
    }

    /// A community joins on `on` (a new membership), or leaves on `on` (its current one ends).
    pub fn set_membership(
        &mut self,
        cluster_id: &str,
        code: &str,
        on: &str,
        joining: bool,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let path = self.path.clone();
        let err = |e| crate::db_error(&path, e);
        let tx = self.conn.transaction().map_err(err)?;
        if joining {
            tx.execute(
                "INSERT INTO cluster_members (cluster_id, community_code, joined) VALUES (?1, ?2, ?3)",
                params![cluster_id, code, on],
            )
            .map_err(err)?;
        } else {
            let ended = tx
                .execute(
                    "UPDATE cluster_members SET left_on = ?3
                     WHERE cluster_id = ?1 AND community_code = ?2 AND left_on IS NULL
                       AND joined <= ?3",
                    params![cluster_id, code, on],
                )
                .map_err(err)?;
            if ended != 1 {
                return Err(Error::new(ErrorCode::NotFound)
                    .with("what", "community")
                    .with("id", code));
            }
        }
        let (action, value) = if joining {
            (AuditAction::Create, format!("{code} joined {on}"))
        } else {
            (AuditAction::Update, format!("{code} left {on}"))
        };
        audit_in(
            &tx,
            actor,
            now,
            action,
            "cluster",
            cluster_id,
            Some("members"),
            &value,
        )
        .map_err(err)?;
        tx.commit().map_err(err)
    }

    pub fn chair_turns(&self, cluster_id: &str) -> Result<Vec<TurnRow>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT round, starts, chair FROM chair_turns WHERE cluster_id = ?1 ORDER BY round",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([cluster_id], |r| {
                Ok(TurnRow {
                    round: r.get(0)?,
                    starts: r.get(1)?,
                    chair: r.get(2)?,
                })
            })
            .and_then(|r| r.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(|e| self.err(e));
        rows
    }

    /// Keeps new turns; turns already kept are never changed (`INSERT OR IGNORE`).
    pub fn keep_chair_turns(
        &mut self,
        cluster_id: &str,
        turns: &[TurnRow],
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let path = self.path.clone();
        let err = |e| crate::db_error(&path, e);
        let tx = self.conn.transaction().map_err(err)?;
        for t in turns {
            let added = tx
                .execute(
                    "INSERT OR IGNORE INTO chair_turns (cluster_id, round, starts, chair)
                     VALUES (?1, ?2, ?3, ?4)",
                    params![cluster_id, t.round, t.starts, t.chair],
                )
                .map_err(err)?;
            if added > 0 {
                let value = format!("round {} ({}): {}", t.round, t.starts, t.chair);
                audit_in(
                    &tx,
                    actor,
                    now,
                    AuditAction::Create,
                    "cluster",
                    cluster_id,
                    Some("chair"),
                    &value,
                )
                .map_err(err)?;
            }
        }
        tx.commit().map_err(err)
    }

    /// A meeting and its follow-ups, in one transaction.
    #[allow(clippy::too_many_arguments)]
    pub fn add_meeting(
        &mut self,
        cluster_id: &str,
        held_on: &str,
        round: u32,
        data: &str,
        follow_ups: &[(String, String, Option<String>)],
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<String> {
        let path = self.path.clone();
        let err = |e| crate::db_error(&path, e);
        let tx = self.conn.transaction().map_err(err)?;
        let id = shequ_core::new_id().to_string();
        tx.execute(
            "INSERT INTO meetings (id, cluster_id, held_on, round, data, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![id, cluster_id, held_on, round, data, ts(now)],
        )
        .map_err(err)?;
        audit_in(
            &tx,
            actor,
            now,
            AuditAction::Create,
            "meeting",
            &id,
            None,
            data,
        )
        .map_err(err)?;
        for (action, owner, due) in follow_ups {
            let fid = shequ_core::new_id().to_string();
            tx.execute(
                "INSERT INTO follow_ups (id, meeting_id, action, owner, due, status, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, 'open', ?6)",
                params![fid, id, action, owner, due, ts(now)],
            )
            .map_err(err)?;
            audit_in(
                &tx,
                actor,
                now,
                AuditAction::Create,
                "follow_up",
                &fid,
                None,
                action,
            )
            .map_err(err)?;
        }
        tx.commit().map_err(err)?;
        Ok(id)
    }

    pub fn meetings(&self, cluster_id: &str) -> Result<Vec<MeetingRow>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, held_on, round, data FROM meetings WHERE cluster_id = ?1
                 ORDER BY held_on, created_at",
            )
            .map_err(|e| self.err(e))?;
        let mut meetings = stmt
            .query_map([cluster_id], |r| {
                Ok(MeetingRow {
                    id: r.get(0)?,
                    held_on: r.get(1)?,
                    round: r.get(2)?,
                    data: r.get(3)?,
                    follow_ups: Vec::new(),
                })
            })
            .and_then(|r| r.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(|e| self.err(e))?;
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, meeting_id, action, owner, due, status, updated_at FROM follow_ups
                 WHERE meeting_id = ?1 ORDER BY rowid",
            )
            .map_err(|e| self.err(e))?;
        for m in &mut meetings {
            m.follow_ups = stmt
                .query_map([&m.id], follow_up_row)
                .and_then(|r| r.collect::<rusqlite::Result<Vec<_>>>())
                .map_err(|e| self.err(e))?;
        }
        Ok(meetings)
    }

    /// Moves a follow-up to `open`, `done` or `dropped`; audited.
    pub fn set_follow_up(
        &mut self,
        id: &str,
        status: &str,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<FollowUpRow> {
        if !FOLLOW_UP_STATUSES.contains(&status) {
            return Err(Error::new(ErrorCode::InvalidValue)
                .with("field", "status")
                .with("value", status)
                .with("why", "follow_up_status"));
        }
        let path = self.path.clone();
        let err = |e| crate::db_error(&path, e);
        let tx = self.conn.transaction().map_err(err)?;
        let changed = tx
            .execute(
                "UPDATE follow_ups SET status = ?2, updated_at = ?3 WHERE id = ?1",
                params![id, status, ts(now)],
            )
            .map_err(err)?;
        if changed == 0 {
            return Err(Error::new(ErrorCode::NotFound)
                .with("what", "follow_up")
                .with("id", id));
        }
        audit_in(
            &tx,
            actor,
            now,
            AuditAction::Update,
            "follow_up",
            id,
            Some("status"),
            status,
        )
        .map_err(err)?;
        let row = tx
            .query_row(
                "SELECT id, meeting_id, action, owner, due, status, updated_at FROM follow_ups WHERE id = ?1",
                [id],
                follow_up_row,
            )
            .map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(row)
    }
}

fn cluster_row(r: &rusqlite::Row) -> rusqlite::Result<ClusterRow> {
    Ok(ClusterRow {
        id: r.get(0)?,
        name: r.get(1)?,
        social_type: r.get(2)?,
        starts: r.get(3)?,
        months: r.get(4)?,
        created_at: r.get(5)?,
    })
}

fn follow_up_row(r: &rusqlite::Row) -> rusqlite::Result<FollowUpRow> {
    Ok(FollowUpRow {
        id: r.get(0)?,
        meeting_id: r.get(1)?,
        action: r.get(2)?,
        owner: r.get(3)?,
        due: r.get(4)?,
        status: r.get(5)?,
        updated_at: r.get(6)?,
    })
}

/// A case as kept: the app's record in `data`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseRow {
    pub id: String,
    pub title: String,
    pub cluster_id: Option<String>,
    pub community_code: Option<String>,
    pub data: String,
    pub created_at: String,
}

impl Store {
    pub fn add_case(&mut self, row: &CaseRow, actor: &Actor, now: DateTime<Utc>) -> Result<()> {
        let path = self.path.clone();
        let err = |e| crate::db_error(&path, e);
        let tx = self.conn.transaction().map_err(err)?;
        tx.execute(
            "INSERT INTO cases (id, title, cluster_id, community_code, data, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                row.id,
                row.title,
                row.cluster_id,
                row.community_code,
                row.data,
                ts(now)
            ],
        )
        .map_err(err)?;
        audit_in(
            &tx,
            actor,
            now,
            AuditAction::Create,
            "case",
            &row.id,
            None,
            &row.data,
        )
        .map_err(err)?;
        tx.commit().map_err(err)
    }

    pub fn cases(&self) -> Result<Vec<CaseRow>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, title, cluster_id, community_code, data, created_at FROM cases
                 ORDER BY created_at DESC, id",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(CaseRow {
                    id: r.get(0)?,
                    title: r.get(1)?,
                    cluster_id: r.get(2)?,
                    community_code: r.get(3)?,
                    data: r.get(4)?,
                    created_at: r.get(5)?,
                })
            })
            .and_then(|r| r.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(|e| self.err(e));
        rows
    }
}

/// One entry of a cluster's annual project-needs list (年度项目需求清单).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct ProjectNeedRow {
    pub id: String,
    pub cluster_id: String,
    pub year: i32,
    /// A vocabulary key (`group:choice`), or '' when none fits.
    pub term: String,
    pub title: String,
    pub note: String,
    /// `listed`, `matched` or `dropped`.
    pub status: String,
    pub updated_at: String,
}

pub const PROJECT_NEED_STATUSES: [&str; 3] = ["listed", "matched", "dropped"];

impl Store {
    pub fn add_project_need(
        &mut self,
        row: &ProjectNeedRow,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let path = self.path.clone();
        let err = |e| crate::db_error(&path, e);
        let tx = self.conn.transaction().map_err(err)?;
        tx.execute(
            "INSERT INTO project_needs (id, cluster_id, year, term, title, note, status, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
            params![row.id, row.cluster_id, row.year, row.term, row.title, row.note, row.status, ts(now)],
        )
        .map_err(err)?;
        audit_in(
            &tx,
            actor,
            now,
            AuditAction::Create,
            "project_need",
            &row.id,
            None,
            &row.title,
        )
        .map_err(err)?;
        tx.commit().map_err(err)
    }

    /// Sets an entry's status, audited; `NotFound` for an unknown id.
    pub fn set_project_need(
        &mut self,
        id: &str,
        status: &str,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<()> {
        if !PROJECT_NEED_STATUSES.contains(&status) {
            return Err(Error::new(ErrorCode::InvalidValue)
                .with("field", "status")
                .with("value", status)
                .with("why", "need_status"));
        }
        let path = self.path.clone();
        let err = |e| crate::db_error(&path, e);
        let tx = self.conn.transaction().map_err(err)?;
        let n = tx
            .execute(
                "UPDATE project_needs SET status = ?2, updated_at = ?3 WHERE id = ?1",
                params![id, status, ts(now)],
            )
            .map_err(err)?;
        if n == 0 {
            return Err(Error::new(ErrorCode::NotFound)
                .with("what", "project_need")
                .with("id", id));
        }
        audit_in(
            &tx,
            actor,
            now,
            AuditAction::Update,
            "project_need",
            id,
            Some("status"),
            status,
        )
        .map_err(err)?;
        tx.commit().map_err(err)
    }

    /// A cluster's list, by year then as entered.
    pub fn project_needs(&self, cluster_id: &str) -> Result<Vec<ProjectNeedRow>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, cluster_id, year, term, title, note, status, updated_at FROM project_needs
                 WHERE cluster_id = ?1 ORDER BY year, created_at, id",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([cluster_id], |r| {
                Ok(ProjectNeedRow {
                    id: r.get(0)?,
                    cluster_id: r.get(1)?,
                    year: r.get(2)?,
                    term: r.get(3)?,
                    title: r.get(4)?,
                    note: r.get(5)?,
                    status: r.get(6)?,
                    updated_at: r.get(7)?,
                })
            })
            .and_then(|r| r.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(|e| self.err(e));
        rows
    }

    /// Replaces the neighbour list with these pairs (each in either order).
    pub fn set_neighbours(
        &mut self,
        pairs: &[(String, String)],
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let path = self.path.clone();
        let err = |e| crate::db_error(&path, e);
        let tx = self.conn.transaction().map_err(err)?;
        tx.execute("DELETE FROM neighbours", []).map_err(err)?;
        for (a, b) in pairs {
            let (a, b) = if a < b { (a, b) } else { (b, a) };
            tx.execute(
                "INSERT OR IGNORE INTO neighbours (a, b) VALUES (?1, ?2)",
                params![a, b],
            )
            .map_err(err)?;
        }
        audit_in(
            &tx,
            actor,
            now,
            AuditAction::Update,
            "neighbours",
            "",
            None,
            &pairs.len().to_string(),
        )
        .map_err(err)?;
        tx.commit().map_err(err)
    }

    pub fn neighbours(&self) -> Result<Vec<(String, String)>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT a, b FROM neighbours ORDER BY a, b")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .and_then(|r| r.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(|e| self.err(e));
        rows
    }
}
