//! The audit trail: written in the same transaction as the change it records.

use chrono::{DateTime, Utc};
use rusqlite::{params, Transaction};
use shequ_core::{AuditAction, AuditEntry};

use crate::{parse_ts, parse_uuid, ts, Actor, Store};

pub(crate) struct Change<'a> {
    pub action: AuditAction,
    pub entity: &'a str,
    pub entity_id: &'a str,
    pub field: Option<&'a str>,
    pub old_value: Option<&'a str>,
    pub new_value: Option<&'a str>,
}

pub(crate) fn record(
    tx: &Transaction,
    actor: &Actor,
    now: DateTime<Utc>,
    c: Change,
) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO audit (id, at, actor, device_id, action, entity, entity_id, field, old_value, new_value)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            shequ_core::new_id().to_string(),
            ts(now),
            actor.name,
            actor.device_id,
            c.action.code(),
            c.entity,
            c.entity_id,
            c.field,
            c.old_value,
            c.new_value
        ],
    )?;
    Ok(())
}

impl Store {
    /// The audit entries about several responses, oldest first.
    pub fn audit_for_responses(&self, ids: &[uuid::Uuid]) -> shequ_core::Result<Vec<AuditEntry>> {
        let mut out = Vec::new();
        for id in ids {
            out.extend(self.audit_for("response", &id.to_string())?);
        }
        out.sort_by_key(|a| (a.at, a.id));
        Ok(out)
    }

    /// The audit entries about one entity, oldest first.
    pub fn audit_for(&self, entity: &str, entity_id: &str) -> shequ_core::Result<Vec<AuditEntry>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, at, actor, device_id, action, entity, entity_id, field, old_value, new_value
                 FROM audit WHERE entity = ?1 AND entity_id = ?2 ORDER BY at, id",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([entity, entity_id], |r| {
                let action: String = r.get(4)?;
                Ok(AuditEntry {
                    id: parse_uuid(&r.get::<_, String>(0)?)?,
                    at: parse_ts(&r.get::<_, String>(1)?)?,
                    actor: r.get(2)?,
                    device_id: r.get(3)?,
                    action: AuditAction::from_code(&action).unwrap_or(AuditAction::Import),
                    entity: r.get(5)?,
                    entity_id: r.get(6)?,
                    field: r.get(7)?,
                    old_value: r.get(8)?,
                    new_value: r.get(9)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.err(e))
    }
}
