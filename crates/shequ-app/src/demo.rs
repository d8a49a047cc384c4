//! The demo district (示范区): 12 communities in 2 streets across every housing form, with
//! synthetic interviews of the default scale, so every screen has content on first run.
//!
//! The communities come from `assets/demo/communities.csv` through the same import path as
//! a user's file. The answers are generated from a fixed seed, with community profiles chosen
//! so the six "三一六" social types, the tags and a low-reliability community all appear.

use chrono::{DateTime, Duration, FixedOffset, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use shequ_core::{
    Answer, Community, Error, ErrorCode, FormDefinition, HousingForm, Response, ResponseStatus,
    Result,
};
use shequ_forms::state::EvalEnv;
use shequ_forms::{Answers, CompiledForm};
use shequ_store::NewResponse;

use crate::fieldwork::odk_timestamp;
use crate::progress::Stage;
use ts_rs::TS;

use crate::App;

pub const DEMO_CSV: &[u8] = include_bytes!("../../../assets/demo/communities.csv");
const SEED: u64 = 2026;

/// What `shequ demo` loaded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct DemoReport {
    pub communities: u32,
    pub responses: u32,
    pub drafts: u32,
}

/// A community's synthetic profile: dimension means on the 1–5 scale, sample sizes, shares.
struct Profile {
    code: &'static str,
    identity: f64,
    interaction: f64,
    linkages: f64,
    finalized: u32,
    drafts: u32,
    /// Share of respondents aged 60+.
    older: f64,
    /// Share of renters and non-local hukou.
    migrant: f64,
    low_income: f64,
}

#[rustfmt::skip]
const PROFILES: &[Profile] = &[
    Profile { code: "DH-01", identity: 3.9, interaction: 2.6, linkages: 2.5, finalized: 42, drafts: 2, older: 0.45, migrant: 0.15, low_income: 0.08 },
    Profile { code: "DH-02", identity: 2.6, interaction: 2.4, linkages: 2.7, finalized: 35, drafts: 1, older: 0.15, migrant: 0.30, low_income: 0.02 },
    Profile { code: "DH-03", identity: 2.7, interaction: 3.7, linkages: 3.9, finalized: 18, drafts: 1, older: 0.10, migrant: 0.40, low_income: 0.00 },
    Profile { code: "DH-04", identity: 2.6, interaction: 2.5, linkages: 3.7, finalized: 55, drafts: 2, older: 0.25, migrant: 0.45, low_income: 0.10 },
    Profile { code: "DH-05", identity: 4.1, interaction: 4.0, linkages: 2.5, finalized: 38, drafts: 0, older: 0.30, migrant: 0.20, low_income: 0.06 },
    Profile { code: "DH-06", identity: 4.0, interaction: 3.9, linkages: 3.8, finalized: 46, drafts: 1, older: 0.40, migrant: 0.05, low_income: 0.04 },
    Profile { code: "XH-01", identity: 2.5, interaction: 2.3, linkages: 2.6, finalized: 56, drafts: 3, older: 0.20, migrant: 0.40, low_income: 0.09 },
    Profile { code: "XH-02", identity: 3.9, interaction: 3.8, linkages: 2.7, finalized: 31, drafts: 0, older: 0.50, migrant: 0.10, low_income: 0.05 },
    Profile { code: "XH-03", identity: 2.8, interaction: 3.8, linkages: 3.8, finalized: 32, drafts: 1, older: 0.12, migrant: 0.25, low_income: 0.01 },
    Profile { code: "XH-04", identity: 3.8, interaction: 2.6, linkages: 2.6, finalized: 12, drafts: 2, older: 0.28, migrant: 0.30, low_income: 0.05 },
    Profile { code: "XH-05", identity: 3.9, interaction: 3.7, linkages: 3.9, finalized: 50, drafts: 0, older: 0.18, migrant: 0.15, low_income: 0.01 },
    Profile { code: "XH-06", identity: 2.7, interaction: 2.6, linkages: 3.8, finalized: 8, drafts: 1, older: 0.35, migrant: 0.35, low_income: 0.07 },
];

const INTERVIEWERS: &[&str] = &["张敏", "李静", "王磊", "陈晓红", "刘洋", "赵倩"];

const SUGGESTIONS: &[&str] = &[
    "希望小区能加装电梯，老人上下楼太难了。",
    "停车位太少，晚上回来经常找不到地方停。",
    "建议多组织一些亲子活动。",
    "物业对报修反应太慢，希望居委会帮忙协调。",
    "垃圾分类点离楼太远，下雨天很不方便。",
    "希望多开展老年人健康讲座。",
    "楼道里堆放杂物，存在消防隐患。",
    "群租房人员进出频繁，希望加强管理。",
    "感谢社工经常上门，服务很贴心。",
    "希望社区食堂的菜价再便宜一点。",
];

/// Choice name → extra probability of ticking it.
type Boost = &'static [(&'static str, f64)];

/// Extra probability of ticking a need or a problem, by housing form.
fn boosts(form: HousingForm) -> (Boost, Boost) {
    use HousingForm::*;
    match form {
        OldPublic => (
            &[
                ("lift", 0.5),
                ("repairs", 0.45),
                ("public_facilities", 0.4),
                ("elderly_meals", 0.35),
                ("parking", 0.25),
            ],
            &[
                ("parking", 0.4),
                ("illegal_building", 0.3),
                ("group_renting", 0.2),
            ],
        ),
        Commercial | HighEnd => (
            &[
                ("property", 0.45),
                ("parking", 0.35),
                ("childcare", 0.3),
                ("culture_sports", 0.25),
            ],
            &[("pets", 0.3), ("parking", 0.3), ("property_service", 0.25)],
        ),
        Resettlement | VillageConverted => (
            &[
                ("employment", 0.4),
                ("waste_sorting", 0.35),
                ("property", 0.3),
                ("surroundings", 0.3),
            ],
            &[
                ("green_plots", 0.35),
                ("littering", 0.3),
                ("illegal_building", 0.2),
            ],
        ),
        WorkUnit => (
            &[
                ("repairs", 0.4),
                ("elderly_meals", 0.4),
                ("health_check", 0.35),
                ("public_facilities", 0.3),
            ],
            &[("parking", 0.3), ("property_service", 0.2)],
        ),
        LargeEstate => (
            &[
                ("surroundings", 0.45),
                ("property", 0.4),
                ("info_hotline", 0.3),
                ("employment", 0.25),
            ],
            &[
                ("pets", 0.4),
                ("posters", 0.35),
                ("littering", 0.3),
                ("illegal_taxis", 0.3),
            ],
        ),
        Mixed => (
            &[("public_facilities", 0.3), ("parking", 0.3)],
            &[("noise", 0.3), ("parking", 0.25)],
        ),
    }
}

/// A roughly normal draw (sum of three uniforms), mean `mu`, standard deviation `sd`.
fn normal(rng: &mut ChaCha8Rng, mu: f64, sd: f64) -> f64 {
    let s: f64 = (0..3).map(|_| rng.random::<f64>()).sum::<f64>() - 1.5;
    mu + s * 2.0 * sd
}

fn likert(x: f64) -> String {
    (x.round().clamp(1.0, 5.0) as i64).to_string()
}

fn pick<'a>(rng: &mut ChaCha8Rng, items: &[&'a str]) -> &'a str {
    items[rng.random_range(0..items.len())]
}

/// Answers one synthetic respondent, respecting the default scale's skip logic.
fn answer_all(
    rng: &mut ChaCha8Rng,
    def: &FormDefinition,
    p: &Profile,
    form: HousingForm,
    full: bool,
) -> Vec<Answer> {
    let mut out: Vec<Answer> = Vec::new();
    let mut put = |q: &str, v: String| {
        out.push(Answer {
            question: q.to_string(),
            value: v,
        })
    };
    let older = rng.random_bool(p.older);
    let age: u32 = if older {
        rng.random_range(60..=88)
    } else {
        rng.random_range(22..=59)
    };
    let migrant = rng.random_bool(p.migrant);
    put("a_age", age.to_string());
    put("a_sex", pick(rng, &["male", "female"]).to_string());
    put(
        "a_tenure",
        if migrant {
            "renter".into()
        } else {
            pick(rng, &["owner", "owner", "owner", "public_tenant", "family"]).to_string()
        },
    );
    put(
        "a_years",
        (if migrant {
            rng.random_range(0..=4)
        } else {
            rng.random_range(1..=(age - 18).min(40))
        })
        .to_string(),
    );
    put(
        "a_hukou",
        if migrant {
            "other_province".into()
        } else {
            pick(rng, &["local_district", "local_district", "local_city"]).to_string()
        },
    );
    let mut household = Vec::new();
    if older || rng.random_bool(0.2) {
        household.push("elderly");
    }
    if !older && rng.random_bool(0.35) {
        household.push("child");
    }
    if rng.random_bool(0.06) {
        household.push("disabled");
    }
    if rng.random_bool(p.low_income) {
        household.push("low_income");
    }
    if household.is_empty() {
        household.push("none");
    }
    put("a_household", household.join(" "));
    put(
        "a_party",
        if rng.random_bool(0.15) {
            "yes".into()
        } else {
            "no".into()
        },
    );
    if !full {
        return out;
    }

    let efficacy = (p.identity + p.interaction + p.linkages) / 3.0;
    for (dim, mu) in [
        ("identity", p.identity),
        ("interaction", p.interaction),
        ("linkages", p.linkages),
        ("efficacy", efficacy),
    ] {
        let person = normal(rng, 0.0, 0.55);
        for q in def
            .questions()
            .iter()
            .filter(|q| q.scoring.dimension.as_deref() == Some(dim))
        {
            let x = normal(rng, mu + person, 0.6);
            put(
                &q.name,
                if q.scoring.reverse {
                    likert(6.0 - x)
                } else {
                    likert(x)
                },
            );
        }
    }

    let (need_boost, problem_boost) = boosts(form);
    let tick =
        |rng: &mut ChaCha8Rng, list: &str, base: f64, boost: &[(&str, f64)]| -> Vec<String> {
            def.choices[list]
                .iter()
                .filter(|c| {
                    let extra = boost
                        .iter()
                        .find(|(n, _)| *n == c.name)
                        .map_or(0.0, |(_, b)| *b);
                    rng.random_bool((base + extra).min(0.95))
                })
                .map(|c| c.name.clone())
                .collect()
        };
    let needs = tick(rng, "services", 0.12, need_boost);
    if !needs.is_empty() {
        put("f_needs", needs.join(" "));
    }
    if needs.len() > 1 {
        put("f_top", needs[rng.random_range(0..needs.len())].clone());
    }
    for (group, q, list) in [
        ("elderly", "g_elderly", "elderly_needs"),
        ("child", "g_children", "child_needs"),
        ("disabled", "g_disabled", "disability_needs"),
        ("low_income", "g_hardship", "hardship_needs"),
    ] {
        if household.contains(&group) {
            let ticked = tick(rng, list, 0.35, &[]);
            if !ticked.is_empty() {
                put(q, ticked.join(" "));
            }
        }
    }
    let problems = tick(rng, "problems", 0.08, problem_boost);
    if !problems.is_empty() {
        put("h_problems", problems.join(" "));
    }
    for code in &problems {
        put(
            &format!("h_sev_{code}"),
            rng.random_range(1..=3).to_string(),
        );
    }
    let hours = if rng.random_bool(0.4) {
        rng.random_range(1..=12)
    } else {
        0
    };
    put("i_volunteer_hours", hours.to_string());
    if hours > 0 {
        let skills = tick(rng, "skills", 0.2, &[]);
        if !skills.is_empty() {
            put("i_skills", skills.join(" "));
        }
    }
    put(
        "i_venue",
        if rng.random_bool(0.1) {
            "yes".into()
        } else {
            "no".into()
        },
    );
    let contacts = rng.random_bool(0.15);
    put(
        "i_contacts",
        if contacts { "yes".into() } else { "no".into() },
    );
    if contacts {
        put(
            "i_contacts_detail",
            pick(
                rng,
                &["单位工会", "所在医院", "孩子学校的家委会", "律师事务所"],
            )
            .to_string(),
        );
    }
    if rng.random_bool(0.3) {
        put("j_suggestions", pick(rng, SUGGESTIONS).to_string());
    }
    out
}

impl App {
    /// Loads the demo district. Refused when it is already loaded.
    pub fn load_demo(&mut self, now: DateTime<Utc>) -> Result<DemoReport> {
        let existing = self.store().demo_community_count()?;
        if existing > 0 {
            return Err(Error::new(ErrorCode::DemoAlreadyLoaded).with("count", existing));
        }
        let scale = Self::default_definition()?;
        let instrument = self
            .store()
            .instrument_version(&scale.form_id, &scale.version)?
            .ok_or_else(|| Error::internal("default scale not installed"))?;
        // Communities and interviews in one transaction: the demo is all there or not at all.
        let parsed = crate::parse_communities_csv(DEMO_CSV, "assets/demo/communities.csv")?;
        let form = CompiledForm::compile(&instrument.definition).map_err(|c| {
            Error::internal(format!("default scale has a cycle: {}", c.join(" → ")))
        })?;
        let (mut finalized, mut drafts) = (0, 0);
        let actor = self.actor();
        let (device, offset) = (self.device_id().to_string(), self.utc_offset);
        let sink = &self.progress;
        let communities = self.store.insert_communities_with_responses(
            &parsed.items,
            true,
            |communities| {
                let mut rng = ChaCha8Rng::seed_from_u64(SEED);
                let mut items = Vec::new();
                for (n, c) in communities.iter().enumerate() {
                    // One step a community generated, one for the save.
                    crate::progress::report(sink, Stage::LoadDemo, n, communities.len() + 1);
                    let Some(p) = PROFILES.iter().find(|p| p.code == c.code) else {
                        continue;
                    };
                    for i in 0..p.finalized + p.drafts {
                        let full = i < p.finalized;
                        items.push(demo_response(
                            &mut rng,
                            &form,
                            instrument.summary.id,
                            c,
                            p,
                            full,
                            (&device, offset),
                            now,
                        ));
                        if full {
                            finalized += 1
                        } else {
                            drafts += 1
                        }
                    }
                }
                Ok(items)
            },
            &actor,
            now,
        )?;
        self.progress(
            Stage::LoadDemo,
            communities.len() + 1,
            communities.len() + 1,
        );
        // Opened with the published demo passphrase: the unlock screen may say so.
        self.mark_demo_folder()?;
        Ok(DemoReport {
            communities: communities.len() as u32,
            responses: finalized,
            drafts,
        })
    }
}

/// One synthetic interview. Its answers go through the form state exactly as typed ones
/// do: a finalized one is stored as `CompiledForm::record` makes it (calculations filled,
/// nothing that is not relevant), a draft with its calculations beside its answers.
#[allow(clippy::too_many_arguments)]
fn demo_response(
    rng: &mut ChaCha8Rng,
    form: &CompiledForm,
    instrument_id: uuid::Uuid,
    c: &Community,
    p: &Profile,
    full: bool,
    (device, offset): (&str, FixedOffset),
    now: DateTime<Utc>,
) -> NewResponse {
    let def = form.definition();
    let started = now
        - Duration::days(rng.random_range(1..=40))
        - Duration::minutes(rng.random_range(0..600));
    let updated = started + Duration::minutes(rng.random_range(if full { 18..45 } else { 2..8 }));
    let id = shequ_core::new_id();
    let mut answers = Answers::default();
    for a in answer_all(rng, def, p, c.housing_form, full) {
        answers.set(&a.question, &a.value);
    }
    let local = |t: DateTime<Utc>| t.with_timezone(&offset);
    answers.set("start", &odk_timestamp(local(started)));
    answers.set("today", &local(started).format("%Y-%m-%d").to_string());
    if full {
        answers.set("end", &odk_timestamp(local(updated)));
    }
    let env = EvalEnv {
        lang: shequ_core::Lang::ZhCn,
        now: local(updated),
    };
    let state = form.evaluate(&answers, &env);
    // The default scale has no repeats, so the repeat counts are not stored.
    let (values, _repeat_counts) = if full {
        let r = form.record(&state);
        (r.values, r.repeat_counts)
    } else {
        for (k, v) in form.all_calculated(&state) {
            answers.set(&k, &v);
        }
        (answers.values, answers.repeat_counts)
    };
    let building = rng.random_range(1..=30);
    let flat = rng.random_range(1..=6) * 100 + rng.random_range(1..=4);
    NewResponse {
        response: Response {
            instance_id: id,
            root_id: id,
            deprecated_id: None,
            instrument_id,
            community_id: c.id,
            status: if full {
                ResponseStatus::Finalized
            } else {
                ResponseStatus::Draft
            },
            interviewer: pick(rng, INTERVIEWERS).to_string(),
            device_id: device.to_string(),
            respondent: format!("{building}号楼{flat}室"),
            started_at: started,
            updated_at: updated,
            finalized_at: full.then_some(updated),
            position: String::new(),
            discarded_at: None,
        },
        answers: values
            .into_iter()
            .map(|(question, value)| Answer { question, value })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_profiles_cover_every_demo_community() {
        let parsed = crate::parse_communities_csv(DEMO_CSV, "demo").unwrap();
        assert_eq!(parsed.items.len(), 12);
        for item in &parsed.items {
            assert!(
                PROFILES.iter().any(|p| p.code == item.code),
                "{}",
                item.code
            );
        }
        let mut forms: Vec<_> = parsed.items.iter().map(|c| c.housing_form).collect();
        forms.sort();
        forms.dedup();
        assert_eq!(forms.len(), 8, "every housing form appears");
    }
}
