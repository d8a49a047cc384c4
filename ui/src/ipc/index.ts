// The one place that talks to the Rust side. Components call `backend`, never Tauri.
// Tests swap in a fake with `setBackend`.
import { invoke } from '@tauri-apps/api/core'
import type { HomeData } from './generated/HomeData'
import type { DemoReport } from './generated/DemoReport'
import type { Lang } from './generated/Lang'
import type { IpcError } from './generated/IpcError'
import type { Community } from './generated/Community'
import type { NewCommunity } from './generated/NewCommunity'

export type { HomeData, DemoReport, Lang, IpcError, Community, NewCommunity }

export interface Backend {
  home(): Promise<HomeData>
  loadDemo(): Promise<DemoReport>
  addCommunity(input: NewCommunity): Promise<Community>
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
  uiLang: () => call('ui_lang'),
  setUiLang: (lang) => call('set_ui_lang', { lang }),
}

export let backend: Backend = tauriBackend

export function setBackend(b: Backend) {
  backend = b
}
