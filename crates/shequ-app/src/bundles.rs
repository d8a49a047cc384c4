//! Assessment bundles between laptops and the centre: export (everything or what changed
//! since the last export, signed, encrypted to the centre when its key is known), and import
//! (plan first — new, duplicate, new version, conflict — then apply, all or nothing per bundle).
//! The bundle format is `shequ-bundle`'s; this module translates between it and the store.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use serde::Serialize;
use shequ_bundle::{
    open_bundle, write_bundle, BundleAudit, BundleCommunity, BundleContent, BundleInstrument,
    BundleResponse, CentreIdentity, DeviceKey, OpenedBundle, ReadLimits,
};
use shequ_core::{
    AuditAction, AuditEntry, Community, Error, ErrorCode, Response, ResponseStatus, Result,
};
use shequ_store::{ExportRow, ImportBatch, ImportCounts, ImportOutcome, ResponseWithAnswers};
use ts_rs::TS;
use uuid::Uuid;

use crate::App;

const SETTING_DEVICE_KEY: &str = "device_signing_key";
const SETTING_CENTRE_IDENTITY: &str = "centre_identity";
const SETTING_CENTRE_RECIPIENT: &str = "centre_recipient";

/// Which keys this computer holds.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct KeyStatus {
    /// A field laptop's copy of the centre's public key.
    pub centre_recipient: Option<String>,
    /// This computer is the centre (holds the decryption identity).
    pub is_centre: bool,
    pub centre_public: Option<String>,
}

/// What importing one bundle did (or would do).
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct ImportReport {
    pub file: String,
    pub device_id: String,
    /// The device was never seen before at this centre.
    pub unknown_device: bool,
    pub already_imported: bool,
    pub counts: ImportCounts,
    pub encrypted: bool,
}

fn bad(problem: &str) -> Error {
    Error::new(ErrorCode::BundleInvalid).with("bundle_problem", problem)
}

fn to_bundle_response(
    r: &Response,
    community_code: &str,
    values: BTreeMap<String, String>,
    counts: BTreeMap<String, u32>,
) -> BundleResponse {
    BundleResponse {
        instance_id: r.instance_id,
        root_id: r.root_id,
        deprecated_id: r.deprecated_id,
        instrument_id: r.instrument_id,
        community_code: community_code.to_string(),
        status: r.status.code().to_string(),
        interviewer: r.interviewer.clone(),
        device_id: r.device_id.clone(),
        respondent: r.respondent.clone(),
        started_at: r.started_at,
        updated_at: r.updated_at,
        finalized_at: r.finalized_at,
        answers: values,
        repeat_counts: counts,
    }
}

fn from_bundle_response(
    b: &BundleResponse,
    instrument_id: Uuid,
    community_id: Uuid,
) -> ResponseWithAnswers {
    (
        Response {
            instance_id: b.instance_id,
            root_id: b.root_id,
            deprecated_id: b.deprecated_id,
            instrument_id,
            community_id,
            status: ResponseStatus::from_code(&b.status).unwrap_or(ResponseStatus::Finalized),
            interviewer: b.interviewer.clone(),
            device_id: b.device_id.clone(),
            respondent: b.respondent.clone(),
            started_at: b.started_at,
            updated_at: b.updated_at,
            finalized_at: b.finalized_at,
            position: String::new(),
            discarded_at: None,
        },
        b.answers.clone(),
        b.repeat_counts.clone(),
    )
}

impl App {
    /// This device's signing key, made on first use.
    pub fn device_key(&mut self) -> Result<DeviceKey> {
        match self.store().setting(SETTING_DEVICE_KEY)? {
            Some(hex) => DeviceKey::from_hex(&hex),
            None => {
                let key = DeviceKey::generate()?;
                self.store_mut()
                    .set_setting(SETTING_DEVICE_KEY, &key.to_hex())?;
                Ok(key)
            }
        }
    }

    /// Makes the centre's key pair on this computer; returns the public recipient to give
    /// to the field laptops. Refuses to replace an existing one (bundles encrypted to it
    /// would become unreadable).
    pub fn init_centre(&mut self) -> Result<String> {
        if let Some(s) = self.store().setting(SETTING_CENTRE_IDENTITY)? {
            return Ok(CentreIdentity::parse(&s)?.recipient());
        }
        let id = CentreIdentity::generate();
        self.store_mut()
            .set_setting(SETTING_CENTRE_IDENTITY, &id.secret())?;
        Ok(id.recipient())
    }

    /// Installs the centre's secret identity on this computer (moving the centre to a new
    /// PC, or tests). Returns the public recipient.
    pub fn import_centre_identity(&mut self, secret: &str) -> Result<String> {
        let id = CentreIdentity::parse(secret)?;
        self.store_mut()
            .set_setting(SETTING_CENTRE_IDENTITY, &id.secret())?;
        Ok(id.recipient())
    }

    /// A field laptop imports the centre's public key (`age1…`).
    pub fn set_centre_recipient(&mut self, recipient: &str) -> Result<()> {
        shequ_bundle::keys_parse_recipient(recipient)?;
        self.store_mut()
            .set_setting(SETTING_CENTRE_RECIPIENT, recipient.trim())
    }

    pub fn centre_recipient(&self) -> Result<Option<String>> {
        self.store().setting(SETTING_CENTRE_RECIPIENT)
    }

    fn centre_identity(&self) -> Result<Option<CentreIdentity>> {
        self.store()
            .setting(SETTING_CENTRE_IDENTITY)?
            .map(|s| CentreIdentity::parse(&s))
            .transpose()
    }

    /// The bundle content of the given responses, with the communities, instruments and
    /// audit entries they refer to.
    fn bundle_content(&self, ids: &[Uuid]) -> Result<BundleContent> {
        let communities: HashMap<Uuid, Community> = self
            .store()
            .communities()?
            .into_iter()
            .map(|c| (c.id, c))
            .collect();
        let instruments: HashMap<Uuid, shequ_store::InstrumentRecord> = self
            .store()
            .instruments()?
            .into_iter()
            .map(|r| (r.summary.id, r))
            .collect();
        let mut responses = Vec::with_capacity(ids.len());
        let (mut used_c, mut used_i) = (Vec::new(), Vec::new());
        for id in ids {
            let r = self.store().response(*id)?;
            let code = communities
                .get(&r.community_id)
                .map(|c| c.code.clone())
                .unwrap_or_default();
            let stored = self.store().stored_answers(*id)?;
            if !used_c.contains(&r.community_id) {
                used_c.push(r.community_id);
            }
            if !used_i.contains(&r.instrument_id) {
                used_i.push(r.instrument_id);
            }
            responses.push(to_bundle_response(
                &r,
                &code,
                stored.values,
                stored.repeat_counts,
            ));
        }
        let audit = self
            .store()
            .audit_for_responses(ids)?
            .into_iter()
            .map(|a| BundleAudit {
                id: a.id,
                at: a.at,
                actor: a.actor,
                device_id: a.device_id,
                action: a.action.code().to_string(),
                entity: a.entity,
                entity_id: a.entity_id,
                field: a.field,
                old_value: a.old_value,
                new_value: a.new_value,
            })
            .collect();
        Ok(BundleContent {
            communities: used_c
                .iter()
                .filter_map(|id| communities.get(id))
                .map(|c| BundleCommunity {
                    id: c.id,
                    code: c.code.clone(),
                    name: c.name.clone(),
                    street: c.street.clone(),
                    district: c.district.clone(),
                    housing_form: c.housing_form,
                    households: c.households,
                    target_sample: c.target_sample,
                })
                .collect(),
            instruments: used_i
                .iter()
                .filter_map(|id| instruments.get(id))
                .map(|r| BundleInstrument {
                    id: r.summary.id,
                    content_sha256: r.content_sha256.clone(),
                    definition: r.definition.clone(),
                })
                .collect(),
            responses,
            audit,
        })
    }

    /// Exports finalized work (all of it, or what changed since the last export) to a bundle.
    /// Without the centre's key the bundle is refused unless `allow_unencrypted`.
    pub fn export_bundle(
        &mut self,
        file: &str,
        since_last: bool,
        allow_unencrypted: bool,
        now: DateTime<Utc>,
    ) -> Result<(Vec<u8>, ExportRow)> {
        let recipient = self.centre_recipient()?;
        if recipient.is_none() && !allow_unencrypted {
            return Err(Error::new(ErrorCode::UnencryptedExport));
        }
        let since = if since_last {
            self.store().last_export_at()?
        } else {
            None
        };
        let ids = self.store().exportable_responses(since)?;
        let content = self.bundle_content(&ids)?;
        let key = self.device_key()?;
        let bytes = write_bundle(
            &content,
            &key,
            self.device_id(),
            env!("CARGO_PKG_VERSION"),
            now,
            since,
            recipient.as_deref(),
        )?;
        let row = ExportRow {
            at: now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            since: since.map(|s| s.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
            file: file.to_string(),
            responses: ids.len() as u32,
            encrypted: recipient.is_some(),
        };
        let sha = {
            use sha2::Digest;
            format!("{:x}", sha2::Sha256::digest(&bytes))
        };
        self.store_mut().record_export(&row, &sha)?;
        Ok((bytes, row))
    }

    pub fn last_export(&self) -> Result<Option<ExportRow>> {
        self.store().last_export()
    }

    /// Exports to a file in `dir` (named after the device and the time), written to a
    /// temporary name, synced, then renamed; returns the path and what it holds.
    pub fn export_bundle_to(
        &mut self,
        dir: &std::path::Path,
        since_last: bool,
        allow_unencrypted: bool,
        now: DateTime<Utc>,
    ) -> Result<(std::path::PathBuf, ExportRow)> {
        let name = format!(
            "shequ-{}-{}.shequ",
            &self.device_id()[..8.min(self.device_id().len())],
            now.format("%Y%m%d-%H%M%S")
        );
        let path = dir.join(&name);
        let (bytes, row) = self.export_bundle(
            &path.display().to_string(),
            since_last,
            allow_unencrypted,
            now,
        )?;
        let fail = |e: std::io::Error| {
            Error::new(ErrorCode::FileUnreadable)
                .with("file", path.display())
                .with("detail", e)
        };
        let tmp = path.with_extension("shequ.partial");
        std::fs::create_dir_all(dir).map_err(fail)?;
        {
            use std::io::Write;
            let mut f = std::fs::File::create(&tmp).map_err(fail)?;
            f.write_all(&bytes).map_err(fail)?;
            f.sync_all().map_err(fail)?;
        }
        std::fs::rename(&tmp, &path).map_err(fail)?;
        Ok((path, row))
    }

    /// Key status for the exchange screen.
    pub fn key_status(&self) -> Result<KeyStatus> {
        Ok(KeyStatus {
            centre_recipient: self.centre_recipient()?,
            is_centre: self.store().setting(SETTING_CENTRE_IDENTITY)?.is_some(),
            centre_public: self.centre_identity()?.map(|c| c.recipient()),
        })
    }

    /// Opens a bundle and plans its import against this store; nothing is written.
    fn plan(&self, bytes: &[u8], file: &str) -> Result<(OpenedBundle, ImportBatch, bool)> {
        let centre = self.centre_identity()?;
        let opened = open_bundle(bytes, centre.as_ref(), ReadLimits::default())
            .map_err(|e| e.with("file", file))?;
        let m = &opened.manifest;
        let known_key = self.store().device_key(&m.device_id)?;
        if let Some(k) = &known_key {
            if k != &m.device_public_key {
                return Err(bad("device_key_changed")
                    .with("device", &m.device_id)
                    .with("file", file));
            }
        }
        // Instruments: matched by form id and version; the same version with other content is refused.
        let mut instrument_map: HashMap<Uuid, Uuid> = HashMap::new();
        let mut new_instruments = Vec::new();
        for bi in &opened.content.instruments {
            match self
                .store()
                .instrument_version(&bi.definition.form_id, &bi.definition.version)?
            {
                Some(local) if local.content_sha256 == bi.content_sha256 => {
                    instrument_map.insert(bi.id, local.summary.id);
                }
                Some(_) => {
                    return Err(Error::new(ErrorCode::InstrumentConflict)
                        .with("form_id", &bi.definition.form_id)
                        .with("version", &bi.definition.version))
                }
                None => {
                    instrument_map.insert(bi.id, bi.id);
                    new_instruments.push((bi.id, bi.content_sha256.clone(), bi.definition.clone()));
                }
            }
        }
        // Communities: matched by code.
        let local_communities = self.store().communities()?;
        let communities_by_id: HashMap<Uuid, String> = local_communities
            .iter()
            .map(|c| (c.id, c.code.clone()))
            .collect();
        let mut community_map: HashMap<String, Uuid> = local_communities
            .into_iter()
            .map(|c| (c.code, c.id))
            .collect();
        let mut new_communities = Vec::new();
        for bc in &opened.content.communities {
            if !community_map.contains_key(&bc.code) {
                community_map.insert(bc.code.clone(), bc.id);
                new_communities.push(Community {
                    id: bc.id,
                    code: bc.code.clone(),
                    name: bc.name.clone(),
                    street: bc.street.clone(),
                    district: bc.district.clone(),
                    housing_form: bc.housing_form,
                    households: bc.households,
                    target_sample: bc.target_sample,
                    created_at: m.exported_at,
                    updated_at: m.exported_at,
                });
            }
        }
        let installed: std::collections::HashSet<Uuid> = self
            .store()
            .instruments()?
            .into_iter()
            .map(|r| r.summary.id)
            .collect();
        let mut counts = ImportCounts::default();
        let (mut responses, mut conflicts) = (Vec::new(), Vec::new());
        for br in &opened.content.responses {
            let instrument_id = match instrument_map.get(&br.instrument_id) {
                Some(id) => *id,
                None if installed.contains(&br.instrument_id) => br.instrument_id,
                None => {
                    return Err(bad("missing_instrument")
                        .with("instance", br.instance_id)
                        .with("instrument", br.instrument_id)
                        .with("file", file))
                }
            };
            let Some(&community_id) = community_map.get(&br.community_code) else {
                return Err(bad("malformed_json")
                    .with("entry", "responses.jsonl")
                    .with("detail", &br.community_code)
                    .with("file", file));
            };
            match self.store().response(br.instance_id) {
                Ok(existing) => {
                    let code = communities_by_id
                        .get(&existing.community_id)
                        .cloned()
                        .unwrap_or_default();
                    let stored = self.store().stored_answers(br.instance_id)?;
                    let mine =
                        to_bundle_response(&existing, &code, stored.values, stored.repeat_counts);
                    let mut theirs = br.clone();
                    theirs.instrument_id = existing.instrument_id;
                    let incoming_hash = br.content_hash();
                    if mine.content_hash() == theirs.content_hash()
                        || self
                            .store()
                            .conflict_known(br.instance_id, &incoming_hash)?
                    {
                        counts.duplicates += 1;
                    } else {
                        counts.conflicts += 1;
                        conflicts.push((
                            br.instance_id,
                            serde_json::to_string(br).map_err(Error::internal)?,
                            incoming_hash,
                        ));
                    }
                }
                Err(e) if e.code == ErrorCode::NotFound => {
                    if br.deprecated_id.is_some() {
                        counts.versions += 1;
                    } else {
                        counts.new += 1;
                    }
                    responses.push(from_bundle_response(br, instrument_id, community_id));
                }
                Err(e) => return Err(e),
            }
        }
        let audit = opened
            .content
            .audit
            .iter()
            .map(|a| AuditEntry {
                id: a.id,
                at: a.at,
                actor: a.actor.clone(),
                device_id: a.device_id.clone(),
                action: AuditAction::from_code(&a.action).unwrap_or(AuditAction::Import),
                entity: a.entity.clone(),
                entity_id: a.entity_id.clone(),
                field: a.field.clone(),
                old_value: a.old_value.clone(),
                new_value: a.new_value.clone(),
            })
            .collect();
        let batch = ImportBatch {
            file_sha256: opened.file_sha256.clone(),
            device_id: m.device_id.clone(),
            device_public_key: m.device_public_key.clone(),
            exported_at: m.exported_at,
            instruments: new_instruments,
            communities: new_communities,
            responses,
            conflicts,
            audit,
            counts,
        };
        Ok((opened, batch, known_key.is_none()))
    }

    /// Plans (and, unless `dry_run`, applies) the import of one bundle, all or nothing.
    pub fn import_bundle(
        &mut self,
        bytes: &[u8],
        file: &str,
        dry_run: bool,
        now: DateTime<Utc>,
    ) -> Result<ImportReport> {
        let sha = {
            use sha2::Digest;
            format!("{:x}", sha2::Sha256::digest(bytes))
        };
        // The same file again: recognised by its hash, nothing to open or plan.
        if let Some((device_id, counts)) = self.store().bundle_import(&sha)? {
            let total = counts.new + counts.versions + counts.duplicates + counts.conflicts;
            return Ok(ImportReport {
                file: file.to_string(),
                device_id,
                unknown_device: false,
                already_imported: true,
                counts: ImportCounts {
                    duplicates: total,
                    ..Default::default()
                },
                encrypted: shequ_bundle::is_encrypted(bytes),
            });
        }
        let (opened, batch, unknown_device) = self.plan(bytes, file)?;
        let mut report = ImportReport {
            file: file.to_string(),
            device_id: batch.device_id.clone(),
            unknown_device,
            already_imported: false,
            counts: batch.counts,
            encrypted: opened.encrypted,
        };
        if !dry_run {
            let actor = self.actor();
            if self.store_mut().import_batch(&batch, &actor, now)? == ImportOutcome::AlreadyImported
            {
                report.already_imported = true;
            }
        }
        Ok(report)
    }

    pub fn conflicts(&self, unresolved_only: bool) -> Result<Vec<shequ_store::ConflictRow>> {
        self.store().conflicts(unresolved_only)
    }

    /// Resolves a conflict: keep the stored version, or take the incoming one.
    pub fn resolve_conflict(
        &mut self,
        conflict_id: &str,
        take_incoming: bool,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let row = self
            .store()
            .conflicts(true)?
            .into_iter()
            .find(|c| c.id == conflict_id)
            .ok_or_else(|| {
                Error::new(ErrorCode::NotFound)
                    .with("what", "conflict")
                    .with("id", conflict_id)
            })?;
        let replacement = if take_incoming {
            let br: BundleResponse =
                serde_json::from_str(&row.incoming).map_err(Error::internal)?;
            let existing = self.store().response(br.instance_id)?;
            Some(from_bundle_response(
                &br,
                existing.instrument_id,
                existing.community_id,
            ))
        } else {
            None
        };
        let actor = self.actor();
        self.store_mut()
            .resolve_conflict(conflict_id, replacement.as_ref(), &actor, now)
    }
}
