//! The application layer: every operation a user can ask for, as plain functions over the
//! store. The `shequ` CLI and the desktop shell are thin callers of this crate; neither
//! talks to the store directly.

pub mod analysis;
pub mod bundles;
pub mod clusters;
mod community_csv;
pub mod demo;
pub mod exports;
pub mod fieldwork;
pub mod instruments;
pub mod libraries;
mod paths;
pub mod progress;
pub mod reports;
pub mod sharing;
pub mod unlock;

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::Serialize;
use shequ_core::{Community, Error, ErrorCode, FormDefinition, Lang, NewCommunity, Result};
use shequ_store::{Actor, CommunitySummary, InstrumentRecord, InstrumentSummary, Store};
use ts_rs::TS;

pub use community_csv::{parse_communities_csv, ParsedCommunities};
pub use paths::{default_data_dir, resolve_data_dir, DATA_DIR_ENV, DB_FILE};
pub use shequ_store::Passphrase;

const SETTING_DEVICE_ID: &str = "device_id";
const UI_LANG_FILE: &str = "ui-lang";

/// The language remembered for the data folder (zh-CN when none was chosen).
pub fn ui_lang_of(data_dir: &Path) -> Lang {
    std::fs::read_to_string(data_dir.join(UI_LANG_FILE))
        .ok()
        .and_then(|s| Lang::parse(s.trim()))
        .unwrap_or_default()
}

pub fn set_ui_lang_of(data_dir: &Path, lang: Lang) -> Result<()> {
    paths::ensure_usable(data_dir)?;
    shequ_core::fs::write_atomic(&data_dir.join(UI_LANG_FILE), lang.tag().as_bytes())
}

/// An open data folder: the store plus this device's identity.
pub struct App {
    store: Store,
    data_dir: PathBuf,
    device_id: String,
    /// The device's UTC offset: `today()` and interview metadata are local.
    pub(crate) utc_offset: chrono::FixedOffset,
    /// Compiled forms by instrument id.
    pub(crate) forms: std::collections::HashMap<uuid::Uuid, shequ_forms::CompiledForm>,
    /// Interviews on screen: their answers and form state, for incremental updates.
    pub(crate) open:
        std::collections::HashMap<uuid::Uuid, (shequ_forms::Answers, shequ_forms::FormState)>,
    /// Where progress of long work is reported (the window's progress bar), if anywhere.
    pub(crate) progress: Option<progress::ProgressSink>,
}

/// What the home screen shows.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct HomeData {
    pub communities: Vec<CommunitySummary>,
    pub instruments: Vec<InstrumentSummary>,
    pub data_dir: String,
    pub device_id: String,
}

impl App {
    /// Opens the data folder with its passphrase (creating the folder and an encrypted
    /// database when absent), gives the device an id on first run, and installs the default
    /// scale if it is not installed yet. The unlock screen and the CLI go through
    /// [`App::unlock`], which also slows down repeated wrong passphrases.
    pub fn open(data_dir: &Path, pass: &Passphrase, now: DateTime<Utc>) -> Result<App> {
        paths::ensure_usable(data_dir)?;
        let store = Store::open(&data_dir.join(DB_FILE), pass)?;
        App::with_store(store, data_dir, now)
    }

    /// An app over an unencrypted store, for the benchmark that measures what encryption
    /// costs on the save path. Never for data.
    #[doc(hidden)]
    pub fn open_unencrypted_for_bench(data_dir: &Path, now: DateTime<Utc>) -> Result<App> {
        paths::ensure_usable(data_dir)?;
        let store = Store::open_unencrypted_for_bench(&data_dir.join(DB_FILE))?;
        App::with_store(store, data_dir, now)
    }

    fn with_store(mut store: Store, data_dir: &Path, now: DateTime<Utc>) -> Result<App> {
        // The language used to be a setting inside the store; it now lives beside it, so the
        // unlock screen can speak it. Carried over once.
        if !data_dir.join(UI_LANG_FILE).exists() {
            if let Some(lang) = store.setting("ui_lang")?.and_then(|s| Lang::parse(&s)) {
                set_ui_lang_of(data_dir, lang)?;
            }
        }
        let device_id = match store.setting(SETTING_DEVICE_ID)? {
            Some(id) => id,
            None => {
                let id = shequ_core::new_id().to_string();
                store.set_setting(SETTING_DEVICE_ID, &id)?;
                id
            }
        };
        let mut app = App {
            store,
            data_dir: data_dir.to_path_buf(),
            device_id,
            utc_offset: fieldwork::local_offset(),
            forms: Default::default(),
            progress: None,
            open: Default::default(),
        };
        // The device's signing key for bundles is made on first run.
        app.device_key()?;
        app.ensure_round(now)?;
        let scale = shequ_forms::default_scale()?;
        if app
            .store
            .instrument_version(&scale.form_id, &scale.version)?
            .is_none()
        {
            let actor = app.actor();
            app.store.install_instrument(
                &scale,
                Some(shequ_forms::DEFAULT_SCALE_NAME),
                &actor,
                now,
            )?;
        }
        Ok(app)
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    pub fn device_id(&self) -> &str {
        &self.device_id
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The actor recorded in the audit trail for writes made from this device: the
    /// interviewer who last signed in here, else the operating-system user.
    pub fn actor(&self) -> Actor {
        let name = self
            .store
            .setting("last_interviewer")
            .ok()
            .flatten()
            .filter(|n| !n.is_empty())
            .or_else(|| std::env::var("USER").ok())
            .or_else(|| std::env::var("USERNAME").ok())
            .unwrap_or_else(|| "local".into());
        Actor {
            name,
            device_id: self.device_id.clone(),
        }
    }

    pub fn home(&self) -> Result<HomeData> {
        Ok(HomeData {
            communities: self.store.community_summaries()?,
            instruments: self
                .store
                .instruments()?
                .into_iter()
                .map(|r| r.summary)
                .collect(),
            data_dir: self.data_dir.display().to_string(),
            device_id: self.device_id.clone(),
        })
    }

    pub fn communities(&self) -> Result<Vec<CommunitySummary>> {
        self.store.community_summaries()
    }

    pub fn add_community(&mut self, c: NewCommunity, now: DateTime<Utc>) -> Result<Community> {
        let actor = self.actor();
        let mut made = self.store.insert_communities(&[c], &actor, now, false)?;
        made.pop()
            .ok_or_else(|| Error::internal("insert returned nothing"))
    }

    /// Imports a communities CSV (UTF-8 with or without BOM, GBK, or UTF-16): every row or
    /// none. Errors name the file and the row.
    pub fn import_communities_csv(
        &mut self,
        path: &Path,
        now: DateTime<Utc>,
    ) -> Result<Vec<Community>> {
        let file = path.display().to_string();
        let bytes = shequ_core::fs::read_capped(path, shequ_core::fs::MAX_CSV_BYTES)?;
        self.import_communities_bytes(&bytes, &file, now, false)
    }

    pub(crate) fn import_communities_bytes(
        &mut self,
        bytes: &[u8],
        file: &str,
        now: DateTime<Utc>,
        is_demo: bool,
    ) -> Result<Vec<Community>> {
        let parsed = parse_communities_csv(bytes, file)?;
        let actor = self.actor();
        self.store
            .insert_communities(&parsed.items, &actor, now, is_demo)
            .map_err(|e| {
                // Point a store-side refusal at the CSV row it came from.
                match e.params.get("index").and_then(|i| i.parse::<usize>().ok()) {
                    Some(i) if i < parsed.rows.len() => {
                        e.with("file", file).with("row", parsed.rows[i])
                    }
                    _ => e,
                }
            })
    }

    pub fn instruments(&self) -> Result<Vec<InstrumentSummary>> {
        Ok(self
            .store
            .instruments()?
            .into_iter()
            .map(|r| r.summary)
            .collect())
    }

    /// Finds an instrument by id, by form id (latest version), or by `form_id@version`.
    pub fn instrument(&self, key: &str) -> Result<InstrumentRecord> {
        let all = self.store.instruments()?;
        let (form, version) = match key.split_once('@') {
            Some((f, v)) => (f, Some(v)),
            None => (key, None),
        };
        all.into_iter()
            .rfind(|r| {
                r.summary.id.to_string() == key
                    || (r.summary.form_id == form && version.is_none_or(|v| r.summary.version == v))
            })
            .ok_or_else(|| {
                Error::new(ErrorCode::NotFound)
                    .with("what", "instrument")
                    .with("id", key)
            })
    }

    pub fn default_definition() -> Result<FormDefinition> {
        shequ_forms::default_scale()
    }

    /// The remembered UI language (zh-CN until the user picks another).
    /// The language of the window and of messages: kept in a plain file beside the database
    /// (`ui-lang`, not secret), so the unlock screen speaks it before anything is open.
    pub fn ui_lang(&self) -> Result<Lang> {
        Ok(ui_lang_of(&self.data_dir))
    }

    pub fn set_ui_lang(&mut self, lang: Lang) -> Result<()> {
        set_ui_lang_of(&self.data_dir, lang)
    }

    pub(crate) fn store_mut(&mut self) -> &mut Store {
        &mut self.store
    }

    /// Direct store access for benchmarks that need bulk data fast. Not for the app.
    #[doc(hidden)]
    pub fn store_mut_for_bench(&mut self) -> &mut Store {
        &mut self.store
    }
}
