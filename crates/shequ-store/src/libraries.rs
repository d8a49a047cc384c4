//! The resource and expert libraries and the matches made from them. The records are the
//! app's own types, kept as JSON; this module knows only what identifies an entry.

use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension};
use serde::Serialize;
use shequ_core::{AuditAction, Error, ErrorCode, Result};
use ts_rs::TS;

use crate::audit::{self, Change};
use crate::{ts, Actor, Store};

/// Which library.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LibraryKind {
    Resources,
    Experts,
}

impl LibraryKind {
    fn entity(self) -> &'static str {
        match self {
            LibraryKind::Resources => "resource",
            LibraryKind::Experts => "expert",
        }
    }
}

/// One entry to add: what identifies it, and the record.
#[derive(Debug, Clone, PartialEq)]
pub struct LibraryEntry {
    pub library: LibraryKind,
    pub id: String,
    /// Resources: kind, name, street, community code ('' for none). Experts: name and
    /// organisation (the other two empty).
    pub identity: [String; 4],
    pub data: String,
}

/// A match between a community's need or problem and a supplier, as kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct MatchRow {
    pub id: String,
    pub community_code: String,
    pub term: String,
    pub supplier_id: String,
    pub supplier_name: String,
    /// `proposed`, `agreed`, `in_progress` or `done`.
    pub status: String,
    pub outcome: String,
    pub created_at: String,
    pub updated_at: String,
}

pub const MATCH_STATUSES: [&str; 4] = ["proposed", "agreed", "in_progress", "done"];

impl Store {
    /// Which of `entries` (by index) are already in their library.
    pub fn library_existing(&self, entries: &[LibraryEntry]) -> Result<Vec<usize>> {
        let mut out = Vec::new();
        for (i, e) in entries.iter().enumerate() {
            let [a, b, c, d] = &e.identity;
            let found = match e.library {
                LibraryKind::Resources => self.conn.query_row(
                    "SELECT 1 FROM resources WHERE kind = ?1 AND name = ?2 AND street = ?3 AND community_code = ?4",
                    params![a, b, c, d],
                    |_| Ok(()),
                ),
                LibraryKind::Experts => self.conn.query_row(
                    "SELECT 1 FROM experts WHERE name = ?1 AND organisation = ?2",
                    params![a, b],
                    |_| Ok(()),
                ),
            }
            .optional()
            .map_err(|e| self.err(e))?;
            if found.is_some() {
                out.push(i);
            }
        }
        Ok(out)
    }

    /// Adds the entries in one transaction, each audited: all of them or none.
    pub fn insert_library(
        &mut self,
        entries: &[LibraryEntry],
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let path = self.path.clone();
        let err = |e| crate::db_error(&path, e);
        let tx = self.conn.transaction().map_err(err)?;
        for e in entries {
            let [a, b, c, d] = &e.identity;
            match e.library {
                LibraryKind::Resources => tx.execute(
                    "INSERT INTO resources (id, kind, name, street, community_code, data, created_at, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
                    params![e.id, a, b, c, d, e.data, ts(now)],
                ),
                LibraryKind::Experts => tx.execute(
                    "INSERT INTO experts (id, name, organisation, data, created_at, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
                    params![e.id, a, b, e.data, ts(now)],
                ),
            }
            .map_err(err)?;
            audit::record(
                &tx,
                actor,
                now,
                Change {
                    action: AuditAction::Create,
                    entity: e.library.entity(),
                    entity_id: &e.id,
                    field: None,
                    old_value: None,
                    new_value: Some(&e.data),
                },
            )
            .map_err(err)?;
        }
        tx.commit().map_err(err)
    }

    /// Changes an entry in place (its identity and record), audited with the old record:
    /// `Ok(false)` when another entry already has that identity; `NotFound` for no such id.
    pub fn update_library(
        &mut self,
        e: &LibraryEntry,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let path = self.path.clone();
        let err = |e| crate::db_error(&path, e);
        let tx = self.conn.transaction().map_err(err)?;
        let table = match e.library {
            LibraryKind::Resources => "resources",
            LibraryKind::Experts => "experts",
        };
        let old: Option<String> = tx
            .query_row(
                &format!("SELECT data FROM {table} WHERE id = ?1"),
                [&e.id],
                |r| r.get(0),
            )
            .optional()
            .map_err(err)?;
        let Some(old) = old else {
            return Err(Error::new(ErrorCode::NotFound)
                .with("what", "library_entry")
                .with("id", &e.id));
        };
        let [a, b, c, d] = &e.identity;
        let done = match e.library {
            LibraryKind::Resources => tx.execute(
                "UPDATE resources SET kind = ?2, name = ?3, street = ?4, community_code = ?5, data = ?6, updated_at = ?7
                 WHERE id = ?1",
                params![e.id, a, b, c, d, e.data, ts(now)],
            ),
            LibraryKind::Experts => tx.execute(
                "UPDATE experts SET name = ?2, organisation = ?3, data = ?4, updated_at = ?5 WHERE id = ?1",
                params![e.id, a, b, e.data, ts(now)],
            ),
        };
        match done {
            Ok(_) => {}
            Err(rusqlite::Error::SqliteFailure(f, _))
                if f.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                return Ok(false)
            }
            Err(x) => return Err(err(x)),
        }
        audit::record(
            &tx,
            actor,
            now,
            Change {
                action: AuditAction::Update,
                entity: e.library.entity(),
                entity_id: &e.id,
                field: None,
                old_value: Some(&old),
                new_value: Some(&e.data),
            },
        )
        .map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(true)
    }

    /// The records of a library (JSON), in the order they were added.
    pub fn library(&self, library: LibraryKind) -> Result<Vec<String>> {
        let sql = match library {
            LibraryKind::Resources => "SELECT data FROM resources ORDER BY created_at, name, id",
            LibraryKind::Experts => "SELECT data FROM experts ORDER BY created_at, name, id",
        };
        let mut stmt = self.conn.prepare_cached(sql).map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(|e| self.err(e));
        rows
    }

    pub fn matches(&self) -> Result<Vec<MatchRow>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, community_code, term, supplier_id, supplier_name, status, outcome,
                        created_at, updated_at
                 FROM matches ORDER BY community_code, term, created_at, id",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(MatchRow {
                    id: r.get(0)?,
                    community_code: r.get(1)?,
                    term: r.get(2)?,
                    supplier_id: r.get(3)?,
                    supplier_name: r.get(4)?,
                    status: r.get(5)?,
                    outcome: r.get(6)?,
                    created_at: r.get(7)?,
                    updated_at: r.get(8)?,
                })
            })
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(|e| self.err(e));
        rows
    }

    /// Records a match, or moves an existing one (same community, term and supplier) to a
    /// new status and outcome; audited with the old and new status.
    #[allow(clippy::too_many_arguments)]
    pub fn set_match(
        &mut self,
        community_code: &str,
        term: &str,
        supplier_id: &str,
        supplier_name: &str,
        status: &str,
        outcome: &str,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<MatchRow> {
        if !MATCH_STATUSES.contains(&status) {
            return Err(Error::new(ErrorCode::InvalidValue)
                .with("field", "status")
                .with("value", status)
                .with("why", "match_status"));
        }
        let path = self.path.clone();
        let err = |e| crate::db_error(&path, e);
        let tx = self.conn.transaction().map_err(err)?;
        let old: Option<(String, String, String)> = tx
            .query_row(
                "SELECT id, status, outcome FROM matches
                 WHERE community_code = ?1 AND term = ?2 AND supplier_id = ?3",
                params![community_code, term, supplier_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
            .map_err(err)?;
        let id = match &old {
            Some((id, _, _)) => {
                tx.execute(
                    "UPDATE matches SET status = ?2, outcome = ?3, updated_at = ?4 WHERE id = ?1",
                    params![id, status, outcome, ts(now)],
                )
                .map_err(err)?;
                id.clone()
            }
            None => {
                let id = shequ_core::new_id().to_string();
                tx.execute(
                    "INSERT INTO matches (id, community_code, term, supplier_id, supplier_name,
                                          status, outcome, created_at, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
                    params![
                        id,
                        community_code,
                        term,
                        supplier_id,
                        supplier_name,
                        status,
                        outcome,
                        ts(now)
                    ],
                )
                .map_err(err)?;
                id
            }
        };
        let new_value = format!("{status}: {outcome}");
        let old_value = old.as_ref().map(|(_, s, o)| format!("{s}: {o}"));
        audit::record(
            &tx,
            actor,
            now,
            Change {
                action: if old.is_some() {
                    AuditAction::Update
                } else {
                    AuditAction::Create
                },
                entity: "match",
                entity_id: &id,
                field: Some("status"),
                old_value: old_value.as_deref(),
                new_value: Some(&new_value),
            },
        )
        .map_err(err)?;
        tx.commit().map_err(err)?;
        self.matches()?
            .into_iter()
            .find(|m| m.id == id)
            .ok_or_else(|| Error::internal("match vanished"))
    }
}
