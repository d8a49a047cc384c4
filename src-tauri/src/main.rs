//! The desktop shell: opens the data folder once, then each command is a short delegation to
//! `shequ-app`. Errors cross to the UI as `IpcError { code, message, params }`, the message
//! already in the user's language.

/// mimalloc: import and evaluation allocate many small strings (see BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::PathBuf;
use std::sync::Mutex;

use chrono::Utc;
use shequ_analysis::checklist::Composite;
use shequ_analysis::AnalysisSettings;
use shequ_app::analysis::{AnalysisView, EditInput, Role};
use shequ_app::bundles::{DeviceBundles, ImportReport, KeyStatus};
use shequ_app::exports::{DataFormat, PersonalData};
use shequ_app::fieldwork::{
    FinalizeOutcome, InterviewData, RepeatOutcome, ResponseHistory, SaveOutcome, StartInterview,
};
use shequ_app::instruments::{ImportStatus, InstrumentPreview};
use shequ_app::unlock::LockState;
use shequ_app::{demo::DemoReport, App, HomeData, Passphrase};
use shequ_core::{Community, Error, ErrorCode, IpcError, Lang, NewCommunity};
use shequ_store::InstrumentSummary;
use shequ_store::ResponseRow;
use shequ_store::{ConflictRow, ExportRow, RoundRow};
use tauri::ipc::{InvokeBody, Request};
use tauri::State;
use uuid::Uuid;

/// The data folder, and the app once it is unlocked. Until the passphrase is typed (and
/// again after a lock) `app` is `None` and every command but the unlock ones answers
/// `StoreLocked`; locking drops the app, and with it the page key and every secret it held.
struct Shell {
    dir: Result<PathBuf, Error>,
    app: Option<App>,
    lang: Lang,
}

type Shared = Mutex<Shell>;

/// `--data-dir DIR` (or `--data-dir=DIR`) from the command line.
fn data_dir_arg() -> Option<PathBuf> {
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--data-dir" {
            return args.next().map(PathBuf::from);
        }
        if let Some(v) = a.strip_prefix("--data-dir=") {
            return Some(PathBuf::from(v));
        }
    }
    None
}

fn shell<'a>(state: &'a State<Shared>) -> Result<std::sync::MutexGuard<'a, Shell>, IpcError> {
    state
        .lock()
        .map_err(|_| Error::internal("state lock poisoned").to_ipc(Lang::default()))
}

fn with_app<T>(
    state: &State<Shared>,
    f: impl FnOnce(&mut App, Lang) -> Result<T, Error>,
) -> Result<T, IpcError> {
    let mut shell = shell(state)?;
    let lang = shell.lang;
    match &mut shell.app {
        Some(app) => f(app, lang).map_err(|e| e.to_ipc(lang)),
        None => Err(Error::new(ErrorCode::StoreLocked).to_ipc(lang)),
    }
}

/// The data folder, or why it cannot be used.
fn data_dir(shell: &Shell) -> Result<PathBuf, IpcError> {
    shell.dir.clone().map_err(|e| e.to_ipc(shell.lang))
}

#[tauri::command]
fn lock_state(state: State<Shared>) -> Result<LockState, IpcError> {
    let shell = shell(&state)?;
    let dir = data_dir(&shell)?;
    shequ_app::unlock::lock_state(&dir, Utc::now()).map_err(|e| e.to_ipc(shell.lang))
}

/// Opens the data with the passphrase; when one is being chosen (`new`, `plain`), `confirm`
/// must repeat it. Nothing is written for a refused passphrase but the wrong-try count.
#[tauri::command]
fn unlock(
    state: State<Shared>,
    passphrase: String,
    confirm: Option<String>,
) -> Result<(), IpcError> {
    let mut shell = shell(&state)?;
    let lang = shell.lang;
    if shell.app.is_some() {
        return Ok(());
    }
    let dir = data_dir(&shell)?;
    let pass = Passphrase::new(passphrase);
    let now = Utc::now();
    let fail = |e: Error| e.to_ipc(lang);
    let kind = shequ_app::unlock::lock_state(&dir, now)
        .map_err(fail)?
        .state;
    if kind.chooses_passphrase() {
        pass.check_chosen(&Passphrase::new(confirm.unwrap_or_default()))
            .map_err(fail)?;
    }
    shell.app = Some(App::unlock(&dir, &pass, now).map_err(fail)?);
    Ok(())
}

#[tauri::command]
fn lock(state: State<Shared>) -> Result<(), IpcError> {
    shell(&state)?.app = None;
    Ok(())
}

#[tauri::command]
fn change_passphrase(
    state: State<Shared>,
    current: String,
    new: String,
    confirm: String,
) -> Result<(), IpcError> {
    let (new, confirm) = (Passphrase::new(new), Passphrase::new(confirm));
    with_app(&state, |app, _| {
        new.check_chosen(&confirm)?;
        app.change_passphrase(&Passphrase::new(current), &new)
    })
}

/// At the centre: accepts a new device after the analyst compared its fingerprint.
#[tauri::command]
fn accept_device(state: State<Shared>, fingerprint: String) -> Result<String, IpcError> {
    with_app(&state, |app, _| app.accept_device(&fingerprint))
}

#[tauri::command]
fn idle_lock_minutes(state: State<Shared>) -> Result<u32, IpcError> {
    with_app(&state, |app, _| app.idle_lock_minutes())
}

#[tauri::command]
fn set_idle_lock_minutes(state: State<Shared>, minutes: u32) -> Result<(), IpcError> {
    with_app(&state, |app, _| app.set_idle_lock_minutes(minutes))
}

#[tauri::command]
fn home(state: State<Shared>) -> Result<HomeData, IpcError> {
    with_app(&state, |app, _| app.home())
}

#[tauri::command]
fn load_demo(state: State<Shared>) -> Result<DemoReport, IpcError> {
    with_app(&state, |app, _| app.load_demo(Utc::now()))
}

#[tauri::command]
fn add_community(state: State<Shared>, input: NewCommunity) -> Result<Community, IpcError> {
    with_app(&state, |app, _| app.add_community(input, Utc::now()))
}

/// A file the person picked, sent as the raw request body (not a JSON array of numbers), its
/// name percent-encoded in the `x-shequ-name` header. Anything else is refused.
struct Upload<'a> {
    bytes: &'a [u8],
    name: String,
}

fn upload<'a>(request: &'a Request<'_>) -> Result<Upload<'a>, Error> {
    let refused = || {
        Error::new(ErrorCode::InvalidValue)
            .with("field", "file")
            .with("value", "—")
            .with("why", "raw_upload")
    };
    let InvokeBody::Raw(bytes) = request.body() else {
        return Err(refused());
    };
    let name = request
        .headers()
        .get("x-shequ-name")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| percent_encoding::percent_decode_str(v).decode_utf8().ok())
        .map(|v| v.into_owned())
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(refused)?;
    Ok(Upload { bytes, name })
}

/// `x-shequ-dry-run: 1` plans without writing.
fn dry_run(request: &Request<'_>) -> bool {
    request
        .headers()
        .get("x-shequ-dry-run")
        .is_some_and(|v| v.as_bytes() == b"1")
}

#[tauri::command]
fn preview_instrument(
    state: State<Shared>,
    request: Request<'_>,
) -> Result<InstrumentPreview, IpcError> {
    with_app(&state, |app, lang| {
        let f = upload(&request)?;
        app.preview_instrument(f.bytes, &f.name, lang)
    })
}

#[tauri::command]
fn import_instrument(
    state: State<Shared>,
    request: Request<'_>,
) -> Result<(InstrumentSummary, ImportStatus), IpcError> {
    with_app(&state, |app, _| {
        let f = upload(&request)?;
        app.import_instrument(f.bytes, &f.name, Utc::now())
    })
}

#[tauri::command]
fn communities_recent(state: State<Shared>) -> Result<Vec<Community>, IpcError> {
    with_app(&state, |app, _| app.communities_recent_first())
}

#[tauri::command]
fn last_interviewer(state: State<Shared>) -> Result<String, IpcError> {
    with_app(&state, |app, _| app.last_interviewer())
}

#[tauri::command]
fn start_interview(
    state: State<Shared>,
    input: StartInterview,
) -> Result<shequ_core::Response, IpcError> {
    with_app(&state, |app, _| app.start_interview(input, Utc::now()))
}

#[tauri::command]
fn interview(state: State<Shared>, id: Uuid) -> Result<InterviewData, IpcError> {
    with_app(&state, |app, lang| app.interview(id, lang, Utc::now()))
}

#[tauri::command]
fn answer(
    state: State<Shared>,
    id: Uuid,
    key: String,
    value: String,
) -> Result<SaveOutcome, IpcError> {
    with_app(&state, |app, lang| {
        app.answer(id, &key, &value, lang, Utc::now())
    })
}

#[tauri::command]
fn set_repeat_count(
    state: State<Shared>,
    id: Uuid,
    key: String,
    count: u32,
) -> Result<RepeatOutcome, IpcError> {
    with_app(&state, |app, lang| {
        app.set_repeat_count(id, &key, count, lang, Utc::now())
    })
}

#[tauri::command]
fn finalize(state: State<Shared>, id: Uuid) -> Result<FinalizeOutcome, IpcError> {
    with_app(&state, |app, lang| app.finalize(id, lang, Utc::now()))
}

#[tauri::command]
fn edit_interview(state: State<Shared>, id: Uuid) -> Result<shequ_core::Response, IpcError> {
    with_app(&state, |app, _| app.edit_interview(id, Utc::now()))
}

#[tauri::command]
fn discard_interview(state: State<Shared>, id: Uuid) -> Result<(), IpcError> {
    with_app(&state, |app, _| app.discard_interview(id, Utc::now()))
}

#[tauri::command]
fn restore_interview(state: State<Shared>, id: Uuid) -> Result<(), IpcError> {
    with_app(&state, |app, _| app.restore_interview(id, Utc::now()))
}

/// Drafts, finalized, recently discarded.
type ResponseLists = (Vec<ResponseRow>, Vec<ResponseRow>, Vec<ResponseRow>);

#[tauri::command]
fn response_lists(state: State<Shared>) -> Result<ResponseLists, IpcError> {
    with_app(&state, |app, _| {
        Ok((
            app.drafts(Utc::now())?,
            app.finalized(Utc::now())?,
            app.discarded(Utc::now())?,
        ))
    })
}

#[tauri::command]
fn history(state: State<Shared>, id: Uuid) -> Result<ResponseHistory, IpcError> {
    with_app(&state, |app, _| app.history(id))
}

#[tauri::command]
fn exchange_status(
    state: State<Shared>,
) -> Result<(KeyStatus, Option<ExportRow>, String), IpcError> {
    with_app(&state, |app, _| {
        let default_dir = app.default_export_dir()?.display().to_string();
        Ok((app.key_status()?, app.last_export()?, default_dir))
    })
}

#[tauri::command]
fn export_bundle(
    state: State<Shared>,
    dir: String,
    since_last: bool,
    allow_unencrypted: bool,
) -> Result<(String, ExportRow), IpcError> {
    with_app(&state, |app, _| {
        let (p, row) = app.export_bundle_to(
            std::path::Path::new(&dir),
            since_last,
            allow_unencrypted,
            Utc::now(),
        )?;
        Ok((p.display().to_string(), row))
    })
}

#[tauri::command]
fn import_bundle(state: State<Shared>, request: Request<'_>) -> Result<ImportReport, IpcError> {
    with_app(&state, |app, _| {
        let f = upload(&request)?;
        app.import_bundle(f.bytes, &f.name, dry_run(&request), Utc::now())
    })
}

#[tauri::command]
fn conflicts(state: State<Shared>) -> Result<Vec<ConflictRow>, IpcError> {
    with_app(&state, |app, _| app.conflicts(true))
}

#[tauri::command]
fn resolve_conflict(state: State<Shared>, id: String, take_incoming: bool) -> Result<(), IpcError> {
    with_app(&state, |app, _| {
        app.resolve_conflict(&id, take_incoming, Utc::now())
    })
}

#[tauri::command]
fn export_data(
    state: State<Shared>,
    format: DataFormat,
    labels: Option<Lang>,
    dir: String,
    include_personal: bool,
) -> Result<(Vec<String>, u32), IpcError> {
    with_app(&state, |app, _| {
        let personal = if include_personal {
            PersonalData::Include
        } else {
            PersonalData::Pseudonymise
        };
        let (files, n) = app.export_data(
            format,
            labels,
            std::path::Path::new(&dir),
            personal,
            Utc::now(),
        )?;
        Ok((
            files.into_iter().map(|f| f.display().to_string()).collect(),
            n,
        ))
    })
}

#[tauri::command]
fn bundle_status(state: State<Shared>) -> Result<Vec<DeviceBundles>, IpcError> {
    with_app(&state, |app, _| app.bundle_status())
}

#[tauri::command]
fn replaced_versions(state: State<Shared>) -> Result<Vec<ConflictRow>, IpcError> {
    with_app(&state, |app, _| app.replaced_versions())
}

#[tauri::command]
fn restore_replaced(state: State<Shared>, id: String) -> Result<String, IpcError> {
    with_app(&state, |app, _| app.restore_replaced(&id, Utc::now()))
}

#[tauri::command]
fn ui_lang(state: State<Shared>) -> Result<Lang, IpcError> {
    Ok(shell(&state)?.lang)
}

/// The language is remembered beside the database (not inside it), so it works locked too.
#[tauri::command]
fn set_ui_lang(state: State<Shared>, lang: Lang) -> Result<(), IpcError> {
    let mut shell = shell(&state)?;
    let dir = data_dir(&shell)?;
    shequ_app::set_ui_lang_of(&dir, lang).map_err(|e| e.to_ipc(lang))?;
    shell.lang = lang;
    Ok(())
}

#[tauri::command]
fn role(state: State<Shared>) -> Result<Role, IpcError> {
    with_app(&state, |app, _| app.role())
}

#[tauri::command]
fn set_role(state: State<Shared>, role: Role) -> Result<(), IpcError> {
    with_app(&state, |app, _| app.set_role(role))
}

#[tauri::command]
fn rounds(state: State<Shared>) -> Result<Vec<RoundRow>, IpcError> {
    with_app(&state, |app, _| app.rounds())
}

#[tauri::command]
fn set_current_round(state: State<Shared>, name: String) -> Result<(), IpcError> {
    with_app(&state, |app, _| app.set_current_round(&name, Utc::now()))
}

#[tauri::command]
fn analysis(state: State<Shared>, round: Option<String>) -> Result<AnalysisView, IpcError> {
    with_app(&state, |app, lang| {
        app.analysis(round.as_deref(), None, lang)
    })
}

#[tauri::command]
fn analysis_settings(state: State<Shared>) -> Result<AnalysisSettings, IpcError> {
    with_app(&state, |app, _| app.analysis_settings())
}

#[tauri::command]
fn set_analysis_settings(state: State<Shared>, settings: AnalysisSettings) -> Result<(), IpcError> {
    with_app(&state, |app, _| {
        app.set_analysis_settings(&settings, Utc::now())
    })
}

#[tauri::command]
fn checklist(state: State<Shared>, code: String) -> Result<Composite, IpcError> {
    with_app(&state, |app, _| app.checklist(&code))
}

#[tauri::command]
fn accept_checklist(state: State<Shared>, code: String) -> Result<Composite, IpcError> {
    with_app(&state, |app, _| app.accept_checklist(&code, Utc::now()))
}

#[tauri::command]
fn edit_checklist(
    state: State<Shared>,
    code: String,
    edit: EditInput,
) -> Result<Composite, IpcError> {
    with_app(&state, |app, _| {
        app.edit_checklist(&code, &edit, Utc::now())
    })
}

#[tauri::command]
fn community_report(
    state: State<Shared>,
    code: String,
    round: Option<String>,
    dir: String,
) -> Result<String, IpcError> {
    with_app(&state, |app, lang| {
        app.community_report(
            &code,
            round.as_deref(),
            lang,
            std::path::Path::new(&dir),
            Utc::now(),
        )
        .map(|p| p.display().to_string())
    })
}

#[tauri::command]
fn classification_report(
    state: State<Shared>,
    round: Option<String>,
    dir: String,
) -> Result<String, IpcError> {
    with_app(&state, |app, lang| {
        app.classification_report(round.as_deref(), lang, std::path::Path::new(&dir))
            .map(|p| p.display().to_string())
    })
}

fn main() {
    let dir = shequ_app::resolve_data_dir(data_dir_arg().as_deref());
    let lang = dir
        .as_deref()
        .map(shequ_app::ui_lang_of)
        .unwrap_or_default();
    if let Err(e) = &dir {
        eprintln!("{}", e.message(lang));
    }
    let result = tauri::Builder::default()
        .manage(Mutex::new(Shell {
            dir,
            app: None,
            lang,
        }))
        .invoke_handler(tauri::generate_handler![
            lock_state,
            unlock,
            lock,
            change_passphrase,
            idle_lock_minutes,
            set_idle_lock_minutes,
            accept_device,
            home,
            load_demo,
            add_community,
            preview_instrument,
            import_instrument,
            communities_recent,
            last_interviewer,
            start_interview,
            interview,
            answer,
            set_repeat_count,
            finalize,
            edit_interview,
            discard_interview,
            restore_interview,
            response_lists,
            history,
            exchange_status,
            export_bundle,
            import_bundle,
            conflicts,
            resolve_conflict,
            export_data,
            ui_lang,
            set_ui_lang,
            bundle_status,
            replaced_versions,
            restore_replaced,
            role,
            set_role,
            rounds,
            set_current_round,
            analysis,
            analysis_settings,
            set_analysis_settings,
            checklist,
            accept_checklist,
            edit_checklist,
            community_report,
            classification_report
        ])
        .run(tauri::generate_context!("../tauri.conf.json"));
    if let Err(e) = result {
        eprintln!("Shequ could not start its window: {e}");
        std::process::exit(1);
    }
}
