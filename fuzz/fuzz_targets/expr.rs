//! The expression parser (and the choice-filter parser) on any text: an error is fine, a
//! panic, an overflow or a hang is a bug.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(src) = std::str::from_utf8(data) {
        let _ = shequ_forms::expr::parse(src);
        let _ = shequ_forms::expr::parse_choice_filter(src);
    }
});
