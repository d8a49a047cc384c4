//! The XLSForm reader on any bytes, and the form compiler on whatever it accepts.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(imported) = shequ_forms::import_xlsform(data, "fuzz.xlsx") {
        let _ = shequ_forms::CompiledForm::compile(&imported.definition);
    }
});
