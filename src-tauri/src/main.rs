//! The desktop shell: opens the data folder once, then each command is a short delegation to
//! `shequ-app`. Errors cross to the UI as `IpcError { code, message, params }`, the message
//! already in the user's language.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use shequ_analysis::checklist::Composite;
use shequ_analysis::clusters::Grouping;
use shequ_analysis::AnalysisSettings;
use shequ_app::analysis::{AnalysisView, EditInput, FirstRun, Role};
use shequ_app::bundles::{DeviceBundles, ImportReport, KeyStatus};
use shequ_app::clusters::{
    Case, ClusterProposals, ClusterView, NewCase, NewMeeting, NewProjectNeed,
};
use shequ_app::exports::{DataFormat, PersonalData};
use shequ_app::fieldwork::{
    FinalizeOutcome, InterviewData, RepeatOutcome, ResponseHistory, SaveOutcome, StartInterview,
};
use shequ_app::instruments::{ImportStatus, InstrumentPreview};
use shequ_app::libraries::{
    CommunityMatches, Libraries, LibraryForm, LibraryImport, VolunteeredOffer,
};
use shequ_app::progress::{Progress, ProgressSink, Stage};
use shequ_app::unlock::LockState;
use shequ_app::{demo::DemoReport, App, HomeData, Passphrase};
use shequ_core::{Community, Error, ErrorCode, IpcError, Lang, NewCommunity};
use shequ_store::InstrumentSummary;
use shequ_store::ResponseRow;
use shequ_store::{
    ConflictRow, ExportRow, FollowUpRow, MatchRow, ProjectNeedRow, RoundRow, SharedConflictRow,
};
use tauri::ipc::{InvokeBody, Request};
use tauri::{AppHandle, Emitter, Manager, State};
use tauri_plugin_dialog::DialogExt;
use uuid::Uuid;

/// The data folder, and the app once it is unlocked. Until the passphrase is typed (and
/// again after a lock) `app` is `None` and every command but the unlock ones answers
/// `StoreLocked`; locking drops the app, and with it the page key and every secret it held.
struct Shell {
    dir: Result<PathBuf, Error>,
    app: Option<App>,
    lang: Lang,
    /// Folders the person picked in the native folder dialog. Files are written only there or
    /// in the data folder's own `exports`: a path typed into (or forged by) the page is refused.
    chosen: HashSet<PathBuf>,
}

type Shared = Arc<Mutex<Shell>>;

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

/// Runs `f` with the shell on Tauri's blocking pool: never on the main thread, so the window
/// keeps drawing (and the progress bar moving) during an import, an export or a report. The
/// mutex keeps one command at a time on the store; the UI chains its saves, so they keep
/// their order.
async fn on_pool<T: Send + 'static>(
    state: &State<'_, Shared>,
    f: impl FnOnce(&mut Shell) -> Result<T, IpcError> + Send + 'static,
) -> Result<T, IpcError> {
    let shared = Arc::clone(state.inner());
    tauri::async_runtime::spawn_blocking(move || {
        let mut shell = shared
            .lock()
            .map_err(|_| Error::internal("state lock poisoned").to_ipc(Lang::default()))?;
        f(&mut shell)
    })
    .await
    .map_err(|e| Error::internal(e).to_ipc(Lang::default()))?
}

/// Runs `f` with the unlocked app (see [`on_pool`]); `StoreLocked` while locked.
async fn with_app<T: Send + 'static>(
    state: &State<'_, Shared>,
    f: impl FnOnce(&mut App, Lang) -> Result<T, Error> + Send + 'static,
) -> Result<T, IpcError> {
    on_pool(state, move |shell| {
        let lang = shell.lang;
        match &mut shell.app {
            Some(app) => f(app, lang).map_err(|e| e.to_ipc(lang)),
            None => Err(Error::new(ErrorCode::StoreLocked).to_ipc(lang)),
        }
    })
    .await
}

/// Runs `f` with the unlocked app and `dir` as a folder to write into, once it is known to be
/// one the person chose (or the default export folder); `FolderNotChosen` otherwise.
async fn with_app_writing<T: Send + 'static>(
    state: &State<'_, Shared>,
    dir: String,
    f: impl FnOnce(&mut App, Lang, &Path) -> Result<T, Error> + Send + 'static,
) -> Result<T, IpcError> {
    on_pool(state, move |shell| {
        let lang = shell.lang;
        let Some(app) = &mut shell.app else {
            return Err(Error::new(ErrorCode::StoreLocked).to_ipc(lang));
        };
        let dir = PathBuf::from(dir);
        let default = app.default_export_dir().map_err(|e| e.to_ipc(lang))?;
        if dir != default && !shell.chosen.contains(&dir) {
            return Err(Error::new(ErrorCode::FolderNotChosen)
                .with("folder", dir.display())
                .to_ipc(lang));
        }
        f(app, lang, &dir).map_err(|e| e.to_ipc(lang))
    })
    .await
}

/// Progress of long work, sent to the window as `progress` events: on each new stage, at the
/// end of one, and otherwise at most every 50 ms (a bundle of thousands of responses would
/// flood the window with one event each).
fn progress_events(handle: AppHandle) -> ProgressSink {
    let last: Mutex<Option<(Stage, Instant)>> = Mutex::new(None);
    Box::new(move |p: Progress| {
        let Ok(mut last) = last.lock() else { return };
        let now = Instant::now();
        let due = match *last {
            Some((stage, at)) => {
                stage != p.stage || p.done >= p.total || now.duration_since(at) >= THROTTLE
            }
            None => true,
        };
        if due {
            *last = Some((p.stage, now));
            // A window gone (closing) is no reason to stop the work.
            let _ = handle.emit("progress", p);
        }
    })
}

const THROTTLE: Duration = Duration::from_millis(50);

/// The data folder, or why it cannot be used.
fn data_dir(shell: &Shell) -> Result<PathBuf, IpcError> {
    shell.dir.clone().map_err(|e| e.to_ipc(shell.lang))
}

#[tauri::command]
async fn lock_state(state: State<'_, Shared>) -> Result<LockState, IpcError> {
    on_pool(&state, |shell| {
        let dir = data_dir(shell)?;
        let mut state =
            shequ_app::unlock::lock_state(&dir, Utc::now()).map_err(|e| e.to_ipc(shell.lang))?;
        state.open = shell.app.is_some();
        Ok(state)
    })
    .await
}

/// Opens the data with the passphrase; when one is being chosen (`new`, `plain`), `confirm`
/// must repeat it. Nothing is written for a refused passphrase but the wrong-try count.
#[tauri::command]
async fn unlock(
    state: State<'_, Shared>,
    handle: AppHandle,
    passphrase: String,
    confirm: Option<String>,
) -> Result<(), IpcError> {
    let pass = Passphrase::new(passphrase);
    let confirm = Passphrase::new(confirm.unwrap_or_default());
    on_pool(&state, move |shell| {
        let lang = shell.lang;
        if shell.app.is_some() {
            return Ok(());
        }
        let dir = data_dir(shell)?;
        let now = Utc::now();
        let fail = |e: Error| e.to_ipc(lang);
        let kind = shequ_app::unlock::lock_state(&dir, now)
            .map_err(fail)?
            .state;
        if kind.chooses_passphrase() {
            pass.check_chosen(&confirm).map_err(fail)?;
        }
        let mut app = App::unlock(&dir, &pass, now).map_err(fail)?;
        app.set_progress(Some(progress_events(handle)));
        shell.app = Some(app);
        Ok(())
    })
    .await
}

#[tauri::command]
async fn lock(state: State<'_, Shared>) -> Result<(), IpcError> {
    on_pool(&state, |shell| {
        shell.app = None;
        Ok(())
    })
    .await
}

#[tauri::command]
async fn change_passphrase(
    state: State<'_, Shared>,
    current: String,
    new: String,
    confirm: String,
) -> Result<(), IpcError> {
    let (new, confirm) = (Passphrase::new(new), Passphrase::new(confirm));
    with_app(&state, move |app, _| {
        new.check_chosen(&confirm)?;
        app.change_passphrase(&Passphrase::new(current), &new)
    })
    .await
}

/// At the centre: accepts a new device after the analyst compared its fingerprint.
#[tauri::command]
async fn accept_device(state: State<'_, Shared>, fingerprint: String) -> Result<String, IpcError> {
    with_app(&state, move |app, _| app.accept_device(&fingerprint)).await
}

#[tauri::command]
async fn idle_lock_minutes(state: State<'_, Shared>) -> Result<u32, IpcError> {
    with_app(&state, move |app, _| app.idle_lock_minutes()).await
}

#[tauri::command]
async fn set_idle_lock_minutes(state: State<'_, Shared>, minutes: u32) -> Result<(), IpcError> {
    with_app(&state, move |app, _| app.set_idle_lock_minutes(minutes)).await
}

#[tauri::command]
async fn home(state: State<'_, Shared>) -> Result<HomeData, IpcError> {
    with_app(&state, move |app, _| app.home()).await
}

#[tauri::command]
async fn load_demo(state: State<'_, Shared>) -> Result<DemoReport, IpcError> {
    with_app(&state, move |app, _| app.load_demo(Utc::now())).await
}

#[tauri::command]
async fn add_community(
    state: State<'_, Shared>,
    input: NewCommunity,
) -> Result<Community, IpcError> {
    with_app(&state, move |app, _| app.add_community(input, Utc::now())).await
}

/// A file the person picked, sent as the raw request body (not a JSON array of numbers), its
/// name percent-encoded in the `x-shequ-name` header. Anything else is refused.
struct Upload {
    bytes: Vec<u8>,
    name: String,
    /// `x-shequ-dry-run: 1` plans without writing.
    dry_run: bool,
}

/// The file out of the request, copied so the work can leave the thread that received it.
fn upload(request: &Request<'_>) -> Result<Upload, Error> {
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
    let dry_run = request
        .headers()
        .get("x-shequ-dry-run")
        .is_some_and(|v| v.as_bytes() == b"1");
    Ok(Upload {
        bytes: bytes.clone(),
        name,
        dry_run,
    })
}

#[tauri::command]
async fn preview_instrument(
    state: State<'_, Shared>,
    request: Request<'_>,
) -> Result<InstrumentPreview, IpcError> {
    let f = upload(&request);
    with_app(&state, move |app, lang| {
        let f = f?;
        app.preview_instrument(&f.bytes, &f.name, lang)
    })
    .await
}

#[tauri::command]
async fn import_instrument(
    state: State<'_, Shared>,
    request: Request<'_>,
) -> Result<(InstrumentSummary, ImportStatus), IpcError> {
    let f = upload(&request);
    with_app(&state, move |app, _| {
        let f = f?;
        app.import_instrument(&f.bytes, &f.name, Utc::now())
    })
    .await
}

#[tauri::command]
async fn communities_recent(state: State<'_, Shared>) -> Result<Vec<Community>, IpcError> {
    with_app(&state, move |app, _| app.communities_recent_first()).await
}

#[tauri::command]
async fn last_interviewer(state: State<'_, Shared>) -> Result<String, IpcError> {
    with_app(&state, move |app, _| app.last_interviewer()).await
}

#[tauri::command]
async fn start_interview(
    state: State<'_, Shared>,
    input: StartInterview,
) -> Result<shequ_core::Response, IpcError> {
    with_app(&state, move |app, _| app.start_interview(input, Utc::now())).await
}

#[tauri::command]
async fn interview(state: State<'_, Shared>, id: Uuid) -> Result<InterviewData, IpcError> {
    with_app(&state, move |app, lang| app.interview(id, lang, Utc::now())).await
}

#[tauri::command]
async fn answer(
    state: State<'_, Shared>,
    id: Uuid,
    key: String,
    value: String,
) -> Result<SaveOutcome, IpcError> {
    with_app(&state, move |app, lang| {
        app.answer(id, &key, &value, lang, Utc::now())
    })
    .await
}

#[tauri::command]
async fn set_repeat_count(
    state: State<'_, Shared>,
    id: Uuid,
    key: String,
    count: u32,
) -> Result<RepeatOutcome, IpcError> {
    with_app(&state, move |app, lang| {
        app.set_repeat_count(id, &key, count, lang, Utc::now())
    })
    .await
}

#[tauri::command]
async fn finalize(state: State<'_, Shared>, id: Uuid) -> Result<FinalizeOutcome, IpcError> {
    with_app(&state, move |app, lang| app.finalize(id, lang, Utc::now())).await
}

#[tauri::command]
async fn edit_interview(
    state: State<'_, Shared>,
    id: Uuid,
) -> Result<shequ_core::Response, IpcError> {
    with_app(&state, move |app, _| app.edit_interview(id, Utc::now())).await
}

#[tauri::command]
async fn discard_interview(state: State<'_, Shared>, id: Uuid) -> Result<(), IpcError> {
    with_app(&state, move |app, _| app.discard_interview(id, Utc::now())).await
}

#[tauri::command]
async fn restore_interview(state: State<'_, Shared>, id: Uuid) -> Result<(), IpcError> {
    with_app(&state, move |app, _| app.restore_interview(id, Utc::now())).await
}

/// Drafts, finalized, recently discarded.
type ResponseLists = (Vec<ResponseRow>, Vec<ResponseRow>, Vec<ResponseRow>);

#[tauri::command]
async fn response_lists(state: State<'_, Shared>) -> Result<ResponseLists, IpcError> {
    with_app(&state, move |app, _| {
        Ok((
            app.drafts(Utc::now())?,
            app.finalized(Utc::now())?,
            app.discarded(Utc::now())?,
        ))
    })
    .await
}

#[tauri::command]
async fn history(state: State<'_, Shared>, id: Uuid) -> Result<ResponseHistory, IpcError> {
    with_app(&state, move |app, _| app.history(id)).await
}

/// The native folder dialog, starting at `start`: resolves to the folder picked (remembered as
/// one files may be written into), or `null` when the person cancels.
#[tauri::command]
async fn choose_folder(
    state: State<'_, Shared>,
    window: tauri::WebviewWindow,
    start: Option<String>,
) -> Result<Option<String>, IpcError> {
    // The dialog always opens on a folder (the one shown, else the default export folder):
    // GTK's chooser opened on nothing shows "Recent", where a typed path is not taken.
    let (lang, fallback) =
        with_app(&state, |app, lang| Ok((lang, app.default_export_dir()?))).await?;
    let start = start
        .map(PathBuf::from)
        .filter(|p| p.is_dir())
        .unwrap_or(fallback);
    let title = shequ_core::i18n::text(lang, "folder.dialog_title");
    let picked = tauri::async_runtime::spawn_blocking(move || {
        window
            .dialog()
            .file()
            .set_parent(&window)
            .set_title(title)
            .set_directory(start)
            .blocking_pick_folder()
    })
    .await
    .map_err(|e| Error::internal(e).to_ipc(lang))?;
    let Some(picked) = picked.and_then(|p| p.into_path().ok()) else {
        return Ok(None);
    };
    on_pool(&state, move |shell| {
        let shown = picked.display().to_string();
        shell.chosen.insert(picked);
        Ok(Some(shown))
    })
    .await
}

#[tauri::command]
async fn exchange_status(
    state: State<'_, Shared>,
) -> Result<(KeyStatus, Option<ExportRow>, String), IpcError> {
    with_app(&state, move |app, _| {
        let default_dir = app.default_export_dir()?.display().to_string();
        Ok((app.key_status()?, app.last_export()?, default_dir))
    })
    .await
}

#[tauri::command]
async fn export_bundle(
    state: State<'_, Shared>,
    dir: String,
    since_last: bool,
    allow_unencrypted: bool,
) -> Result<(String, ExportRow), IpcError> {
    with_app_writing(&state, dir, move |app, _, dir| {
        let (p, row) = app.export_bundle_to(dir, since_last, allow_unencrypted, Utc::now())?;
        Ok((p.display().to_string(), row))
    })
    .await
}

#[tauri::command]
async fn import_bundle(
    state: State<'_, Shared>,
    request: Request<'_>,
) -> Result<ImportReport, IpcError> {
    let f = upload(&request);
    with_app(&state, move |app, _| {
        let f = f?;
        app.import_bundle(&f.bytes, &f.name, f.dry_run, Utc::now())
    })
    .await
}

#[tauri::command]
async fn conflicts(state: State<'_, Shared>) -> Result<Vec<ConflictRow>, IpcError> {
    with_app(&state, move |app, _| app.conflicts(true)).await
}

#[tauri::command]
async fn resolve_conflict(
    state: State<'_, Shared>,
    id: String,
    take_incoming: bool,
) -> Result<(), IpcError> {
    with_app(&state, move |app, _| {
        app.resolve_conflict(&id, take_incoming, Utc::now())
    })
    .await
}

#[tauri::command]
async fn export_data(
    state: State<'_, Shared>,
    format: DataFormat,
    labels: Option<Lang>,
    dir: String,
    include_personal: bool,
) -> Result<(Vec<String>, u32), IpcError> {
    with_app_writing(&state, dir, move |app, _, dir| {
        let personal = if include_personal {
            PersonalData::Include
        } else {
            PersonalData::Pseudonymise
        };
        let (files, n) = app.export_data(format, labels, dir, personal, Utc::now())?;
        Ok((
            files.into_iter().map(|f| f.display().to_string()).collect(),
            n,
        ))
    })
    .await
}

#[tauri::command]
async fn bundle_status(state: State<'_, Shared>) -> Result<Vec<DeviceBundles>, IpcError> {
    with_app(&state, move |app, _| app.bundle_status()).await
}

#[tauri::command]
async fn replaced_versions(state: State<'_, Shared>) -> Result<Vec<ConflictRow>, IpcError> {
    with_app(&state, move |app, _| app.replaced_versions()).await
}

#[tauri::command]
async fn restore_replaced(state: State<'_, Shared>, id: String) -> Result<String, IpcError> {
    with_app(&state, move |app, _| app.restore_replaced(&id, Utc::now())).await
}

#[tauri::command]
async fn ui_lang(state: State<'_, Shared>) -> Result<Lang, IpcError> {
    on_pool(&state, |shell| Ok(shell.lang)).await
}

/// The language is remembered beside the database (not inside it), so it works locked too.
#[tauri::command]
async fn set_ui_lang(state: State<'_, Shared>, lang: Lang) -> Result<(), IpcError> {
    on_pool(&state, move |shell| {
        let dir = data_dir(shell)?;
        shequ_app::set_ui_lang_of(&dir, lang).map_err(|e| e.to_ipc(lang))?;
        shell.lang = lang;
        Ok(())
    })
    .await
}

#[tauri::command]
async fn role(state: State<'_, Shared>) -> Result<Role, IpcError> {
    with_app(&state, move |app, _| app.role()).await
}

#[tauri::command]
async fn set_role(state: State<'_, Shared>, role: Role) -> Result<(), IpcError> {
    with_app(&state, move |app, _| app.set_role(role)).await
}

#[tauri::command]
async fn rounds(state: State<'_, Shared>) -> Result<Vec<RoundRow>, IpcError> {
    with_app(&state, move |app, _| app.rounds()).await
}

#[tauri::command]
async fn set_current_round(state: State<'_, Shared>, name: String) -> Result<(), IpcError> {
    with_app(&state, move |app, _| {
        app.set_current_round(&name, Utc::now())
    })
    .await
}

#[tauri::command]
async fn analysis(
    state: State<'_, Shared>,
    round: Option<String>,
) -> Result<AnalysisView, IpcError> {
    with_app(&state, move |app, lang| {
        app.analysis(round.as_deref(), None, lang)
    })
    .await
}

#[tauri::command]
async fn analysis_settings(state: State<'_, Shared>) -> Result<AnalysisSettings, IpcError> {
    with_app(&state, move |app, _| app.analysis_settings()).await
}

#[tauri::command]
async fn set_analysis_settings(
    state: State<'_, Shared>,
    settings: AnalysisSettings,
) -> Result<(), IpcError> {
    with_app(&state, move |app, _| {
        app.set_analysis_settings(&settings, Utc::now())
    })
    .await
}

#[tauri::command]
async fn checklist(state: State<'_, Shared>, code: String) -> Result<Composite, IpcError> {
    with_app(&state, move |app, _| app.checklist(&code)).await
}

#[tauri::command]
async fn accept_checklist(state: State<'_, Shared>, code: String) -> Result<Composite, IpcError> {
    with_app(&state, move |app, _| {
        app.accept_checklist(&code, Utc::now())
    })
    .await
}

#[tauri::command]
async fn edit_checklist(
    state: State<'_, Shared>,
    code: String,
    edit: EditInput,
) -> Result<Composite, IpcError> {
    with_app(&state, move |app, _| {
        app.edit_checklist(&code, &edit, Utc::now())
    })
    .await
}

#[tauri::command]
async fn community_report(
    state: State<'_, Shared>,
    code: String,
    round: Option<String>,
    dir: String,
) -> Result<String, IpcError> {
    with_app_writing(&state, dir, move |app, lang, dir| {
        app.community_report(&code, round.as_deref(), lang, dir, Utc::now())
            .map(|p| p.display().to_string())
    })
    .await
}

#[tauri::command]
async fn classification_report(
    state: State<'_, Shared>,
    round: Option<String>,
    dir: String,
) -> Result<String, IpcError> {
    with_app_writing(&state, dir, move |app, lang, dir| {
        app.classification_report(round.as_deref(), lang, dir)
            .map(|p| p.display().to_string())
    })
    .await
}

#[tauri::command]
async fn libraries(state: State<'_, Shared>) -> Result<Libraries, IpcError> {
    with_app(&state, |app, _| app.libraries()).await
}

/// Writes the library template into a folder picked in the dialog (or the default one).
#[tauri::command]
async fn library_template(state: State<'_, Shared>, dir: String) -> Result<String, IpcError> {
    with_app_writing(&state, dir, |app, lang, dir| {
        app.library_template_into(dir, lang)
            .map(|p| p.display().to_string())
    })
    .await
}

#[tauri::command]
async fn import_libraries(
    state: State<'_, Shared>,
    request: Request<'_>,
) -> Result<LibraryImport, IpcError> {
    let f = upload(&request);
    with_app(&state, move |app, _| {
        let f = f?;
        app.import_libraries(&f.bytes, &f.name, f.dry_run, Utc::now())
    })
    .await
}

#[tauri::command]
async fn community_matches(
    state: State<'_, Shared>,
    code: String,
) -> Result<CommunityMatches, IpcError> {
    with_app(&state, move |app, _| {
        let today = app.today(Utc::now());
        app.community_matches(&code, None, 5, today)
    })
    .await
}

#[tauri::command]
async fn set_match(
    state: State<'_, Shared>,
    code: String,
    term: String,
    supplier: Uuid,
    status: String,
    outcome: String,
) -> Result<MatchRow, IpcError> {
    with_app(&state, move |app, _| {
        app.set_match(&code, &term, supplier, &status, &outcome, Utc::now())
    })
    .await
}

#[tauri::command]
async fn propose_clusters(
    state: State<'_, Shared>,
    by_housing: bool,
    by_street: bool,
    by_neighbours: bool,
) -> Result<ClusterProposals, IpcError> {
    with_app(&state, move |app, _| {
        app.propose_clusters(
            Grouping {
                by_housing,
                by_street,
                by_neighbours,
            },
            Utc::now(),
        )
    })
    .await
}

#[tauri::command]
async fn create_cluster(
    state: State<'_, Shared>,
    name: String,
    members: Vec<String>,
    starts: String,
    months: u32,
) -> Result<ClusterView, IpcError> {
    with_app(&state, move |app, _| {
        app.create_cluster(
            &name,
            &members,
            shequ_app::clusters::typed_day("starts", &starts)?,
            months,
            Utc::now(),
        )
    })
    .await
}

#[tauri::command]
async fn clusters(state: State<'_, Shared>) -> Result<Vec<ClusterView>, IpcError> {
    with_app(&state, |app, _| app.clusters(Utc::now())).await
}

#[tauri::command]
async fn add_meeting(
    state: State<'_, Shared>,
    name: String,
    meeting: NewMeeting,
) -> Result<ClusterView, IpcError> {
    with_app(&state, move |app, _| {
        app.add_meeting(&name, &meeting, Utc::now()).map(|(v, _)| v)
    })
    .await
}

#[tauri::command]
async fn set_follow_up(
    state: State<'_, Shared>,
    id: String,
    status: String,
) -> Result<FollowUpRow, IpcError> {
    with_app(&state, move |app, _| {
        app.set_follow_up(&id, &status, Utc::now())
    })
    .await
}

#[tauri::command]
async fn cluster_agenda(
    state: State<'_, Shared>,
    name: String,
    dir: String,
) -> Result<Vec<String>, IpcError> {
    with_app_writing(&state, dir, move |app, lang, dir| {
        app.cluster_agenda(&name, lang, dir, Utc::now())
            .map(|v| v.iter().map(|p| p.display().to_string()).collect())
    })
    .await
}

#[tauri::command]
async fn save_library_entry(
    state: State<'_, Shared>,
    form: LibraryForm,
) -> Result<Libraries, IpcError> {
    with_app(&state, move |app, _| {
        app.save_library_entry(&form, Utc::now())
    })
    .await
}

#[tauri::command]
async fn import_neighbours(
    state: State<'_, Shared>,
    request: Request<'_>,
) -> Result<usize, IpcError> {
    let f = upload(&request);
    with_app(&state, move |app, _| {
        let f = f?;
        app.import_neighbours(&f.bytes, &f.name, Utc::now())
    })
    .await
}

#[tauri::command]
async fn project_needs(
    state: State<'_, Shared>,
    name: String,
    year: Option<i32>,
) -> Result<Vec<ProjectNeedRow>, IpcError> {
    with_app(&state, move |app, _| app.project_needs(&name, year)).await
}

#[tauri::command]
async fn add_project_need(
    state: State<'_, Shared>,
    name: String,
    need: NewProjectNeed,
) -> Result<ProjectNeedRow, IpcError> {
    with_app(&state, move |app, _| {
        app.add_project_need(&name, &need, Utc::now())
    })
    .await
}

#[tauri::command]
async fn set_project_need(
    state: State<'_, Shared>,
    id: String,
    status: String,
) -> Result<(), IpcError> {
    with_app(&state, move |app, _| {
        app.set_project_need(&id, &status, Utc::now())
    })
    .await
}

#[tauri::command]
async fn cases(
    state: State<'_, Shared>,
    text: Option<String>,
    tag: Option<String>,
) -> Result<Vec<Case>, IpcError> {
    with_app(&state, move |app, _| {
        app.cases(text.as_deref(), tag.as_deref())
    })
    .await
}

#[tauri::command]
async fn add_case(state: State<'_, Shared>, case: NewCase) -> Result<Case, IpcError> {
    with_app(&state, move |app, _| app.add_case(&case, Utc::now())).await
}

#[tauri::command]
async fn volunteered(state: State<'_, Shared>) -> Result<Vec<VolunteeredOffer>, IpcError> {
    with_app(&state, |app, _| app.volunteered()).await
}

#[tauri::command]
async fn include_volunteered(
    state: State<'_, Shared>,
    offer: String,
    tags: Vec<String>,
) -> Result<Vec<VolunteeredOffer>, IpcError> {
    with_app(&state, move |app, _| {
        app.include_volunteered(&offer, &tags, Utc::now())?;
        app.volunteered()
    })
    .await
}

#[tauri::command]
async fn shared_conflicts(state: State<'_, Shared>) -> Result<Vec<SharedConflictRow>, IpcError> {
    with_app(&state, |app, _| app.shared_conflicts(true)).await
}

#[tauri::command]
async fn resolve_shared_conflict(
    state: State<'_, Shared>,
    id: String,
    take_incoming: bool,
) -> Result<(), IpcError> {
    with_app(&state, move |app, _| {
        app.resolve_shared_conflict(&id, take_incoming, Utc::now())
    })
    .await
}

/// The file the start-up benchmark watches (`SHEQU_READY_FILE`), read once at start.
static READY_FILE: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();

/// The page reports a screen interactive ("unlock", "home"): appended to `SHEQU_READY_FILE`
/// when it is set (the start-up benchmark), nothing otherwise.
#[tauri::command]
async fn ui_ready(screen: String) -> Result<(), IpcError> {
    use std::io::Write;
    if let Some(Some(path)) = READY_FILE.get() {
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            let name: String = screen
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .take(20)
                .collect();
            let _ = writeln!(f, "{name}");
        }
    }
    Ok(())
}

/// Whether to ask the first-run question (laptop or centre), and the data folder.
#[tauri::command]
async fn first_run(state: State<'_, Shared>) -> Result<FirstRun, IpcError> {
    with_app(&state, |app, _| app.first_run()).await
}

#[tauri::command]
async fn choose_laptop(
    state: State<'_, Shared>,
    centre_key: Option<String>,
) -> Result<(), IpcError> {
    with_app(&state, move |app, _| {
        app.choose_laptop(centre_key.as_deref())
    })
    .await
}

/// Returns the centre's public key, for the laptops.
#[tauri::command]
async fn choose_centre(state: State<'_, Shared>) -> Result<String, IpcError> {
    with_app(&state, |app, _| app.choose_centre()).await
}

/// Opens the data folder in the system's file manager. The page names no path: it is the
/// folder this window has open.
#[tauri::command]
async fn open_data_dir(state: State<'_, Shared>) -> Result<(), IpcError> {
    with_app(&state, |app, _| {
        let dir = app.data_dir().display().to_string();
        tauri_plugin_opener::open_path(&dir, None::<&str>).map_err(|e| {
            Error::new(ErrorCode::FileUnreadable)
                .with("file", &dir)
                .with("detail", e)
        })
    })
    .await
}

/// WebKitGTK composites the page on the GPU by default. Under software GL (virtual machines,
/// old office laptops without a working driver) that costs the web process about 90 MiB, and
/// it is the path reported to give blank windows with some drivers. Shequ's screens are
/// forms, lists and one chart, drawn well without it (BENCHMARKS.md, "Start-up and memory").
/// So the window draws in software unless `SHEQU_GPU_COMPOSITING=1` asks for WebKit's
/// default.
fn software_compositing(app: &tauri::App) {
    #[cfg(target_os = "linux")]
    if std::env::var("SHEQU_GPU_COMPOSITING").as_deref() != Ok("1") {
        if let Some(window) = app.get_webview_window("main") {
            let _ = window.with_webview(|webview| {
                use webkit2gtk::{HardwareAccelerationPolicy, SettingsExt, WebViewExt};
                if let Some(settings) = webview.inner().settings() {
                    settings.set_hardware_acceleration_policy(HardwareAccelerationPolicy::Never);
                }
            });
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = app;
}

fn main() {
    READY_FILE.get_or_init(|| std::env::var_os("SHEQU_READY_FILE").map(PathBuf::from));
    // As the CLI does: a passphrase in SHEQU_PASSPHRASE opens an existing data folder at
    // start (kiosk set-ups, the start-up benchmark). Taken out of the environment at once.
    let env_passphrase = std::env::var("SHEQU_PASSPHRASE").ok().map(Passphrase::new);
    std::env::remove_var("SHEQU_PASSPHRASE");
    let dir = shequ_app::resolve_data_dir(data_dir_arg().as_deref());
    let lang = dir
        .as_deref()
        .map(shequ_app::ui_lang_of)
        .unwrap_or_default();
    if let Err(e) = &dir {
        eprintln!("{}", e.message(lang));
    }
    let result = tauri::Builder::default()
        .manage(Arc::new(Mutex::new(Shell {
            dir,
            app: None,
            lang,
            chosen: HashSet::new(),
        })))
        .plugin(tauri_plugin_dialog::init())
        .setup(move |app| {
            software_compositing(app);
            if let Some(pass) = env_passphrase {
                let shared: State<'_, Shared> = app.state();
                let mut shell = shared.lock().map_err(|_| "state poisoned")?;
                if let Ok(dir) = shell.dir.clone() {
                    let now = Utc::now();
                    let existing = shequ_app::unlock::lock_state(&dir, now)
                        .is_ok_and(|s| !s.state.chooses_passphrase());
                    if existing {
                        match App::unlock(&dir, &pass, now) {
                            Ok(mut opened) => {
                                opened.set_progress(Some(progress_events(app.handle().clone())));
                                shell.app = Some(opened);
                            }
                            Err(e) => eprintln!("{}", e.message(shell.lang)),
                        }
                    }
                }
            }
            Ok(())
        })
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
            choose_folder,
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
            classification_report,
            libraries,
            library_template,
            import_libraries,
            community_matches,
            set_match,
            propose_clusters,
            create_cluster,
            clusters,
            add_meeting,
            set_follow_up,
            cluster_agenda,
            save_library_entry,
            import_neighbours,
            project_needs,
            add_project_need,
            set_project_need,
            cases,
            add_case,
            volunteered,
            include_volunteered,
            shared_conflicts,
            resolve_shared_conflict,
            first_run,
            choose_laptop,
            choose_centre,
            open_data_dir,
            ui_ready
        ])
        .run(tauri::generate_context!());
    if let Err(e) = result {
        eprintln!("Shequ could not start its window: {e}");
        std::process::exit(1);
    }
}
