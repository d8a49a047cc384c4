//! Communities CSV: what a district keeps in Excel. Headers in Chinese or English; UTF-8
//! (with or without BOM), GBK/GB18030 or UTF-16 with BOM, as Excel in China writes them;
//! comma, semicolon or tab separated. Every row is checked before anything is written.

use std::collections::HashMap;

use shequ_core::{Error, ErrorCode, HousingForm, NewCommunity, Result};

/// Parsed rows, with the 1-based file row of each (the header is row 1).
#[derive(Debug, Clone)]
pub struct ParsedCommunities {
    pub items: Vec<NewCommunity>,
    pub rows: Vec<usize>,
}

/// Default target sample when the file has none: the "≥ 50" of DESIGN.md.
pub const DEFAULT_TARGET_SAMPLE: u32 = 50;

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum Field {
    Code,
    Name,
    Street,
    District,
    HousingForm,
    Households,
    TargetSample,
}

impl Field {
    fn key(self) -> &'static str {
        match self {
            Field::Code => "code",
            Field::Name => "name",
            Field::Street => "street",
            Field::District => "district",
            Field::HousingForm => "housing_form",
            Field::Households => "households",
            Field::TargetSample => "target_sample",
        }
    }

    /// Header spellings accepted for each field (compared after trimming and lowercasing).
    fn from_header(h: &str) -> Option<Field> {
        let h = h
            .trim()
            .trim_matches('\u{feff}')
            .to_lowercase()
            .replace([' ', '_', '-'], "");
        Some(match h.as_str() {
            "code" | "communitycode" | "社区编码" | "编码" | "社区代码" | "代码" | "居委会编码" => {
                Field::Code
            }
            "name" | "communityname" | "社区名称" | "名称" | "社区" | "居委会" | "居委会名称" => {
                Field::Name
            }
            "street" | "subdistrict" | "街道" | "街镇" | "所属街道" => Field::Street,
            "district" | "区" | "所属区" | "区县" => Field::District,
            "housingform" | "housing" | "房屋业态" | "住房类型" | "小区类型" | "业态" => {
                Field::HousingForm
            }
            "households" | "户数" | "总户数" | "住户数" => Field::Households,
            "targetsample" | "target" | "目标样本量" | "目标样本" | "样本量" | "目标份数" => {
                Field::TargetSample
            }
            _ => return None,
        })
    }
}

const REQUIRED: [Field; 3] = [Field::Code, Field::Name, Field::HousingForm];

/// Decodes the bytes to text, or says which row could not be decoded.
pub(crate) fn decode(bytes: &[u8], file: &str) -> Result<String> {
    if let Some((enc, bom_len)) = encoding_rs::Encoding::for_bom(bytes) {
        let (text, had_errors) = enc.decode_without_bom_handling(&bytes[bom_len..]);
        if !had_errors {
            return Ok(text.into_owned());
        }
    } else if let Ok(s) = std::str::from_utf8(bytes) {
        return Ok(s.to_string());
    } else if let Some(s) =
        encoding_rs::GB18030.decode_without_bom_handling_and_without_replacement(bytes)
    {
        return Ok(s.into_owned());
    }
    // Find the first line that decodes neither way, for the message.
    let row = bytes
        .split(|b| *b == b'\n')
        .position(|line| {
            std::str::from_utf8(line).is_err()
                && encoding_rs::GB18030
                    .decode_without_bom_handling_and_without_replacement(line)
                    .is_none()
        })
        .map_or(1, |i| i + 1);
    Err(Error::new(ErrorCode::CsvBadEncoding)
        .with("file", file)
        .with("row", row))
}

pub(crate) fn delimiter(header_line: &str) -> u8 {
    let count = |c| header_line.matches(c).count();
    [(',', b','), ('\t', b'\t'), (';', b';'), ('，', b',')]
        .into_iter()
        .max_by_key(|(c, _)| count(*c))
        .map(|(_, d)| d)
        .filter(|_| count(',') + count('\t') + count(';') > 0)
        .unwrap_or(b',')
}

fn positive(s: &str) -> Option<u32> {
    let s = s.trim().replace(',', "");
    let s = s.strip_suffix(".0").unwrap_or(&s);
    s.parse::<u32>().ok().filter(|n| *n > 0)
}

/// Parses and checks the whole file. Nothing is written here.
pub fn parse_communities_csv(bytes: &[u8], file: &str) -> Result<ParsedCommunities> {
    let text = decode(bytes, file)?;
    let text = text.trim_start_matches('\u{feff}');
    if text.trim().is_empty() {
        return Err(Error::new(ErrorCode::CsvEmpty).with("file", file));
    }
    let first_line = text.lines().next().unwrap_or("");
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter(first_line))
        .flexible(true)
        .has_headers(true)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| {
            Error::new(ErrorCode::CsvBadRow)
                .with("file", file)
                .with("row", 1)
                .with("column", "")
                .with("value", e)
        })?
        .clone();
    let mut columns: HashMap<Field, usize> = HashMap::new();
    for (i, h) in headers.iter().enumerate() {
        if let Some(f) = Field::from_header(h) {
            columns.entry(f).or_insert(i);
        }
    }
    let missing: Vec<&str> = REQUIRED
        .iter()
        .filter(|f| !columns.contains_key(f))
        .map(|f| f.key())
        .collect();
    if !missing.is_empty() {
        return Err(Error::new(ErrorCode::CsvMissingColumns)
            .with("file", file)
            .with("fields", missing.join(",")));
    }

    let mut items = Vec::new();
    let mut rows = Vec::new();
    let mut first_seen: HashMap<String, usize> = HashMap::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let row = e.position().map_or(0, |p| p.line() as usize);
            Error::new(ErrorCode::CsvBadRow)
                .with("file", file)
                .with("row", row)
                .with("column", "")
                .with("value", e)
        })?;
        let row = record.position().map_or(0, |p| p.line() as usize);
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let get = |f: Field| {
            columns
                .get(&f)
                .and_then(|&i| record.get(i))
                .unwrap_or("")
                .trim()
                .to_string()
        };
        let bad = |f: Field, value: &str| {
            let column = columns
                .get(&f)
                .and_then(|&i| headers.get(i))
                .unwrap_or(f.key())
                .trim()
                .to_string();
            Error::new(ErrorCode::CsvBadRow)
                .with("file", file)
                .with("row", row)
                .with("column", column)
                .with("value", value)
        };
        let code = get(Field::Code);
        let name = get(Field::Name);
        if code.is_empty() || code.chars().count() > 32 || code.chars().any(char::is_control) {
            return Err(bad(Field::Code, &code));
        }
        if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
            return Err(bad(Field::Name, &name));
        }
        let form_text = get(Field::HousingForm);
        let housing_form = HousingForm::parse(&form_text).ok_or_else(|| {
            Error::new(ErrorCode::UnknownHousingForm)
                .with("file", file)
                .with("row", row)
                .with("value", &form_text)
        })?;
        let households = match get(Field::Households) {
            s if s.is_empty() => None,
            s => Some(positive(&s).ok_or_else(|| bad(Field::Households, &s))?),
        };
        let target_sample = match get(Field::TargetSample) {
            s if s.is_empty() => DEFAULT_TARGET_SAMPLE,
            s => positive(&s)
                .filter(|n| *n <= 100_000)
                .ok_or_else(|| bad(Field::TargetSample, &s))?,
        };
        if let Some(first) = first_seen.insert(code.clone(), row) {
            return Err(Error::new(ErrorCode::CsvDuplicateCode)
                .with("file", file)
                .with("row", row)
                .with("code", &code)
                .with("first_row", first));
        }
        let item = NewCommunity {
            code,
            name,
            street: get(Field::Street),
            district: get(Field::District),
            housing_form,
            households,
            target_sample,
        };
        item.validate().map_err(|e| {
            let field = e.params.get("field").cloned().unwrap_or_default();
            let value = e.params.get("value").cloned().unwrap_or_default();
            Error::new(ErrorCode::CsvBadRow)
                .with("file", file)
                .with("row", row)
                .with("column", field)
                .with("value", value)
        })?;
        items.push(item);
        rows.push(row);
    }
    Ok(ParsedCommunities { items, rows })
}

#[cfg(test)]
mod tests {
    use super::*;
    use shequ_core::Lang;

    const GOOD: &str = "社区编码,社区名称,街道,区,房屋业态,户数,目标样本量\n\
                        JA-01,三兴居委,石门二路街道,静安区,老旧小区,418,50\n\
                        JA-02,华安居委,石门二路街道,静安区,普通商品房,1200,\n";

    fn err(bytes: &[u8]) -> Error {
        parse_communities_csv(bytes, "list.csv").unwrap_err()
    }

    #[test]
    fn chinese_headers_utf8_with_defaults() {
        let p = parse_communities_csv(GOOD.as_bytes(), "list.csv").unwrap();
        assert_eq!(p.rows, vec![2, 3]);
        assert_eq!(p.items[0].code, "JA-01");
        assert_eq!(p.items[0].housing_form, HousingForm::OldPublic);
        assert_eq!(p.items[0].households, Some(418));
        assert_eq!(p.items[1].target_sample, DEFAULT_TARGET_SAMPLE);
        assert_eq!(p.items[1].street, "石门二路街道");
    }

    #[test]
    fn utf8_bom_gbk_and_utf16_decode_to_the_same_rows() {
        let plain = parse_communities_csv(GOOD.as_bytes(), "a").unwrap().items;
        let mut bom = vec![0xEF, 0xBB, 0xBF];
        bom.extend_from_slice(GOOD.as_bytes());
        let (gbk, _, _) = encoding_rs::GBK.encode(GOOD);
        assert!(std::str::from_utf8(&gbk).is_err(), "really GBK bytes");
        let mut utf16 = vec![0xFF, 0xFE];
        for u in GOOD.encode_utf16() {
            utf16.extend_from_slice(&u.to_le_bytes());
        }
        for bytes in [bom, gbk.into_owned(), utf16] {
            assert_eq!(parse_communities_csv(&bytes, "a").unwrap().items, plain);
        }
    }

    #[test]
    fn english_headers_tabs_and_codes() {
        let text = "Code\tName\tHousing_Form\tTarget Sample\nX1\tEast Gate\tcommercial\t30\n";
        let p = parse_communities_csv(text.as_bytes(), "a").unwrap();
        assert_eq!(
            (p.items[0].name.as_str(), p.items[0].target_sample),
            ("East Gate", 30)
        );
        assert_eq!(p.items[0].housing_form, HousingForm::Commercial);
    }

    #[test]
    fn missing_columns_are_listed_in_the_users_language() {
        let e = err("社区名称,街道\n三兴,石门\n".as_bytes());
        assert_eq!(e.code, ErrorCode::CsvMissingColumns);
        assert_eq!(e.params["fields"], "code,housing_form");
        let zh = e.message(Lang::ZhCn);
        assert!(
            zh.contains("list.csv") && zh.contains("社区编码、房屋业态"),
            "{zh}"
        );
        assert!(e.message(Lang::En).contains("Community code, Housing form"));
    }

    #[test]
    fn duplicate_codes_name_both_rows() {
        let e = err("code,name,housing_form\nA,一,mixed\nB,二,mixed\nA,三,mixed\n".as_bytes());
        assert_eq!(e.code, ErrorCode::CsvDuplicateCode);
        assert_eq!(
            (e.params["row"].as_str(), e.params["first_row"].as_str()),
            ("4", "2")
        );
        assert!(e.message(Lang::ZhCn).starts_with("文件 list.csv 第 4 行："));
    }

    #[test]
    fn bad_values_name_row_and_column() {
        let cases: &[(&str, &str, &str, ErrorCode)] = &[
            (
                "code,name,housing_form\n,一,mixed\n",
                "2",
                "code",
                ErrorCode::CsvBadRow,
            ),
            (
                "code,name,housing_form,户数\nA,一,mixed,很多\n",
                "2",
                "户数",
                ErrorCode::CsvBadRow,
            ),
            (
                "code,name,housing_form,target\nA,一,mixed,0\n",
                "2",
                "target",
                ErrorCode::CsvBadRow,
            ),
            (
                "code,name,housing_form\nA,一,mixed\nB,二,别墅区\n",
                "3",
                "",
                ErrorCode::UnknownHousingForm,
            ),
        ];
        for (text, row, column, code) in cases {
            let e = err(text.as_bytes());
            assert_eq!(e.code, *code, "{text}");
            assert_eq!(e.params["row"], *row, "{text}");
            if !column.is_empty() {
                assert_eq!(e.params["column"], *column, "{text}");
            }
        }
    }

    #[test]
    fn undecodable_bytes_name_the_row() {
        let mut bytes = b"code,name,housing_form\nA,x,mixed\n".to_vec();
        bytes.extend_from_slice(&[b'B', b',', 0xFF, 0xFF, 0xFF, b',', b'm', b'\n']);
        let e = err(&bytes);
        assert_eq!(e.code, ErrorCode::CsvBadEncoding);
        assert_eq!(e.params["row"], "3");
    }

    #[test]
    fn empty_and_header_only_files() {
        assert_eq!(err(b"").code, ErrorCode::CsvEmpty);
        assert_eq!(err(b"\xEF\xBB\xBF \n").code, ErrorCode::CsvEmpty);
        let p = parse_communities_csv(b"code,name,housing_form\n", "a").unwrap();
        assert!(p.items.is_empty());
    }
}
