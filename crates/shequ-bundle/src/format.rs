//! The bundle's wire types. Serialized types are a compatibility promise: a change that an
//! older reader cannot ignore needs a new `FORMAT_VERSION`. Version 2 adds `shared.jsonl`
//! (cluster and library records); a bundle without shared records is still written as
//! version 1, so a centre that reads only version 1 keeps reading laptops' bundles.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shequ_core::{FormDefinition, HousingForm};
use uuid::Uuid;

pub const FORMAT_NAME: &str = "shequ-bundle";
/// The newest version this build writes and reads.
pub const FORMAT_VERSION: u32 = 2;
/// The version written when a bundle carries no shared records.
pub const FORMAT_VERSION_RESPONSES_ONLY: u32 = 1;

pub const MANIFEST: &str = "manifest.json";
pub const SIGNATURE: &str = "manifest.sig";
pub const COMMUNITIES: &str = "communities.json";
pub const INSTRUMENTS: &str = "instruments.json";
pub const RESPONSES: &str = "responses.jsonl";
pub const AUDIT: &str = "audit.jsonl";
/// The content entries of every version, in the order they are written.
pub const CONTENT_ENTRIES: [&str; 4] = [COMMUNITIES, INSTRUMENTS, RESPONSES, AUDIT];
/// Version 2: one `SharedRecord` per line.
pub const SHARED: &str = "shared.jsonl";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub format_version: u32,
    pub app_version: String,
    pub device_id: String,
    /// Ed25519 public key of the device, hex.
    pub device_public_key: String,
    pub exported_at: DateTime<Utc>,
    /// When the export this one follows was made (an incremental export), or `None`: the
    /// bundle carries everything. Informational: what is new is decided by `since_seq`.
    pub since: Option<DateTime<Utc>>,
    /// This device's bundle number: 1, 2, … in the order the laptop wrote them, so the
    /// centre can tell which it has not received. Absent in bundles written before numbering
    /// (readers of format version 1 without it ignore it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bundle_seq: Option<u32>,
    /// The laptop's change sequence this bundle continues after (an incremental export);
    /// absent: the bundle carries all of the laptop's finalized work, so its earlier bundles
    /// are not needed any more.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since_seq: Option<i64>,
    /// The device's age public key (`age1…`), so that the centre can encrypt what it sends
    /// back to this device. Absent in bundles written before; ignorable by older readers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_recipient: Option<String>,
    pub instruments: Vec<InstrumentRef>,
    pub counts: Counts,
    /// SHA-256 (hex) of every content entry.
    pub entries: BTreeMap<String, String>,
}

/// A bundle's place in its device's sequence (see `Manifest::bundle_seq`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Numbering {
    pub bundle_seq: u32,
    /// `None`: the bundle carries everything.
    pub since_seq: Option<i64>,
}

impl Manifest {
    /// The bundle carries all of its device's finalized work (a full export, or one from
    /// before numbering, which cannot say otherwise).
    pub fn is_full(&self) -> bool {
        self.since_seq.is_none()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstrumentRef {
    pub id: Uuid,
    pub form_id: String,
    pub version: String,
    pub content_sha256: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub communities: u32,
    pub instruments: u32,
    pub responses: u32,
    pub answers: u32,
    pub audit: u32,
    /// Version 2: shared records.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub shared: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BundleCommunity {
    pub id: Uuid,
    pub code: String,
    pub name: String,
    pub street: String,
    pub district: String,
    pub housing_form: HousingForm,
    pub households: Option<u32>,
    pub target_sample: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BundleInstrument {
    pub id: Uuid,
    pub content_sha256: String,
    pub definition: FormDefinition,
}

/// One version of one response, with its answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BundleResponse {
    pub instance_id: Uuid,
    pub root_id: Uuid,
    pub deprecated_id: Option<Uuid>,
    pub instrument_id: Uuid,
    pub community_code: String,
    /// `draft` or `finalized`.
    pub status: String,
    pub interviewer: String,
    pub device_id: String,
    pub respondent: String,
    pub started_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finalized_at: Option<DateTime<Utc>>,
    pub answers: BTreeMap<String, String>,
    pub repeat_counts: BTreeMap<String, u32>,
    /// The survey round (调查轮次) the response belongs to; absent in bundles written before
    /// rounds, which go into the importing centre's current round.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub round: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BundleAudit {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub device_id: String,
    pub action: String,
    pub entity: String,
    pub entity_id: String,
    pub field: Option<String>,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
}

/// A bundle's content, as written or as read back after every check.
#[derive(Debug, Clone, PartialEq)]
pub struct BundleContent {
    pub communities: Vec<BundleCommunity>,
    pub instruments: Vec<BundleInstrument>,
    pub responses: Vec<BundleResponse>,
    pub audit: Vec<BundleAudit>,
    /// Version 2: cluster and library records.
    pub shared: Vec<crate::SharedRecord>,
}

impl Counts {
    /// The counts a manifest declares for this content.
    pub fn of(content: &BundleContent) -> Counts {
        Counts {
            communities: content.communities.len() as u32,
            instruments: content.instruments.len() as u32,
            responses: content.responses.len() as u32,
            answers: content
                .responses
                .iter()
                .map(|r| r.answers.len() as u32)
                .sum(),
            audit: content.audit.len() as u32,
            shared: content.shared.len() as u32,
        }
    }
}

impl BundleResponse {
    /// A fingerprint of what the response says (not when it travelled): equal for the same
    /// version delivered twice, different when one instance id carries other content.
    /// The round is filing, not content: it is left out, so a bundle written before rounds
    /// still matches what the centre stored from it.
    pub fn content_hash(&self) -> String {
        use sha2::{Digest, Sha256};
        let content = BundleResponse {
            round: None,
            ..self.clone()
        };
        let json = serde_json::to_vec(&content).unwrap_or_default();
        format!("{:x}", Sha256::digest(&json))
    }
}
