//! Form state: given a form and its answers, which questions are relevant, required and
//! valid, and what the calculations give. One implementation for the UI, the CLI and the
//! exports.
//!
//! Answers are keyed by *instance key*: `name` outside repeats, `rep[2]/name` inside the
//! second instance of repeat `rep`, `outer[1]/inner[3]/name` when nested (1-based).
//! A name that more than one question or group carries (allowed in different groups, as
//! pyxform allows; loops make exactly that) is keyed by its *key path* instead: the names of
//! the non-repeat groups between its nearest enclosing repeat (or the form) and it, then its
//! name — `hh_a/age` and `hh_b/age`, `rep[2]/grp/age` — unless it sits directly in that repeat
//! or the form, where the name alone stays its key. Siblings never share a name and repeats
//! never do (pyxform refuses both), so every key names one item; a `${name}` that could mean
//! several is refused at import, as pyxform refuses it. [`assign_keys`] fills `key_path`.
//! Dependencies are computed once, in [`CompiledForm::compile`]; [`CompiledForm::update`]
//! re-evaluates only what depends on the changed answer.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};
use shequ_core::{i18n, FormDefinition, FormItem, Lang, LocalizedText, Question};
use ts_rs::TS;

use crate::expr::{self, Env, Expr, Value};

/// The answers of one response, and the number of instances of each user-sized repeat.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Answers {
    pub values: BTreeMap<String, String>,
    /// Instances of repeats without `repeat_count`, keyed like answers (`rep`, `rep[1]/inner`).
    pub repeat_counts: BTreeMap<String, u32>,
}

impl Answers {
    pub fn set(&mut self, key: &str, value: &str) {
        if value.is_empty() {
            self.values.remove(key);
        } else {
            self.values.insert(key.to_string(), value.to_string());
        }
    }
}

/// A finalized response's content, exactly what ODK Collect would submit: see
/// [`CompiledForm::record`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Record {
    pub values: BTreeMap<String, String>,
    pub repeat_counts: BTreeMap<String, u32>,
}

/// Why a value cannot be written at an instance key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The form has no question at that key (or the key's repeat path is not the question's).
    UnknownKey,
    /// The repeat instance in the key does not exist.
    NoSuchInstance,
    /// A note, calculation, metadata or unsupported question: the form fills it, nobody types it.
    NotAnswerable,
    ReadOnly,
    /// The value has the wrong type or is not in the choice list.
    Value(Problem),
}

impl Refusal {
    /// The catalogue key under `answer_refusals.` that explains it.
    pub fn code(self) -> &'static str {
        match self {
            Refusal::UnknownKey => "unknown_key",
            Refusal::NoSuchInstance => "no_such_instance",
            Refusal::NotAnswerable => "not_answerable",
            Refusal::ReadOnly => "read_only",
            Refusal::Value(Problem::NotANumber) => "not_a_number",
            Refusal::Value(Problem::NotAnInteger) => "not_an_integer",
            Refusal::Value(Problem::BadDate) => "bad_date",
            Refusal::Value(Problem::BadTime) => "bad_time",
            Refusal::Value(Problem::UnknownChoice) => "unknown_choice",
            Refusal::Value(_) => "bad_value",
        }
    }
}

/// The most instances any repeat may have, sized by the worker or by `repeat_count`.
pub const MAX_REPEAT_INSTANCES: u32 = 1000;

/// Why an answer is not acceptable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export, rename_all = "snake_case")]
pub enum Problem {
    Required,
    Constraint,
    NotANumber,
    NotAnInteger,
    BadDate,
    BadTime,
    UnknownChoice,
}

/// The state of one question instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ItemState {
    pub relevant: bool,
    pub required: bool,
    pub read_only: bool,
    /// The effective value: the answer, or the calculation's result; empty when not relevant.
    pub value: String,
    pub problem: Option<Problem>,
    /// The message to show beside the question, in the interview language.
    pub message: Option<String>,
}

/// The state of every question instance, keyed by instance key.
#[derive(Debug, Clone, Default, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct FormState {
    pub items: BTreeMap<String, ItemState>,
    /// Instances of every repeat (after `repeat_count`), keyed like answers.
    pub repeat_counts: BTreeMap<String, u32>,
}

impl FormState {
    /// Instance keys with a problem, in document order of the form.
    pub fn problems(&self) -> impl Iterator<Item = (&String, &ItemState)> {
        self.items.iter().filter(|(_, s)| s.problem.is_some())
    }
}

/// The language and the time an evaluation runs in (time is passed in, never read here).
#[derive(Debug, Clone, Copy)]
pub struct EvalEnv {
    pub lang: Lang,
    pub now: DateTime<FixedOffset>,
}

#[derive(Debug)]
struct Node {
    name: String,
    /// The last part of its instance keys: the key path, or the name.
    seg: String,
    question: Option<Question>,
    is_repeat: bool,
    parent: Option<usize>,
    /// Repeat ancestors, outermost first, including the node itself when it is a repeat.
    repeats: Vec<usize>,
    relevant: Option<Expr>,
    required: Option<Expr>,
    read_only: Option<Expr>,
    constraint: Option<Expr>,
    calculation: Option<Expr>,
    choice_filter: Option<Expr>,
    repeat_count: Option<Expr>,
}

/// A form ready to evaluate: parsed expressions, node table, dependency graph.
#[derive(Debug)]
pub struct CompiledForm {
    def: FormDefinition,
    nodes: Vec<Node>,
    /// Names carried by one item only: what `${name}` can refer to.
    index: HashMap<String, usize>,
    /// Key shape → node: the instance key with its repeat indices emptied (`rep[]/grp/age`).
    shapes: HashMap<String, usize>,
    /// Value order: every node after what its relevance and calculation read.
    order: Vec<usize>,
    /// node → nodes whose expressions (any column) read it, plus its children.
    dependents: Vec<Vec<usize>>,
}

fn parse_opt(s: &Option<String>) -> Option<Expr> {
    s.as_deref().and_then(|t| expr::parse(t).ok())
}

impl CompiledForm {
    /// Compiles a form. `Err` holds a dependency cycle (names, first repeated at the end).
    pub fn compile(def: &FormDefinition) -> Result<CompiledForm, Vec<String>> {
        let mut def = def.clone();
        assign_keys(&mut def.items);
        let def = &def;
        let mut nodes = Vec::new();
        fn walk(
            items: &[FormItem],
            parent: Option<usize>,
            repeats: &[usize],
            nodes: &mut Vec<Node>,
        ) {
            for item in items {
                let idx = nodes.len();
                match item {
                    FormItem::Question(q) => nodes.push(Node {
                        name: q.name.clone(),
                        seg: q.key_name().to_string(),
                        question: Some(q.clone()),
                        is_repeat: false,
                        parent,
                        repeats: repeats.to_vec(),
                        relevant: parse_opt(&q.relevant),
                        required: parse_opt(&q.required),
                        read_only: parse_opt(&q.read_only),
                        constraint: parse_opt(&q.constraint),
                        calculation: parse_opt(&q.calculation),
                        choice_filter: q
                            .choice_filter
                            .as_deref()
                            .and_then(|t| expr::parse_choice_filter(t).ok()),
                        repeat_count: None,
                    }),
                    FormItem::Group {
                        name,
                        relevant,
                        repeat,
                        repeat_count,
                        children,
                        key_path,
                        ..
                    } => {
                        let mut reps = repeats.to_vec();
                        if *repeat {
                            reps.push(idx);
                        }
                        nodes.push(Node {
                            name: name.clone(),
                            seg: if key_path.is_empty() {
                                name.clone()
                            } else {
                                key_path.clone()
                            },
                            question: None,
                            is_repeat: *repeat,
                            parent,
                            repeats: reps.clone(),
                            relevant: parse_opt(relevant),
                            required: None,
                            read_only: None,
                            constraint: None,
                            calculation: None,
                            choice_filter: None,
                            repeat_count: repeat_count.as_ref().map(|rc| match rc.parse::<f64>() {
                                Ok(n) => Expr::Num(n),
                                Err(_) => expr::parse(rc).unwrap_or(Expr::Num(0.0)),
                            }),
                        });
                        walk(children, Some(idx), &reps, nodes);
                    }
                }
            }
        }
        walk(&def.items, None, &[], &mut nodes);
        let mut carriers: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, n) in nodes.iter().enumerate() {
            carriers.entry(n.name.as_str()).or_default().push(i);
        }
        let index: HashMap<String, usize> = carriers
            .iter()
            .filter(|(_, v)| v.len() == 1)
            .map(|(k, v)| (k.to_string(), v[0]))
            .collect();
        let shapes: HashMap<String, usize> = (0..nodes.len())
            .map(|i| {
                let mut k = String::new();
                for &r in &nodes[i].repeats {
                    if r != i {
                        k.push_str(&nodes[r].seg);
                        k.push_str("[]/");
                    }
                }
                k.push_str(&nodes[i].seg);
                if nodes[i].is_repeat {
                    k.push_str("[]");
                }
                (k, i)
            })
            .collect();
        let refs = |exprs: &[&Option<Expr>]| -> Vec<usize> {
            let mut out = Vec::new();
            for e in exprs.iter().filter_map(|e| e.as_ref()) {
                for r in expr::references(e) {
                    if let Some(&i) = index.get(&r) {
                        if !out.contains(&i) {
                            out.push(i);
                        }
                    }
                }
            }
            out
        };
        // Value dependencies: relevance, calculation, repeat_count, and the parent group.
        let value_deps: Vec<Vec<usize>> = nodes
            .iter()
            .map(|n| {
                let mut d = refs(&[&n.relevant, &n.calculation, &n.repeat_count]);
                if let Some(p) = n.parent {
                    d.push(p);
                }
                d
            })
            .collect();
        let names: Vec<&str> = nodes.iter().map(|n| n.name.as_str()).collect();
        let order = topo_order(&names, &value_deps)?;
        let mut dependents = vec![Vec::new(); nodes.len()];
        for (i, n) in nodes.iter().enumerate() {
            let mut all = refs(&[
                &n.relevant,
                &n.calculation,
                &n.repeat_count,
                &n.required,
                &n.read_only,
                &n.constraint,
                &n.choice_filter,
            ]);
            if let Some(q) = &n.question {
                for text in q.label.0.values().chain(q.hint.0.values()) {
                    for r in expr::text_references(text) {
                        if let Some(&j) = index.get(&r) {
                            all.push(j);
                        }
                    }
                }
            }
            if let Some(p) = n.parent {
                all.push(p);
            }
            for d in all {
                if !dependents[d].contains(&i) {
                    dependents[d].push(i);
                }
            }
        }
        Ok(CompiledForm {
            def: def.clone(),
            nodes,
            index,
            shapes,
            order,
            dependents,
        })
    }

    pub fn definition(&self) -> &FormDefinition {
        &self.def
    }

    /// Evaluates everything.
    pub fn evaluate(&self, answers: &Answers, env: &EvalEnv) -> FormState {
        let mut st = FormState::default();
        let all: Vec<usize> = self.order.clone();
        self.recompute(&mut st, answers, env, &all);
        st
    }

    /// Re-evaluates after the answer at `changed` (an instance key, or a repeat key whose
    /// instance count changed). Returns the instance keys whose state changed.
    pub fn update(
        &self,
        st: &mut FormState,
        answers: &Answers,
        changed: &str,
        env: &EvalEnv,
    ) -> Vec<String> {
        // An answer's node, or a repeat's (its key without its own index), or both.
        let shape = key_shape(changed).map(|(s, _)| s).unwrap_or_default();
        let mut stack: Vec<usize> = [
            self.shapes.get(&shape),
            self.shapes.get(&format!("{shape}[]")),
        ]
        .into_iter()
        .flatten()
        .copied()
        .collect();
        if stack.is_empty() {
            return Vec::new();
        }
        // Everything reachable through the dependents graph.
        let mut seen = HashSet::new();
        while let Some(n) = stack.pop() {
            if seen.insert(n) {
                stack.extend(self.dependents[n].iter().copied());
                // A repeat's count change also touches everything inside it.
                if self.nodes[n].is_repeat {
                    stack.extend(
                        (0..self.nodes.len()).filter(|&c| self.nodes[c].repeats.contains(&n)),
                    );
                }
            }
        }
        let affected: Vec<usize> = self
            .order
            .iter()
            .copied()
            .filter(|n| seen.contains(n))
            .collect();
        let before: Vec<(String, Option<ItemState>)> = affected
            .iter()
            .flat_map(|&n| self.instances(n, st).into_iter().map(move |ctx| (n, ctx)))
            .map(|(n, ctx)| {
                let k = self.key(n, &ctx);
                let old = st.items.get(&k).cloned();
                (k, old)
            })
            .collect();
        self.recompute(st, answers, env, &affected);
        let known: HashSet<&String> = before.iter().map(|(k, _)| k).collect();
        let mut changed_keys: Vec<String> = before
            .iter()
            .filter(|(k, old)| st.items.get(k) != old.as_ref())
            .map(|(k, _)| k.clone())
            .collect();
        // Instances that did not exist before (a repeat grew) count as changed.
        for &n in affected.iter().filter(|&&n| !self.nodes[n].is_repeat) {
            for ctx in self.instances(n, st) {
                let k = self.key(n, &ctx);
                if !known.contains(&k) {
                    changed_keys.push(k);
                }
            }
        }
        changed_keys.sort();
        changed_keys.dedup();
        changed_keys
    }

    /// The choices of a select question instance that pass its `choice_filter`.
    pub fn choices(
        &self,
        st: &FormState,
        answers: &Answers,
        key: &str,
        env: &EvalEnv,
    ) -> Vec<shequ_core::Choice> {
        let n = match self.node_of_key(key) {
            Some(n) => n,
            None => {
                let name = key.rsplit('/').next().unwrap_or(key);
                match self.index.get(name) {
                    Some(&n) => n,
                    None => return Vec::new(),
                }
            }
        };
        let Some(list) = self.nodes[n]
            .question
            .as_ref()
            .and_then(|q| q.list_name.as_ref())
        else {
            return Vec::new();
        };
        let all = self.def.choices.get(list).cloned().unwrap_or_default();
        let Some(filter) = &self.nodes[n].choice_filter else {
            return all;
        };
        let ctx = parse_context(self, key);
        all.into_iter()
            .filter(|c| {
                let e = Ctx {
                    form: self,
                    st,
                    answers,
                    env,
                    context: ctx.clone(),
                    current: String::new(),
                    choice: Some(c),
                };
                filter.eval(&e).as_bool()
            })
            .collect()
    }

    /// The values of every calculated instance (a `calculate`, or any question with a
    /// `calculation`) in `keys`: the state's current result, `""` when not relevant. These are
    /// stored beside the answers at every save, so the record never depends on re-evaluation.
    pub fn calculated<'k>(
        &self,
        st: &FormState,
        keys: impl IntoIterator<Item = &'k String>,
    ) -> BTreeMap<String, String> {
        keys.into_iter()
            .filter(|k| {
                self.node_of_key(k).is_some_and(|n| {
                    self.nodes[n].calculation.is_some() && self.nodes[n].question.is_some()
                })
            })
            .map(|k| {
                let v = st.items.get(k).map(|s| s.value.clone()).unwrap_or_default();
                (k.clone(), v)
            })
            .collect()
    }

    /// Every calculated instance of the form in this state (see [`CompiledForm::calculated`]).
    pub fn all_calculated(&self, st: &FormState) -> BTreeMap<String, String> {
        self.calculated(st, st.items.keys())
    }

    /// The submission ODK Collect would make from this state: the value of every relevant
    /// question instance that has one (answers and calculation results alike), nothing of a
    /// non-relevant question, group or repeat instance, nothing for keys the form does not
    /// have, and the instance count of every repeat that has a relevant instance (repeats
    /// sized by `repeat_count` included).
    pub fn record(&self, st: &FormState) -> Record {
        let values = st
            .items
            .iter()
            .filter(|(k, s)| {
                s.relevant
                    && !s.value.is_empty()
                    && self
                        .node_of_key(k)
                        .is_some_and(|n| self.nodes[n].question.is_some())
            })
            .map(|(k, s)| (k.clone(), s.value.clone()))
            .collect();
        let repeat_counts = st
            .repeat_counts
            .iter()
            .filter(|(rk, &count)| {
                count > 0
                    && (1..=count).any(|i| {
                        st.items
                            .get(&format!("{rk}[{i}]"))
                            .is_some_and(|s| s.relevant)
                    })
            })
            .map(|(k, &c)| (k.clone(), c))
            .collect();
        Record {
            values,
            repeat_counts,
        }
    }

    /// The node an instance key names, when the key has exactly the shape the form gives
    /// that node (`q`, `rep[2]/q`, `outer[1]/inner[3]/q`; a repeat's own key is `rep[2]`).
    fn node_of_key(&self, key: &str) -> Option<usize> {
        self.parse_key(key).map(|(n, _)| n)
    }

    /// The node and repeat context of an instance key, checked against the form's nesting.
    fn parse_key(&self, key: &str) -> Option<(usize, Vec<usize>)> {
        let (shape, ctx) = key_shape(key)?;
        let &n = self.shapes.get(&shape)?;
        // Only the canonical spelling: `rep[01]/q` or `rep[+1]/q` would be stored where
        // nothing reads it.
        (ctx.len() == self.nodes[n].repeats.len() && self.key(n, &ctx) == key).then_some((n, ctx))
    }

    /// Whether `value` may be written at instance key `key` in this state: the key names an
    /// existing instance of a question that takes input (not a note, calculation, metadata,
    /// read-only or unsupported question), and the value has the question's type and is in
    /// its choice list (after `choice_filter`). An empty value (clearing) is always allowed
    /// where writing is. The UI, the CLI and bundle import all use this one check.
    pub fn check_answer(
        &self,
        st: &FormState,
        answers: &Answers,
        key: &str,
        value: &str,
        env: &EvalEnv,
    ) -> Result<(), Refusal> {
        let (n, ctx) = self.parse_key(key).ok_or(Refusal::UnknownKey)?;
        let node = &self.nodes[n];
        let q = node.question.as_ref().ok_or(Refusal::UnknownKey)?;
        if !self.instances(n, st).contains(&ctx) {
            return Err(Refusal::NoSuchInstance);
        }
        if !q.takes_input() || node.calculation.is_some() {
            return Err(Refusal::NotAnswerable);
        }
        if st.items.get(key).is_some_and(|s| s.read_only) {
            return Err(Refusal::ReadOnly);
        }
        if value.is_empty() {
            return Ok(());
        }
        if let Some(p) = type_problem(q, value, &self.def) {
            return Err(Refusal::Value(p));
        }
        if node.choice_filter.is_some() && !self.passes_filter(q, value, st, answers, key, env) {
            return Err(Refusal::Value(Problem::UnknownChoice));
        }
        Ok(())
    }

    /// Checks a finalized record that arrived from elsewhere (a bundle) with the rules of
    /// [`CompiledForm::check_answer`]: every key names a question of the form in its
    /// canonical shape, no note holds a value, every repeat count names a repeat and stays
    /// within the limit, and every answer that is part of the submission (its instance exists
    /// once `repeat_count` expressions are evaluated, and its question applies) has its
    /// question's type. Records finalized before calculations and repeat counts were stored
    /// (or pruned) still pass: what is not part of the submission is inert, exports never
    /// read it. Returns the first refused key, in key order.
    pub fn check_record(&self, record: &Record, env: &EvalEnv) -> Result<(), (String, Refusal)> {
        for (rk, &count) in &record.repeat_counts {
            let known = self
                .parse_key(&format!("{rk}[1]"))
                .is_some_and(|(n, _)| self.nodes[n].is_repeat);
            if !known {
                return Err((rk.clone(), Refusal::UnknownKey));
            }
            if count > MAX_REPEAT_INSTANCES {
                return Err((rk.clone(), Refusal::Value(Problem::Constraint)));
            }
        }
        // Whether a badly typed answer is part of the submission takes a full evaluation:
        // made once, and only for a record that has such an answer (bundle import checks
        // every response, and almost all of them have none).
        let mut st: Option<FormState> = None;
        for (key, value) in &record.values {
            let refuse = |r| Err((key.clone(), r));
            let Some((n, _)) = self.parse_key(key) else {
                return refuse(Refusal::UnknownKey);
            };
            let node = &self.nodes[n];
            let Some(q) = &node.question else {
                return refuse(Refusal::UnknownKey);
            };
            if q.qtype == "note" && node.calculation.is_none() {
                return refuse(Refusal::NotAnswerable);
            }
            if !q.takes_input() || node.calculation.is_some() {
                continue;
            }
            if let Some(p) = type_problem(q, value, &self.def) {
                let st = st.get_or_insert_with(|| {
                    let answers = Answers {
                        values: record.values.clone(),
                        repeat_counts: record.repeat_counts.clone(),
                    };
                    self.evaluate(&answers, env)
                });
                if st.items.get(key).is_some_and(|s| s.relevant) {
                    return refuse(Refusal::Value(p));
                }
            }
        }
        Ok(())
    }

    /// Whether every choice in `value` passes the question's `choice_filter` now.
    fn passes_filter(
        &self,
        q: &Question,
        value: &str,
        st: &FormState,
        answers: &Answers,
        key: &str,
        env: &EvalEnv,
    ) -> bool {
        if q.list_name.is_none() {
            return true;
        }
        let allowed: Vec<String> = self
            .choices(st, answers, key, env)
            .into_iter()
            .map(|c| c.name)
            .collect();
        let tokens: Vec<&str> = if q.qtype == "select_one" {
            vec![value.trim()]
        } else {
            value.split_whitespace().collect()
        };
        tokens.iter().all(|t| allowed.iter().any(|a| a == t))
    }

    /// Whether the worker may give the repeat at `repeat_key` (`rep`, `outer[2]/inner`)
    /// `count` instances: it is a repeat the worker sizes (no `repeat_count`), its outer
    /// instances exist, and the count stays within the limit every repeat has (1000).
    pub fn check_repeat_count(
        &self,
        st: &FormState,
        repeat_key: &str,
        count: u32,
    ) -> Result<(), Refusal> {
        let (n, outer) = self
            .parse_key(&format!("{repeat_key}[1]"))
            .ok_or(Refusal::UnknownKey)?;
        let node = &self.nodes[n];
        if !node.is_repeat {
            return Err(Refusal::UnknownKey);
        }
        if node.repeat_count.is_some() {
            return Err(Refusal::NotAnswerable);
        }
        let outer = &outer[..outer.len() - 1];
        let outer_repeats = &node.repeats[..node.repeats.len() - 1];
        if !self
            .expand(outer_repeats, vec![Vec::new()], st)
            .iter()
            .any(|c| c == outer)
        {
            return Err(Refusal::NoSuchInstance);
        }
        if count > MAX_REPEAT_INSTANCES {
            return Err(Refusal::Value(Problem::Constraint));
        }
        Ok(())
    }

    /// The question an instance key names, when it names one.
    pub fn question_of_key(&self, key: &str) -> Option<&Question> {
        self.node_of_key(key)
            .and_then(|n| self.nodes[n].question.as_ref())
    }

    /// Instance key of node `n` in repeat context `ctx` (indices of `n.repeats`).
    fn key(&self, n: usize, ctx: &[usize]) -> String {
        let mut k = String::new();
        for (r, i) in self.nodes[n].repeats.iter().zip(ctx) {
            k.push_str(&self.nodes[*r].seg);
            k.push_str(&format!("[{i}]/"));
        }
        if self.nodes[n].is_repeat {
            k.pop();
            return k;
        }
        k.push_str(&self.nodes[n].seg);
        k
    }

    /// Key of the repeat `r` (without its own index) under the outer indices `outer`.
    fn repeat_key(&self, r: usize, outer: &[usize]) -> String {
        let mut k = String::new();
        for (rr, i) in self.nodes[r].repeats.iter().zip(outer) {
            k.push_str(&self.nodes[*rr].seg);
            k.push_str(&format!("[{i}]/"));
        }
        k.push_str(&self.nodes[r].seg);
        k
    }

    /// Every repeat context of node `n`, given the repeat counts in `st`.
    fn instances(&self, n: usize, st: &FormState) -> Vec<Vec<usize>> {
        self.expand(&self.nodes[n].repeats, vec![Vec::new()], st)
    }

    /// Extends each context in `from` through the instances of `repeats`, outermost first.
    fn expand(&self, repeats: &[usize], from: Vec<Vec<usize>>, st: &FormState) -> Vec<Vec<usize>> {
        let mut out = from;
        for &r in repeats {
            let mut next = Vec::new();
            for ctx in &out {
                let count = st
                    .repeat_counts
                    .get(&self.repeat_key(r, ctx))
                    .copied()
                    .unwrap_or(0);
                for i in 1..=count as usize {
                    let mut c = ctx.clone();
                    c.push(i);
                    next.push(c);
                }
            }
            out = next;
        }
        out
    }

    fn recompute(&self, st: &mut FormState, answers: &Answers, env: &EvalEnv, nodes: &[usize]) {
        // Pass 1: relevance, repeat counts and values, in dependency order.
        for &n in nodes {
            let node = &self.nodes[n];
            if node.is_repeat {
                let outer_ctxs = self.expand(
                    &node.repeats[..node.repeats.len() - 1],
                    vec![Vec::new()],
                    st,
                );
                for outer in outer_ctxs {
                    let rk = self.repeat_key(n, &outer);
                    let count = match &node.repeat_count {
                        Some(e) => {
                            let ctx = Ctx::new(
                                self,
                                st,
                                answers,
                                env,
                                self.pairs(n, &outer),
                                String::new(),
                            );
                            let v = e.eval(&ctx).as_number();
                            if v.is_nan() || v < 0.0 {
                                0
                            } else {
                                v.min(MAX_REPEAT_INSTANCES as f64) as u32
                            }
                        }
                        None => answers.repeat_counts.get(&rk).copied().unwrap_or(0),
                    };
                    st.repeat_counts.insert(rk, count);
                }
            }
            for ctx in self.instances(n, st) {
                let key = self.key(n, &ctx);
                let pairs = self.pairs(n, &ctx);
                let parent_relevant = match node.parent {
                    Some(p) => {
                        let pctx: Vec<usize> =
                            ctx[..self.nodes[p].repeats.len().min(ctx.len())].to_vec();
                        st.items.get(&self.key(p, &pctx)).is_none_or(|s| s.relevant)
                    }
                    None => true,
                };
                let relevant = parent_relevant
                    && node.relevant.as_ref().is_none_or(|e| {
                        e.eval(&Ctx::new(
                            self,
                            st,
                            answers,
                            env,
                            pairs.clone(),
                            String::new(),
                        ))
                        .as_bool()
                    });
                let value = if !relevant || node.question.is_none() {
                    String::new()
                } else if let Some(calc) = &node.calculation {
                    let answered = answers.values.get(&key).cloned().unwrap_or_default();
                    let c = Ctx::new(self, st, answers, env, pairs.clone(), answered);
                    calc.eval(&c).as_string()
                } else {
                    answers.values.get(&key).cloned().unwrap_or_default()
                };
                let entry = st.items.entry(key).or_insert(ItemState {
                    relevant,
                    required: false,
                    read_only: false,
                    value: String::new(),
                    problem: None,
                    message: None,
                });
                entry.relevant = relevant;
                entry.value = value;
            }
        }
        // Pass 2: requirement, read-only, validity (these read values, never feed them).
        for &n in nodes {
            let node = &self.nodes[n];
            let Some(q) = &node.question else { continue };
            for ctx in self.instances(n, st) {
                let key = self.key(n, &ctx);
                let pairs = self.pairs(n, &ctx);
                let Some(item) = st.items.get(&key) else {
                    continue;
                };
                let (relevant, value) = (item.relevant, item.value.clone());
                let c = Ctx::new(self, st, answers, env, pairs, value.clone());
                let required =
                    relevant && node.required.as_ref().is_some_and(|e| e.eval(&c).as_bool());
                let read_only = node
                    .read_only
                    .as_ref()
                    .is_some_and(|e| e.eval(&c).as_bool());
                let problem = if !relevant || !q.takes_input() {
                    None
                } else if value.is_empty() {
                    required.then_some(Problem::Required)
                } else if let Some(p) = type_problem(q, &value, &self.def) {
                    Some(p)
                } else if node.choice_filter.is_some()
                    && !self.passes_filter(q, &value, st, answers, &key, env)
                {
                    // A cascading answer its filter no longer allows (the district changed
                    // after the sub-district was chosen) blocks finalizing.
                    Some(Problem::UnknownChoice)
                } else if node
                    .constraint
                    .as_ref()
                    .is_some_and(|e| !e.eval(&c).as_bool())
                {
                    Some(Problem::Constraint)
                } else {
                    None
                };
                let message = problem.map(|p| message(q, p, env.lang));
                let item = st.items.get_mut(&key).expect("present");
                item.required = required;
                item.read_only = read_only;
                item.problem = problem;
                item.message = message;
            }
        }
    }

    /// (repeat node, index) pairs for a context.
    fn pairs(&self, n: usize, ctx: &[usize]) -> Vec<(usize, usize)> {
        self.nodes[n]
            .repeats
            .iter()
            .copied()
            .zip(ctx.iter().copied())
            .collect()
    }
}

/// An instance key's shape (its repeat indices emptied: `rep[]/grp/age`) and its indices,
/// outermost first; `None` when a part is not `name` or `name[i]` with `i` ≥ 1.
fn key_shape(key: &str) -> Option<(String, Vec<usize>)> {
    let mut shape = String::with_capacity(key.len());
    let mut ctx = Vec::new();
    for (i, part) in key.split('/').enumerate() {
        if i > 0 {
            shape.push('/');
        }
        match part.split_once('[') {
            Some((name, rest)) => {
                let i: usize = rest.strip_suffix(']')?.parse().ok()?;
                if i == 0 || name.is_empty() {
                    return None;
                }
                shape.push_str(name);
                shape.push_str("[]");
                ctx.push(i);
            }
            None if part.is_empty() => return None,
            None => shape.push_str(part),
        }
    }
    Some((shape, ctx))
}

fn parse_context(form: &CompiledForm, key: &str) -> Vec<(usize, usize)> {
    if let Some((n, ctx)) = form.parse_key(key) {
        return form.pairs(n, &ctx);
    }
    let mut out = Vec::new();
    for part in key.split('/') {
        if let Some((name, rest)) = part.split_once('[') {
            if let (Some(&r), Ok(i)) = (
                form.index.get(name),
                rest.trim_end_matches(']').parse::<usize>(),
            ) {
                out.push((r, i));
            }
        }
    }
    out
}

fn type_problem(q: &Question, value: &str, def: &FormDefinition) -> Option<Problem> {
    let v = value.trim();
    match q.qtype.as_str() {
        "integer" => v.parse::<i64>().is_err().then_some(Problem::NotAnInteger),
        "decimal" | "range" => {
            (v.parse::<f64>().map_or(true, |f| !f.is_finite())).then_some(Problem::NotANumber)
        }
        "date" => chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d")
            .is_err()
            .then_some(Problem::BadDate),
        "dateTime" => (chrono::DateTime::parse_from_rfc3339(v).is_err()
            && chrono::NaiveDateTime::parse_from_str(v, "%Y-%m-%dT%H:%M:%S%.f").is_err()
            && chrono::NaiveDateTime::parse_from_str(v, "%Y-%m-%dT%H:%M").is_err())
        .then_some(Problem::BadDate),
        "time" => (chrono::NaiveTime::parse_from_str(v, "%H:%M").is_err()
            && chrono::NaiveTime::parse_from_str(v, "%H:%M:%S").is_err()
            && chrono::NaiveTime::parse_from_str(v, "%H:%M:%S%.f%:z").is_err())
        .then_some(Problem::BadTime),
        "select_one" | "select_multiple" | "rank" => {
            let list = def.choices.get(q.list_name.as_deref()?)?;
            let ok = |t: &str| list.iter().any(|c| c.name == t);
            let tokens: Vec<&str> = if q.qtype == "select_one" {
                vec![v]
            } else {
                v.split_whitespace().collect()
            };
            (!tokens.iter().all(|t| ok(t))).then_some(Problem::UnknownChoice)
        }
        _ => None,
    }
}

fn message(q: &Question, p: Problem, lang: Lang) -> String {
    let from_form = |t: &LocalizedText| t.pick(lang).map(str::to_string);
    let key = match p {
        Problem::Required => {
            return from_form(&q.required_message)
                .unwrap_or_else(|| i18n::text(lang, "form_state.required"))
        }
        Problem::Constraint => {
            return from_form(&q.constraint_message)
                .unwrap_or_else(|| i18n::text(lang, "form_state.constraint"))
        }
        Problem::NotANumber => "form_state.not_a_number",
        Problem::NotAnInteger => "form_state.not_an_integer",
        Problem::BadDate => "form_state.bad_date",
        Problem::BadTime => "form_state.bad_time",
        Problem::UnknownChoice => "form_state.unknown_choice",
    };
    i18n::text(lang, key)
}

/// The evaluation environment for one node instance.
struct Ctx<'a> {
    form: &'a CompiledForm,
    st: &'a FormState,
    answers: &'a Answers,
    env: &'a EvalEnv,
    context: Vec<(usize, usize)>,
    current: String,
    choice: Option<&'a shequ_core::Choice>,
}

impl<'a> Ctx<'a> {
    fn new(
        form: &'a CompiledForm,
        st: &'a FormState,
        answers: &'a Answers,
        env: &'a EvalEnv,
        context: Vec<(usize, usize)>,
        current: String,
    ) -> Self {
        Ctx {
            form,
            st,
            answers,
            env,
            context,
            current,
            choice: None,
        }
    }

    fn value_of(&self, n: usize, ctx: &[usize]) -> String {
        let key = self.form.key(n, ctx);
        match self.st.items.get(&key) {
            Some(s) => s.value.clone(),
            // Not evaluated yet (a later node with no path to this one): the raw answer.
            None => self.answers.values.get(&key).cloned().unwrap_or_default(),
        }
    }
}

impl Env for Ctx<'_> {
    fn resolve(&self, name: &str) -> Value {
        let Some(&t) = self.form.index.get(name) else {
            return Value::Str(String::new());
        };
        let target = &self.form.nodes[t];
        // Fix the indices of repeats shared with the current context; enumerate the rest.
        let mut fixed = Vec::new();
        for (i, &r) in target.repeats.iter().enumerate() {
            match self.context.get(i) {
                Some(&(cr, ci)) if cr == r && !(target.is_repeat && r == t) => fixed.push(ci),
                _ => break,
            }
        }
        let ctxs = self
            .form
            .expand(&target.repeats[fixed.len()..], vec![fixed.clone()], self.st);
        if target.is_repeat {
            return Value::Nodes(
                ctxs.iter()
                    .map(|c| c.last().map_or(String::new(), |i| i.to_string()))
                    .collect(),
            );
        }
        if fixed.len() == target.repeats.len() {
            Value::Str(self.value_of(t, &fixed))
        } else {
            Value::Nodes(ctxs.iter().map(|c| self.value_of(t, c)).collect())
        }
    }

    fn current(&self) -> Value {
        Value::Str(self.current.clone())
    }

    fn position(&self) -> Option<usize> {
        self.context.last().map(|(_, i)| *i)
    }

    fn choice_label(&self, question: &str, value: &str) -> Option<String> {
        let q = self.form.nodes[*self.form.index.get(question)?]
            .question
            .as_ref()?;
        let list = self.form.def.choices.get(q.list_name.as_deref()?)?;
        list.iter()
            .find(|c| c.name == value)
            .and_then(|c| c.label.pick(self.env.lang))
            .map(str::to_string)
    }

    fn now(&self) -> DateTime<FixedOffset> {
        self.env.now
    }

    fn indexed(&self, name: &str, repeats: &[(String, usize)]) -> Value {
        let Some(&t) = self.form.index.get(name) else {
            return Value::Nodes(Vec::new());
        };
        // Each enclosing repeat: the index asked for, else the current context's, else 1.
        let mut fixed = Vec::new();
        for (level, &r) in self.form.nodes[t].repeats.iter().enumerate() {
            let rname = &self.form.nodes[r].name;
            let i = repeats
                .iter()
                .find(|(n, _)| n == rname)
                .map(|(_, i)| *i)
                .or_else(|| self.context.get(level).filter(|c| c.0 == r).map(|c| c.1))
                .unwrap_or(1);
            let count = self
                .st
                .repeat_counts
                .get(&self.form.repeat_key(r, &fixed))
                .copied()
                .unwrap_or(0) as usize;
            if i > count {
                // No such instance: an empty node-set, as the XPath path gives.
                return Value::Nodes(Vec::new());
            }
            fixed.push(i);
        }
        Value::Str(self.value_of(t, &fixed))
    }

    fn form_version(&self) -> String {
        self.form.def.version.clone()
    }

    fn column(&self, name: &str) -> Value {
        let Some(c) = self.choice else {
            return Value::Str(String::new());
        };
        match name {
            "name" => Value::Str(c.name.clone()),
            "label" => Value::Str(c.label.pick(self.env.lang).unwrap_or_default().to_string()),
            other => Value::Str(c.columns.get(other).cloned().unwrap_or_default()),
        }
    }
}

/// Fills every item's `key_path` by the rule of the module doc: a question or group whose name
/// another question or group also carries, and that sits inside a group, gets the names of
/// the non-repeat groups from its nearest enclosing repeat (or the form) down to it; every
/// other item (and every repeat) gets none, so a form of unique names keeps its keys.
pub fn assign_keys(items: &mut [FormItem]) {
    fn count(items: &[FormItem], out: &mut HashMap<String, usize>) {
        for item in items {
            match item {
                FormItem::Question(q) => *out.entry(q.name.clone()).or_default() += 1,
                FormItem::Group {
                    name,
                    repeat,
                    children,
                    ..
                } => {
                    if !*repeat {
                        *out.entry(name.clone()).or_default() += 1;
                    }
                    count(children, out);
                }
            }
        }
    }
    fn fill(items: &mut [FormItem], scope: &str, counts: &HashMap<String, usize>) {
        let path = |name: &str| {
            if scope.is_empty() {
                name.to_string()
            } else {
                format!("{scope}/{name}")
            }
        };
        let shared = |name: &str| !scope.is_empty() && counts.get(name).is_some_and(|&c| c > 1);
        for item in items {
            match item {
                FormItem::Question(q) => {
                    q.key_path = if shared(&q.name) {
                        path(&q.name)
                    } else {
                        String::new()
                    };
                }
                FormItem::Group {
                    name,
                    repeat,
                    children,
                    key_path,
                    ..
                } => {
                    if *repeat {
                        key_path.clear();
                        fill(children, "", counts);
                    } else {
                        *key_path = if shared(name) {
                            path(name)
                        } else {
                            String::new()
                        };
                        fill(children, &path(name), counts);
                    }
                }
            }
        }
    }
    let mut counts = HashMap::new();
    count(items, &mut counts);
    fill(items, "", &counts);
}

/// The first dependency cycle among relevance, calculations and repeat counts, if any: the
/// import check, without building the whole evaluator.
pub fn dependency_cycle(def: &FormDefinition) -> Option<Vec<String>> {
    let refs = |item: &FormItem| -> Vec<String> {
        let exprs: Vec<&String> = match item {
            FormItem::Question(q) => [&q.relevant, &q.calculation]
                .into_iter()
                .flatten()
                .collect(),
            FormItem::Group {
                relevant,
                repeat_count,
                ..
            } => [relevant, repeat_count].into_iter().flatten().collect(),
        };
        exprs
            .into_iter()
            .filter_map(|e| expr::parse(e).ok())
            .flat_map(|e| expr::references(&e))
            .collect()
    };
    let mut by_name: HashMap<String, Vec<String>> = HashMap::new();
    fn each(items: &[FormItem], f: &mut dyn FnMut(&FormItem)) {
        for item in items {
            f(item);
            if let FormItem::Group { children, .. } = item {
                each(children, f);
            }
        }
    }
    each(&def.items, &mut |item| {
        let name = match item {
            FormItem::Question(q) => q.name.clone(),
            FormItem::Group { name, .. } => name.clone(),
        };
        by_name.insert(name, refs(item));
    });
    dependency_cycle_with(def, &|name| by_name.get(name).cloned().unwrap_or_default())
}

/// As [`dependency_cycle`], with the references of each item's relevance, calculation and
/// repeat count supplied by the caller (the importer has them already).
pub fn dependency_cycle_with(
    def: &FormDefinition,
    refs: &dyn Fn(&str) -> Vec<String>,
) -> Option<Vec<String>> {
    fn walk<'a>(
        items: &'a [FormItem],
        parent: Option<usize>,
        out: &mut Vec<(&'a str, Option<usize>)>,
    ) {
        for item in items {
            let idx = out.len();
            match item {
                FormItem::Question(q) => out.push((&q.name, parent)),
                FormItem::Group { name, children, .. } => {
                    out.push((name, parent));
                    walk(children, Some(idx), out);
                }
            }
        }
    }
    let mut flat = Vec::new();
    walk(&def.items, None, &mut flat);
    let index: HashMap<&str, usize> = flat.iter().enumerate().map(|(i, f)| (f.0, i)).collect();
    let deps: Vec<Vec<usize>> = flat
        .iter()
        .map(|(name, parent)| {
            let mut d: Vec<usize> = refs(name)
                .iter()
                .filter_map(|r| index.get(r.as_str()).copied())
                .collect();
            d.extend(*parent);
            d
        })
        .collect();
    let names: Vec<&str> = flat.iter().map(|f| f.0).collect();
    topo_order(&names, &deps).err()
}

/// Kahn's algorithm over value dependencies; a cycle is returned as the names on it.
fn topo_order(names: &[&str], deps: &[Vec<usize>]) -> Result<Vec<usize>, Vec<String>> {
    let n = names.len();
    let mut indegree = vec![0usize; n];
    let mut users = vec![Vec::new(); n];
    for (i, ds) in deps.iter().enumerate() {
        for &d in ds {
            indegree[i] += 1;
            users[d].push(i);
        }
    }
    // Ready nodes are taken in document order, so independent nodes keep form order.
    let mut ready: std::collections::BTreeSet<usize> =
        (0..n).filter(|&i| indegree[i] == 0).collect();
    let mut order = Vec::with_capacity(n);
    while let Some(i) = ready.pop_first() {
        order.push(i);
        for &u in &users[i] {
            indegree[u] -= 1;
            if indegree[u] == 0 {
                ready.insert(u);
            }
        }
    }
    if order.len() == n {
        return Ok(order);
    }
    // Walk dependencies from a node left over until one repeats: that is a cycle.
    let start = (0..n).find(|&i| indegree[i] > 0).expect("a node is left");
    let mut path = vec![start];
    let mut cur = start;
    loop {
        let next = *deps[cur]
            .iter()
            .find(|&&d| indegree[d] > 0)
            .expect("a cycle continues");
        if let Some(pos) = path.iter().position(|&p| p == next) {
            let mut cycle: Vec<String> =
                path[pos..].iter().map(|&i| names[i].to_string()).collect();
            cycle.push(names[next].to_string());
            return Err(cycle);
        }
        path.push(next);
        cur = next;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::form;
    use chrono::TimeZone;

    fn env(lang: Lang) -> EvalEnv {
        EvalEnv {
            lang,
            now: FixedOffset::east_opt(8 * 3600)
                .unwrap()
                .with_ymd_and_hms(2026, 3, 1, 9, 0, 0)
                .unwrap(),
        }
    }

    fn answers(pairs: &[(&str, &str)]) -> Answers {
        let mut a = Answers::default();
        for (k, v) in pairs {
            a.set(k, v);
        }
        a
    }

    const HEAD: &[&str] = &[
        "type",
        "name",
        "label::中文 (zh)",
        "label::English (en)",
        "required",
        "relevant",
        "constraint",
        "constraint_message::中文 (zh)",
        "constraint_message::English (en)",
        "calculation",
        "repeat_count",
        "choice_filter",
    ];
    const YN: &[&[&str]] = &[
        &[
            "list_name",
            "name",
            "label::中文 (zh)",
            "label::English (en)",
            "county",
        ],
        &["yn", "yes", "是", "Yes", ""],
        &["yn", "no", "否", "No", ""],
        &["county", "a", "甲县", "A county", ""],
        &["county", "b", "乙县", "B county", ""],
        &["town", "a1", "甲一镇", "A1", "a"],
        &["town", "a2", "甲二镇", "A2", "a"],
        &["town", "b1", "乙一镇", "B1", "b"],
    ];

    fn skip_form() -> CompiledForm {
        let def = form(
            &[
                HEAD,
                &[
                    "select_one yn",
                    "smoke",
                    "抽烟吗",
                    "Smoke?",
                    "yes",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                ],
                &[
                    "integer",
                    "packs",
                    "每天几包",
                    "Packs a day",
                    "yes",
                    "${smoke} = 'yes'",
                    ". > 0 and . < 10",
                    "应在 1 到 9 之间",
                    "Between 1 and 9",
                    "",
                    "",
                    "",
                ],
                &[
                    "calculate",
                    "cost",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "${packs} * 20",
                    "",
                    "",
                ],
                &[
                    "calculate",
                    "yearly",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "${cost} * 365",
                    "",
                    "",
                ],
                &[
                    "text",
                    "note_text",
                    "备注",
                    "Notes",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                ],
                &[
                    "select_one county",
                    "county",
                    "县",
                    "County",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                ],
                &[
                    "select_one town",
                    "town",
                    "镇",
                    "Town",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "county = ${county}",
                ],
            ],
            YN,
        );
        CompiledForm::compile(&def).unwrap()
    }

    #[test]
    fn skip_logic_required_constraint_and_calculation() {
        let f = skip_form();
        let e = env(Lang::ZhCn);
        let st = f.evaluate(&answers(&[]), &e);
        assert_eq!(st.items["smoke"].problem, Some(Problem::Required));
        assert_eq!(st.items["smoke"].message.as_deref(), Some("此题必答。"));
        assert!(!st.items["packs"].relevant, "skipped until smoke = yes");
        assert_eq!(
            st.items["packs"].problem, None,
            "an irrelevant question is never required"
        );

        let st = f.evaluate(&answers(&[("smoke", "yes")]), &e);
        assert!(st.items["packs"].relevant);
        assert_eq!(st.items["packs"].problem, Some(Problem::Required));

        let st = f.evaluate(&answers(&[("smoke", "yes"), ("packs", "12")]), &e);
        assert_eq!(st.items["packs"].problem, Some(Problem::Constraint));
        assert_eq!(
            st.items["packs"].message.as_deref(),
            Some("应在 1 到 9 之间")
        );
        let st_en = f.evaluate(
            &answers(&[("smoke", "yes"), ("packs", "12")]),
            &env(Lang::En),
        );
        assert_eq!(
            st_en.items["packs"].message.as_deref(),
            Some("Between 1 and 9")
        );

        let st = f.evaluate(&answers(&[("smoke", "yes"), ("packs", "2")]), &e);
        assert_eq!(st.items["packs"].problem, None);
        assert_eq!(
            (
                st.items["cost"].value.as_str(),
                st.items["yearly"].value.as_str()
            ),
            ("40", "14600")
        );

        // Answering "no" hides packs: its stale answer no longer counts anywhere.
        let st = f.evaluate(&answers(&[("smoke", "no"), ("packs", "2")]), &e);
        assert_eq!(st.items["packs"].value, "");
        assert_eq!(st.items["cost"].value, "", "empty × 20 is empty, not 0");
        assert_eq!(st.problems().count(), 0);
    }

    #[test]
    fn type_checks_come_before_constraints() {
        let f = skip_form();
        let st = f.evaluate(
            &answers(&[("smoke", "yes"), ("packs", "两包")]),
            &env(Lang::En),
        );
        assert_eq!(st.items["packs"].problem, Some(Problem::NotAnInteger));
        assert_eq!(
            st.items["packs"].message.as_deref(),
            Some("Enter a whole number.")
        );
        let st = f.evaluate(&answers(&[("smoke", "maybe")]), &env(Lang::En));
        assert_eq!(st.items["smoke"].problem, Some(Problem::UnknownChoice));
    }

    #[test]
    fn update_touches_only_what_depends_on_the_change() {
        let f = skip_form();
        let e = env(Lang::ZhCn);
        let mut a = answers(&[("smoke", "yes"), ("packs", "1"), ("note_text", "x")]);
        let mut st = f.evaluate(&a, &e);
        a.set("packs", "3");
        let changed = f.update(&mut st, &a, "packs", &e);
        assert_eq!(changed, vec!["cost", "packs", "yearly"]);
        assert_eq!(st, f.evaluate(&a, &e), "incremental equals full evaluation");
        a.set("smoke", "no");
        let changed = f.update(&mut st, &a, "smoke", &e);
        assert_eq!(changed, vec!["cost", "packs", "smoke", "yearly"]);
        assert_eq!(st, f.evaluate(&a, &e));
        a.set("note_text", "y");
        assert_eq!(f.update(&mut st, &a, "note_text", &e), vec!["note_text"]);
    }

    #[test]
    fn cascading_select_filters_choices_by_column() {
        let f = skip_form();
        let e = env(Lang::ZhCn);
        let a = answers(&[("county", "a")]);
        let st = f.evaluate(&a, &e);
        let towns: Vec<String> = f
            .choices(&st, &a, "town", &e)
            .into_iter()
            .map(|c| c.name)
            .collect();
        assert_eq!(towns, vec!["a1", "a2"]);
        let a = answers(&[("county", "b")]);
        let st = f.evaluate(&a, &e);
        assert_eq!(f.choices(&st, &a, "town", &e).len(), 1);
        assert_eq!(
            f.choices(&st, &a, "county", &e).len(),
            2,
            "no filter: every choice"
        );
    }

    #[test]
    fn repeats_count_sum_and_position() {
        let def = form(
            &[
                HEAD,
                &[
                    "integer", "n", "人数", "People", "", "", "", "", "", "", "", "",
                ],
                &[
                    "begin repeat",
                    "person",
                    "成员",
                    "Member",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "${n}",
                    "",
                ],
                &[
                    "integer", "age", "年龄", "Age", "yes", "", "", "", "", "", "", "",
                ],
                &[
                    "calculate",
                    "idx",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "position(..)",
                    "",
                    "",
                ],
                &[
                    "calculate",
                    "older",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "if(${age} >= 60, 1, 0)",
                    "",
                    "",
                ],
                &["end repeat", "", "", "", "", "", "", "", "", "", "", ""],
                &[
                    "calculate",
                    "total_age",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "sum(${age})",
                    "",
                    "",
                ],
                &[
                    "calculate",
                    "members",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "count(${person})",
                    "",
                    "",
                ],
                &[
                    "calculate",
                    "elders",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "sum(${older})",
                    "",
                    "",
                ],
            ],
            &[],
        );
        let f = CompiledForm::compile(&def).unwrap();
        let e = env(Lang::En);
        let mut a = answers(&[
            ("n", "3"),
            ("person[1]/age", "70"),
            ("person[2]/age", "30"),
            ("person[3]/age", "65"),
        ]);
        let st = f.evaluate(&a, &e);
        assert_eq!(st.repeat_counts["person"], 3);
        assert_eq!(st.items["person[2]/idx"].value, "2");
        assert_eq!(st.items["total_age"].value, "165");
        assert_eq!(st.items["members"].value, "3");
        assert_eq!(st.items["elders"].value, "2");
        a.set("n", "2");
        let mut inc = st.clone();
        f.update(&mut inc, &a, "n", &e);
        assert_eq!(inc.repeat_counts["person"], 2);
        assert_eq!(inc.items["members"].value, "2");
        assert_eq!(inc.items["total_age"].value, "100");
        a.set("person[2]/age", "");
        let st = f.evaluate(&a, &e);
        assert_eq!(st.items["person[2]/age"].problem, Some(Problem::Required));
    }

    #[test]
    fn group_relevance_hides_children_and_choice_names_read_labels() {
        let def = form(
            &[
                HEAD,
                &[
                    "select_one yn",
                    "has_kids",
                    "有孩子吗",
                    "Children?",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                ],
                &[
                    "begin group",
                    "kids",
                    "孩子",
                    "Children",
                    "",
                    "${has_kids} = 'yes'",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                ],
                &[
                    "integer",
                    "kid_count",
                    "几个",
                    "How many",
                    "yes",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                ],
                &["end group", "", "", "", "", "", "", "", "", "", "", ""],
                &[
                    "calculate",
                    "answer_label",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "jr:choice-name(${has_kids}, '${has_kids}')",
                    "",
                    "",
                ],
            ],
            &YN[..3],
        );
        let f = CompiledForm::compile(&def).unwrap();
        let st = f.evaluate(&answers(&[("has_kids", "no")]), &env(Lang::ZhCn));
        assert!(!st.items["kid_count"].relevant);
        assert_eq!(st.items["kid_count"].problem, None);
        assert_eq!(st.items["answer_label"].value, "否");
        let st = f.evaluate(&answers(&[("has_kids", "yes")]), &env(Lang::En));
        assert_eq!(st.items["kid_count"].problem, Some(Problem::Required));
        assert_eq!(st.items["answer_label"].value, "Yes");
    }

    #[test]
    fn the_default_scale_compiles_and_checks_its_constraints() {
        let def = crate::default_scale().unwrap();
        let f = CompiledForm::compile(&def).unwrap();
        let e = env(Lang::ZhCn);
        let st = f.evaluate(&answers(&[("a_age", "30"), ("a_years", "40")]), &e);
        assert_eq!(st.items["a_years"].problem, Some(Problem::Constraint));
        assert_eq!(
            st.items["a_years"].message.as_deref(),
            Some("居住年数不能超过年龄。")
        );
        let st = f.evaluate(&answers(&[("a_household", "none elderly")]), &e);
        assert_eq!(st.items["a_household"].problem, Some(Problem::Constraint));
        let st = f.evaluate(&answers(&[("h_problems", "pets noise")]), &e);
        assert!(st.items["h_sev_pets"].relevant && !st.items["h_sev_theft"].relevant);
        assert_eq!(st.items["h_count"].value, "2");
        let st = f.evaluate(&answers(&[("f_needs", "lift parking repairs")]), &e);
        let choices: Vec<String> = f
            .choices(
                &st,
                &answers(&[("f_needs", "lift parking repairs")]),
                "f_top",
                &e,
            )
            .into_iter()
            .map(|c| c.name)
            .collect();
        assert_eq!(choices, vec!["repairs", "parking", "lift"]);
    }

    /// A group with a relevance, a repeat inside it sized by an answer, a calculation over
    /// the repeat, and a choice_filter: the record keeps only what is relevant and exists.
    fn record_form() -> CompiledForm {
        let def = form(
            &[
                HEAD,
                &[
                    "select_one yn",
                    "has_kids",
                    "有孩子吗",
                    "Kids?",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                ],
                &[
                    "begin group",
                    "kids",
                    "孩子",
                    "Kids",
                    "",
                    "${has_kids} = 'yes'",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                ],
                &[
                    "integer", "n", "几个", "How many", "", "", "", "", "", "", "", "",
                ],
                &[
                    "begin repeat",
                    "kid",
                    "孩子",
                    "Kid",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "${n}",
                    "",
                ],
                &[
                    "integer", "age", "年龄", "Age", "", "", "", "", "", "", "", "",
                ],
                &["end repeat", "", "", "", "", "", "", "", "", "", "", ""],
                &["end group", "", "", "", "", "", "", "", "", "", "", ""],
                &[
                    "calculate",
                    "total",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "sum(${age})",
                    "",
                    "",
                ],
                &[
                    "select_one county",
                    "county",
                    "县",
                    "County",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                ],
                &[
                    "select_one town",
                    "town",
                    "镇",
                    "Town",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "county = ${county}",
                ],
                &["note", "bye", "再见", "Bye", "", "", "", "", "", "", "", ""],
            ],
            YN,
        );
        CompiledForm::compile(&def).unwrap()
    }

    #[test]
    fn the_record_holds_what_is_relevant_and_exists_with_calculations_and_repeat_counts() {
        let f = record_form();
        let a = answers(&[
            ("has_kids", "yes"),
            ("n", "2"),
            ("kid[1]/age", "7"),
            ("kid[2]/age", "4"),
            ("kid[3]/age", "1"), // from when n was 3
            ("county", "a"),
            ("town", "a2"),
        ]);
        let st = f.evaluate(&a, &env(Lang::En));
        let r = f.record(&st);
        let keys: Vec<&str> = r.values.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "county",
                "has_kids",
                "kid[1]/age",
                "kid[2]/age",
                "n",
                "total",
                "town"
            ]
        );
        assert_eq!(r.values["total"], "11");
        assert_eq!(r.repeat_counts, BTreeMap::from([("kid".to_string(), 2)]));
        assert_eq!(
            f.all_calculated(&st),
            BTreeMap::from([("total".to_string(), "11".to_string())])
        );

        // The whole group stops applying: its answers, its repeat and their sum go.
        let mut a2 = a.clone();
        a2.set("has_kids", "no");
        let st2 = f.evaluate(&a2, &env(Lang::En));
        let r2 = f.record(&st2);
        let keys: Vec<&str> = r2.values.keys().map(String::as_str).collect();
        assert_eq!(keys, ["county", "has_kids", "total", "town"]);
        assert_eq!(r2.values["total"], "0");
        assert!(r2.repeat_counts.is_empty(), "{:?}", r2.repeat_counts);
        assert_eq!(f.check_record(&r, &env(Lang::En)), Ok(()));
        assert_eq!(f.check_record(&r2, &env(Lang::En)), Ok(()));
    }

    #[test]
    fn check_answer_and_check_record_refuse_what_the_form_cannot_hold() {
        let f = record_form();
        let e = env(Lang::En);
        let a = answers(&[("has_kids", "yes"), ("n", "1"), ("county", "b")]);
        let st = f.evaluate(&a, &e);
        let check = |k: &str, v: &str| f.check_answer(&st, &a, k, v, &e);
        assert_eq!(check("kid[1]/age", "5"), Ok(()));
        assert_eq!(
            check("kid[1]/age", ""),
            Ok(()),
            "clearing is always allowed"
        );
        assert_eq!(check("kid[2]/age", "5"), Err(Refusal::NoSuchInstance));
        assert_eq!(check("kids/kid[1]/age", "5"), Err(Refusal::UnknownKey));
        assert_eq!(check("age", "5"), Err(Refusal::UnknownKey));
        assert_eq!(check("kid[x]/age", "5"), Err(Refusal::UnknownKey));
        assert_eq!(check("kid", "5"), Err(Refusal::UnknownKey));
        assert_eq!(check("kids", "5"), Err(Refusal::UnknownKey));
        assert_eq!(check("total", "5"), Err(Refusal::NotAnswerable));
        assert_eq!(check("bye", "x"), Err(Refusal::NotAnswerable));
        assert_eq!(
            check("n", "two"),
            Err(Refusal::Value(Problem::NotAnInteger))
        );
        assert_eq!(
            check("has_kids", "maybe"),
            Err(Refusal::Value(Problem::UnknownChoice))
        );
        assert_eq!(check("town", "b1"), Ok(()));
        assert_eq!(
            check("town", "a1"),
            Err(Refusal::Value(Problem::UnknownChoice)),
            "a town of another county does not pass the choice_filter"
        );
        // The county changes after the town was chosen: the town no longer passes the
        // filter, so it blocks finalizing.
        let mut a2 = answers(&[("county", "b"), ("town", "b1")]);
        let st2 = f.evaluate(&a2, &e);
        assert_eq!(st2.items["town"].problem, None);
        a2.set("county", "a");
        let mut st3 = st2.clone();
        f.update(&mut st3, &a2, "county", &e);
        assert_eq!(st3.items["town"].problem, Some(Problem::UnknownChoice));
        assert_eq!(check("kid[01]/age", "5"), Err(Refusal::UnknownKey));
        assert_eq!(check("kid[+1]/age", "5"), Err(Refusal::UnknownKey));
        assert_eq!(
            f.check_repeat_count(&st, "kid", 3),
            Err(Refusal::NotAnswerable),
            "sized by ${{n}}"
        );
        assert_eq!(
            f.check_repeat_count(&st, "nothing", 1),
            Err(Refusal::UnknownKey)
        );

        let rec = |values: &[(&str, &str)], counts: &[(&str, u32)]| Record {
            values: values
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            repeat_counts: counts.iter().map(|(k, c)| (k.to_string(), *c)).collect(),
        };
        assert_eq!(
            f.check_record(
                &rec(&[("total", "3"), ("kid[2]/age", "3")], &[("kid", 2)]),
                &env(Lang::En)
            ),
            Ok(())
        );
        // Refused: a wrong type in an answer that is part of the submission.
        assert_eq!(
            f.check_record(
                &rec(&[("has_kids", "yes"), ("n", "2"), ("kid[2]/age", "x")], &[]),
                &env(Lang::En)
            ),
            Err((
                "kid[2]/age".to_string(),
                Refusal::Value(Problem::NotAnInteger)
            ))
        );
        // Accepted: a record from before repeat counts were stored (kid is sized by ${n});
        // and a leftover of an instance that no longer exists, or of a question that does
        // not apply, is inert (exports never read it).
        assert_eq!(
            f.check_record(
                &rec(&[("has_kids", "yes"), ("n", "2"), ("kid[2]/age", "5")], &[]),
                &env(Lang::En)
            ),
            Ok(())
        );
        assert_eq!(
            f.check_record(
                &rec(&[("has_kids", "yes"), ("n", "2"), ("kid[3]/age", "x")], &[]),
                &env(Lang::En)
            ),
            Ok(())
        );
        assert_eq!(
            f.check_record(
                &rec(&[("has_kids", "no"), ("n", "lots")], &[]),
                &env(Lang::En)
            ),
            Ok(())
        );
        assert_eq!(
            f.check_record(&rec(&[("kid[01]/age", "3")], &[]), &env(Lang::En)),
            Err(("kid[01]/age".to_string(), Refusal::UnknownKey)),
            "only the canonical spelling of a key"
        );
        assert_eq!(
            f.check_record(&rec(&[], &[("kid", 5000)]), &env(Lang::En)),
            Err(("kid".to_string(), Refusal::Value(Problem::Constraint)))
        );
        assert_eq!(
            f.check_record(&rec(&[], &[("kidz", 1)]), &env(Lang::En)),
            Err(("kidz".to_string(), Refusal::UnknownKey))
        );
        assert_eq!(
            f.check_record(
                &rec(&[("has_kids", "yes"), ("n", "lots")], &[]),
                &env(Lang::En)
            ),
            Err(("n".to_string(), Refusal::Value(Problem::NotAnInteger)))
        );
        assert_eq!(
            f.check_record(&rec(&[("bye", "x")], &[]), &env(Lang::En)),
            Err(("bye".to_string(), Refusal::NotAnswerable))
        );
    }

    /// `age` in two groups and in a group inside a repeat; `double` in two groups.
    fn shared_names_form() -> CompiledForm {
        let def = form(
            &[
                &[
                    "type",
                    "name",
                    "label",
                    "relevant",
                    "constraint",
                    "calculation",
                ],
                &["integer", "n", "N", "", "", ""],
                &["begin group", "hh_a", "A", "", "", ""],
                &["integer", "age", "Age", "", ". < 120", ""],
                &["calculate", "double", "", "", "", "${n} * 2"],
                &["end group", "", "", "", "", ""],
                &["begin group", "hh_b", "B", "${n} > 1", "", ""],
                &["integer", "age", "Age", "", ". < 120", ""],
                &["calculate", "double", "", "", "", "${n} * 2"],
                &["text", "who", "Who", "${n} > 2", "", ""],
                &["end group", "", "", "", "", ""],
                &["begin repeat", "kid", "Kid", "", "", ""],
                &["begin group", "g", "G", "", "", ""],
                &["integer", "age", "Age", "", "", ""],
                &["end group", "", "", "", "", ""],
                &["end repeat", "", "", "", "", ""],
            ],
            &[],
        );
        CompiledForm::compile(&def).unwrap()
    }

    #[test]
    fn a_name_in_two_groups_is_keyed_by_its_group_path_and_answered_independently() {
        let f = shared_names_form();
        let e = env(Lang::En);
        let mut a = answers(&[("n", "2"), ("hh_a/age", "200"), ("hh_b/age", "7")]);
        a.repeat_counts.insert("kid".into(), 1);
        a.set("kid[1]/g/age", "4");
        let mut st = f.evaluate(&a, &e);
        let item =
            |st: &FormState, k: &str| st.items.get(k).cloned().unwrap_or_else(|| panic!("{k}"));
        assert_eq!(item(&st, "hh_a/age").value, "200");
        assert_eq!(item(&st, "hh_a/age").problem, Some(Problem::Constraint));
        assert_eq!(item(&st, "hh_b/age").value, "7");
        assert_eq!(item(&st, "hh_b/age").problem, None);
        assert_eq!(item(&st, "kid[1]/g/age").value, "4");
        assert_eq!(item(&st, "hh_a/double").value, "4");
        assert_eq!(item(&st, "hh_b/double").value, "4");
        assert!(!st.items.contains_key("age") && !st.items.contains_key("double"));
        // Relevance through a unique name: hh_b (and so its age) only when n > 1, who (a unique name: key `who`) when n > 2.
        assert!(item(&st, "hh_b/age").relevant && !item(&st, "who").relevant);
        a.set("n", "1");
        let changed = f.update(&mut st, &a, "n", &e);
        assert!(changed.contains(&"hh_b/age".to_string()), "{changed:?}");
        assert!(!item(&st, "hh_b/age").relevant && item(&st, "hh_a/age").relevant);
        // Changing one age touches that one only.
        a.set("hh_a/age", "30");
        let changed = f.update(&mut st, &a, "hh_a/age", &e);
        assert_eq!(changed, ["hh_a/age"]);
        assert_eq!(item(&st, "hh_a/age").problem, None);
        assert_eq!(f.evaluate(&a, &e), st);

        let check = |k: &str, v: &str| f.check_answer(&st, &a, k, v, &e);
        assert_eq!(check("hh_a/age", "5"), Ok(()));
        assert_eq!(check("kid[1]/g/age", "5"), Ok(()));
        for bad in [
            "age",
            "hh_c/age",
            "kid[1]/age",
            "g/age",
            "hh_a/hh_b/age",
            "hh_a/",
        ] {
            assert_eq!(check(bad, "5"), Err(Refusal::UnknownKey), "{bad}");
        }
        assert_eq!(check("hh_a/double", "5"), Err(Refusal::NotAnswerable));
        assert_eq!(
            f.question_of_key("hh_b/age").map(|q| q.key_path.as_str()),
            Some("hh_b/age")
        );
        let rec = f.record(&st);
        assert_eq!(rec.values.get("hh_a/age").map(String::as_str), Some("30"));
        assert_eq!(
            rec.values.get("kid[1]/g/age").map(String::as_str),
            Some("4")
        );
        assert!(!rec.values.contains_key("hh_b/age"), "not relevant");
        assert_eq!(f.check_record(&rec, &env(Lang::En)), Ok(()));
        let stray = Record {
            values: [("age".to_string(), "3".to_string())].into(),
            repeat_counts: BTreeMap::new(),
        };
        assert_eq!(
            f.check_record(&stray, &env(Lang::En)),
            Err(("age".to_string(), Refusal::UnknownKey))
        );
        let calc = f.all_calculated(&st);
        assert_eq!(
            calc.keys().map(String::as_str).collect::<Vec<_>>(),
            ["hh_a/double", "hh_b/double"]
        );
    }

    #[test]
    fn unique_names_keep_their_keys_and_their_stored_json() {
        let f = skip_form();
        let json = serde_json::to_string(f.definition()).unwrap();
        assert!(!json.contains("key_path"), "{json}");
        let scale = crate::default_scale().unwrap();
        let json = serde_json::to_string(&scale).unwrap();
        assert!(!json.contains("key_path"));
        let f = CompiledForm::compile(&scale).unwrap();
        let st = f.evaluate(&Answers::default(), &env(Lang::ZhCn));
        assert!(
            st.items.keys().all(|k| !k.contains('/')),
            "no repeats, no paths"
        );
    }

    #[test]
    fn a_reference_to_a_name_in_two_groups_is_refused_at_import() {
        let rows: &[&[&str]] = &[
            &["type", "name", "label", "calculation"],
            &["begin group", "hh_a", "A", ""],
            &["integer", "age", "Age", ""],
            &["end group", "", "", ""],
            &["begin group", "hh_b", "B", ""],
            &["integer", "age", "Age", ""],
            &["end group", "", "", ""],
            &["calculate", "older", "", "${age} + 1"],
        ];
        let wb = crate::test_support::workbook(&[("survey", rows)]);
        let err = crate::read_xlsform(&wb, "t.xlsx").unwrap_err();
        assert_eq!(err.code, shequ_core::ErrorCode::FormInvalid);
        assert_eq!(
            (
                err.params["row"].as_str(),
                err.params["column"].as_str(),
                err.params["problem"].as_str()
            ),
            ("8", "calculation", "ambiguous_reference")
        );
    }
}
