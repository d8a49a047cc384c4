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
        .setup(|app| {
            // Tauri's defaults, unless the benchmark asks for Shequ's software compositing
            // (`SHEQU_GPU_COMPOSITING=0`) to compare like with like.
            #[cfg(target_os = "linux")]
            if std::env::var("SHEQU_GPU_COMPOSITING").as_deref() == Ok("0") {
                use tauri::Manager;
                if let Some(window) = app.get_webview_window("main") {
                    let _ = window.with_webview(|webview| {
                        use webkit2gtk::{HardwareAccelerationPolicy, SettingsExt, WebViewExt};
                        if let Some(settings) = webview.inner().settings() {
                            settings.set_hardware_acceleration_policy(
                                HardwareAccelerationPolicy::Never,
                            );
                        }
                    });
                }
            }
            #[cfg(not(target_os = "linux"))]
            let _ = app;
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![ui_ready])
        .run(tauri::generate_context!())
        .expect("the empty app runs");
}
