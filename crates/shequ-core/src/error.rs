//! One error type for the whole core. An error is a stable `code` the UI can branch on, plus
//! named parameters (file, row, column, value…) that the message catalogues interpolate.
//! The human text is never built here: `i18n::message` renders it in the user's language.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;
use ts_rs::TS;

use crate::i18n::{self, Lang};

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Stable error codes. Serialized in snake_case; each has an entry `errors.<code>` in
/// `assets/i18n/*.json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export, rename_all = "snake_case")]
pub enum ErrorCode {
    DataDirUnusable,
    DbCorrupt,
    DbNewerSchema,
    DbMigrationFailed,
    DbIo,
    FileUnreadable,
    CsvEmpty,
    CsvMissingColumns,
    CsvBadEncoding,
    CsvBadRow,
    CsvDuplicateCode,
    CommunityCodeExists,
    InvalidField,
    UnknownHousingForm,
    NotFound,
    FormInvalid,
    FormFileInvalid,
    InstrumentConflict,
    DemoAlreadyLoaded,
    ResponseReadOnly,
    ResponseDiscarded,
    /// A finalized version that already has a newer finalized version: editing it would fork.
    ResponseSuperseded,
    /// The draft was saved into by another process while it was being finalized.
    ResponseChanged,
    /// A value the form cannot hold at that key (unknown key, calculation, wrong type…).
    AnswerRefused,
    DbReadOnly,
    DbFull,
    ConsentRequired,
    NationalIdNotAllowed,
    InterviewIncomplete,
    InstrumentMissing,
    BundleInvalid,
    BundleKeyInvalid,
    UnencryptedExport,
    /// At the centre: no device has sent a bundle yet, so there is no key to encrypt the
    /// cluster and library records it sends back to.
    NoDeviceKeys,
    FileUnwritable,
    /// A file larger than the app reads for its kind (`size_mb`, `max_mb`).
    FileTooLarge,
    /// A value the user gave that cannot be used (`field`, `value`, and `why`: a key under
    /// `value_problems`).
    InvalidValue,
    /// An analysis threshold out of its range (`setting`, `value`, `min`, `max`).
    SettingOutOfRange,
    /// No survey round of that name (`round`, and `rounds`: the known ones).
    RoundNotFound,
    /// The passphrase does not open the data folder's database.
    WrongPassphrase,
    /// A new passphrase shorter than `min` characters.
    PassphraseTooShort,
    /// The two typings of a new passphrase differ.
    PassphraseMismatch,
    /// Too many wrong passphrases: the next try is allowed in `seconds`.
    UnlockThrottled,
    /// No passphrase given where one is needed (no terminal to ask, no `SHEQU_PASSPHRASE`).
    PassphraseRequired,
    /// The data is locked: unlock first.
    StoreLocked,
    /// Another window or command has the database open, so it cannot be re-encrypted now.
    StoreBusy,
    /// A bundle from a device the centre has not accepted yet (`device`, `fingerprint`).
    DeviceNotEnrolled,
    /// The window named a folder to write to that the person did not choose in the folder
    /// dialog (`folder`).
    FolderNotChosen,
    /// A resource or expert library file that cannot be imported (`file`, `library_problem`
    /// and what it names: `sheet`, `row`, `column`, `value`, …). Nothing is written.
    LibraryInvalid,
    /// A community cluster cannot be made or changed so (`cluster_problem` and what it names).
    ClusterInvalid,
    Internal,
}

/// The longest parameter value kept in an error, in characters.
pub const MAX_PARAM_CHARS: usize = 300;

/// A core error: a code and the parameters its message needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub code: ErrorCode,
    pub params: BTreeMap<String, String>,
}

impl Error {
    pub fn new(code: ErrorCode) -> Self {
        Error {
            code,
            params: BTreeMap::new(),
        }
    }

    /// Adds a named parameter for the message (`{name}` in the catalogue). A value longer
    /// than [`MAX_PARAM_CHARS`] is cut there with "…": a message names what was refused, it
    /// never echoes a megabyte back.
    pub fn with(mut self, key: &str, value: impl fmt::Display) -> Self {
        let mut value = value.to_string();
        if let Some((cut, _)) = value.char_indices().nth(MAX_PARAM_CHARS) {
            value.truncate(cut);
            value.push('…');
        }
        self.params.insert(key.to_string(), value);
        self
    }

    /// The message in the given language. A `file` (and `row`) parameter becomes a location
    /// prefix ("文件 x.csv 第 3 行："), so templates never repeat it; `field` and `fields`
    /// (comma-separated) hold catalogue keys under `fields.` and are translated, and so
    /// does `problem`, under `form_problems.`.
    pub fn message(&self, lang: Lang) -> String {
        let mut params = self.params.clone();
        for key in ["field", "fields"] {
            if let Some(v) = params.get_mut(key) {
                let sep = if lang == Lang::ZhCn { "、" } else { ", " };
                *v = v
                    .split(',')
                    .map(|f| {
                        let k = format!("fields.{}", f.trim());
                        i18n::lookup(lang, &k)
                            .map(str::to_string)
                            .unwrap_or_else(|| f.trim().to_string())
                    })
                    .collect::<Vec<_>>()
                    .join(sep);
            }
        }
        // Params holding catalogue keys: plain lookups first, then `problem`, a template
        // under `form_problems.` that may use the other params.
        for (key, prefix) in [
            ("expr_problem", "expr_problems"),
            ("hint", "form_hints"),
            // `refusal` first: a bundle problem's template may hold it.
            ("refusal", "answer_refusals"),
            ("bundle_problem", "bundle_problems"),
            ("library_problem", "library_problems"),
            ("cluster_problem", "cluster_problems"),
            ("io_problem", "io_problems"),
            ("what", "things"),
            ("why", "value_problems"),
            ("setting", "analysis.setting_names"),
        ] {
            if let Some(v) = params.get(key).cloned() {
                let full = format!("{prefix}.{v}");
                let text = if v.is_empty() {
                    String::new()
                } else if i18n::lookup(lang, &full).is_some() {
                    i18n::message(lang, &full, &params)
                } else {
                    v
                };
                params.insert(key.into(), text);
            }
        }
        if let Some(p) = params.get("problem").cloned() {
            let msg = i18n::message(lang, &format!("form_problems.{p}"), &params);
            params.insert("problem".into(), msg);
        }
        let body = i18n::message(lang, &format!("errors.{}", self.code_str()), &params);
        let location = match (params.contains_key("file"), params.contains_key("row")) {
            (true, true) => i18n::message(lang, "errors.location.row", &params),
            (true, false) => i18n::message(lang, "errors.location.file", &params),
            _ => String::new(),
        };
        format!("{location}{body}")
    }

    pub fn code_str(&self) -> String {
        match serde_json::to_value(self.code) {
            Ok(serde_json::Value::String(s)) => s,
            _ => "internal".into(),
        }
    }

    pub fn to_ipc(&self, lang: Lang) -> IpcError {
        IpcError {
            code: self.code,
            message: self.message(lang),
            params: self.params.clone(),
        }
    }

    pub fn internal(detail: impl fmt::Display) -> Self {
        Error::new(ErrorCode::Internal).with("detail", detail)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message(Lang::En))
    }
}

impl std::error::Error for Error {}

/// What crosses the IPC boundary: the UI branches on `code`, shows `message` (already in the
/// user's language) and may use `params` to point at a file, row or field.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct IpcError {
    pub code: ErrorCode,
    pub message: String,
    pub params: BTreeMap<String, String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_huge_parameter_is_cut_not_echoed() {
        let e = Error::new(ErrorCode::InvalidValue)
            .with("value", "社".repeat(1 << 20))
            .with("field", "x".repeat(300));
        assert_eq!(e.params["value"].chars().count(), MAX_PARAM_CHARS + 1);
        assert!(e.params["value"].ends_with("社…"));
        assert_eq!(e.params["field"], "x".repeat(300));
        assert!(e.message(Lang::ZhCn).chars().count() < 1000);
    }

    #[test]
    fn messages_interpolate_params_in_both_languages() {
        let e = Error::new(ErrorCode::CsvDuplicateCode)
            .with("file", "a.csv")
            .with("row", 4)
            .with("code", "JA-01")
            .with("first_row", 2);
        let zh = e.message(Lang::ZhCn);
        let en = e.message(Lang::En);
        assert!(
            zh.contains("a.csv") && zh.contains('4') && zh.contains("JA-01"),
            "{zh}"
        );
        assert!(
            en.contains("a.csv") && en.contains("row 4") && en.contains("JA-01"),
            "{en}"
        );
        assert_ne!(zh, en);
    }

    #[test]
    fn every_code_has_a_message_in_every_language() {
        use ErrorCode::*;
        for code in [
            DataDirUnusable,
            DbCorrupt,
            DbNewerSchema,
            DbMigrationFailed,
            DbIo,
            FileUnreadable,
            CsvEmpty,
            CsvMissingColumns,
            CsvBadEncoding,
            CsvBadRow,
            CsvDuplicateCode,
            CommunityCodeExists,
            InvalidField,
            UnknownHousingForm,
            NotFound,
            FormInvalid,
            InstrumentConflict,
            DemoAlreadyLoaded,
            FileUnwritable,
            ResponseSuperseded,
            ResponseChanged,
            AnswerRefused,
            Internal,
        ] {
            let e = Error::new(code);
            for lang in [Lang::ZhCn, Lang::En] {
                let key = format!("errors.{}", e.code_str());
                assert!(
                    i18n::lookup(lang, &key).is_some(),
                    "missing {key} in {lang:?}"
                );
            }
        }
    }
}
