//! The bundle reader on any bytes, as the centre opens a file from a USB stick: with the
//! centre identity of the bundle fixtures, so encrypted inputs reach the zip and JSON parsing.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use shequ_bundle::{open_bundle, CentreIdentity, ReadLimits};

static CENTRE: OnceLock<CentreIdentity> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let centre = CENTRE.get_or_init(|| {
        CentreIdentity::parse(include_str!("../../tests/fixtures/bundles/centre-identity.txt"))
            .expect("the fixtures' centre identity")
    });
    let _ = open_bundle(data, None, ReadLimits::default());
    let _ = open_bundle(data, Some(centre), ReadLimits::default());
});
