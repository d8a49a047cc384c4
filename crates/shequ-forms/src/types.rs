//! XLSForm question types as pyxform spells them, mapped to Shequ's canonical names.

/// What a `type` cell means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RowType {
    BeginGroup {
        repeat: bool,
    },
    EndGroup {
        repeat: bool,
    },
    /// A question: canonical type, choice list, `or_other`, whether a laptop can capture it.
    Question {
        qtype: String,
        list: Option<String>,
        or_other: bool,
        supported: bool,
    },
}

/// Types answered or computed on the laptop.
const SUPPORTED: &[&str] = &[
    "text",
    "integer",
    "decimal",
    "range",
    "note",
    "acknowledge",
    "calculate",
    "hidden",
    "date",
    "time",
    "dateTime",
    "start",
    "end",
    "today",
    "deviceid",
    "username",
];

/// Types ODK knows that a laptop cannot capture: imported, marked unsupported, warned about.
const UNSUPPORTED: &[&str] = &[
    "photo",
    "image",
    "audio",
    "video",
    "file",
    "geopoint",
    "geotrace",
    "geoshape",
    "barcode",
    "background-audio",
    "start-geopoint",
    "audit",
    "email",
    "simserial",
    "subscriberid",
    "phonenumber",
    "xml-external",
    "csv-external",
    "signature",
];

/// Parses a `type` cell (case and spacing as pyxform tolerates them). `None`: unknown type.
pub(crate) fn parse_type(raw: &str) -> Option<RowType> {
    let words: Vec<&str> = raw.split_whitespace().collect();
    let lower: Vec<String> = words.iter().map(|w| w.to_lowercase()).collect();
    let joined = lower.join(" ");
    match joined.as_str() {
        "begin group" | "begin_group" => return Some(RowType::BeginGroup { repeat: false }),
        "begin repeat" | "begin_repeat" => return Some(RowType::BeginGroup { repeat: true }),
        "end group" | "end_group" => return Some(RowType::EndGroup { repeat: false }),
        "end repeat" | "end_repeat" => return Some(RowType::EndGroup { repeat: true }),
        _ => {}
    }
    // Selects: "select_one L", "select one L", "select1 L", "select_multiple L",
    // "select all that apply L", "rank L", each optionally followed by "or_other".
    let (or_other, core): (bool, &[String]) = match lower.last().map(String::as_str) {
        Some("or_other") if lower.len() > 2 => (true, &lower[..lower.len() - 1]),
        _ => (false, &lower[..]),
    };
    let select_prefixes: &[(&[&str], &str, bool)] = &[
        (&["select_one"], "select_one", true),
        (&["select", "one"], "select_one", true),
        (&["select1"], "select_one", true),
        (&["select_multiple"], "select_multiple", true),
        (&["select", "all", "that", "apply"], "select_multiple", true),
        (&["rank"], "rank", true),
        (&["select_one_from_file"], "select_one_from_file", false),
        (
            &["select_multiple_from_file"],
            "select_multiple_from_file",
            false,
        ),
        (&["select_one_external"], "select_one_external", false),
    ];
    for (prefix, qtype, supported) in select_prefixes {
        if core.len() == prefix.len() + 1 && core.iter().zip(prefix.iter()).all(|(a, b)| a == b) {
            // The list name keeps its original case.
            let list = words[prefix.len()].to_string();
            return Some(RowType::Question {
                qtype: qtype.to_string(),
                list: Some(list),
                or_other: or_other && *supported,
                supported: *supported,
            });
        }
    }
    if words.len() != 1 {
        return None;
    }
    let t = lower[0].as_str();
    if let Some(s) = SUPPORTED.iter().find(|s| s.to_lowercase() == t) {
        return Some(RowType::Question {
            qtype: s.to_string(),
            list: None,
            or_other: false,
            supported: true,
        });
    }
    if t == "trigger" {
        return Some(RowType::Question {
            qtype: "acknowledge".into(),
            list: None,
            or_other: false,
            supported: true,
        });
    }
    if t == "imei" {
        return Some(RowType::Question {
            qtype: "deviceid".into(),
            list: None,
            or_other: false,
            supported: true,
        });
    }
    if let Some(u) = UNSUPPORTED.iter().find(|u| **u == t) {
        let qtype = if *u == "image" { "photo" } else { u };
        return Some(RowType::Question {
            qtype: qtype.to_string(),
            list: None,
            or_other: false,
            supported: false,
        });
    }
    None
}

/// Whether a question of this type must have a label (or hint), as pyxform requires.
pub(crate) fn needs_label(qtype: &str) -> bool {
    !matches!(
        qtype,
        "calculate"
            | "hidden"
            | "start"
            | "end"
            | "today"
            | "deviceid"
            | "username"
            | "simserial"
            | "subscriberid"
            | "phonenumber"
            | "audit"
            | "start-geopoint"
            | "background-audio"
            | "xml-external"
            | "csv-external"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(qtype: &str, list: Option<&str>, or_other: bool, supported: bool) -> Option<RowType> {
        Some(RowType::Question {
            qtype: qtype.into(),
            list: list.map(Into::into),
            or_other,
            supported,
        })
    }

    #[test]
    fn type_spellings() {
        let cases = [
            ("text", q("text", None, false, true)),
            (" Integer ", q("integer", None, false, true)),
            ("datetime", q("dateTime", None, false, true)),
            ("select_one yn", q("select_one", Some("yn"), false, true)),
            ("select one  YN", q("select_one", Some("YN"), false, true)),
            ("select1 yn", q("select_one", Some("yn"), false, true)),
            (
                "select_multiple yn or_other",
                q("select_multiple", Some("yn"), true, true),
            ),
            (
                "select all that apply yn",
                q("select_multiple", Some("yn"), false, true),
            ),
            ("rank yn", q("rank", Some("yn"), false, true)),
            ("image", q("photo", None, false, false)),
            ("geopoint", q("geopoint", None, false, false)),
            (
                "select_one_from_file a.csv",
                q("select_one_from_file", Some("a.csv"), false, false),
            ),
            ("trigger", q("acknowledge", None, false, true)),
            ("begin group", Some(RowType::BeginGroup { repeat: false })),
            ("begin_repeat", Some(RowType::BeginGroup { repeat: true })),
            ("End Repeat", Some(RowType::EndGroup { repeat: true })),
            ("txt", None),
            ("select_one", None),
            ("select_one a b", None),
            ("integer or_other", None),
        ];
        for (raw, want) in cases {
            assert_eq!(parse_type(raw), want, "{raw:?}");
        }
    }
}
