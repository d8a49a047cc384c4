//! Bringing a designer's XLSForm in: a preview of what would be installed (structure,
//! languages, warnings, whether it is a new form, a new version or already there), then the
//! import itself. Versions: the same `form_id` with a new `version` adds a version and
//! existing responses keep theirs; the same version with other content is refused.

use chrono::{DateTime, Utc};
use serde::Serialize;
use shequ_core::{Error, ErrorCode, FormItem, Lang, Result};
use shequ_store::InstrumentSummary;
use ts_rs::TS;

use crate::progress::Stage;
use crate::App;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export, rename_all = "snake_case")]
pub enum ImportStatus {
    /// No version of this form is installed.
    NewForm,
    /// Other versions of this form are installed; this one is added beside them.
    NewVersion,
    /// This very version, with the same content, is already installed.
    Unchanged,
}

/// One row of a form's outline, as the import screen shows it.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct OutlineRow {
    pub depth: u32,
    pub name: String,
    /// `group`, `repeat`, or the question type.
    pub kind: String,
    pub label: String,
    pub required: bool,
    pub conditional: bool,
    pub supported: bool,
}

/// What importing a workbook would do.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct InstrumentPreview {
    pub source: String,
    pub form_id: String,
    pub version: String,
    pub title: String,
    pub languages: Vec<String>,
    pub question_count: u32,
    pub outline: Vec<OutlineRow>,
    /// Warnings, already in the user's language, each with its sheet and row.
    pub warnings: Vec<String>,
    pub status: ImportStatus,
    pub installed_versions: Vec<String>,
}

fn outline(items: &[FormItem], depth: u32, lang: Lang, out: &mut Vec<OutlineRow>) {
    for item in items {
        match item {
            FormItem::Group {
                name,
                label,
                relevant,
                repeat,
                children,
                ..
            } => {
                out.push(OutlineRow {
                    depth,
                    name: name.clone(),
                    kind: if *repeat {
                        "repeat".into()
                    } else {
                        "group".into()
                    },
                    label: label.pick(lang).unwrap_or_default().to_string(),
                    required: false,
                    conditional: relevant.is_some(),
                    supported: true,
                });
                outline(children, depth + 1, lang, out);
            }
            FormItem::Question(q) => out.push(OutlineRow {
                depth,
                name: q.name.clone(),
                kind: match &q.list_name {
                    Some(l) => format!("{} {l}", q.qtype),
                    None => q.qtype.clone(),
                },
                label: q.label.pick(lang).unwrap_or_default().to_string(),
                required: q.required.is_some(),
                conditional: q.relevant.is_some(),
                supported: q.supported,
            }),
        }
    }
}

impl App {
    /// Reads a workbook and says what importing it would do. Writes nothing.
    pub fn preview_instrument(
        &self,
        bytes: &[u8],
        source: &str,
        lang: Lang,
    ) -> Result<InstrumentPreview> {
        self.progress(Stage::ReadForm, 0, 1);
        let imported = shequ_forms::import_xlsform(bytes, source)?;
        let def = &imported.definition;
        let installed: Vec<_> = self
            .store()
            .instruments()?
            .into_iter()
            .filter(|r| r.summary.form_id == def.form_id)
            .collect();
        let status = match installed.iter().find(|r| r.summary.version == def.version) {
            Some(same) if same.content_sha256 == shequ_store::content_hash(def)? => {
                ImportStatus::Unchanged
            }
            Some(_) => {
                return Err(Error::new(ErrorCode::InstrumentConflict)
                    .with("form_id", &def.form_id)
                    .with("version", &def.version))
            }
            None if installed.is_empty() => ImportStatus::NewForm,
            None => ImportStatus::NewVersion,
        };
        let mut rows = Vec::new();
        outline(&def.items, 0, lang, &mut rows);
        self.progress(Stage::ReadForm, 1, 1);
        Ok(InstrumentPreview {
            source: source.to_string(),
            form_id: def.form_id.clone(),
            version: def.version.clone(),
            title: def.title.clone(),
            languages: def.languages.clone(),
            question_count: def.questions().len() as u32,
            outline: rows,
            warnings: imported.warnings.iter().map(|w| w.message(lang)).collect(),
            status,
            installed_versions: installed.into_iter().map(|r| r.summary.version).collect(),
        })
    }

    /// Imports a workbook (after the same checks as the preview).
    pub fn import_instrument(
        &mut self,
        bytes: &[u8],
        source: &str,
        now: DateTime<Utc>,
    ) -> Result<(InstrumentSummary, ImportStatus)> {
        let preview = self.preview_instrument(bytes, source, Lang::En)?;
        let def = shequ_forms::read_xlsform(bytes, source)?;
        let actor = self.actor();
        let record = self
            .store_mut()
            .install_instrument(&def, Some(source), &actor, now)?;
        Ok((record.summary, preview.status))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 1, 8, 0, 0).unwrap()
    }

    fn scale_with(version: &str, title: &str) -> Vec<u8> {
        let mut wb = rust_xlsxwriter::Workbook::new();
        let s = wb.add_worksheet();
        s.set_name("survey").unwrap();
        for (c, h) in ["type", "name", "label::中文 (zh)", "label::English (en)"]
            .iter()
            .enumerate()
        {
            s.write_string(0, c as u16, *h).unwrap();
        }
        for (c, v) in ["text", "q", "问题", "Question"].iter().enumerate() {
            s.write_string(1, c as u16, *v).unwrap();
        }
        let st = wb.add_worksheet();
        st.set_name("settings").unwrap();
        for (c, (h, v)) in [
            ("form_id", "district_form"),
            ("version", version),
            ("form_title", title),
        ]
        .iter()
        .enumerate()
        {
            st.write_string(0, c as u16, *h).unwrap();
            st.write_string(1, c as u16, *v).unwrap();
        }
        wb.save_to_buffer().unwrap()
    }

    #[test]
    fn versions_add_repeat_idempotently_and_conflict_when_content_differs() {
        let dir = tempfile::tempdir().unwrap();
        let mut app = App::open(
            dir.path(),
            &crate::Passphrase::new("test passphrase"),
            now(),
        )
        .unwrap();
        let v1 = scale_with("1", "区表");
        let p = app
            .preview_instrument(&v1, "district.xlsx", Lang::ZhCn)
            .unwrap();
        assert_eq!(
            (p.status, p.question_count, p.title.as_str()),
            (ImportStatus::NewForm, 1, "区表")
        );
        assert_eq!(p.outline[0].label, "问题");
        assert_eq!(
            app.import_instrument(&v1, "district.xlsx", now())
                .unwrap()
                .1,
            ImportStatus::NewForm
        );
        assert_eq!(
            app.import_instrument(&v1, "district.xlsx", now())
                .unwrap()
                .1,
            ImportStatus::Unchanged
        );
        let v2 = scale_with("2", "区表（修订）");
        assert_eq!(
            app.preview_instrument(&v2, "d.xlsx", Lang::En)
                .unwrap()
                .status,
            ImportStatus::NewVersion
        );
        app.import_instrument(&v2, "d.xlsx", now()).unwrap();
        let changed_v1 = scale_with("1", "另一个标题");
        let err = app
            .import_instrument(&changed_v1, "d.xlsx", now())
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::InstrumentConflict);
        let versions: Vec<String> = app
            .instruments()
            .unwrap()
            .into_iter()
            .filter(|i| i.form_id == "district_form")
            .map(|i| i.version)
            .collect();
        assert_eq!(versions, vec!["1", "2"]);
    }

    #[test]
    fn unsupported_types_are_kept_and_warned_about() {
        let dir = tempfile::tempdir().unwrap();
        let app = App::open(
            dir.path(),
            &crate::Passphrase::new("test passphrase"),
            now(),
        )
        .unwrap();
        let bytes = std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../tests/fixtures/xlsform/ok_unsupported_media.xlsx"),
        )
        .unwrap();
        let p = app
            .preview_instrument(&bytes, "media.xlsx", Lang::ZhCn)
            .unwrap();
        assert_eq!(p.warnings.len(), 4, "{:?}", p.warnings);
        assert!(
            p.warnings[0].starts_with("工作表 survey 第 3 行：") && p.warnings[0].contains("photo"),
            "{}",
            p.warnings[0]
        );
        assert_eq!(p.outline.iter().filter(|r| !r.supported).count(), 4);
    }
}
