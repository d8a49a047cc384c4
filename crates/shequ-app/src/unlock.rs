//! Opening the data folder with a passphrase: what the unlock screen needs to know before the
//! database is open, the slow-down after wrong passphrases, and the demo's published one.
//!
//! Two small plain files sit beside the encrypted database; neither holds a secret:
//! `unlock-failures` (how many wrong passphrases in a row, and when the last was typed) and
//! `demo-data` (a marker: this folder holds the synthetic demo district, opened with
//! [`DEMO_PASSPHRASE`], which the README and the unlock screen publish).

use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shequ_core::{Error, ErrorCode, Result};
use shequ_store::{FileState, Passphrase};
use ts_rs::TS;

use crate::App;

/// The passphrase of the demo district (synthetic data only), as the README publishes it.
pub const DEMO_PASSPHRASE: &str = "shequ-demo";
/// Wrong passphrases allowed in a row before each further try waits.
pub const FREE_TRIES: u32 = 3;
/// The longest wait between tries, in seconds.
pub const MAX_WAIT_SECONDS: i64 = 300;

/// The window locks itself after this many idle minutes (a setting in the store).
pub const SETTING_IDLE_LOCK: &str = "idle_lock_minutes";
pub const DEFAULT_IDLE_LOCK_MINUTES: u32 = 10;
pub const IDLE_LOCK_RANGE: std::ops::RangeInclusive<u32> = 1..=240;

const FAILURES_FILE: &str = "unlock-failures";
const DEMO_MARKER: &str = "demo-data";

/// What is at the data folder before it is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export, rename_all = "snake_case")]
pub enum LockKind {
    /// No database yet: a passphrase is chosen (typed twice).
    New,
    /// A database from before encryption: encrypted under the passphrase chosen now.
    Plain,
    /// An encrypted database: unlock it.
    Locked,
}

impl LockKind {
    /// A passphrase is being chosen, not checked: it is typed twice and must be long enough.
    pub fn chooses_passphrase(self) -> bool {
        self != LockKind::Locked
    }
}

/// What the unlock screen shows before anything is open.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct LockState {
    pub state: LockKind,
    pub data_dir: String,
    /// Seconds before the next try is allowed (0: now).
    #[ts(type = "number")]
    pub wait_seconds: i64,
    /// The folder holds the demo district: its published passphrase, which the screen shows.
    pub demo_passphrase: Option<String>,
    pub min_chars: usize,
    /// The window's data is already open (unlocked at start with `SHEQU_PASSPHRASE`, or a page
    /// reloaded while unlocked): no passphrase to ask for.
    pub open: bool,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Failures {
    count: u32,
    last: Option<DateTime<Utc>>,
}

/// Seconds to wait after `count` wrong passphrases in a row: none for the first
/// [`FREE_TRIES`], then 5, 10, 20… up to [`MAX_WAIT_SECONDS`].
pub fn wait_after(count: u32) -> i64 {
    if count < FREE_TRIES {
        return 0;
    }
    let doublings = (count - FREE_TRIES).min(16);
    (5i64 << doublings).min(MAX_WAIT_SECONDS)
}

fn read_failures(dir: &Path) -> Failures {
    std::fs::read(dir.join(FAILURES_FILE))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

fn remaining_wait(dir: &Path, now: DateTime<Utc>) -> i64 {
    let f = read_failures(dir);
    let wait = wait_after(f.count);
    match f.last {
        // A clock set back (last try "in the future") never makes the wait longer.
        Some(last) => (wait - (now - last).num_seconds().max(0)).clamp(0, wait),
        None => 0,
    }
}

pub fn lock_state(data_dir: &Path, now: DateTime<Utc>) -> Result<LockState> {
    let state = match shequ_store::cipher::file_state(&data_dir.join(crate::DB_FILE))? {
        FileState::Absent => LockKind::New,
        FileState::Plain => LockKind::Plain,
        FileState::Encrypted => LockKind::Locked,
    };
    Ok(LockState {
        state,
        data_dir: data_dir.display().to_string(),
        wait_seconds: remaining_wait(data_dir, now),
        demo_passphrase: data_dir
            .join(DEMO_MARKER)
            .exists()
            .then(|| DEMO_PASSPHRASE.to_string()),
        min_chars: shequ_store::cipher::MIN_PASSPHRASE_CHARS,
        open: false,
    })
}

impl App {
    /// Opens the data folder with a passphrase, counting wrong ones: after [`FREE_TRIES`] in a
    /// row each further try waits longer (`UnlockThrottled`, with the seconds left), across
    /// restarts of the app.
    pub fn unlock(data_dir: &Path, pass: &Passphrase, now: DateTime<Utc>) -> Result<App> {
        let wait = remaining_wait(data_dir, now);
        if wait > 0 {
            return Err(Error::new(ErrorCode::UnlockThrottled).with("seconds", wait));
        }
        match App::open(data_dir, pass, now) {
            Err(e) if e.code == ErrorCode::WrongPassphrase => {
                let mut f = read_failures(data_dir);
                f.count = f.count.saturating_add(1);
                f.last = Some(now);
                let json = serde_json::to_vec(&f).map_err(Error::internal)?;
                shequ_core::fs::write_atomic(&data_dir.join(FAILURES_FILE), &json)?;
                Err(e)
            }
            Err(e) => Err(e),
            Ok(app) => {
                shequ_core::fs::remove_if_present(&data_dir.join(FAILURES_FILE))
                    .map_err(|e| shequ_core::fs::unwritable(data_dir, &e))?;
                Ok(app)
            }
        }
    }

    /// Changes the passphrase after checking the current one; the whole database is
    /// re-encrypted (a crash on the way leaves the old passphrase working). The folder is no
    /// longer the demo's published-passphrase folder afterwards.
    pub fn change_passphrase(&mut self, current: &Passphrase, new: &Passphrase) -> Result<()> {
        new.check_new()?;
        if !self.store.passphrase_opens(current)? {
            return Err(
                Error::new(ErrorCode::WrongPassphrase).with("path", self.store.path().display())
            );
        }
        // The marker goes first: once the passphrase is changed, a failure to remove it could
        // only be reported as a failed change, which it would not be.
        shequ_core::fs::remove_if_present(&self.data_dir.join(DEMO_MARKER))
            .map_err(|e| shequ_core::fs::unwritable(&self.data_dir, &e))?;
        self.store.change_passphrase(new)
    }

    pub fn idle_lock_minutes(&self) -> Result<u32> {
        Ok(self
            .store
            .setting(SETTING_IDLE_LOCK)?
            .and_then(|v| v.parse().ok())
            .filter(|m| IDLE_LOCK_RANGE.contains(m))
            .unwrap_or(DEFAULT_IDLE_LOCK_MINUTES))
    }

    pub fn set_idle_lock_minutes(&mut self, minutes: u32) -> Result<()> {
        if !IDLE_LOCK_RANGE.contains(&minutes) {
            return Err(Error::new(ErrorCode::SettingOutOfRange)
                .with("setting", SETTING_IDLE_LOCK)
                .with("value", minutes)
                .with("min", IDLE_LOCK_RANGE.start())
                .with("max", IDLE_LOCK_RANGE.end()));
        }
        self.store
            .set_setting(SETTING_IDLE_LOCK, &minutes.to_string())
    }

    /// Marks the folder as the demo's when it is opened with the published passphrase.
    pub(crate) fn mark_demo_folder(&self) -> Result<()> {
        if self
            .store
            .passphrase_opens(&Passphrase::new(DEMO_PASSPHRASE))?
        {
            shequ_core::fs::write_atomic(&self.data_dir.join(DEMO_MARKER), b"demo\n")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_grow_after_the_free_tries_and_are_capped() {
        let w: Vec<i64> = (0..12).map(wait_after).collect();
        assert_eq!(w, [0, 0, 0, 5, 10, 20, 40, 80, 160, 300, 300, 300]);
        assert_eq!(wait_after(u32::MAX), MAX_WAIT_SECONDS);
    }
}
