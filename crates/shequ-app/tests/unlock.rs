//! Unlocking a data folder: the lock state the unlock screen reads, the slow-down after wrong
//! passphrases (kept across restarts), changing the passphrase, and the demo's marker.

use chrono::{Duration, TimeZone, Utc};
use shequ_app::unlock::{lock_state, LockKind, DEMO_PASSPHRASE};
use shequ_app::{App, Passphrase};
use shequ_core::ErrorCode;

fn pass(s: &str) -> Passphrase {
    Passphrase::new(s)
}

#[test]
fn wrong_passphrases_slow_further_tries_even_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let t0 = Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0).unwrap();
    let s = lock_state(dir.path(), t0).unwrap();
    assert_eq!(s.state, LockKind::New);
    assert_eq!(
        (s.wait_seconds, s.demo_passphrase, s.min_chars),
        (0, None, 8)
    );
    drop(App::unlock(dir.path(), &pass("right passphrase"), t0).unwrap());
    assert_eq!(lock_state(dir.path(), t0).unwrap().state, LockKind::Locked);

    for i in 0..3 {
        let e = App::unlock(dir.path(), &pass("wrong passphrase"), t0)
            .err()
            .unwrap();
        assert_eq!(e.code, ErrorCode::WrongPassphrase, "try {i}");
    }
    // The fourth try at once waits, even with the right passphrase.
    let e = App::unlock(
        dir.path(),
        &pass("right passphrase"),
        t0 + Duration::seconds(1),
    )
    .err()
    .unwrap();
    assert_eq!(e.code, ErrorCode::UnlockThrottled);
    assert_eq!(e.params["seconds"], "4");
    assert_eq!(
        lock_state(dir.path(), t0 + Duration::seconds(2))
            .unwrap()
            .wait_seconds,
        3
    );
    // Another wrong one after the wait doubles it.
    let t1 = t0 + Duration::seconds(5);
    let e = App::unlock(dir.path(), &pass("still wrong!"), t1)
        .err()
        .unwrap();
    assert_eq!(e.code, ErrorCode::WrongPassphrase);
    let e = App::unlock(
        dir.path(),
        &pass("right passphrase"),
        t1 + Duration::seconds(9),
    )
    .err()
    .unwrap();
    assert_eq!(e.code, ErrorCode::UnlockThrottled);
    assert_eq!(e.params["seconds"], "1");
    // The right passphrase after the wait opens and clears the count.
    let t2 = t1 + Duration::seconds(10);
    drop(App::unlock(dir.path(), &pass("right passphrase"), t2).unwrap());
    assert_eq!(lock_state(dir.path(), t2).unwrap().wait_seconds, 0);
    let e = App::unlock(dir.path(), &pass("wrong again"), t2)
        .err()
        .unwrap();
    assert_eq!(e.code, ErrorCode::WrongPassphrase);
    assert_eq!(lock_state(dir.path(), t2).unwrap().wait_seconds, 0);
}

#[test]
fn a_clock_set_back_never_lengthens_the_wait() {
    let dir = tempfile::tempdir().unwrap();
    let t0 = Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0).unwrap();
    drop(App::unlock(dir.path(), &pass("right passphrase"), t0).unwrap());
    // One typo, then the clock jumps back a year (a dead CMOS battery).
    let e = App::unlock(dir.path(), &pass("typo"), t0).err().unwrap();
    assert_eq!(e.code, ErrorCode::WrongPassphrase);
    let back = t0 - Duration::days(365);
    assert_eq!(lock_state(dir.path(), back).unwrap().wait_seconds, 0);
    drop(App::unlock(dir.path(), &pass("right passphrase"), back).unwrap());
    // Three wrong tries (the next ones wait, uncounted): 5 s at most, whatever the clock says.
    for _ in 0..5 {
        let _ = App::unlock(dir.path(), &pass("wrong"), t0);
    }
    assert_eq!(lock_state(dir.path(), back).unwrap().wait_seconds, 5);
    assert_eq!(lock_state(dir.path(), t0).unwrap().wait_seconds, 5);
}

#[test]
fn the_passphrase_is_changed_only_with_the_current_one() {
    let dir = tempfile::tempdir().unwrap();
    let now = Utc::now();
    let mut app = App::unlock(dir.path(), &pass("first passphrase"), now).unwrap();
    let device = app.device_id().to_string();
    let e = app
        .change_passphrase(&pass("not the current"), &pass("second passphrase"))
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::WrongPassphrase);
    let e = app
        .change_passphrase(&pass("first passphrase"), &pass("2short"))
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::PassphraseTooShort);
    app.change_passphrase(&pass("first passphrase"), &pass("second passphrase"))
        .unwrap();
    assert_eq!(app.home().unwrap().device_id, device);
    drop(app);
    let e = App::unlock(dir.path(), &pass("first passphrase"), now)
        .err()
        .unwrap();
    assert_eq!(e.code, ErrorCode::WrongPassphrase);
    let app = App::unlock(dir.path(), &pass("second passphrase"), now).unwrap();
    assert_eq!(app.device_id(), device);
}

#[test]
fn the_demo_folder_says_so_until_its_passphrase_is_changed() {
    let dir = tempfile::tempdir().unwrap();
    let now = Utc::now();
    let mut app = App::unlock(dir.path(), &pass(DEMO_PASSPHRASE), now).unwrap();
    assert_eq!(lock_state(dir.path(), now).unwrap().demo_passphrase, None);
    app.load_demo(now).unwrap();
    assert_eq!(
        lock_state(dir.path(), now)
            .unwrap()
            .demo_passphrase
            .as_deref(),
        Some("shequ-demo")
    );
    app.change_passphrase(&pass(DEMO_PASSPHRASE), &pass("our own passphrase"))
        .unwrap();
    assert_eq!(lock_state(dir.path(), now).unwrap().demo_passphrase, None);

    // Demo data loaded under someone's own passphrase is not marked.
    let other = tempfile::tempdir().unwrap();
    let mut app = App::unlock(other.path(), &pass("our own passphrase"), now).unwrap();
    app.load_demo(now).unwrap();
    assert_eq!(lock_state(other.path(), now).unwrap().demo_passphrase, None);
}

#[test]
fn the_idle_lock_time_is_a_setting_in_range() {
    let dir = tempfile::tempdir().unwrap();
    let now = Utc::now();
    let mut app = App::unlock(dir.path(), &pass("right passphrase"), now).unwrap();
    assert_eq!(app.idle_lock_minutes().unwrap(), 10);
    for bad in [0, 241, u32::MAX] {
        let e = app.set_idle_lock_minutes(bad).unwrap_err();
        assert_eq!(e.code, ErrorCode::SettingOutOfRange);
        assert_eq!(e.params["max"], "240");
    }
    assert_eq!(app.idle_lock_minutes().unwrap(), 10);
    app.set_idle_lock_minutes(3).unwrap();
    drop(app);
    let app = App::unlock(dir.path(), &pass("right passphrase"), now).unwrap();
    assert_eq!(app.idle_lock_minutes().unwrap(), 3);
}
