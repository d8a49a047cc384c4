//! The XLSForm reader on any bytes, and the form compiler on whatever it accepts.
#![no_main]

use std::sync::Once;

use libfuzzer_sys::fuzz_target;

static HOOK: Once = Once::new();

fuzz_target!(|data: &[u8]| {
    HOOK.call_once(|| {
        // calamine asserts (and, with debug assertions, overflows) on some malformed files;
        // `import_xlsform` catches those and refuses the file, and tests/fixtures/fuzz keeps
        // the inputs found so far. Any other panic — ours — is still a finding.
        let abort = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if info.location().is_some_and(|l| l.file().contains("/calamine-")) {
                return;
            }
            abort(info);
        }));
    });
    if let Ok(imported) = shequ_forms::import_xlsform(data, "fuzz.xlsx") {
        let _ = shequ_forms::CompiledForm::compile(&imported.definition);
    }
});
