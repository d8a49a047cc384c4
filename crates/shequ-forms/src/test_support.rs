//! Workbooks built in tests, with rust_xlsxwriter.

pub(crate) type Rows<'a> = &'a [&'a [&'a str]];

/// A workbook of (sheet, rows); every cell a string.
pub(crate) fn workbook(sheets: &[(&str, Rows)]) -> Vec<u8> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    for (name, rows) in sheets {
        let ws = wb.add_worksheet();
        ws.set_name(*name).unwrap();
        for (r, row) in rows.iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                if !v.is_empty() {
                    ws.write_string(r as u32, c as u16, *v).unwrap();
                }
            }
        }
    }
    wb.save_to_buffer().unwrap()
}

/// Imports a survey (and optional choices) or panics with the error.
pub(crate) fn form(survey: Rows, choices: Rows) -> shequ_core::FormDefinition {
    let mut sheets = vec![("survey", survey)];
    if !choices.is_empty() {
        sheets.push(("choices", choices));
    }
    crate::read_xlsform(&workbook(&sheets), "t.xlsx").unwrap_or_else(|e| panic!("{e}"))
}
