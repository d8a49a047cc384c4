//! Responses and answers: the durable save path of fieldwork.
//!
//! Every call that changes a response is one transaction; `save_answer` is the hot path
//! (one upsert, one update of the response row, audit only for edits of finalized work) and
//! returns only after SQLite's commit with `synchronous=FULL`, so an acknowledged answer
//! survives a killed process or a flat battery.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension, Row, Transaction};
use serde::Serialize;
use shequ_core::{Answer, AuditAction, Error, ErrorCode, Response, ResponseStatus, Result};
use ts_rs::TS;
use uuid::Uuid;

use crate::audit::{self, Change};
use crate::{parse_ts, parse_uuid, ts, Actor, Store};

/// A response with its answers, to insert as one.
#[derive(Debug, Clone)]
pub struct NewResponse {
    pub response: Response,
    pub answers: Vec<Answer>,
}

/// The answers of one response version, with its repeat sizes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct StoredAnswers {
    pub values: BTreeMap<String, String>,
    pub repeat_counts: BTreeMap<String, u32>,
}

/// A response as lists show it: with its community and form.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct ResponseRow {
    pub response: Response,
    pub community_code: String,
    pub community_name: String,
    pub form_title: String,
    pub form_version: String,
    pub answered: u32,
}

const COLUMNS: &str = "r.instance_id, r.root_id, r.deprecated_id, r.instrument_id, r.community_id, r.status, \
     r.interviewer, r.device_id, r.respondent, r.started_at, r.updated_at, r.finalized_at, r.position, r.discarded_at";

fn from_row(r: &Row) -> rusqlite::Result<Response> {
    let opt_uuid = |i: usize| -> rusqlite::Result<Option<Uuid>> {
        r.get::<_, Option<String>>(i)?
            .map(|s| parse_uuid(&s))
            .transpose()
    };
    let opt_ts = |i: usize| -> rusqlite::Result<Option<DateTime<Utc>>> {
        r.get::<_, Option<String>>(i)?
            .map(|s| parse_ts(&s))
            .transpose()
    };
    let status: String = r.get(5)?;
    Ok(Response {
        instance_id: parse_uuid(&r.get::<_, String>(0)?)?,
        root_id: parse_uuid(&r.get::<_, String>(1)?)?,
        deprecated_id: opt_uuid(2)?,
        instrument_id: parse_uuid(&r.get::<_, String>(3)?)?,
        community_id: parse_uuid(&r.get::<_, String>(4)?)?,
        status: ResponseStatus::from_code(&status).unwrap_or(ResponseStatus::Draft),
        interviewer: r.get(6)?,
        device_id: r.get(7)?,
        respondent: r.get(8)?,
        started_at: parse_ts(&r.get::<_, String>(9)?)?,
        updated_at: parse_ts(&r.get::<_, String>(10)?)?,
        finalized_at: opt_ts(11)?,
        position: r.get(12)?,
        discarded_at: opt_ts(13)?,
    })
}

fn insert_response(tx: &Transaction, r: &Response) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO responses (instance_id, root_id, deprecated_id, instrument_id, community_id,
             status, interviewer, device_id, respondent, started_at, updated_at, finalized_at, position, round)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13,
             -- A new version stays in the round of the one it replaces; a new response
             -- takes the store's current round.
             coalesce((SELECT round FROM responses WHERE instance_id = ?3),
                      (SELECT value FROM settings WHERE key = 'current_round'), ''))",
        params![
            r.instance_id.to_string(),
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
            r.position,
        ],
    )?;
    Ok(())
}

/// Inserts responses with their answers inside a transaction, each audited.
pub(crate) fn insert_responses_in(
    tx: &Transaction,
    items: &[NewResponse],
    actor: &Actor,
    now: DateTime<Utc>,
) -> rusqlite::Result<()> {
    let mut ins_ans = tx.prepare_cached(
        "INSERT INTO answers (instance_id, question, value, saved_at) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for NewResponse {
        response: r,
        answers,
    } in items
    {
        insert_response(tx, r)?;
        let id = r.instance_id.to_string();
        for a in answers {
            ins_ans.execute(params![id, a.question, a.value, ts(r.updated_at)])?;
        }
        audit::record(
            tx,
            actor,
            now,
            Change {
                action: AuditAction::Create,
                entity: "response",
                entity_id: &id,
                field: None,
                old_value: None,
                new_value: Some(r.status.code()),
            },
        )?;
    }
    Ok(())
}

/// Writes one answer (`""` deletes it) inside a transaction.
fn put_answer(
    tx: &Transaction,
    id: &str,
    question: &str,
    value: &str,
    now: DateTime<Utc>,
) -> rusqlite::Result<()> {
    if value.is_empty() {
        tx.prepare_cached("DELETE FROM answers WHERE instance_id = ?1 AND question = ?2")?
            .execute(params![id, question])?;
    } else {
        tx.prepare_cached(
            "INSERT INTO answers (instance_id, question, value, saved_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (instance_id, question) DO UPDATE SET value = excluded.value, saved_at = excluded.saved_at
             WHERE value IS NOT excluded.value",
        )?
        .execute(params![id, question, value, ts(now)])?;
    }
    Ok(())
}

/// The finalized version that already replaces `instance_id`, if any: a version chain may
/// not fork, so such a response can no longer be edited.
fn successor(
    tx: &Transaction,
    instance_id: &str,
    except: &str,
) -> rusqlite::Result<Option<String>> {
    tx.query_row(
        "SELECT instance_id FROM responses WHERE deprecated_id = ?1 AND status = 'finalized' AND instance_id <> ?2",
        [instance_id, except],
        |r| r.get(0),
    )
    .optional()
}

impl Store {
    /// Inserts responses with their answers, all or nothing (demo data, bundle import).
    pub fn insert_responses(
        &mut self,
        items: &[NewResponse],
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let path = self.path.clone();
        let err = |e| crate::db_error(&path, e);
        let tx = self.conn.transaction().map_err(err)?;
        insert_responses_in(&tx, items, actor, now).map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(())
    }

    /// Starts a draft with its starting answers (metadata, defaults, calculations) and the
    /// settings it changes (the remembered interviewer), all in one transaction.
    pub fn create_response(
        &mut self,
        r: &Response,
        answers: Vec<Answer>,
        settings: &[(&str, &str)],
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let path = self.path.clone();
        let err = |e| crate::db_error(&path, e);
        let tx = self.conn.transaction().map_err(err)?;
        insert_responses_in(
            &tx,
            &[NewResponse {
                response: r.clone(),
                answers,
            }],
            actor,
            now,
        )
        .map_err(err)?;
        for (k, v) in settings {
            crate::put_setting(&tx, k, v).map_err(err)?;
        }
        tx.commit().map_err(err)
    }

    pub fn response(&self, instance_id: Uuid) -> Result<Response> {
        self.conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM responses r WHERE instance_id = ?1"),
                [instance_id.to_string()],
                from_row,
            )
            .optional()
            .map_err(|e| self.err(e))?
            .ok_or_else(|| {
                Error::new(ErrorCode::NotFound)
                    .with("what", "response")
                    .with("id", instance_id)
            })
    }

    /// The answers of one response version.
    pub fn answers(&self, instance_id: Uuid) -> Result<Vec<Answer>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT question, value FROM answers WHERE instance_id = ?1 ORDER BY question",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([instance_id.to_string()], |r| {
                Ok(Answer {
                    question: r.get(0)?,
                    value: r.get(1)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.err(e))
    }

    /// Answers and repeat sizes of one response version.
    pub fn stored_answers(&self, instance_id: Uuid) -> Result<StoredAnswers> {
        let values = self
            .answers(instance_id)?
            .into_iter()
            .map(|a| (a.question, a.value))
            .collect();
        let json: String = self
            .conn
            .query_row(
                "SELECT repeat_counts FROM responses WHERE instance_id = ?1",
                [instance_id.to_string()],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))?;
        let repeat_counts = serde_json::from_str(&json).unwrap_or_default();
        Ok(StoredAnswers {
            values,
            repeat_counts,
        })
    }

    /// Checks that a response can take answers: it exists, is a draft, is not discarded.
    fn writable(
        tx: &Transaction,
        instance: &str,
    ) -> rusqlite::Result<Option<(String, bool, bool)>> {
        tx.query_row(
            "SELECT status, discarded_at IS NOT NULL, deprecated_id IS NOT NULL FROM responses WHERE instance_id = ?1",
            [instance],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()
    }

    /// The durable save of one answer (an empty value clears it). `position` is where the
    /// worker is, for resuming. Edits of a new version of finalized work are audited.
    ///
    /// `calculated` holds the form's calculation results that changed with this answer
    /// (instance key → value, `""` to clear); they are written in the same transaction, so
    /// the stored record never lags the answers it was computed from.
    #[allow(clippy::too_many_arguments)]
    pub fn save_answer(
        &mut self,
        instance_id: Uuid,
        question: &str,
        value: &str,
        position: &str,
        calculated: &BTreeMap<String, String>,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let path = self.path.clone();
        let err = |e| crate::db_error(&path, e);
        let id = instance_id.to_string();
        let tx = self.conn.transaction().map_err(err)?;
        let (status, discarded, is_edit) = match Self::writable(&tx, &id).map_err(err)? {
            Some(x) => x,
            None => {
                return Err(Error::new(ErrorCode::NotFound)
                    .with("what", "response")
                    .with("id", &id))
            }
        };
        if status != "draft" {
            return Err(Error::new(ErrorCode::ResponseReadOnly));
        }
        if discarded {
            return Err(Error::new(ErrorCode::ResponseDiscarded));
        }
        let old: Option<String> = if is_edit {
            tx.query_row(
                "SELECT value FROM answers WHERE instance_id = ?1 AND question = ?2",
                [&id, question],
                |r| r.get(0),
            )
            .optional()
            .map_err(err)?
        } else {
            None
        };
        for (q, v) in std::iter::once((question, value))
            .chain(calculated.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        {
            put_answer(&tx, &id, q, v, now).map_err(err)?;
        }
        tx.prepare_cached(
            "UPDATE responses SET updated_at = ?2, position = ?3 WHERE instance_id = ?1",
        )
        .and_then(|mut s| s.execute(params![id, ts(now), position]))
        .map_err(err)?;
        if is_edit && old.as_deref().unwrap_or("") != value {
            audit::record(
                &tx,
                actor,
                now,
                Change {
                    action: AuditAction::Update,
                    entity: "response",
                    entity_id: &id,
                    field: Some(question),
                    old_value: old.as_deref(),
                    new_value: Some(value),
                },
            )
            .map_err(err)?;
        }
        tx.commit().map_err(err)
    }

    /// Sets the number of instances of a user-sized repeat; `calculated` holds the answers
    /// and calculations that change with it (`""` deletes: the answers of removed
    /// instances), written in the same transaction.
    pub fn set_repeat_count(
        &mut self,
        instance_id: Uuid,
        repeat_key: &str,
        count: u32,
        calculated: &BTreeMap<String, String>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let path = self.path.clone();
        let err = |e| crate::db_error(&path, e);
        let id = instance_id.to_string();
        let tx = self.conn.transaction().map_err(err)?;
        match Self::writable(&tx, &id).map_err(err)? {
            None => {
                return Err(Error::new(ErrorCode::NotFound)
                    .with("what", "response")
                    .with("id", &id))
            }
            Some((s, _, _)) if s != "draft" => return Err(Error::new(ErrorCode::ResponseReadOnly)),
            Some((_, true, _)) => return Err(Error::new(ErrorCode::ResponseDiscarded)),
            _ => {}
        }
        let json: String = tx
            .query_row(
                "SELECT repeat_counts FROM responses WHERE instance_id = ?1",
                [&id],
                |r| r.get(0),
            )
            .map_err(err)?;
        let mut counts: BTreeMap<String, u32> = serde_json::from_str(&json).unwrap_or_default();
        // The sizes of repeats nested in removed instances go with them.
        let old = counts.get(repeat_key).copied().unwrap_or(0);
        counts.retain(|k, _| {
            !(count + 1..=old).any(|i| k.starts_with(&format!("{repeat_key}[{i}]/")))
        });
        counts.insert(repeat_key.to_string(), count);
        let json = serde_json::to_string(&counts).map_err(Error::internal)?;
        tx.execute(
            "UPDATE responses SET repeat_counts = ?2, updated_at = ?3 WHERE instance_id = ?1",
            params![id, json, ts(now)],
        )
        .map_err(err)?;
        for (k, v) in calculated {
            put_answer(&tx, &id, k, v, now).map_err(err)?;
        }
        tx.commit().map_err(err)
    }

    fn set_status(
        &mut self,
        instance_id: Uuid,
        change: StatusChange,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let path = self.path.clone();
        let err = |e| crate::db_error(&path, e);
        let id = instance_id.to_string();
        let tx = self.conn.transaction().map_err(err)?;
        let Some((status, discarded, _)) = Self::writable(&tx, &id).map_err(err)? else {
            return Err(Error::new(ErrorCode::NotFound)
                .with("what", "response")
                .with("id", &id));
        };
        let (sql, action, label) = match change {
            StatusChange::Discard if status == "draft" && !discarded => (
                "UPDATE responses SET discarded_at = ?2 WHERE instance_id = ?1",
                AuditAction::Delete,
                "discarded",
            ),
            StatusChange::Restore if discarded => (
                "UPDATE responses SET discarded_at = NULL, updated_at = ?2 WHERE instance_id = ?1",
                AuditAction::Update,
                "restored",
            ),
            _ if discarded => return Err(Error::new(ErrorCode::ResponseDiscarded)),
            _ => return Err(Error::new(ErrorCode::ResponseReadOnly)),
        };
        tx.execute(sql, params![id, ts(now)]).map_err(err)?;
        audit::record(
            &tx,
            actor,
            now,
            Change {
                action,
                entity: "response",
                entity_id: &id,
                field: Some("status"),
                old_value: Some(&status),
                new_value: Some(label),
            },
        )
        .map_err(err)?;
        tx.commit().map_err(err)
    }

    /// Finalizes a draft with `record` as its content: exactly what ODK Collect would submit
    /// (see `shequ_forms::CompiledForm::record`). In one transaction: stored answers the record
    /// does not hold (not relevant, or of a repeat instance that no longer exists) are removed
    /// and each removal audited; values that differ (calculations, `end`) are written; the
    /// repeat counts become the record's; the status becomes finalized. A draft that would
    /// fork a version chain (its predecessor already has another finalized successor) is
    /// refused.
    ///
    /// `read_at` is the draft's `updated_at` when the record was computed: if anything was
    /// saved into the draft since (the CLI beside the window), the record may lack it, and
    /// finalize is refused with `ResponseChanged` so the caller computes it again.
    pub fn finalize_response(
        &mut self,
        instance_id: Uuid,
        record: &StoredAnswers,
        read_at: DateTime<Utc>,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let path = self.path.clone();
        let err = |e| crate::db_error(&path, e);
        let id = instance_id.to_string();
        let tx = self.conn.transaction().map_err(err)?;
        match Self::writable(&tx, &id).map_err(err)? {
            None => {
                return Err(Error::new(ErrorCode::NotFound)
                    .with("what", "response")
                    .with("id", &id))
            }
            Some((_, true, _)) => return Err(Error::new(ErrorCode::ResponseDiscarded)),
            Some((s, _, _)) if s != "draft" => return Err(Error::new(ErrorCode::ResponseReadOnly)),
            _ => {}
        }
        let (deprecated, updated): (Option<String>, String) = tx
            .query_row(
                "SELECT deprecated_id, updated_at FROM responses WHERE instance_id = ?1",
                [&id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(err)?;
        if updated != ts(read_at) {
            return Err(Error::new(ErrorCode::ResponseChanged));
        }
        if let Some(prev) = &deprecated {
            if let Some(newer) = successor(&tx, prev, &id).map_err(err)? {
                return Err(Error::new(ErrorCode::ResponseSuperseded).with("id", newer));
            }
        }
        let stored: Vec<(String, String)> = tx
            .prepare_cached("SELECT question, value FROM answers WHERE instance_id = ?1")
            .and_then(|mut st| {
                st.query_map([&id], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<rusqlite::Result<Vec<_>>>()
            })
            .map_err(err)?;
        for (q, old) in &stored {
            if !record.values.contains_key(q) {
                put_answer(&tx, &id, q, "", now).map_err(err)?;
                audit::record(
                    &tx,
                    actor,
                    now,
                    Change {
                        action: AuditAction::Drop,
                        entity: "response",
                        entity_id: &id,
                        field: Some(q),
                        old_value: Some(old),
                        new_value: None,
                    },
                )
                .map_err(err)?;
            }
        }
        let is_edit = deprecated.is_some();
        for (q, v) in &record.values {
            let old = stored.iter().find(|(k, _)| k == q).map(|(_, v)| v.as_str());
            if old == Some(v.as_str()) {
                continue;
            }
            put_answer(&tx, &id, q, v, now).map_err(err)?;
            if is_edit {
                audit::record(
                    &tx,
                    actor,
                    now,
                    Change {
                        action: AuditAction::Update,
                        entity: "response",
                        entity_id: &id,
                        field: Some(q),
                        old_value: old,
                        new_value: Some(v),
                    },
                )
                .map_err(err)?;
            }
        }
        let counts = serde_json::to_string(&record.repeat_counts).map_err(Error::internal)?;
        tx.execute(
            "UPDATE responses SET status = 'finalized', finalized_at = ?2, updated_at = ?2, repeat_counts = ?3
             WHERE instance_id = ?1",
            params![id, ts(now), counts],
        )
        .map_err(err)?;
        audit::record(
            &tx,
            actor,
            now,
            Change {
                action: AuditAction::Update,
                entity: "response",
                entity_id: &id,
                field: Some("status"),
                old_value: Some("draft"),
                new_value: Some("finalized"),
            },
        )
        .map_err(err)?;
        tx.commit().map_err(err)
    }

    /// Discards a draft; it stays restorable for `DISCARD_RECOVERY_DAYS`.
    pub fn discard_response(
        &mut self,
        instance_id: Uuid,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.set_status(instance_id, StatusChange::Discard, actor, now)
    }

    pub fn restore_response(
        &mut self,
        instance_id: Uuid,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.set_status(instance_id, StatusChange::Restore, actor, now)
    }

    /// Starts a new version of a finalized response: a draft with a new instance id, the same
    /// root, `deprecated_id` naming the finalized one, and a copy of its answers.
    pub fn new_version(
        &mut self,
        instance_id: Uuid,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Response> {
        let path = self.path.clone();
        let err = |e| crate::db_error(&path, e);
        // Checks and insert in one (IMMEDIATE) transaction: the window and the CLI on the same
        // store cannot both start a version of the same response.
        let tx = self.conn.transaction().map_err(err)?;
        let old = tx
            .query_row(
                &format!("SELECT {COLUMNS} FROM responses r WHERE instance_id = ?1"),
                [instance_id.to_string()],
                from_row,
            )
            .optional()
            .map_err(err)?
            .ok_or_else(|| {
                Error::new(ErrorCode::NotFound)
                    .with("what", "response")
                    .with("id", instance_id)
            })?;
        if old.status != ResponseStatus::Finalized {
            return Err(Error::new(ErrorCode::ResponseReadOnly));
        }
        if let Some(newer) = successor(&tx, &instance_id.to_string(), "").map_err(err)? {
            return Err(Error::new(ErrorCode::ResponseSuperseded).with("id", newer));
        }
        // An edit already in progress is resumed rather than forked.
        let open: Option<Response> = tx
            .query_row(
                &format!("SELECT {COLUMNS} FROM responses r WHERE deprecated_id = ?1 AND status = 'draft' AND discarded_at IS NULL"),
                [instance_id.to_string()],
                from_row,
            )
            .optional()
            .map_err(err)?;
        if let Some(r) = open {
            return Ok(r);
        }
        let new = Response {
            instance_id: shequ_core::new_id(),
            deprecated_id: Some(old.instance_id),
            status: ResponseStatus::Draft,
            updated_at: now,
            finalized_at: None,
            discarded_at: None,
            device_id: actor.device_id.clone(),
            ..old.clone()
        };
        insert_response(&tx, &new).map_err(err)?;
        tx.execute(
            "INSERT INTO answers (instance_id, question, value, saved_at)
             SELECT ?2, question, value, saved_at FROM answers WHERE instance_id = ?1",
            params![old.instance_id.to_string(), new.instance_id.to_string()],
        )
        .map_err(err)?;
        tx.execute(
            "UPDATE responses SET repeat_counts = (SELECT repeat_counts FROM responses WHERE instance_id = ?1) WHERE instance_id = ?2",
            params![old.instance_id.to_string(), new.instance_id.to_string()],
        )
        .map_err(err)?;
        audit::record(
            &tx,
            actor,
            now,
            Change {
                action: AuditAction::Create,
                entity: "response",
                entity_id: &new.instance_id.to_string(),
                field: Some("deprecated_id"),
                old_value: None,
                new_value: Some(&old.instance_id.to_string()),
            },
        )
        .map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(new)
    }

    /// Responses for lists. `which`: drafts (newest first), finalized (latest versions),
    /// or discarded within the recovery window.
    pub fn response_rows(
        &self,
        which: ResponseList,
        now: DateTime<Utc>,
    ) -> Result<Vec<ResponseRow>> {
        let filter = match which {
            ResponseList::Drafts => "r.status = 'draft' AND r.discarded_at IS NULL".to_string(),
            ResponseList::Finalized => "r.status = 'finalized' AND r.discarded_at IS NULL AND NOT EXISTS \
                 (SELECT 1 FROM responses n WHERE n.deprecated_id = r.instance_id AND n.status = 'finalized')"
                .to_string(),
            ResponseList::Discarded => format!(
                "r.discarded_at IS NOT NULL AND r.discarded_at >= '{}'",
                ts(now - chrono::Duration::days(shequ_core::DISCARD_RECOVERY_DAYS))
            ),
        };
        let sql = format!(
            "SELECT {COLUMNS}, c.code, c.name, i.title, i.version,
                    (SELECT count(*) FROM answers a WHERE a.instance_id = r.instance_id)
             FROM responses r JOIN communities c ON c.id = r.community_id JOIN instruments i ON i.id = r.instrument_id
             WHERE {filter} ORDER BY r.updated_at DESC, r.instance_id DESC"
        );
        let mut stmt = self.conn.prepare(&sql).map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(ResponseRow {
                    response: from_row(r)?,
                    community_code: r.get(14)?,
                    community_name: r.get(15)?,
                    form_title: r.get(16)?,
                    form_version: r.get(17)?,
                    answered: r.get(18)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.err(e))
    }

    /// Every version of a response, oldest first.
    pub fn versions(&self, root_id: Uuid) -> Result<Vec<Response>> {
        let mut stmt = self
            .conn
            .prepare(&format!("SELECT {COLUMNS} FROM responses r WHERE root_id = ?1 ORDER BY started_at, updated_at"))
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([root_id.to_string()], from_row)
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.err(e))
    }

    /// Community ids by the time of their latest interview, most recent first.
    pub fn recent_community_ids(&self) -> Result<Vec<Uuid>> {
        let mut stmt = self
            .conn
            .prepare("SELECT community_id, max(updated_at) m FROM responses GROUP BY community_id ORDER BY m DESC")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| parse_uuid(&r.get::<_, String>(0)?))
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.err(e))
    }
}

enum StatusChange {
    Discard,
    Restore,
}

/// Which responses a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseList {
    Drafts,
    Finalized,
    Discarded,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{actor, t0};
    use shequ_core::{FormDefinition, HousingForm, NewCommunity};

    fn setup() -> (Store, Uuid, Uuid) {
        let mut s = Store::open_in_memory().unwrap();
        let c = s
            .insert_communities(
                &[NewCommunity {
                    code: "A".into(),
                    name: "甲".into(),
                    street: String::new(),
                    district: String::new(),
                    housing_form: HousingForm::Mixed,
                    households: None,
                    target_sample: 40,
                }],
                &actor(),
                t0(),
                false,
            )
            .unwrap()
            .remove(0);
        let def = FormDefinition {
            form_id: "f".into(),
            version: "1".into(),
            title: "t".into(),
            default_language: None,
            languages: vec![],
            items: vec![],
            choices: Default::default(),
        };
        let inst = s
            .install_instrument(&def, None, &actor(), t0())
            .unwrap()
            .summary
            .id;
        (s, inst, c.id)
    }

    fn draft(inst: Uuid, community: Uuid) -> Response {
        let id = shequ_core::new_id();
        Response {
            instance_id: id,
            root_id: id,
            deprecated_id: None,
            instrument_id: inst,
            community_id: community,
            status: ResponseStatus::Draft,
            interviewer: "张".into(),
            device_id: "dev-1".into(),
            respondent: "3-201".into(),
            started_at: t0(),
            updated_at: t0(),
            finalized_at: None,
            position: String::new(),
            discarded_at: None,
        }
    }

    fn later(min: i64) -> DateTime<Utc> {
        t0() + chrono::Duration::minutes(min)
    }

    #[test]
    fn answers_save_clear_and_resume_where_the_worker_stopped() {
        let (mut s, inst, c) = setup();
        let r = draft(inst, c);
        s.create_response(&r, vec![], &[], &actor(), t0()).unwrap();
        s.save_answer(
            r.instance_id,
            "a_age",
            "34",
            "a_age",
            &BTreeMap::new(),
            &actor(),
            later(1),
        )
        .unwrap();
        s.save_answer(
            r.instance_id,
            "a_sex",
            "female",
            "a_sex",
            &BTreeMap::new(),
            &actor(),
            later(2),
        )
        .unwrap();
        s.save_answer(
            r.instance_id,
            "a_age",
            "43",
            "a_age",
            &BTreeMap::new(),
            &actor(),
            later(3),
        )
        .unwrap();
        s.save_answer(
            r.instance_id,
            "a_sex",
            "",
            "b1",
            &BTreeMap::new(),
            &actor(),
            later(4),
        )
        .unwrap();
        s.set_repeat_count(r.instance_id, "member", 2, &BTreeMap::new(), later(5))
            .unwrap();
        let stored = s.stored_answers(r.instance_id).unwrap();
        assert_eq!(
            stored.values.into_iter().collect::<Vec<_>>(),
            vec![("a_age".to_string(), "43".to_string())]
        );
        assert_eq!(stored.repeat_counts["member"], 2);
        let back = s.response(r.instance_id).unwrap();
        assert_eq!((back.position.as_str(), back.updated_at), ("b1", later(5)));
        let drafts = s.response_rows(ResponseList::Drafts, later(6)).unwrap();
        assert_eq!(
            (
                drafts.len(),
                drafts[0].answered,
                drafts[0].community_name.as_str()
            ),
            (1, 1, "甲")
        );
    }

    #[test]
    fn finalized_is_read_only_and_edits_make_audited_versions() {
        let (mut s, inst, c) = setup();
        let r = draft(inst, c);
        s.create_response(&r, vec![], &[], &actor(), t0()).unwrap();
        s.save_answer(
            r.instance_id,
            "b1",
            "4",
            "b1",
            &BTreeMap::new(),
            &actor(),
            later(1),
        )
        .unwrap();
        s.finalize_response(
            r.instance_id,
            &s.stored_answers(r.instance_id).unwrap(),
            s.response(r.instance_id).unwrap().updated_at,
            &actor(),
            later(2),
        )
        .unwrap();
        let err = s
            .save_answer(
                r.instance_id,
                "b1",
                "5",
                "b1",
                &BTreeMap::new(),
                &actor(),
                later(3),
            )
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::ResponseReadOnly);
        assert_eq!(s.community_summaries().unwrap()[0].finalized, 1);

        let v2 = s.new_version(r.instance_id, &actor(), later(4)).unwrap();
        assert_eq!(
            (v2.root_id, v2.deprecated_id),
            (r.root_id, Some(r.instance_id))
        );
        assert_eq!(
            s.new_version(r.instance_id, &actor(), later(4))
                .unwrap()
                .instance_id,
            v2.instance_id,
            "resumed, not forked"
        );
        let sums = s.community_summaries().unwrap();
        assert_eq!(
            (sums[0].finalized, sums[0].drafts),
            (1, 0),
            "an edit in progress keeps the count"
        );
        s.save_answer(
            v2.instance_id,
            "b1",
            "2",
            "b1",
            &BTreeMap::new(),
            &actor(),
            later(5),
        )
        .unwrap();
        s.save_answer(
            v2.instance_id,
            "b1",
            "2",
            "b1",
            &BTreeMap::new(),
            &actor(),
            later(6),
        )
        .unwrap();
        s.finalize_response(
            v2.instance_id,
            &s.stored_answers(v2.instance_id).unwrap(),
            s.response(v2.instance_id).unwrap().updated_at,
            &actor(),
            later(7),
        )
        .unwrap();
        assert_eq!(
            s.community_summaries().unwrap()[0].finalized,
            1,
            "one response, two versions"
        );
        assert_eq!(
            s.stored_answers(r.instance_id).unwrap().values["b1"],
            "4",
            "the old version is untouched"
        );
        let audit = s
            .audit_for("response", &v2.instance_id.to_string())
            .unwrap();
        let changes: Vec<_> = audit
            .iter()
            .filter(|a| a.field.as_deref() == Some("b1"))
            .map(|a| (a.old_value.clone(), a.new_value.clone(), a.actor.clone()))
            .collect();
        assert_eq!(
            changes,
            vec![(Some("4".into()), Some("2".into()), "张社工".into())],
            "one entry: unchanged saves are not audited"
        );
        let versions = s.versions(r.root_id).unwrap();
        assert_eq!(versions.len(), 2);
        let finals = s.response_rows(ResponseList::Finalized, later(8)).unwrap();
        assert_eq!(finals.len(), 1);
        assert_eq!(finals[0].response.instance_id, v2.instance_id);
    }

    #[test]
    fn discarded_drafts_take_no_answers_and_are_restorable_for_30_days() {
        let (mut s, inst, c) = setup();
        let r = draft(inst, c);
        s.create_response(&r, vec![], &[], &actor(), t0()).unwrap();
        s.discard_response(r.instance_id, &actor(), later(1))
            .unwrap();
        assert_eq!(
            s.save_answer(
                r.instance_id,
                "x",
                "1",
                "x",
                &BTreeMap::new(),
                &actor(),
                later(2)
            )
            .unwrap_err()
            .code,
            ErrorCode::ResponseDiscarded
        );
        assert!(s
            .response_rows(ResponseList::Drafts, later(2))
            .unwrap()
            .is_empty());
        assert_eq!(
            s.response_rows(ResponseList::Discarded, later(2))
                .unwrap()
                .len(),
            1
        );
        assert!(
            s.response_rows(ResponseList::Discarded, later(60 * 24 * 31))
                .unwrap()
                .is_empty(),
            "past 30 days"
        );
        s.restore_response(r.instance_id, &actor(), later(3))
            .unwrap();
        s.save_answer(
            r.instance_id,
            "x",
            "1",
            "x",
            &BTreeMap::new(),
            &actor(),
            later(4),
        )
        .unwrap();
        assert_eq!(
            s.response_rows(ResponseList::Drafts, later(5))
                .unwrap()
                .len(),
            1
        );
        assert_eq!(
            s.finalize_response(
                shequ_core::new_id(),
                &StoredAnswers::default(),
                later(6),
                &actor(),
                later(6)
            )
            .unwrap_err()
            .code,
            ErrorCode::NotFound
        );
    }

    #[test]
    fn a_store_that_turned_read_only_reports_it_and_keeps_what_was_saved() {
        let (mut s, inst, c) = setup();
        let r = draft(inst, c);
        s.create_response(&r, vec![], &[], &actor(), t0()).unwrap();
        s.save_answer(
            r.instance_id,
            "a_age",
            "34",
            "a_age",
            &BTreeMap::new(),
            &actor(),
            later(1),
        )
        .unwrap();
        // As when the folder or USB stick becomes read-only under the app.
        s.conn.pragma_update(None, "query_only", true).unwrap();
        let err = s
            .save_answer(
                r.instance_id,
                "a_age",
                "43",
                "a_age",
                &BTreeMap::new(),
                &actor(),
                later(2),
            )
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::DbReadOnly, "{err:?}");
        assert!(err
            .message(shequ_core::Lang::ZhCn)
            .contains("刚才的回答没有保存，但仍保留在屏幕上"));
        s.conn.pragma_update(None, "query_only", false).unwrap();
        assert_eq!(
            s.stored_answers(r.instance_id).unwrap().values["a_age"],
            "34",
            "nothing half-written"
        );
    }

    #[test]
    fn finalize_is_refused_when_the_draft_changed_after_its_record_was_computed() {
        let (mut s, inst, c) = setup();
        let r = draft(inst, c);
        s.create_response(&r, vec![], &[], &actor(), t0()).unwrap();
        s.save_answer(
            r.instance_id,
            "b1",
            "4",
            "b1",
            &BTreeMap::new(),
            &actor(),
            later(1),
        )
        .unwrap();
        let record = s.stored_answers(r.instance_id).unwrap();
        let read_at = s.response(r.instance_id).unwrap().updated_at;
        // Another process saves in between.
        s.save_answer(
            r.instance_id,
            "b2",
            "5",
            "b2",
            &BTreeMap::new(),
            &actor(),
            later(2),
        )
        .unwrap();
        let e = s
            .finalize_response(r.instance_id, &record, read_at, &actor(), later(3))
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::ResponseChanged);
        assert_eq!(
            s.response(r.instance_id).unwrap().status,
            ResponseStatus::Draft
        );
        assert_eq!(
            s.stored_answers(r.instance_id).unwrap().values["b2"],
            "5",
            "kept"
        );
    }

    #[test]
    fn a_response_for_an_unknown_community_is_refused_whole() {
        let (mut s, inst, _) = setup();
        let r = draft(inst, shequ_core::new_id());
        assert!(s.create_response(&r, vec![], &[], &actor(), t0()).is_err());
        assert!(s
            .response_rows(ResponseList::Drafts, t0())
            .unwrap()
            .is_empty());
    }
}
