import { createI18n } from 'vue-i18n'
import zhCN from '@assets/i18n/zh-CN.json'
import en from '@assets/i18n/en.json'
import type { Lang } from './ipc/generated/Lang'

/** The shared catalogues (assets/i18n), the one source of every string a user sees. */
export const messages = { 'zh-CN': zhCN, en }

export const LANGS: Lang[] = ['zh-CN', 'en']

export function makeI18n(locale: Lang = 'zh-CN') {
  return createI18n({
    legacy: false,
    locale,
    fallbackLocale: 'zh-CN',
    messages,
  })
}
