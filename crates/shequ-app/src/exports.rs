//! Data exports for Excel and analysts: the latest finalized version of every response, per
//! form version, as CSV files, one XLSX workbook, or JSON Lines (formats: `shequ-export`).
//! Every file goes through `shequ_core::fs` (temporary file, fsync, rename, fsync folder):
//! a destination that cannot be written is a `FileUnwritable` error naming it.

use std::path::{Path, PathBuf};

use serde::Serialize;
use shequ_core::{Lang, Result};
use shequ_export::{ExportResponse, Values};
use ts_rs::TS;

use crate::App;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export, rename_all = "snake_case")]
pub enum DataFormat {
    Csv,
    Xlsx,
    Jsonl,
}

impl App {
    /// Writes the exports into `dir`; returns the files written and the number of responses.
    pub fn export_data(
        &self,
        format: DataFormat,
        labels: Option<Lang>,
        dir: &Path,
    ) -> Result<(Vec<PathBuf>, u32)> {
        // The folder is made when only its last part is missing (`--out exports`); a missing
        // parent (a pulled USB stick) is an error, never a new folder on the laptop's disk.
        if !dir.is_dir() {
            std::fs::create_dir(dir).map_err(|e| shequ_core::fs::unwritable(dir, &e))?;
        }
        let values = labels.map_or(Values::Names, Values::Labels);
        let (mut files, mut count) = (Vec::new(), 0u32);
        for rec in self.store().instruments()? {
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
                    respondent: r.respondent,
                    finalized_at: r.finalized_at,
                    answers: r.answers,
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
        Ok((files, count))
    }
}
