//! Assessment bundles between laptops and the centre: export (everything or what changed
//! since the last export, signed, encrypted to the centre when its key is known), and import
//! (plan first — new, duplicate, new version, conflict — then apply, all or nothing per bundle).
//! The bundle format is `shequ-bundle`'s; this module translates between it and the store.
//!
//! Hand-over rules: an export is recorded only after its file is durably written
//! (`shequ_core::fs`), so a failed write leaves the next `--since-last` complete; "since the
//! last export" follows the store's change sequence, never the clock; every bundle carries its
//! number on the device, and the centre reports the numbers it has not received.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::Serialize;
use shequ_bundle::{
    open_bundle, BundleAudit, BundleCommunity, BundleContent, BundleInstrument, BundleResponse,
    CentreIdentity, DeviceKey, Numbering, OpenedBundle, ReadLimits,
};
use shequ_core::{
    i18n, AuditAction, AuditEntry, Community, Error, ErrorCode, Lang, Response, ResponseStatus,
    Result,
};
use shequ_store::{ExportRow, ImportBatch, ImportCounts, ImportOutcome, ResponseWithAnswers};
use ts_rs::TS;
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::Passphrase;

use shequ_forms::state::EvalEnv;
use shequ_forms::{CompiledForm, Record};

use crate::progress::Stage;
use crate::App;

const SETTING_DEVICE_KEY: &str = "device_signing_key";
const SETTING_CENTRE_IDENTITY: &str = "centre_identity";
/// Fingerprints of devices the analyst accepted before their first bundle (JSON list).
const SETTING_ACCEPTED_DEVICES: &str = "accepted_devices";
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
    /// This device's key fingerprint, which the centre compares before accepting it.
    pub device_fingerprint: String,
    /// At the centre: how many devices' keys it has (from their bundles), to write back to.
    pub laptop_keys: u32,
}

/// What importing one bundle did (or would do).
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct ImportReport {
    pub file: String,
    pub device_id: String,
    /// The device was never seen before at this centre.
    pub unknown_device: bool,
    /// A device never seen before: its key fingerprint, to compare with the one the laptop
    /// shows before accepting it.
    pub fingerprint: Option<String>,
    /// The device is new and not accepted yet: the import is refused until it is.
    pub needs_acceptance: bool,
    pub already_imported: bool,
    pub counts: ImportCounts,
    pub encrypted: bool,
    /// The bundle's number on its device (`None`: from before numbering).
    pub bundle_seq: Option<u32>,
}

/// What the centre has received from one device: which numbered bundles, which are missing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct DeviceBundles {
    /// 1, 2, … in the order this centre first saw the devices ("laptop 3").
    pub number: u32,
    pub device_id: String,
    /// The bundle numbers received, ascending.
    pub received: Vec<u32>,
    /// Numbers below the highest received that never arrived, ascending. A bundle that
    /// carried everything (a full export) makes the device's earlier numbers unnecessary, so
    /// they are not reported.
    pub missing: Vec<u32>,
    /// The highest number received (0: none numbered).
    pub total: u32,
    /// Bundles from before numbering, which cannot be checked.
    pub unnumbered: u32,
}

impl DeviceBundles {
    /// From the bundles received: (number on the device, carried everything).
    fn of(number: u32, device_id: String, bundles: &[(Option<u32>, bool)]) -> Self {
        let mut received: Vec<u32> = bundles.iter().filter_map(|b| b.0).collect();
        received.sort_unstable();
        received.dedup();
        let total = received.last().copied().unwrap_or(0);
        let last_full = bundles
            .iter()
            .filter(|b| b.1)
            .filter_map(|b| b.0)
            .max()
            .unwrap_or(0);
        let missing = (last_full + 1..total)
            .filter(|n| received.binary_search(n).is_err())
            .collect();
        DeviceBundles {
            number,
            device_id,
            received,
            missing,
            total,
            unnumbered: bundles.iter().filter(|b| b.0.is_none()).count() as u32,
        }
    }

    /// One line for a person: "笔记本 3（0192ab34）：缺第 7 包（共 9 包）".
    pub fn message(&self, lang: Lang) -> String {
        let sep = if lang == Lang::ZhCn { "、" } else { ", " };
        let missing = self
            .missing
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(sep);
        let params: BTreeMap<String, String> = [
            ("n", self.number.to_string()),
            ("device", short_device(&self.device_id).to_string()),
            ("total", self.total.to_string()),
            ("missing", missing),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let key = match (self.total, self.missing.len()) {
            (0, _) => "exchange.status_unnumbered",
            (_, 0) => "exchange.status_complete",
            (_, 1) => "exchange.status_missing",
            _ => "exchange.status_missing_many",
        };
        i18n::message(lang, key, &params)
    }
}

/// The first 8 characters of a device id, as in bundle file names.
fn short_device(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

/// A bundle built and not yet written. Nothing is recorded until its file is durably
/// written (`App::export_bundle` does both, in that order).
pub struct PreparedBundle {
    pub bytes: Vec<u8>,
    pub row: ExportRow,
    covered_seq: i64,
    /// The shared records it carries, recorded as sent once the file is written.
    shared_sent: Vec<shequ_store::SharedPut>,
}

fn bad(problem: &str) -> Error {
    Error::new(ErrorCode::BundleInvalid).with("bundle_problem", problem)
}

/// Checks what a properly signed bundle says, as a whole, before anything is planned: no
/// laptop of ours could have produced a bundle that fails one of these. Each refusal is a
/// `BundleInvalid` naming the entry, the record and the reason (`bundle_problem`).
fn validate_bundle(
    store: &shequ_store::Store,
    opened: &OpenedBundle,
    tick: impl Fn(usize, usize),
) -> Result<()> {
    let m = &opened.manifest;
    let c = &opened.content;
    for bi in &c.instruments {
        let actual = shequ_store::content_hash(&bi.definition)?;
        if actual != bi.content_sha256 {
            return Err(bad("instrument_hash_mismatch")
                .with("entry", "instruments.json")
                .with("form_id", &bi.definition.form_id)
                .with("version", &bi.definition.version));
        }
    }
    for bc in &c.communities {
        let row = shequ_core::NewCommunity {
            code: bc.code.clone(),
            name: bc.name.clone(),
            street: bc.street.clone(),
            district: bc.district.clone(),
            housing_form: bc.housing_form,
            households: bc.households,
            target_sample: bc.target_sample,
        };
        if let Err(e) = row.validate() {
            return Err(bad("community_invalid")
                .with("entry", "communities.json")
                .with("code", &bc.code)
                .with("field", e.params.get("field").cloned().unwrap_or_default())
                .with("value", e.params.get("value").cloned().unwrap_or_default()));
        }
    }
    let by_id: HashMap<Uuid, &BundleResponse> =
        c.responses.iter().map(|r| (r.instance_id, r)).collect();
    let total = c.responses.len();
    for (n, r) in c.responses.iter().enumerate() {
        if n % 16 == 0 {
            tick(n, total);
        }
        let refuse = |problem: &str| {
            bad(problem)
                .with("entry", "responses.jsonl")
                .with("instance", r.instance_id)
        };
        if r.status != "finalized" {
            return Err(refuse("response_not_finalized").with("status", &r.status));
        }
        if r.finalized_at.is_none() {
            return Err(refuse("finalized_time_missing"));
        }
        if r.device_id != m.device_id {
            return Err(refuse("device_mismatch").with("device", &r.device_id));
        }
        if let Some((key, &n)) = r
            .repeat_counts
            .iter()
            .find(|(_, &n)| n > shequ_forms::state::MAX_REPEAT_INSTANCES)
        {
            return Err(refuse("repeat_count_absurd")
                .with("key", key)
                .with("count", n)
                .with("max", shequ_forms::state::MAX_REPEAT_INSTANCES));
        }
        // The version chain: a first version is its own root; a later one names the version
        // it replaces, shares its root, and the chain ends (no loop) at a first version.
        match r.deprecated_id {
            None if r.root_id != r.instance_id => return Err(refuse("version_chain_invalid")),
            Some(d) if d == r.instance_id => return Err(refuse("version_chain_invalid")),
            _ => {}
        }
        let mut seen = std::collections::HashSet::from([r.instance_id]);
        let mut at = r.deprecated_id;
        while let Some(prev) = at {
            if !seen.insert(prev) {
                return Err(refuse("version_chain_invalid"));
            }
            let (root, next) = match by_id.get(&prev) {
                Some(p) => (p.root_id, p.deprecated_id),
                None => match store.response(prev) {
                    Ok(p) => (p.root_id, p.deprecated_id),
                    // An earlier version not here yet (bundles may arrive out of order).
                    Err(e) if e.code == ErrorCode::NotFound => break,
                    Err(e) => return Err(e),
                },
            };
            if root != r.root_id {
                return Err(refuse("version_chain_invalid"));
            }
            at = next;
        }
    }
    tick(total, total);
    for a in &c.audit {
        if a.device_id != m.device_id {
            return Err(bad("device_mismatch")
                .with("entry", "audit.jsonl")
                .with("instance", &a.entity_id)
                .with("device", &a.device_id));
        }
        if shequ_core::AuditAction::from_code(&a.action).is_none() {
            return Err(bad("audit_action_unknown")
                .with("entry", "audit.jsonl")
                .with("action", &a.action));
        }
    }
    Ok(())
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
        round: None,
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
    /// This device's signing key as stored (made when the data folder is first opened).
    fn stored_device_key(&self) -> Result<Option<DeviceKey>> {
        self.store()
            .setting(SETTING_DEVICE_KEY)?
            .map(Zeroizing::new)
            .map(|hex| DeviceKey::from_hex(&hex))
            .transpose()
    }

    /// This device's signing key, made on first use.
    pub fn device_key(&mut self) -> Result<DeviceKey> {
        match self.stored_device_key()? {
            Some(key) => Ok(key),
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
        if let Some(s) = self
            .store()
            .setting(SETTING_CENTRE_IDENTITY)?
            .map(Zeroizing::new)
        {
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

    /// The centre's secret key in a passphrase-protected age file, to keep off this computer.
    pub fn backup_centre_identity(&self, pass: &Passphrase) -> Result<Vec<u8>> {
        pass.check_new()?;
        let id = self.centre_identity()?.ok_or_else(|| {
            Error::new(ErrorCode::InvalidValue)
                .with("field", "centre_key")
                .with("value", "—")
                .with("why", "no_centre_key")
        })?;
        id.backup(pass.expose())
    }

    /// Installs the centre's secret key from a backup file. A different key already here is
    /// never replaced: the bundles encrypted to it would become unreadable.
    pub fn restore_centre_identity(&mut self, bytes: &[u8], pass: &Passphrase) -> Result<String> {
        let id = CentreIdentity::restore(bytes, pass.expose())?;
        if let Some(existing) = self.centre_identity()? {
            if existing.recipient() != id.recipient() {
                return Err(Error::new(ErrorCode::InvalidValue)
                    .with("field", "centre_key")
                    .with("value", existing.recipient())
                    .with("why", "centre_key_differs"));
            }
            return Ok(id.recipient());
        }
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
        self.identity_setting(SETTING_CENTRE_IDENTITY)
    }

    /// An age identity kept in a setting (the centre's, or a device's own).
    pub(crate) fn identity_setting(&self, key: &str) -> Result<Option<CentreIdentity>> {
        self.store()
            .setting(key)?
            .map(Zeroizing::new)
            .map(|s| CentreIdentity::parse(&s))
            .transpose()
    }

    /// This computer holds the centre's identity.
    pub(crate) fn is_centre(&self) -> Result<bool> {
        Ok(self.store().setting(SETTING_CENTRE_IDENTITY)?.is_some())
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
            let mut br = to_bundle_response(&r, &code, stored.values, stored.repeat_counts);
            br.round = self.store().response_round(*id)?;
            responses.push(br);
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
            shared: vec![],
        })
    }

    /// Builds a bundle of finalized work: all of it, or (`since_last`) every version whose
    /// change sequence is above what the last written bundle covered. Writes nothing.
    /// Without the centre's key the bundle is refused unless `allow_unencrypted`.
    pub fn prepare_bundle(
        &mut self,
        since_last: bool,
        allow_unencrypted: bool,
        now: DateTime<Utc>,
    ) -> Result<PreparedBundle> {
        // A field laptop writes to the centre; the centre writes cluster and library records
        // back to every device that has sent it a bundle (their keys came with them).
        let centre = self.centre_identity()?;
        let recipients: Vec<String> = match &centre {
            Some(_) => self.store().device_recipients()?,
            None => self.centre_recipient()?.into_iter().collect(),
        };
        if recipients.is_empty() && !allow_unencrypted {
            return Err(Error::new(match centre {
                Some(_) => ErrorCode::NoDeviceKeys,
                None => ErrorCode::UnencryptedExport,
            }));
        }
        let device_recipient = match &centre {
            Some(c) => c.recipient(),
            None => self.device_identity()?.recipient(),
        };
        let (covered, bundle_seq) = self.store().export_position()?;
        let after = if since_last { covered } else { 0 };
        // Interviews go from laptops to the centre only.
        let found = match centre {
            Some(_) => vec![],
            None => self.store().exportable_responses(after)?,
        };
        let covered_seq = found.iter().map(|(_, s)| *s).max().unwrap_or(0).max(after);
        let ids: Vec<Uuid> = found.into_iter().map(|(id, _)| id).collect();
        self.progress(Stage::CollectBundle, 0, ids.len());
        // Informational: when the export this one continues was made.
        let since = match after {
            0 => None,
            _ => self
                .store()
                .last_export()?
                .and_then(|e| DateTime::parse_from_rfc3339(&e.at).ok())
                .map(|t| t.with_timezone(&Utc)),
        };
        let mut content = self.bundle_content(&ids)?;
        let shared_sent;
        (content.shared, shared_sent) = self.shared_now()?.to_send(since_last);
        self.progress(Stage::WriteBundle, ids.len(), ids.len());
        let key = self.device_key()?;
        let bytes = shequ_bundle::seal(
            &content,
            &shequ_bundle::Envelope {
                key: &key,
                device_id: self.device_id(),
                app_version: env!("CARGO_PKG_VERSION"),
                exported_at: now,
                since,
                numbering: Some(Numbering {
                    bundle_seq,
                    since_seq: (after > 0).then_some(after),
                }),
                device_recipient: Some(&device_recipient),
                recipients: &recipients,
            },
        )?;
        let row = ExportRow {
            bundle_seq: Some(bundle_seq),
            at: now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            since: since.map(|s| s.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
            file: String::new(),
            responses: ids.len() as u32,
            encrypted: !recipients.is_empty(),
        };
        Ok(PreparedBundle {
            bytes,
            row,
            covered_seq,
            shared_sent,
        })
    }

    /// Exports finalized work to `file`: the bundle is written to a temporary file beside
    /// it, synced and renamed (`shequ_core::fs`), and only then recorded. A file that cannot
    /// be written is a `FileUnwritable` error naming it, and nothing is recorded, so the next
    /// `since_last` export still holds everything.
    pub fn export_bundle(
        &mut self,
        file: impl AsRef<Path>,
        since_last: bool,
        allow_unencrypted: bool,
        now: DateTime<Utc>,
    ) -> Result<(Vec<u8>, ExportRow)> {
        let prepared = self.prepare_bundle(since_last, allow_unencrypted, now)?;
        self.write_prepared(prepared, file.as_ref())
    }

    fn write_prepared(
        &mut self,
        prepared: PreparedBundle,
        path: &Path,
    ) -> Result<(Vec<u8>, ExportRow)> {
        let PreparedBundle {
            bytes,
            mut row,
            covered_seq,
            shared_sent,
        } = prepared;
        shequ_core::fs::write_atomic(path, &bytes)?;
        row.file = path.display().to_string();
        let sha = {
            use sha2::Digest;
            format!("{:x}", sha2::Sha256::digest(&bytes))
        };
        self.store_mut().record_export(&row, &sha, covered_seq)?;
        self.store_mut().put_shared_versions(&shared_sent)?;
        Ok((bytes, row))
    }

    pub fn last_export(&self) -> Result<Option<ExportRow>> {
        self.store().last_export()
    }

    /// Exports to a file in `dir` named after the device, the bundle number and the time
    /// (`shequ-0192ab34-b7-20260301-093000.shequ`); see `export_bundle`. The folder must
    /// exist: a pulled USB stick is an error, not a new folder on the laptop's disk.
    pub fn export_bundle_to(
        &mut self,
        dir: &Path,
        since_last: bool,
        allow_unencrypted: bool,
        now: DateTime<Utc>,
    ) -> Result<(PathBuf, ExportRow)> {
        let prepared = self.prepare_bundle(since_last, allow_unencrypted, now)?;
        let name = format!(
            "shequ-{}-b{}-{}.shequ",
            short_device(self.device_id()),
            prepared.row.bundle_seq.unwrap_or(0),
            now.format("%Y%m%d-%H%M%S")
        );
        let path = dir.join(name);
        let (_, row) = self.write_prepared(prepared, &path)?;
        Ok((path, row))
    }

    /// The folder the exchange screen offers for bundles: `exports` in the data folder,
    /// made on first use (a folder the worker picks must exist already).
    pub fn default_export_dir(&self) -> Result<PathBuf> {
        let dir = self.data_dir().join("exports");
        std::fs::create_dir_all(&dir).map_err(|e| shequ_core::fs::unwritable(&dir, &e))?;
        Ok(dir)
    }

    /// At the centre: for every device seen, the bundles received and the numbers missing.
    pub fn bundle_status(&self) -> Result<Vec<DeviceBundles>> {
        Ok(self
            .store()
            .received_bundles()?
            .into_iter()
            .enumerate()
            .map(|(i, (device, bundles))| DeviceBundles::of(i as u32 + 1, device, &bundles))
            .collect())
    }

    /// This device's key fingerprint (`3F2A-91C0-…`), shown on the laptop so that the
    /// centre can compare it before accepting the device's first bundle.
    pub fn device_fingerprint(&self) -> Result<String> {
        let key = self
            .stored_device_key()?
            .ok_or_else(|| Error::internal("no device key"))?;
        Ok(shequ_bundle::fingerprint(&key.public_hex()))
    }

    fn accepted_devices(&self) -> Result<Vec<String>> {
        Ok(self
            .store()
            .setting(SETTING_ACCEPTED_DEVICES)?
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or_default())
    }

    /// At the centre: accepts the device with this key fingerprint, after the analyst has
    /// compared it with the one the laptop shows. Its bundles are imported from then on; a
    /// device whose key later changes stays refused.
    pub fn accept_device(&mut self, fingerprint: &str) -> Result<String> {
        let fp = shequ_bundle::normalise_fingerprint(fingerprint).ok_or_else(|| {
            Error::new(ErrorCode::InvalidValue)
                .with("field", "fingerprint")
                .with("value", fingerprint)
                .with("why", "fingerprint")
        })?;
        let mut all = self.accepted_devices()?;
        if !all.contains(&fp) {
            all.push(fp.clone());
            let json = serde_json::to_string(&all).map_err(Error::internal)?;
            self.store_mut()
                .set_setting(SETTING_ACCEPTED_DEVICES, &json)?;
        }
        Ok(fp)
    }

    /// Key status for the exchange screen.
    pub fn key_status(&self) -> Result<KeyStatus> {
        Ok(KeyStatus {
            device_fingerprint: self.device_fingerprint()?,
            centre_recipient: self.centre_recipient()?,
            is_centre: self.is_centre()?,
            centre_public: self.centre_identity()?.map(|c| c.recipient()),
            laptop_keys: self.store().device_recipients()?.len() as u32,
        })
    }

    /// Opens a bundle and plans its import against this store; nothing is written.
    fn plan(&self, bytes: &[u8], file: &str) -> Result<(OpenedBundle, ImportBatch, bool)> {
        // The centre opens what laptops send; a laptop opens what the centre sends back.
        let centre = match self.centre_identity()? {
            Some(c) => Some(c),
            None => self.stored_device_identity()?,
        };
        self.progress(Stage::OpenBundle, 0, 1);
        let opened = open_bundle(bytes, centre.as_ref(), ReadLimits::default())
            .map_err(|e| e.with("file", file))?;
        validate_bundle(self.store(), &opened, |n, total| {
            self.progress(Stage::CheckBundle, n, total)
        })
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
        // Every response is checked against its form with the interview's own rules
        // (`CompiledForm::check_record`) before anything is planned.
        let mut forms: HashMap<Uuid, CompiledForm> = HashMap::new();
        for bi in &opened.content.instruments {
            let form = CompiledForm::compile(&bi.definition).map_err(|cycle| {
                bad("malformed_json")
                    .with("entry", "instruments.json")
                    .with("detail", cycle.join(" → "))
                    .with("file", file)
            })?;
            forms.insert(bi.id, form);
        }
        let mut counts = ImportCounts::default();
        let (mut responses, mut conflicts) = (Vec::new(), Vec::new());
        let mut rounds = BTreeMap::new();
        for br in &opened.content.responses {
            if !forms.contains_key(&br.instrument_id) && installed.contains(&br.instrument_id) {
                if let Some(rec) = self.store().instrument(br.instrument_id)? {
                    if let Ok(form) = CompiledForm::compile(&rec.definition) {
                        forms.insert(br.instrument_id, form);
                    }
                }
            }
            if let Some(form) = forms.get(&br.instrument_id) {
                let record = Record {
                    values: br.answers.clone(),
                    repeat_counts: br.repeat_counts.clone(),
                };
                let env = EvalEnv {
                    lang: Lang::ZhCn,
                    now: br
                        .finalized_at
                        .unwrap_or(br.updated_at)
                        .with_timezone(&self.utc_offset),
                };
                if let Err((key, refusal)) = form.check_record(&record, &env) {
                    let value = br.answers.get(&key).cloned().unwrap_or_default();
                    return Err(bad("answer_refused")
                        .with("instance", br.instance_id)
                        .with("key", &key)
                        .with("value", value)
                        .with("refusal", refusal.code())
                        .with("file", file));
                }
            }
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
                    if let Some(round) = br.round.as_ref().filter(|r| !r.trim().is_empty()) {
                        rounds.insert(br.instance_id, round.trim().to_string());
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
        if let Some(r) = &m.device_recipient {
            shequ_bundle::keys_parse_recipient(r).map_err(|_| {
                bad("malformed_json")
                    .with("entry", shequ_bundle::MANIFEST)
                    .with("detail", "device_recipient")
                    .with("file", file)
            })?;
        }
        let shared = self
            .plan_shared(&opened.content.shared, &mut counts)
            .map_err(|e| e.with("file", file))?;
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
            bundle_seq: m.bundle_seq,
            bundle_full: m.is_full(),
            rounds,
            device_recipient: m.device_recipient.clone(),
            shared_puts: shared.puts,
            shared_conflicts: shared.conflicts,
        };
        Ok((opened, batch, known_key.is_none()))
    }

    /// A new device's fingerprint, and whether the analyst accepted it (`None`: known device).
    fn enrolment(&self, opened: &OpenedBundle, unknown: bool) -> Result<Option<(String, bool)>> {
        if !unknown {
            return Ok(None);
        }
        let fp = shequ_bundle::fingerprint(&opened.manifest.device_public_key);
        let accepted = self.accepted_devices()?.contains(&fp);
        Ok(Some((fp, accepted)))
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
                fingerprint: None,
                needs_acceptance: false,
                already_imported: true,
                counts: ImportCounts {
                    duplicates: total,
                    ..Default::default()
                },
                encrypted: shequ_bundle::is_encrypted(bytes),
                bundle_seq: None,
            });
        }
        let (opened, batch, unknown_device) = self.plan(bytes, file)?;
        let enrolment = self.enrolment(&opened, unknown_device)?;
        let needs_acceptance = matches!(enrolment, Some((_, false)));
        if needs_acceptance && !dry_run {
            let fp = enrolment.map(|e| e.0).unwrap_or_default();
            return Err(Error::new(ErrorCode::DeviceNotEnrolled)
                .with("file", file)
                .with("device", &batch.device_id)
                .with("fingerprint", fp));
        }
        let mut report = ImportReport {
            file: file.to_string(),
            device_id: batch.device_id.clone(),
            unknown_device,
            fingerprint: enrolment.map(|e| e.0),
            needs_acceptance,
            already_imported: false,
            counts: batch.counts,
            encrypted: opened.encrypted,
            bundle_seq: batch.bundle_seq,
        };
        if !dry_run {
            let actor = self.actor();
            self.progress(Stage::SaveBundle, 0, 1);
            match self.store_mut().import_batch(&batch, &actor, now)? {
                ImportOutcome::AlreadyImported => report.already_imported = true,
                ImportOutcome::Applied(counts) => report.counts = counts,
            }
            self.progress(Stage::SaveBundle, 1, 1);
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

    /// Conflicts where the incoming version was taken and the replaced one can be restored.
    pub fn replaced_versions(&self) -> Result<Vec<shequ_store::ConflictRow>> {
        Ok(self
            .store()
            .conflicts(false)?
            .into_iter()
            .filter(|c| c.restorable)
            .collect())
    }

    /// Puts back the version that taking the incoming one replaced (audited); returns the
    /// interview's instance id.
    pub fn restore_replaced(&mut self, conflict_id: &str, now: DateTime<Utc>) -> Result<String> {
        let actor = self.actor();
        self.store_mut().restore_replaced(conflict_id, &actor, now)
    }
}
