//! Responses and answers. Fieldwork's per-answer save path arrives with the interview screens;
//! here is the batch insert that the demo data set (and later bundle import) uses.

use chrono::{DateTime, Utc};
use rusqlite::params;
use shequ_core::{Answer, AuditAction, Response, Result};

use crate::audit::{self, Change};
use crate::{ts, Actor, Store};

/// A response with its answers, to insert as one.
#[derive(Debug, Clone)]
pub struct NewResponse {
    pub response: Response,
    pub answers: Vec<Answer>,
}

impl Store {
    /// Inserts responses with their answers, all or nothing.
    pub fn insert_responses(
        &mut self,
        items: &[NewResponse],
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let path = self.path.clone();
        let err = |e| crate::db_error(&path, e);
        let tx = self.conn.transaction().map_err(err)?;
        {
            let mut ins_resp = tx
                .prepare(
                    "INSERT INTO responses (instance_id, root_id, deprecated_id, instrument_id, community_id,
                         status, interviewer, device_id, respondent, started_at, updated_at, finalized_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                )
                .map_err(err)?;
            let mut ins_ans = tx
                .prepare("INSERT INTO answers (instance_id, question, value, saved_at) VALUES (?1, ?2, ?3, ?4)")
                .map_err(err)?;
            for NewResponse {
                response: r,
                answers,
            } in items
            {
                let id = r.instance_id.to_string();
                ins_resp
                    .execute(params![
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
                        r.finalized_at.map(ts)
                    ])
                    .map_err(err)?;
                for a in answers {
                    ins_ans
                        .execute(params![id, a.question, a.value, ts(r.updated_at)])
                        .map_err(err)?;
                }
                audit::record(
                    &tx,
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
                )
                .map_err(err)?;
            }
        }
        tx.commit().map_err(err)?;
        Ok(())
    }

    /// The answers of one response version, by question name.
    pub fn answers(&self, instance_id: uuid::Uuid) -> Result<Vec<Answer>> {
        let mut stmt = self
            .conn
            .prepare("SELECT question, value FROM answers WHERE instance_id = ?1 ORDER BY question")
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{actor, t0};
    use shequ_core::{FormDefinition, HousingForm, NewCommunity, ResponseStatus};

    fn response(instrument: uuid::Uuid, community: uuid::Uuid, status: ResponseStatus) -> Response {
        let id = shequ_core::new_id();
        Response {
            instance_id: id,
            root_id: id,
            deprecated_id: None,
            instrument_id: instrument,
            community_id: community,
            status,
            interviewer: "张".into(),
            device_id: "dev-1".into(),
            respondent: "3-201".into(),
            started_at: t0(),
            updated_at: t0(),
            finalized_at: (status == ResponseStatus::Finalized).then(t0),
        }
    }

    #[test]
    fn progress_counts_latest_finalized_versions_and_drafts() {
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
        let v1 = response(inst, c.id, ResponseStatus::Finalized);
        let mut v2 = response(inst, c.id, ResponseStatus::Finalized);
        v2.root_id = v1.root_id;
        v2.deprecated_id = Some(v1.instance_id);
        let other = response(inst, c.id, ResponseStatus::Finalized);
        let draft = response(inst, c.id, ResponseStatus::Draft);
        let answers = vec![Answer {
            question: "b1".into(),
            value: "4".into(),
        }];
        let items: Vec<NewResponse> = [v1, v2.clone(), other, draft]
            .into_iter()
            .map(|r| NewResponse {
                response: r,
                answers: answers.clone(),
            })
            .collect();
        s.insert_responses(&items, &actor(), t0()).unwrap();
        let sum = s.community_summaries().unwrap();
        assert_eq!(
            (sum[0].finalized, sum[0].drafts),
            (2, 1),
            "v1 is superseded by v2"
        );
        assert_eq!(s.answers(v2.instance_id).unwrap(), answers);
    }

    #[test]
    fn a_response_for_an_unknown_community_is_refused_whole() {
        let mut s = Store::open_in_memory().unwrap();
        let r = response(
            shequ_core::new_id(),
            shequ_core::new_id(),
            ResponseStatus::Draft,
        );
        let err = s.insert_responses(
            &[NewResponse {
                response: r,
                answers: vec![],
            }],
            &actor(),
            t0(),
        );
        assert!(err.is_err());
        assert!(s.community_summaries().unwrap().is_empty());
    }
}
