//! What bundle import and export need from the store, in store types: the bundle format
//! itself is `shequ-bundle`'s, and the translation lives in `shequ-app`.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};
use shequ_core::{
    AuditAction, AuditEntry, Community, Error, ErrorCode, FormDefinition, Response, Result,
};
use ts_rs::TS;
use uuid::Uuid;

use crate::audit::{self, Change};
use crate::{parse_ts, ts, Actor, Store};

/// How a bundle's responses were classified.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct ImportCounts {
    pub new: u32,
    pub duplicates: u32,
    pub versions: u32,
    pub conflicts: u32,
    /// Shared records (clusters, meetings, cases, library entries…): new to this store.
    pub shared_new: u32,
    /// Newer versions of records this store has.
    pub shared_updated: u32,
    /// The same version, or an older one that arrived late.
    pub shared_unchanged: u32,
    /// Edited here and there since they last agreed: kept for the analyst.
    pub shared_conflicts: u32,
}

/// One response version to insert: the row, its answers, its repeat sizes.
pub type ResponseWithAnswers = (Response, BTreeMap<String, String>, BTreeMap<String, u32>);

/// Everything one bundle adds, applied in one transaction.
pub struct ImportBatch {
    pub file_sha256: String,
    pub device_id: String,
    pub device_public_key: String,
    pub exported_at: DateTime<Utc>,
    pub instruments: Vec<(Uuid, String, FormDefinition)>,
    pub communities: Vec<Community>,
    pub responses: Vec<ResponseWithAnswers>,
    /// (instance id, incoming version as bundle JSON, its content hash)
    pub conflicts: Vec<(Uuid, String, String)>,
    pub audit: Vec<AuditEntry>,
    pub counts: ImportCounts,
    /// The bundle's number on its device (`None`: a bundle from before numbering).
    pub bundle_seq: Option<u32>,
    /// The bundle carries all of the device's finalized work, not only what is new.
    pub bundle_full: bool,
    /// The round of each incoming response (instance id → round); a response without one
    /// goes into the store's current round.
    pub rounds: BTreeMap<Uuid, String>,
    /// The sending device's age recipient, kept so the centre can write back to it.
    pub device_recipient: Option<String>,
    /// Shared records to write, in order (local edits seen first, then what arrived).
    pub shared_puts: Vec<crate::SharedPut>,
    pub shared_conflicts: Vec<crate::SharedConflictIn>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportOutcome {
    Applied(ImportCounts),
    AlreadyImported,
}

/// A recorded conflict, for the analyst.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct ConflictRow {
    pub id: String,
    pub instance_id: String,
    pub incoming: String,
    pub device_id: String,
    pub received_at: String,
    pub resolution: Option<String>,
    /// Taking the incoming version kept the one it replaced, and it has not been restored:
    /// `restore_replaced` puts it back.
    pub restorable: bool,
}

/// What taking the incoming version overwrites, kept in `conflicts.replaced` (JSON) so it can
/// be put back exactly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct ReplacedVersion {
    status: String,
    interviewer: String,
    respondent: String,
    updated_at: String,
    finalized_at: Option<String>,
    repeat_counts: String,
    answers: BTreeMap<String, (String, String)>,
}

/// The last export, as the app shows it.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct ExportRow {
    /// This device's bundle number (1, 2, …); `None` for exports from before numbering.
    pub bundle_seq: Option<u32>,
    pub at: String,
    pub since: Option<String>,
    pub file: String,
    pub responses: u32,
    pub encrypted: bool,
}

impl Store {
    /// A bundle imported before: its device and what its import did.
    pub fn bundle_import(&self, file_sha256: &str) -> Result<Option<(String, ImportCounts)>> {
        self.conn
            .query_row(
                "SELECT device_id, new_count, duplicate_count, version_count, conflict_count
                 FROM bundle_imports WHERE file_sha256 = ?1",
                [file_sha256],
                |r| {
                    Ok((
                        r.get(0)?,
                        ImportCounts {
                            new: r.get(1)?,
                            duplicates: r.get(2)?,
                            versions: r.get(3)?,
                            conflicts: r.get(4)?,
                            ..Default::default()
                        },
                    ))
                },
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    pub fn device_key(&self, device_id: &str) -> Result<Option<String>> {
        self.conn
            .query_row(
                "SELECT public_key FROM devices WHERE device_id = ?1",
                [device_id],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    pub fn conflict_known(&self, instance_id: Uuid, incoming_hash: &str) -> Result<bool> {
        self.conn
            .query_row(
                "SELECT 1 FROM conflicts WHERE instance_id = ?1 AND incoming_hash = ?2",
                [instance_id.to_string(), incoming_hash.to_string()],
                |_| Ok(()),
            )
            .optional()
            .map(|r| r.is_some())
            .map_err(|e| self.err(e))
    }

    /// Applies one bundle, all or nothing. The same file twice is recognised and changes nothing.
    pub fn import_batch(
        &mut self,
        b: &ImportBatch,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<ImportOutcome> {
        let path = self.path.clone();
        let err = |e| crate::db_error(&path, e);
        let mut tx = self.conn.transaction().map_err(err)?;
        let mut counts = b.counts;
        let seen: Option<i64> = tx
            .query_row(
                "SELECT 1 FROM bundle_imports WHERE file_sha256 = ?1",
                [&b.file_sha256],
                |r| r.get(0),
            )
            .optional()
            .map_err(err)?;
        if seen.is_some() {
            return Ok(ImportOutcome::AlreadyImported);
        }
        let known: Option<String> = tx
            .query_row(
                "SELECT public_key FROM devices WHERE device_id = ?1",
                [&b.device_id],
                |r| r.get(0),
            )
            .optional()
            .map_err(err)?;
        match known {
            Some(k) if k != b.device_public_key => {
                return Err(Error::new(ErrorCode::BundleInvalid)
                    .with("bundle_problem", "device_key_changed")
                    .with("device", &b.device_id))
            }
            Some(_) => {
                tx.execute(
                    "UPDATE devices SET last_seen = ?2 WHERE device_id = ?1",
                    params![b.device_id, ts(now)],
                )
                .map_err(err)?;
            }
            None => {
                tx.execute(
                    "INSERT INTO devices (device_id, public_key, first_seen, last_seen) VALUES (?1, ?2, ?3, ?3)",
                    params![b.device_id, b.device_public_key, ts(now)],
                )
                .map_err(err)?;
            }
        }
        for (id, sha, def) in &b.instruments {
            tx.execute(
                "INSERT OR IGNORE INTO instruments (id, form_id, version, title, default_language, languages,
                     definition, content_sha256, source_name, imported_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'bundle', ?9)",
                params![
                    id.to_string(),
                    def.form_id,
                    def.version,
                    def.title,
                    def.default_language,
                    serde_json::to_string(&def.languages).map_err(Error::internal)?,
                    serde_json::to_string(def).map_err(Error::internal)?,
                    sha,
                    ts(now)
                ],
            )
            .map_err(err)?;
        }
        for c in &b.communities {
            tx.execute(
                "INSERT OR IGNORE INTO communities (id, code, name, street, district, housing_form, households,
                     target_sample, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)",
                params![
                    c.id.to_string(),
                    c.code,
                    c.name,
                    c.street,
                    c.district,
                    c.housing_form.code(),
                    c.households,
                    c.target_sample,
                    ts(now)
                ],
            )
            .map_err(err)?;
        }
        {
            let mut ins = tx
                .prepare(
                    "INSERT OR IGNORE INTO responses (instance_id, root_id, deprecated_id, instrument_id, community_id,
                         status, interviewer, device_id, respondent, started_at, updated_at, finalized_at, position,
                         repeat_counts, round)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, '', ?13,
                         coalesce(?14, (SELECT value FROM settings WHERE key = 'current_round'), ''))",
                )
                .map_err(err)?;
            let mut ans = tx
                .prepare("INSERT OR IGNORE INTO answers (instance_id, question, value, saved_at) VALUES (?1, ?2, ?3, ?4)")
                .map_err(err)?;
            for round in b.rounds.values() {
                tx.execute(
                    "INSERT OR IGNORE INTO rounds (name, created_at) VALUES (?1, ?2)",
                    params![round, ts(now)],
                )
                .map_err(err)?;
            }
            for (r, answers, counts) in &b.responses {
                let id = r.instance_id.to_string();
                ins.execute(params![
                    id,
                    r.root_id.to_string(),
                    r.deprecated_id.map(|d| d.to_string()),
                    r.instrument_id.to_string(),
                    r.community_id.to_string(),
                    r.status.code(),
                    r.interviewer,
                    r.device_id,
                    r.respondent,
                    ts(r.started_at),
                    ts(r.updated_at),
                    r.finalized_at.map(ts),
                    serde_json::to_string(counts).map_err(Error::internal)?,
                    b.rounds.get(&r.instance_id),
                ])
                .map_err(err)?;
                for (q, v) in answers {
                    ans.execute(params![id, q, v, ts(r.updated_at)])
                        .map_err(err)?;
                }
            }
            let mut conf = tx
                .prepare(
                    "INSERT OR IGNORE INTO conflicts (id, instance_id, incoming, incoming_hash, device_id, received_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )
                .map_err(err)?;
            for (instance, json, hash) in &b.conflicts {
                conf.execute(params![
                    shequ_core::new_id().to_string(),
                    instance.to_string(),
                    json,
                    hash,
                    b.device_id,
                    ts(now)
                ])
                .map_err(err)?;
            }
            let mut aud = tx
                .prepare(
                    "INSERT OR IGNORE INTO audit (id, at, actor, device_id, action, entity, entity_id, field, old_value, new_value)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                )
                .map_err(err)?;
            for a in &b.audit {
                aud.execute(params![
                    a.id.to_string(),
                    ts(a.at),
                    a.actor,
                    a.device_id,
                    a.action.code(),
                    a.entity,
                    a.entity_id,
                    a.field,
                    a.old_value,
                    a.new_value
                ])
                .map_err(err)?;
            }
        }
        if let Some(r) = &b.device_recipient {
            tx.execute(
                "UPDATE devices SET recipient = ?2 WHERE device_id = ?1",
                params![b.device_id, r],
            )
            .map_err(err)?;
        }
        let (refused_new, refused_updated) = crate::shared::apply_shared(
            &mut tx,
            &b.shared_puts,
            &b.shared_conflicts,
            &b.device_id,
            now,
        )
        .map_err(err)?;
        // A record the database refused (a name already taken here) is kept as a conflict.
        counts.shared_new = counts.shared_new.saturating_sub(refused_new);
        counts.shared_updated = counts.shared_updated.saturating_sub(refused_updated);
        counts.shared_conflicts += refused_new + refused_updated;
        let summary = serde_json::to_string(&counts).map_err(Error::internal)?;
        audit::record(
            &tx,
            actor,
            now,
            Change {
                action: AuditAction::Import,
                entity: "bundle",
                entity_id: &b.file_sha256,
                field: Some("device_id"),
                old_value: Some(&b.device_id),
                new_value: Some(&summary),
            },
        )
        .map_err(err)?;
        tx.execute(
            "INSERT INTO bundle_imports (file_sha256, device_id, exported_at, imported_at, new_count, duplicate_count,
                 version_count, conflict_count, bundle_seq, bundle_full)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                b.file_sha256,
                b.device_id,
                ts(b.exported_at),
                ts(now),
                b.counts.new,
                b.counts.duplicates,
                b.counts.versions,
                b.counts.conflicts,
                b.bundle_seq,
                b.bundle_full
            ],
        )
        .map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(ImportOutcome::Applied(counts))
    }

    /// Finalized responses (every version, not discarded) whose change sequence is above
    /// `after`, with it, in sequence order. The sequence is the store's own (numbered by
    /// triggers as versions are finalized, imported or rewritten), never the clock.
    pub fn exportable_responses(&self, after: i64) -> Result<Vec<(Uuid, i64)>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT instance_id, change_seq FROM responses WHERE status = 'finalized' AND discarded_at IS NULL
                 AND change_seq > ?1 ORDER BY change_seq",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([after], |r| {
                Ok((crate::parse_uuid(&r.get::<_, String>(0)?)?, r.get(1)?))
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.err(e))
    }

    /// The highest change sequence a recorded export covered (0: none), and the number the
    /// next bundle gets.
    pub fn export_position(&self) -> Result<(i64, u32)> {
        self.conn
            .query_row(
                "SELECT coalesce(max(covered_seq), 0), coalesce(max(bundle_seq), 0) + 1 FROM exports",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(|e| self.err(e))
    }

    /// Records an export whose file is already written and synced. `covered_seq` is the
    /// highest change sequence it holds (or the previous one when it holds nothing new).
    /// A bundle number taken meanwhile (another process exported) is refused by the unique
    /// index rather than given twice.
    pub fn record_export(&mut self, row: &ExportRow, sha256: &str, covered_seq: i64) -> Result<()> {
        self.conn
            .execute(
                "INSERT INTO exports (id, at, since, file, responses, encrypted, sha256, bundle_seq, covered_seq)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    shequ_core::new_id().to_string(),
                    row.at,
                    row.since,
                    row.file,
                    row.responses,
                    row.encrypted,
                    sha256,
                    row.bundle_seq,
                    covered_seq
                ],
            )
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    /// The most recent export by bundle number (then by when it was recorded), not by its
    /// timestamp: a clock set back does not reorder them.
    pub fn last_export(&self) -> Result<Option<ExportRow>> {
        self.conn
            .query_row(
                "SELECT bundle_seq, at, since, file, responses, encrypted FROM exports
                 ORDER BY bundle_seq IS NULL, bundle_seq DESC, rowid DESC LIMIT 1",
                [],
                |r| {
                    Ok(ExportRow {
                        bundle_seq: r.get(0)?,
                        at: r.get(1)?,
                        since: r.get(2)?,
                        file: r.get(3)?,
                        responses: r.get(4)?,
                        encrypted: r.get(5)?,
                    })
                },
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Every bundle imported here, by device (devices in the order they were first seen): its
    /// number on the device (`None`: from before numbering) and whether it carried everything.
    #[allow(clippy::type_complexity)]
    pub fn received_bundles(&self) -> Result<Vec<(String, Vec<(Option<u32>, bool)>)>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT d.device_id, b.bundle_seq, b.bundle_full FROM devices d
                 LEFT JOIN bundle_imports b ON b.device_id = d.device_id
                 ORDER BY d.first_seen, d.rowid, b.bundle_seq",
            )
            .map_err(|e| self.err(e))?;
        let mut rows = stmt.query([]).map_err(|e| self.err(e))?;
        let mut out: Vec<(String, Vec<(Option<u32>, bool)>)> = Vec::new();
        while let Some(r) = rows.next().map_err(|e| self.err(e))? {
            let device: String = r.get(0).map_err(|e| self.err(e))?;
            let seq: Option<u32> = r.get(1).map_err(|e| self.err(e))?;
            let full: Option<bool> = r.get(2).map_err(|e| self.err(e))?;
            if out.last().map(|(d, _)| d != &device).unwrap_or(true) {
                out.push((device, Vec::new()));
            }
            if let (Some(full), Some(last)) = (full, out.last_mut()) {
                last.1.push((seq, full));
            }
        }
        Ok(out)
    }

    pub fn conflicts(&self, unresolved_only: bool) -> Result<Vec<ConflictRow>> {
        let filter = if unresolved_only {
            "WHERE resolved_at IS NULL"
        } else {
            ""
        };
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT id, instance_id, incoming, device_id, received_at, resolution,
                        replaced IS NOT NULL AND restored_at IS NULL FROM conflicts {filter}
                 ORDER BY received_at, id"
            ))
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(ConflictRow {
                    id: r.get(0)?,
                    instance_id: r.get(1)?,
                    incoming: r.get(2)?,
                    device_id: r.get(3)?,
                    received_at: r.get(4)?,
                    resolution: r.get(5)?,
                    restorable: r.get(6)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.err(e))
    }

    /// Resolves a conflict, keeping the stored version or replacing it with the incoming one
    /// (`replacement`), in one audited transaction. Taking the incoming version keeps the
    /// replaced one in the conflict row, for `restore_replaced`.
    pub fn resolve_conflict(
        &mut self,
        conflict_id: &str,
        replacement: Option<&ResponseWithAnswers>,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let path = self.path.clone();
        let err = |e| crate::db_error(&path, e);
        let tx = self.conn.transaction().map_err(err)?;
        let instance: Option<String> = tx
            .query_row(
                "SELECT instance_id FROM conflicts WHERE id = ?1 AND resolved_at IS NULL",
                [conflict_id],
                |r| r.get(0),
            )
            .optional()
            .map_err(err)?;
        let Some(instance) = instance else {
            return Err(Error::new(ErrorCode::NotFound)
                .with("what", "conflict")
                .with("id", conflict_id));
        };
        let (resolution, replaced) = if let Some((r, answers, counts)) = replacement {
            let replaced = read_version(&tx, &instance).map_err(err)?;
            let incoming = ReplacedVersion {
                status: r.status.code().to_string(),
                interviewer: r.interviewer.clone(),
                respondent: r.respondent.clone(),
                updated_at: ts(r.updated_at),
                finalized_at: r.finalized_at.map(ts),
                repeat_counts: serde_json::to_string(counts).map_err(Error::internal)?,
                answers: answers
                    .iter()
                    .map(|(q, v)| (q.clone(), (v.clone(), ts(r.updated_at))))
                    .collect(),
            };
            write_version(&tx, &instance, &incoming).map_err(err)?;
            (
                "took_incoming",
                Some(serde_json::to_string(&replaced).map_err(Error::internal)?),
            )
        } else {
            ("kept_existing", None)
        };
        tx.execute(
            "UPDATE conflicts SET resolved_at = ?2, resolution = ?3, resolved_by = ?4, replaced = ?5 WHERE id = ?1",
            params![conflict_id, ts(now), resolution, actor.name, replaced],
        )
        .map_err(err)?;
        audit::record(
            &tx,
            actor,
            now,
            Change {
                action: AuditAction::Update,
                entity: "response",
                entity_id: &instance,
                field: Some("conflict"),
                old_value: Some(conflict_id),
                new_value: Some(resolution),
            },
        )
        .map_err(err)?;
        tx.commit().map_err(err)
    }

    /// Puts back the version that taking the incoming one replaced, exactly (answers with
    /// their save times), and records the conflict as resolved by keeping it; audited, in one
    /// transaction. The incoming version stays in the conflict row.
    pub fn restore_replaced(
        &mut self,
        conflict_id: &str,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<String> {
        let path = self.path.clone();
        let err = |e| crate::db_error(&path, e);
        let tx = self.conn.transaction().map_err(err)?;
        let found: Option<(String, String)> = tx
            .query_row(
                "SELECT instance_id, replaced FROM conflicts
                 WHERE id = ?1 AND resolution = 'took_incoming' AND replaced IS NOT NULL AND restored_at IS NULL",
                [conflict_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(err)?;
        let Some((instance, json)) = found else {
            return Err(Error::new(ErrorCode::NotFound)
                .with("what", "replaced version")
                .with("id", conflict_id));
        };
        let version: ReplacedVersion = serde_json::from_str(&json).map_err(Error::internal)?;
        write_version(&tx, &instance, &version).map_err(err)?;
        tx.execute(
            "UPDATE conflicts SET resolution = 'kept_existing', restored_at = ?2, resolved_at = ?2, resolved_by = ?3
             WHERE id = ?1",
            params![conflict_id, ts(now), actor.name],
        )
        .map_err(err)?;
        audit::record(
            &tx,
            actor,
            now,
            Change {
                action: AuditAction::Update,
                entity: "response",
                entity_id: &instance,
                field: Some("conflict"),
                old_value: Some("took_incoming"),
                new_value: Some("restored_replaced"),
            },
        )
        .map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(instance)
    }
}

/// What a conflict resolution may overwrite of a stored version.
fn read_version(tx: &rusqlite::Transaction, instance: &str) -> rusqlite::Result<ReplacedVersion> {
    let mut v = tx.query_row(
        "SELECT status, interviewer, respondent, updated_at, finalized_at, repeat_counts
         FROM responses WHERE instance_id = ?1",
        [instance],
        |r| {
            Ok(ReplacedVersion {
                status: r.get(0)?,
                interviewer: r.get(1)?,
                respondent: r.get(2)?,
                updated_at: r.get(3)?,
                finalized_at: r.get(4)?,
                repeat_counts: r.get(5)?,
                answers: BTreeMap::new(),
            })
        },
    )?;
    let mut stmt =
        tx.prepare("SELECT question, value, saved_at FROM answers WHERE instance_id = ?1")?;
    let rows = stmt.query_map([instance], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?))))?;
    v.answers = rows.collect::<rusqlite::Result<_>>()?;
    Ok(v)
}

fn write_version(
    tx: &rusqlite::Transaction,
    instance: &str,
    v: &ReplacedVersion,
) -> rusqlite::Result<()> {
    tx.execute(
        "UPDATE responses SET status = ?2, interviewer = ?3, respondent = ?4, updated_at = ?5, finalized_at = ?6,
             repeat_counts = ?7 WHERE instance_id = ?1",
        params![
            instance,
            v.status,
            v.interviewer,
            v.respondent,
            v.updated_at,
            v.finalized_at,
            v.repeat_counts
        ],
    )?;
    tx.execute("DELETE FROM answers WHERE instance_id = ?1", [instance])?;
    let mut ins = tx.prepare(
        "INSERT INTO answers (instance_id, question, value, saved_at) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for (q, (value, saved_at)) in &v.answers {
        ins.execute(params![instance, q, value, saved_at])?;
    }
    Ok(())
}

/// A finalized response with its answers, for data exports.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportRecord {
    pub instance_id: Uuid,
    pub deprecated_id: Option<Uuid>,
    pub community_code: String,
    pub community_name: String,
    pub interviewer: String,
    pub respondent: String,
    pub finalized_at: Option<DateTime<Utc>>,
    pub repeat_counts: BTreeMap<String, u32>,
    pub answers: BTreeMap<String, String>,
}

impl Store {
    /// The latest finalized version of every response to one form version, with answers, in
    /// one query (streamed and folded by instance).
    pub fn export_records(&self, instrument_id: Uuid) -> Result<Vec<ExportRecord>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT r.instance_id, r.deprecated_id, c.code, c.name, r.interviewer, r.respondent, r.finalized_at,
                        r.repeat_counts, a.question, a.value
                 FROM responses r
                 JOIN communities c ON c.id = r.community_id
                 LEFT JOIN answers a ON a.instance_id = r.instance_id
                 WHERE r.instrument_id = ?1 AND r.status = 'finalized' AND r.discarded_at IS NULL
                   AND NOT EXISTS (SELECT 1 FROM responses n WHERE n.deprecated_id = r.instance_id
                                   AND n.status = 'finalized' AND n.discarded_at IS NULL)
                 ORDER BY r.finalized_at, r.instance_id",
            )
            .map_err(|e| self.err(e))?;
        let mut rows = stmt
            .query([instrument_id.to_string()])
            .map_err(|e| self.err(e))?;
        let mut out: Vec<ExportRecord> = Vec::new();
        while let Some(row) = rows.next().map_err(|e| self.err(e))? {
            let id: String = row.get(0).map_err(|e| self.err(e))?;
            let id = crate::parse_uuid(&id).map_err(|e| self.err(e))?;
            if out.last().map(|r| r.instance_id) != Some(id) {
                let get =
                    |i: usize| -> Result<Option<String>> { row.get(i).map_err(|e| self.err(e)) };
                out.push(ExportRecord {
                    instance_id: id,
                    deprecated_id: get(1)?.and_then(|s| Uuid::parse_str(&s).ok()),
                    community_code: get(2)?.unwrap_or_default(),
                    community_name: get(3)?.unwrap_or_default(),
                    interviewer: get(4)?.unwrap_or_default(),
                    respondent: get(5)?.unwrap_or_default(),
                    finalized_at: get(6)?.and_then(|s| parse_ts(&s).ok()),
                    repeat_counts: serde_json::from_str(&get(7)?.unwrap_or_default())
                        .unwrap_or_default(),
                    answers: BTreeMap::new(),
                });
            }
            let (q, v): (Option<String>, Option<String>) = (
                row.get(8).map_err(|e| self.err(e))?,
                row.get(9).map_err(|e| self.err(e))?,
            );
            if let (Some(q), Some(v), Some(last)) = (q, v, out.last_mut()) {
                last.answers.insert(q, v);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A database as version 3 left it: two finalized responses (finalized out of id order),
    /// a draft, and an export recorded before numbering.
    fn v3_database(path: &std::path::Path) {
        let c = crate::test_support::database_at(path, 3);
        c.execute_batch(
            "INSERT INTO communities VALUES ('c', 'DH-01', '梧桐里', '', '', 'mixed', NULL, 5, 0, 't', 't');
             INSERT INTO instruments VALUES ('i', 'f', '1', 't', NULL, '[]', '{}', 'h', NULL, 't');
             INSERT INTO responses (instance_id, root_id, instrument_id, community_id, status, interviewer,
                 device_id, started_at, updated_at, finalized_at) VALUES
               ('0000000a-0000-7000-8000-000000000000', '0000000a-0000-7000-8000-000000000000', 'i', 'c', 'finalized', '张', 'd', 't', '2026-03-02T00:00:00.000Z', '2026-03-02T00:00:00.000Z'),
               ('0000000b-0000-7000-8000-000000000000', '0000000b-0000-7000-8000-000000000000', 'i', 'c', 'finalized', '张', 'd', 't', '2026-03-01T00:00:00.000Z', '2026-03-01T00:00:00.000Z'),
               ('0000000d-0000-7000-8000-000000000000', '0000000d-0000-7000-8000-000000000000', 'i', 'c', 'draft', '张', 'd', 't', '2026-03-03T00:00:00.000Z', NULL);
             INSERT INTO exports VALUES ('e', '2026-03-05T00:00:00.000Z', NULL, 'gone.shequ', 2, 0, 'x');",
        )
        .unwrap();
    }

    fn seqs(s: &Store) -> Vec<(String, Option<i64>)> {
        let mut stmt = s
            .conn
            .prepare("SELECT instance_id, change_seq FROM responses ORDER BY instance_id")
            .unwrap();
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
        rows.map(Result::unwrap).collect()
    }

    #[test]
    fn the_upgrade_numbers_finalized_versions_and_the_next_export_sends_everything_once() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.db");
        v3_database(&p);
        let mut s = Store::open(&p, &crate::test_support::pass()).unwrap();
        assert_eq!(
            seqs(&s),
            vec![
                ("0000000a-0000-7000-8000-000000000000".into(), Some(2)),
                ("0000000b-0000-7000-8000-000000000000".into(), Some(1)),
                ("0000000d-0000-7000-8000-000000000000".into(), None)
            ],
            "in the order they were finalized; drafts have none"
        );
        // The old export may never have been written (the bug this fixes): it covers nothing.
        assert_eq!(s.export_position().unwrap(), (0, 1));
        assert_eq!(s.last_export().unwrap().unwrap().bundle_seq, None);
        let all: Vec<i64> = s
            .exportable_responses(0)
            .unwrap()
            .into_iter()
            .map(|(_, n)| n)
            .collect();
        assert_eq!(all, vec![1, 2]);

        // Saving a draft takes no number; finalizing it takes the next one.
        s.conn
            .execute(
                "UPDATE responses SET position = 'b1', updated_at = '2026-03-04T00:00:00.000Z' WHERE instance_id = '0000000d-0000-7000-8000-000000000000'",
                [],
            )
            .unwrap();
        assert_eq!(seqs(&s)[2].1, None);
        s.conn
            .execute(
                "UPDATE responses SET status = 'finalized', finalized_at = updated_at WHERE instance_id = '0000000d-0000-7000-8000-000000000000'",
                [],
            )
            .unwrap();
        assert_eq!(seqs(&s)[2].1, Some(3));

        let row = ExportRow {
            bundle_seq: Some(1),
            at: "2026-03-05T00:00:00.000Z".into(),
            since: None,
            file: "b1.shequ".into(),
            responses: 3,
            encrypted: false,
        };
        s.record_export(&row, "sha", 3).unwrap();
        assert_eq!(s.export_position().unwrap(), (3, 2));
        assert!(s.exportable_responses(3).unwrap().is_empty());
        assert_eq!(s.last_export().unwrap().unwrap().bundle_seq, Some(1));
        assert!(
            s.record_export(&row, "sha", 3).is_err(),
            "a bundle number is never given twice"
        );

        // A version imported with a timestamp years in the past is still new.
        s.conn
            .execute(
                "INSERT INTO responses (instance_id, root_id, instrument_id, community_id, status, interviewer,
                     device_id, started_at, updated_at, finalized_at)
                 VALUES ('0000000f-0000-7000-8000-000000000000', '0000000f-0000-7000-8000-000000000000', 'i', 'c', 'finalized', '李', 'other', 't', '2020-01-01T00:00:00.000Z', '2020-01-01T00:00:00.000Z')",
                [],
            )
            .unwrap();
        assert_eq!(
            s.exportable_responses(3).unwrap(),
            vec![(
                Uuid::parse_str("0000000f-0000-7000-8000-000000000000").unwrap(),
                4
            )]
        );
    }
}
