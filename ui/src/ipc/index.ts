// The one place that talks to the Rust side. Components call `backend`, never Tauri.
// Tests swap in a fake with `setBackend`.
import { invoke } from '@tauri-apps/api/core'
import type { HomeData } from './generated/HomeData'
import type { DemoReport } from './generated/DemoReport'
import type { Lang } from './generated/Lang'
import type { IpcError } from './generated/IpcError'
import type { Community } from './generated/Community'
import type { NewCommunity } from './generated/NewCommunity'
import type { InstrumentPreview } from './generated/InstrumentPreview'
import type { InstrumentSummary } from './generated/InstrumentSummary'
import type { ImportStatus } from './generated/ImportStatus'

export type { HomeData, DemoReport, Lang, IpcError, Community, NewCommunity, InstrumentPreview, ImportStatus }

export interface Backend {
  home(): Promise<HomeData>
  loadDemo(): Promise<DemoReport>
  addCommunity(input: NewCommunity): Promise<Community>
  /** What importing this workbook would do; writes nothing. */
  previewInstrument(name: string, bytes: Uint8Array): Promise<InstrumentPreview>
  importInstrument(name: string, bytes: Uint8Array): Promise<[InstrumentSummary, ImportStatus]>
  uiLang(): Promise<Lang>
  setUiLang(lang: Lang): Promise<void>
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

export const tauriBackend: Backend = {
  home: () => call('home'),
  loadDemo: () => call('load_demo'),
  addCommunity: (input) => call('add_community', { input }),
  previewInstrument: (name, bytes) => call('preview_instrument', { name, bytes: Array.from(bytes) }),
  importInstrument: (name, bytes) => call('import_instrument', { name, bytes: Array.from(bytes) }),
  uiLang: () => call('ui_lang'),
  setUiLang: (lang) => call('set_ui_lang', { lang }),
}

export let backend: Backend = tauriBackend

export function setBackend(b: Backend) {
  backend = b
}
