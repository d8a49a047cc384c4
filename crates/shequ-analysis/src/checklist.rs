//! Governance checklists (治理清单): the library shipped in `assets/checklists/`, the items a
//! classification selects, and a community's composite checklist — the selection it last
//! accepted plus its own edits, with what a changed classification would add and remove.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use shequ_core::{Error, ErrorCode, Lang, Result};
use ts_rs::TS;

use crate::classify::{Classification, Status, Step};

pub const DEFAULT_LIBRARY_JSON: &str = include_str!("../../../assets/checklists/default.json");
pub const OWNERS: [&str; 5] = [
    "residents_committee",
    "property",
    "owners_committee",
    "street",
    "social_org",
];
pub const FREQUENCIES: [&str; 6] = [
    "once",
    "weekly",
    "monthly",
    "quarterly",
    "yearly",
    "ongoing",
];

/// Text in both catalogue languages (`zh-CN`, `en`); an analyst's own item may have one.
pub type Text = BTreeMap<String, String>;

pub fn pick(text: &Text, lang: Lang) -> &str {
    text.get(lang.tag())
        .or_else(|| text.values().next())
        .map_or("", String::as_str)
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
#[ts(export)]
pub struct When {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub social_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub housing_form: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// `group:choice` of a top need, or `problem:choice` of a top problem.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub need: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub always: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
#[ts(export)]
pub struct ChecklistItem {
    pub id: String,
    #[serde(default)]
    pub when: When,
    pub priority: u8,
    pub owner: String,
    pub frequency: String,
    pub action: Text,
    pub indicator: Text,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Library {
    pub version: String,
    pub items: Vec<ChecklistItem>,
}

fn bad(item: &str, why: &str) -> Error {
    Error::new(ErrorCode::InvalidValue)
        .with("field", "checklist_item")
        .with("value", item)
        .with("why", why)
}

/// Checks an item's owner, frequency, priority and text (library items and edits alike).
pub fn check_item(item: &ChecklistItem) -> Result<()> {
    if !OWNERS.contains(&item.owner.as_str()) {
        return Err(bad(&item.id, "owner"));
    }
    if !FREQUENCIES.contains(&item.frequency.as_str()) {
        return Err(bad(&item.id, "frequency"));
    }
    if !(1..=3).contains(&item.priority) {
        return Err(bad(&item.id, "priority"));
    }
    if item.action.values().all(|t| t.trim().is_empty()) {
        return Err(bad(&item.id, "action"));
    }
    Ok(())
}

impl Library {
    pub fn parse(json: &str) -> Result<Library> {
        let lib: Library =
            serde_json::from_str(json).map_err(|e| bad("library", &e.to_string()))?;
        let mut seen = BTreeSet::new();
        for item in &lib.items {
            if !seen.insert(item.id.as_str()) {
                return Err(bad(&item.id, "duplicate_id"));
            }
            let w = &item.when;
            let keys = [
                w.social_type.is_some(),
                w.housing_form.is_some(),
                w.tag.is_some(),
                w.need.is_some(),
                w.always == Some(true),
            ];
            if keys.iter().filter(|k| **k).count() != 1 {
                return Err(bad(&item.id, "when"));
            }
            check_item(item)?;
            for lang in [Lang::ZhCn, Lang::En] {
                if item
                    .action
                    .get(lang.tag())
                    .is_none_or(|t| t.trim().is_empty())
                {
                    return Err(bad(&item.id, "action"));
                }
            }
        }
        Ok(lib)
    }

    /// The library shipped with the app, parsed once per process (it is compiled in).
    pub fn default_library() -> Result<&'static Library> {
        static LIBRARY: std::sync::OnceLock<Result<Library>> = std::sync::OnceLock::new();
        LIBRARY
            .get_or_init(|| Library::parse(DEFAULT_LIBRARY_JSON))
            .as_ref()
            .map_err(Clone::clone)
    }

    pub fn item(&self, id: &str) -> Option<&ChecklistItem> {
        self.items.iter().find(|i| i.id == id)
    }

    /// The items a classification selects, each with the reason (a step under
    /// `analysis.checklist_reasons`). A community with too little data gets the items of
    /// its housing form and those for every community, nothing of a type or tag it has not.
    pub fn select(&self, c: &Classification) -> Vec<(String, Step)> {
        let classified = c.status == Status::Classified;
        let tags: BTreeSet<&str> = c.tags.iter().map(|t| t.key.as_str()).collect();
        let problems: BTreeSet<&str> = c.top_problems.iter().map(String::as_str).collect();
        self.items
            .iter()
            .filter_map(|item| {
                let w = &item.when;
                let reason = |key: &str, value: &str| Step {
                    key: key.into(),
                    params: [("value".to_string(), value.to_string())].into(),
                };
                if w.always == Some(true) {
                    Some(reason("always", ""))
                } else if let Some(h) = &w.housing_form {
                    (h == c.housing_form.code()).then(|| reason("housing", h))
                } else if let Some(t) = &w.social_type {
                    (classified && c.social_type.is_some_and(|s| s.code() == t))
                        .then(|| reason("type", t))
                } else if let Some(t) = &w.tag {
                    (tags.contains(t.as_str())).then(|| reason("tag", t))
                } else if let Some(n) = &w.need {
                    if tags.contains(n.as_str()) {
                        Some(reason("need", n))
                    } else {
                        problems.contains(n.as_str()).then(|| reason("problem", n))
                    }
                } else {
                    None
                }
                .map(|r| (item.id.clone(), r))
            })
            .collect()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum EditKind {
    /// An item of the analyst's own (`item` holds it).
    Add,
    Remove,
    Restore,
    /// `value`: "1", "2" or "3".
    Priority,
    /// `value`: an owner code.
    Owner,
}

/// One edit of a community's checklist, kept with who, when and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Edit {
    pub item_id: String,
    pub kind: EditKind,
    pub value: Option<String>,
    /// The analyst's own item, for `Add`.
    pub item: Option<ChecklistItem>,
    pub reason: String,
    pub actor: String,
    pub at: String,
}

impl Edit {
    /// Refuses an edit that could not apply: an unknown owner or priority, an item of one's
    /// own that is incomplete, an empty reason.
    pub fn check(&self) -> Result<()> {
        if self.reason.trim().is_empty() {
            return Err(Error::new(ErrorCode::InvalidValue)
                .with("field", "edit_reason")
                .with("value", "")
                .with("why", "reason"));
        }
        match self.kind {
            EditKind::Add => match &self.item {
                Some(item) => check_item(item),
                None => Err(bad(&self.item_id, "item")),
            },
            EditKind::Priority => match self.value.as_deref() {
                Some("1" | "2" | "3") => Ok(()),
                _ => Err(bad(&self.item_id, "priority")),
            },
            EditKind::Owner => match self.value.as_deref() {
                Some(o) if OWNERS.contains(&o) => Ok(()),
                _ => Err(bad(&self.item_id, "owner")),
            },
            EditKind::Remove | EditKind::Restore => Ok(()),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum Source {
    Default,
    Added,
}

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct CompositeItem {
    pub item: ChecklistItem,
    pub source: Source,
    pub removed: bool,
    /// Changed by an edit (priority or owner).
    pub changed: bool,
    /// Why the classification selected it (absent for the analyst's own items).
    pub reason: Option<Step>,
    pub edits: Vec<Edit>,
}

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct Composite {
    pub code: String,
    /// Items in force, by priority then id; removed ones last.
    pub items: Vec<CompositeItem>,
    /// What the current classification selects that the accepted checklist lacks.
    pub pending_add: Vec<CompositeItem>,
    /// Accepted items the current classification no longer selects.
    pub pending_remove: Vec<String>,
    /// The label the checklist was accepted under (`None`: never accepted, the current
    /// selection stands).
    pub accepted_label: Option<String>,
}

/// The composite checklist: the accepted selection (or, never accepted, the current one),
/// then the edits in order.
pub fn compose(
    code: &str,
    lib: &Library,
    selected: &[(String, Step)],
    accepted: Option<(&[String], &str)>,
    edits: &[Edit],
) -> Composite {
    let now: BTreeMap<&str, &Step> = selected.iter().map(|(id, s)| (id.as_str(), s)).collect();
    let baseline: Vec<String> = match accepted {
        Some((ids, _)) => ids.to_vec(),
        None => selected.iter().map(|(id, _)| id.clone()).collect(),
    };
    let base_set: BTreeSet<&str> = baseline.iter().map(String::as_str).collect();
    let as_item = |id: &str| -> Option<CompositeItem> {
        Some(CompositeItem {
            item: lib.item(id)?.clone(),
            source: Source::Default,
            removed: false,
            changed: false,
            reason: now.get(id).map(|s| (*s).clone()),
            edits: Vec::new(),
        })
    };
    let mut items: Vec<CompositeItem> = baseline.iter().filter_map(|id| as_item(id)).collect();
    for e in edits {
        if e.kind == EditKind::Add {
            if let Some(item) = &e.item {
                if !items.iter().any(|i| i.item.id == item.id) {
                    items.push(CompositeItem {
                        item: item.clone(),
                        source: Source::Added,
                        removed: false,
                        changed: false,
                        reason: None,
                        edits: vec![e.clone()],
                    });
                }
            }
            continue;
        }
        let Some(target) = items.iter_mut().find(|i| i.item.id == e.item_id) else {
            continue;
        };
        match e.kind {
            EditKind::Remove => target.removed = true,
            EditKind::Restore => target.removed = false,
            EditKind::Priority => {
                if let Some(p) = e.value.as_deref().and_then(|v| v.parse().ok()) {
                    target.item.priority = p;
                    target.changed = true;
                }
            }
            EditKind::Owner => {
                if let Some(o) = &e.value {
                    target.item.owner = o.clone();
                    target.changed = true;
                }
            }
            EditKind::Add => {}
        }
        target.edits.push(e.clone());
    }
    items.sort_by(|a, b| {
        (a.removed, a.item.priority, &a.item.id).cmp(&(b.removed, b.item.priority, &b.item.id))
    });
    let pending_add = selected
        .iter()
        .filter(|(id, _)| !base_set.contains(id.as_str()))
        .filter_map(|(id, _)| as_item(id))
        .collect();
    let pending_remove = baseline
        .iter()
        .filter(|id| !now.contains_key(id.as_str()))
        .cloned()
        .collect();
    Composite {
        code: code.to_string(),
        items,
        pending_add,
        pending_remove,
        accepted_label: accepted.map(|(_, l)| l.to_string()),
    }
}
