//! Shequ's domain model (社区分析): the types every other crate speaks.
//!
//! This crate knows nothing about SQLite, Tauri or the UI, and does no I/O but one: `fs`, the
//! durable file write every exported file goes through. Time is always
//! passed in by the caller (`now: DateTime<Utc>`), never read here.

pub mod community;
pub mod error;
pub mod form;
pub mod fs;
pub mod i18n;
pub mod response;

pub use community::{Community, HousingForm, NewCommunity};
pub use error::{Error, ErrorCode, IpcError, Result};
pub use form::{Choice, FormDefinition, FormItem, LocalizedText, Question, Scoring};
pub use i18n::Lang;
pub use response::{
    Answer, AuditAction, AuditEntry, Response, ResponseStatus, DISCARD_RECOVERY_DAYS,
};

/// A fresh time-ordered identifier (UUID v7), minted on this device.
pub fn new_id() -> uuid::Uuid {
    uuid::Uuid::now_v7()
}
