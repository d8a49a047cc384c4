//! Shared records: the cluster and library tables read and written as generic records (kind,
//! id, body of columns) so they can travel in bundles, with where each record stands in its
//! history (`shared_versions`) and the concurrent edits kept for the analyst
//! (`shared_conflicts`). What a version is and how two compare is `shequ-bundle`'s; this
//! module only keeps rows.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension, Transaction};
use serde::Serialize;
use serde_json::Value;
use shequ_core::{AuditAction, Error, ErrorCode, Result};
use ts_rs::TS;

use crate::audit::{self, Change};
use crate::{ts, Actor, Store};

/// A column's type as it travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ty {
    Text,
    OptText,
    Int,
}

/// One shared table: its kind, the columns that make its id (joined by `|`), every column.
struct Table {
    kind: &'static str,
    table: &'static str,
    key: &'static [&'static str],
    columns: &'static [(&'static str, Ty)],
}

use Ty::*;

/// In the order records are applied (a meeting after its cluster).
const TABLES: [Table; 9] = [
    Table {
        kind: "resource",
        table: "resources",
        key: &["id"],
        columns: &[
            ("id", Text),
            ("kind", Text),
            ("name", Text),
            ("street", Text),
            ("community_code", Text),
            ("data", Text),
            ("created_at", Text),
            ("updated_at", Text),
        ],
    },
    Table {
        kind: "expert",
        table: "experts",
        key: &["id"],
        columns: &[
            ("id", Text),
            ("name", Text),
            ("organisation", Text),
            ("data", Text),
            ("created_at", Text),
            ("updated_at", Text),
        ],
    },
    Table {
        kind: "cluster",
        table: "clusters",
        key: &["id"],
        columns: &[
            ("id", Text),
            ("name", Text),
            ("social_type", Text),
            ("starts", Text),
            ("months", Int),
            ("created_at", Text),
            ("updated_at", Text),
        ],
    },
    Table {
        kind: "member",
        table: "cluster_members",
        key: &["cluster_id", "community_code", "joined"],
        columns: &[
            ("cluster_id", Text),
            ("community_code", Text),
            ("joined", Text),
            ("left_on", OptText),
        ],
    },
    Table {
        kind: "chair_turn",
        table: "chair_turns",
        key: &["cluster_id", "round"],
        columns: &[
            ("cluster_id", Text),
            ("round", Int),
            ("starts", Text),
            ("chair", Text),
        ],
    },
    Table {
        kind: "meeting",
        table: "meetings",
        key: &["id"],
        columns: &[
            ("id", Text),
            ("cluster_id", Text),
            ("held_on", Text),
            ("round", Int),
            ("data", Text),
            ("created_at", Text),
        ],
    },
    Table {
        kind: "follow_up",
        table: "follow_ups",
        key: &["id"],
        columns: &[
            ("id", Text),
            ("meeting_id", Text),
            ("action", Text),
            ("owner", Text),
            ("due", OptText),
            ("status", Text),
            ("updated_at", Text),
        ],
    },
    Table {
        kind: "project_need",
        table: "project_needs",
        key: &["id"],
        columns: &[
            ("id", Text),
            ("cluster_id", Text),
            ("year", Int),
            ("term", Text),
            ("title", Text),
            ("note", Text),
            ("status", Text),
            ("created_at", Text),
            ("updated_at", Text),
        ],
    },
    Table {
        kind: "case",
        table: "cases",
        key: &["id"],
        columns: &[
            ("id", Text),
            ("title", Text),
            ("cluster_id", OptText),
            ("community_code", OptText),
            ("data", Text),
            ("created_at", Text),
        ],
    },
];

fn table(kind: &str) -> Option<&'static Table> {
    TABLES.iter().find(|t| t.kind == kind)
}

/// A record's fields.
pub type Body = BTreeMap<String, Value>;

/// The id of a record with this body: its key columns joined by `|`.
fn key_of(t: &Table, body: &Body) -> String {
    t.key
        .iter()
        .map(|k| match &body[*k] {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect::<Vec<_>>()
        .join("|")
}

/// Checks that a body has exactly its table's columns, each of its type, and that the id is
/// the body's key; `Err` names what is wrong.
pub fn check_shared_body(kind: &str, id: &str, body: &Body) -> std::result::Result<(), String> {
    let t = table(kind).ok_or_else(|| kind.to_string())?;
    for (name, ty) in t.columns {
        let ok = match (body.get(*name), ty) {
            (Some(Value::String(s)), Text | OptText) => s.len() <= 1 << 20,
            (Some(Value::Null), OptText) => true,
            (Some(Value::Number(n)), Int) => n.as_i64().is_some(),
            _ => false,
        };
        if !ok {
            return Err(format!("{kind}.{name}"));
        }
    }
    if body.len() != t.columns.len() {
        return Err(format!("{kind}: {} fields", body.len()));
    }
    if key_of(t, body) != id {
        return Err(format!("{kind}: id {id}"));
    }
    Ok(())
}

/// Where a record stands, as kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedVersionRow {
    pub content_sha: String,
    pub version: String,
    pub ancestors: BTreeSet<String>,
    /// The version last sent in a written bundle (or received: its sender has it).
    pub sent: Option<String>,
}

/// One write of a shared record: its body when it changes (`None`: only where it stands
/// changes, e.g. a local edit seen for the first time), and its new version.
#[derive(Debug, Clone, PartialEq)]
pub struct SharedPut {
    pub kind: String,
    pub id: String,
    pub body: Option<Body>,
    pub content_sha: String,
    pub version: String,
    pub ancestors: BTreeSet<String>,
    /// Mark the version as already known to others (received in a bundle).
    pub sent: bool,
    /// The record was new to this store (for the import's counts).
    pub new: bool,
}

/// An incoming record that was edited concurrently with the stored one.
#[derive(Debug, Clone, PartialEq)]
pub struct SharedConflictIn {
    pub kind: String,
    pub id: String,
    /// The record as it travelled (JSON).
    pub incoming: String,
    pub incoming_version: String,
    pub stored_version: String,
}

/// A kept conflict between two versions of a shared record, for the analyst.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct SharedConflictRow {
    pub id: String,
    pub kind: String,
    pub record_id: String,
    /// The incoming record (JSON: kind, id, body, version, ancestors).
    pub incoming: String,
    pub incoming_version: String,
    /// The stored record's fields now (JSON object), or `None` when it is gone.
    pub stored: Option<String>,
    /// `''`: the incoming record clashed with another record (a name already taken).
    pub stored_version: String,
    pub device_id: String,
    pub received_at: String,
    /// `kept` or `took_incoming` once settled.
    pub resolution: Option<String>,
}

fn select_sql(t: &Table) -> String {
    let pairs: Vec<String> = t
        .columns
        .iter()
        .map(|(c, _)| format!("'{c}', {c}"))
        .collect();
    format!(
        "SELECT json_object({}) FROM {} ORDER BY {}",
        pairs.join(", "),
        t.table,
        t.key.join(", ")
    )
}

fn upsert_sql(t: &Table) -> String {
    let cols: Vec<&str> = t.columns.iter().map(|(c, _)| *c).collect();
    let values: Vec<String> = cols
        .iter()
        .map(|c| format!("json_extract(?1, '$.{c}')"))
        .collect();
    let updates: Vec<String> = cols
        .iter()
        .filter(|c| !t.key.contains(c))
        .map(|c| format!("{c} = excluded.{c}"))
        .collect();
    format!(
        "INSERT INTO {} ({}) VALUES ({}) ON CONFLICT ({}) DO UPDATE SET {}",
        t.table,
        cols.join(", "),
        values.join(", "),
        t.key.join(", "),
        updates.join(", ")
    )
}

fn read_bodies(conn: &rusqlite::Connection, t: &Table) -> rusqlite::Result<Vec<(String, Body)>> {
    let mut stmt = conn.prepare(&select_sql(t))?;
    let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
    let mut out = Vec::new();
    for text in rows {
        let body: Body = serde_json::from_str(&text?).unwrap_or_default();
        out.push((key_of(t, &body), body));
    }
    Ok(out)
}

fn write_version(tx: &rusqlite::Connection, p: &SharedPut) -> rusqlite::Result<()> {
    let ancestors = serde_json::to_string(&p.ancestors).unwrap_or_else(|_| "[]".into());
    tx.execute(
        "INSERT INTO shared_versions (kind, id, content_sha, version, ancestors, sent)
         VALUES (?1, ?2, ?3, ?4, ?5, CASE WHEN ?6 THEN ?4 END)
         ON CONFLICT (kind, id) DO UPDATE SET content_sha = excluded.content_sha,
             version = excluded.version, ancestors = excluded.ancestors,
             sent = CASE WHEN ?6 THEN excluded.version ELSE shared_versions.sent END",
        params![p.kind, p.id, p.content_sha, p.version, ancestors, p.sent],
    )?;
    Ok(())
}

/// Writes one record (in its own savepoint): `Ok(false)` when the database refused it (a
/// name another record already has, a member of a cluster that is not here), which the
/// caller keeps as a conflict.
fn put_in(tx: &mut Transaction, p: &SharedPut) -> rusqlite::Result<bool> {
    let sp = tx.savepoint()?;
    if let (Some(body), Some(t)) = (&p.body, table(&p.kind)) {
        let json = serde_json::to_string(body).unwrap_or_default();
        match sp.execute(&upsert_sql(t), [json]) {
            Ok(_) => {}
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                return Ok(false); // dropped without commit: rolled back
            }
            Err(e) => return Err(e),
        }
    }
    write_version(&sp, p)?;
    sp.commit()?;
    Ok(true)
}

impl Store {
    /// Every shared record now, kind by kind in the order they are applied.
    pub fn shared_bodies(&self) -> Result<Vec<(&'static str, String, Body)>> {
        let mut out = Vec::new();
        for t in &TABLES {
            let rows = read_bodies(&self.conn, t).map_err(|e| crate::db_error(&self.path, e))?;
            out.extend(rows.into_iter().map(|(id, body)| (t.kind, id, body)));
        }
        Ok(out)
    }

    /// Where every shared record stands, by (kind, id).
    pub fn shared_versions(&self) -> Result<HashMap<(String, String), SharedVersionRow>> {
        let err = |e| crate::db_error(&self.path, e);
        let mut stmt = self
            .conn
            .prepare("SELECT kind, id, content_sha, version, ancestors, sent FROM shared_versions")
            .map_err(err)?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    (r.get::<_, String>(0)?, r.get::<_, String>(1)?),
                    SharedVersionRow {
                        content_sha: r.get(2)?,
                        version: r.get(3)?,
                        ancestors: serde_json::from_str(&r.get::<_, String>(4)?)
                            .unwrap_or_default(),
                        sent: r.get(5)?,
                    },
                ))
            })
            .map_err(err)?;
        rows.collect::<rusqlite::Result<_>>().map_err(err)
    }

    /// Records where records stand (local edits seen, versions sent in a written bundle).
    pub fn put_shared_versions(&mut self, puts: &[SharedPut]) -> Result<()> {
        let path = self.path.clone();
        let err = |e| crate::db_error(&path, e);
        let tx = self.conn.transaction().map_err(err)?;
        for p in puts {
            write_version(&tx, p).map_err(err)?;
        }
        tx.commit().map_err(err)
    }

    /// Marks versions as sent after a bundle holding them was written.
    pub fn mark_shared_sent(&mut self, sent: &[(String, String, String)]) -> Result<()> {
        let path = self.path.clone();
        let err = |e| crate::db_error(&path, e);
        let tx = self.conn.transaction().map_err(err)?;
        for (kind, id, version) in sent {
            tx.execute(
                "UPDATE shared_versions SET sent = ?3 WHERE kind = ?1 AND id = ?2",
                params![kind, id, version],
            )
            .map_err(err)?;
        }
        tx.commit().map_err(err)
    }

    /// The age recipients devices announced in their bundles, one per device.
    pub fn device_recipients(&self) -> Result<Vec<String>> {
        let err = |e| crate::db_error(&self.path, e);
        let mut stmt = self
            .conn
            .prepare(
                "SELECT recipient FROM devices WHERE recipient IS NOT NULL ORDER BY first_seen",
            )
            .map_err(err)?;
        let rows = stmt.query_map([], |r| r.get(0)).map_err(err)?;
        rows.collect::<rusqlite::Result<_>>().map_err(err)
    }

    /// Every incoming version kept as a conflict, settled or not: (kind, record id, version).
    pub fn shared_conflict_versions(&self) -> Result<HashSet<(String, String, String)>> {
        let err = |e| crate::db_error(&self.path, e);
        let mut stmt = self
            .conn
            .prepare("SELECT kind, record_id, incoming_version FROM shared_conflicts")
            .map_err(err)?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .map_err(err)?;
        rows.collect::<rusqlite::Result<_>>().map_err(err)
    }

    /// Kept conflicts of shared records, newest first.
    pub fn shared_conflicts(&self, unresolved_only: bool) -> Result<Vec<SharedConflictRow>> {
        let err = |e| crate::db_error(&self.path, e);
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, kind, record_id, incoming, stored_version, device_id, received_at, resolution,
                     incoming_version
                 FROM shared_conflicts WHERE (?1 = 0 OR resolution IS NULL)
                 ORDER BY received_at DESC, id",
            )
            .map_err(err)?;
        let rows = stmt
            .query_map([unresolved_only], |r| {
                Ok(SharedConflictRow {
                    id: r.get(0)?,
                    kind: r.get(1)?,
                    record_id: r.get(2)?,
                    incoming: r.get(3)?,
                    stored: None,
                    stored_version: r.get(4)?,
                    device_id: r.get(5)?,
                    received_at: r.get(6)?,
                    resolution: r.get(7)?,
                    incoming_version: r.get(8)?,
                })
            })
            .map_err(err)?;
        let mut out: Vec<SharedConflictRow> = rows.collect::<rusqlite::Result<_>>().map_err(err)?;
        let bodies: HashMap<(String, String), Body> = self
            .shared_bodies()?
            .into_iter()
            .map(|(k, id, b)| ((k.to_string(), id), b))
            .collect();
        for c in &mut out {
            c.stored = bodies
                .get(&(c.kind.clone(), c.record_id.clone()))
                .map(|b| serde_json::to_string(b).unwrap_or_default());
        }
        Ok(out)
    }

    /// Settles a kept conflict with `put` (the merged version, with the body taken when the
    /// incoming side was chosen), audited on the record.
    pub fn settle_shared_conflict(
        &mut self,
        conflict_id: &str,
        took_incoming: bool,
        put: &SharedPut,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let path = self.path.clone();
        let err = |e| crate::db_error(&path, e);
        let mut tx = self.conn.transaction().map_err(err)?;
        let open: Option<String> = tx
            .query_row(
                "SELECT id FROM shared_conflicts WHERE id = ?1 AND resolution IS NULL",
                [conflict_id],
                |r| r.get(0),
            )
            .optional()
            .map_err(err)?;
        if open.is_none() {
            return Err(Error::new(ErrorCode::NotFound)
                .with("what", "conflict")
                .with("id", conflict_id));
        }
        if !put_in(&mut tx, put).map_err(err)? {
            return Err(Error::new(ErrorCode::InvalidValue)
                .with("field", "conflict")
                .with("value", conflict_id)
                .with("why", "shared_clash"));
        }
        let resolution = if took_incoming {
            "took_incoming"
        } else {
            "kept"
        };
        tx.execute(
            "UPDATE shared_conflicts SET resolution = ?2, resolved_at = ?3 WHERE id = ?1",
            params![conflict_id, resolution, ts(now)],
        )
        .map_err(err)?;
        audit::record(
            &tx,
            actor,
            now,
            Change {
                action: AuditAction::Update,
                entity: &put.kind,
                entity_id: &put.id,
                field: Some("conflict"),
                old_value: None,
                new_value: Some(resolution),
            },
        )
        .map_err(err)?;
        tx.commit().map_err(err)
    }
}

/// Applies an import's shared records inside its transaction: each put in order, a refused
/// put becoming a conflict (`stored_version` ''), then the conflicts. Returns how many puts
/// were refused: of records new here, and of newer versions.
pub(crate) fn apply_shared(
    tx: &mut Transaction,
    puts: &[SharedPut],
    conflicts: &[SharedConflictIn],
    device_id: &str,
    now: DateTime<Utc>,
) -> rusqlite::Result<(u32, u32)> {
    let mut refused = (0, 0);
    let mut all: Vec<SharedConflictIn> = conflicts.to_vec();
    for p in puts {
        if !put_in(tx, p)? {
            if p.new {
                refused.0 += 1;
            } else {
                refused.1 += 1;
            }
            all.push(SharedConflictIn {
                kind: p.kind.clone(),
                id: p.id.clone(),
                incoming: serde_json::json!({
                    "kind": p.kind, "id": p.id, "body": p.body,
                    "version": p.version, "ancestors": p.ancestors,
                })
                .to_string(),
                incoming_version: p.version.clone(),
                stored_version: String::new(),
            });
        }
    }
    for c in &all {
        tx.execute(
            "INSERT OR IGNORE INTO shared_conflicts (id, kind, record_id, incoming, incoming_version,
                 stored_version, device_id, received_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                shequ_core::new_id().to_string(),
                c.kind,
                c.id,
                c.incoming,
                c.incoming_version,
                c.stored_version,
                device_id,
                ts(now)
            ],
        )?;
    }
    Ok(refused)
}
