//! Reports a person takes away: a community's portrait and governance checklist (.docx) and
//! the district's classification table (.xlsx). The formats belong to `shequ-report`; this
//! module gathers the analysis and writes the file durably, or nothing.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use shequ_core::{fs::write_atomic, Error, ErrorCode, Lang, Result};
use shequ_report::{classification_xlsx, community_docx, CommunityReport};

use crate::progress::Stage;
use crate::App;

/// A file name part with nothing a file system refuses: path separators, reserved
/// characters and control characters become `_`.
pub(crate) fn file_name_safe(s: &str) -> String {
    let out: String = s
        .trim()
        .chars()
        .map(|c| match c {
            '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|' => '_',
            c if c.is_control() => '_',
            c => c,
        })
        .collect();
    let out = out
        .trim_matches(|c: char| c == '.' || c.is_whitespace())
        .to_string();
    if out.is_empty() {
        "_".to_string()
    } else {
        out
    }
}

impl App {
    /// Writes the community's profile and checklist as .docx into `out_dir` (durably, via
    /// `write_atomic`), named `社区肖像-{code}-{round}.docx`; returns the path.
    pub fn community_report(
        &self,
        code: &str,
        round: Option<&str>,
        lang: Lang,
        out_dir: &Path,
        now: DateTime<Utc>,
    ) -> Result<PathBuf> {
        self.community_report_at(code, round, lang, now, |district| {
            out_dir.join(format!(
                "社区肖像-{}-{}.docx",
                file_name_safe(code),
                file_name_safe(&district.round)
            ))
        })
    }

    /// The same report written to exactly `path` (`shequ report --out FILE.docx`).
    pub fn community_report_to(
        &self,
        code: &str,
        round: Option<&str>,
        lang: Lang,
        path: &Path,
        now: DateTime<Utc>,
    ) -> Result<PathBuf> {
        self.community_report_at(code, round, lang, now, |_| path.to_path_buf())
    }

    fn community_report_at(
        &self,
        code: &str,
        round: Option<&str>,
        lang: Lang,
        now: DateTime<Utc>,
        path: impl FnOnce(&shequ_analysis::District) -> PathBuf,
    ) -> Result<PathBuf> {
        if self.store().community_by_code(code)?.is_none() {
            return Err(Error::new(ErrorCode::NotFound)
                .with("what", "community")
                .with("id", code));
        }
        self.progress(Stage::Analyse, 0, 2);
        let district = self.district(round, None)?;
        let checklist = self.checklist_in(&district, code)?;
        self.progress(Stage::WriteReport, 1, 2);
        let bytes = community_docx(&CommunityReport {
            district: &district,
            code,
            checklist: &checklist,
            lang,
            generated_at: now
                .with_timezone(&self.utc_offset)
                .format("%Y-%m-%d %H:%M")
                .to_string(),
        })?;
        let path = path(&district);
        write_atomic(&path, &bytes)?;
        self.progress(Stage::WriteReport, 2, 2);
        Ok(path)
    }

    /// Writes the classification table as .xlsx into `out_dir`, `社区分类-{round}.xlsx`;
    /// returns the path.
    pub fn classification_report(
        &self,
        round: Option<&str>,
        lang: Lang,
        out_dir: &Path,
    ) -> Result<PathBuf> {
        self.classification_report_at(round, lang, |d| {
            out_dir.join(format!("社区分类-{}.xlsx", file_name_safe(&d.round)))
        })
    }

    /// The same table written to exactly `path` (`shequ report --classification --out F.xlsx`).
    pub fn classification_report_to(
        &self,
        round: Option<&str>,
        lang: Lang,
        path: &Path,
    ) -> Result<PathBuf> {
        self.classification_report_at(round, lang, |_| path.to_path_buf())
    }

    fn classification_report_at(
        &self,
        round: Option<&str>,
        lang: Lang,
        path: impl FnOnce(&shequ_analysis::District) -> PathBuf,
    ) -> Result<PathBuf> {
        self.progress(Stage::Analyse, 0, 2);
        let district = self.district(round, None)?;
        self.progress(Stage::WriteReport, 1, 2);
        let bytes = classification_xlsx(&district, lang)?;
        let path = path(&district);
        write_atomic(&path, &bytes)?;
        self.progress(Stage::WriteReport, 2, 2);
        Ok(path)
    }
}

#[cfg(test)]
mod tests {
    use super::file_name_safe;

    #[test]
    fn file_names_lose_what_a_file_system_refuses() {
        assert_eq!(file_name_safe("2026 年度"), "2026 年度");
        assert_eq!(file_name_safe("a/b\\c:d*?\"<>|"), "a_b_c_d______");
        assert_eq!(file_name_safe(" .. "), "_");
    }
}
