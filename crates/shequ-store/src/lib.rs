//! The local store: one SQLite file per data folder.
//!
//! Invariants: every write is one transaction; WAL with `synchronous=FULL`; foreign keys on;
//! the schema version lives in `PRAGMA user_version` and a build refuses a database whose
//! version is newer than its own migrations, before writing anything to it.

mod analysis;
mod audit;
mod bundles;
mod communities;
mod instruments;
mod migrate;
mod responses;

use std::path::{Path, PathBuf};

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{Connection, OpenFlags};
use shequ_core::{Error, ErrorCode, Result};

pub use analysis::{AnalysisRecord, ChecklistEditRow, RoundRow, SETTING_CURRENT_ROUND};
pub use bundles::{
    ConflictRow, ExportRow, ImportBatch, ImportCounts, ImportOutcome, ResponseWithAnswers,
};
pub use communities::CommunitySummary;
pub use instruments::{content_hash, InstrumentRecord, InstrumentSummary};
pub use migrate::SCHEMA_VERSION;
pub use responses::{NewResponse, ResponseList, ResponseRow, StoredAnswers};

/// `PRAGMA application_id` of a Shequ database ("SHQU"), so a foreign SQLite file is refused.
pub const APPLICATION_ID: i64 = 0x5348_5155;

/// Who makes a write: recorded in the audit trail.
#[derive(Debug, Clone)]
pub struct Actor {
    pub name: String,
    pub device_id: String,
}

pub struct Store {
    conn: Connection,
    path: PathBuf,
}

impl Store {
    /// Opens (creating if absent) the database at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Store> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI;
        let conn = Connection::open_with_flags(path, flags).map_err(|e| {
            Error::new(ErrorCode::DataDirUnusable)
                .with("path", path.display())
                .with("detail", e)
        })?;
        let mut store = Store {
            conn,
            path: path.to_path_buf(),
        };
        store.prepare()?;
        Ok(store)
    }

    /// A private in-memory database with the full schema, for tests.
    pub fn open_in_memory() -> Result<Store> {
        let conn = Connection::open_in_memory().map_err(Error::internal)?;
        let mut store = Store {
            conn,
            path: PathBuf::from(":memory:"),
        };
        store.prepare()?;
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn prepare(&mut self) -> Result<()> {
        // Read-only checks first: a foreign, corrupt or newer database is refused untouched.
        migrate::check_compatible(&self.conn, &self.path)?;
        self.conn
            .busy_timeout(std::time::Duration::from_secs(5))
            .map_err(|e| self.err(e))?;
        // Every write transaction takes the write lock when it begins: a deferred one that
        // reads first and then writes fails with SQLITE_BUSY (no busy wait) when another
        // process (the CLI beside the window) wrote in between.
        self.conn
            .set_transaction_behavior(rusqlite::TransactionBehavior::Immediate);
        let mode: String = self
            .conn
            .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
            .map_err(|e| self.err(e))?;
        if !mode.eq_ignore_ascii_case("wal") && self.path != Path::new(":memory:") {
            return Err(Error::new(ErrorCode::DbIo).with("detail", format!("journal_mode={mode}")));
        }
        self.conn
            .pragma_update(None, "synchronous", "FULL")
            .map_err(|e| self.err(e))?;
        self.conn
            .pragma_update(None, "foreign_keys", "ON")
            .map_err(|e| self.err(e))?;
        migrate::migrate(&mut self.conn, &self.path)
    }

    /// Maps a SQLite error to a core error, naming this database where it matters.
    fn err(&self, e: rusqlite::Error) -> Error {
        db_error(&self.path, e)
    }

    pub fn schema_version(&self) -> Result<i64> {
        self.conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| self.err(e))
    }

    pub fn setting(&self, key: &str) -> Result<Option<String>> {
        get_setting(&self.conn, key).map_err(|e| self.err(e))
    }

    pub fn set_setting(&mut self, key: &str, value: &str) -> Result<()> {
        put_setting(&self.conn, key, value).map_err(|e| self.err(e))
    }

    /// `PRAGMA integrity_check`: `true` when SQLite reports "ok".
    pub fn integrity_ok(&self) -> Result<bool> {
        let s: String = self
            .conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .map_err(|e| self.err(e))?;
        Ok(s == "ok")
    }
}

pub(crate) fn db_error(path: &Path, e: rusqlite::Error) -> Error {
    use rusqlite::ffi::ErrorCode as C;
    match e.sqlite_error_code() {
        Some(C::NotADatabase) | Some(C::DatabaseCorrupt) => Error::new(ErrorCode::DbCorrupt)
            .with("path", path.display())
            .with("detail", e),
        Some(C::ReadOnly) => Error::new(ErrorCode::DbReadOnly).with("detail", e),
        Some(C::DiskFull) => Error::new(ErrorCode::DbFull).with("detail", e),
        Some(C::CannotOpen) | Some(C::PermissionDenied) => Error::new(ErrorCode::DataDirUnusable)
            .with("path", path.display())
            .with("detail", e),
        _ => Error::new(ErrorCode::DbIo).with("detail", e),
    }
}

/// The one timestamp format of the store: RFC 3339, UTC, milliseconds.
pub(crate) fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub(crate) fn parse_ts(s: &str) -> rusqlite::Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
        })
}

pub(crate) fn parse_uuid(s: &str) -> rusqlite::Result<uuid::Uuid> {
    uuid::Uuid::parse_str(s).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

/// Reads a setting, alone or inside a caller's transaction.
pub(crate) fn get_setting(conn: &Connection, key: &str) -> rusqlite::Result<Option<String>> {
    use rusqlite::OptionalExtension;
    conn.query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
        r.get(0)
    })
    .optional()
}

/// Writes a setting, alone or inside a caller's transaction.
pub(crate) fn put_setting(conn: &Connection, key: &str, value: &str) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO settings (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [key, value],
    )
    .map(|_| ())
}

#[cfg(test)]
pub(crate) mod test_support {
    use chrono::{DateTime, TimeZone, Utc};

    pub fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 1, 8, 0, 0).unwrap()
    }

    /// A database file as schema version `version` left it (migrations 1..=version, no
    /// later ones), for migration tests to fill with that version's rows.
    pub fn database_at(path: &std::path::Path, version: i64) -> rusqlite::Connection {
        let c = rusqlite::Connection::open(path).unwrap();
        for (_, sql) in crate::migrate::MIGRATIONS
            .iter()
            .filter(|(v, _)| *v <= version)
        {
            c.execute_batch(sql).unwrap();
        }
        c.pragma_update(None, "application_id", crate::APPLICATION_ID)
            .unwrap();
        c.pragma_update(None, "user_version", version).unwrap();
        c
    }

    pub fn actor() -> super::Actor {
        super::Actor {
            name: "张社工".into(),
            device_id: "dev-1".into(),
        }
    }
}
