//! Communities: insert (all or nothing), list, and progress toward the target sample.

use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension, Row};
use serde::Serialize;
use shequ_core::{AuditAction, Community, Error, ErrorCode, HousingForm, NewCommunity, Result};
use ts_rs::TS;

use crate::audit::{self, Change};
use crate::{parse_ts, parse_uuid, ts, Actor, Store};

/// A community with its fieldwork progress, as the home screen shows it.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct CommunitySummary {
    pub community: Community,
    /// Finalized interviews, counting each response once (its latest version).
    pub finalized: u32,
    pub drafts: u32,
}

const COLUMNS: &str =
    "id, code, name, street, district, housing_form, households, target_sample, created_at, updated_at";

fn from_row(r: &Row) -> rusqlite::Result<Community> {
    let form: String = r.get(5)?;
    Ok(Community {
        id: parse_uuid(&r.get::<_, String>(0)?)?,
        code: r.get(1)?,
        name: r.get(2)?,
        street: r.get(3)?,
        district: r.get(4)?,
        housing_form: HousingForm::from_code(&form).unwrap_or(HousingForm::Mixed),
        households: r.get(6)?,
        target_sample: r.get(7)?,
        created_at: parse_ts(&r.get::<_, String>(8)?)?,
        updated_at: parse_ts(&r.get::<_, String>(9)?)?,
    })
}

impl Store {
    /// Inserts every community or none. Each is validated; a code already in the store is
    /// refused with `CommunityCodeExists` (its `index` parameter says which input).
    pub fn insert_communities(
        &mut self,
        items: &[NewCommunity],
        actor: &Actor,
        now: DateTime<Utc>,
        is_demo: bool,
    ) -> Result<Vec<Community>> {
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction()
            .map_err(|e| crate::db_error(&path, e))?;
        let out = insert_communities_in(&tx, &path, items, actor, now, is_demo)?;
        tx.commit().map_err(|e| crate::db_error(&path, e))?;
        Ok(out)
    }

    /// Inserts communities, then the responses `make` builds for them, in one transaction
    /// (the demo district: all of it or nothing).
    pub fn insert_communities_with_responses(
        &mut self,
        items: &[NewCommunity],
        is_demo: bool,
        make: impl FnOnce(&[Community]) -> Result<Vec<crate::NewResponse>>,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Vec<Community>> {
        let path = self.path.clone();
        let err = |e| crate::db_error(&path, e);
        let tx = self.conn.transaction().map_err(err)?;
        let out = insert_communities_in(&tx, &path, items, actor, now, is_demo)?;
        let responses = make(&out)?;
        crate::responses::insert_responses_in(&tx, &responses, actor, now).map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(out)
    }
}

/// Validates and inserts communities inside a transaction; a code already in the store is
/// refused with `CommunityCodeExists` (its `index` parameter says which input).
fn insert_communities_in(
    tx: &rusqlite::Transaction,
    path: &std::path::Path,
    items: &[NewCommunity],
    actor: &Actor,
    now: DateTime<Utc>,
    is_demo: bool,
) -> Result<Vec<Community>> {
    let err = |e| crate::db_error(path, e);
    let mut out = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let item = item.clone().normalized();
        item.validate().map_err(|e| e.with("index", index))?;
        let existing: Option<String> = tx
            .query_row(
                "SELECT name FROM communities WHERE code = ?1",
                [&item.code],
                |r| r.get(0),
            )
            .optional()
            .map_err(err)?;
        if let Some(name) = existing {
            return Err(Error::new(ErrorCode::CommunityCodeExists)
                .with("code", &item.code)
                .with("name", name)
                .with("index", index));
        }
        let c = Community {
            id: shequ_core::new_id(),
            code: item.code,
            name: item.name,
            street: item.street,
            district: item.district,
            housing_form: item.housing_form,
            households: item.households,
            target_sample: item.target_sample,
            created_at: now,
            updated_at: now,
        };
        tx.execute(
                &format!("INSERT INTO communities ({COLUMNS}, is_demo) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"),
                params![
                    c.id.to_string(),
                    c.code,
                    c.name,
                    c.street,
                    c.district,
                    c.housing_form.code(),
                    c.households,
                    c.target_sample,
                    ts(now),
                    ts(now),
                    is_demo
                ],
            )
            .map_err(err)?;
        let id = c.id.to_string();
        let summary = format!("{} {}", c.code, c.name);
        audit::record(
            tx,
            actor,
            now,
            Change {
                action: AuditAction::Create,
                entity: "community",
                entity_id: &id,
                field: None,
                old_value: None,
                new_value: Some(&summary),
            },
        )
        .map_err(err)?;
        out.push(c);
    }
    Ok(out)
}

impl Store {
    /// All communities, by street then code.
    pub fn communities(&self) -> Result<Vec<Community>> {
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT {COLUMNS} FROM communities ORDER BY street, code"
            ))
            .map_err(|e| self.err(e))?;
        let rows = stmt.query_map([], from_row).map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.err(e))
    }

    pub fn community_by_code(&self, code: &str) -> Result<Option<Community>> {
        self.conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM communities WHERE code = ?1"),
                [code],
                from_row,
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    pub fn demo_community_count(&self) -> Result<u32> {
        self.conn
            .query_row(
                "SELECT count(*) FROM communities WHERE is_demo = 1",
                [],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))
    }

    /// Every community with its finalized and draft counts. A finalized response counts once:
    /// versions superseded by a later finalized edit and discarded responses are left out; an
    /// edit in progress (a draft naming a finalized version) is not a new draft.
    pub fn community_summaries(&self) -> Result<Vec<CommunitySummary>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT community_id,
                        sum(status = 'finalized'),
                        sum(status = 'draft')
                 FROM responses r
                 WHERE discarded_at IS NULL
                   AND NOT EXISTS (SELECT 1 FROM responses n
                                   WHERE n.deprecated_id = r.instance_id
                                     AND n.status = 'finalized' AND n.discarded_at IS NULL)
                   AND NOT (status = 'draft' AND deprecated_id IS NOT NULL)
                 GROUP BY community_id",
            )
            .map_err(|e| self.err(e))?;
        let counts: std::collections::HashMap<String, (u32, u32)> = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, (r.get(1)?, r.get(2)?))))
            .map_err(|e| self.err(e))?
            .collect::<rusqlite::Result<_>>()
            .map_err(|e| self.err(e))?;
        Ok(self
            .communities()?
            .into_iter()
            .map(|c| {
                let (finalized, drafts) = counts.get(&c.id.to_string()).copied().unwrap_or((0, 0));
                CommunitySummary {
                    community: c,
                    finalized,
                    drafts,
                }
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{actor, t0};

    pub(crate) fn new(code: &str, name: &str) -> NewCommunity {
        NewCommunity {
            code: code.into(),
            name: name.into(),
            street: "石门二路街道".into(),
            district: "静安区".into(),
            housing_form: HousingForm::OldPublic,
            households: Some(800),
            target_sample: 50,
        }
    }

    #[test]
    fn insert_and_list_round_trips_every_field() {
        let mut s = Store::open_in_memory().unwrap();
        let made = s
            .insert_communities(&[new(" A1 ", "三兴居委")], &actor(), t0(), false)
            .unwrap();
        let listed = s.communities().unwrap();
        assert_eq!(listed, made);
        assert_eq!(listed[0].code, "A1", "trimmed");
        assert_eq!(listed[0].households, Some(800));
        assert_eq!(listed[0].created_at, t0());
        let audit = s.audit_for("community", &made[0].id.to_string()).unwrap();
        assert_eq!(audit.len(), 1);
        assert_eq!(audit[0].actor, "张社工");
        assert_eq!(audit[0].new_value.as_deref(), Some("A1 三兴居委"));
    }

    #[test]
    fn a_duplicate_code_rolls_back_the_whole_batch() {
        let mut s = Store::open_in_memory().unwrap();
        s.insert_communities(&[new("A1", "一")], &actor(), t0(), false)
            .unwrap();
        let err = s
            .insert_communities(&[new("B1", "二"), new("A1", "三")], &actor(), t0(), false)
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::CommunityCodeExists);
        assert_eq!(err.params["index"], "1");
        assert_eq!(err.params["name"], "一");
        let codes: Vec<_> = s
            .communities()
            .unwrap()
            .into_iter()
            .map(|c| c.code)
            .collect();
        assert_eq!(codes, vec!["A1"]);
    }

    #[test]
    fn an_invalid_item_rolls_back_the_whole_batch() {
        let mut s = Store::open_in_memory().unwrap();
        let mut bad = new("C1", "三");
        bad.target_sample = 0;
        let err = s
            .insert_communities(&[new("B1", "二"), bad], &actor(), t0(), false)
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidField);
        assert!(s.communities().unwrap().is_empty());
    }
}
