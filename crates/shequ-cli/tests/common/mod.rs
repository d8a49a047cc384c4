//! Helpers shared by the process-level tests.
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

/// Runs `shequ --data-dir DIR ARGS…`, asserts success, returns stdout.
pub fn shequ_ok(dir: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_shequ"))
        .env("SHEQU_PASSPHRASE", "test passphrase")
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A small deterministic generator, so a failing run can be replayed.
pub struct Lcg(pub u64);

impl Lcg {
    pub fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n.max(1)
    }
}
