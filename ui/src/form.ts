// Pure helpers for showing a form: pages, instance keys, text in the UI language.
import type { FormItem } from './ipc/generated/FormItem'
import type { LocalizedText } from './ipc/generated/LocalizedText'
import type { Question } from './ipc/generated/Question'
import type { FormState } from './ipc/generated/FormState'

/** Types a worker never sees in an interview. */
const HIDDEN = new Set(['start', 'end', 'today', 'deviceid', 'username', 'calculate', 'hidden'])

export function pick(text: LocalizedText | undefined, locale: string): string {
  if (!text) return ''
  const code = locale === 'zh-CN' ? 'zh' : 'en'
  const entries = Object.entries(text)
  const own = entries.find(([k, v]) => v && k.toLowerCase().endsWith(`(${code})`))
  return (own ?? entries.find(([k, v]) => v && k === 'default') ?? entries.find(([, v]) => v))?.[1] ?? ''
}

/** ${name} in a label becomes that question's current value (same repeat instance first). */
export function fillText(text: string, state: FormState, prefix: string): string {
  return text.replace(/\$\{([^}]+)\}/g, (_, name: string) => {
    const n = name.trim()
    return state.items[prefix + n]?.value ?? state.items[n]?.value ?? ''
  })
}

export type Entry =
  | { kind: 'heading'; key: string; label: LocalizedText; depth: number; prefix: string; index?: number }
  | { kind: 'question'; key: string; q: Question; prefix: string }
  | { kind: 'repeat'; key: string; name: string; label: LocalizedText; count: number; fixed: boolean; prefix: string }

export interface Page {
  name: string
  label: LocalizedText
  items: FormItem[]
}

export function shown(q: Question): boolean {
  return q.supported && !HIDDEN.has(q.qtype)
}

/** One page per top-level group; a top-level question outside groups is a page of its own.
 * A top-level repeat is a page holding the repeat itself, so its instances are expanded. */
export function pages(items: FormItem[]): Page[] {
  const out: Page[] = []
  for (const item of items) {
    if (item.kind === 'group') out.push({ name: item.name, label: item.label, items: item.repeat ? [item] : item.children })
    else if (shown(item)) out.push({ name: item.name, label: item.label, items: [item] })
  }
  return out
}

/** The last part of an item's instance keys, as Rust's `shequ_forms::state` makes it: its
 * `key_path` when its name is used more than once in the form (`hh_a/age`), else its name. */
export function keyName(item: FormItem): string {
  return item.key_path || item.name
}

/** The page's entries in order, repeats expanded to their instances. */
export function entries(items: FormItem[], state: FormState, prefix = '', depth = 0): Entry[] {
  const out: Entry[] = []
  for (const item of items) {
    if (item.kind === 'question') {
      if (shown(item)) out.push({ kind: 'question', key: prefix + keyName(item), q: item, prefix })
      continue
    }
    const groupKey = prefix + keyName(item)
    if (item.repeat) {
      const count = state.repeat_counts[groupKey] ?? 0
      out.push({ kind: 'repeat', key: groupKey, name: item.name, label: item.label, count, fixed: item.repeat_count !== null, prefix })
      for (let i = 1; i <= count; i++) {
        const p = `${groupKey}[${i}]/`
        out.push({ kind: 'heading', key: `${groupKey}[${i}]`, label: item.label, depth: depth + 1, prefix: p, index: i })
        out.push(...entries(item.children, state, p, depth + 1))
      }
    } else {
      if (depth > 0 || prefix) out.push({ kind: 'heading', key: groupKey, label: item.label, depth, prefix })
      out.push(...entries(item.children, state, prefix, depth + 1))
    }
  }
  return out
}

/** Whether an entry is on screen now (relevant, and its group relevant). */
export function visible(e: Entry, state: FormState): boolean {
  const s = state.items[e.key]
  return s ? s.relevant : true
}

/** The page holding a given instance key. */
export function pageOf(all: Page[], key: string, state: FormState): number {
  const i = all.findIndex((p) => entries(p.items, state).some((e) => e.key === key))
  return i < 0 ? 0 : i
}


/** The question an instance key names (`age`, `rep[2]/age`, `hh_a/age`, `rep[1]/g/age`). */
export function questionOfKey(items: FormItem[], key: string): Question | undefined {
  const own = key.replace(/^.*\]\//, '')
  const walk = (list: FormItem[]): Question | undefined => {
    for (const item of list) {
      if (item.kind === 'question') {
        if (keyName(item) === own) return item
      } else {
        const q = walk(item.children)
        if (q) return q
      }
    }
    return undefined
  }
  return walk(items)
}
