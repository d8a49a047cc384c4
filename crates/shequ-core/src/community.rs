//! Communities (社区 / 居委会) and their housing form (房屋业态), the first classification layer.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;
use uuid::Uuid;

use crate::error::{Error, ErrorCode, Result};
use crate::i18n::{self, Lang};

/// Housing form (房屋业态), layer 1 of the classification (DESIGN.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export, rename_all = "snake_case")]
pub enum HousingForm {
    /// 老旧小区/售后公房
    OldPublic,
    /// 普通商品房
    Commercial,
    /// 高档/涉外商品房
    HighEnd,
    /// 拆迁安置/动迁
    Resettlement,
    /// 村改居
    VillageConverted,
    /// 单位型
    WorkUnit,
    /// 保障房/大型居住区
    LargeEstate,
    /// 混合型
    Mixed,
}

impl HousingForm {
    pub const ALL: [HousingForm; 8] = [
        HousingForm::OldPublic,
        HousingForm::Commercial,
        HousingForm::HighEnd,
        HousingForm::Resettlement,
        HousingForm::VillageConverted,
        HousingForm::WorkUnit,
        HousingForm::LargeEstate,
        HousingForm::Mixed,
    ];

    pub fn code(self) -> &'static str {
        match self {
            HousingForm::OldPublic => "old_public",
            HousingForm::Commercial => "commercial",
            HousingForm::HighEnd => "high_end",
            HousingForm::Resettlement => "resettlement",
            HousingForm::VillageConverted => "village_converted",
            HousingForm::WorkUnit => "work_unit",
            HousingForm::LargeEstate => "large_estate",
            HousingForm::Mixed => "mixed",
        }
    }

    pub fn from_code(code: &str) -> Option<HousingForm> {
        HousingForm::ALL.into_iter().find(|h| h.code() == code)
    }

    pub fn label(self, lang: Lang) -> String {
        i18n::text(lang, &format!("housing.{}", self.code()))
    }

    /// Reads a housing form as people write it in a spreadsheet: the code (`old_public`),
    /// the full Chinese or English label, or either half of a "A/B" Chinese label
    /// (`老旧小区`, `售后公房`, `动迁`). Case and surrounding spaces are ignored.
    pub fn parse(input: &str) -> Option<HousingForm> {
        let norm = |s: &str| {
            s.trim()
                .to_lowercase()
                .replace(['／', ' '], "/")
                .replace("//", "/")
        };
        let wanted = norm(input);
        if wanted.is_empty() {
            return None;
        }
        HousingForm::ALL.into_iter().find(|h| {
            if h.code() == wanted {
                return true;
            }
            [Lang::ZhCn, Lang::En].into_iter().any(|lang| {
                let label = norm(&h.label(lang));
                label == wanted || (lang == Lang::ZhCn && label.split('/').any(|p| p == wanted))
            })
        })
    }
}

/// A community (社区, administered by a residents' committee 居委会).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Community {
    #[ts(type = "string")]
    pub id: Uuid,
    /// The district's own code for the community, unique in a store.
    pub code: String,
    pub name: String,
    /// 街道 (subdistrict).
    pub street: String,
    /// 区 (district).
    pub district: String,
    pub housing_form: HousingForm,
    /// Number of households, when known.
    pub households: Option<u32>,
    /// Target number of completed interviews (目标样本量).
    pub target_sample: u32,
    #[ts(type = "string")]
    pub created_at: DateTime<Utc>,
    #[ts(type = "string")]
    pub updated_at: DateTime<Utc>,
}

/// What a user supplies to create a community.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct NewCommunity {
    pub code: String,
    pub name: String,
    pub street: String,
    pub district: String,
    pub housing_form: HousingForm,
    pub households: Option<u32>,
    pub target_sample: u32,
}

/// The reliability floor of DESIGN.md: fewer finalized interviews is "low reliability".
pub const MIN_RELIABLE_SAMPLE: u32 = 30;

impl NewCommunity {
    /// Checks the fields a person typed; `field` names in errors match the catalogue's
    /// `community.fields.*` keys.
    pub fn validate(&self) -> Result<()> {
        let bad = |field: &str, value: &str| {
            Err(Error::new(ErrorCode::InvalidField)
                .with("field", field)
                .with("value", value))
        };
        let code = self.code.trim();
        if code.is_empty() || code.chars().count() > 32 || code.chars().any(|c| c.is_control()) {
            return bad("code", &self.code);
        }
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 100 || name.chars().any(|c| c.is_control()) {
            return bad("name", &self.name);
        }
        for (field, value) in [("street", &self.street), ("district", &self.district)] {
            if value.chars().count() > 100 || value.chars().any(|c| c.is_control()) {
                return bad(field, value);
            }
        }
        if self.target_sample == 0 || self.target_sample > 100_000 {
            return bad("target_sample", &self.target_sample.to_string());
        }
        if let Some(h) = self.households {
            if h == 0 || h > 1_000_000 {
                return bad("households", &h.to_string());
            }
        }
        Ok(())
    }

    /// Trims every text field.
    pub fn normalized(mut self) -> Self {
        for s in [
            &mut self.code,
            &mut self.name,
            &mut self.street,
            &mut self.district,
        ] {
            *s = s.trim().to_string();
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn housing_form_parses_codes_and_labels() {
        let cases = [
            ("old_public", Some(HousingForm::OldPublic)),
            ("老旧小区/售后公房", Some(HousingForm::OldPublic)),
            ("售后公房", Some(HousingForm::OldPublic)),
            (" 老旧小区 ", Some(HousingForm::OldPublic)),
            ("普通商品房", Some(HousingForm::Commercial)),
            ("动迁", Some(HousingForm::Resettlement)),
            ("村改居", Some(HousingForm::VillageConverted)),
            ("Mixed", Some(HousingForm::Mixed)),
            ("WORK_UNIT", Some(HousingForm::WorkUnit)),
            ("大型居住区", Some(HousingForm::LargeEstate)),
            ("别墅", None),
            ("", None),
        ];
        for (input, want) in cases {
            assert_eq!(HousingForm::parse(input), want, "{input:?}");
        }
    }

    #[test]
    fn every_housing_form_has_distinct_labels() {
        for lang in [Lang::ZhCn, Lang::En] {
            let mut labels: Vec<String> = HousingForm::ALL.iter().map(|h| h.label(lang)).collect();
            labels.sort();
            labels.dedup();
            assert_eq!(labels.len(), 8);
            assert!(
                !labels.iter().any(|l| l.starts_with("housing.")),
                "{labels:?}"
            );
        }
        assert_eq!(
            HousingForm::OldPublic.label(Lang::ZhCn),
            "老旧小区/售后公房"
        );
    }

    fn sample() -> NewCommunity {
        NewCommunity {
            code: "JA-01".into(),
            name: "三兴居委".into(),
            street: "石门二路街道".into(),
            district: "静安区".into(),
            housing_form: HousingForm::OldPublic,
            households: Some(418),
            target_sample: 50,
        }
    }

    #[test]
    fn validation_names_the_bad_field() {
        assert!(sample().validate().is_ok());
        type Case = (fn(&mut NewCommunity), &'static str);
        let cases: Vec<Case> = vec![
            (|c| c.code = "  ".into(), "code"),
            (|c| c.name = String::new(), "name"),
            (|c| c.name = "a\u{7}b".into(), "name"),
            (|c| c.target_sample = 0, "target_sample"),
            (|c| c.households = Some(0), "households"),
            (|c| c.street = "x".repeat(101), "street"),
        ];
        for (mutate, field) in cases {
            let mut c = sample();
            mutate(&mut c);
            let err = c.validate().unwrap_err();
            assert_eq!(err.code, ErrorCode::InvalidField);
            assert_eq!(err.params["field"], field);
        }
    }
}
