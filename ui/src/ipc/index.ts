// The one place that talks to the Rust side. Components call `backend`, never Tauri.
// Tests swap in a fake with `setBackend`.
import { invoke } from '@tauri-apps/api/core'
import { listen } from '@tauri-apps/api/event'
import type { HomeData } from './generated/HomeData'
import type { DemoReport } from './generated/DemoReport'
import type { Lang } from './generated/Lang'
import type { IpcError } from './generated/IpcError'
import type { Community } from './generated/Community'
import type { NewCommunity } from './generated/NewCommunity'
import type { InstrumentPreview } from './generated/InstrumentPreview'
import type { InstrumentSummary } from './generated/InstrumentSummary'
import type { ImportStatus } from './generated/ImportStatus'
import type { StartInterview } from './generated/StartInterview'
import type { Response } from './generated/Response'
import type { InterviewData } from './generated/InterviewData'
import type { SaveOutcome } from './generated/SaveOutcome'
import type { FormState } from './generated/FormState'
import type { RepeatOutcome } from './generated/RepeatOutcome'
import type { FinalizeOutcome } from './generated/FinalizeOutcome'
import type { ResponseRow } from './generated/ResponseRow'
import type { ResponseHistory } from './generated/ResponseHistory'
import type { KeyStatus } from './generated/KeyStatus'
import type { ExportRow } from './generated/ExportRow'
import type { ImportReport } from './generated/ImportReport'
import type { ConflictRow } from './generated/ConflictRow'
import type { DataFormat } from './generated/DataFormat'
import type { DeviceBundles } from './generated/DeviceBundles'
import type { Role } from './generated/Role'
import type { RoundRow } from './generated/RoundRow'
import type { AnalysisView } from './generated/AnalysisView'
import type { AnalysisSettings } from './generated/AnalysisSettings'
import type { Composite } from './generated/Composite'
import type { EditInput } from './generated/EditInput'
import type { LockState } from './generated/LockState'
import type { LockKind } from './generated/LockKind'
import type { Libraries } from './generated/Libraries'
import type { LibraryImport } from './generated/LibraryImport'
import type { CommunityMatches } from './generated/CommunityMatches'
import type { MatchRow } from './generated/MatchRow'
import type { ClusterProposals } from './generated/ClusterProposals'
import type { ClusterView } from './generated/ClusterView'
import type { NewMeeting } from './generated/NewMeeting'
import type { FollowUpRow } from './generated/FollowUpRow'
import type { Progress } from './generated/Progress'
import type { Stage } from './generated/Stage'
import type { LibraryForm } from './generated/LibraryForm'
import type { NewProjectNeed } from './generated/NewProjectNeed'
import type { ProjectNeedRow } from './generated/ProjectNeedRow'
import type { Case } from './generated/Case'
import type { NewCase } from './generated/NewCase'
import type { VolunteeredOffer } from './generated/VolunteeredOffer'
import type { SharedConflictRow } from './generated/SharedConflictRow'
import type { FirstRun } from './generated/FirstRun'

export type {
  HomeData, DemoReport, Lang, IpcError, Community, NewCommunity, InstrumentPreview, ImportStatus, StartInterview,
  Response, InterviewData, SaveOutcome, FormState, RepeatOutcome, FinalizeOutcome, ResponseRow, ResponseHistory,
  KeyStatus, ExportRow, ImportReport, ConflictRow, DataFormat, DeviceBundles, Role, RoundRow, AnalysisView,
  AnalysisSettings, Composite, EditInput, LockState, LockKind, Progress, Stage, Libraries, LibraryImport,
  CommunityMatches, MatchRow, ClusterProposals, ClusterView, NewMeeting, FollowUpRow, LibraryForm, NewProjectNeed,
  ProjectNeedRow, Case, NewCase, VolunteeredOffer, SharedConflictRow, FirstRun,
}

/** Drafts (newest first), latest finalized versions, drafts discarded in the last 30 days. */
export type ResponseLists = [ResponseRow[], ResponseRow[], ResponseRow[]]

export interface Backend {
  /** Before anything is open: a new folder, a plain one to encrypt, or a locked one. */
  lockState(): Promise<LockState>
  /** Opens the data; `confirm` repeats a passphrase being chosen. Rejects with
   * `wrong_passphrase`, `unlock_throttled`, `passphrase_too_short` or `passphrase_mismatch`. */
  unlock(passphrase: string, confirm: string | null): Promise<void>
  /** Closes the data: every other command answers `store_locked` until the next unlock. */
  lock(): Promise<void>
  changePassphrase(current: string, next: string, confirm: string): Promise<void>
  /** At the centre: accepts the device with this key fingerprint; resolves to it, normalised. */
  acceptDevice(fingerprint: string): Promise<string>
  idleLockMinutes(): Promise<number>
  setIdleLockMinutes(minutes: number): Promise<void>
  home(): Promise<HomeData>
  loadDemo(): Promise<DemoReport>
  addCommunity(input: NewCommunity): Promise<Community>
  /** What importing this workbook would do; writes nothing. */
  previewInstrument(name: string, bytes: Uint8Array): Promise<InstrumentPreview>
  importInstrument(name: string, bytes: Uint8Array): Promise<[InstrumentSummary, ImportStatus]>
  communitiesRecent(): Promise<Community[]>
  lastInterviewer(): Promise<string>
  startInterview(input: StartInterview): Promise<Response>
  interview(id: string): Promise<InterviewData>
  /** Resolves only after the answer is durably saved. */
  answer(id: string, key: string, value: string): Promise<SaveOutcome>
  setRepeatCount(id: string, key: string, count: number): Promise<RepeatOutcome>
  finalize(id: string): Promise<FinalizeOutcome>
  editInterview(id: string): Promise<Response>
  discardInterview(id: string): Promise<void>
  restoreInterview(id: string): Promise<void>
  responseLists(): Promise<ResponseLists>
  history(id: string): Promise<ResponseHistory>
  /** The system's folder dialog, starting at `start`; resolves to the folder picked (the only
   * kind, besides the default export folder, files are written into) or null if cancelled. */
  chooseFolder(start: string | null): Promise<string | null>
  /** Keys, the last export, and the default export folder. */
  exchangeStatus(): Promise<[KeyStatus, ExportRow | null, string]>
  exportBundle(dir: string, sinceLast: boolean, allowUnencrypted: boolean): Promise<[string, ExportRow]>
  importBundle(name: string, bytes: Uint8Array, dryRun: boolean): Promise<ImportReport>
  conflicts(): Promise<ConflictRow[]>
  resolveConflict(id: string, takeIncoming: boolean): Promise<void>
  /** Personal data is pseudonymised unless `includePersonal`; the backend audits the choice. */
  exportData(format: DataFormat, labels: Lang | null, dir: string, includePersonal: boolean): Promise<[string[], number]>
  uiLang(): Promise<Lang>
  setUiLang(lang: Lang): Promise<void>
  /** At the centre: the bundles received from each laptop and the numbers missing. */
  bundleStatus(): Promise<DeviceBundles[]>
  /** Conflicts resolved by taking the incoming version whose replaced version can come back. */
  replacedVersions(): Promise<ConflictRow[]>
  /** Puts the replaced version back; resolves to the interview's instance id. */
  restoreReplaced(id: string): Promise<string>
  /** A field laptop or the district centre; each has its own screens. */
  role(): Promise<Role>
  setRole(role: Role): Promise<void>
  rounds(): Promise<RoundRow[]>
  /** Starts (or switches to) the round new responses belong to. */
  setCurrentRound(name: string): Promise<void>
  /** The district's analysis of a round (`null`: the current one), in the user's language. */
  analysis(round: string | null): Promise<AnalysisView>
  analysisSettings(): Promise<AnalysisSettings>
  /** Rejects with `setting_out_of_range` (message ready to show) for a bad value. */
  setAnalysisSettings(settings: AnalysisSettings): Promise<void>
  checklist(code: string): Promise<Composite>
  acceptChecklist(code: string): Promise<Composite>
  editChecklist(code: string, edit: EditInput): Promise<Composite>
  /** Writes the community's Word report into `dir`; resolves to its path. */
  communityReport(code: string, round: string | null, dir: string): Promise<string>
  /** Writes the classification table (.xlsx) into `dir`; resolves to its path. */
  classificationReport(round: string | null, dir: string): Promise<string>
  /** The resource and expert libraries, and the vocabulary of their tags. */
  libraries(): Promise<Libraries>
  /** Writes the library template into `dir`; resolves to its path. */
  libraryTemplate(dir: string): Promise<string>
  /** Imports a filled template (`dryRun`: only checks and counts). */
  importLibraries(name: string, bytes: Uint8Array, dryRun: boolean): Promise<LibraryImport>
  communityMatches(code: string): Promise<CommunityMatches>
  setMatch(code: string, term: string, supplier: string, status: string, outcome: string): Promise<MatchRow>
  proposeClusters(byHousing: boolean, byStreet: boolean, byNeighbours: boolean): Promise<ClusterProposals>
  createCluster(name: string, members: string[], starts: string, months: number): Promise<ClusterView>
  clusters(): Promise<ClusterView[]>
  addMeeting(name: string, meeting: NewMeeting): Promise<ClusterView>
  setFollowUp(id: string, status: string): Promise<FollowUpRow>
  /** Writes the project matching meeting's agenda (Word and Excel) into `dir`. */
  clusterAgenda(name: string, dir: string): Promise<string[]>
  /** Adds a library entry (`form.id` null) or changes one, checked as an imported row. */
  saveLibraryEntry(form: LibraryForm): Promise<Libraries>
  /** Replaces the neighbour list from a CSV of pairs; resolves to the number of pairs. */
  importNeighbours(name: string, bytes: Uint8Array): Promise<number>
  projectNeeds(name: string, year: number | null): Promise<ProjectNeedRow[]>
  addProjectNeed(name: string, need: NewProjectNeed): Promise<ProjectNeedRow>
  setProjectNeed(id: string, status: string): Promise<void>
  cases(text: string | null, tag: string | null): Promise<Case[]>
  addCase(c: NewCase): Promise<Case>
  /** What residents volunteered in block I, with the interview each came from. */
  volunteered(): Promise<VolunteeredOffer[]>
  includeVolunteered(offer: string, tags: string[]): Promise<VolunteeredOffer[]>
  /** Cluster and library records changed on both sides, kept for the analyst. */
  sharedConflicts(): Promise<SharedConflictRow[]>
  resolveSharedConflict(id: string, takeIncoming: boolean): Promise<void>
  /** Whether this data folder still has to say if it is a laptop or the centre. */
  firstRun(): Promise<FirstRun>
  /** First run, a field laptop, with the centre's key when given (a line or a key file's text). */
  chooseLaptop(centreKey: string | null): Promise<void>
  /** First run, the centre: makes its key; resolves to the public key for the laptops. */
  chooseCentre(): Promise<string>
  /** Opens the data folder in the system's file manager. */
  openDataDir(): Promise<void>
  /** Reports a screen interactive (the start-up benchmark listens; otherwise nothing). */
  uiReady(screen: 'unlock' | 'home'): Promise<void>
  /** Progress reports of long work (imports, exports, reports, the demo) as the backend
   * makes them; resolves to a function that stops listening. */
  onProgress(handler: (p: Progress) => void): Promise<() => void>
}

/** Every rejection becomes an IpcError, so the UI branches on `code`, never on text. */
export function toIpcError(e: unknown): IpcError {
  if (e && typeof e === 'object' && 'code' in e && 'message' in e) return e as IpcError
  return { code: 'internal', message: String(e), params: {} }
}

async function call<T>(cmd: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(cmd, args)
  } catch (e) {
    throw toIpcError(e)
  }
}

/** A file's bytes as the raw request body (not a JSON array of numbers, which costs several
 * bytes per byte); its name, percent-encoded, in a header. */
async function upload<T>(cmd: string, name: string, bytes: Uint8Array, dryRun = false): Promise<T> {
  try {
    return await invoke<T>(cmd, bytes, {
      headers: { 'x-shequ-name': encodeURIComponent(name), 'x-shequ-dry-run': dryRun ? '1' : '0' },
    })
  } catch (e) {
    throw toIpcError(e)
  }
}

export const tauriBackend: Backend = {
  lockState: () => call('lock_state'),
  unlock: (passphrase, confirm) => call('unlock', { passphrase, confirm }),
  lock: () => call('lock'),
  changePassphrase: (current, next, confirm) => call('change_passphrase', { current, new: next, confirm }),
  acceptDevice: (fingerprint) => call('accept_device', { fingerprint }),
  idleLockMinutes: () => call('idle_lock_minutes'),
  setIdleLockMinutes: (minutes) => call('set_idle_lock_minutes', { minutes }),
  home: () => call('home'),
  loadDemo: () => call('load_demo'),
  addCommunity: (input) => call('add_community', { input }),
  previewInstrument: (name, bytes) => upload('preview_instrument', name, bytes),
  importInstrument: (name, bytes) => upload('import_instrument', name, bytes),
  communitiesRecent: () => call('communities_recent'),
  lastInterviewer: () => call('last_interviewer'),
  startInterview: (input) => call('start_interview', { input }),
  interview: (id) => call('interview', { id }),
  answer: (id, key, value) => call('answer', { id, key, value }),
  setRepeatCount: (id, key, count) => call('set_repeat_count', { id, key, count }),
  finalize: (id) => call('finalize', { id }),
  editInterview: (id) => call('edit_interview', { id }),
  discardInterview: (id) => call('discard_interview', { id }),
  restoreInterview: (id) => call('restore_interview', { id }),
  responseLists: () => call('response_lists'),
  history: (id) => call('history', { id }),
  chooseFolder: (start) => call('choose_folder', { start }),
  exchangeStatus: () => call('exchange_status'),
  exportBundle: (dir, sinceLast, allowUnencrypted) => call('export_bundle', { dir, sinceLast, allowUnencrypted }),
  importBundle: (name, bytes, dryRun) => upload('import_bundle', name, bytes, dryRun),
  conflicts: () => call('conflicts'),
  resolveConflict: (id, takeIncoming) => call('resolve_conflict', { id, takeIncoming }),
  exportData: (format, labels, dir, includePersonal) => call('export_data', { format, labels, dir, includePersonal }),
  uiLang: () => call('ui_lang'),
  setUiLang: (lang) => call('set_ui_lang', { lang }),
  bundleStatus: () => call('bundle_status'),
  replacedVersions: () => call('replaced_versions'),
  restoreReplaced: (id) => call('restore_replaced', { id }),
  role: () => call('role'),
  setRole: (role) => call('set_role', { role }),
  rounds: () => call('rounds'),
  setCurrentRound: (name) => call('set_current_round', { name }),
  analysis: (round) => call('analysis', { round }),
  analysisSettings: () => call('analysis_settings'),
  setAnalysisSettings: (settings) => call('set_analysis_settings', { settings }),
  checklist: (code) => call('checklist', { code }),
  acceptChecklist: (code) => call('accept_checklist', { code }),
  editChecklist: (code, edit) => call('edit_checklist', { code, edit }),
  communityReport: (code, round, dir) => call('community_report', { code, round, dir }),
  classificationReport: (round, dir) => call('classification_report', { round, dir }),
  libraries: () => call('libraries'),
  libraryTemplate: (dir) => call('library_template', { dir }),
  importLibraries: (name, bytes, dryRun) => upload('import_libraries', name, bytes, dryRun),
  communityMatches: (code) => call('community_matches', { code }),
  setMatch: (code, term, supplier, status, outcome) => call('set_match', { code, term, supplier, status, outcome }),
  proposeClusters: (byHousing, byStreet, byNeighbours) =>
    call('propose_clusters', { byHousing, byStreet, byNeighbours }),
  createCluster: (name, members, starts, months) => call('create_cluster', { name, members, starts, months }),
  clusters: () => call('clusters'),
  addMeeting: (name, meeting) => call('add_meeting', { name, meeting }),
  setFollowUp: (id, status) => call('set_follow_up', { id, status }),
  clusterAgenda: (name, dir) => call('cluster_agenda', { name, dir }),
  saveLibraryEntry: (form) => call('save_library_entry', { form }),
  importNeighbours: (name, bytes) => upload('import_neighbours', name, bytes),
  projectNeeds: (name, year) => call('project_needs', { name, year }),
  addProjectNeed: (name, need) => call('add_project_need', { name, need }),
  setProjectNeed: (id, status) => call('set_project_need', { id, status }),
  cases: (text, tag) => call('cases', { text, tag }),
  addCase: (c) => call('add_case', { case: c }),
  volunteered: () => call('volunteered'),
  includeVolunteered: (offer, tags) => call('include_volunteered', { offer, tags }),
  sharedConflicts: () => call('shared_conflicts'),
  resolveSharedConflict: (id, takeIncoming) => call('resolve_shared_conflict', { id, takeIncoming }),
  firstRun: () => call('first_run'),
  chooseLaptop: (centreKey) => call('choose_laptop', { centreKey }),
  chooseCentre: () => call('choose_centre'),
  openDataDir: () => call('open_data_dir'),
  uiReady: (screen) => call('ui_ready', { screen }),
  onProgress: (handler) => listen<Progress>('progress', (e) => handler(e.payload)),
}

export let backend: Backend = tauriBackend

export function setBackend(b: Backend) {
  backend = b
}
