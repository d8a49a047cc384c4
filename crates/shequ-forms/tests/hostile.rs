//! Workbooks made to exhaust the reader: refused cleanly, never a crash.

use shequ_core::ErrorCode;

fn workbook(far_row: u32, far_col: u16) -> Vec<u8> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let s = wb.add_worksheet();
    s.set_name("survey").unwrap();
    s.write_string(0, 0, "type").unwrap();
    s.write_string(0, 1, "name").unwrap();
    s.write_string(0, 2, "label").unwrap();
    s.write_string(1, 0, "text").unwrap();
    s.write_string(1, 1, "q").unwrap();
    s.write_string(1, 2, "Q").unwrap();
    // One cell far away: the sheet's used range becomes enormous.
    s.write_string(far_row, far_col, "x").unwrap();
    wb.save_to_buffer().unwrap()
}

#[test]
fn a_workbook_whose_used_range_is_enormous_is_refused_cleanly() {
    let bytes = workbook(1_048_575, 16_383);
    let e = shequ_forms::read_xlsform(&bytes, "huge-range.xlsx").unwrap_err();
    assert_eq!(e.code, ErrorCode::FormFileInvalid, "{e:?}");
    assert_eq!(e.params["problem"], "sheet_too_large");
    assert!(e
        .message(shequ_core::Lang::ZhCn)
        .contains("huge-range.xlsx"));
    // A far but reasonable cell is fine.
    assert!(shequ_forms::read_xlsform(&workbook(2_000, 40), "wide.xlsx").is_ok());
}

/// Inputs the fuzzer (`scripts/fuzz.sh`) found crashing the reader, kept as regressions: each
/// is refused with a reason, in both languages.
#[test]
fn workbooks_the_fuzzer_found_are_refused_not_crashed() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/fuzz");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let path = e.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.starts_with("xlsform-") {
            continue;
        }
        n += 1;
        let bytes = std::fs::read(&path).unwrap();
        let e = shequ_forms::import_xlsform(&bytes, &name).unwrap_err();
        assert!(
            matches!(
                e.code,
                ErrorCode::FormFileInvalid | ErrorCode::FileUnreadable
            ),
            "{name}: {e:?}"
        );
        let zh = e.message(shequ_core::Lang::ZhCn);
        assert!(zh.contains(&name) && !zh.contains("form_problems."), "{zh}");
    }
    assert!(n >= 1, "the fuzz regressions are in {}", dir.display());
    // The calamine assertion: a damaged .xls sector table.
    let bytes = std::fs::read(dir.join("xlsform-calamine-cfb-assert.xls")).unwrap();
    let e = shequ_forms::import_xlsform(&bytes, "bad.xls").unwrap_err();
    assert_eq!(e.params["problem"], "malformed_workbook");
    assert!(e.message(shequ_core::Lang::En).contains("damaged"));
}
