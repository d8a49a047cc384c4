//! The centre's analysis, as pure functions over records: community profiles (dimension
//! scores with SD, CI and reliability; need degree; problem index; the portrait's verbatim
//! parts), the three-layer classification (housing form × the "三一六" social type × tags)
//! with its explanation, k-means beside it, governance checklists, the resource and expert
//! libraries with their vocabulary, matching needs to them, and community clusters (proposal
//! and the rotating chair). No I/O: the app layer reads the store and hands records in.

pub mod checklist;
pub mod classify;
pub mod clusters;
pub mod kmeans;
pub mod matching;
pub mod profile;
pub mod resources;
pub mod scheme;
pub mod stats;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use shequ_core::{Error, ErrorCode, Result};
use ts_rs::TS;

pub use checklist::{ChecklistItem, Library};
pub use classify::{Classification, SocialType};
pub use profile::{analyse, CommunityInfo, CommunityProfile, District, Respondent};
pub use scheme::Scheme;

/// The tags with a rate threshold (the fourth kind, top needs, comes from need degrees).
pub const TAGS: [&str; 3] = ["ageing", "migrant", "hardship"];

/// How the high/low cut-off of a dimension is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum CutoffMode {
    /// The same number for every dimension (`cutoff`).
    Fixed,
    /// Each dimension's median over the district's communities with enough data.
    Median,
}

/// Every threshold of the analysis; each is a setting the centre can change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct AnalysisSettings {
    /// Fewer finalized responses than this: "insufficient data", never a score or a type.
    pub min_responses: u32,
    pub cutoff_mode: CutoffMode,
    /// The fixed cut-off on the 0–100 scale.
    pub cutoff: f64,
    /// Identity within this distance of its cut-off is "borderline".
    pub borderline_margin: f64,
    /// Need degree tiers, in %.
    pub need_high: f64,
    pub need_medium: f64,
    /// Tag thresholds in % of respondents (`ageing`, `migrant`, `hardship`).
    pub tag_thresholds: BTreeMap<String, f64>,
    /// How many of the highest needs (at or above the medium tier) become tags.
    pub top_needs: u32,
    /// A need becomes a top need only when its item applied to at least this many
    /// respondents (a group need asked of three households says little).
    pub need_min_base: u32,
    /// How many of the highest problems (index at or above `problem_index_min`) select
    /// checklist items.
    pub top_problems: u32,
    /// Problem index (share in % × mean severity) from which a problem counts as a top one.
    pub problem_index_min: f64,
}

impl Default for AnalysisSettings {
    fn default() -> Self {
        AnalysisSettings {
            min_responses: 30,
            cutoff_mode: CutoffMode::Fixed,
            cutoff: 60.0,
            borderline_margin: 5.0,
            need_high: 60.0,
            need_medium: 50.0,
            tag_thresholds: [("ageing", 25.0), ("migrant", 30.0), ("hardship", 3.0)]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
            top_needs: 3,
            need_min_base: 10,
            top_problems: 3,
            problem_index_min: 40.0,
        }
    }
}

impl AnalysisSettings {
    /// Refuses a value out of its range, naming the setting (a catalogue key under
    /// `analysis.settings`) and the range.
    pub fn validate(&self) -> Result<()> {
        let check = |name: &str, v: f64, min: f64, max: f64| -> Result<()> {
            if v.is_finite() && v >= min && v <= max {
                Ok(())
            } else {
                Err(Error::new(ErrorCode::SettingOutOfRange)
                    .with("setting", name)
                    .with("value", v)
                    .with("min", min)
                    .with("max", max))
            }
        };
        check("min_responses", self.min_responses as f64, 2.0, 10000.0)?;
        check("cutoff", self.cutoff, 0.0, 100.0)?;
        check("borderline_margin", self.borderline_margin, 0.0, 50.0)?;
        check("need_high", self.need_high, 0.0, 100.0)?;
        check("need_medium", self.need_medium, 0.0, self.need_high)?;
        for tag in TAGS {
            let v = self.tag_thresholds.get(tag).copied().unwrap_or(f64::NAN);
            check(tag, v, 0.0, 100.0)?;
        }
        if let Some(k) = self
            .tag_thresholds
            .keys()
            .find(|k| !TAGS.contains(&k.as_str()))
        {
            return Err(Error::new(ErrorCode::SettingOutOfRange)
                .with("setting", k)
                .with("value", "?")
                .with("min", 0)
                .with("max", 100));
        }
        check("top_needs", self.top_needs as f64, 0.0, 10.0)?;
        check("need_min_base", self.need_min_base as f64, 1.0, 10000.0)?;
        check("top_problems", self.top_problems as f64, 0.0, 10.0)?;
        check("problem_index_min", self.problem_index_min, 0.0, 300.0)?;
        Ok(())
    }

    pub fn tag_threshold(&self, tag: &str) -> f64 {
        self.tag_thresholds.get(tag).copied().unwrap_or(100.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_out_of_range_are_refused_by_name() {
        assert!(AnalysisSettings::default().validate().is_ok());
        let mut s = AnalysisSettings {
            cutoff: 120.0,
            ..Default::default()
        };
        let e = s.validate().unwrap_err();
        assert_eq!(e.code, ErrorCode::SettingOutOfRange);
        assert_eq!(e.params["setting"], "cutoff");
        assert_eq!(e.params["max"], "100");
        s.cutoff = f64::NAN;
        assert_eq!(s.validate().unwrap_err().params["setting"], "cutoff");
        s.cutoff = 60.0;
        s.need_medium = 70.0; // above the high tier
        assert_eq!(s.validate().unwrap_err().params["setting"], "need_medium");
        s.need_medium = 50.0;
        s.tag_thresholds.insert("ageing".into(), -1.0);
        assert_eq!(s.validate().unwrap_err().params["setting"], "ageing");
        s.tag_thresholds.insert("ageing".into(), 25.0);
        s.min_responses = 1;
        assert_eq!(s.validate().unwrap_err().params["setting"], "min_responses");
    }
}
