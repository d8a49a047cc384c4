//! The default scale against pyxform, the reference XLSForm converter behind ODK and Kobo:
//! pyxform must convert it to an XForm without error, and its JSON tree must agree with
//! Shequ's reader on every name, type, label and choice. Needs `python3 -m pip install pyxform`
//! (the test script installs it); a missing pyxform fails the test rather than skipping it.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;
use shequ_core::FormItem;

fn scale_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../assets/instruments/community-analysis-scale.xlsx")
}

fn python(script: &str, arg: &std::path::Path) -> String {
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let out = Command::new(python)
        .arg("-c")
        .arg(script)
        .arg(arg)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "pyxform failed (is it installed? `python3 -m pip install pyxform`):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn pyxform_converts_the_default_scale_to_an_xform() {
    let dir = tempfile::tempdir().unwrap();
    let xml = dir.path().join("scale.xml");
    let script = "import sys; from pyxform.xls2xform import xls2xform_convert; \
                  w = xls2xform_convert(sys.argv[1], sys.argv[2]); print(len(w))";
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let out = Command::new(python)
        .arg("-c")
        .arg(script)
        .arg(scale_path())
        .arg(&xml)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let xform = std::fs::read_to_string(&xml).unwrap();
    assert!(
        xform.contains("<h:title>社区分析量表</h:title>"),
        "title in the XForm"
    );
    assert!(xform.contains("community_analysis_scale"));
    assert!(xform.contains("Given the chance, I would move out of this community."));
}

/// Flattens pyxform's JSON tree to (path, type, labels) lines, skipping its `meta` group.
fn flatten_pyxform(node: &Value, prefix: &str, out: &mut Vec<String>) {
    for child in node["children"].as_array().into_iter().flatten() {
        let name = child["name"].as_str().unwrap_or("");
        if name == "meta" {
            continue;
        }
        let path = format!("{prefix}/{name}");
        let ty = child["type"].as_str().unwrap_or("").replace(' ', "_");
        let label = child
            .get("label")
            .map(|l| l.to_string())
            .unwrap_or_default();
        out.push(format!("{path} {ty} {label}"));
        if ty == "group" || ty == "repeat" {
            flatten_pyxform(child, &path, out);
        }
    }
}

fn flatten_shequ(items: &[FormItem], prefix: &str, out: &mut Vec<String>) {
    for item in items {
        match item {
            FormItem::Group {
                name,
                label,
                children,
                repeat,
                ..
            } => {
                let path = format!("{prefix}/{name}");
                let ty = if *repeat { "repeat" } else { "group" };
                let label = if label.is_empty() {
                    String::new()
                } else {
                    serde_json::to_string(&label.0).unwrap()
                };
                out.push(format!("{path} {ty} {label}"));
                flatten_shequ(children, &path, out);
            }
            FormItem::Question(q) => {
                let label = if q.label.is_empty() {
                    String::new()
                } else {
                    serde_json::to_string(&q.label.0).unwrap()
                };
                out.push(format!("{prefix}/{} {} {label}", q.name, q.qtype));
            }
        }
    }
}

#[test]
fn shequ_reads_the_same_tree_as_pyxform() {
    let json = python(
        "import sys, json; from pyxform.xls2json import parse_file_to_json; \
         print(json.dumps(parse_file_to_json(sys.argv[1]), ensure_ascii=False))",
        &scale_path(),
    );
    let tree: Value = serde_json::from_str(&json).unwrap();
    let def = shequ_forms::default_scale().unwrap();
    assert_eq!(tree["id_string"], def.form_id.as_str());
    assert_eq!(tree["version"], def.version.as_str());
    assert_eq!(tree["title"], def.title.as_str());
    assert_eq!(
        tree["default_language"].as_str(),
        def.default_language.as_deref()
    );

    let (mut theirs, mut ours) = (vec![], vec![]);
    flatten_pyxform(&tree, "", &mut theirs);
    flatten_shequ(&def.items, "", &mut ours);
    // pyxform names select types "select_one"/"select_all_that_apply"; ours keep the XLSForm word.
    let theirs: Vec<String> = theirs
        .into_iter()
        .map(|l| l.replace(" select_all_that_apply ", " select_multiple "))
        .collect();
    // Deliberate difference: pyxform replaces curly quotes (“ ” ‘ ’) with straight ones in
    // every cell; Shequ keeps them, because they are the correct punctuation in Chinese text
    // and the labels are shown to residents. Compare modulo that substitution.
    let ours: Vec<String> = ours
        .into_iter()
        .map(|l| l.replace(['“', '”'], "\\\"").replace(['‘', '’'], "'"))
        .collect();
    assert_eq!(ours.len(), theirs.len(), "same number of rows");
    for (o, t) in ours.iter().zip(&theirs) {
        assert_eq!(o, t);
    }

    let choices = tree["choices"].as_object().unwrap();
    assert_eq!(choices.len(), def.choices.len());
    for (list, items) in &def.choices {
        let theirs = choices[list].as_array().unwrap();
        let ours: Vec<Value> = items
            .iter()
            .map(|c| serde_json::json!({"name": c.name, "label": c.label.0}))
            .collect();
        assert_eq!(&ours, theirs, "choice list {list}");
    }
}
