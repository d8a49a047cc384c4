//! Conformance with pyxform, the reference XLSForm implementation behind ODK and Kobo.
//!
//! For every workbook in `tests/fixtures/xlsform/`, pyxform (run once, over all files) and
//! Shequ must make the same accept/reject decision, and for accepted forms produce the same
//! tree of names, types, labels per language, choices and expressions. Where Shequ differs on
//! purpose, `DELIBERATE` names the case and the reason. For refusals, `EXPECTED_PROBLEMS`
//! pins what Shequ tells the designer (sheet, row, column, problem).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use serde_json::{json, Map, Value};
use shequ_core::{ErrorCode, FormDefinition, FormItem, Lang, LocalizedText};

fn corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/xlsform")
}

/// Forms pyxform accepts and Shequ refuses on purpose.
const DELIBERATE: &[(&str, &str)] = &[
    ("bad_cyclic_calculation", "pyxform leaves cycles to ODK Validate (Java), which rejects the form at load; Shequ finds them at import"),
    ("bad_self_relevant", "a question whose relevance reads itself is a cycle; ODK Validate rejects it, Shequ finds it at import"),
    ("bad_syntax_error", "pyxform does not parse expressions; JavaRosa fails on the form at load; Shequ parses every expression at import"),
    ("bad_unclosed_string", "as bad_syntax_error"),
    ("bad_unknown_function", "as bad_syntax_error"),
    ("bad_unused_choice_list", "an unused choice list is almost always a misspelt list name (the issue asks Shequ to refuse it)"),
    ("bad_macro_workbook", "macro workbooks are refused for safety; pyxform ignores the macros"),
    ("bad_wrong_sheet_name", "the XLSForm spec requires a sheet named survey; pyxform falls back to the first sheet"),
    ("bad_duplicate_across_groups", "pyxform wants names unique within a group; Shequ wants them unique in the form, so ${name} is never ambiguous"),
];

/// What Shequ says about each refused form: (file, sheet, row, column, problem).
const EXPECTED_PROBLEMS: &[(&str, &str, &str, &str, &str)] = &[
    ("bad_bad_name", "survey", "2", "name", "bad_name"),
    (
        "bad_calculate_without_formula",
        "survey",
        "2",
        "calculation",
        "empty_required_column",
    ),
    (
        "bad_cyclic_calculation",
        "survey",
        "2",
        "calculation",
        "cyclic_dependency",
    ),
    (
        "bad_duplicate_across_groups",
        "survey",
        "6",
        "name",
        "duplicate_name",
    ),
    (
        "bad_duplicate_choice",
        "choices",
        "3",
        "name",
        "duplicate_choice",
    ),
    (
        "bad_duplicate_name",
        "survey",
        "3",
        "name",
        "duplicate_name",
    ),
    (
        "bad_empty_choice_name",
        "choices",
        "2",
        "name",
        "empty_choice_name",
    ),
    ("bad_empty_name", "survey", "2", "name", "empty_name"),
    (
        "bad_end_without_begin",
        "survey",
        "3",
        "type",
        "unmatched_end",
    ),
    (
        "bad_mismatched_end",
        "survey",
        "4",
        "type",
        "mismatched_end",
    ),
    (
        "bad_missing_choice_list",
        "survey",
        "2",
        "type",
        "missing_choice_list",
    ),
    ("bad_missing_label", "survey", "2", "label", "missing_label"),
    (
        "bad_missing_name_column",
        "survey",
        "1",
        "name",
        "missing_column",
    ),
    (
        "bad_missing_type_column",
        "survey",
        "1",
        "type",
        "missing_column",
    ),
    ("bad_wrong_sheet_name", "survey", "0", "", "missing_sheet"),
    (
        "bad_reference_missing",
        "survey",
        "3",
        "relevant",
        "unknown_reference",
    ),
    (
        "bad_select_without_list",
        "survey",
        "2",
        "type",
        "unknown_type",
    ),
    (
        "bad_self_relevant",
        "survey",
        "2",
        "calculation",
        "cyclic_dependency",
    ),
    (
        "bad_syntax_error",
        "survey",
        "3",
        "relevant",
        "expression_syntax",
    ),
    (
        "bad_unclosed_group",
        "survey",
        "2",
        "type",
        "unclosed_group",
    ),
    (
        "bad_unclosed_string",
        "survey",
        "2",
        "constraint",
        "expression_syntax",
    ),
    (
        "bad_unknown_function",
        "survey",
        "2",
        "calculation",
        "expression_syntax",
    ),
    ("bad_unknown_type", "survey", "3", "type", "unknown_type"),
    (
        "bad_unused_choice_list",
        "choices",
        "4",
        "list_name",
        "unused_choice_list",
    ),
];

/// File-level refusals: (file, problem).
const EXPECTED_FILE_PROBLEMS: &[(&str, &str)] = &[
    ("bad_not_a_spreadsheet", "not_a_spreadsheet"),
    ("bad_password_protected", "encrypted_workbook"),
    ("bad_macro_workbook", "macro_workbook"),
];

fn pyxform_results(files: &[PathBuf]) -> BTreeMap<String, Value> {
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let out = Command::new(python)
        .arg(corpus().join("pyxform_tree.py"))
        .args(files)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "pyxform runner failed (python3 -m pip install pyxform):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            let stem = PathBuf::from(v["file"].as_str().unwrap())
                .file_stem()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            (stem, v)
        })
        .collect()
}

fn straight(s: &str) -> String {
    s.replace(['“', '”'], "\"").replace(['‘', '’'], "'")
}

/// pyxform's text: a string (no language) or a map of language → text.
fn py_text(v: Option<&Value>) -> Value {
    match v {
        None | Some(Value::Null) => json!({}),
        Some(Value::String(s)) => json!({ "default": s }),
        Some(Value::Object(m)) => Value::Object(m.clone()),
        Some(other) => other.clone(),
    }
}

fn our_text(t: &LocalizedText) -> Value {
    Value::Object(
        t.0.iter()
            .map(|(k, v)| (k.clone(), Value::String(straight(v))))
            .collect(),
    )
}

fn yes_no(v: Option<&Value>) -> Value {
    match v.and_then(Value::as_str) {
        None => Value::Null,
        Some(s) => match s.trim() {
            "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "true()" => json!("true()"),
            "no" | "No" | "NO" | "false" | "False" | "FALSE" | "false()" | "" => Value::Null,
            e => json!(e),
        },
    }
}

fn opt(s: &Option<String>) -> Value {
    s.as_ref().map_or(Value::Null, |s| json!(s))
}

/// `../name` (pyxform's generated paths) → `${name}`.
fn dotdot_to_ref(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("../") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 3..];
        let end = after
            .find(|c: char| !(c.is_alphanumeric() || "_-.".contains(c)))
            .unwrap_or(after.len());
        out.push_str(&format!("${{{}}}", &after[..end]));
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

fn py_node(n: &Value, path: &str, out: &mut Vec<Value>) {
    let empty = Map::new();
    let bind = n.get("bind").and_then(Value::as_object).unwrap_or(&empty);
    let control = n
        .get("control")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let ty = match n["type"].as_str().unwrap_or("") {
        "select one" => "select_one",
        "select all that apply" => "select_multiple",
        t => t,
    };
    let s = |v: Option<&Value>| {
        v.and_then(Value::as_str)
            .map_or(Value::Null, |s| json!(dotdot_to_ref(s)))
    };
    let mut node = json!({
        "path": path,
        "type": ty,
        "label": py_text(n.get("label")),
        "hint": py_text(n.get("hint")),
        "relevant": s(bind.get("relevant")),
        "constraint": s(bind.get("constraint")),
        "calculation": s(bind.get("calculate")),
        "required": yes_no(bind.get("required")),
        "read_only": yes_no(bind.get("readonly")),
        "constraint_message": py_text(bind.get("jr:constraintMsg")),
        "required_message": py_text(bind.get("jr:requiredMsg")),
        "choice_filter": s(n.get("choice_filter")),
        "default": s(n.get("default")),
        "appearance": s(control.get("appearance")),
        "list_name": s(n.get("list_name")),
        "repeat_count": s(control.get("jr:count")),
    });
    if ty == "group" || ty == "repeat" {
        node["list_name"] = Value::Null;
    }
    out.push(node);
    for c in n
        .get("children")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let name = c["name"].as_str().unwrap_or("");
        if name == "meta" && path.is_empty() {
            continue;
        }
        py_node(c, &format!("{path}/{name}"), out);
    }
}

fn our_nodes(items: &[FormItem], path: &str, out: &mut Vec<Value>) {
    for item in items {
        match item {
            FormItem::Group { name, label, relevant, appearance, repeat, repeat_count, children, .. } => {
                let p = format!("{path}/{name}");
                out.push(json!({
                    "path": p, "type": if *repeat { "repeat" } else { "group" }, "label": our_text(label), "hint": {},
                    "relevant": opt(relevant), "constraint": null, "calculation": null, "required": null,
                    "read_only": null, "constraint_message": {}, "required_message": {}, "choice_filter": null,
                    "default": null, "appearance": opt(appearance), "list_name": null, "repeat_count": opt(repeat_count),
                }));
                our_nodes(children, &p, out);
            }
            FormItem::Question(q) => out.push(json!({
                "path": format!("{path}/{}", q.name), "type": q.qtype, "label": our_text(&q.label), "hint": our_text(&q.hint),
                "relevant": opt(&q.relevant), "constraint": opt(&q.constraint), "calculation": opt(&q.calculation),
                "required": opt(&q.required), "read_only": opt(&q.read_only),
                "constraint_message": our_text(&q.constraint_message), "required_message": our_text(&q.required_message),
                "choice_filter": opt(&q.choice_filter), "default": opt(&q.default), "appearance": opt(&q.appearance),
                "list_name": opt(&q.list_name), "repeat_count": null,
            })),
        }
    }
}

fn py_choices(tree: &Value) -> Value {
    let mut out = Map::new();
    for (list, items) in tree["choices"].as_object().into_iter().flatten() {
        let items: Vec<Value> = items
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                let mut m = c.as_object().unwrap().clone();
                let label = py_text(m.remove("label").as_ref());
                m.insert("label".into(), label);
                Value::Object(m)
            })
            .collect();
        out.insert(list.clone(), Value::Array(items));
    }
    Value::Object(out)
}

fn our_choices(def: &FormDefinition) -> Value {
    let mut out = Map::new();
    for (list, items) in &def.choices {
        let items: Vec<Value> = items
            .iter()
            .map(|c| {
                let mut m = Map::new();
                m.insert("name".into(), json!(c.name));
                m.insert("label".into(), our_text(&c.label));
                for (k, v) in &c.columns {
                    m.insert(k.clone(), json!(v));
                }
                Value::Object(m)
            })
            .collect();
        out.insert(list.clone(), Value::Array(items));
    }
    Value::Object(out)
}

#[test]
fn shequ_agrees_with_pyxform_on_the_whole_corpus() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "xlsx"))
        .collect();
    files.sort();
    let ok_count = files
        .iter()
        .filter(|f| f.file_name().unwrap().to_string_lossy().starts_with("ok_"))
        .count();
    assert!(
        files.len() >= 40 && files.len() - ok_count >= 20,
        "corpus: {} forms, {} malformed",
        files.len(),
        files.len() - ok_count
    );
    let py = pyxform_results(&files);
    let mut checked = 0;
    for file in &files {
        let stem = file.file_stem().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(file).unwrap();
        let ours =
            shequ_forms::import_xlsform(&bytes, &file.file_name().unwrap().to_string_lossy());
        let theirs = &py[&stem];
        let py_ok = theirs["ok"].as_bool().unwrap();
        let deliberate = DELIBERATE.iter().find(|(f, _)| *f == stem);
        match (&ours, py_ok, deliberate) {
            (Err(_), true, Some(_)) => {}
            (Err(e), false, None) | (Err(e), true, None) if !py_ok => {
                let _ = e;
            }
            (Ok(_), true, None) => {}
            (r, _, d) => panic!(
                "{stem}: Shequ {} but pyxform {} (deliberate: {:?}); Shequ said: {:?}",
                if r.is_ok() { "accepts" } else { "refuses" },
                if py_ok { "accepts" } else { "refuses" },
                d.map(|d| d.1),
                r.as_ref().err().map(|e| e.message(Lang::En)),
            ),
        }
        match ours {
            Ok(imported) => {
                let tree = &theirs["tree"];
                let def = &imported.definition;
                assert_eq!(tree["id_string"], json!(def.form_id), "{stem}: form id");
                assert_eq!(tree["title"], json!(def.title), "{stem}: title");
                let py_version = tree.get("version").and_then(Value::as_str).unwrap_or("");
                assert_eq!(py_version, def.version, "{stem}: version");
                let (mut a, mut b) = (Vec::new(), Vec::new());
                py_node(tree, "", &mut a);
                a.remove(0); // the survey root
                our_nodes(&def.items, "", &mut b);
                assert_eq!(
                    a.len(),
                    b.len(),
                    "{stem}: number of nodes\npyxform: {a:#?}\nshequ: {b:#?}"
                );
                for (x, y) in a.iter().zip(&b) {
                    assert_eq!(x, y, "{stem}: node differs (left pyxform, right Shequ)");
                }
                assert_eq!(py_choices(tree), our_choices(def), "{stem}: choices");
            }
            Err(e) => {
                let msg_zh = e.message(Lang::ZhCn);
                let msg_en = e.message(Lang::En);
                assert!(
                    !msg_zh.contains("form_problems.") && !msg_en.contains("form_problems."),
                    "{stem}: {msg_en}"
                );
                if let Some((_, sheet, row, column, problem)) =
                    EXPECTED_PROBLEMS.iter().find(|p| p.0 == stem)
                {
                    assert_eq!(e.code, ErrorCode::FormInvalid, "{stem}: {msg_en}");
                    let got = (
                        e.params["sheet"].as_str(),
                        e.params["row"].as_str(),
                        e.params["column"].as_str(),
                        e.params["problem"].as_str(),
                    );
                    assert_eq!(got, (*sheet, *row, *column, *problem), "{stem}: {msg_en}");
                } else if let Some((_, problem)) =
                    EXPECTED_FILE_PROBLEMS.iter().find(|p| p.0 == stem)
                {
                    assert_eq!(e.code, ErrorCode::FormFileInvalid, "{stem}: {msg_en}");
                    assert_eq!(e.params["problem"], *problem, "{stem}");
                    assert!(
                        msg_zh.contains(&format!("{stem}.xlsx")),
                        "{stem}: names the file: {msg_zh}"
                    );
                } else {
                    panic!("{stem}: refused ({msg_en}) but no expected problem is listed");
                }
            }
        }
        checked += 1;
    }
    assert_eq!(checked, files.len());
}
