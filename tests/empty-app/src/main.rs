//! An empty Tauri v2 app built with the same profile as Shequ: a window, a page, and the one
//! command the start-up benchmark listens for. The reference for `cargo bench -p shequ-e2e
//! --bench startup` (BENCHMARKS.md).
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

use std::io::Write;

/// Appends "<screen>" to the file named by `SHEQU_READY_FILE`, as Shequ's `ui_ready` does.
#[tauri::command]
fn ui_ready(screen: String) {
    if let Some(path) = std::env::var_os("SHEQU_READY_FILE") {
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            let _ = writeln!(f, "{screen}");
        }
    }
}

fn main() {
    tauri::Builder::default()
        .invoke_handler(tauri::generate_handler![ui_ready])
        .run(tauri::generate_context!())
        .expect("the empty app runs");
}
