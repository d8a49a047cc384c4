//! How far long work has got. The app reports the stage it is in and, where there is a
//! natural count (responses checked, files written), how many of how many; the desktop shell
//! forwards each report to the window as an event, the CLI could draw a bar. Reporting is
//! optional and cheap: with no sink set, nothing happens.

use serde::Serialize;
use ts_rs::TS;

use crate::App;

/// The stage of a long piece of work; the window shows `progress.<stage>` from its catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export, rename_all = "snake_case")]
pub enum Stage {
    /// A bundle is being decrypted and its signature checked.
    OpenBundle,
    /// Each response of a bundle checked against its form.
    CheckBundle,
    /// The checked bundle written into the store.
    SaveBundle,
    /// Responses gathered for a bundle.
    CollectBundle,
    /// The bundle signed, encrypted and written.
    WriteBundle,
    /// Data files written, one per form.
    WriteData,
    /// Profiles and classification worked out for a report.
    Analyse,
    /// The Word report written.
    WriteReport,
    /// The demo district generated through the save path.
    LoadDemo,
    /// A workbook read and its form checked.
    ReadForm,
}

impl Stage {
    pub const ALL: [Stage; 10] = [
        Stage::OpenBundle,
        Stage::CheckBundle,
        Stage::SaveBundle,
        Stage::CollectBundle,
        Stage::WriteBundle,
        Stage::WriteData,
        Stage::Analyse,
        Stage::WriteReport,
        Stage::LoadDemo,
        Stage::ReadForm,
    ];
}

/// One report: `done` of `total` in `stage`. Every piece of work ends with a report whose
/// `done` is its `total` (above 0), so the window knows when to take the bar away.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct Progress {
    pub stage: Stage,
    pub done: u32,
    pub total: u32,
}

/// Where reports go. Called on the thread doing the work, so it must be quick.
pub type ProgressSink = Box<dyn Fn(Progress) + Send + Sync>;

impl App {
    /// Sends progress reports of long work to `sink` (none: reports are dropped).
    pub fn set_progress(&mut self, sink: Option<ProgressSink>) {
        self.progress = sink;
    }

    pub(crate) fn progress(&self, stage: Stage, done: usize, total: usize) {
        report(&self.progress, stage, done, total)
    }
}

/// A report to `sink`, if there is one; for code that holds other parts of the app borrowed.
pub(crate) fn report(sink: &Option<ProgressSink>, stage: Stage, done: usize, total: usize) {
    if let Some(sink) = sink {
        let n = |v: usize| u32::try_from(v).unwrap_or(u32::MAX);
        sink(Progress {
            stage,
            done: n(done),
            total: n(total),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use std::sync::{Arc, Mutex};

    #[test]
    fn every_stage_has_its_words_in_both_languages() {
        for stage in Stage::ALL {
            let key = format!(
                "progress.{}",
                serde_json::to_value(stage).unwrap().as_str().unwrap()
            );
            for lang in [shequ_core::Lang::ZhCn, shequ_core::Lang::En] {
                assert!(
                    shequ_core::i18n::lookup(lang, &key).is_some(),
                    "{key} in {lang:?}"
                );
            }
        }
    }

    #[test]
    fn long_work_reports_its_stages_in_order_and_counts_up_to_the_total() {
        let dir = tempfile::tempdir().unwrap();
        let now = chrono::Utc.with_ymd_and_hms(2026, 3, 1, 8, 0, 0).unwrap();
        let pass = crate::Passphrase::new("test passphrase");
        let mut app = App::open(dir.path(), &pass, now).unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        app.set_progress(Some(Box::new(move |p| sink.lock().unwrap().push(p))));
        app.load_demo(now).unwrap();
        app.set_progress(None);
        let seen = std::mem::take(&mut *seen.lock().unwrap());
        assert!(seen.iter().all(|p| p.stage == Stage::LoadDemo));
        let last = seen.last().unwrap();
        assert_eq!(last.done, last.total, "the last report is the whole");
        assert!(last.total >= 12, "one step a community at least: {last:?}");
        assert!(
            seen.windows(2).all(|w| w[0].done <= w[1].done),
            "never counts back: {seen:?}"
        );

        // An export of the data: one report a form, then the whole.
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        app.set_progress(Some(Box::new(move |p| sink.lock().unwrap().push(p))));
        let out = dir.path().join("out");
        app.export_data(
            crate::exports::DataFormat::Csv,
            None,
            &out,
            crate::exports::PersonalData::Pseudonymise,
            now,
        )
        .unwrap();
        let seen = seen.lock().unwrap();
        assert_eq!(
            seen.first().map(|p| (p.stage, p.done)),
            Some((Stage::WriteData, 0))
        );
        let last = seen.last().unwrap();
        assert_eq!(last.stage, Stage::WriteData);
        assert_eq!(last.done, last.total, "{seen:?}");
        assert_eq!(
            seen.len() as u32,
            last.total + 1,
            "one report a form, then the whole"
        );
    }

    #[test]
    fn a_bundle_import_reports_opening_each_response_checked_and_the_save() {
        let root = tempfile::tempdir().unwrap();
        let now = chrono::Utc.with_ymd_and_hms(2026, 3, 1, 8, 0, 0).unwrap();
        let pass = crate::Passphrase::new("test passphrase");
        let mut laptop = App::open(&root.path().join("laptop"), &pass, now).unwrap();
        laptop.load_demo(now).unwrap();
        let out = root.path().join("out");
        std::fs::create_dir(&out).unwrap();
        let (path, row) = laptop.export_bundle_to(&out, false, true, now).unwrap();
        let bytes = std::fs::read(path).unwrap();
        let mut centre = App::open(&root.path().join("centre"), &pass, now).unwrap();
        centre
            .accept_device(&laptop.device_fingerprint().unwrap())
            .unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        centre.set_progress(Some(Box::new(move |p| sink.lock().unwrap().push(p))));
        centre.import_bundle(&bytes, "b.shequ", false, now).unwrap();
        let seen = seen.lock().unwrap();
        let stages: Vec<Stage> = seen.iter().map(|p| p.stage).collect();
        let mut order = stages.clone();
        order.dedup();
        assert_eq!(
            order,
            [Stage::OpenBundle, Stage::CheckBundle, Stage::SaveBundle],
            "{seen:?}"
        );
        let checks: Vec<&Progress> = seen
            .iter()
            .filter(|p| p.stage == Stage::CheckBundle)
            .collect();
        assert!(
            checks.iter().all(|p| p.total == row.responses),
            "{checks:?}"
        );
        assert_eq!(checks.last().unwrap().done, row.responses);
        // One report every 16 responses, then the whole.
        assert_eq!(checks.len() as u32, row.responses.div_ceil(16) + 1);
        let last = seen.last().unwrap();
        assert_eq!(
            (last.stage, last.done, last.total),
            (Stage::SaveBundle, 1, 1)
        );
    }
}
