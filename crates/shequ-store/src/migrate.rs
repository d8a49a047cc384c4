//! Embedded, numbered migrations, each applied in its own transaction together with the
//! `user_version` bump, so a crash leaves the database at one version or the next.

use std::path::Path;

use rusqlite::Connection;
use shequ_core::{Error, ErrorCode, Result};

use crate::{db_error, APPLICATION_ID};

/// The migrations, in order. Never edit a released one: add the next.
pub(crate) const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../migrations/0001_init.sql")),
    (2, include_str!("../migrations/0002_fieldwork.sql")),
    (3, include_str!("../migrations/0003_bundles.sql")),
    (4, include_str!("../migrations/0004_handover.sql")),
    (5, include_str!("../migrations/0005_analysis.sql")),
    (6, include_str!("../migrations/0006_libraries.sql")),
    (7, include_str!("../migrations/0007_sharing.sql")),
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS[MIGRATIONS.len() - 1].0;

/// Refuses, without writing, a file that is not a SQLite database, a SQLite database of
/// another application, or a Shequ database newer than this build.
pub(crate) fn check_compatible(conn: &Connection, path: &Path) -> Result<()> {
    let read = |sql: &str| {
        conn.query_row(sql, [], |r| r.get::<_, i64>(0))
            .map_err(|e| db_error(path, e))
    };
    let version = read("PRAGMA user_version")?;
    let app_id = read("PRAGMA application_id")?;
    let tables = read("SELECT count(*) FROM sqlite_master")?;
    let foreign = if app_id == 0 {
        tables > 0
    } else {
        app_id != APPLICATION_ID
    };
    if foreign {
        return Err(Error::new(ErrorCode::DbCorrupt)
            .with("path", path.display())
            .with(
                "detail",
                format!("application_id={app_id:#x}, user_version={version}"),
            ));
    }
    if version > SCHEMA_VERSION {
        return Err(Error::new(ErrorCode::DbNewerSchema)
            .with("path", path.display())
            .with("found", version)
            .with("supported", SCHEMA_VERSION));
    }
    Ok(())
}

pub(crate) fn migrate(conn: &mut Connection, path: &Path) -> Result<()> {
    let current: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(|e| db_error(path, e))?;
    for &(version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
        let fail = |e: rusqlite::Error| {
            Error::new(ErrorCode::DbMigrationFailed)
                .with("path", path.display())
                .with("version", version)
                .with("detail", e)
        };
        let tx = conn.transaction().map_err(fail)?;
        tx.execute_batch(sql).map_err(fail)?;
        tx.pragma_update(None, "user_version", version)
            .map_err(fail)?;
        if version == 1 {
            tx.pragma_update(None, "application_id", APPLICATION_ID)
                .map_err(fail)?;
        }
        tx.commit().map_err(fail)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Store;

    fn bytes(p: &Path) -> Vec<u8> {
        std::fs::read(p).unwrap()
    }

    #[test]
    fn fresh_database_gets_the_latest_schema_wal_and_foreign_keys() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.db"), &crate::test_support::pass()).unwrap();
        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
        let q = |sql: &str| {
            store
                .conn
                .query_row(sql, [], |r| r.get::<_, String>(0))
                .unwrap()
        };
        let n = |sql: &str| {
            store
                .conn
                .query_row(sql, [], |r| r.get::<_, i64>(0))
                .unwrap()
        };
        assert_eq!(q("PRAGMA journal_mode"), "wal");
        assert_eq!(n("PRAGMA synchronous"), 2, "FULL");
        assert_eq!(n("PRAGMA foreign_keys"), 1);
        assert_eq!(n("PRAGMA application_id"), APPLICATION_ID);
    }

    #[test]
    fn reopening_applies_nothing_twice() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.db");
        drop(Store::open(&p, &crate::test_support::pass()).unwrap());
        let store = Store::open(&p, &crate::test_support::pass()).unwrap();
        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    }

    #[test]
    fn newer_schema_is_refused_and_the_file_is_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.db");
        {
            let c = Connection::open(&p).unwrap();
            c.pragma_update(None, "application_id", APPLICATION_ID)
                .unwrap();
            c.execute_batch("CREATE TABLE future (x); PRAGMA user_version = 99;")
                .unwrap();
        }
        let before = bytes(&p);
        let err = Store::open(&p, &crate::test_support::pass())
            .err()
            .expect("refused");
        assert_eq!(err.code, ErrorCode::DbNewerSchema);
        assert_eq!(err.params["found"], "99");
        assert_eq!(err.params["supported"], SCHEMA_VERSION.to_string());
        assert_eq!(bytes(&p), before);
        assert!(!dir.path().join("s.db-wal").exists());
    }

    #[test]
    fn garbage_file_opens_with_no_passphrase_and_is_untouched() {
        // An encrypted database is indistinguishable from random bytes without its key.
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.db");
        let junk: Vec<u8> = (0..8192u32).map(|i| (i * 7 + 3) as u8).collect();
        std::fs::write(&p, &junk).unwrap();
        let err = Store::open(&p, &crate::test_support::pass())
            .err()
            .expect("refused");
        assert_eq!(err.code, ErrorCode::WrongPassphrase, "{err:?}");
        assert_eq!(bytes(&p), junk);
        assert!(!dir.path().join("s.db-wal").exists());
    }

    #[test]
    fn a_foreign_sqlite_database_is_refused_and_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("other.db");
        Connection::open(&p)
            .unwrap()
            .execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
            .unwrap();
        let before = bytes(&p);
        let err = Store::open(&p, &crate::test_support::pass())
            .err()
            .expect("refused");
        assert_eq!(err.code, ErrorCode::DbCorrupt);
        assert_eq!(bytes(&p), before);
    }

    #[test]
    fn a_database_with_a_damaged_page_is_reported_not_panicked() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.db");
        {
            let store = Store::open(&p, &crate::test_support::pass()).unwrap();
            store
                .conn
                .execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
                .unwrap();
        }
        let mut b = bytes(&p);
        // One flipped bit in the third page: its HMAC no longer matches.
        b[2 * 4096 + 100] ^= 1;
        std::fs::write(&p, &b).unwrap();
        let found = Store::open(&p, &crate::test_support::pass()).and_then(|s| {
            if s.integrity_ok()? {
                Ok(())
            } else {
                Err(shequ_core::Error::new(ErrorCode::DbCorrupt))
            }
        });
        assert_eq!(found.unwrap_err().code, ErrorCode::DbCorrupt);
    }
}
