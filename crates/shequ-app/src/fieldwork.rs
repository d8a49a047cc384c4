//! Fieldwork: start an interview, save each answer durably, finalize, edit a finalized one as
//! a new version, discard and restore drafts. The form logic is `shequ_forms::state`, the
//! durability is `Store::save_answer`; this module joins them and guards the inputs.

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset, Utc};
use serde::{Deserialize, Serialize};
use shequ_core::{
    Community, Error, ErrorCode, FormDefinition, Lang, Response, ResponseStatus, Result,
};
use shequ_forms::state::EvalEnv;
use shequ_forms::{Answers, CompiledForm, FormState, ItemState, Refusal};
use shequ_store::{ResponseList, ResponseRow, StoredAnswers};
use ts_rs::TS;
use uuid::Uuid;

use crate::App;

const SETTING_LAST_INTERVIEWER: &str = "last_interviewer";

/// What the start screen submits.
#[derive(Debug, Clone, Deserialize, Serialize, TS)]
#[ts(export)]
pub struct StartInterview {
    #[ts(type = "string")]
    pub community_id: Uuid,
    /// The form version; the newest version of the default scale when absent.
    #[ts(type = "string | null")]
    pub instrument_id: Option<Uuid>,
    pub interviewer: String,
    /// Respondent code or household address (never a national ID number).
    pub respondent: String,
    pub consent: bool,
}

/// Everything the interview screen needs.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct InterviewData {
    pub response: Response,
    pub community: Community,
    pub definition: FormDefinition,
    pub answers: StoredAnswers,
    pub state: FormState,
    /// For questions with a `choice_filter`: the names of the choices that pass it now.
    pub filtered_choices: BTreeMap<String, Vec<String>>,
    pub read_only: bool,
}

/// The result of one durable save: the states that changed because of it.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct SaveOutcome {
    /// The value as stored (control characters removed, full-width digits made ASCII).
    pub value: String,
    #[ts(type = "string")]
    pub saved_at: DateTime<Utc>,
    pub changed: BTreeMap<String, ItemState>,
    pub repeat_counts: BTreeMap<String, u32>,
    pub filtered_choices: BTreeMap<String, Vec<String>>,
}

/// The result of adding or removing a repeat instance: the whole new state (instances
/// appear and go), and the choices passing each `choice_filter`, new instances included.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct RepeatOutcome {
    pub state: FormState,
    pub filtered_choices: BTreeMap<String, Vec<String>>,
}

/// The choices passing each `choice_filter`, for every instance of a filtered question.
fn filtered_choices(
    form: &CompiledForm,
    st: &FormState,
    answers: &Answers,
    env: &EvalEnv,
) -> BTreeMap<String, Vec<String>> {
    // Cheap per key (this runs at every save): compare the key's own part (after the last
    // repeat index) with the key names of the filtered questions.
    let filtered: Vec<&str> = form
        .definition()
        .questions()
        .into_iter()
        .filter(|q| q.choice_filter.is_some())
        .map(|q| q.key_name())
        .collect();
    if filtered.is_empty() {
        return BTreeMap::new();
    }
    st.items
        .keys()
        .filter(|k| filtered.contains(&k.rsplit_once("]/").map_or(k.as_str(), |(_, own)| own)))
        .map(|k| {
            (
                k.clone(),
                form.choices(st, answers, k, env)
                    .into_iter()
                    .map(|c| c.name)
                    .collect(),
            )
        })
        .collect()
}

/// A question that blocks finalizing.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct Blocker {
    pub key: String,
    pub label: String,
    pub message: String,
}

#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct FinalizeOutcome {
    pub finalized: bool,
    pub blockers: Vec<Blocker>,
}

/// Removes what no answer should hold: control characters (keeping line breaks in
/// multi-line text), and for numbers the full-width forms a Chinese IME types.
pub fn clean_value(qtype: &str, raw: &str) -> String {
    let multiline = qtype == "text";
    let no_controls: String = raw
        .chars()
        .filter(|c| !c.is_control() || (multiline && *c == '\n'))
        .collect();
    match qtype {
        "integer" | "decimal" | "range" => no_controls
            .trim()
            .chars()
            .map(|c| match c {
                '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32).unwrap_or(c),
                '．' | '。' => '.',
                '－' => '-',
                other => other,
            })
            .collect(),
        "text" => no_controls.trim_end().to_string(),
        _ => no_controls.trim().to_string(),
    }
}

/// A Chinese resident identity number: 18 characters (17 digits and a digit or X) or the
/// old 15-digit form, anywhere in the text.
fn looks_like_national_id(s: &str) -> bool {
    let chars: Vec<char> = s.chars().collect();
    let is_digit = |c: &char| c.is_ascii_digit();
    for start in 0..chars.len() {
        let run = chars[start..].iter().take_while(|c| is_digit(c)).count();
        if start > 0 && is_digit(&chars[start - 1]) {
            continue;
        }
        if run == 15 || run == 18 {
            return true;
        }
        if run == 17 && matches!(chars.get(start + 17), Some('X') | Some('x')) {
            return true;
        }
    }
    false
}

impl App {
    fn env(&self, lang: Lang, now: DateTime<Utc>) -> EvalEnv {
        EvalEnv {
            lang,
            now: now.with_timezone(&self.utc_offset),
        }
    }

    fn compiled(&mut self, instrument_id: Uuid) -> Result<&CompiledForm> {
        if !self.forms.contains_key(&instrument_id) {
            let rec = self.store().instrument(instrument_id)?.ok_or_else(|| {
                Error::new(ErrorCode::InstrumentMissing)
                    .with("form_id", "?")
                    .with("version", instrument_id)
            })?;
            let form = CompiledForm::compile(&rec.definition).map_err(|cycle| {
                Error::internal(format!("installed form has a cycle: {}", cycle.join(" → ")))
            })?;
            self.forms.insert(instrument_id, form);
        }
        Ok(&self.forms[&instrument_id])
    }

    /// The interviewer typed last time, to prefill the start screen.
    pub fn last_interviewer(&self) -> Result<String> {
        Ok(self
            .store()
            .setting(SETTING_LAST_INTERVIEWER)?
            .unwrap_or_default())
    }

    /// Communities, most recently interviewed first, then the rest in list order.
    pub fn communities_recent_first(&self) -> Result<Vec<Community>> {
        let recent = self.store().recent_community_ids()?;
        let mut all = self.store().communities()?;
        all.sort_by_key(|c| recent.iter().position(|r| *r == c.id).unwrap_or(usize::MAX));
        Ok(all)
    }

    /// Starts an interview: a draft, with `start` and `today` recorded.
    pub fn start_interview(&mut self, s: StartInterview, now: DateTime<Utc>) -> Result<Response> {
        if !s.consent {
            return Err(Error::new(ErrorCode::ConsentRequired));
        }
        let interviewer = s.interviewer.trim().to_string();
        let respondent = clean_value("select_one", &s.respondent);
        if interviewer.is_empty() || interviewer.chars().count() > 50 {
            return Err(Error::new(ErrorCode::InvalidField)
                .with("field", "interviewer")
                .with("value", &interviewer));
        }
        if respondent.is_empty() || respondent.chars().count() > 100 {
            return Err(Error::new(ErrorCode::InvalidField)
                .with("field", "respondent")
                .with("value", &respondent));
        }
        if looks_like_national_id(&respondent) {
            return Err(Error::new(ErrorCode::NationalIdNotAllowed));
        }
        self.store()
            .communities()?
            .into_iter()
            .find(|c| c.id == s.community_id)
            .ok_or_else(|| {
                Error::new(ErrorCode::NotFound)
                    .with("what", "community")
                    .with("id", s.community_id)
            })?;
        let instrument_id = match s.instrument_id {
            Some(id) => id,
            None => {
                let scale = shequ_forms::default_scale()?;
                self.store()
                    .instrument_version(&scale.form_id, &scale.version)?
                    .ok_or_else(|| {
                        Error::new(ErrorCode::InstrumentMissing)
                            .with("form_id", &scale.form_id)
                            .with("version", &scale.version)
                    })?
                    .summary
                    .id
            }
        };
        let device = self.device_id().to_string();
        let local = now.with_timezone(&self.utc_offset);
        let form = self.compiled(instrument_id)?;
        let def = form.definition().clone();
        let id = shequ_core::new_id();
        let r = Response {
            instance_id: id,
            root_id: id,
            deprecated_id: None,
            instrument_id,
            community_id: s.community_id,
            status: ResponseStatus::Draft,
            interviewer: interviewer.clone(),
            device_id: device.clone(),
            respondent,
            started_at: now,
            updated_at: now,
            finalized_at: None,
            position: String::new(),
            discarded_at: None,
        };
        // ODK's metadata questions, filled as ODK Collect fills them.
        let mut answers = Answers::default();
        for q in def.questions() {
            let value = match q.qtype.as_str() {
                "start" => odk_timestamp(local),
                "today" => local.format("%Y-%m-%d").to_string(),
                "deviceid" => device.clone(),
                "username" => interviewer.clone(),
                // A fixed `default` is the starting answer, as ODK Collect fills it in.
                _ => match &q.default {
                    Some(d)
                        // (inside a repeat the key names no instance yet: none exist at the start)
                        if q.takes_input()
                            && !d.contains("${")
                            && form
                                .question_of_key(q.key_name())
                                .is_some_and(|found| found.row == q.row && found.name == q.name) =>
                    {
                        clean_value(&q.qtype, d)
                    }
                    _ => continue,
                },
            };
            answers.set(q.key_name(), &value);
        }
        // The calculations that hold from the start (constants, today()…) are stored too.
        let env = self.env(Lang::ZhCn, now);
        let form = self.compiled(instrument_id)?;
        let state = form.evaluate(&answers, &env);
        for (k, v) in form.all_calculated(&state) {
            answers.set(&k, &v);
        }
        let initial = answers
            .values
            .into_iter()
            .map(|(question, value)| shequ_core::Answer { question, value })
            .collect();
        let actor = self.actor();
        self.store_mut().create_response(
            &r,
            initial,
            &[(SETTING_LAST_INTERVIEWER, &interviewer)],
            &actor,
            now,
        )?;
        self.store().response(id)
    }

    fn answers_of(&self, id: Uuid) -> Result<Answers> {
        let s = self.store().stored_answers(id)?;
        Ok(Answers {
            values: s.values,
            repeat_counts: s.repeat_counts,
        })
    }

    /// Opens an interview for the screen (any status; finalized ones are read-only).
    pub fn interview(&mut self, id: Uuid, lang: Lang, now: DateTime<Utc>) -> Result<InterviewData> {
        let response = self.store().response(id)?;
        let community = self
            .store()
            .communities()?
            .into_iter()
            .find(|c| c.id == response.community_id)
            .ok_or_else(|| {
                Error::new(ErrorCode::NotFound)
                    .with("what", "community")
                    .with("id", response.community_id)
            })?;
        let answers = self.answers_of(id)?;
        let env = self.env(lang, now);
        let form = self.compiled(response.instrument_id)?;
        let state = form.evaluate(&answers, &env);
        let filtered_choices = filtered_choices(form, &state, &answers, &env);
        let definition = form.definition().clone();
        let read_only =
            response.status == ResponseStatus::Finalized || response.discarded_at.is_some();
        self.open.insert(id, (answers.clone(), state.clone()));
        Ok(InterviewData {
            response,
            community,
            definition,
            answers: StoredAnswers {
                values: answers.values,
                repeat_counts: answers.repeat_counts,
            },
            state,
            filtered_choices,
            read_only,
        })
    }

    /// The form state of an open interview: cached from the last call, else evaluated.
    fn open_state(
        &mut self,
        id: Uuid,
        instrument_id: Uuid,
        env: &EvalEnv,
    ) -> Result<(Answers, FormState)> {
        match self.open.remove(&id) {
            Some(x) => Ok(x),
            None => {
                let a = self.answers_of(id)?;
                let st = self.compiled(instrument_id)?.evaluate(&a, env);
                Ok((a, st))
            }
        }
    }

    /// The durable save of one answer, then the form state that changed. `key` is an
    /// instance key (`a_age`, `member[2]/age`). The value is checked against the form first
    /// (`CompiledForm::check_answer`): a key the form does not have, a note, calculation,
    /// metadata or read-only question, a repeat instance that does not exist, a value of the
    /// wrong type or outside the choice list is refused, naming the question, and nothing is
    /// written. The calculations that change with the answer are stored in the same
    /// transaction.
    pub fn answer(
        &mut self,
        id: Uuid,
        key: &str,
        raw: &str,
        lang: Lang,
        now: DateTime<Utc>,
    ) -> Result<SaveOutcome> {
        let response = self.store().response(id)?;
        let env = self.env(lang, now);
        let (mut answers, mut state) = self.open_state(id, response.instrument_id, &env)?;
        let form = self.compiled(response.instrument_id)?;
        let qtype = form
            .question_of_key(key)
            .map(|q| q.qtype.clone())
            .unwrap_or_default();
        let value = clean_value(&qtype, raw);
        if let Err(refusal) = form.check_answer(&state, &answers, key, &value, &env) {
            let e = refused(form, key, &value, refusal, lang);
            self.open.insert(id, (answers, state));
            return Err(e);
        }
        answers.set(key, &value);
        let keys = form.update(&mut state, &answers, key, &env);
        let calculated = form.calculated(&state, keys.iter());
        let mut changed: BTreeMap<String, ItemState> = keys
            .into_iter()
            .filter_map(|k| state.items.get(&k).map(|s| (k, s.clone())))
            .collect();
        if let Some(s) = state.items.get(key) {
            changed.insert(key.to_string(), s.clone());
        }
        let repeat_counts = state.repeat_counts.clone();
        let filtered_choices = filtered_choices(form, &state, &answers, &env);
        let actor = self.actor();
        // Durable first: nothing is reported saved before SQLite's commit returns. On a
        // failure the cached state is dropped (it holds the unsaved answer) and rebuilt
        // from the store next time.
        self.store_mut()
            .save_answer(id, key, &value, key, &calculated, &actor, now)?;
        for (k, v) in &calculated {
            answers.set(k, v);
        }
        self.open.insert(id, (answers, state));
        Ok(SaveOutcome {
            value,
            saved_at: now,
            changed,
            repeat_counts,
            filtered_choices,
        })
    }

    /// Sets how many instances a user-sized repeat has (add or remove one). The repeat must
    /// be one the worker sizes (no `repeat_count`), inside instances that exist; the
    /// calculations that change with it are stored in the same transaction.
    pub fn set_repeat_count(
        &mut self,
        id: Uuid,
        repeat_key: &str,
        count: u32,
        lang: Lang,
        now: DateTime<Utc>,
    ) -> Result<RepeatOutcome> {
        let response = self.store().response(id)?;
        let env = self.env(lang, now);
        let (mut answers, state) = self.open_state(id, response.instrument_id, &env)?;
        let form = self.compiled(response.instrument_id)?;
        if let Err(refusal) = form.check_repeat_count(&state, repeat_key, count) {
            let e = refused(form, repeat_key, &count.to_string(), refusal, lang);
            self.open.insert(id, (answers, state));
            return Err(e);
        }
        // Removed instances take their answers with them (as in Collect), in the same
        // transaction: an instance added later starts empty.
        let old_count = state.repeat_counts.get(repeat_key).copied().unwrap_or(0);
        let removed: Vec<String> = (count + 1..=old_count)
            .map(|i| format!("{repeat_key}[{i}]/"))
            .collect();
        let gone = |k: &str| removed.iter().any(|p| k.starts_with(p.as_str()));
        let dropped: Vec<String> = answers.values.keys().filter(|k| gone(k)).cloned().collect();
        answers.repeat_counts.retain(|k, _| !gone(k));
        answers.repeat_counts.insert(repeat_key.to_string(), count);
        // Added instances start with their questions' fixed defaults, as Collect fills them.
        let added: Vec<String> = (old_count + 1..=count)
            .map(|i| format!("{repeat_key}[{i}]/"))
            .collect();
        let probe = form.evaluate(&answers, &env);
        let defaults: BTreeMap<String, String> = probe
            .items
            .keys()
            .filter(|k| added.iter().any(|p| k.starts_with(p.as_str())))
            .filter(|k| !answers.values.contains_key(*k))
            .filter_map(|k| {
                let q = form.question_of_key(k)?;
                let d = q.default.as_deref()?;
                (q.takes_input() && q.calculation.is_none() && !d.contains("${"))
                    .then(|| (k.clone(), clean_value(&q.qtype, d)))
            })
            .collect();
        for (k, v) in &defaults {
            answers.set(k, v);
        }
        let new_state = if defaults.is_empty() {
            probe
        } else {
            form.evaluate(&answers, &env)
        };
        let calculated: BTreeMap<String, String> = form
            .all_calculated(&new_state)
            .into_iter()
            .chain(
                // Calculations of instances that no longer exist are cleared.
                form.calculated(&state, state.items.keys())
                    .into_keys()
                    .filter(|k| !new_state.items.contains_key(k))
                    .map(|k| (k, String::new())),
            )
            .chain(dropped.into_iter().map(|k| (k, String::new())))
            .filter(|(k, v)| answers.values.get(k).map_or("", String::as_str) != v)
            .chain(defaults)
            .collect();
        self.store_mut()
            .set_repeat_count(id, repeat_key, count, &calculated, now)?;
        for (k, v) in &calculated {
            answers.set(k, v);
        }
        let form = self.compiled(response.instrument_id)?;
        let filtered_choices = filtered_choices(form, &new_state, &answers, &env);
        self.open.insert(id, (answers, new_state.clone()));
        Ok(RepeatOutcome {
            state: new_state,
            filtered_choices,
        })
    }

    /// Finalizes when every relevant question is answered and valid; otherwise says which
    /// questions block it, in form order, with their messages. If another process saves into
    /// the draft meanwhile, the record is computed again (a few times at most).
    pub fn finalize(
        &mut self,
        id: Uuid,
        lang: Lang,
        now: DateTime<Utc>,
    ) -> Result<FinalizeOutcome> {
        let mut tries = 0;
        loop {
            match self.finalize_once(id, lang, now) {
                Err(e) if e.code == ErrorCode::ResponseChanged && tries < 3 => tries += 1,
                other => return other,
            }
        }
    }

    fn finalize_once(
        &mut self,
        id: Uuid,
        lang: Lang,
        now: DateTime<Utc>,
    ) -> Result<FinalizeOutcome> {
        let data = self.interview(id, lang, now)?;
        if data.read_only {
            return Err(Error::new(ErrorCode::ResponseReadOnly));
        }
        let form = self.compiled(data.response.instrument_id)?;
        let order: Vec<&str> = data
            .definition
            .questions()
            .into_iter()
            .map(|q| q.key_name())
            .collect();
        // Blockers in form order (then instance order), each with its question's label.
        let mut blockers: Vec<(usize, Blocker)> = data
            .state
            .problems()
            .map(|(k, s)| {
                let q = form.question_of_key(k);
                let at = q
                    .and_then(|q| order.iter().position(|n| *n == q.key_name()))
                    .unwrap_or(usize::MAX);
                let label = q.and_then(|q| q.label.pick(lang)).unwrap_or(k).to_string();
                let b = Blocker {
                    key: k.clone(),
                    label,
                    message: s.message.clone().unwrap_or_default(),
                };
                (at, b)
            })
            .collect();
        blockers.sort_by_key(|(at, _)| *at);
        let blockers: Vec<Blocker> = blockers.into_iter().map(|(_, b)| b).collect();
        if !blockers.is_empty() {
            return Ok(FinalizeOutcome {
                finalized: false,
                blockers,
            });
        }
        // The submission ODK Collect would make: `end` stamped, every calculation current,
        // nothing of what is not relevant, repeat counts as evaluated. Written, with the
        // status, in one transaction.
        let local = odk_timestamp(now.with_timezone(&self.utc_offset));
        // The answers `interview` read with the response: one snapshot, the one `read_at`
        // (the response's `updated_at`) vouches for.
        let mut answers = Answers {
            values: data.answers.values,
            repeat_counts: data.answers.repeat_counts,
        };
        for q in data
            .definition
            .questions()
            .iter()
            .filter(|q| q.qtype == "end")
        {
            answers.set(q.key_name(), &local);
        }
        let env = self.env(lang, now);
        let form = self.compiled(data.response.instrument_id)?;
        let record = form.record(&form.evaluate(&answers, &env));
        let actor = self.actor();
        self.open.remove(&id);
        self.store_mut().finalize_response(
            id,
            &StoredAnswers {
                values: record.values,
                repeat_counts: record.repeat_counts,
            },
            data.response.updated_at,
            &actor,
            now,
        )?;
        Ok(FinalizeOutcome {
            finalized: true,
            blockers,
        })
    }

    /// Starts (or resumes) a new version of a finalized interview.
    pub fn edit_interview(&mut self, id: Uuid, now: DateTime<Utc>) -> Result<Response> {
        let actor = self.actor();
        self.store_mut().new_version(id, &actor, now)
    }

    pub fn discard_interview(&mut self, id: Uuid, now: DateTime<Utc>) -> Result<()> {
        let actor = self.actor();
        self.open.remove(&id);
        self.store_mut().discard_response(id, &actor, now)
    }

    pub fn restore_interview(&mut self, id: Uuid, now: DateTime<Utc>) -> Result<()> {
        let actor = self.actor();
        self.store_mut().restore_response(id, &actor, now)
    }

    pub fn drafts(&self, now: DateTime<Utc>) -> Result<Vec<ResponseRow>> {
        self.store().response_rows(ResponseList::Drafts, now)
    }

    pub fn finalized(&self, now: DateTime<Utc>) -> Result<Vec<ResponseRow>> {
        self.store().response_rows(ResponseList::Finalized, now)
    }

    pub fn discarded(&self, now: DateTime<Utc>) -> Result<Vec<ResponseRow>> {
        self.store().response_rows(ResponseList::Discarded, now)
    }

    /// Versions and audit trail of one response (by any of its instance ids).
    pub fn history(&self, id: Uuid) -> Result<ResponseHistory> {
        let r = self.store().response(id)?;
        let versions = self.store().versions(r.root_id)?;
        let mut audit = Vec::new();
        for v in &versions {
            audit.extend(
                self.store()
                    .audit_for("response", &v.instance_id.to_string())?,
            );
        }
        audit.sort_by_key(|a| a.at);
        Ok(ResponseHistory { versions, audit })
    }
}

/// Every version of a response and every audited change to it.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct ResponseHistory {
    pub versions: Vec<Response>,
    pub audit: Vec<shequ_core::AuditEntry>,
}

/// A timestamp as ODK Collect writes `start` and `end`: RFC 3339 with milliseconds and the
/// device's UTC offset (`2026-03-01T10:00:00.000+08:00`).
pub fn odk_timestamp(t: DateTime<FixedOffset>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3f%:z").to_string()
}

/// The error for a value the form cannot hold at `key`, naming the question.
fn refused(form: &CompiledForm, key: &str, value: &str, r: Refusal, lang: Lang) -> Error {
    let question = form
        .question_of_key(key)
        .and_then(|q| q.label.pick(lang).map(str::to_string))
        .unwrap_or_else(|| key.to_string());
    Error::new(ErrorCode::AnswerRefused)
        .with("question", question)
        .with("key", key)
        .with("value", value)
        .with("refusal", r.code())
}

/// Answers to every required question of the default scale (blocks A–E and I) from a
/// respondent with no special household, no needs and no problems: enough to finalize.
/// Tests, benchmarks and examples start from it and add what they exercise (a later answer
/// to the same key replaces an earlier one).
pub const DEFAULT_SCALE_REQUIRED: &[(&str, &str)] = &[
    ("a_age", "45"),
    ("a_sex", "female"),
    ("a_tenure", "owner"),
    ("a_years", "10"),
    ("a_hukou", "local_city"),
    ("a_household", "none"),
    ("a_party", "no"),
    ("b1", "4"),
    ("b2", "4"),
    ("b3", "2"),
    ("b4", "4"),
    ("b5", "5"),
    ("b6", "4"),
    ("c1", "3"),
    ("c2", "2"),
    ("c3", "3"),
    ("c4", "3"),
    ("c5", "4"),
    ("d1", "4"),
    ("d2", "3"),
    ("d3", "4"),
    ("d4", "3"),
    ("d5", "2"),
    ("e1", "4"),
    ("e2", "4"),
    ("e3", "4"),
    ("e4", "3"),
    ("e5", "2"),
    ("e6", "1"),
    ("e7", "2"),
    ("i_volunteer_hours", "0"),
    ("i_venue", "no"),
    ("i_contacts", "no"),
];

/// The device's UTC offset, for `today()` and the metadata an interview records.
pub fn local_offset() -> FixedOffset {
    *chrono::Local::now().offset()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 1, 2, 0, 0).unwrap()
    }

    fn app_with_demo() -> (tempfile::TempDir, App, Uuid) {
        let dir = tempfile::tempdir().unwrap();
        let mut app = App::open(
            dir.path(),
            &crate::Passphrase::new("test passphrase"),
            now(),
        )
        .unwrap();
        app.load_demo(now()).unwrap();
        let c = app.store().community_by_code("DH-01").unwrap().unwrap().id;
        (dir, app, c)
    }

    fn start(app: &mut App, c: Uuid) -> Response {
        app.start_interview(
            StartInterview {
                community_id: c,
                instrument_id: None,
                interviewer: " 张敏 ".into(),
                respondent: "3号楼201室".into(),
                consent: true,
            },
            now(),
        )
        .unwrap()
    }

    #[test]
    fn values_are_cleaned_for_their_type() {
        assert_eq!(clean_value("integer", " ３４ "), "34");
        assert_eq!(clean_value("decimal", "１２．５"), "12.5");
        assert_eq!(
            clean_value("text", "第一行\n第二行\u{7}\u{1b}[31m  "),
            "第一行\n第二行[31m"
        );
        assert_eq!(clean_value("select_one", " yes\t"), "yes");
    }

    #[test]
    fn national_ids_are_recognised() {
        assert!(looks_like_national_id("11010519491231002X"));
        assert!(looks_like_national_id("身份证 330102199001011234"));
        assert!(looks_like_national_id("330102900101123"));
        assert!(!looks_like_national_id("3号楼201室"));
        assert!(
            !looks_like_national_id("13812345678"),
            "a mobile number is 11 digits"
        );
    }

    #[test]
    fn start_guards_consent_identity_and_remembers_the_interviewer() {
        let (_d, mut app, c) = app_with_demo();
        let mut s = StartInterview {
            community_id: c,
            instrument_id: None,
            interviewer: "张敏".into(),
            respondent: "3-201".into(),
            consent: false,
        };
        assert_eq!(
            app.start_interview(s.clone(), now()).unwrap_err().code,
            ErrorCode::ConsentRequired
        );
        s.consent = true;
        s.respondent = "110105194912310021".into();
        assert_eq!(
            app.start_interview(s.clone(), now()).unwrap_err().code,
            ErrorCode::NationalIdNotAllowed
        );
        s.respondent = "  ".into();
        assert_eq!(
            app.start_interview(s.clone(), now()).unwrap_err().code,
            ErrorCode::InvalidField
        );
        let drafts_before = app.drafts(now()).unwrap().len();
        let r = start(&mut app, c);
        assert_eq!(app.last_interviewer().unwrap(), "张敏");
        assert_eq!(app.drafts(now()).unwrap().len(), drafts_before + 1);
        let data = app.interview(r.instance_id, Lang::ZhCn, now()).unwrap();
        assert_eq!(
            data.answers.values["today"],
            now()
                .with_timezone(&app.utc_offset)
                .format("%Y-%m-%d")
                .to_string()
        );
        assert_eq!(
            app.communities_recent_first().unwrap()[0].id,
            c,
            "most recent first"
        );
    }

    #[test]
    fn answers_drive_skip_logic_and_finalize_lists_blockers_in_order() {
        let (_d, mut app, c) = app_with_demo();
        let r = start(&mut app, c);
        let id = r.instance_id;
        let out = app.answer(id, "a_age", "３０", Lang::ZhCn, now()).unwrap();
        assert_eq!(out.value, "30");
        let out = app.answer(id, "a_years", "40", Lang::ZhCn, now()).unwrap();
        assert_eq!(
            out.changed["a_years"].message.as_deref(),
            Some("居住年数不能超过年龄。")
        );
        let out = app
            .answer(id, "h_problems", "pets", Lang::En, now())
            .unwrap();
        assert!(out.changed["h_sev_pets"].relevant);
        let f = app.finalize(id, Lang::ZhCn, now()).unwrap();
        assert!(!f.finalized);
        assert_eq!(
            f.blockers[0].key, "a_sex",
            "first missing question in form order"
        );
        assert!(f
            .blockers
            .iter()
            .any(|b| b.key == "a_years" && b.message == "居住年数不能超过年龄。"));
        assert!(f.blockers.iter().any(|b| b.key == "h_sev_pets"));
        assert!(
            !f.blockers.iter().any(|b| b.key == "h_sev_theft"),
            "irrelevant questions never block"
        );
        assert_eq!(
            app.answer(id, "no_such_question", "1", Lang::ZhCn, now())
                .unwrap_err()
                .code,
            ErrorCode::AnswerRefused
        );
    }

    #[test]
    fn a_complete_interview_finalizes_and_edits_become_audited_versions() {
        let (_d, mut app, c) = app_with_demo();
        let r = start(&mut app, c);
        let id = r.instance_id;
        let answers = REQUIRED_ANSWERS.iter().chain(&[("f_needs", "lift")]);
        for (k, v) in answers {
            app.answer(id, k, v, Lang::ZhCn, now()).unwrap();
        }
        let f = app.finalize(id, Lang::ZhCn, now()).unwrap();
        assert!(f.finalized, "{:?}", f.blockers);
        assert_eq!(
            app.answer(id, "b1", "5", Lang::ZhCn, now())
                .unwrap_err()
                .code,
            ErrorCode::ResponseReadOnly
        );
        assert!(app.interview(id, Lang::ZhCn, now()).unwrap().read_only);
        let v2 = app.edit_interview(id, now()).unwrap();
        app.answer(v2.instance_id, "b1", "2", Lang::ZhCn, now())
            .unwrap();
        assert!(
            app.finalize(v2.instance_id, Lang::ZhCn, now())
                .unwrap()
                .finalized
        );
        let h = app.history(id).unwrap();
        assert_eq!(h.versions.len(), 2);
        let edit = h
            .audit
            .iter()
            .find(|a| a.field.as_deref() == Some("b1"))
            .expect("audited");
        assert_eq!(
            (edit.old_value.as_deref(), edit.new_value.as_deref()),
            (Some("4"), Some("2"))
        );
    }

    #[test]
    fn fixed_defaults_are_the_starting_answers() {
        let (_d, mut app, id) = app_with_form("ok_defaults_readonly.xlsx");
        let data = app.interview(id, Lang::ZhCn, now()).unwrap();
        assert_eq!(
            (
                data.answers.values["n"].as_str(),
                data.answers.values["d"].as_str()
            ),
            ("5", "2026-01-01")
        );
        assert!(data.state.items["fixed"].read_only);
    }

    #[test]
    fn discard_and_restore() {
        let (_d, mut app, c) = app_with_demo();
        let r = start(&mut app, c);
        app.discard_interview(r.instance_id, now()).unwrap();
        assert_eq!(
            app.answer(r.instance_id, "a_age", "30", Lang::ZhCn, now())
                .unwrap_err()
                .code,
            ErrorCode::ResponseDiscarded
        );
        assert!(app
            .discarded(now())
            .unwrap()
            .iter()
            .any(|x| x.response.instance_id == r.instance_id));
        app.restore_interview(r.instance_id, now()).unwrap();
        app.answer(r.instance_id, "a_age", "30", Lang::ZhCn, now())
            .unwrap();
    }

    const REQUIRED_ANSWERS: &[(&str, &str)] = DEFAULT_SCALE_REQUIRED;

    fn stored(app: &App, id: Uuid) -> BTreeMap<String, String> {
        app.store().stored_answers(id).unwrap().values
    }

    #[test]
    fn calculations_are_stored_with_every_save_and_the_record_is_what_odk_submits() {
        let (_d, mut app, c) = app_with_demo();
        let id = start(&mut app, c).instance_id;
        assert_eq!(
            stored(&app, id).get("h_count").map(String::as_str),
            Some("0"),
            "a calculation that holds from the start is stored at the start"
        );
        for (k, v) in REQUIRED_ANSWERS {
            app.answer(id, k, v, Lang::ZhCn, now()).unwrap();
        }
        app.answer(id, "f_needs", "lift parking", Lang::ZhCn, now())
            .unwrap();
        app.answer(id, "f_top", "parking", Lang::ZhCn, now())
            .unwrap();
        app.answer(id, "h_problems", "pets theft", Lang::ZhCn, now())
            .unwrap();
        app.answer(id, "h_sev_pets", "3", Lang::ZhCn, now())
            .unwrap();
        app.answer(id, "h_sev_theft", "2", Lang::ZhCn, now())
            .unwrap();
        assert_eq!(stored(&app, id)["h_count"], "2", "stored in the same save");
        // Untick a problem and a need: the answers behind them stop being relevant.
        let out = app
            .answer(id, "h_problems", "theft", Lang::ZhCn, now())
            .unwrap();
        assert!(!out.changed["h_sev_pets"].relevant);
        assert_eq!(out.changed["h_sev_pets"].value, "", "gone from the screen");
        assert_eq!(stored(&app, id)["h_count"], "1");
        // Ticked again before finalize, the earlier severity comes back, as in Collect.
        let out = app
            .answer(id, "h_problems", "theft pets", Lang::ZhCn, now())
            .unwrap();
        assert_eq!(out.changed["h_sev_pets"].value, "3");
        app.answer(id, "h_problems", "theft", Lang::ZhCn, now())
            .unwrap();
        app.answer(id, "f_needs", "lift", Lang::ZhCn, now())
            .unwrap();
        let f = app.finalize(id, Lang::ZhCn, now()).unwrap();
        assert!(f.finalized, "{:?}", f.blockers);
        let rec = stored(&app, id);
        assert_eq!(rec["h_count"], "1");
        assert_eq!(rec["h_sev_theft"], "2");
        assert!(!rec.contains_key("h_sev_pets"), "not relevant: dropped");
        assert!(!rec.contains_key("f_top"), "one need: no 'most urgent'");
        assert_eq!(rec["f_needs"], "lift");
        let ts = regex_lite_timestamp;
        assert!(
            ts(&rec["start"]) && ts(&rec["end"]),
            "{} {}",
            rec["start"],
            rec["end"]
        );
        let drops: Vec<(String, String)> = app
            .history(id)
            .unwrap()
            .audit
            .into_iter()
            .filter(|a| a.action == shequ_core::AuditAction::Drop)
            .map(|a| (a.field.unwrap(), a.old_value.unwrap()))
            .collect();
        assert_eq!(
            drops,
            vec![
                ("f_top".to_string(), "parking".to_string()),
                ("h_sev_pets".to_string(), "3".to_string())
            ],
            "every removal audited with the value it had"
        );
    }

    /// `2026-03-01T10:00:00.000+08:00`: RFC 3339 with milliseconds and an offset.
    fn regex_lite_timestamp(s: &str) -> bool {
        chrono::DateTime::parse_from_rfc3339(s).is_ok()
            && s.len() == 29
            && s.as_bytes()[19] == b'.'
            && matches!(s.as_bytes()[23], b'+' | b'-')
    }

    fn app_with_form(fixture: &str) -> (tempfile::TempDir, App, Uuid) {
        let (d, mut app, c) = app_with_demo();
        let bytes = std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../tests/fixtures/xlsform")
                .join(fixture),
        )
        .unwrap();
        let (summary, _) = app.import_instrument(&bytes, fixture, now()).unwrap();
        let r = app
            .start_interview(
                StartInterview {
                    community_id: c,
                    instrument_id: Some(summary.id),
                    interviewer: "张敏".into(),
                    respondent: "1-1".into(),
                    consent: true,
                },
                now(),
            )
            .unwrap();
        (d, app, r.instance_id)
    }

    #[test]
    fn repeats_sized_by_an_expression_are_recorded_with_their_calculations() {
        let (_d, mut app, id) = app_with_form("ok_repeat_count.xlsx");
        app.answer(id, "n", "3", Lang::ZhCn, now()).unwrap();
        assert_eq!(stored(&app, id)["kids"], "3");
        assert_eq!(stored(&app, id)["child[3]/pos"], "3");
        app.answer(id, "child[2]/cage", "7", Lang::ZhCn, now())
            .unwrap();
        app.answer(id, "child[3]/cage", "4", Lang::ZhCn, now())
            .unwrap();
        app.answer(id, "n", "2", Lang::ZhCn, now()).unwrap();
        app.answer(id, "child[1]/cage", "9", Lang::ZhCn, now())
            .unwrap();
        assert!(app.finalize(id, Lang::ZhCn, now()).unwrap().finalized);
        let rec = app.store().stored_answers(id).unwrap();
        assert_eq!(
            rec.repeat_counts,
            BTreeMap::from([("child".to_string(), 2)])
        );
        assert_eq!(rec.values["kids"], "2");
        assert_eq!(
            (
                rec.values["child[1]/pos"].as_str(),
                rec.values["child[2]/pos"].as_str()
            ),
            ("1", "2")
        );
        assert!(
            !rec.values.keys().any(|k| k.starts_with("child[3]")),
            "the third child no longer exists: {rec:?}"
        );
    }

    #[test]
    fn answers_the_form_cannot_hold_are_refused_naming_the_question_and_nothing_is_written() {
        let (_d, mut app, c) = app_with_demo();
        let id = start(&mut app, c).instance_id;
        app.answer(id, "a_age", "45", Lang::ZhCn, now()).unwrap();
        let before = app.store().stored_answers(id).unwrap();
        let updated = app.store().response(id).unwrap().updated_at;
        let later = now() + chrono::Duration::minutes(5);
        for (key, value, refusal) in [
            ("no_such_question", "1", "unknown_key"),
            ("group/a_age", "1", "unknown_key"),
            ("a_age[1]", "1", "unknown_key"),
            ("h_count", "3", "not_answerable"),
            ("a_intro", "hello", "not_answerable"),
            ("start", "2026-01-01T00:00:00.000+08:00", "not_answerable"),
            ("a_age", "forty", "not_an_integer"),
            ("a_age", "4.5", "not_an_integer"),
            ("a_sex", "alien", "unknown_choice"),
            ("a_household", "none spaceship", "unknown_choice"),
        ] {
            let e = app.answer(id, key, value, Lang::ZhCn, later).unwrap_err();
            assert_eq!(e.code, ErrorCode::AnswerRefused, "{key}");
            assert_eq!(e.params["refusal"], refusal, "{key}");
            assert!(
                e.message(Lang::En).contains("Nothing was saved"),
                "{}",
                e.message(Lang::En)
            );
        }
        let e = app
            .answer(id, "a_age", "forty", Lang::ZhCn, later)
            .unwrap_err();
        assert_eq!(
            e.message(Lang::ZhCn),
            "题目“您的年龄（周岁）”：“forty”不是整数。没有保存。"
        );
        assert_eq!(
            app.store().stored_answers(id).unwrap(),
            before,
            "nothing written"
        );
        assert_eq!(app.store().response(id).unwrap().updated_at, updated);
        // The next good answer still saves (the cached state was not disturbed).
        app.answer(id, "a_age", "46", Lang::ZhCn, later).unwrap();
        assert_eq!(stored(&app, id)["a_age"], "46");
    }

    #[test]
    fn repeat_instances_must_exist_and_have_the_forms_nesting() {
        let (_d, mut app, id) = app_with_form("ok_nested_repeats.xlsx");
        let refusal = |app: &mut App, k: &str, v: &str| {
            app.answer(id, k, v, Lang::En, now()).unwrap_err().params["refusal"].clone()
        };
        assert_eq!(
            refusal(&mut app, "building[1]/bname", "A"),
            "no_such_instance"
        );
        app.set_repeat_count(id, "building", 2, Lang::En, now())
            .unwrap();
        app.answer(id, "building[2]/bname", "B", Lang::En, now())
            .unwrap();
        assert_eq!(
            refusal(&mut app, "building[3]/bname", "C"),
            "no_such_instance"
        );
        assert_eq!(refusal(&mut app, "building[0]/bname", "C"), "unknown_key");
        assert_eq!(refusal(&mut app, "bname", "C"), "unknown_key");
        assert_eq!(refusal(&mut app, "flat[1]/residents", "2"), "unknown_key");
        assert_eq!(
            refusal(&mut app, "building[2]/flat[1]/residents", "2"),
            "no_such_instance"
        );
        app.set_repeat_count(id, "building[2]/flat", 3, Lang::En, now())
            .unwrap();
        app.answer(id, "building[2]/flat[3]/residents", "4", Lang::En, now())
            .unwrap();
        assert_eq!(
            refusal(&mut app, "building[2]/flat[3]/residents", "four"),
            "not_an_integer"
        );
        assert_eq!(
            app.set_repeat_count(id, "building[5]/flat", 1, Lang::En, now())
                .unwrap_err()
                .params["refusal"],
            "no_such_instance"
        );
        assert_eq!(
            app.set_repeat_count(id, "nothing", 1, Lang::En, now())
                .unwrap_err()
                .params["refusal"],
            "unknown_key"
        );
        assert!(app.finalize(id, Lang::En, now()).unwrap().finalized);
        let rec = app.store().stored_answers(id).unwrap();
        assert_eq!(rec.values["building[2]/flat[3]/residents"], "4");
        assert_eq!(rec.repeat_counts["building[2]/flat"], 3);
    }

    #[test]
    fn versions_never_fork() {
        let (_d, mut app, c) = app_with_demo();
        let id = start(&mut app, c).instance_id;
        for (k, v) in REQUIRED_ANSWERS {
            app.answer(id, k, v, Lang::ZhCn, now()).unwrap();
        }
        assert!(app.finalize(id, Lang::ZhCn, now()).unwrap().finalized);
        let v2 = app.edit_interview(id, now()).unwrap();
        assert_eq!(
            app.edit_interview(id, now()).unwrap().instance_id,
            v2.instance_id,
            "an edit in progress is resumed"
        );
        app.answer(v2.instance_id, "b1", "1", Lang::ZhCn, now())
            .unwrap();
        assert!(
            app.finalize(v2.instance_id, Lang::ZhCn, now())
                .unwrap()
                .finalized
        );
        let e = app.edit_interview(id, now()).unwrap_err();
        assert_eq!(e.code, ErrorCode::ResponseSuperseded);
        assert_eq!(e.params["id"], v2.instance_id.to_string());
        assert_eq!(
            app.history(id).unwrap().versions.len(),
            2,
            "no third version"
        );
        let v3 = app.edit_interview(v2.instance_id, now()).unwrap();
        assert_eq!(v3.deprecated_id, Some(v2.instance_id));
    }

    #[test]
    fn a_loop_is_answered_by_its_key_paths_and_recorded_as_odk_would() {
        let (_d, mut app, id) = app_with_form("ok_loop.xlsx");
        app.answer(id, "have", "kitchen", Lang::En, now()).unwrap();
        app.answer(id, "per_room/kitchen/count", "1", Lang::En, now())
            .unwrap();
        app.answer(id, "per_room/kitchen/about", "small", Lang::En, now())
            .unwrap();
        app.answer(id, "per_room/bedroom/about", "none yet", Lang::En, now())
            .unwrap();
        let e = app.answer(id, "count", "2", Lang::En, now()).unwrap_err();
        assert_eq!(
            e.params["refusal"], "unknown_key",
            "a bare shared name is no key"
        );
        // Not relevant (no bedroom ticked): blocks nothing, recorded as nothing.
        let f = app.finalize(id, Lang::En, now()).unwrap();
        assert!(f.finalized, "{:?}", f.blockers);
        let rec = app.store().stored_answers(id).unwrap().values;
        assert_eq!(rec["per_room/kitchen/count"], "1");
        assert_eq!(rec["per_room/kitchen/about"], "small");
        assert_eq!(
            rec["per_room/bedroom/about"], "none yet",
            "about has no relevance"
        );
        assert!(!rec.contains_key("per_room/bedroom/count"));
    }

    #[test]
    fn a_removed_instance_takes_its_answers_and_nested_repeats_with_it() {
        let (_d, mut app, id) = app_with_form("ok_nested_repeats.xlsx");
        app.set_repeat_count(id, "building", 2, Lang::En, now())
            .unwrap();
        app.answer(id, "building[2]/bname", "B", Lang::En, now())
            .unwrap();
        app.set_repeat_count(id, "building[2]/flat", 1, Lang::En, now())
            .unwrap();
        app.answer(id, "building[2]/flat[1]/residents", "4", Lang::En, now())
            .unwrap();
        app.answer(id, "building[1]/bname", "A", Lang::En, now())
            .unwrap();
        app.set_repeat_count(id, "building", 1, Lang::En, now())
            .unwrap();
        let stored = app.store().stored_answers(id).unwrap();
        assert_eq!(
            stored
                .values
                .keys()
                .filter(|k| k.starts_with("building"))
                .collect::<Vec<_>>(),
            ["building[1]/bname"]
        );
        assert!(!stored.repeat_counts.contains_key("building[2]/flat"));
        // Added again, the second building starts empty, without flats.
        let st = app
            .set_repeat_count(id, "building", 2, Lang::En, now())
            .unwrap()
            .state;
        assert_eq!(st.items["building[2]/bname"].value, "");
        assert_eq!(
            st.repeat_counts
                .get("building[2]/flat")
                .copied()
                .unwrap_or(0),
            0
        );
        // The in-memory state agrees with a fresh one from the store.
        let fresh = app.interview(id, Lang::En, now()).unwrap();
        assert_eq!(fresh.state, st);
    }

    #[test]
    fn an_added_repeat_instance_starts_with_its_fixed_defaults() {
        let (_d, mut app, id) = app_with_form("ok_repeat_default.xlsx");
        let st = app
            .set_repeat_count(id, "member", 2, Lang::En, now())
            .unwrap()
            .state;
        assert_eq!(st.items["member[2]/lives_here"].value, "yes");
        assert_eq!(st.items["member[2]/meals"].value, "3");
        app.answer(id, "member[1]/meals", "2", Lang::En, now())
            .unwrap();
        app.set_repeat_count(id, "member", 3, Lang::En, now())
            .unwrap();
        let stored = app.store().stored_answers(id).unwrap().values;
        assert_eq!(
            stored["member[1]/meals"], "2",
            "an answer is never replaced by a default"
        );
        assert_eq!(stored["member[3]/meals"], "3");
        assert_eq!(stored["member[3]/lives_here"], "yes");
        assert!(!stored.contains_key("member[3]/mname"));
    }
}
