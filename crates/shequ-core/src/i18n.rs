//! The message catalogues, shared with the UI: `assets/i18n/zh-CN.json` and `en.json` are the
//! one source of every user-visible string. The UI loads them into vue-i18n; the CLI and the
//! error messages read them here. Placeholders are `{name}`, as in vue-i18n.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use ts_rs::TS;

/// A user-interface language. zh-CN is the default everywhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, TS)]
#[ts(export)]
pub enum Lang {
    #[default]
    #[serde(rename = "zh-CN")]
    ZhCn,
    #[serde(rename = "en")]
    En,
}

impl Lang {
    pub fn tag(self) -> &'static str {
        match self {
            Lang::ZhCn => "zh-CN",
            Lang::En => "en",
        }
    }

    /// Parses a tag such as `zh-CN`, `zh`, `zh_CN.UTF-8`, `en`, `en_US`. Unknown tags: `None`.
    pub fn parse(tag: &str) -> Option<Lang> {
        let t = tag.trim().to_ascii_lowercase();
        if t.starts_with("zh") {
            Some(Lang::ZhCn)
        } else if t.starts_with("en") {
            Some(Lang::En)
        } else {
            None
        }
    }

    /// The XLSForm language code this UI language reads (`label::中文 (zh)` → `zh`).
    pub fn form_code(self) -> &'static str {
        match self {
            Lang::ZhCn => "zh",
            Lang::En => "en",
        }
    }
}

const ZH_CN: &str = include_str!("../../../assets/i18n/zh-CN.json");
const EN: &str = include_str!("../../../assets/i18n/en.json");

fn catalogue(lang: Lang) -> &'static Value {
    static ZH: OnceLock<Value> = OnceLock::new();
    static EN_CAT: OnceLock<Value> = OnceLock::new();
    let (cell, src) = match lang {
        Lang::ZhCn => (&ZH, ZH_CN),
        Lang::En => (&EN_CAT, EN),
    };
    // The catalogues are compiled in and checked by tests; a broken one degrades to keys.
    cell.get_or_init(|| serde_json::from_str(src).unwrap_or(Value::Null))
}

/// The raw catalogue entry for a dotted key (`errors.db_corrupt`), if present.
pub fn lookup(lang: Lang, key: &str) -> Option<&'static str> {
    let mut v = catalogue(lang);
    for part in key.split('.') {
        v = v.get(part)?;
    }
    v.as_str()
}

/// The message for `key` with `{name}` placeholders filled from `params`. Falls back to
/// English, then to the key itself, so a missing entry is visible but never fatal.
pub fn message(lang: Lang, key: &str, params: &BTreeMap<String, String>) -> String {
    let template = lookup(lang, key)
        .or_else(|| lookup(Lang::En, key))
        .unwrap_or(key);
    interpolate(template, params)
}

/// Shorthand for a message with no parameters.
pub fn text(lang: Lang, key: &str) -> String {
    message(lang, key, &BTreeMap::new())
}

fn interpolate(template: &str, params: &BTreeMap<String, String>) -> String {
    let mut out = String::with_capacity(template.len() + 16);
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        match rest[start..].find('}') {
            Some(len) => {
                let name = &rest[start + 1..start + len];
                match params.get(name) {
                    Some(v) => out.push_str(v),
                    None => out.push_str(&rest[start..=start + len]),
                }
                rest = &rest[start + len + 1..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(v: &Value, prefix: &str, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, v) in m {
                    let p = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    keys(v, &p, out);
                }
            }
            _ => out.push(prefix.to_string()),
        }
    }

    #[test]
    fn catalogues_parse_and_have_the_same_keys() {
        let zh: Value = serde_json::from_str(ZH_CN).expect("zh-CN.json parses");
        let en: Value = serde_json::from_str(EN).expect("en.json parses");
        let (mut kz, mut ke) = (vec![], vec![]);
        keys(&zh, "", &mut kz);
        keys(&en, "", &mut ke);
        kz.sort();
        ke.sort();
        assert_eq!(kz, ke, "zh-CN and en catalogues must have the same keys");
        assert!(kz.len() > 40);
    }

    #[test]
    fn catalogue_strings_avoid_vue_i18n_special_characters() {
        // vue-i18n treats `@` and `|` as syntax; a message with them renders wrongly.
        for src in [ZH_CN, EN] {
            let v: Value = serde_json::from_str(src).unwrap();
            let mut ks = vec![];
            keys(&v, "", &mut ks);
            for k in ks {
                let mut node = &v;
                for p in k.split('.') {
                    node = &node[p];
                }
                let s = node.as_str().unwrap_or("");
                assert!(!s.contains('@') && !s.contains('|'), "{k}: {s}");
            }
        }
    }

    #[test]
    fn interpolation_fills_known_and_keeps_unknown_placeholders() {
        let mut p = BTreeMap::new();
        p.insert("file".to_string(), "x.csv".to_string());
        assert_eq!(
            interpolate("file {file}, row {row}", &p),
            "file x.csv, row {row}"
        );
        assert_eq!(interpolate("no braces", &p), "no braces");
        assert_eq!(interpolate("open {", &p), "open {");
    }

    #[test]
    fn lang_parse_accepts_locale_forms() {
        assert_eq!(Lang::parse("zh_CN.UTF-8"), Some(Lang::ZhCn));
        assert_eq!(Lang::parse("en-US"), Some(Lang::En));
        assert_eq!(Lang::parse("fr"), None);
    }
}
