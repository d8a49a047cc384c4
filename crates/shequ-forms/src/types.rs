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
    /// A question: canonical type, choice list, `or_other`, whether a laptop can capture it,
    /// and the constraint its type implies (`phone number`: digits only) when none is given.
    Question {
        qtype: String,
        list: Option<String>,
        or_other: bool,
        supported: bool,
        implied_constraint: Option<String>,
    },
}

/// Every single-word or fixed-phrase type pyxform knows (its question type dictionary and
/// type aliases), spelt exactly as pyxform wants them → (Shequ's canonical type, whether a laptop
/// can answer or compute it, the constraint pyxform's builder implies when the row has none).
const TYPES: &[(&str, &str, bool, Option<&str>)] = &[
    // Answered or computed on the laptop.
    ("text", "text", true, None),
    ("string", "text", true, None),
    ("q string", "text", true, None),
    ("add text prompt", "text", true, None),
    ("phone number", "text", true, Some(r"regex(., '^\d*$')")),
    ("integer", "integer", true, None),
    ("int", "integer", true, None),
    ("q int", "integer", true, None),
    ("add integer prompt", "integer", true, None),
    ("percentage", "integer", true, Some("0 <= . and . <= 100")),
    (
        "number of days in last month",
        "integer",
        true,
        Some("0 <= . and . <= 31"),
    ),
    (
        "number of days in last six months",
        "integer",
        true,
        Some("0 <= . and . <= 183"),
    ),
    (
        "number of days in last year",
        "integer",
        true,
        Some("0 <= . and . <= 365"),
    ),
    ("decimal", "decimal", true, None),
    ("q decimal", "decimal", true, None),
    ("add decimal prompt", "decimal", true, None),
    ("range", "range", true, None),
    ("note", "note", true, None),
    ("q note", "note", true, None),
    ("add note prompt", "note", true, None),
    ("acknowledge", "acknowledge", true, None),
    ("q acknowledge", "acknowledge", true, None),
    ("add acknowledge prompt", "acknowledge", true, None),
    ("trigger", "acknowledge", true, None),
    ("calculate", "calculate", true, None),
    ("q calculate", "calculate", true, None),
    ("add calculate prompt", "calculate", true, None),
    ("hidden", "hidden", true, None),
    ("date", "date", true, None),
    ("q date", "date", true, None),
    ("add date prompt", "date", true, None),
    ("time", "time", true, None),
    ("dateTime", "dateTime", true, None),
    ("datetime", "dateTime", true, None),
    ("date time", "dateTime", true, None),
    ("q date time", "dateTime", true, None),
    ("q dateTime", "dateTime", true, None),
    ("add date time prompt", "dateTime", true, None),
    ("add dateTime prompt", "dateTime", true, None),
    ("start", "start", true, None),
    ("start time", "start", true, None),
    ("get start time", "start", true, None),
    ("end", "end", true, None),
    ("end time", "end", true, None),
    ("get end time", "end", true, None),
    ("today", "today", true, None),
    ("get today", "today", true, None),
    ("deviceid", "deviceid", true, None),
    ("device id", "deviceid", true, None),
    ("get device id", "deviceid", true, None),
    ("uri:deviceid", "deviceid", true, None),
    ("imei", "deviceid", true, None),
    ("username", "username", true, None),
    ("uri:username", "username", true, None),
    // Known to ODK, not capturable on a laptop: imported, marked unsupported, warned about.
    ("photo", "photo", false, None),
    ("image", "photo", false, None),
    ("q picture", "photo", false, None),
    ("q image", "photo", false, None),
    ("add image prompt", "photo", false, None),
    ("add photo prompt", "photo", false, None),
    ("audio", "audio", false, None),
    ("q audio", "audio", false, None),
    ("add audio prompt", "audio", false, None),
    ("video", "video", false, None),
    ("q video", "video", false, None),
    ("add video prompt", "video", false, None),
    ("file", "file", false, None),
    ("add file prompt", "file", false, None),
    ("geopoint", "geopoint", false, None),
    ("q geopoint", "geopoint", false, None),
    ("gps", "geopoint", false, None),
    ("location", "geopoint", false, None),
    ("q location", "geopoint", false, None),
    ("add location prompt", "geopoint", false, None),
    ("geotrace", "geotrace", false, None),
    ("q geotrace", "geotrace", false, None),
    ("geoshape", "geoshape", false, None),
    ("q geoshape", "geoshape", false, None),
    ("barcode", "barcode", false, None),
    ("q barcode", "barcode", false, None),
    ("add barcode prompt", "barcode", false, None),
    ("osm", "osm", false, None),
    ("background-audio", "background-audio", false, None),
    ("background-geopoint", "background-geopoint", false, None),
    ("start-geopoint", "start-geopoint", false, None),
    ("audit", "audit", false, None),
    ("email", "email", false, None),
    ("uri:email", "email", false, None),
    ("simserial", "simserial", false, None),
    ("sim id", "simserial", false, None),
    ("get sim id", "simserial", false, None),
    ("uri:simserial", "simserial", false, None),
    ("subscriberid", "subscriberid", false, None),
    ("subscriber id", "subscriberid", false, None),
    ("get subscriber id", "subscriberid", false, None),
    ("uri:subscriberid", "subscriberid", false, None),
    ("phonenumber", "phonenumber", false, None),
    ("get phone number", "phonenumber", false, None),
    ("uri:phonenumber", "phonenumber", false, None),
    ("xml-external", "xml-external", false, None),
    ("csv-external", "csv-external", false, None),
];

/// Select spellings pyxform reads (`aliases.select`), as words: (words, type, supported).
const SELECTS: &[(&[&str], &str, bool)] = &[
    (&["select_one"], "select_one", true),
    (&["select", "one"], "select_one", true),
    (&["select1"], "select_one", true),
    (&["select", "one", "from"], "select_one", true),
    (
        &["add", "select", "one", "prompt", "using"],
        "select_one",
        true,
    ),
    (&["select_multiple"], "select_multiple", true),
    (&["select", "all", "that", "apply"], "select_multiple", true),
    (
        &["select", "all", "that", "apply", "from"],
        "select_multiple",
        true,
    ),
    (
        &["add", "select", "multiple", "prompt", "using"],
        "select_multiple",
        true,
    ),
    (&["rank"], "rank", true),
    (&["select_one_from_file"], "select_one_from_file", false),
    (
        &["select", "one", "from", "file"],
        "select_one_from_file",
        false,
    ),
    (
        &["select_multiple_from_file"],
        "select_multiple_from_file",
        false,
    ),
    (
        &["select", "multiple", "from", "file"],
        "select_multiple_from_file",
        false,
    ),
    (&["select_one_external"], "select_one_external", false),
];

/// The `or_other` suffixes pyxform reads after a select's list name.
const OR_OTHER: &[&[&str]] = &[&["or_other"], &["or", "other"], &["or", "specify", "other"]];

fn question(qtype: &str, list: Option<String>, or_other: bool, supported: bool) -> RowType {
    RowType::Question {
        qtype: qtype.to_string(),
        list,
        or_other,
        supported,
        implied_constraint: None,
    }
}

/// Parses a `type` cell as pyxform does: spaces between words are free, case is not (pyxform
/// refuses `Integer` or `Select_one yn`). `None`: unknown type.
pub(crate) fn parse_type(raw: &str) -> Option<RowType> {
    parse_with(raw, false).map(|(t, _)| t)
}

/// For a type pyxform refuses only for its case: the spelling it reads (`Integer` → `integer`).
pub(crate) fn type_in_its_case(raw: &str) -> Option<String> {
    parse_with(raw, true).map(|(_, spelling)| spelling)
}

/// The row type and its spelling as pyxform writes it; `any_case` matches type words in any case.
fn parse_with(raw: &str, any_case: bool) -> Option<(RowType, String)> {
    let same = |a: &str, b: &str| {
        if any_case {
            a.eq_ignore_ascii_case(b)
        } else {
            a == b
        }
    };
    let words: Vec<&str> = raw.split_whitespace().collect();
    let joined = words.join(" ");
    // begin/end group, repeat and their old spellings (lgroup, looped group).
    for (verb, begin) in [("begin", true), ("end", false)] {
        for (kind, repeat) in [
            ("group", false),
            ("repeat", true),
            ("lgroup", true),
            ("looped group", true),
        ] {
            for spelling in [format!("{verb} {kind}"), format!("{verb}_{kind}")] {
                if same(&joined, &spelling) {
                    let t = if begin {
                        RowType::BeginGroup { repeat }
                    } else {
                        RowType::EndGroup { repeat }
                    };
                    return Some((t, spelling));
                }
            }
        }
    }
    // pyxform's begin pattern also takes a trailing list name (`begin group x`, `begin repeat
    // over x`), which only a loop uses: a group or repeat ignores it.
    let head: Vec<String> = match words.first().map(|w| w.split_once('_')) {
        Some(Some((verb, kind))) => [verb, kind]
            .into_iter()
            .chain(words[1..].iter().copied())
            .map(str::to_string)
            .collect(),
        _ => words.iter().map(|w| w.to_string()).collect(),
    };
    if (head.len() == 3 || head.len() == 4 && same(&head[2], "over")) && same(&head[0], "begin") {
        for (kind, repeat) in [("group", false), ("repeat", true), ("lgroup", true)] {
            if same(&head[1], kind) {
                return Some((RowType::BeginGroup { repeat }, format!("begin {kind}")));
            }
        }
    }
    // Selects: a spelling, the list name, optionally an or_other spelling.
    for (prefix, qtype, supported) in SELECTS {
        for suffix in std::iter::once(&[][..]).chain(OR_OTHER.iter().copied()) {
            let n = prefix.len() + 1 + suffix.len();
            if words.len() == n
                && words[..prefix.len()]
                    .iter()
                    .zip(prefix.iter())
                    .all(|(a, b)| same(a, b))
                && words[prefix.len() + 1..]
                    .iter()
                    .zip(suffix.iter())
                    .all(|(a, b)| same(a, b))
            {
                // The list name is kept as written (list names are case-sensitive).
                let list = words[prefix.len()].to_string();
                let spelling = [&prefix[..], &[list.as_str()], suffix].concat().join(" ");
                let t = question(
                    qtype,
                    Some(list),
                    !suffix.is_empty() && *supported,
                    *supported,
                );
                return Some((t, spelling));
            }
        }
    }
    // OpenStreetMap questions name their tag list on the osm sheet.
    if words.len() == 2 && same(words[0], "osm") {
        let spelling = format!("osm {}", words[1]);
        return Some((question("osm", None, false, false), spelling));
    }
    let (spelling, qtype, supported, implied) = TYPES.iter().find(|t| same(t.0, &joined))?;
    let t = RowType::Question {
        qtype: qtype.to_string(),
        list: None,
        or_other: false,
        supported: *supported,
        implied_constraint: implied.map(str::to_string),
    };
    Some((t, spelling.to_string()))
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
            | "email"
            | "background-geopoint"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(qtype: &str, list: Option<&str>, or_other: bool, supported: bool) -> Option<RowType> {
        Some(question(qtype, list.map(Into::into), or_other, supported))
    }

    #[test]
    fn type_spellings() {
        let cases = [
            ("text", q("text", None, false, true)),
            (" integer ", q("integer", None, false, true)),
            ("Integer", None),
            ("Select_one yn", None),
            ("DateTime", None),
            ("dateTime", q("dateTime", None, false, true)),
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
            ("string", q("text", None, false, true)),
            ("gps", q("geopoint", None, false, false)),
            ("uri:deviceid", q("deviceid", None, false, true)),
            ("osm", q("osm", None, false, false)),
            ("osm building_tags", q("osm", None, false, false)),
            (
                "select one from sexes or specify other",
                q("select_one", Some("sexes"), true, true),
            ),
            (
                "select all that apply from toilet_type or specify other",
                q("select_multiple", Some("toilet_type"), true, true),
            ),
            (
                "select one from yes_or_no",
                q("select_one", Some("yes_or_no"), false, true),
            ),
            (
                "select_one yn or other",
                q("select_one", Some("yn"), true, true),
            ),
            (
                "select one from file a.csv",
                q("select_one_from_file", Some("a.csv"), false, false),
            ),
            ("begin lgroup", Some(RowType::BeginGroup { repeat: true })),
            ("begin group x", Some(RowType::BeginGroup { repeat: false })),
            (
                "begin_repeat over x",
                Some(RowType::BeginGroup { repeat: true }),
            ),
            ("end group x", None),
            ("end looped group", Some(RowType::EndGroup { repeat: true })),
            ("begin group", Some(RowType::BeginGroup { repeat: false })),
            ("begin_repeat", Some(RowType::BeginGroup { repeat: true })),
            ("end  repeat", Some(RowType::EndGroup { repeat: true })),
            ("End Repeat", None),
            ("txt", None),
            ("select_one", None),
            ("select_one a b", None),
            ("integer or_other", None),
        ];
        for (raw, want) in cases {
            assert_eq!(parse_type(raw), want, "{raw:?}");
        }
        for (raw, want) in [
            ("Integer", "integer"),
            ("Select_One yn OR_OTHER", "select_one yn or_other"),
            ("End Repeat", "end repeat"),
            ("DateTime", "dateTime"),
            ("OSM tags", "osm tags"),
        ] {
            assert_eq!(type_in_its_case(raw).as_deref(), Some(want), "{raw}");
        }
        assert_eq!(type_in_its_case("txt"), None);
        assert!(matches!(
            parse_type("phone number"),
            Some(RowType::Question { qtype, supported: true, implied_constraint: Some(c), .. })
                if qtype == "text" && c.starts_with("regex(")
        ));
    }
}
