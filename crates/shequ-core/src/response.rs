//! Responses (one interview), their answers and the audit trail.
//!
//! A response has a stable `root_id` and a new `instance_id` per finalized version, with
//! `deprecated_id` naming the version it replaces (ODK's instanceID / deprecatedID).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export, rename_all = "snake_case")]
pub enum ResponseStatus {
    Draft,
    Finalized,
}

impl ResponseStatus {
    pub fn code(self) -> &'static str {
        match self {
            ResponseStatus::Draft => "draft",
            ResponseStatus::Finalized => "finalized",
        }
    }

    pub fn from_code(s: &str) -> Option<Self> {
        match s {
            "draft" => Some(ResponseStatus::Draft),
            "finalized" => Some(ResponseStatus::Finalized),
            _ => None,
        }
    }
}

/// One interview with one respondent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Response {
    #[ts(type = "string")]
    pub instance_id: Uuid,
    #[ts(type = "string")]
    pub root_id: Uuid,
    #[ts(type = "string | null")]
    pub deprecated_id: Option<Uuid>,
    #[ts(type = "string")]
    pub instrument_id: Uuid,
    #[ts(type = "string")]
    pub community_id: Uuid,
    pub status: ResponseStatus,
    pub interviewer: String,
    pub device_id: String,
    /// Respondent code or household address; never a national ID number.
    pub respondent: String,
    #[ts(type = "string")]
    pub started_at: DateTime<Utc>,
    #[ts(type = "string")]
    pub updated_at: DateTime<Utc>,
    #[ts(type = "string | null")]
    pub finalized_at: Option<DateTime<Utc>>,
    /// The instance key of the question the worker was on: where a draft resumes.
    pub position: String,
    /// Set when a draft was discarded; it can be restored for 30 days.
    #[ts(type = "string | null")]
    pub discarded_at: Option<DateTime<Utc>>,
}

/// How long a discarded draft can be restored.
pub const DISCARD_RECOVERY_DAYS: i64 = 30;

/// One answer: the raw value as XLSForm stores it (select_multiple: space-separated names).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Answer {
    pub question: String,
    pub value: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export, rename_all = "snake_case")]
pub enum AuditAction {
    Create,
    Update,
    Delete,
    Import,
    /// An answer removed at finalize because its question was not relevant (ODK Collect
    /// leaves such answers out of the submission).
    Drop,
    /// A data export, with how it treated personal data.
    Export,
}

impl AuditAction {
    pub const ALL: [AuditAction; 6] = [
        AuditAction::Create,
        AuditAction::Update,
        AuditAction::Delete,
        AuditAction::Import,
        AuditAction::Drop,
        AuditAction::Export,
    ];

    pub fn code(self) -> &'static str {
        match self {
            AuditAction::Create => "create",
            AuditAction::Update => "update",
            AuditAction::Delete => "delete",
            AuditAction::Import => "import",
            AuditAction::Drop => "drop",
            AuditAction::Export => "export",
        }
    }

    pub fn from_code(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.code() == s)
    }
}

/// Who changed what, when: every write to communities, instruments and responses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct AuditEntry {
    #[ts(type = "string")]
    pub id: Uuid,
    #[ts(type = "string")]
    pub at: DateTime<Utc>,
    pub actor: String,
    pub device_id: String,
    pub action: AuditAction,
    /// `community`, `instrument`, `response`, `answer`.
    pub entity: String,
    pub entity_id: String,
    pub field: Option<String>,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
}
