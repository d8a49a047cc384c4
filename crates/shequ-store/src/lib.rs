//! The local store: one SQLCipher-encrypted SQLite file per data folder.
//!
//! Invariants: nothing of the database reaches the disk unencrypted (see `cipher`); every
//! write is one transaction; WAL with `synchronous=FULL`; foreign keys on;
//! the schema version lives in `PRAGMA user_version` and a build refuses a database whose
//! version is newer than its own migrations, before writing anything to it.

mod analysis;
mod audit;
mod bundles;
pub mod cipher;
mod clusters;
mod communities;
mod instruments;
mod libraries;
mod migrate;
mod responses;
mod shared;

use std::path::{Path, PathBuf};

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{Connection, OpenFlags};
use shequ_core::{Error, ErrorCode, Result};

pub use analysis::{AnalysisRecord, ChecklistEditRow, RoundRow, SETTING_CURRENT_ROUND};
pub use bundles::{
    ConflictRow, ExportRow, ImportBatch, ImportCounts, ImportOutcome, ResponseWithAnswers,
};
pub use cipher::{FileState, Passphrase};
pub use clusters::{
    CaseRow, ClusterRow, FollowUpRow, MeetingRow, MemberRow, ProjectNeedRow, TurnRow,
    FOLLOW_UP_STATUSES, PROJECT_NEED_STATUSES,
};
pub use communities::CommunitySummary;
pub use instruments::{content_hash, InstrumentRecord, InstrumentSummary};
pub use libraries::{LibraryEntry, LibraryKind, MatchRow, MATCH_STATUSES};
pub use migrate::SCHEMA_VERSION;
pub use responses::{NewResponse, ResponseList, ResponseRow, StoredAnswers};
pub use shared::{
    check_shared_body, Body, SharedConflictIn, SharedConflictRow, SharedPut, SharedVersionRow,
};

/// A keyed connection to an encrypted database, nothing migrated: for tests and for
/// inspecting a data folder with SQL. A wrong passphrase is `WrongPassphrase`.
#[doc(hidden)]
pub fn raw_connection(path: &Path, pass: &Passphrase) -> Result<Connection> {
    keyed_connection(path, Some(&cipher::RawKey::for_file(pass, path)?))
}

/// A connection with the page key applied (none: unencrypted) and checked: SQLCipher checks
/// the key on the first read, where a wrong one reads as "not a database".
fn keyed_connection(path: &Path, key: Option<&cipher::RawKey>) -> Result<Connection> {
    let conn = connect(path)?;
    if let Some(key) = key {
        key.apply(&conn, path)?;
    }
    match conn.query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(())) {
        Ok(()) => Ok(conn),
        Err(e) => Err(match e.sqlite_error_code() {
            Some(rusqlite::ffi::ErrorCode::NotADatabase) => {
                Error::new(ErrorCode::WrongPassphrase).with("path", path.display())
            }
            _ => db_error(path, e),
        }),
    }
}

fn connect(path: &Path) -> Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    let conn = Connection::open_with_flags(path, flags).map_err(|e| {
        Error::new(ErrorCode::DataDirUnusable)
            .with("path", path.display())
            .with("detail", e)
    })?;
    // SQLCipher logs a failed page decryption (a wrong passphrase) to stderr; the caller
    // reports it in the user's language instead.
    conn.query_row("PRAGMA cipher_log_level = NONE", [], |_| Ok(()))
        .map_err(|e| db_error(path, e))?;
    Ok(conn)
}

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
    /// The page key, kept (zeroized on drop) to reopen after a failed passphrase change.
    key: Option<cipher::RawKey>,
    /// A shared lock on `<db>.lock` while the store is open (see [`cipher::lock_file`]).
    lock: Option<std::fs::File>,
}

impl Store {
    /// Opens the database at `path` with the passphrase, creating it encrypted when absent
    /// and encrypting it first when it is a plain database from before encryption. A wrong
    /// passphrase is `WrongPassphrase`, and nothing is written.
    pub fn open(path: &Path, pass: &Passphrase) -> Result<Store> {
        let lock = cipher::lock_file(path)?;
        // Shared: waits while another process re-encrypts, then no one can start to.
        lock.lock_shared().map_err(|e| cipher::unusable(path, e))?;
        cipher::remove_rekey_leftovers(path)?;
        let key = match cipher::file_state(path)? {
            cipher::FileState::Absent => {
                pass.check_new()?;
                cipher::RawKey::fresh(pass)?
            }
            cipher::FileState::Plain => {
                pass.check_new()?;
                let conn = connect(path)?;
                // A foreign or newer file is refused before it is copied.
                migrate::check_compatible(&conn, path)?;
                let key = cipher::RawKey::fresh(pass)?;
                cipher::exclusive(&lock, path)?;
                cipher::reencrypt(conn, path, &key)?;
                lock.lock_shared().map_err(|e| cipher::unusable(path, e))?;
                key
            }
            cipher::FileState::Encrypted => cipher::RawKey::for_file(pass, path)?,
        };
        Store::open_keyed(path, Some(key), Some(lock))
    }

    /// An unencrypted database, for the benchmark that measures what encryption costs.
    /// Never for data: the app and the CLI open only through [`Store::open`].
    #[doc(hidden)]
    pub fn open_unencrypted_for_bench(path: &Path) -> Result<Store> {
        Store::open_keyed(path, None, None)
    }

    fn open_keyed(
        path: &Path,
        key: Option<cipher::RawKey>,
        lock: Option<std::fs::File>,
    ) -> Result<Store> {
        let conn = keyed_connection(path, key.as_ref())?;
        let mut store = Store {
            conn,
            path: path.to_path_buf(),
            key,
            lock,
        };
        store.prepare()?;
        Ok(store)
    }

    /// Whether `pass` opens this database, without touching the open connection.
    pub fn passphrase_opens(&self, pass: &Passphrase) -> Result<bool> {
        let key = cipher::RawKey::for_file(pass, &self.path)?;
        match keyed_connection(&self.path, Some(&key)) {
            Ok(_) => Ok(true),
            Err(e) if e.code == ErrorCode::WrongPassphrase => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Re-encrypts the whole database under a new passphrase (see `cipher`): afterwards only
    /// the new passphrase opens it; if the process dies on the way, the old one still does.
    pub fn change_passphrase(&mut self, new: &Passphrase) -> Result<()> {
        new.check_new()?;
        let lock = self
            .lock
            .take()
            .ok_or_else(|| Error::internal("an unencrypted store has no passphrase"))?;
        // No other window or command may hold the database across the rename: it would go
        // on writing into the old file's WAL under the old key.
        if let Err(e) = cipher::exclusive(&lock, &self.path) {
            self.lock = Some(lock);
            return Err(e);
        }
        let key = cipher::RawKey::fresh(new)?;
        let conn = std::mem::replace(
            &mut self.conn,
            Connection::open_in_memory().map_err(Error::internal)?,
        );
        let result = cipher::reencrypt(conn, &self.path, &key);
        lock.lock_shared()
            .map_err(|e| cipher::unusable(&self.path, e))?;
        // Reopen whatever is now at the path: the new file, or the untouched old one.
        let old = self.key.take();
        let (reopen_with, result) = match result {
            Ok(()) => (Some(key), Ok(())),
            Err(e) => (old, Err(e)),
        };
        let reopen_with = reopen_with.ok_or_else(|| Error::internal("store has no key"))?;
        *self = Store::open_keyed(&self.path, Some(reopen_with), Some(lock))?;
        result
    }

    /// A private in-memory database with the full schema, for tests.
    pub fn open_in_memory() -> Result<Store> {
        let conn = Connection::open_in_memory().map_err(Error::internal)?;
        let mut store = Store {
            conn,
            path: PathBuf::from(":memory:"),
            key: None,
            lock: None,
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

    pub fn pass() -> crate::Passphrase {
        crate::Passphrase::new("测试口令-test-pass")
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
