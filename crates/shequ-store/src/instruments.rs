//! Installed instruments (questionnaires), one row per (form_id, version).

use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension, Row};
use serde::Serialize;
use sha2::{Digest, Sha256};
use shequ_core::{AuditAction, Error, ErrorCode, FormDefinition, Result};
use ts_rs::TS;
use uuid::Uuid;

use crate::audit::{self, Change};
use crate::{parse_ts, parse_uuid, ts, Actor, Store};

/// An instrument as listed: enough for the home screen and `shequ instruments list`.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct InstrumentSummary {
    #[ts(type = "string")]
    pub id: Uuid,
    pub form_id: String,
    pub version: String,
    pub title: String,
    pub languages: Vec<String>,
    pub question_count: u32,
    pub block_count: u32,
    #[ts(type = "string")]
    pub imported_at: DateTime<Utc>,
}

/// An installed instrument with its full definition.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct InstrumentRecord {
    pub summary: InstrumentSummary,
    pub definition: FormDefinition,
    pub content_sha256: String,
}

fn summarize(id: Uuid, def: &FormDefinition, imported_at: DateTime<Utc>) -> InstrumentSummary {
    InstrumentSummary {
        id,
        form_id: def.form_id.clone(),
        version: def.version.clone(),
        title: def.title.clone(),
        languages: def.languages.clone(),
        question_count: def.questions().len() as u32,
        block_count: def.blocks().count() as u32,
        imported_at,
    }
}

fn from_row(r: &Row) -> rusqlite::Result<InstrumentRecord> {
    let id = parse_uuid(&r.get::<_, String>(0)?)?;
    let json: String = r.get(1)?;
    let definition: FormDefinition = serde_json::from_str(&json).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(1, rusqlite::types::Type::Text, Box::new(e))
    })?;
    let imported_at = parse_ts(&r.get::<_, String>(3)?)?;
    Ok(InstrumentRecord {
        summary: summarize(id, &definition, imported_at),
        definition,
        content_sha256: r.get(2)?,
    })
}

/// The content hash that tells two definitions of one version apart.
pub fn content_hash(def: &FormDefinition) -> Result<String> {
    let json = serde_json::to_string(def).map_err(Error::internal)?;
    Ok(format!("{:x}", Sha256::digest(json.as_bytes())))
}

impl Store {
    /// Installs an instrument version. Installing the same version with the same content
    /// again returns the installed one unchanged; with other content it is refused.
    pub fn install_instrument(
        &mut self,
        def: &FormDefinition,
        source_name: Option<&str>,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<InstrumentRecord> {
        let json = serde_json::to_string(def).map_err(Error::internal)?;
        let sha = content_hash(def)?;
        if let Some(existing) = self.instrument_version(&def.form_id, &def.version)? {
            if existing.content_sha256 == sha {
                return Ok(existing);
            }
            return Err(Error::new(ErrorCode::InstrumentConflict)
                .with("form_id", &def.form_id)
                .with("version", &def.version));
        }
        let path = self.path.clone();
        let err = |e| crate::db_error(&path, e);
        let id = shequ_core::new_id();
        let tx = self.conn.transaction().map_err(err)?;
        tx.execute(
            "INSERT INTO instruments (id, form_id, version, title, default_language, languages,
                                      definition, content_sha256, source_name, imported_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                id.to_string(),
                def.form_id,
                def.version,
                def.title,
                def.default_language,
                serde_json::to_string(&def.languages).map_err(Error::internal)?,
                json,
                sha,
                source_name,
                ts(now)
            ],
        )
        .map_err(err)?;
        let label = format!("{} {}", def.form_id, def.version);
        audit::record(
            &tx,
            actor,
            now,
            Change {
                action: AuditAction::Create,
                entity: "instrument",
                entity_id: &id.to_string(),
                field: None,
                old_value: None,
                new_value: Some(&label),
            },
        )
        .map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(InstrumentRecord {
            summary: summarize(id, def, now),
            definition: def.clone(),
            content_sha256: sha,
        })
    }

    pub fn instrument_version(
        &self,
        form_id: &str,
        version: &str,
    ) -> Result<Option<InstrumentRecord>> {
        self.conn
            .query_row(
                "SELECT id, definition, content_sha256, imported_at FROM instruments
                 WHERE form_id = ?1 AND version = ?2",
                [form_id, version],
                from_row,
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// One installed instrument version by id.
    pub fn instrument(&self, id: Uuid) -> Result<Option<InstrumentRecord>> {
        self.conn
            .query_row(
                "SELECT id, definition, content_sha256, imported_at FROM instruments WHERE id = ?1",
                [id.to_string()],
                from_row,
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Every installed instrument version, by form then import time.
    pub fn instruments(&self) -> Result<Vec<InstrumentRecord>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, definition, content_sha256, imported_at FROM instruments
                 ORDER BY form_id, imported_at",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt.query_map([], from_row).map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.err(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{actor, t0};

    fn def(version: &str, title: &str) -> FormDefinition {
        FormDefinition {
            form_id: "f".into(),
            version: version.into(),
            title: title.into(),
            default_language: None,
            languages: vec!["中文 (zh)".into()],
            items: vec![],
            choices: Default::default(),
        }
    }

    #[test]
    fn same_version_same_content_is_idempotent_other_content_is_refused() {
        let mut s = Store::open_in_memory().unwrap();
        let a = s
            .install_instrument(&def("1", "T"), None, &actor(), t0())
            .unwrap();
        let again = s
            .install_instrument(&def("1", "T"), None, &actor(), t0())
            .unwrap();
        assert_eq!(a, again);
        let err = s
            .install_instrument(&def("1", "Other"), None, &actor(), t0())
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::InstrumentConflict);
        s.install_instrument(&def("2", "Other"), None, &actor(), t0())
            .unwrap();
        let versions: Vec<_> = s
            .instruments()
            .unwrap()
            .into_iter()
            .map(|r| r.summary.version)
            .collect();
        assert_eq!(versions, vec!["1", "2"]);
    }
}
