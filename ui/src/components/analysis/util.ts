// Small helpers shared by the centre's analysis screens.
import type { LocalizedText } from '../../ipc/generated/LocalizedText'
import type { Tag } from '../../ipc/generated/Tag'

export const DASH = '—'

/** 1 decimal (scores, %), "—" when missing. */
export function f1(v: number | null | undefined): string {
  return v === null || v === undefined || Number.isNaN(v) ? DASH : v.toFixed(1)
}

/** 2 decimals (λ, silhouette), "—" when missing. */
export function f2(v: number | null | undefined): string {
  return v === null || v === undefined || Number.isNaN(v) ? DASH : v.toFixed(2)
}

/** A change with its sign: +3.2 / −1.0. */
export function signed(v: number | null | undefined): string {
  if (v === null || v === undefined || Number.isNaN(v)) return DASH
  return v > 0 ? `+${v.toFixed(1)}` : v < 0 ? `−${Math.abs(v).toFixed(1)}` : '0.0'
}

/**
 * A form label in the UI language. Form labels are keyed by the XLSForm language name
 * (`中文 (zh)`, `English (en)`) or `default`; checklist texts by `zh-CN` / `en`.
 */
export function pick(text: LocalizedText | undefined | null, locale: string): string {
  if (!text) return ''
  if (text[locale]) return text[locale]
  const short = locale.split('-')[0].toLowerCase()
  for (const [k, v] of Object.entries(text)) {
    const code = /\(([^)]+)\)\s*$/.exec(k)?.[1]?.toLowerCase() ?? k.toLowerCase()
    if (v && (code === short || code.startsWith(`${short}-`))) return v
  }
  if (text.default) return text.default
  return Object.values(text).find((v) => v) ?? ''
}

/** The typology dimensions, in the order of the pattern (interaction, identity, linkages). */
export const TYPOLOGY = ['interaction', 'identity', 'linkages'] as const

export const SOCIAL_TYPES = ['integral', 'parochial', 'diffuse', 'stepping_stone', 'transitory', 'anomic'] as const

export const OWNERS = ['residents_committee', 'property', 'owners_committee', 'street', 'social_org'] as const

export const FREQUENCIES = ['once', 'weekly', 'monthly', 'quarterly', 'yearly', 'ongoing'] as const

/** A tag as the analyst reads it: 老龄化 / 需求：助餐服务. */
export function tagText(tag: Tag, t: (k: string, p?: Record<string, unknown>) => string, locale: string): string {
  if (tag.kind === 'need') return t('analysis.need_tag', { need: pick(tag.label, locale) || tag.key })
  return t(`analysis.tags.${tag.kind}`)
}

/** A stable key for a tag in the filter: the kind, or `need:<group:choice>`. */
export function tagKey(tag: Tag): string {
  return tag.kind === 'need' ? `need:${tag.key}` : tag.kind
}

/** Local date and time of an RFC 3339 timestamp. */
export function localTime(at: string, locale: string): string {
  const d = new Date(at)
  return Number.isNaN(d.getTime()) ? at : d.toLocaleString(locale)
}
