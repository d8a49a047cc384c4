//! Data exports for Excel and analysts: the latest finalized version of every response, per
//! form version, as CSV files, one XLSX workbook, or JSON Lines (formats: `shequ-export`).
//! Every file goes through `shequ_core::fs` (temporary file, fsync, rename, fsync folder):
//! a destination that cannot be written is a `FileUnwritable` error naming it.

use std::path::{Path, PathBuf};

use serde::Serialize;
use shequ_core::{Lang, Result};
use shequ_export::{ExportResponse, Values};
use ts_rs::TS;

use crate::progress::Stage;
use crate::App;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export, rename_all = "snake_case")]
pub enum DataFormat {
    Csv,
    Xlsx,
    Jsonl,
}

/// How a data export treats personal data: the respondent field of every interview and the
/// answers to questions marked `personal` in the form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export, rename_all = "snake_case")]
pub enum PersonalData {
    /// Each value replaced by a pseudonym (`p:` and 12 hex digits of a salted SHA-256), the
    /// same value always the same pseudonym in this data folder, so rows can still be linked.
    Pseudonymise,
    /// As recorded; the choice is audited.
    Include,
}

const SETTING_PSEUDONYM_SALT: &str = "pseudonym_salt";

/// `p:` and the first 12 hex digits of SHA-256(salt ‖ value); empty stays empty.
pub fn pseudonym(salt: &str, value: &str) -> String {
    use sha2::{Digest, Sha256};
    if value.is_empty() {
        return String::new();
    }
    let mut h = Sha256::new();
    h.update(salt.as_bytes());
    h.update([0u8]);
    h.update(value.as_bytes());
    format!("p:{}", &hex::encode(h.finalize())[..12])
}

impl App {
    /// Writes the exports into `dir`; returns the files written and the number of responses.
    /// Personal data is pseudonymised unless `personal` is `Include`; either way the choice
    /// is audited.
    pub fn export_data(
        &mut self,
        format: DataFormat,
        labels: Option<Lang>,
        dir: &Path,
        personal: PersonalData,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(Vec<PathBuf>, u32)> {
        let salt = match self.store().setting(SETTING_PSEUDONYM_SALT)? {
            Some(s) => s,
            None => {
                let mut b = [0u8; 32];
                getrandom::fill(&mut b).map_err(shequ_core::Error::internal)?;
                let s = hex::encode(b);
                self.store_mut().set_setting(SETTING_PSEUDONYM_SALT, &s)?;
                s
            }
        };
        let result = self.write_exports(format, labels, dir, personal, &salt)?;
        let actor = self.actor();
        let choice = match personal {
            PersonalData::Include => "included",
            PersonalData::Pseudonymise => "pseudonymised",
        };
        self.store_mut()
            .audit_export(choice, &dir.display().to_string(), &actor, now)?;
        Ok(result)
    }

    fn write_exports(
        &self,
        format: DataFormat,
        labels: Option<Lang>,
        dir: &Path,
        personal: PersonalData,
        salt: &str,
    ) -> Result<(Vec<PathBuf>, u32)> {
        // The folder is made when only its last part is missing (`--out exports`); a missing
        // parent (a pulled USB stick) is an error, never a new folder on the laptop's disk.
        if !dir.is_dir() {
            std::fs::create_dir(dir).map_err(|e| shequ_core::fs::unwritable(dir, &e))?;
        }
        let values = labels.map_or(Values::Names, Values::Labels);
        let (mut files, mut count) = (Vec::new(), 0u32);
        let instruments = self.store().instruments()?;
        let forms = instruments.len();
        for (n, rec) in instruments.into_iter().enumerate() {
            self.progress(Stage::WriteData, n, forms);
            // Instance keys of personal questions, by their question (`rep[2]/name` too).
            let personal_names: std::collections::HashSet<String> = rec
                .definition
                .questions()
                .into_iter()
                .filter(|q| q.scoring.personal)
                .map(|q| q.key_name().to_string())
                .collect();
            let is_personal = |key: &str| {
                personal_names.contains(key)
                    || key.rsplit_once(']').is_some_and(|(_, rest)| {
                        personal_names.contains(rest.trim_start_matches('/'))
                    })
            };
            let hide = |v: String| match personal {
                PersonalData::Include => v,
                PersonalData::Pseudonymise => pseudonym(salt, &v),
            };
            let rows: Vec<ExportResponse> = self
                .store()
                .export_records(rec.summary.id)?
                .into_iter()
                .map(|r| ExportResponse {
                    instance_id: r.instance_id,
                    deprecated_id: r.deprecated_id,
                    community_code: r.community_code,
                    community_name: r.community_name,
                    interviewer: r.interviewer,
                    respondent: hide(r.respondent),
                    finalized_at: r.finalized_at,
                    answers: r
                        .answers
                        .into_iter()
                        .map(|(k, v)| {
                            let v = if is_personal(&k) { hide(v) } else { v };
                            (k, v)
                        })
                        .collect(),
                    repeat_counts: r.repeat_counts,
                })
                .collect();
            if rows.is_empty() {
                continue;
            }
            count += rows.len() as u32;
            let def = &rec.definition;
            // Made file-name safe: no form id or version can name a path outside `dir`.
            let stem = shequ_export::file_stem(def);
            match format {
                DataFormat::Csv => files.extend(shequ_export::write_csv(def, &rows, values, dir)?),
                DataFormat::Xlsx => {
                    let p = dir.join(format!("{stem}.xlsx"));
                    shequ_export::write_xlsx(def, &rows, values, labels.unwrap_or_default(), &p)?;
                    files.push(p);
                }
                DataFormat::Jsonl => {
                    let p = dir.join(format!("{stem}.jsonl"));
                    shequ_export::write_jsonl(&rows, &p)?;
                    files.push(p);
                }
            }
        }
        self.progress(Stage::WriteData, forms, forms);
        Ok((files, count))
    }
}
