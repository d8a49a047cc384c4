//! Keeping clusters and libraries in step between stores (bundle format version 2): which
//! shared records a bundle carries, what an incoming record is to the stored one (new, newer,
//! the same or older, or a concurrent edit kept for the analyst), and the settling of those
//! conflicts. The version algebra is `shequ_bundle::shared`; the rows are `shequ_store`'s.
//!
//! A local edit is noticed by its content: a record whose content no longer hashes to the
//! content of its recorded version has been edited here, and gets the next version.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use shequ_bundle::{arrival, content_sha, Arrival, CentreIdentity, SharedRecord, Version};
use shequ_core::{Error, ErrorCode, Result};
use shequ_store::{
    check_shared_body, ImportCounts, SharedConflictIn, SharedConflictRow, SharedPut,
};

use crate::App;

/// This device's own age identity, which opens what the centre sends back.
const SETTING_DEVICE_AGE_IDENTITY: &str = "device_age_identity";

type Key = (String, String);

/// The shared records as they stand here, with their versions (local edits noticed).
pub(crate) struct SharedNow {
    pub records: Vec<SharedRecord>,
    /// The content hash of each record, in the order of `records`.
    shas: Vec<String>,
    /// The version last sent, by record.
    sent: HashMap<Key, Option<String>>,
    /// Records whose version was not recorded yet (new or edited here): where they stand.
    pub observed: Vec<SharedPut>,
}

impl SharedNow {
    fn versions(&self) -> HashMap<Key, (&Version, &str)> {
        self.records
            .iter()
            .zip(&self.shas)
            .map(|(r, sha)| ((r.kind.clone(), r.id.clone()), (&r.version, sha.as_str())))
            .collect()
    }

    /// The records a bundle carries (all, or those not sent in this version yet), and the
    /// marks that record them as sent once the bundle is written.
    pub fn to_send(&self, since_last: bool) -> (Vec<SharedRecord>, Vec<SharedPut>) {
        self.records
            .iter()
            .zip(&self.shas)
            .filter(|(r, _)| {
                !since_last
                    || self
                        .sent
                        .get(&(r.kind.clone(), r.id.clone()))
                        .cloned()
                        .flatten()
                        != Some(r.version.version.clone())
            })
            .map(|(r, sha)| (r.clone(), put(r, sha, false, true, false)))
            .unzip()
    }
}

/// A write of where `r` stands (with its body when `body`), its content hashing to `sha`.
fn put(r: &SharedRecord, sha: &str, body: bool, sent: bool, new: bool) -> SharedPut {
    SharedPut {
        kind: r.kind.clone(),
        id: r.id.clone(),
        body: body.then(|| r.body.clone()),
        content_sha: sha.to_string(),
        version: r.version.version.clone(),
        ancestors: r.version.ancestors.clone(),
        sent,
        new,
    }
}

fn bad(problem: &str) -> Error {
    Error::new(ErrorCode::BundleInvalid).with("bundle_problem", problem)
}

/// What an import does with the incoming shared records.
pub(crate) struct SharedPlan {
    pub puts: Vec<SharedPut>,
    pub conflicts: Vec<SharedConflictIn>,
}

impl App {
    /// Every shared record with its version; a record edited here since its version was
    /// recorded gets the next one (in memory: `observed` says what to record).
    pub(crate) fn shared_now(&self) -> Result<SharedNow> {
        let kept = self.store().shared_versions()?;
        let (mut records, mut shas, mut observed) = (Vec::new(), Vec::new(), Vec::new());
        let mut sent = HashMap::new();
        for (kind, id, body) in self.store().shared_bodies()? {
            let sha = content_sha(kind, &id, &body);
            let key = (kind.to_string(), id.clone());
            let row = kept.get(&key);
            let version = match row {
                Some(row) => {
                    let recorded = Version {
                        version: row.version.clone(),
                        ancestors: row.ancestors.clone(),
                    };
                    match row.content_sha == sha {
                        true => recorded,
                        false => recorded.edited(&sha),
                    }
                }
                None => Version::first(&sha),
            };
            let record = SharedRecord {
                kind: kind.to_string(),
                id,
                body,
                version,
            };
            if row.map(|r| &r.version) != Some(&record.version.version) {
                observed.push(put(&record, &sha, false, false, false));
            }
            sent.insert(key, row.and_then(|r| r.sent.clone()));
            records.push(record);
            shas.push(sha);
        }
        Ok(SharedNow {
            records,
            shas,
            sent,
            observed,
        })
    }

    /// Plans the incoming shared records against this store; writes nothing. Every record is
    /// checked first: its fields are its table's, and library entries, meetings and cases
    /// read as the app's own records.
    pub(crate) fn plan_shared(
        &self,
        incoming: &[SharedRecord],
        counts: &mut ImportCounts,
    ) -> Result<SharedPlan> {
        for (i, r) in incoming.iter().enumerate() {
            let entry = format!("{}:{}", shequ_bundle::SHARED, i + 1);
            let malformed = |detail: String| {
                bad("malformed_json")
                    .with("entry", &entry)
                    .with("detail", detail)
            };
            check_shared_body(&r.kind, &r.id, &r.body).map_err(malformed)?;
            let data = r.body.get("data").and_then(|d| d.as_str()).unwrap_or("{}");
            let parsed = match r.kind.as_str() {
                "resource" => {
                    serde_json::from_str::<shequ_analysis::resources::Resource>(data).map(|_| ())
                }
                "expert" => {
                    serde_json::from_str::<shequ_analysis::resources::Expert>(data).map(|_| ())
                }
                "meeting" => {
                    serde_json::from_str::<crate::clusters::MeetingRecord>(data).map(|_| ())
                }
                "case" => serde_json::from_str::<crate::clusters::CaseRecord>(data).map(|_| ()),
                _ => Ok(()),
            };
            parsed.map_err(|e| malformed(format!("{}.data: {e}", r.kind)))?;
        }
        let now = self.shared_now()?;
        let local = now.versions();
        let known = self.store().shared_conflict_versions()?;
        let mut puts = now.observed.clone();
        let mut conflicts = Vec::new();
        for r in incoming {
            let sha = content_sha(&r.kind, &r.id, &r.body);
            let key = (r.kind.clone(), r.id.clone());
            let stored = local.get(&key);
            let waiting =
                known.contains(&(r.kind.clone(), r.id.clone(), r.version.version.clone()));
            match arrival(stored.map(|s| s.0), &r.version) {
                // Already kept for the analyst (a concurrent edit, or a record refused here).
                Arrival::New | Arrival::Concurrent if waiting => counts.shared_unchanged += 1,
                Arrival::New => {
                    counts.shared_new += 1;
                    puts.push(put(r, &sha, true, true, true));
                }
                Arrival::Newer => {
                    counts.shared_updated += 1;
                    puts.push(put(r, &sha, true, true, false));
                }
                Arrival::Same | Arrival::Older => counts.shared_unchanged += 1,
                Arrival::Concurrent => {
                    let (mine, mine_sha) = stored.expect("concurrent implies stored");
                    if *mine_sha == sha {
                        // The same edit made on both sides: settled without asking.
                        counts.shared_unchanged += 1;
                        let merged = mine.merged(&r.version, mine_sha);
                        let settled = SharedRecord {
                            version: merged,
                            ..r.clone()
                        };
                        puts.push(put(&settled, &sha, false, false, false));
                    } else {
                        counts.shared_conflicts += 1;
                        conflicts.push(SharedConflictIn {
                            kind: r.kind.clone(),
                            id: r.id.clone(),
                            incoming: serde_json::to_string(r).map_err(Error::internal)?,
                            incoming_version: r.version.version.clone(),
                            stored_version: mine.version.clone(),
                        });
                    }
                }
            }
        }
        Ok(SharedPlan { puts, conflicts })
    }

    /// Conflicts between shared records kept for the analyst.
    pub fn shared_conflicts(&self, unresolved_only: bool) -> Result<Vec<SharedConflictRow>> {
        self.store().shared_conflicts(unresolved_only)
    }

    /// Settles a kept conflict: keep the stored record or take the incoming one. Either way
    /// the result descends from both versions, so the other stores take it as newer.
    pub fn resolve_shared_conflict(
        &mut self,
        conflict_id: &str,
        take_incoming: bool,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let row = self
            .store()
            .shared_conflicts(true)?
            .into_iter()
            .find(|c| c.id == conflict_id)
            .ok_or_else(|| {
                Error::new(ErrorCode::NotFound)
                    .with("what", "conflict")
                    .with("id", conflict_id)
            })?;
        let incoming: SharedRecord =
            serde_json::from_str(&row.incoming).map_err(Error::internal)?;
        let here = self.shared_now()?;
        let mine = here
            .records
            .iter()
            .find(|r| r.kind == row.kind && r.id == row.record_id);
        let chosen = match (take_incoming, mine) {
            (false, Some(m)) => m,
            _ => &incoming,
        };
        let sha = content_sha(&chosen.kind, &chosen.id, &chosen.body);
        let version = match mine {
            Some(m) => m.version.merged(&incoming.version, &sha),
            None => incoming.version.clone(),
        };
        let settled = SharedRecord {
            version,
            ..chosen.clone()
        };
        let actor = self.actor();
        let p = put(
            &settled,
            &sha,
            take_incoming || mine.is_none(),
            false,
            false,
        );
        self.store_mut()
            .settle_shared_conflict(conflict_id, take_incoming, &p, &actor, now)
    }

    /// This device's own age identity (made on first use): what the centre encrypts to when
    /// it sends cluster and library records back.
    pub(crate) fn device_identity(&mut self) -> Result<CentreIdentity> {
        if let Some(identity) = self.stored_device_identity()? {
            return Ok(identity);
        }
        let identity = CentreIdentity::generate();
        self.store_mut()
            .set_setting(SETTING_DEVICE_AGE_IDENTITY, &identity.secret())?;
        Ok(identity)
    }

    /// This device's own age identity, if it has made one.
    pub(crate) fn stored_device_identity(&self) -> Result<Option<CentreIdentity>> {
        self.identity_setting(SETTING_DEVICE_AGE_IDENTITY)
    }
}
