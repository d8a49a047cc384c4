//! The command list is written once (`src-tauri/build.rs`) and checked here against the
//! handler list in `src-tauri/src/main.rs`, the capability file the window runs under, and
//! what the UI invokes: no command is callable without being declared, and the window is
//! granted exactly the app's commands and, of Tauri's own, only listening to events.

use std::collections::BTreeSet;

use shequ_e2e::repo_root;

fn read(path: &str) -> String {
    std::fs::read_to_string(repo_root().join(path)).unwrap()
}

fn declared() -> BTreeSet<String> {
    shequ_e2e::declared_commands().into_iter().collect()
}

fn handled() -> BTreeSet<String> {
    let src = read("src-tauri/src/main.rs");
    let start = src
        .find("generate_handler![")
        .expect("handler list in main.rs");
    let end = start + src[start..].find(']').unwrap();
    src[start + "generate_handler![".len()..end]
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

fn granted() -> (BTreeSet<String>, Vec<String>) {
    let v: serde_json::Value =
        serde_json::from_str(&read("src-tauri/capabilities/main-window.json")).unwrap();
    let all: Vec<String> = v["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_string())
        .collect();
    let app = all
        .iter()
        .filter_map(|p| p.strip_prefix("allow-"))
        .map(|p| p.replace('-', "_"))
        .collect();
    let other = all
        .into_iter()
        .filter(|p| !p.starts_with("allow-"))
        .collect();
    (app, other)
}

/// The command names the UI passes to `call('…')`, or to `upload('…')` for a file's bytes.
fn invoked() -> BTreeSet<String> {
    let src = read("ui/src/ipc/index.ts");
    ["call('", "upload('"]
        .iter()
        .flat_map(|pat| {
            src.match_indices(pat).map(|(i, _)| {
                let rest = &src[i + pat.len()..];
                rest[..rest.find('\'').unwrap()].to_string()
            })
        })
        .collect()
}

#[test]
fn one_command_list_matches_the_handlers_the_capabilities_and_the_ui() {
    let declared = declared();
    assert!(declared.len() >= 40, "{declared:?}");
    assert_eq!(
        handled(),
        declared,
        "src-tauri/src/main.rs generate_handler! vs build.rs"
    );
    let (granted, other) = granted();
    assert_eq!(
        granted, declared,
        "capabilities/main-window.json vs build.rs"
    );
    assert_eq!(
        other,
        ["core:event:allow-listen", "core:event:allow-unlisten"],
        "of Tauri's core the window only listens to events (progress); nothing else"
    );
    let invoked = invoked();
    assert!(
        invoked.is_subset(&declared),
        "the UI calls undeclared commands: {:?}",
        invoked.difference(&declared).collect::<Vec<_>>()
    );
    assert_eq!(invoked, declared, "declared commands the UI never calls");
}
