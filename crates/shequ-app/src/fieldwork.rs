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
use shequ_forms::{Answers, CompiledForm, FormState, ItemState};
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

/// The choices passing each `choice_filter`, for every instance of a filtered question.
fn filtered_choices(
    form: &CompiledForm,
    st: &FormState,
    answers: &Answers,
    env: &EvalEnv,
) -> BTreeMap<String, Vec<String>> {
    let filtered: Vec<&str> = form
        .definition()
        .questions()
        .into_iter()
        .filter(|q| q.choice_filter.is_some())
        .map(|q| q.name.as_str())
        .collect();
    st.items
        .keys()
        .filter(|k| filtered.contains(&k.rsplit('/').next().unwrap_or(k)))
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

/// Names of the questions inside repeats (their instances do not exist at the start).
fn repeat_members(items: &[shequ_core::FormItem]) -> Vec<String> {
    fn walk(items: &[shequ_core::FormItem], inside: bool, out: &mut Vec<String>) {
        for item in items {
            match item {
                shequ_core::FormItem::Question(q) if inside => out.push(q.name.clone()),
                shequ_core::FormItem::Question(_) => {}
                shequ_core::FormItem::Group {
                    repeat, children, ..
                } => walk(children, inside || *repeat, out),
            }
        }
    }
    let mut out = Vec::new();
    walk(items, false, &mut out);
    out
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
        self.compiled(instrument_id)?;
        let id = shequ_core::new_id();
        let r = Response {
            instance_id: id,
            root_id: id,
            deprecated_id: None,
            instrument_id,
            community_id: s.community_id,
            status: ResponseStatus::Draft,
            interviewer: interviewer.clone(),
            device_id: self.device_id().to_string(),
            respondent,
            started_at: now,
            updated_at: now,
            finalized_at: None,
            position: String::new(),
            discarded_at: None,
        };
        let actor = self.actor();
        self.store_mut().create_response(&r, &actor, now)?;
        self.store_mut()
            .set_setting(SETTING_LAST_INTERVIEWER, &interviewer)?;
        // ODK's metadata questions, filled as ODK Collect fills them.
        let def = self.compiled(instrument_id)?.definition().clone();
        let local = now.with_timezone(&self.utc_offset);
        let in_repeat = repeat_members(&def.items);
        for q in def.questions() {
            let value = match q.qtype.as_str() {
                "start" => local.to_rfc3339(),
                "today" => local.format("%Y-%m-%d").to_string(),
                "deviceid" => self.device_id().to_string(),
                "username" => interviewer.clone(),
                // A fixed `default` is the starting answer, as ODK Collect fills it in.
                _ => match &q.default {
                    Some(d)
                        if q.takes_input() && !d.contains("${") && !in_repeat.contains(&q.name) =>
                    {
                        clean_value(&q.qtype, d)
                    }
                    _ => continue,
                },
            };
            self.store_mut()
                .save_answer(id, &q.name, &value, "", &actor, now)?;
        }
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

    /// The durable save of one answer, then the form state that changed. `key` is an
    /// instance key (`a_age`, `member[2]/age`).
    pub fn answer(
        &mut self,
        id: Uuid,
        key: &str,
        raw: &str,
        lang: Lang,
        now: DateTime<Utc>,
    ) -> Result<SaveOutcome> {
        let response = self.store().response(id)?;
        let name = key.rsplit('/').next().unwrap_or(key).to_string();
        let qtype = {
            let form = self.compiled(response.instrument_id)?;
            form.definition()
                .question(&name)
                .map(|q| q.qtype.clone())
                .ok_or_else(|| {
                    Error::new(ErrorCode::NotFound)
                        .with("what", "question")
                        .with("id", key)
                })?
        };
        let value = clean_value(&qtype, raw);
        let actor = self.actor();
        // Durable first: nothing is reported saved before SQLite's commit returns.
        self.store_mut()
            .save_answer(id, key, &value, key, &actor, now)?;
        let env = self.env(lang, now);
        let (mut answers, mut state) = match self.open.remove(&id) {
            Some(x) => x,
            None => {
                let a = self.answers_of(id)?;
                let st = self.compiled(response.instrument_id)?.evaluate(&a, &env);
                (a, st)
            }
        };
        answers.set(key, &value);
        let form = self.compiled(response.instrument_id)?;
        let keys = form.update(&mut state, &answers, key, &env);
        let mut changed: BTreeMap<String, ItemState> = keys
            .into_iter()
            .filter_map(|k| state.items.get(&k).map(|s| (k, s.clone())))
            .collect();
        if let Some(s) = state.items.get(key) {
            changed.insert(key.to_string(), s.clone());
        }
        let repeat_counts = state.repeat_counts.clone();
        let filtered_choices = filtered_choices(form, &state, &answers, &env);
        self.open.insert(id, (answers, state));
        Ok(SaveOutcome {
            value,
            saved_at: now,
            changed,
            repeat_counts,
            filtered_choices,
        })
    }

    /// Sets how many instances a user-sized repeat has (add or remove one).
    pub fn set_repeat_count(
        &mut self,
        id: Uuid,
        repeat_key: &str,
        count: u32,
        lang: Lang,
        now: DateTime<Utc>,
    ) -> Result<FormState> {
        self.store_mut()
            .set_repeat_count(id, repeat_key, count, now)?;
        self.open.remove(&id);
        Ok(self.interview(id, lang, now)?.state)
    }

    /// Finalizes when every relevant question is answered and valid; otherwise says which
    /// questions block it, in form order, with their messages.
    pub fn finalize(
        &mut self,
        id: Uuid,
        lang: Lang,
        now: DateTime<Utc>,
    ) -> Result<FinalizeOutcome> {
        let data = self.interview(id, lang, now)?;
        if data.read_only {
            return Err(Error::new(ErrorCode::ResponseReadOnly));
        }
        let order: Vec<String> = data
            .definition
            .questions()
            .iter()
            .map(|q| q.name.clone())
            .collect();
        let mut blockers: Vec<Blocker> = data
            .state
            .problems()
            .map(|(k, s)| {
                let name = k.rsplit('/').next().unwrap_or(k);
                let label = data
                    .definition
                    .question(name)
                    .and_then(|q| q.label.pick(lang))
                    .unwrap_or(name)
                    .to_string();
                Blocker {
                    key: k.clone(),
                    label,
                    message: s.message.clone().unwrap_or_default(),
                }
            })
            .collect();
        blockers.sort_by_key(|b| {
            order
                .iter()
                .position(|n| Some(n.as_str()) == b.key.rsplit('/').next())
                .unwrap_or(usize::MAX)
        });
        if !blockers.is_empty() {
            return Ok(FinalizeOutcome {
                finalized: false,
                blockers,
            });
        }
        let actor = self.actor();
        let local = now.with_timezone(&self.utc_offset).to_rfc3339();
        for q in data
            .definition
            .questions()
            .iter()
            .filter(|q| q.qtype == "end")
        {
            self.store_mut()
                .save_answer(id, &q.name, &local, "", &actor, now)?;
        }
        self.store_mut().finalize_response(id, &actor, now)?;
        self.open.remove(&id);
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
        let mut app = App::open(dir.path(), now()).unwrap();
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
            ErrorCode::NotFound
        );
    }

    #[test]
    fn a_complete_interview_finalizes_and_edits_become_audited_versions() {
        let (_d, mut app, c) = app_with_demo();
        let r = start(&mut app, c);
        let id = r.instance_id;
        let answers: &[(&str, &str)] = &[
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
            ("f_needs", "lift"),
            ("i_volunteer_hours", "0"),
            ("i_venue", "no"),
            ("i_contacts", "no"),
        ];
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
        let (_d, mut app, c) = app_with_demo();
        let bytes = std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../tests/fixtures/xlsform/ok_defaults_readonly.xlsx"),
        )
        .unwrap();
        let (summary, _) = app
            .import_instrument(&bytes, "defaults.xlsx", now())
            .unwrap();
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
        let data = app.interview(r.instance_id, Lang::ZhCn, now()).unwrap();
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
}
