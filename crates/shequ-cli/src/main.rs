//! `shequ`: the command line over the same application layer as the desktop app.
//!
//! Messages come from the shared catalogues, in the language of `--lang`, `SHEQU_LANG` or the
//! locale (`LANG`), zh-CN by default. Errors go to stderr with exit status 1.

/// mimalloc: import and evaluation allocate many small strings (see BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use chrono::Utc;
use clap::{Parser, Subcommand};
use comfy_table::{presets::UTF8_BORDERS_ONLY, Table};
use shequ_app::{App, Passphrase};
use shequ_core::{i18n, ErrorCode, FormItem, HousingForm, Lang, NewCommunity, Result};

#[derive(Parser)]
#[command(
    name = "shequ",
    version,
    about = "Shequ community analysis (社区分析) command line"
)]
struct Cli {
    /// Data folder (default: SHEQU_DATA_DIR, else the platform's app-data folder).
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Language of messages: zh-CN or en (default: SHEQU_LANG, else the locale, else zh-CN).
    #[arg(long, global = true, value_name = "LANG")]
    lang: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create the data folder and database, and install the default scale.
    Init,
    /// Manage communities.
    #[command(subcommand)]
    Communities(CommunitiesCmd),
    /// Inspect installed instruments (questionnaires).
    #[command(subcommand)]
    Instruments(InstrumentsCmd),
    /// Load the demo district: 12 communities in 2 streets with sample interviews.
    Demo,
    /// Change the passphrase of the data folder: asks for the current and the new one (or
    /// reads SHEQU_PASSPHRASE and SHEQU_NEW_PASSPHRASE) and re-encrypts the whole database.
    Passphrase,
    /// Run interviews from the command line, through the same save path as the app.
    #[command(subcommand)]
    Interview(InterviewCmd),
    /// Keys: the centre's key pair, a laptop's copy of the centre key, this device's key.
    #[command(subcommand)]
    Keys(KeysCmd),
    /// Assessment bundles (评估数据包): export from a laptop, import at the centre.
    #[command(subcommand)]
    Bundle(BundleCmd),
    /// The resource and expert libraries (资源库, 专家库) and matching needs to them.
    #[command(subcommand)]
    Resources(ResourcesCmd),
    /// Community clusters (社区群): proposals, confirmation, members, the rotating chair.
    #[command(subcommand)]
    Clusters(ClustersCmd),
    /// Joint meetings of a cluster, and their follow-ups.
    #[command(subcommand)]
    Meetings(MeetingsCmd),
    /// The good-case library (案例库), searchable across clusters.
    #[command(subcommand)]
    Cases(CasesCmd),
    /// Every community's profile (社区肖像) in a round: scores with n, SD, 95% CI and λ,
    /// need degrees, problem indices, tags.
    Profiles {
        /// The survey round (default: the current one).
        #[arg(long, value_name = "ROUND")]
        round: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// The classification (housing form × social type × tags), each with its explanation,
    /// and the k-means grouping beside it.
    Classify {
        #[arg(long, value_name = "ROUND")]
        round: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Survey rounds (调查轮次): list them, or start a new one (new interviews go into it).
    Rounds {
        /// Start this round and make it current.
        #[arg(long, value_name = "NAME")]
        start: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// This computer's role: `laptop` (fieldwork) or `centre` (import and analysis).
    Role {
        #[arg(value_parser = ["laptop", "centre"])]
        role: Option<String>,
    },
    /// The analysis thresholds: show them, or change some (`--set cutoff=65`).
    Thresholds {
        /// KEY=VALUE, repeatable: min_responses, cutoff_mode (fixed|median), cutoff,
        /// borderline_margin, need_high, need_medium, ageing, migrant, hardship, top_needs, need_min_base,
        /// top_problems, problem_index_min.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
        #[arg(long)]
        json: bool,
    },
    /// A community's governance checklist (治理清单), or accept what its current
    /// classification selects.
    Checklist {
        code: String,
        #[arg(long)]
        accept: bool,
        #[arg(long)]
        json: bool,
    },
    /// Reports: a community's profile and checklist as Word (.docx), or the district's
    /// classification table as Excel (.xlsx). `--out` is a file, or a folder to name it in.
    Report {
        #[arg(
            long,
            value_name = "CODE",
            conflicts_with = "classification",
            required_unless_present = "classification"
        )]
        community: Option<String>,
        #[arg(long)]
        classification: bool,
        #[arg(long, value_name = "ROUND")]
        round: Option<String>,
        #[arg(long, value_name = "FILE_OR_DIR")]
        out: PathBuf,
    },
    /// Export the data for Excel and analysis tools (latest finalized version of each interview).
    Export {
        #[arg(long, value_parser = ["csv", "xlsx", "jsonl"], default_value = "csv")]
        format: String,
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Choice labels in this language (zh-CN or en) instead of choice names.
        #[arg(long, value_name = "LANG")]
        labels: Option<String>,
        /// Keep personal data (respondent, questions marked personal) as recorded instead of
        /// pseudonymising it; the choice is recorded in the audit trail.
        #[arg(long)]
        include_personal: bool,
    },
}

#[derive(Subcommand)]
enum KeysCmd {
    /// At the centre: make the centre key pair (once) and print its public key.
    InitCentre,
    /// On a field laptop: import the centre's public key (age1…).
    SetCentre { key: String },
    /// Show this device's id, signing key and key fingerprint.
    Show,
    /// At the centre: accept a new device by its key fingerprint, after comparing it with the
    /// one `keys show` prints on that laptop (by phone or face to face).
    Accept { fingerprint: String },
    /// At the centre: write the centre's secret key to a file protected by a passphrase of
    /// its own (asked for, or SHEQU_BACKUP_PASSPHRASE), to keep it safe off this computer.
    BackupCentre {
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// At the centre: install the centre's secret key from such a backup file.
    RestoreCentre { file: PathBuf },
}

#[derive(Subcommand)]
enum BundleCmd {
    /// Export to a bundle file (written in full, then recorded). A laptop exports its
    /// finalized interviews and its cluster records to the centre; the centre exports the
    /// cluster and library records to every laptop it has heard from.
    Export {
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Only what was finalized since the last export (by the store's own sequence, not
        /// the clock).
        #[arg(long)]
        since_last: bool,
        /// Export without the centre key (the bundle is then not encrypted).
        #[arg(long)]
        unencrypted: bool,
    },
    /// Import bundles, each all or nothing, in the order given.
    Import {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Show the plan (new, duplicate, new version, conflict) without writing.
        #[arg(long)]
        dry_run: bool,
        /// Accept a new device with this key fingerprint (as `shequ keys show` prints it on
        /// the laptop, compared by phone or face to face) before importing. Repeatable.
        #[arg(long, value_name = "FINGERPRINT")]
        accept_device: Vec<String>,
    },
    /// List unresolved conflicts.
    Conflicts,
    /// Resolve a conflict: keep the stored version or take the incoming one (the replaced
    /// version is kept and can be restored).
    Resolve {
        id: String,
        #[arg(long, value_parser = ["existing", "incoming"])]
        take: String,
    },
    /// At the centre: the bundles received from each laptop, and the numbers missing.
    Status {
        #[arg(long)]
        json: bool,
    },
    /// List the versions replaced by taking an incoming one, which can be restored.
    Replaced,
    /// Put back the version that taking the incoming one replaced (by conflict id).
    Restore { id: String },
}

#[derive(Subcommand)]
enum InterviewCmd {
    /// Start an interview; prints its id.
    Start {
        /// The community's code.
        #[arg(long)]
        community: String,
        #[arg(long)]
        interviewer: String,
        /// Respondent code or household address (never a national ID number).
        #[arg(long)]
        respondent: String,
        /// The respondent agreed to the interview.
        #[arg(long)]
        consent: bool,
        /// Instrument id or form_id[@version] (default: the default scale).
        #[arg(long)]
        instrument: Option<String>,
    },
    /// Save one answer (instance keys inside repeats look like member[2]/age).
    Answer {
        id: String,
        key: String,
        value: String,
    },
    /// Save answers from a JSON script: {"id": "…"} or {"start": {…}}, then
    /// "answers": [["key", "value"], …] and optionally "finalize": true. Each durable save
    /// prints "saved KEY" before the next one starts.
    Script { file: PathBuf },
    /// Finalize an interview, or list what blocks it.
    Finalize { id: String },
    /// Make an editable new version of a finalized interview; prints its id.
    Edit { id: String },
    /// Discard a draft (restorable for 30 days).
    Discard { id: String },
    /// Restore a discarded draft.
    Restore { id: String },
    /// List drafts, newest first.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Show an interview's answers, versions and audit trail as JSON.
    Show { id: String },
}

#[derive(serde::Deserialize)]
struct Script {
    id: Option<String>,
    start: Option<ScriptStart>,
    #[serde(default)]
    answers: Vec<(String, String)>,
    #[serde(default)]
    finalize: bool,
}

#[derive(serde::Deserialize)]
struct ScriptStart {
    community: String,
    interviewer: String,
    respondent: String,
    consent: bool,
}

fn parse_id(id: &str) -> Result<uuid::Uuid> {
    uuid::Uuid::parse_str(id.trim()).map_err(|_| {
        shequ_core::Error::new(shequ_core::ErrorCode::NotFound)
            .with("what", "interview")
            .with("id", id)
    })
}

fn community_id(app: &App, code: &str) -> Result<uuid::Uuid> {
    app.store()
        .community_by_code(code)?
        .map(|c| c.id)
        .ok_or_else(|| {
            shequ_core::Error::new(shequ_core::ErrorCode::NotFound)
                .with("what", "community")
                .with("id", code)
        })
}

/// Prints and flushes at once: an acknowledgement must reach the reader before the next save.
fn ack(line: &str) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

#[derive(Subcommand)]
enum ClustersCmd {
    /// Clusters proposed from the current classification: same social type, two members at
    /// least; communities already in a cluster are left out.
    Propose {
        /// Also the same housing form.
        #[arg(long)]
        by_housing: bool,
        /// Also the same street (neighbours, as Ningbo's 组团联建).
        #[arg(long)]
        by_street: bool,
        /// Also connected through the neighbour list (`shequ clusters neighbours FILE`).
        #[arg(long)]
        by_neighbours: bool,
        #[arg(long)]
        json: bool,
    },
    /// Replace the neighbour list from a CSV of pairs (社区编码,相邻社区编码).
    Neighbours { file: PathBuf },
    /// A cluster's annual project-needs list (年度项目需求清单).
    Needs {
        name: String,
        #[arg(long)]
        year: Option<i32>,
        #[arg(long)]
        json: bool,
    },
    /// Add an entry to a cluster's project-needs list (this year unless `--year`).
    NeedAdd {
        name: String,
        #[arg(long)]
        title: String,
        /// A tag in the vocabulary (key or label).
        #[arg(long, default_value = "")]
        tag: String,
        #[arg(long, default_value = "")]
        note: String,
        #[arg(long)]
        year: Option<i32>,
    },
    /// Set a project need's status.
    NeedSet {
        id: String,
        #[arg(long, value_parser = ["listed", "matched", "dropped"])]
        status: String,
    },
    /// Make a cluster of these communities, its rounds `--months` long from `--starts`.
    Confirm {
        #[arg(long)]
        name: String,
        #[arg(long, value_name = "YYYY-MM-DD")]
        starts: String,
        #[arg(long, default_value_t = 3)]
        months: u32,
        #[arg(required = true)]
        codes: Vec<String>,
    },
    /// Every cluster, or one: members, what they share, the chair's schedule, meetings.
    Show {
        name: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Keep the chair's turns through round N (turns already kept stay as they are).
    Rotate {
        name: String,
        #[arg(long)]
        rounds: u32,
    },
    /// A community joins the cluster on a day.
    Join {
        name: String,
        code: String,
        #[arg(long, value_name = "YYYY-MM-DD")]
        on: String,
    },
    /// A community leaves the cluster on a day.
    Leave {
        name: String,
        code: String,
        #[arg(long, value_name = "YYYY-MM-DD")]
        on: String,
    },
}

#[derive(Subcommand)]
enum CasesCmd {
    /// Add a case: what was done and what it achieved, its tags (the needs vocabulary) and the
    /// checklist items it carries out.
    Add {
        #[arg(long)]
        title: String,
        #[arg(long, default_value = "")]
        summary: String,
        #[arg(long)]
        cluster: Option<String>,
        #[arg(long)]
        community: Option<String>,
        #[arg(long = "tag")]
        tags: Vec<String>,
        #[arg(long = "checklist-item")]
        checklist_items: Vec<String>,
    },
    /// Cases whose title or summary holds TEXT, carrying `--tag` when given.
    Search {
        text: Option<String>,
        #[arg(long)]
        tag: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum MeetingsCmd {
    /// Record a joint meeting: it belongs to the round its date is in, chaired by that round's
    /// chair. `--follow-up "action|owner|YYYY-MM-DD"` (the date may be left out), repeatable.
    Add {
        cluster: String,
        #[arg(long, value_name = "YYYY-MM-DD")]
        date: String,
        #[arg(long, value_delimiter = ',')]
        attendees: Vec<String>,
        #[arg(long, default_value = "")]
        minutes: String,
        #[arg(long = "decision")]
        decisions: Vec<String>,
        #[arg(long = "follow-up")]
        follow_ups: Vec<String>,
    },
    /// Move a follow-up to open, done or dropped.
    FollowUp {
        id: String,
        #[arg(long)]
        status: String,
    },
}

#[derive(Subcommand)]
enum ResourcesCmd {
    /// Write the Excel template to fill in: resources, experts, the tag vocabulary, the kinds.
    Template {
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Add the resources and experts of a filled template (.xlsx, or .csv in UTF-8 or GBK).
    /// Every row is checked first; one bad row and nothing is added.
    Import {
        file: PathBuf,
        /// Check and count, write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// List the libraries.
    List {
        /// The expert library instead of the resource library.
        #[arg(long)]
        experts: bool,
        #[arg(long)]
        json: bool,
    },
    /// A community's high and medium needs and top problems, each with the resources and
    /// experts ranked for it and the reasons for their rank.
    Match {
        code: String,
        #[arg(long, value_name = "ROUND")]
        round: Option<String>,
        /// Candidates shown per need.
        #[arg(long, default_value_t = 5)]
        limit: usize,
        #[arg(long)]
        json: bool,
    },
    /// What residents volunteered in block I (hours and skills, venues), each with the
    /// interview it came from, offered for the resource library.
    Volunteered {
        #[arg(long)]
        json: bool,
    },
    /// Add a volunteered offer (its id from `volunteered`) to the library under these tags.
    Include {
        offer: String,
        #[arg(long = "tag", required = true)]
        tags: Vec<String>,
    },
    /// Record a match (or move it on): community, need or problem term, resource or expert id.
    Confirm {
        code: String,
        term: String,
        supplier: String,
        /// proposed, agreed, in_progress or done.
        #[arg(long, default_value = "agreed")]
        status: String,
        #[arg(long, default_value = "")]
        outcome: String,
    },
}

#[derive(Subcommand)]
enum CommunitiesCmd {
    /// Add one community.
    Add {
        #[arg(long)]
        code: String,
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "")]
        street: String,
        #[arg(long, default_value = "")]
        district: String,
        /// A code (old_public, commercial, …) or the Chinese name (老旧小区, 村改居, …).
        #[arg(long)]
        housing_form: String,
        #[arg(long)]
        households: Option<u32>,
        #[arg(long, default_value_t = 50)]
        target_sample: u32,
    },
    /// List communities with interview progress.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Import communities from a CSV file (UTF-8 or GBK; Chinese or English headers).
    Import { file: PathBuf },
}

#[derive(Subcommand)]
enum InstrumentsCmd {
    /// List installed instruments.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Import an XLSForm (.xlsx or .xls): a new form, or a new version of an installed one.
    Import {
        file: PathBuf,
        /// Check the form and show what would be imported, without importing it.
        #[arg(long)]
        dry_run: bool,
    },
    /// Show an instrument's blocks and questions (by id, form id, or form_id@version).
    Show {
        id: String,
        #[arg(long)]
        json: bool,
    },
}

/// Appends a line to the command's output (printed once, at the end).
macro_rules! say {
    ($out:expr, $($arg:tt)*) => {{
        use std::fmt::Write as _;
        let _ = writeln!($out, $($arg)*);
    }};
}

fn ui_lang(explicit: Option<&str>) -> Lang {
    explicit
        .map(str::to_string)
        .or_else(|| std::env::var("SHEQU_LANG").ok())
        .or_else(|| std::env::var("LC_ALL").ok().filter(|s| !s.is_empty()))
        .or_else(|| std::env::var("LANG").ok())
        .and_then(|s| Lang::parse(&s))
        .unwrap_or_default()
}

fn msg(lang: Lang, key: &str, params: &[(&str, String)]) -> String {
    let p: BTreeMap<String, String> = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    i18n::message(lang, key, &p)
}

fn table(lang: Lang, headers: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_style(UTF8_BORDERS_ONLY);
    t.set_header(
        headers
            .iter()
            .map(|h| i18n::text(lang, &format!("cli.{h}"))),
    );
    t
}

/// A list as JSON, as a table, or as the "nothing yet" message when empty.
fn print_list<T: serde::Serialize>(
    out: &mut String,
    lang: Lang,
    json: bool,
    list: &[T],
    empty_key: &str,
    headers: &[&str],
    row: impl Fn(&T) -> Vec<String>,
) -> Result<()> {
    if json {
        say!(
            out,
            "{}",
            serde_json::to_string_pretty(list).map_err(shequ_core::Error::internal)?
        );
    } else if list.is_empty() {
        say!(out, "{}", i18n::text(lang, empty_key));
    } else {
        let mut t = table(lang, headers);
        for item in list {
            t.add_row(row(item));
        }
        say!(out, "{t}");
    }
    Ok(())
}

/// Environment variables a script can give passphrases in (never a command-line argument,
/// which other users of the computer can read from the process list).
const PASSPHRASE_ENV: &str = "SHEQU_PASSPHRASE";
const NEW_PASSPHRASE_ENV: &str = "SHEQU_NEW_PASSPHRASE";
const BACKUP_PASSPHRASE_ENV: &str = "SHEQU_BACKUP_PASSPHRASE";

/// A passphrase from `env`, else asked for at the terminal without echo (twice when one is
/// being chosen). With neither, `PassphraseRequired`.
fn read_passphrase(env: &str, lang: Lang, prompt: &str, choose: bool) -> Result<Passphrase> {
    use std::io::IsTerminal;
    if let Some(v) = std::env::var_os(env) {
        return Ok(Passphrase::new(v.to_string_lossy().into_owned()));
    }
    if !std::io::stdin().is_terminal() {
        return Err(shequ_core::Error::new(ErrorCode::PassphraseRequired).with("env", env));
    }
    let ask = |key: &str| {
        rpassword::prompt_password(format!("{}: ", i18n::text(lang, key)))
            .map(Passphrase::new)
            .map_err(|e| {
                shequ_core::Error::new(ErrorCode::PassphraseRequired)
                    .with("env", env)
                    .with("detail", e)
            })
    };
    let first = ask(prompt)?;
    if choose {
        first.check_new()?;
        first.check_chosen(&ask("cli.passphrase_again")?)?;
    }
    Ok(first)
}

fn run(cli: Cli, lang: Lang, out: &mut String) -> Result<()> {
    let now = Utc::now();
    let dir = shequ_app::resolve_data_dir(cli.data_dir.as_deref())?;
    let state = shequ_app::unlock::lock_state(&dir, now)?;
    let choose = state.state.chooses_passphrase();
    let prompt = if choose {
        "cli.passphrase_choose"
    } else {
        "cli.passphrase_prompt"
    };
    let pass = read_passphrase(PASSPHRASE_ENV, lang, prompt, choose)?;
    let mut app = App::unlock(&dir, &pass, now)?;
    match cli.command {
        Command::Passphrase => {
            let new = read_passphrase(NEW_PASSPHRASE_ENV, lang, "cli.passphrase_new", true)?;
            app.change_passphrase(&pass, &new)?;
            say!(out, "{}", i18n::text(lang, "cli.passphrase_changed"));
        }
        Command::Init => {
            say!(
                out,
                "{}",
                msg(
                    lang,
                    "cli.initialized",
                    &[
                        ("path", dir.display().to_string()),
                        ("device", app.device_id().into())
                    ]
                )
            );
        }
        Command::Demo => {
            let r = app.load_demo(now)?;
            say!(
                out,
                "{}",
                msg(
                    lang,
                    "cli.demo_loaded",
                    &[
                        ("communities", r.communities.to_string()),
                        ("responses", r.responses.to_string()),
                        ("drafts", r.drafts.to_string()),
                    ]
                )
            );
        }
        Command::Interview(cmd) => interview(&mut app, cmd, lang, out)?,
        Command::Resources(cmd) => resources(&mut app, cmd, lang, out)?,
        Command::Clusters(cmd) => clusters(&mut app, cmd, lang, out)?,
        Command::Meetings(cmd) => meetings(&mut app, cmd, lang, out)?,
        Command::Cases(cmd) => cases(&mut app, cmd, lang, out)?,
        Command::Keys(cmd) => match cmd {
            KeysCmd::InitCentre => {
                let r = app.init_centre()?;
                say!(out, "{}", i18n::text(lang, "cli.centre_key"));
                say!(out, "{r}");
            }
            KeysCmd::BackupCentre { out: file } => {
                let pass =
                    read_passphrase(BACKUP_PASSPHRASE_ENV, lang, "cli.backup_passphrase", true)?;
                let bytes = app.backup_centre_identity(&pass)?;
                shequ_core::fs::write_atomic(&file, &bytes)?;
                say!(
                    out,
                    "{}",
                    msg(
                        lang,
                        "cli.centre_backed_up",
                        &[("file", file.display().to_string())]
                    )
                );
            }
            KeysCmd::RestoreCentre { file } => {
                let bytes = shequ_core::fs::read_capped(&file, shequ_core::fs::MAX_CSV_BYTES)?;
                let pass =
                    read_passphrase(BACKUP_PASSPHRASE_ENV, lang, "cli.backup_passphrase", false)?;
                let r = app
                    .restore_centre_identity(&bytes, &pass)
                    .map_err(|e| match e.code {
                        ErrorCode::WrongPassphrase => e.with("path", file.display()),
                        _ => e,
                    })?;
                say!(out, "{}", i18n::text(lang, "cli.centre_key"));
                say!(out, "{r}");
            }
            KeysCmd::Accept { fingerprint } => {
                let fp = app.accept_device(&fingerprint)?;
                say!(
                    out,
                    "{}",
                    msg(lang, "cli.device_accepted", &[("fingerprint", fp)])
                );
            }
            KeysCmd::SetCentre { key } => {
                app.set_centre_recipient(&key)?;
                say!(out, "{}", i18n::text(lang, "cli.centre_key_set"));
            }
            KeysCmd::Show => {
                let key = app.device_key()?.public_hex();
                let fp = app.device_fingerprint()?;
                say!(
                    out,
                    "{}",
                    msg(
                        lang,
                        "cli.device_key",
                        &[("device", app.device_id().to_string()), ("key", key)]
                    )
                );
                say!(
                    out,
                    "{}",
                    msg(lang, "cli.device_fingerprint", &[("fingerprint", fp)])
                );
                if let Some(r) = app.centre_recipient()? {
                    say!(out, "{}", i18n::text(lang, "cli.centre_key"));
                    say!(out, "{r}");
                }
            }
        },
        Command::Bundle(cmd) => bundle(&mut app, cmd, lang, out)?,
        Command::Profiles { round, json } => {
            profiles(&app, round.as_deref(), json, true, lang, out)?
        }
        Command::Classify { round, json } => {
            profiles(&app, round.as_deref(), json, false, lang, out)?
        }
        Command::Report {
            community,
            classification: _,
            round,
            out: path,
        } => {
            let round = round.as_deref();
            let file = match community {
                Some(code) if path.is_dir() => {
                    app.community_report(&code, round, lang, &path, now)?
                }
                Some(code) => app.community_report_to(&code, round, lang, &path, now)?,
                None if path.is_dir() => app.classification_report(round, lang, &path)?,
                None => app.classification_report_to(round, lang, &path)?,
            };
            say!(
                out,
                "{}",
                msg(
                    lang,
                    "cli.report_written",
                    &[("path", file.display().to_string())]
                )
            );
        }
        Command::Rounds { start, json } => {
            if let Some(name) = start {
                app.set_current_round(&name, now)?;
                say!(
                    out,
                    "{}",
                    msg(
                        lang,
                        "cli.round_started",
                        &[("round", name.trim().to_string())]
                    )
                );
            }
            let rounds = app.rounds()?;
            print_list(
                out,
                lang,
                json,
                &rounds,
                "cli.no_rounds",
                &["col_round", "col_responses", "col_current"],
                |r| {
                    vec![
                        r.name.clone(),
                        r.responses.to_string(),
                        if r.current {
                            "✓".into()
                        } else {
                            String::new()
                        },
                    ]
                },
            )?;
        }
        Command::Role { role } => {
            use shequ_app::analysis::Role;
            if let Some(r) = role {
                app.set_role(if r == "centre" {
                    Role::Centre
                } else {
                    Role::Laptop
                })?;
            }
            let key = match app.role()? {
                Role::Centre => "cli.role_centre",
                Role::Laptop => "cli.role_laptop",
            };
            say!(out, "{}", i18n::text(lang, key));
        }
        Command::Thresholds { set, json } => {
            let mut s = app.analysis_settings()?;
            if !set.is_empty() {
                for kv in &set {
                    apply_threshold(&mut s, kv)?;
                }
                app.set_analysis_settings(&s, now)?;
            }
            if json {
                say!(
                    out,
                    "{}",
                    serde_json::to_string_pretty(&s).map_err(shequ_core::Error::internal)?
                );
            } else {
                let v = serde_json::to_value(&s).map_err(shequ_core::Error::internal)?;
                let mut t = table(lang, &["col_setting", "col_value"]);
                if let Some(obj) = v.as_object() {
                    for (k, v) in obj {
                        if k == "tag_thresholds" {
                            for (tag, x) in v.as_object().into_iter().flatten() {
                                t.add_row(vec![setting_name(lang, tag), x.to_string()]);
                            }
                        } else {
                            t.add_row(vec![
                                setting_name(lang, k),
                                v.to_string().trim_matches('"').to_string(),
                            ]);
                        }
                    }
                }
                say!(out, "{t}");
            }
        }
        Command::Checklist { code, accept, json } => {
            let c = if accept {
                app.accept_checklist(&code, now)?
            } else {
                app.checklist(&code)?
            };
            if json {
                say!(
                    out,
                    "{}",
                    serde_json::to_string_pretty(&c).map_err(shequ_core::Error::internal)?
                );
            } else {
                let mut t = table(
                    lang,
                    &["col_priority", "col_action", "col_owner", "col_frequency"],
                );
                for i in c.items.iter().filter(|i| !i.removed) {
                    t.add_row(vec![
                        i18n::text(lang, &format!("analysis.priorities.{}", i.item.priority)),
                        shequ_analysis::checklist::pick(&i.item.action, lang).to_string(),
                        i18n::text(lang, &format!("analysis.owners.{}", i.item.owner)),
                        i18n::text(lang, &format!("analysis.frequencies.{}", i.item.frequency)),
                    ]);
                }
                say!(out, "{t}");
                if !c.pending_add.is_empty() || !c.pending_remove.is_empty() {
                    say!(
                        out,
                        "{}",
                        msg(
                            lang,
                            "cli.checklist_pending",
                            &[
                                ("added", c.pending_add.len().to_string()),
                                ("removed", c.pending_remove.len().to_string()),
                                ("code", code.clone()),
                            ]
                        )
                    );
                }
            }
        }
        Command::Export {
            format,
            out: dir,
            labels,
            include_personal,
        } => {
            use shequ_app::exports::DataFormat;
            let format = match format.as_str() {
                "xlsx" => DataFormat::Xlsx,
                "jsonl" => DataFormat::Jsonl,
                _ => DataFormat::Csv,
            };
            let labels = labels.as_deref().and_then(Lang::parse);
            let personal = if include_personal {
                shequ_app::exports::PersonalData::Include
            } else {
                shequ_app::exports::PersonalData::Pseudonymise
            };
            let (files, count) = app.export_data(format, labels, &dir, personal, now)?;
            say!(
                out,
                "{}",
                msg(
                    lang,
                    "cli.data_exported",
                    &[
                        ("count", count.to_string()),
                        ("dir", dir.display().to_string())
                    ]
                )
            );
            for f in files {
                say!(out, "  {}", f.display());
            }
        }
        Command::Communities(CommunitiesCmd::Add {
            code,
            name,
            street,
            district,
            housing_form,
            households,
            target_sample,
        }) => {
            let form = HousingForm::parse(&housing_form).ok_or_else(|| {
                shequ_core::Error::new(shequ_core::ErrorCode::UnknownHousingForm)
                    .with("value", &housing_form)
            })?;
            let c = app.add_community(
                NewCommunity {
                    code,
                    name,
                    street,
                    district,
                    housing_form: form,
                    households,
                    target_sample,
                },
                now,
            )?;
            say!(
                out,
                "{}",
                msg(
                    lang,
                    "cli.community_added",
                    &[("code", c.code), ("name", c.name)]
                )
            );
        }
        Command::Communities(CommunitiesCmd::Import { file }) => {
            let made = app.import_communities_csv(&file, now)?;
            say!(
                out,
                "{}",
                msg(
                    lang,
                    "cli.communities_imported",
                    &[
                        ("count", made.len().to_string()),
                        ("file", file.display().to_string())
                    ]
                )
            );
        }
        Command::Communities(CommunitiesCmd::List { json }) => {
            let list = app.communities()?;
            let headers = [
                "col_code",
                "col_name",
                "col_street",
                "col_housing",
                "col_households",
                "col_progress",
            ];
            print_list(
                out,
                lang,
                json,
                &list,
                "cli.no_communities",
                &headers,
                |s| {
                    let c = &s.community;
                    let mut progress = format!("{}/{}", s.finalized, c.target_sample);
                    if s.finalized < shequ_core::community::MIN_RELIABLE_SAMPLE {
                        progress.push_str(&i18n::text(lang, "cli.low_reliability_mark"));
                    }
                    vec![
                        c.code.clone(),
                        c.name.clone(),
                        c.street.clone(),
                        c.housing_form.label(lang),
                        c.households.map(|h| h.to_string()).unwrap_or_default(),
                        progress,
                    ]
                },
            )?;
        }
        Command::Instruments(InstrumentsCmd::List { json }) => {
            let list = app.instruments()?;
            let headers = [
                "col_form_id",
                "col_version",
                "col_title",
                "col_questions",
                "col_languages",
            ];
            print_list(
                out,
                lang,
                json,
                &list,
                "cli.no_instruments",
                &headers,
                |i| {
                    vec![
                        i.form_id.clone(),
                        i.version.clone(),
                        i.title.clone(),
                        i.question_count.to_string(),
                        i.languages.join(", "),
                    ]
                },
            )?;
        }
        Command::Instruments(InstrumentsCmd::Import { file, dry_run }) => {
            let name = file.display().to_string();
            let bytes = shequ_core::fs::read_capped(&file, shequ_core::fs::MAX_WORKBOOK_BYTES)?;
            let p = app.preview_instrument(&bytes, &name, lang)?;
            let params = [
                ("title", p.title.clone()),
                ("form_id", p.form_id.clone()),
                ("version", p.version.clone()),
                ("count", p.question_count.to_string()),
                ("languages", p.languages.join(", ")),
            ];
            let key = if dry_run {
                "cli.instrument_preview"
            } else {
                match app.import_instrument(&bytes, &name, now)?.1 {
                    shequ_app::instruments::ImportStatus::Unchanged => "cli.instrument_unchanged",
                    _ => "cli.instrument_imported",
                }
            };
            say!(out, "{}", msg(lang, key, &params));
            if !p.warnings.is_empty() {
                say!(out, "{}", i18n::text(lang, "cli.warnings_heading"));
                for w in &p.warnings {
                    say!(out, "  - {w}");
                }
            }
        }
        Command::Instruments(InstrumentsCmd::Show { id, json }) => {
            let rec = app.instrument(&id)?;
            if json {
                say!(
                    out,
                    "{}",
                    serde_json::to_string_pretty(&rec).map_err(shequ_core::Error::internal)?
                );
                return Ok(());
            }
            let s = &rec.summary;
            say!(out, "{} ({} {})", s.title, s.form_id, s.version);
            say!(
                out,
                "{}",
                msg(
                    lang,
                    "cli.question_count",
                    &[
                        ("count", s.question_count.to_string()),
                        ("blocks", s.block_count.to_string())
                    ]
                )
            );
            fn walk(items: &[FormItem], lang: Lang, depth: usize, out: &mut String) {
                for item in items {
                    let pad = "  ".repeat(depth);
                    match item {
                        FormItem::Group {
                            name,
                            label,
                            children,
                            ..
                        } => {
                            say!(out, "{pad}[{name}] {}", label.pick(lang).unwrap_or(""));
                            walk(children, lang, depth + 1, out);
                        }
                        FormItem::Question(q) => {
                            let ty = match &q.list_name {
                                Some(l) => format!("{} {l}", q.qtype),
                                None => q.qtype.clone(),
                            };
                            say!(
                                out,
                                "{pad}{:<18} {:<24} {}",
                                q.name,
                                ty,
                                q.label.pick(lang).unwrap_or("")
                            );
                        }
                    }
                }
            }
            walk(&rec.definition.items, lang, 0, out);
        }
    }
    Ok(())
}

fn interview(app: &mut App, cmd: InterviewCmd, lang: Lang, out: &mut String) -> Result<()> {
    use shequ_app::fieldwork::StartInterview;
    let now = Utc::now;
    match cmd {
        InterviewCmd::Start {
            community,
            interviewer,
            respondent,
            consent,
            instrument,
        } => {
            let community_id = community_id(app, &community)?;
            let instrument_id = match instrument {
                Some(key) => Some(app.instrument(&key)?.summary.id),
                None => None,
            };
            let r = app.start_interview(
                StartInterview {
                    community_id,
                    instrument_id,
                    interviewer,
                    respondent: respondent.clone(),
                    consent,
                },
                now(),
            )?;
            say!(
                out,
                "{}",
                msg(
                    lang,
                    "cli.interview_started",
                    &[
                        ("community", community),
                        ("respondent", r.respondent.clone())
                    ]
                )
            );
            say!(out, "{}", r.instance_id);
        }
        InterviewCmd::Answer { id, key, value } => {
            let saved = app.answer(parse_id(&id)?, &key, &value, lang, now())?;
            say!(
                out,
                "{}",
                msg(
                    lang,
                    "cli.answer_saved",
                    &[("key", key.clone()), ("value", saved.value.clone())]
                )
            );
            if let Some(m) = saved.changed.get(&key).and_then(|s| s.message.clone()) {
                say!(
                    out,
                    "{}",
                    msg(lang, "cli.answer_problem", &[("message", m)])
                );
            }
        }
        InterviewCmd::Script { file } => {
            let name = file.display().to_string();
            let text = if name == "-" {
                std::io::read_to_string(std::io::stdin())
            } else {
                std::fs::read_to_string(&file)
            }
            .map_err(|e| {
                shequ_core::Error::new(shequ_core::ErrorCode::FileUnreadable)
                    .with("file", &name)
                    .with("detail", e)
            })?;
            let script: Script = serde_json::from_str(&text).map_err(|e| {
                shequ_core::Error::new(shequ_core::ErrorCode::FileUnreadable)
                    .with("file", &name)
                    .with("detail", e)
            })?;
            let id = match (script.id, script.start) {
                (Some(id), _) => parse_id(&id)?,
                (None, Some(s)) => {
                    let community_id = community_id(app, &s.community)?;
                    let r = app.start_interview(
                        StartInterview {
                            community_id,
                            instrument_id: None,
                            interviewer: s.interviewer,
                            respondent: s.respondent,
                            consent: s.consent,
                        },
                        now(),
                    )?;
                    ack(&format!("started {}", r.instance_id));
                    r.instance_id
                }
                (None, None) => {
                    return Err(
                        shequ_core::Error::new(shequ_core::ErrorCode::FileUnreadable)
                            .with("file", &name)
                            .with("detail", "the script needs \"id\" or \"start\""),
                    )
                }
            };
            for (key, value) in &script.answers {
                app.answer(id, key, value, lang, now())?;
                ack(&format!("saved {key} {value}"));
            }
            if script.finalize {
                let f = app.finalize(id, lang, now())?;
                ack(if f.finalized {
                    "finalized"
                } else {
                    "not finalized"
                });
            }
        }
        InterviewCmd::Finalize { id } => {
            let f = app.finalize(parse_id(&id)?, lang, now())?;
            if f.finalized {
                say!(out, "{}", i18n::text(lang, "cli.interview_finalized"));
            } else {
                say!(out, "{}", i18n::text(lang, "cli.interview_blocked"));
                for b in &f.blockers {
                    say!(
                        out,
                        "{}",
                        msg(
                            lang,
                            "cli.blocker_line",
                            &[
                                ("label", b.label.clone()),
                                ("key", b.key.clone()),
                                ("message", b.message.clone())
                            ]
                        )
                    );
                }
                return Err(
                    shequ_core::Error::new(shequ_core::ErrorCode::InterviewIncomplete)
                        .with("count", f.blockers.len()),
                );
            }
        }
        InterviewCmd::Edit { id } => {
            let r = app.edit_interview(parse_id(&id)?, now())?;
            say!(out, "{}", i18n::text(lang, "cli.interview_edit"));
            say!(out, "{}", r.instance_id);
        }
        InterviewCmd::Discard { id } => {
            app.discard_interview(parse_id(&id)?, now())?;
            say!(out, "{}", i18n::text(lang, "cli.interview_discarded"));
        }
        InterviewCmd::Restore { id } => {
            app.restore_interview(parse_id(&id)?, now())?;
            say!(out, "{}", i18n::text(lang, "cli.interview_restored"));
        }
        InterviewCmd::List { json } => {
            let rows = app.drafts(now())?;
            let headers = [
                "col_instance",
                "col_name",
                "col_respondent",
                "col_started",
                "col_answered",
            ];
            print_list(out, lang, json, &rows, "cli.no_drafts", &headers, |r| {
                vec![
                    r.response.instance_id.to_string(),
                    r.community_name.clone(),
                    r.response.respondent.clone(),
                    r.response.started_at.format("%Y-%m-%d %H:%M").to_string(),
                    r.answered.to_string(),
                ]
            })?;
        }
        InterviewCmd::Show { id } => {
            let id = parse_id(&id)?;
            let data = app.interview(id, lang, now())?;
            let history = app.history(id)?;
            let v = serde_json::json!({ "response": data.response, "answers": data.answers, "history": history });
            say!(
                out,
                "{}",
                serde_json::to_string_pretty(&v).map_err(shequ_core::Error::internal)?
            );
        }
    }
    Ok(())
}

fn bundle(app: &mut App, cmd: BundleCmd, lang: Lang, out: &mut String) -> Result<()> {
    match cmd {
        BundleCmd::Export {
            out: file,
            since_last,
            unencrypted,
        } => {
            // Written beside the target, synced, renamed, and only then recorded: a pulled USB
            // stick leaves no half bundle and no record, so the next --since-last is complete.
            let name = file.display().to_string();
            let (_, row) = app.export_bundle(&file, since_last, unencrypted, Utc::now())?;
            let mark = if row.encrypted {
                "cli.encrypted_mark"
            } else {
                "cli.unencrypted_mark"
            };
            say!(
                out,
                "{}",
                msg(
                    lang,
                    "cli.bundle_exported",
                    &[
                        ("file", name),
                        ("count", row.responses.to_string()),
                        ("encrypted", i18n::text(lang, mark))
                    ]
                )
            );
            if let Some(seq) = row.bundle_seq {
                say!(
                    out,
                    "{}",
                    msg(lang, "cli.bundle_number", &[("seq", seq.to_string())])
                );
            }
        }
        BundleCmd::Import {
            files,
            dry_run,
            accept_device,
        } => {
            // A plan writes nothing, acceptance included.
            for fp in accept_device.iter().filter(|_| !dry_run) {
                let fp = app.accept_device(fp)?;
                say!(
                    out,
                    "{}",
                    msg(lang, "cli.device_accepted", &[("fingerprint", fp)])
                );
            }
            let bar = indicatif::ProgressBar::new(files.len() as u64);
            bar.set_style(
                indicatif::ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len}")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            bar.set_message(i18n::text(lang, "cli.importing"));
            let mut failed = None;
            let mut devices = std::collections::BTreeSet::new();
            for f in &files {
                let name = f.display().to_string();
                let result = shequ_core::fs::read_capped(f, shequ_core::fs::MAX_BUNDLE_BYTES)
                    .and_then(|b| app.import_bundle(&b, &name, dry_run, Utc::now()));
                bar.inc(1);
                match result {
                    Ok(r) if r.already_imported => say!(
                        out,
                        "{}",
                        msg(lang, "cli.bundle_already", &[("file", name)])
                    ),
                    Ok(r) => {
                        devices.insert(r.device_id.clone());
                        let device = if r.unknown_device {
                            msg(
                                lang,
                                "cli.unknown_device_mark",
                                &[("device", r.device_id.clone())],
                            )
                        } else {
                            String::new()
                        };
                        let key = if dry_run {
                            "cli.bundle_planned"
                        } else {
                            "cli.bundle_imported"
                        };
                        say!(
                            out,
                            "{}",
                            msg(
                                lang,
                                key,
                                &[
                                    ("file", name),
                                    ("new", r.counts.new.to_string()),
                                    ("versions", r.counts.versions.to_string()),
                                    ("duplicates", r.counts.duplicates.to_string()),
                                    ("conflicts", r.counts.conflicts.to_string()),
                                    ("device", device),
                                ]
                            )
                        );
                        let c = r.counts;
                        if c.shared_new + c.shared_updated + c.shared_unchanged + c.shared_conflicts
                            > 0
                        {
                            let line = msg(
                                lang,
                                "exchange.shared_counts",
                                &[
                                    ("shared_new", c.shared_new.to_string()),
                                    ("shared_updated", c.shared_updated.to_string()),
                                    ("shared_unchanged", c.shared_unchanged.to_string()),
                                    ("shared_conflicts", c.shared_conflicts.to_string()),
                                ],
                            );
                            say!(out, "  {}", line.trim_start_matches(['；', ';', ' ']));
                        }
                    }
                    // Each bundle stands alone: report it and go on with the next one.
                    Err(e) if failed.is_none() => failed = Some(e),
                    Err(e) => eprintln!("{}", e.message(lang)),
                }
            }
            bar.finish_and_clear();
            // The devices just heard from with bundles still missing: say which.
            if !dry_run {
                for d in app.bundle_status()? {
                    if !d.missing.is_empty() && devices.contains(&d.device_id) {
                        say!(out, "{}", d.message(lang));
                    }
                }
            }
            if let Some(e) = failed {
                return Err(e);
            }
        }
        BundleCmd::Conflicts => {
            let rows = app.conflicts(true)?;
            let shared = app.shared_conflicts(true)?;
            for c in &shared {
                say!(
                    out,
                    "{}",
                    msg(
                        lang,
                        "cli.shared_conflict_line",
                        &[
                            ("id", c.id.clone()),
                            (
                                "kind",
                                i18n::text(lang, &format!("sharing.kinds.{}", c.kind))
                            ),
                            ("record", c.record_id.clone()),
                            ("device", c.device_id.clone()),
                            ("at", c.received_at.clone())
                        ]
                    )
                );
            }
            if rows.is_empty() && shared.is_empty() {
                say!(out, "{}", i18n::text(lang, "cli.no_conflicts"));
            }
            for c in rows {
                say!(
                    out,
                    "{}",
                    msg(
                        lang,
                        "cli.conflict_line",
                        &[
                            ("id", c.id),
                            ("instance", c.instance_id),
                            ("device", c.device_id),
                            ("at", c.received_at)
                        ]
                    )
                );
            }
        }
        BundleCmd::Resolve { id, take } => {
            if app.shared_conflicts(true)?.iter().any(|c| c.id == id) {
                app.resolve_shared_conflict(&id, take == "incoming", Utc::now())?;
            } else {
                app.resolve_conflict(&id, take == "incoming", Utc::now())?;
            }
            say!(out, "{}", i18n::text(lang, "cli.conflict_resolved"));
        }
        BundleCmd::Status { json } => {
            let devices = app.bundle_status()?;
            if json {
                say!(
                    out,
                    "{}",
                    serde_json::to_string_pretty(&devices).map_err(shequ_core::Error::internal)?
                );
            } else if devices.is_empty() {
                say!(out, "{}", i18n::text(lang, "exchange.status_none"));
            }
            for d in devices.iter().filter(|_| !json) {
                say!(out, "{}", d.message(lang));
            }
        }
        BundleCmd::Replaced => {
            let rows = app.replaced_versions()?;
            if rows.is_empty() {
                say!(out, "{}", i18n::text(lang, "cli.no_replaced"));
            }
            for c in rows {
                say!(
                    out,
                    "{}",
                    msg(
                        lang,
                        "cli.replaced_line",
                        &[("id", c.id), ("instance", c.instance_id)]
                    )
                );
            }
        }
        BundleCmd::Restore { id } => {
            let instance = app.restore_replaced(&id, Utc::now())?;
            say!(
                out,
                "{}",
                msg(lang, "cli.conflict_restored", &[("instance", instance)])
            );
        }
    }
    Ok(())
}

fn setting_name(lang: Lang, key: &str) -> String {
    i18n::lookup(lang, &format!("analysis.setting_names.{key}"))
        .map(str::to_string)
        .unwrap_or_else(|| key.to_string())
}

/// Applies one `KEY=VALUE` to the thresholds; an unknown key or a value that is not a number
/// is refused by name (ranges are checked when they are saved).
fn apply_threshold(s: &mut shequ_analysis::AnalysisSettings, kv: &str) -> Result<()> {
    use shequ_core::{Error, ErrorCode};
    let bad = || {
        Error::new(ErrorCode::InvalidValue)
            .with("field", "threshold")
            .with("value", kv)
            .with("why", "threshold_format")
    };
    let (k, v) = kv.split_once('=').ok_or_else(bad)?;
    let (k, v) = (k.trim(), v.trim());
    let num = || {
        v.parse::<f64>()
            .ok()
            .filter(|x| x.is_finite())
            .ok_or_else(bad)
    };
    let count = || v.parse::<u32>().map_err(|_| bad());
    match k {
        "min_responses" => s.min_responses = count()?,
        "top_needs" => s.top_needs = count()?,
        "need_min_base" => s.need_min_base = count()?,
        "top_problems" => s.top_problems = count()?,
        "cutoff_mode" => {
            s.cutoff_mode = match v {
                "fixed" => shequ_analysis::CutoffMode::Fixed,
                "median" => shequ_analysis::CutoffMode::Median,
                _ => return Err(bad()),
            }
        }
        "cutoff" => s.cutoff = num()?,
        "borderline_margin" => s.borderline_margin = num()?,
        "need_high" => s.need_high = num()?,
        "need_medium" => s.need_medium = num()?,
        "problem_index_min" => s.problem_index_min = num()?,
        "ageing" | "migrant" | "hardship" => {
            s.tag_thresholds.insert(k.to_string(), num()?);
        }
        _ => return Err(bad()),
    }
    Ok(())
}

fn f1(x: Option<f64>) -> String {
    x.map_or("—".into(), |v| format!("{v:.1}"))
}

/// `shequ profiles` (`full`) and `shequ classify`: JSON per community, or text.
fn profiles(
    app: &App,
    round: Option<&str>,
    json: bool,
    full: bool,
    lang: Lang,
    out: &mut String,
) -> Result<()> {
    use serde_json::{json, Map, Value};
    let view = app.analysis(round, None, lang)?;
    let d = &view.district;
    if json {
        let mut list = Vec::new();
        for (p, c) in d.communities.iter().zip(&d.classifications) {
            let mut o = Map::new();
            o.insert("code".into(), json!(p.code));
            o.insert("name".into(), json!(p.name));
            o.insert("round".into(), json!(d.round));
            o.insert("n".into(), json!(p.n));
            o.insert("sufficient".into(), json!(p.sufficient));
            let dims: Map<String, Value> = p
                .dimensions
                .iter()
                .map(|x| {
                    (
                        x.dimension.clone(),
                        json!({"score": x.score, "n": x.n, "sd": x.sd, "ci_low": x.ci_low,
                               "ci_high": x.ci_high, "lambda": x.lambda, "percentile": x.percentile,
                               "previous": x.previous}),
                    )
                })
                .collect();
            o.insert("dimensions".into(), Value::Object(dims));
            if full {
                let mut needs = Map::new();
                for n in &p.needs {
                    let item = needs
                        .entry(n.item.clone())
                        .or_insert_with(|| Value::Object(Map::new()));
                    if let Some(m) = item.as_object_mut() {
                        m.insert(n.choice.clone(), json!(n.degree));
                    }
                }
                o.insert("needs".into(), Value::Object(needs));
                let problems: Map<String, Value> = p
                    .problems
                    .iter()
                    .map(|x| {
                        (
                            x.choice.clone(),
                            json!({"index": x.index, "share": x.share, "severity": x.severity}),
                        )
                    })
                    .collect();
                o.insert("problems".into(), Value::Object(problems));
                let rates: Map<String, Value> = p
                    .tags
                    .iter()
                    .map(|t| (t.tag.clone(), json!(t.rate)))
                    .collect();
                o.insert("tag_rates".into(), Value::Object(rates));
            }
            o.insert("housing_form".into(), json!(p.housing_form.code()));
            o.insert("status".into(), json!(c.status));
            o.insert("social_type".into(), json!(c.social_type));
            o.insert("borderline".into(), json!(c.borderline));
            o.insert("unnamed".into(), json!(c.unnamed));
            o.insert(
                "tags".into(),
                json!(c.tags.iter().map(|t| &t.key).collect::<Vec<_>>()),
            );
            o.insert("label".into(), json!(view.labels.get(&p.code)));
            o.insert("explanation".into(), json!(view.explanations.get(&p.code)));
            o.insert("cluster".into(), json!(c.cluster));
            list.push(Value::Object(o));
        }
        let doc = if full {
            Value::Array(list)
        } else {
            json!({"round": d.round, "cutoffs": d.cutoffs, "communities": list, "kmeans": d.kmeans})
        };
        say!(
            out,
            "{}",
            serde_json::to_string_pretty(&doc).map_err(shequ_core::Error::internal)?
        );
        return Ok(());
    }
    for n in &view.notes {
        say!(out, "! {n}");
    }
    say!(
        out,
        "{}",
        msg(lang, "cli.analysis_round", &[("round", d.round.clone())])
    );
    let mut t = table(
        lang,
        &[
            "col_code",
            "col_name",
            "col_n",
            "col_interaction",
            "col_identity",
            "col_linkages",
            "col_label",
        ],
    );
    for (p, _c) in d.communities.iter().zip(&d.classifications) {
        let score = |dim: &str| {
            f1(p.dimensions
                .iter()
                .find(|x| x.dimension == dim)
                .and_then(|x| x.score))
        };
        t.add_row(vec![
            p.code.clone(),
            p.name.clone(),
            p.n.to_string(),
            score("interaction"),
            score("identity"),
            score("linkages"),
            view.labels.get(&p.code).cloned().unwrap_or_default(),
        ]);
    }
    say!(out, "{t}");
    if full {
        for p in d.communities.iter().filter(|p| p.sufficient) {
            say!(out, "\n{} {}", p.code, p.name);
            for x in &p.dimensions {
                say!(
                    out,
                    "  {}",
                    msg(
                        lang,
                        "cli.dimension_line",
                        &[
                            (
                                "dimension",
                                i18n::text(lang, &format!("analysis.dimensions.{}", x.dimension))
                            ),
                            ("score", f1(x.score)),
                            ("n", x.n.to_string()),
                            ("sd", f1(x.sd)),
                            ("low", f1(x.ci_low)),
                            ("high", f1(x.ci_high)),
                            ("lambda", x.lambda.map_or("—".into(), |l| format!("{l:.2}"))),
                        ]
                    )
                );
            }
            let mut needs: Vec<_> = p
                .needs
                .iter()
                .filter(|n| n.degree.unwrap_or(0.0) >= d.settings.need_medium)
                .collect();
            needs.sort_by(|a, b| b.degree.unwrap_or(0.0).total_cmp(&a.degree.unwrap_or(0.0)));
            for n in needs.iter().take(5) {
                say!(
                    out,
                    "  {}",
                    msg(
                        lang,
                        "cli.need_line",
                        &[
                            ("need", n.label.pick(lang).unwrap_or(&n.choice).to_string()),
                            ("degree", f1(n.degree)),
                        ]
                    )
                );
            }
        }
    } else {
        for (p, _) in d.communities.iter().zip(&d.classifications) {
            say!(
                out,
                "\n{} {}",
                p.code,
                view.labels.get(&p.code).cloned().unwrap_or_default()
            );
            for line in view.explanations.get(&p.code).into_iter().flatten() {
                say!(out, "  · {line}");
            }
        }
        if let Some(k) = &d.kmeans {
            say!(
                out,
                "\n{}",
                msg(
                    lang,
                    "cli.kmeans_line",
                    &[
                        ("k", k.k.to_string()),
                        ("silhouette", format!("{:.2}", k.silhouette))
                    ]
                )
            );
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let lang = ui_lang(cli.lang.as_deref());
    let mut out = String::new();
    let result = run(cli, lang, &mut out);
    // A closed pipe (`shequ … | head`) is not an error worth a panic.
    let _ = std::io::Write::write_all(&mut std::io::stdout().lock(), out.as_bytes());
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{}", e.message(lang));
            ExitCode::FAILURE
        }
    }
}

fn resources(app: &mut App, cmd: ResourcesCmd, lang: Lang, out: &mut String) -> Result<()> {
    let now = Utc::now();
    match cmd {
        ResourcesCmd::Template { out: file } => {
            shequ_core::fs::write_atomic(&file, &app.library_template(lang)?)?;
            say!(
                out,
                "{}",
                msg(
                    lang,
                    "cli.library_template",
                    &[("file", file.display().to_string())]
                )
            );
        }
        ResourcesCmd::Import { file, dry_run } => {
            let bytes = shequ_core::fs::read_capped(&file, shequ_core::fs::MAX_WORKBOOK_BYTES)?;
            let name = file.display().to_string();
            let r = app.import_libraries(&bytes, &name, dry_run, now)?;
            let key = if dry_run {
                "cli.library_checked"
            } else {
                "cli.library_imported"
            };
            say!(
                out,
                "{}",
                msg(
                    lang,
                    key,
                    &[
                        ("file", name),
                        ("resources", r.resources.to_string()),
                        ("experts", r.experts.to_string()),
                    ]
                )
            );
        }
        ResourcesCmd::List { experts, json } => {
            let vocabulary = app.vocabulary()?;
            let words = |keys: &[String]| {
                keys.iter()
                    .map(|k| {
                        vocabulary
                            .get(k)
                            .and_then(|t| t.label.pick(lang))
                            .unwrap_or(k)
                            .to_string()
                    })
                    .collect::<Vec<_>>()
                    .join(if lang == Lang::ZhCn { "、" } else { ", " })
            };
            if experts {
                let list = app.experts()?;
                print_list(
                    out,
                    lang,
                    json,
                    &list,
                    "cli.no_experts",
                    &[
                        "col_name",
                        "col_organisation",
                        "col_street",
                        "col_fields",
                        "col_id",
                    ],
                    |e| {
                        vec![
                            e.name.clone(),
                            e.organisation.clone(),
                            e.street.clone(),
                            words(&e.fields),
                            e.id.to_string(),
                        ]
                    },
                )?;
            } else {
                let list = app.resources()?;
                print_list(
                    out,
                    lang,
                    json,
                    &list,
                    "cli.no_resources",
                    &["col_kind", "col_name", "col_place", "col_tags", "col_id"],
                    |r| {
                        vec![
                            i18n::text(lang, &format!("libraries.kinds.{}", r.kind.tag())),
                            r.name.clone(),
                            r.community.clone().unwrap_or_else(|| r.street.clone()),
                            words(&r.tags),
                            r.id.to_string(),
                        ]
                    },
                )?;
            }
        }
        ResourcesCmd::Match {
            code,
            round,
            limit,
            json,
        } => {
            let today = app.today(now);
            let m = app.community_matches(&code, round.as_deref(), limit, today)?;
            if json {
                say!(
                    out,
                    "{}",
                    serde_json::to_string_pretty(&m).map_err(shequ_core::Error::internal)?
                );
                return Ok(());
            }
            let vocabulary = app.vocabulary()?;
            say!(
                out,
                "{}",
                msg(
                    lang,
                    "cli.match_heading",
                    &[
                        ("name", m.name.clone()),
                        ("code", m.code.clone()),
                        ("round", m.round.clone())
                    ]
                )
            );
            if m.demands.is_empty() {
                say!(out, "{}", i18n::text(lang, "cli.match_no_demands"));
            }
            for d in &m.demands {
                let label = vocabulary
                    .get(&d.demand.term)
                    .and_then(|t| t.label.pick(lang))
                    .unwrap_or(&d.demand.term)
                    .to_string();
                let key = if d.demand.problem {
                    "cli.match_problem"
                } else {
                    "cli.match_need"
                };
                say!(
                    out,
                    "{}",
                    msg(
                        lang,
                        key,
                        &[
                            ("label", label),
                            ("term", d.demand.term.clone()),
                            ("value", format!("{:.1}", d.demand.value)),
                        ]
                    )
                );
                if d.candidates.is_empty() {
                    say!(out, "  {}", i18n::text(lang, "cli.match_none"));
                    continue;
                }
                let mut t = table(
                    lang,
                    &["col_rank", "col_name", "col_score", "col_why", "col_id"],
                );
                for (i, c) in d.candidates.iter().enumerate() {
                    let load = match c.capacity {
                        Some(cap) => msg(
                            lang,
                            "cli.match_load_of",
                            &[
                                ("active", c.active.to_string()),
                                ("capacity", cap.to_string()),
                            ],
                        ),
                        None => msg(lang, "cli.match_load", &[("active", c.active.to_string())]),
                    };
                    let why = [
                        msg(
                            lang,
                            "cli.match_weight",
                            &[("weight", format!("{:.2}", c.weight))],
                        ),
                        i18n::text(lang, &format!("cli.proximity.{}", c.proximity.key())),
                        load,
                    ]
                    .join(" · ");
                    t.add_row(vec![
                        (i + 1).to_string(),
                        c.supplier.name().to_string(),
                        format!("{:.1}", c.score),
                        why,
                        c.supplier.id().to_string(),
                    ]);
                }
                say!(out, "{t}");
            }
        }
        ResourcesCmd::Volunteered { json } => {
            let list = app.volunteered()?;
            let vocabulary = app.vocabulary()?;
            let sep = if lang == Lang::ZhCn { "、" } else { ", " };
            print_list(
                out,
                lang,
                json,
                &list,
                "cli.no_volunteered",
                &["col_id", "col_code", "col_kind", "col_hours", "col_tags"],
                |o| {
                    vec![
                        o.instance_id.clone(),
                        o.community_code.clone(),
                        i18n::text(lang, &format!("libraries.kinds.{}", o.kind.tag())),
                        o.hours.map(|h| h.to_string()).unwrap_or_default(),
                        o.suggested_tags
                            .iter()
                            .map(|k| {
                                vocabulary
                                    .get(k)
                                    .and_then(|t| t.label.pick(lang))
                                    .unwrap_or(k)
                                    .to_string()
                            })
                            .collect::<Vec<_>>()
                            .join(sep),
                    ]
                },
            )?;
        }
        ResourcesCmd::Include { offer, tags } => {
            let r = app.include_volunteered(offer.trim(), &tags, now)?;
            say!(
                out,
                "{}",
                msg(
                    lang,
                    "cli.volunteered_included",
                    &[("name", r.name), ("id", r.id.to_string())]
                )
            );
        }
        ResourcesCmd::Confirm {
            code,
            term,
            supplier,
            status,
            outcome,
        } => {
            let id = supplier.trim().parse::<uuid::Uuid>().map_err(|_| {
                shequ_core::Error::new(shequ_core::ErrorCode::NotFound)
                    .with("what", "supplier")
                    .with("id", &supplier)
            })?;
            let row = app.set_match(&code, &term, id, &status, &outcome, now)?;
            say!(
                out,
                "{}",
                msg(
                    lang,
                    "cli.match_recorded",
                    &[
                        ("code", row.community_code),
                        ("term", row.term),
                        ("name", row.supplier_name),
                        (
                            "status",
                            i18n::text(lang, &format!("cli.match_status.{}", row.status))
                        ),
                    ]
                )
            );
        }
    }
    Ok(())
}

/// A date typed on the command line (YYYY-MM-DD), or why not.
fn cli_date(field: &str, s: &str) -> Result<chrono::NaiveDate> {
    shequ_app::clusters::typed_day(field, s)
}

fn print_cluster(
    out: &mut String,
    lang: Lang,
    v: &shequ_app::clusters::ClusterView,
    vocabulary: &shequ_analysis::resources::Vocabulary,
) {
    let word = |k: &str| {
        vocabulary
            .get(k)
            .and_then(|t| t.label.pick(lang))
            .unwrap_or(k)
            .to_string()
    };
    let sep = if lang == Lang::ZhCn { "、" } else { ", " };
    say!(
        out,
        "{}",
        msg(
            lang,
            "cli.cluster_heading",
            &[
                ("name", v.cluster.name.clone()),
                ("members", v.current.join(sep)),
                ("starts", v.cluster.starts.clone()),
                ("months", v.cluster.months.to_string()),
            ]
        )
    );
    if !v.shared.is_empty() {
        let shared: Vec<String> = v
            .shared
            .iter()
            .map(|s| format!("{}×{}", word(&s.term), s.members))
            .collect();
        say!(
            out,
            "{}",
            msg(lang, "cli.cluster_shared", &[("terms", shared.join(sep))])
        );
    }
    let mut t = table(
        lang,
        &["col_chair_round", "col_starts", "col_chair", "col_kept"],
    );
    for turn in &v.schedule {
        t.add_row(vec![
            turn.round.to_string(),
            turn.starts.clone(),
            turn.chair.clone(),
            i18n::text(lang, if turn.kept { "cli.kept" } else { "cli.planned" }),
        ]);
    }
    say!(out, "{t}");
    for m in &v.meetings {
        say!(
            out,
            "{}",
            msg(
                lang,
                "cli.meeting_line",
                &[
                    ("date", m.held_on.clone()),
                    ("round", m.round.to_string()),
                    ("chair", m.record.chair.clone()),
                    ("decisions", m.record.decisions.join(sep)),
                ]
            )
        );
        for f in &m.follow_ups {
            say!(
                out,
                "  {}",
                msg(
                    lang,
                    "cli.follow_up_line",
                    &[
                        ("action", f.action.clone()),
                        ("owner", f.owner.clone()),
                        ("due", f.due.clone().unwrap_or_else(|| "—".into())),
                        (
                            "status",
                            i18n::text(lang, &format!("cli.follow_up_status.{}", f.status))
                        ),
                        ("id", f.id.clone()),
                    ]
                )
            );
        }
    }
}

fn clusters(app: &mut App, cmd: ClustersCmd, lang: Lang, out: &mut String) -> Result<()> {
    let now = Utc::now();
    let vocabulary = app.vocabulary()?;
    match cmd {
        ClustersCmd::Neighbours { file } => {
            let bytes = shequ_core::fs::read_capped(&file, shequ_core::fs::MAX_CSV_BYTES)?;
            let n = app.import_neighbours(&bytes, &file.display().to_string(), now)?;
            say!(
                out,
                "{}",
                msg(lang, "cli.neighbours_set", &[("count", n.to_string())])
            );
        }
        ClustersCmd::Needs { name, year, json } => {
            let rows = app.project_needs(&name, year)?;
            if json {
                say!(
                    out,
                    "{}",
                    serde_json::to_string_pretty(&rows).map_err(shequ_core::Error::internal)?
                );
            } else if rows.is_empty() {
                say!(out, "{}", i18n::text(lang, "cli.no_project_needs"));
            }
            if !json {
                for r in rows {
                    say!(
                        out,
                        "{}",
                        msg(
                            lang,
                            "cli.project_need_line",
                            &[
                                ("id", r.id),
                                ("year", r.year.to_string()),
                                ("title", r.title),
                                (
                                    "status",
                                    i18n::text(lang, &format!("network.need_status.{}", r.status))
                                ),
                            ]
                        )
                    );
                }
            }
        }
        ClustersCmd::NeedAdd {
            name,
            title,
            tag,
            note,
            year,
        } => {
            let year = year.unwrap_or_else(|| chrono::Datelike::year(&app.today(now)));
            let r = app.add_project_need(
                &name,
                &shequ_app::clusters::NewProjectNeed {
                    year,
                    tag,
                    title,
                    note,
                },
                now,
            )?;
            say!(
                out,
                "{}",
                msg(
                    lang,
                    "cli.project_need_added",
                    &[
                        ("id", r.id),
                        ("title", r.title),
                        ("year", r.year.to_string())
                    ]
                )
            );
        }
        ClustersCmd::NeedSet { id, status } => {
            app.set_project_need(&id, &status, now)?;
            say!(out, "{}", i18n::text(lang, "cli.project_need_set"));
        }
        ClustersCmd::Propose {
            by_housing,
            by_street,
            by_neighbours,
            json,
        } => {
            let p = app.propose_clusters(
                shequ_analysis::clusters::Grouping {
                    by_housing,
                    by_street,
                    by_neighbours,
                },
                now,
            )?;
            if json {
                say!(
                    out,
                    "{}",
                    serde_json::to_string_pretty(&p).map_err(shequ_core::Error::internal)?
                );
                return Ok(());
            }
            let sep = if lang == Lang::ZhCn { "、" } else { ", " };
            if p.proposals.is_empty() {
                say!(out, "{}", i18n::text(lang, "cli.no_proposals"));
            }
            for (i, g) in p.proposals.iter().enumerate() {
                let t = serde_json::to_value(g.social_type).map_err(shequ_core::Error::internal)?;
                let shared: Vec<String> = g
                    .shared
                    .iter()
                    .map(|s| {
                        vocabulary
                            .get(&s.term)
                            .and_then(|t| t.label.pick(lang))
                            .unwrap_or(&s.term)
                            .to_string()
                    })
                    .collect();
                say!(
                    out,
                    "{}",
                    msg(
                        lang,
                        "cli.proposal_line",
                        &[
                            ("n", (i + 1).to_string()),
                            (
                                "type",
                                i18n::text(
                                    lang,
                                    &format!("analysis.types.{}", t.as_str().unwrap_or_default())
                                )
                            ),
                            ("members", g.members.join(sep)),
                            ("shared", shared.join(sep)),
                        ]
                    )
                );
            }
            if !p.alone.is_empty() {
                say!(
                    out,
                    "{}",
                    msg(lang, "cli.proposal_alone", &[("codes", p.alone.join(sep))])
                );
            }
        }
        ClustersCmd::Confirm {
            name,
            starts,
            months,
            codes,
        } => {
            let starts = cli_date("starts", &starts)?;
            let v = app.create_cluster(&name, &codes, starts, months, now)?;
            print_cluster(out, lang, &v, &vocabulary);
        }
        ClustersCmd::Show { name, json } => {
            let list = match name {
                Some(n) => vec![app.cluster(&n, now)?],
                None => app.clusters(now)?,
            };
            if json {
                say!(
                    out,
                    "{}",
                    serde_json::to_string_pretty(&list).map_err(shequ_core::Error::internal)?
                );
            } else if list.is_empty() {
                say!(out, "{}", i18n::text(lang, "cli.no_clusters"));
            } else {
                for v in &list {
                    print_cluster(out, lang, v, &vocabulary);
                }
            }
        }
        ClustersCmd::Rotate { name, rounds } => {
            let v = app.rotate_cluster(&name, rounds, now)?;
            print_cluster(out, lang, &v, &vocabulary);
        }
        ClustersCmd::Join { name, code, on } => {
            let v = app.set_cluster_member(&name, &code, cli_date("on", &on)?, true, now)?;
            print_cluster(out, lang, &v, &vocabulary);
        }
        ClustersCmd::Leave { name, code, on } => {
            let v = app.set_cluster_member(&name, &code, cli_date("on", &on)?, false, now)?;
            print_cluster(out, lang, &v, &vocabulary);
        }
    }
    Ok(())
}

fn meetings(app: &mut App, cmd: MeetingsCmd, lang: Lang, out: &mut String) -> Result<()> {
    let now = Utc::now();
    match cmd {
        MeetingsCmd::Add {
            cluster,
            date,
            attendees,
            minutes,
            decisions,
            follow_ups,
        } => {
            let mut parsed = Vec::new();
            for f in &follow_ups {
                let mut parts = f.split('|').map(str::trim);
                let action = parts.next().unwrap_or_default().to_string();
                let owner = parts.next().unwrap_or_default().to_string();
                let due = parts.next().map(str::to_string);
                parsed.push(shequ_app::clusters::NewFollowUp { action, owner, due });
            }
            let meeting = shequ_app::clusters::NewMeeting {
                held_on: date,
                attendees,
                minutes,
                decisions,
                follow_ups: parsed,
            };
            let (v, id) = app.add_meeting(&cluster, &meeting, now)?;
            let m = v.meetings.iter().find(|m| m.id == id);
            if let Some(m) = m {
                say!(
                    out,
                    "{}",
                    msg(
                        lang,
                        "cli.meeting_recorded",
                        &[
                            ("cluster", v.cluster.name.clone()),
                            ("date", m.held_on.clone()),
                            ("round", m.round.to_string()),
                            ("chair", m.record.chair.clone()),
                            ("follow_ups", m.follow_ups.len().to_string()),
                        ]
                    )
                );
                for f in &m.follow_ups {
                    say!(out, "  {} {}", f.id, f.action);
                }
            }
        }
        MeetingsCmd::FollowUp { id, status } => {
            let f = app.set_follow_up(id.trim(), status.trim(), now)?;
            say!(
                out,
                "{}",
                msg(
                    lang,
                    "cli.follow_up_set",
                    &[
                        ("action", f.action),
                        (
                            "status",
                            i18n::text(lang, &format!("cli.follow_up_status.{}", f.status))
                        ),
                    ]
                )
            );
        }
    }
    Ok(())
}

fn cases(app: &mut App, cmd: CasesCmd, lang: Lang, out: &mut String) -> Result<()> {
    match cmd {
        CasesCmd::Add {
            title,
            summary,
            cluster,
            community,
            tags,
            checklist_items,
        } => {
            let c = app.add_case(
                &shequ_app::clusters::NewCase {
                    title,
                    summary,
                    cluster,
                    community,
                    tags,
                    checklist_items,
                },
                Utc::now(),
            )?;
            say!(
                out,
                "{}",
                msg(lang, "cli.case_added", &[("title", c.title), ("id", c.id)])
            );
        }
        CasesCmd::Search { text, tag, json } => {
            let list = app.cases(text.as_deref(), tag.as_deref())?;
            let vocabulary = app.vocabulary()?;
            let sep = if lang == Lang::ZhCn { "、" } else { ", " };
            print_list(
                out,
                lang,
                json,
                &list,
                "cli.no_cases",
                &["col_title", "col_from", "col_tags", "col_items"],
                |c| {
                    vec![
                        c.title.clone(),
                        c.cluster
                            .clone()
                            .or_else(|| c.community.clone())
                            .unwrap_or_default(),
                        c.record
                            .tags
                            .iter()
                            .map(|k| {
                                vocabulary
                                    .get(k)
                                    .and_then(|t| t.label.pick(lang))
                                    .unwrap_or(k)
                                    .to_string()
                            })
                            .collect::<Vec<_>>()
                            .join(sep),
                        c.record.checklist_items.join(sep),
                    ]
                },
            )?;
        }
    }
    Ok(())
}
