//! The centre's analysis over the store: the computer's role, survey rounds, analysis
//! settings, the district's profiles and classification, and governance checklists.
//! The numbers come from `shequ-analysis`; this module reads the records and keeps the edits.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Utc};
use serde::{Deserialize, Serialize};
use shequ_analysis::checklist::{compose, Composite, Edit, EditKind, Library};
use shequ_analysis::{AnalysisSettings, CommunityInfo, District, Respondent, Scheme};
use shequ_core::{Error, ErrorCode, Lang, Result};
use shequ_store::{ChecklistEditRow, RoundRow};
use ts_rs::TS;

use crate::App;

const SETTING_ROLE: &str = "role";

/// Whether the window asks the first-run question, and where the data folder is.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, ts_rs::TS)]
#[ts(export)]
pub struct FirstRun {
    pub pending: bool,
    pub data_dir: String,
}
const SETTING_ANALYSIS: &str = "analysis_settings";

/// What this computer is: a field laptop or the district centre. Each has its own screens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum Role {
    Laptop,
    Centre,
}

/// The district's analysis with what the window shows in the user's language.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct AnalysisView {
    pub district: District,
    /// Community code → composite label (`老旧小区 × 松散型 + 老龄化`).
    pub labels: BTreeMap<String, String>,
    /// Community code → the explanation, one sentence a step.
    pub explanations: BTreeMap<String, Vec<String>>,
    /// Why parts of the profile cannot be computed from this scale.
    pub notes: Vec<String>,
    pub rounds: Vec<RoundRow>,
    /// The round before this one, compared with.
    pub previous_round: Option<String>,
}

/// An analyst's edit of a checklist, as the window or the CLI sends it.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct EditInput {
    pub item_id: String,
    pub kind: EditKind,
    pub value: Option<String>,
    /// For `add`: the action, in the analyst's words.
    pub action: Option<String>,
    pub indicator: Option<String>,
    pub owner: Option<String>,
    pub frequency: Option<String>,
    pub priority: Option<u8>,
    pub reason: String,
}

impl App {
    /// The computer's role: as set, else the centre when it holds the centre's key.
    pub fn role(&self) -> Result<Role> {
        Ok(match self.store().setting(SETTING_ROLE)?.as_deref() {
            Some("centre") => Role::Centre,
            Some("laptop") => Role::Laptop,
            _ if self.is_centre()? => Role::Centre,
            _ => Role::Laptop,
        })
    }

    /// The first run of a data folder: no role chosen yet and nothing in it (no community, no
    /// interview). The window then asks once whether this computer is a field laptop or the
    /// district centre. A folder already in use without a role is not asked.
    pub fn first_run(&self) -> Result<FirstRun> {
        let pending = self.store().setting(SETTING_ROLE)?.is_none()
            && !self.is_centre()?
            && self.store().communities()?.is_empty();
        Ok(FirstRun {
            pending,
            data_dir: self.data_dir().display().to_string(),
        })
    }

    /// The first-run choice is made once: afterwards the role is switched on the home screen.
    fn first_run_only(&self) -> Result<()> {
        if self.first_run()?.pending {
            return Ok(());
        }
        Err(Error::new(ErrorCode::InvalidValue)
            .with("field", "role")
            .with(
                "value",
                self.store().setting(SETTING_ROLE)?.unwrap_or_default(),
            )
            .with("why", "first_run_done"))
    }

    /// First run, a field laptop: the role, and the centre's public key when one is given (a
    /// pasted line, or a key file's text: the first `age1…` in it). A secret key is refused
    /// (it belongs on the centre's computer only); nothing is written on any refusal.
    pub fn choose_laptop(&mut self, centre_key: Option<&str>) -> Result<()> {
        self.first_run_only()?;
        if let Some(text) = centre_key.map(str::trim).filter(|t| !t.is_empty()) {
            if text.to_ascii_uppercase().contains("AGE-SECRET-KEY-") {
                return Err(Error::new(ErrorCode::InvalidValue)
                    .with("field", "centre_key")
                    .with("value", "AGE-SECRET-KEY-…")
                    .with("why", "secret_key_given"));
            }
            let key = text
                .split(|c: char| c.is_whitespace() || c == ':' || c == '：')
                .find(|w| w.starts_with("age1"))
                .unwrap_or(text);
            self.set_centre_recipient(key)?;
        }
        self.set_role(Role::Laptop)
    }

    /// First run, the district centre: its key is made (kept if it has one) and the role set.
    /// Returns the public key the laptops import.
    pub fn choose_centre(&mut self) -> Result<String> {
        self.first_run_only()?;
        let key = self.init_centre()?;
        self.set_role(Role::Centre)?;
        Ok(key)
    }

    pub fn set_role(&mut self, role: Role) -> Result<()> {
        let v = match role {
            Role::Laptop => "laptop",
            Role::Centre => "centre",
        };
        self.store_mut().set_setting(SETTING_ROLE, v)
    }

    /// Makes sure new responses have a round to go into: the local year's ("2026 年度")
    /// when the store has none yet.
    pub(crate) fn ensure_round(&mut self, now: DateTime<Utc>) -> Result<()> {
        if self
            .store()
            .setting(shequ_store::SETTING_CURRENT_ROUND)?
            .is_some()
        {
            return Ok(());
        }
        let year = now.with_timezone(&self.utc_offset).year();
        let actor = self.actor();
        self.store_mut()
            .set_current_round(&format!("{year} 年度"), &actor, now)
    }

    pub fn rounds(&self) -> Result<Vec<RoundRow>> {
        self.store().rounds()
    }

    /// Starts (or returns to) a round: new interviews go into it.
    pub fn set_current_round(&mut self, name: &str, now: DateTime<Utc>) -> Result<()> {
        let actor = self.actor();
        self.store_mut().set_current_round(name, &actor, now)
    }

    pub fn analysis_settings(&self) -> Result<AnalysisSettings> {
        Ok(self
            .store()
            .setting(SETTING_ANALYSIS)?
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or_default())
    }

    /// Checks and saves the thresholds. Communities whose checklist was never accepted keep
    /// the selection they had, so what the new settings change shows as a change to accept.
    pub fn set_analysis_settings(
        &mut self,
        settings: &AnalysisSettings,
        now: DateTime<Utc>,
    ) -> Result<()> {
        settings.validate()?;
        let lib = Library::default_library()?;
        let before = self.classified()?;
        let mut baselines = Vec::new();
        for c in &before.classifications {
            if self.store().checklist_accepted(&c.code)?.is_none() {
                let ids = lib.select(c).into_iter().map(|(id, _)| id).collect();
                baselines.push((c.code.clone(), ids, c.label(Lang::ZhCn)));
            }
        }
        let json = serde_json::to_string(settings).map_err(Error::internal)?;
        let actor = self.actor();
        self.store_mut()
            .set_analysis_settings(SETTING_ANALYSIS, &json, &baselines, &actor, now)
    }

    fn round_or_current(&self, round: Option<&str>) -> Result<(String, Vec<RoundRow>)> {
        let rounds = self.store().rounds()?;
        let name = match round {
            Some(r) => r.trim().to_string(),
            None => self
                .store()
                .setting(shequ_store::SETTING_CURRENT_ROUND)?
                .unwrap_or_default(),
        };
        if !rounds.iter().any(|r| r.name == name) && (round.is_some() || !rounds.is_empty()) {
            let known: Vec<&str> = rounds.iter().map(|r| r.name.as_str()).collect();
            return Err(Error::new(ErrorCode::RoundNotFound)
                .with("round", &name)
                .with("rounds", known.join("、")));
        }
        Ok((name, rounds))
    }

    /// The form a round is analysed on: the default scale when it has responses there,
    /// else the form with the most.
    pub(crate) fn analysed_form(&self, round: &str, form: Option<&str>) -> Result<String> {
        if let Some(f) = form {
            return Ok(self.instrument(f)?.summary.form_id);
        }
        let forms = self.store().round_forms(round)?;
        let default = Self::default_definition()?.form_id;
        Ok(
            if forms.is_empty() || forms.iter().any(|(f, _)| *f == default) {
                default
            } else {
                forms[0].0.clone()
            },
        )
    }

    fn district_of(
        &self,
        round: &str,
        form_id: &str,
        settings: &AnalysisSettings,
        previous: Option<&District>,
    ) -> Result<District> {
        let def = self.instrument(form_id)?.definition;
        let scheme = Scheme::from_definition(&def);
        let communities = self.store().communities()?;
        let index: BTreeMap<&str, usize> = communities
            .iter()
            .enumerate()
            .map(|(i, c)| (c.code.as_str(), i))
            .collect();
        let infos: Vec<CommunityInfo> = communities
            .iter()
            .map(|c| CommunityInfo {
                code: c.code.clone(),
                name: c.name.clone(),
                street: c.street.clone(),
                housing_form: c.housing_form,
            })
            .collect();
        let respondents: Vec<Respondent> = self
            .store()
            .analysis_records(round, form_id)?
            .into_iter()
            .filter_map(|r| {
                Some(Respondent {
                    community: *index.get(r.community_code.as_str())?,
                    instance_id: r.instance_id,
                    answers: r.answers,
                })
            })
            .collect();
        Ok(shequ_analysis::analyse(
            round,
            &scheme,
            &infos,
            &respondents,
            settings,
            previous,
        ))
    }

    /// Profiles, classification and k-means of a round (the current one by default),
    /// compared with the round before it.
    pub fn district(&self, round: Option<&str>, form: Option<&str>) -> Result<District> {
        self.district_in(round, form, true).map(|(d, _, _)| d)
    }

    /// The current round's classification, for checklists: without the comparison with
    /// the round before, which a checklist never reads and which would double the work.
    fn classified(&self) -> Result<District> {
        self.district_in(None, None, false).map(|(d, _, _)| d)
    }

    /// A round's analysis, the round before it (compared with when `compare`), and the
    /// rounds, read once.
    fn district_in(
        &self,
        round: Option<&str>,
        form: Option<&str>,
        compare: bool,
    ) -> Result<(District, Option<String>, Vec<RoundRow>)> {
        let (round, rounds) = self.round_or_current(round)?;
        let form_id = self.analysed_form(&round, form)?;
        let settings = self.analysis_settings()?;
        let previous_name = rounds
            .iter()
            .position(|r| r.name == round)
            .and_then(|i| i.checked_sub(1))
            .map(|i| rounds[i].name.clone());
        let previous = match previous_name.as_ref().filter(|_| compare) {
            Some(p) => Some(self.district_of(p, &form_id, &settings, None)?),
            None => None,
        };
        let district = self.district_of(&round, &form_id, &settings, previous.as_ref())?;
        Ok((district, previous_name, rounds))
    }

    pub fn analysis(
        &self,
        round: Option<&str>,
        form: Option<&str>,
        lang: Lang,
    ) -> Result<AnalysisView> {
        let (district, previous_round, rounds) = self.district_in(round, form, true)?;
        let labels = district
            .classifications
            .iter()
            .map(|c| (c.code.clone(), c.label(lang)))
            .collect();
        let explanations = district
            .classifications
            .iter()
            .map(|c| (c.code.clone(), c.explain(lang)))
            .collect();
        let notes = district.notes.iter().map(|n| n.render(lang)).collect();
        Ok(AnalysisView {
            district,
            labels,
            explanations,
            notes,
            rounds,
            previous_round,
        })
    }

    fn known_community(&self, code: &str) -> Result<()> {
        match self.store().community_by_code(code)? {
            Some(_) => Ok(()),
            None => Err(Error::new(ErrorCode::NotFound)
                .with("what", "community")
                .with("id", code)),
        }
    }

    /// A community's composite checklist in the current round, with what a change of its
    /// classification would add and remove.
    pub fn checklist(&self, code: &str) -> Result<Composite> {
        self.known_community(code)?;
        let district = self.classified()?;
        self.checklist_in(&district, code)
    }

    pub(crate) fn checklist_in(&self, district: &District, code: &str) -> Result<Composite> {
        let lib = Library::default_library()?;
        let c = district.classification(code).ok_or_else(|| {
            Error::new(ErrorCode::NotFound)
                .with("what", "community")
                .with("id", code)
        })?;
        let selected = lib.select(c);
        let accepted = self.store().checklist_accepted(code)?;
        let edits = self
            .store()
            .checklist_edits(code)?
            .into_iter()
            .map(edit_of_row)
            .collect::<Result<Vec<_>>>()?;
        Ok(compose(
            code,
            lib,
            &selected,
            accepted
                .as_ref()
                .map(|(ids, l)| (ids.as_slice(), l.as_str())),
            &edits,
        ))
    }

    /// Accepts what the current classification selects as the community's checklist.
    pub fn accept_checklist(&mut self, code: &str, now: DateTime<Utc>) -> Result<Composite> {
        self.known_community(code)?;
        let district = self.classified()?;
        let lib = Library::default_library()?;
        let c = district
            .classification(code)
            .ok_or_else(|| Error::internal("classified community missing"))?;
        let ids: Vec<String> = lib.select(c).into_iter().map(|(id, _)| id).collect();
        let actor = self.actor();
        self.store_mut()
            .accept_checklist(code, &ids, &c.label(Lang::ZhCn), &actor, now)?;
        self.checklist_in(&district, code)
    }

    /// Records one edit (add, remove, restore, re-prioritise, reassign), checked first.
    pub fn edit_checklist(
        &mut self,
        code: &str,
        input: &EditInput,
        now: DateTime<Utc>,
    ) -> Result<Composite> {
        self.known_community(code)?;
        let district = self.classified()?;
        let current = self.checklist_in(&district, code)?;
        let actor = self.actor();
        let lang = self.ui_lang()?;
        let mut edit = Edit {
            item_id: input.item_id.trim().to_string(),
            kind: input.kind,
            value: input.value.clone(),
            item: None,
            reason: input.reason.trim().to_string(),
            actor: actor.name.clone(),
            at: now.to_rfc3339(),
        };
        if input.kind == EditKind::Add {
            let text = |s: &Option<String>| -> BTreeMap<String, String> {
                s.as_deref()
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|s| [(lang.tag().to_string(), s.to_string())].into())
                    .unwrap_or_default()
            };
            let id = format!("own.{}", shequ_core::new_id().simple());
            edit.item_id = id.clone();
            edit.item = Some(shequ_analysis::ChecklistItem {
                id,
                when: Default::default(),
                priority: input.priority.unwrap_or(2),
                owner: input.owner.clone().unwrap_or_default(),
                frequency: input.frequency.clone().unwrap_or_default(),
                action: text(&input.action),
                indicator: text(&input.indicator),
            });
        } else if !current.items.iter().any(|i| i.item.id == edit.item_id) {
            return Err(Error::new(ErrorCode::NotFound)
                .with("what", "checklist_item")
                .with("id", &edit.item_id));
        }
        edit.check()?;
        let row = ChecklistEditRow {
            item_id: edit.item_id.clone(),
            kind: kind_code(edit.kind).to_string(),
            value: edit.value.clone(),
            item: edit
                .item
                .as_ref()
                .map(serde_json::to_string)
                .transpose()
                .map_err(Error::internal)?,
            reason: edit.reason.clone(),
            actor: actor.name.clone(),
            at: edit.at.clone(),
        };
        // A never-accepted checklist is fixed as the analyst saw it before the first edit.
        let baseline: Option<(Vec<String>, String)> = if current.accepted_label.is_none() {
            let c = district
                .classification(code)
                .ok_or_else(|| Error::internal("classified community missing"))?;
            Some((
                current
                    .items
                    .iter()
                    .filter(|i| i.source == shequ_analysis::checklist::Source::Default)
                    .map(|i| i.item.id.clone())
                    .collect(),
                c.label(Lang::ZhCn),
            ))
        } else {
            None
        };
        self.store_mut().add_checklist_edit(
            code,
            &row,
            baseline
                .as_ref()
                .map(|(ids, l)| (ids.as_slice(), l.as_str())),
            &actor,
            now,
        )?;
        self.checklist_in(&district, code)
    }
}

fn kind_code(k: EditKind) -> &'static str {
    match k {
        EditKind::Add => "add",
        EditKind::Remove => "remove",
        EditKind::Restore => "restore",
        EditKind::Priority => "priority",
        EditKind::Owner => "owner",
    }
}

fn edit_of_row(r: ChecklistEditRow) -> Result<Edit> {
    let kind = match r.kind.as_str() {
        "add" => EditKind::Add,
        "remove" => EditKind::Remove,
        "restore" => EditKind::Restore,
        "priority" => EditKind::Priority,
        _ => EditKind::Owner,
    };
    Ok(Edit {
        item_id: r.item_id,
        kind,
        value: r.value,
        item: r
            .item
            .map(|s| serde_json::from_str(&s))
            .transpose()
            .map_err(Error::internal)?,
        reason: r.reason,
        actor: r.actor,
        at: r.at,
    })
}
