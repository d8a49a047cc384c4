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
