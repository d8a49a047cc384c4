//! Encryption at rest. Every page of the database, its WAL and its journal is encrypted by
//! SQLCipher (AES-256, HMAC-SHA512 per page). The 256-bit key is stretched from the user's
//! passphrase with Argon2id; the Argon2 salt is the 16-byte SQLCipher salt at the head of the
//! file, so the file carries everything but the passphrase and no side file can be lost.
//!
//! Changing the passphrase, and encrypting a database made before encryption, copy the whole
//! database into a new file under the new key (`sqlcipher_export`), make it durable, and
//! rename it over the old one: a crash at any moment leaves either the old file under the old
//! passphrase or the new file under the new one.

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use rusqlite::Connection;
use shequ_core::{Error, ErrorCode, Result};
use zeroize::Zeroizing;

/// The SQLCipher salt (and our Argon2 salt) at the head of an encrypted file.
pub const SALT_LEN: usize = 16;
/// The shortest passphrase accepted for a new or changed passphrase, in characters.
pub const MIN_PASSPHRASE_CHARS: usize = 8;
/// What every plain SQLite file starts with.
const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";

/// Argon2id cost: OWASP's recommended configuration (19 MiB, 2 passes, 1 lane), about 50 ms
/// on the field laptops. Fixed for this file format: changing it needs a format marker.
const ARGON2_M_KIB: u32 = 19 * 1024;
const ARGON2_T: u32 = 2;
const ARGON2_P: u32 = 1;

/// A passphrase typed by the user: zeroized when dropped, never printed.
pub struct Passphrase(Zeroizing<String>);

impl Passphrase {
    pub fn new(text: impl Into<String>) -> Passphrase {
        Passphrase(Zeroizing::new(text.into()))
    }

    /// Refuses a passphrase too short to choose (opening with any passphrase is allowed).
    pub fn check_new(&self) -> Result<()> {
        let chars = self.0.chars().count();
        if self.0.trim().is_empty() || chars < MIN_PASSPHRASE_CHARS {
            return Err(Error::new(ErrorCode::PassphraseTooShort)
                .with("min", MIN_PASSPHRASE_CHARS)
                .with("chars", chars));
        }
        Ok(())
    }

    /// A passphrase being chosen: long enough (`check_new`) and typed the same twice
    /// (`PassphraseMismatch`).
    pub fn check_chosen(&self, again: &Passphrase) -> Result<()> {
        self.check_new()?;
        if *self.0 != *again.0 {
            return Err(Error::new(ErrorCode::PassphraseMismatch));
        }
        Ok(())
    }

    /// The text, for handing to another key-stretching format (an age passphrase file).
    pub fn expose(&self) -> &str {
        &self.0
    }

    fn bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Passphrase(***)")
    }
}

/// What lies at a database path before it is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileState {
    /// No database yet: the first passphrase creates it.
    Absent,
    /// A plain SQLite file (made before encryption): encrypted on first unlock.
    Plain,
    /// Anything else: an encrypted database (or a foreign file, which no passphrase opens).
    Encrypted,
}

pub fn file_state(path: &Path) -> Result<FileState> {
    let mut head = [0u8; 16];
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(FileState::Absent),
        Err(e) => return Err(unusable(path, e)),
    };
    let n = read_head(&mut file, &mut head).map_err(|e| unusable(path, e))?;
    Ok(match n {
        0 => FileState::Absent,
        16 if &head == SQLITE_MAGIC => FileState::Plain,
        _ => FileState::Encrypted,
    })
}

fn read_head(file: &mut std::fs::File, head: &mut [u8; 16]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < head.len() {
        match file.read(&mut head[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

pub(crate) fn unusable(path: &Path, e: impl fmt::Display) -> Error {
    Error::new(ErrorCode::DataDirUnusable)
        .with("path", path.display())
        .with("detail", e)
}

/// The key SQLCipher is given: `x'<64 hex key><32 hex salt>'`, a raw key with its salt, so
/// SQLCipher's own PBKDF2 is skipped (Argon2id already stretched the passphrase).
pub(crate) struct RawKey(Zeroizing<String>);

impl RawKey {
    pub(crate) fn derive(pass: &Passphrase, salt: &[u8; SALT_LEN]) -> Result<RawKey> {
        use argon2::{Algorithm, Argon2, Params, Version};
        let params = Params::new(ARGON2_M_KIB, ARGON2_T, ARGON2_P, Some(32))
            .map_err(|e| Error::internal(format!("argon2 params: {e}")))?;
        let mut key = Zeroizing::new([0u8; 32]);
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password_into(pass.bytes(), salt, key.as_mut())
            .map_err(|e| Error::internal(format!("argon2: {e}")))?;
        let mut text = Zeroizing::new(String::with_capacity(3 + 64 + 32));
        text.push_str("x'");
        text.push_str(&Zeroizing::new(hex::encode(key.as_ref())));
        text.push_str(&hex::encode(salt));
        text.push('\'');
        Ok(RawKey(text))
    }

    /// A key for a new file: a fresh random salt.
    pub(crate) fn fresh(pass: &Passphrase) -> Result<RawKey> {
        let mut salt = [0u8; SALT_LEN];
        getrandom::fill(&mut salt).map_err(|e| Error::internal(format!("getrandom: {e}")))?;
        RawKey::derive(pass, &salt)
    }

    /// The key of an existing encrypted file, from the salt at its head.
    pub(crate) fn for_file(pass: &Passphrase, path: &Path) -> Result<RawKey> {
        let mut file = std::fs::File::open(path).map_err(|e| unusable(path, e))?;
        let mut salt = [0u8; SALT_LEN];
        if read_head(&mut file, &mut salt).map_err(|e| unusable(path, e))? < SALT_LEN {
            return Err(Error::new(ErrorCode::DbCorrupt)
                .with("path", path.display())
                .with("detail", "shorter than its salt"));
        }
        RawKey::derive(pass, &salt)
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }

    /// Keys a connection that has not read anything yet.
    pub(crate) fn apply(&self, conn: &Connection, path: &Path) -> Result<()> {
        conn.pragma_update(None, "key", self.as_str())
            .map_err(|e| crate::db_error(path, e))
    }
}

/// `<db>.lock`, an empty file beside the database: every open store holds a shared lock on it,
/// and re-encryption (a passphrase change, the first encryption) holds it exclusively, so it
/// never renames a file another window or command still has open. The lock is taken shared
/// by the caller; a re-encryption in another process makes it wait until that is done.
pub(crate) fn lock_file(path: &Path) -> Result<std::fs::File> {
    let p = sidecar(path, ".lock");
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&p)
        .map_err(|e| unusable(&p, e))
}

/// Takes (or upgrades to) the exclusive lock, or `StoreBusy` when another store is open.
pub(crate) fn exclusive(lock: &std::fs::File, path: &Path) -> Result<()> {
    match lock.try_lock() {
        Ok(()) => Ok(()),
        Err(std::fs::TryLockError::WouldBlock) => {
            Err(Error::new(ErrorCode::StoreBusy).with("path", path.display()))
        }
        Err(std::fs::TryLockError::Error(e)) => Err(unusable(path, e)),
    }
}

/// The temporary file a re-encryption writes before it is renamed over the database.
pub(crate) fn rekey_temp(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".rekey");
    PathBuf::from(name)
}

fn sidecar(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Removes what an interrupted re-encryption left: the half-written copy and its journal.
/// The database itself is whole either way.
pub(crate) fn remove_rekey_leftovers(path: &Path) -> Result<()> {
    let tmp = rekey_temp(path);
    for p in [
        sidecar(&tmp, "-journal"),
        sidecar(&tmp, "-wal"),
        sidecar(&tmp, "-shm"),
        tmp,
    ] {
        shequ_core::fs::remove_if_present(&p).map_err(|e| unusable(&p, e))?;
    }
    Ok(())
}

/// Copies the database open on `conn` (plain or keyed) into a new file under `key`, makes
/// the copy durable, closes `conn`, and renames the copy over `path`. The caller reopens.
///
/// Refused with `StoreBusy` when another connection (a second window, the CLI) holds the
/// database, since its pages would be lost by the rename.
pub(crate) fn reencrypt(conn: Connection, path: &Path, key: &RawKey) -> Result<()> {
    let err = |e: rusqlite::Error| crate::db_error(path, e);
    remove_rekey_leftovers(path)?;
    // Every committed page into the main file, and the WAL emptied: the copy then reads it
    // all, and no WAL of the old file is left to be replayed into the new one.
    let (busy, _, _): (i64, i64, i64) = conn
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .map_err(err)?;
    if busy != 0 {
        return Err(Error::new(ErrorCode::StoreBusy).with("path", path.display()));
    }
    let user_version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(err)?;
    let app_id: i64 = conn
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .map_err(err)?;
    let tmp = rekey_temp(path);
    let tmp_text = tmp
        .to_str()
        .ok_or_else(|| unusable(path, "path is not UTF-8"))?
        .to_string();
    conn.execute(
        "ATTACH DATABASE ?1 AS rekey KEY ?2",
        rusqlite::params![tmp_text, key.as_str()],
    )
    .map_err(err)?;
    let copied = (|| {
        conn.query_row("SELECT sqlcipher_export('rekey')", [], |_| Ok(()))?;
        conn.pragma_update(Some("rekey"), "user_version", user_version)?;
        conn.pragma_update(Some("rekey"), "application_id", app_id)?;
        conn.execute_batch("DETACH DATABASE rekey")
    })();
    if let Err(e) = copied {
        let _ = conn.execute_batch("DETACH DATABASE rekey");
        drop(conn);
        let _ = remove_rekey_leftovers(path);
        return Err(err(e));
    }
    drop(conn);
    // The copy is durable before it replaces the original.
    std::fs::File::open(&tmp)
        .and_then(|f| f.sync_all())
        .map_err(|e| unusable(&tmp, e))?;
    let wal = sidecar(path, "-wal");
    if std::fs::metadata(&wal)
        .map(|m| m.len() > 0)
        .unwrap_or(false)
    {
        // Someone wrote between the checkpoint and now: keep the original, drop the copy.
        remove_rekey_leftovers(path)?;
        return Err(Error::new(ErrorCode::StoreBusy).with("path", path.display()));
    }
    std::fs::rename(&tmp, path).map_err(|e| unusable(path, e))?;
    if let Some(dir) = path.parent() {
        shequ_core::fs::sync_dir(dir).map_err(|e| unusable(dir, e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_or_blank_passphrase_is_refused_for_new_use() {
        for bad in ["", "1234567", "        ", "口令短"] {
            let e = Passphrase::new(bad).check_new().unwrap_err();
            assert_eq!(e.code, ErrorCode::PassphraseTooShort, "{bad:?}");
            assert_eq!(e.params["min"], "8");
        }
        Passphrase::new("社区分析量表口令").check_new().unwrap();
        assert_eq!(
            format!("{:?}", Passphrase::new("secret-words")),
            "Passphrase(***)"
        );
    }

    #[test]
    fn the_key_depends_on_passphrase_and_salt_and_carries_the_salt() {
        let salt = [7u8; SALT_LEN];
        let a = RawKey::derive(&Passphrase::new("correct horse"), &salt).unwrap();
        let b = RawKey::derive(&Passphrase::new("correct horse"), &salt).unwrap();
        let c = RawKey::derive(&Passphrase::new("correct horsf"), &salt).unwrap();
        let d = RawKey::derive(&Passphrase::new("correct horse"), &[8u8; SALT_LEN]).unwrap();
        assert_eq!(a.as_str(), b.as_str());
        assert_ne!(a.as_str(), c.as_str());
        assert_ne!(a.as_str(), d.as_str());
        assert_eq!(a.as_str().len(), 2 + 64 + 32 + 1);
        assert!(a.as_str().ends_with(&format!("{}'", hex::encode(salt))));
    }

    #[test]
    fn file_states() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.db");
        assert_eq!(file_state(&p).unwrap(), FileState::Absent);
        std::fs::write(&p, b"").unwrap();
        assert_eq!(file_state(&p).unwrap(), FileState::Absent);
        drop(
            Connection::open(&p)
                .unwrap()
                .execute_batch("CREATE TABLE t (x)"),
        );
        assert_eq!(file_state(&p).unwrap(), FileState::Plain);
        std::fs::write(&p, [0xA5u8; 4096]).unwrap();
        assert_eq!(file_state(&p).unwrap(), FileState::Encrypted);
    }
}
