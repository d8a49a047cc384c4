fn main() {
    // The config lives at the repository root (see ARCHITECTURE.md). The command list makes
    // `allow-<command>` permissions that capabilities/main-window.json grants one by one.
    let attrs = tauri_build::Attributes::new()
        .config_path("../tauri.conf.json")
        .app_manifest(tauri_build::AppManifest::new().commands(&[
            "lock_state",
            "unlock",
            "lock",
            "change_passphrase",
            "idle_lock_minutes",
            "set_idle_lock_minutes",
            "accept_device",
            "home",
            "load_demo",
            "add_community",
            "preview_instrument",
            "import_instrument",
            "communities_recent",
            "last_interviewer",
            "start_interview",
            "interview",
            "answer",
            "set_repeat_count",
            "finalize",
            "edit_interview",
            "discard_interview",
            "restore_interview",
            "response_lists",
            "history",
            "choose_folder",
            "exchange_status",
            "export_bundle",
            "import_bundle",
            "conflicts",
            "resolve_conflict",
            "export_data",
            "ui_lang",
            "set_ui_lang",
            "bundle_status",
            "replaced_versions",
            "restore_replaced",
            "role",
            "set_role",
            "rounds",
            "set_current_round",
            "analysis",
            "analysis_settings",
            "set_analysis_settings",
            "checklist",
            "accept_checklist",
            "edit_checklist",
            "community_report",
            "classification_report",
        ]));
    if let Err(e) = tauri_build::try_build(attrs) {
        eprintln!("tauri-build failed: {e:#}");
        std::process::exit(1);
    }
}
