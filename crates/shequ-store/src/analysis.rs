//! What the centre's analysis reads and keeps: survey rounds, the records of a round, the
//! analysis settings, and governance checklists (the accepted selection and the edits).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension};
use serde::Serialize;
use shequ_core::{AuditAction, Error, ErrorCode, Result};
use ts_rs::TS;

use crate::audit::{self, Change};
use crate::{ts, Actor, Store};

pub const SETTING_CURRENT_ROUND: &str = "current_round";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct RoundRow {
    pub name: String,
    pub created_at: String,
    /// Latest finalized versions in the round.
    pub responses: u32,
    pub current: bool,
}

/// The latest finalized version of one response, for the analysis.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalysisRecord {
    pub community_code: String,
    pub instance_id: String,
    pub answers: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChecklistEditRow {
    pub item_id: String,
    pub kind: String,
    pub value: Option<String>,
    pub item: Option<String>,
    pub reason: String,
    pub actor: String,
    pub at: String,
}

/// Keeps `items` as a community's accepted checklist selection unless it has one already.
fn keep_baseline(
    tx: &rusqlite::Transaction,
    code: &str,
    items: &[String],
    label: &str,
    actor: &Actor,
    now: DateTime<Utc>,
) -> rusqlite::Result<()> {
    let json = serde_json::to_string(items)
        .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
    tx.execute(
        "INSERT OR IGNORE INTO checklist_accepted (community_code, items, label, accepted_at, actor)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![code, json, label, ts(now), actor.name],
    )
    .map(|_| ())
}

/// "Latest finalized version": finalized, not discarded, not replaced by a finalized one.
const LATEST_FINALIZED: &str = "r.status = 'finalized' AND r.discarded_at IS NULL
    AND NOT EXISTS (SELECT 1 FROM responses n WHERE n.deprecated_id = r.instance_id
                    AND n.status = 'finalized' AND n.discarded_at IS NULL)";

impl Store {
    /// The round a response version was filed in (`None` when it has none).
    pub fn response_round(&self, instance_id: uuid::Uuid) -> Result<Option<String>> {
        self.conn
            .prepare_cached("SELECT round FROM responses WHERE instance_id = ?1")
            .and_then(|mut s| {
                s.query_row([instance_id.to_string()], |r| r.get::<_, String>(0))
                    .optional()
            })
            .map(|r| r.filter(|s| !s.is_empty()))
            .map_err(|e| self.err(e))
    }

    /// The rounds in the order of their fieldwork, each with its count of latest finalized
    /// versions.
    pub fn rounds(&self) -> Result<Vec<RoundRow>> {
        let current = self.setting(SETTING_CURRENT_ROUND)?.unwrap_or_default();
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT o.name, o.created_at,
                        (SELECT count(*) FROM responses r WHERE r.round = o.name AND {LATEST_FINALIZED})
                 FROM rounds o
                 -- A round's place in time is its fieldwork: its first interview (an
                 -- imported round may be recorded here after a later one).
                 ORDER BY coalesce((SELECT min(r.started_at) FROM responses r WHERE r.round = o.name),
                                   o.created_at), o.name"
            ))
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| {
                let name: String = r.get(0)?;
                Ok(RoundRow {
                    current: name == current,
                    name,
                    created_at: r.get(1)?,
                    responses: r.get(2)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.err(e))
    }

    /// Makes `name` the current round (new responses go into it), creating it when new;
    /// audited, one transaction.
    pub fn set_current_round(
        &mut self,
        name: &str,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let name = name.trim();
        // A round's name goes into report titles and file names: no path separators, no
        // control characters.
        if name.is_empty()
            || name.chars().count() > 40
            || name
                .chars()
                .any(|c| c.is_control() || matches!(c, '/' | '\\'))
        {
            return Err(Error::new(ErrorCode::InvalidValue)
                .with("field", "round_name")
                .with("value", name)
                .with("why", "round_name"));
        }
        let path = self.path.clone();
        let err = |e| crate::db_error(&path, e);
        let tx = self.conn.transaction().map_err(err)?;
        let old = crate::get_setting(&tx, SETTING_CURRENT_ROUND).map_err(err)?;
        tx.execute(
            "INSERT OR IGNORE INTO rounds (name, created_at) VALUES (?1, ?2)",
            params![name, ts(now)],
        )
        .map_err(err)?;
        crate::put_setting(&tx, SETTING_CURRENT_ROUND, name).map_err(err)?;
        audit::record(
            &tx,
            actor,
            now,
            Change {
                action: AuditAction::Update,
                entity: "settings",
                entity_id: SETTING_CURRENT_ROUND,
                field: None,
                old_value: old.as_deref(),
                new_value: Some(name),
            },
        )
        .map_err(err)?;
        tx.commit().map_err(err)
    }

    /// Form ids with latest finalized responses in a round, most responses first.
    pub fn round_forms(&self, round: &str) -> Result<Vec<(String, u32)>> {
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT i.form_id, count(*) FROM responses r JOIN instruments i ON i.id = r.instrument_id
                 WHERE r.round = ?1 AND {LATEST_FINALIZED}
                 GROUP BY i.form_id ORDER BY count(*) DESC, i.form_id"
            ))
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([round], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.err(e))
    }

    /// The latest finalized version of every response to `form_id` (any version of it) in a
    /// round, with its answers, in one streamed query.
    pub fn analysis_records(&self, round: &str, form_id: &str) -> Result<Vec<AnalysisRecord>> {
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT r.instance_id, c.code, a.question, a.value
                 FROM responses r
                 JOIN instruments i ON i.id = r.instrument_id
                 JOIN communities c ON c.id = r.community_id
                 LEFT JOIN answers a ON a.instance_id = r.instance_id
                 WHERE r.round = ?1 AND i.form_id = ?2 AND {LATEST_FINALIZED}
                 ORDER BY r.instance_id"
            ))
            .map_err(|e| self.err(e))?;
        let mut rows = stmt
            .query(params![round, form_id])
            .map_err(|e| self.err(e))?;
        let mut out: Vec<AnalysisRecord> = Vec::new();
        while let Some(row) = rows.next().map_err(|e| self.err(e))? {
            let id: String = row.get(0).map_err(|e| self.err(e))?;
            if out.last().map(|r| r.instance_id.as_str()) != Some(id.as_str()) {
                out.push(AnalysisRecord {
                    community_code: row.get(1).map_err(|e| self.err(e))?,
                    instance_id: id,
                    answers: BTreeMap::new(),
                });
            }
            let q: Option<String> = row.get(2).map_err(|e| self.err(e))?;
            let v: Option<String> = row.get(3).map_err(|e| self.err(e))?;
            if let (Some(q), Some(v), Some(last)) = (q, v, out.last_mut()) {
                last.answers.insert(q, v);
            }
        }
        Ok(out)
    }

    /// Writes analysis settings (JSON under `key`) and, in the same transaction, the
    /// checklist selections of communities that had never accepted one, so a change of
    /// classification the new settings cause shows as a change to accept.
    pub fn set_analysis_settings(
        &mut self,
        key: &str,
        json: &str,
        baselines: &[(String, Vec<String>, String)],
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let path = self.path.clone();
        let err = |e| crate::db_error(&path, e);
        let tx = self.conn.transaction().map_err(err)?;
        let old = crate::get_setting(&tx, key).map_err(err)?;
        for (code, items, label) in baselines {
            keep_baseline(&tx, code, items, label, actor, now).map_err(err)?;
        }
        crate::put_setting(&tx, key, json).map_err(err)?;
        audit::record(
            &tx,
            actor,
            now,
            Change {
                action: AuditAction::Update,
                entity: "settings",
                entity_id: key,
                field: None,
                old_value: old.as_deref(),
                new_value: Some(json),
            },
        )
        .map_err(err)?;
        tx.commit().map_err(err)
    }

    /// The selection a community's checklist was accepted with, and its label.
    pub fn checklist_accepted(&self, code: &str) -> Result<Option<(Vec<String>, String)>> {
        let row: Option<(String, String)> = self
            .conn
            .query_row(
                "SELECT items, label FROM checklist_accepted WHERE community_code = ?1",
                [code],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(|e| self.err(e))?;
        row.map(|(items, label)| {
            serde_json::from_str(&items)
                .map(|v| (v, label))
                .map_err(Error::internal)
        })
        .transpose()
    }

    /// Accepts a community's current selection (after a change of classification); audited.
    pub fn accept_checklist(
        &mut self,
        code: &str,
        items: &[String],
        label: &str,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let path = self.path.clone();
        let err = |e| crate::db_error(&path, e);
        let tx = self.conn.transaction().map_err(err)?;
        let json = serde_json::to_string(items).map_err(Error::internal)?;
        let old: Option<String> = tx
            .query_row(
                "SELECT label FROM checklist_accepted WHERE community_code = ?1",
                [code],
                |r| r.get(0),
            )
            .optional()
            .map_err(err)?;
        tx.execute(
            "INSERT INTO checklist_accepted (community_code, items, label, accepted_at, actor)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (community_code) DO UPDATE SET items = excluded.items, label = excluded.label,
                 accepted_at = excluded.accepted_at, actor = excluded.actor",
            params![code, json, label, ts(now), actor.name],
        )
        .map_err(err)?;
        audit::record(
            &tx,
            actor,
            now,
            Change {
                action: AuditAction::Update,
                entity: "checklist",
                entity_id: code,
                field: Some("accepted"),
                old_value: old.as_deref(),
                new_value: Some(label),
            },
        )
        .map_err(err)?;
        tx.commit().map_err(err)
    }

    /// Records one edit of a community's checklist (the caller checked it); audited. When
    /// the checklist was never accepted, `baseline` (the current selection) is kept as
    /// accepted in the same transaction, so the edit applies to what the analyst saw.
    pub fn add_checklist_edit(
        &mut self,
        code: &str,
        e: &ChecklistEditRow,
        baseline: Option<(&[String], &str)>,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let path = self.path.clone();
        let err = |e| crate::db_error(&path, e);
        let tx = self.conn.transaction().map_err(err)?;
        if let Some((items, label)) = baseline {
            keep_baseline(&tx, code, items, label, actor, now).map_err(err)?;
        }
        let id = shequ_core::new_id().to_string();
        tx.execute(
            "INSERT INTO checklist_edits (id, community_code, item_id, kind, value, item, reason, actor, at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![id, code, e.item_id, e.kind, e.value, e.item, e.reason, actor.name, ts(now)],
        )
        .map_err(err)?;
        audit::record(
            &tx,
            actor,
            now,
            Change {
                action: AuditAction::Update,
                entity: "checklist",
                entity_id: code,
                field: Some(&format!("{}:{}", e.kind, e.item_id)),
                old_value: None,
                new_value: Some(e.value.as_deref().unwrap_or(&e.reason)),
            },
        )
        .map_err(err)?;
        tx.commit().map_err(err)
    }

    /// Records how a data export treated personal data (`included` or `pseudonymised`) and
    /// where it went, in the audit trail.
    pub fn audit_export(
        &mut self,
        choice: &str,
        destination: &str,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let path = self.path.clone();
        let err = |e| crate::db_error(&path, e);
        let tx = self.conn.transaction().map_err(err)?;
        audit::record(
            &tx,
            actor,
            now,
            Change {
                action: AuditAction::Export,
                entity: "export",
                entity_id: destination,
                field: Some("personal_data"),
                old_value: None,
                new_value: Some(choice),
            },
        )
        .map_err(err)?;
        tx.commit().map_err(err)
    }

    pub fn checklist_edits(&self, code: &str) -> Result<Vec<ChecklistEditRow>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT item_id, kind, value, item, reason, actor, at FROM checklist_edits
                 WHERE community_code = ?1 ORDER BY at, rowid",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([code], |r| {
                Ok(ChecklistEditRow {
                    item_id: r.get(0)?,
                    kind: r.get(1)?,
                    value: r.get(2)?,
                    item: r.get(3)?,
                    reason: r.get(4)?,
                    actor: r.get(5)?,
                    at: r.get(6)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.err(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{actor, t0};

    /// A database as version 4 left it, with two responses started in 2025 and 2026.
    fn v4_database(path: &std::path::Path) {
        let c = crate::test_support::database_at(path, 4);
        c.execute_batch(
            "INSERT INTO communities VALUES ('c', 'DH-01', '梧桐里', '', '', 'mixed', NULL, 5, 0, 't', 't');
             INSERT INTO instruments VALUES ('i', 'f', '1', 't', NULL, '[]', '{}', 'h', NULL, 't');
             INSERT INTO responses (instance_id, root_id, instrument_id, community_id, status, interviewer,
                 device_id, started_at, updated_at, finalized_at) VALUES
               ('0000000a-0000-7000-8000-000000000000', '0000000a-0000-7000-8000-000000000000', 'i', 'c', 'finalized', '张', 'd', '2025-12-30T02:00:00.000Z', '2026-03-02T00:00:00.000Z', '2026-03-02T00:00:00.000Z'),
               ('0000000b-0000-7000-8000-000000000000', '0000000b-0000-7000-8000-000000000000', 'i', 'c', 'draft', '张', 'd', '2026-03-01T00:00:00.000Z', '2026-03-01T00:00:00.000Z', NULL);",
        )
        .unwrap();
    }

    #[test]
    fn existing_responses_go_into_a_first_round_that_becomes_current() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shequ.db");
        v4_database(&path);
        let mut s = Store::open(&path, &crate::test_support::pass()).unwrap();
        let rounds = s.rounds().unwrap();
        assert_eq!(rounds.len(), 1);
        assert_eq!(
            (
                rounds[0].name.as_str(),
                rounds[0].responses,
                rounds[0].current
            ),
            ("2025 年度", 1, true)
        );
        let n: i64 = s
            .conn
            .query_row(
                "SELECT count(*) FROM responses WHERE round = '2025 年度'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 2, "drafts too");
        // A new round: current from now on, audited; the old one keeps its responses.
        s.set_current_round(" 2026 年度 ", &actor(), t0()).unwrap();
        let rounds = s.rounds().unwrap();
        assert_eq!(rounds.len(), 2);
        assert!(rounds[1].current && rounds[1].name == "2026 年度" && rounds[1].responses == 0);
        let audit = s.audit_for("settings", SETTING_CURRENT_ROUND).unwrap();
        assert_eq!(audit.len(), 1);
        // Bad names write nothing.
        for bad in [
            "",
            "   ",
            &"长".repeat(41),
            "../../etc",
            "2026\\上半年",
            "第一\n轮",
        ] {
            let e = s.set_current_round(bad, &actor(), t0()).unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidValue);
        }
        assert_eq!(s.rounds().unwrap().len(), 2);
    }

    #[test]
    fn an_empty_store_starts_with_no_round() {
        let s = Store::open_in_memory().unwrap();
        assert!(s.rounds().unwrap().is_empty());
        assert_eq!(s.setting(SETTING_CURRENT_ROUND).unwrap(), None);
    }
}
