//! The instrument (questionnaire) model: what an XLSForm becomes once read. The reader lives
//! in `shequ-forms`; this is the shape every other part of the app consumes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::i18n::Lang;

/// Text in several languages, keyed by the XLSForm language name (`中文 (zh)`, `English (en)`).
/// A column without a language (`label`) is stored under the key `default`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct LocalizedText(pub BTreeMap<String, String>);

impl LocalizedText {
    pub const NO_LANGUAGE: &'static str = "default";

    pub fn is_empty(&self) -> bool {
        self.0.values().all(|v| v.trim().is_empty())
    }

    /// The text for a UI language: the language whose code in parentheses matches
    /// (`中文 (zh)` for zh-CN), then the language-less column, then any text at all.
    pub fn pick(&self, lang: Lang) -> Option<&str> {
        let code = lang.form_code();
        self.0
            .iter()
            .find(|(k, v)| language_code(k).as_deref() == Some(code) && !v.is_empty())
            .or_else(|| {
                self.0
                    .iter()
                    .find(|(k, v)| k.as_str() == Self::NO_LANGUAGE && !v.is_empty())
            })
            .or_else(|| self.0.iter().find(|(_, v)| !v.is_empty()))
            .map(|(_, v)| v.as_str())
    }
}

/// The code inside the parentheses of an XLSForm language name: `中文 (zh)` → `zh`.
pub fn language_code(name: &str) -> Option<String> {
    let open = name.rfind('(')?;
    let close = name[open..].find(')')? + open;
    let code = name[open + 1..close].trim();
    (!code.is_empty()).then(|| code.to_ascii_lowercase())
}

/// One option of a choice list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Choice {
    pub name: String,
    pub label: LocalizedText,
    /// Other columns of the choices sheet (used by `choice_filter`, e.g. cascading selects).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub columns: BTreeMap<String, String>,
}

/// Scoring metadata carried in extra XLSForm columns that ODK tools ignore.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Scoring {
    /// The dimension a Likert item scores (`identity`, `interaction`, `linkages`, `efficacy`).
    pub dimension: Option<String>,
    /// Reverse-scored item: 1↔5 before averaging.
    pub reverse: bool,
    /// The need group a multi-select item feeds (`service`, `elderly`, `problem`…).
    pub need: Option<String>,
    /// A severity rating of one problem: the choice name of the `problem` item it rates
    /// (column `severity_of`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity_of: Option<String>,
    /// A community tag this answer counts towards, as `tag: expression` with `.` the answer
    /// (column `score_tag`, e.g. `ageing: . >= 60`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// A part of the community portrait this answer is reported in, verbatim or summed
    /// (column `profile`: `resources` or `suggestions`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// Personal data (column `personal`): data exports pseudonymise it unless the analyst
    /// asks for it, and that choice is audited.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub personal: bool,
}

/// A question (any XLSForm row that is not a group boundary).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Question {
    pub name: String,
    /// The XLSForm base type, canonical spelling: `text`, `integer`, `select_one`,
    /// `select_multiple`, `note`, `calculate`, `photo`…
    pub qtype: String,
    /// The choice list of a select or rank question.
    pub list_name: Option<String>,
    pub or_other: bool,
    pub label: LocalizedText,
    pub hint: LocalizedText,
    /// `true()` for "yes", or an expression; `None` when not required.
    pub required: Option<String>,
    pub required_message: LocalizedText,
    pub relevant: Option<String>,
    pub constraint: Option<String>,
    pub constraint_message: LocalizedText,
    pub calculation: Option<String>,
    pub default: Option<String>,
    /// `true()` for "yes", or an expression.
    pub read_only: Option<String>,
    pub appearance: Option<String>,
    pub choice_filter: Option<String>,
    pub parameters: Option<String>,
    pub scoring: Scoring,
    /// `false` for types a laptop cannot capture (photo, audio, geopoint, barcode…): kept so
    /// exports line up with ODK, never shown in an interview.
    pub supported: bool,
    /// The survey-sheet row it came from (1-based, header = 1); 0 when generated.
    pub row: u32,
    /// The instance-key path when the name is not unique in the form: the names of the
    /// non-repeat groups between the nearest enclosing repeat (or the form) and this item,
    /// then its name (`hh_a/age`). Empty, and absent from the JSON, when the name alone is
    /// the key (every form whose names are unique). Filled by `shequ_forms::state::assign_keys`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub key_path: String,
}

impl Question {
    /// The last part of its instance keys: the key path for a name used more than once,
    /// else the name (`age` at `age` or `rep[2]/age`, `hh_a/age` at `hh_a/age`).
    pub fn key_name(&self) -> &str {
        if self.key_path.is_empty() {
            &self.name
        } else {
            &self.key_path
        }
    }

    /// Whether the question can be answered by typing or picking (not a note, calculation,
    /// metadata or unsupported type).
    pub fn takes_input(&self) -> bool {
        self.supported
            && !matches!(
                self.qtype.as_str(),
                "note"
                    | "calculate"
                    | "hidden"
                    | "start"
                    | "end"
                    | "today"
                    | "deviceid"
                    | "username"
            )
    }
}

/// A row of the survey tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[ts(export)]
#[allow(clippy::large_enum_variant)] // a tree built once per form; boxing buys nothing here
pub enum FormItem {
    Question(Question),
    Group {
        name: String,
        label: LocalizedText,
        /// The group's hint (absent from definitions stored before it was read).
        #[serde(default, skip_serializing_if = "LocalizedText::is_empty")]
        hint: LocalizedText,
        relevant: Option<String>,
        appearance: Option<String>,
        repeat: bool,
        /// `repeat_count`: a fixed number or an expression.
        repeat_count: Option<String>,
        row: u32,
        children: Vec<FormItem>,
        /// The instance-key path when the name is not unique in the form: the names of the
        /// non-repeat groups between the nearest enclosing repeat (or the form) and this item,
        /// then its name (`hh_a/age`). Empty, and absent from the JSON, when the name alone is
        /// the key (every form whose names are unique). Filled by `shequ_forms::state::assign_keys`.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        key_path: String,
    },
}

/// A parsed instrument definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct FormDefinition {
    pub form_id: String,
    pub version: String,
    pub title: String,
    pub default_language: Option<String>,
    /// Language names in the order their columns appear.
    pub languages: Vec<String>,
    pub items: Vec<FormItem>,
    pub choices: BTreeMap<String, Vec<Choice>>,
}

impl FormDefinition {
    /// Every question in document order, groups flattened.
    pub fn questions(&self) -> Vec<&Question> {
        fn walk<'a>(items: &'a [FormItem], out: &mut Vec<&'a Question>) {
            for item in items {
                match item {
                    FormItem::Question(q) => out.push(q),
                    FormItem::Group { children, .. } => walk(children, out),
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.items, &mut out);
        out
    }

    pub fn question(&self, name: &str) -> Option<&Question> {
        self.questions().into_iter().find(|q| q.name == name)
    }

    /// Top-level groups: the blocks (A–J) of the default scale.
    pub fn blocks(&self) -> impl Iterator<Item = (&str, &LocalizedText, &[FormItem])> {
        self.items.iter().filter_map(|i| match i {
            FormItem::Group {
                name,
                label,
                children,
                ..
            } => Some((name.as_str(), label, children.as_slice())),
            FormItem::Question(_) => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(pairs: &[(&str, &str)]) -> LocalizedText {
        LocalizedText(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn language_code_reads_the_parenthesised_code() {
        assert_eq!(language_code("中文 (zh)").as_deref(), Some("zh"));
        assert_eq!(language_code("English (EN)").as_deref(), Some("en"));
        assert_eq!(language_code("English"), None);
        assert_eq!(language_code("x ()"), None);
    }

    #[test]
    fn pick_prefers_the_matching_language_then_default() {
        let t = text(&[("中文 (zh)", "你好"), ("English (en)", "Hello")]);
        assert_eq!(t.pick(Lang::ZhCn), Some("你好"));
        assert_eq!(t.pick(Lang::En), Some("Hello"));
        let d = text(&[("default", "Hi"), ("中文 (zh)", "")]);
        assert_eq!(d.pick(Lang::ZhCn), Some("Hi"));
        assert_eq!(LocalizedText::default().pick(Lang::En), None);
    }
}
