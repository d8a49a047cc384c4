import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { mount } from '@vue/test-utils'
import QuestionField from '../components/QuestionField.vue'
import { makeI18n } from '../i18n'
import type { Question } from '../ipc/generated/Question'
import type { Choice } from '../ipc/generated/Choice'

function choices(n: number): Choice[] {
  return Array.from({ length: n }, (_, i) => ({ name: `c${i + 1}`, label: { default: `选项 ${i + 1}` }, columns: {} }))
}

function field(n: number, qtype = 'select_one') {
  const q = { name: 'q', qtype, list_name: 'l', label: { default: '题目' }, hint: {}, appearance: null, parameters: null } as unknown as Question
  return mount(QuestionField, {
    props: { qkey: 'q', q, label: '题目', value: '', choices: choices(n), readOnly: false, showProblem: false },
    global: { plugins: [makeI18n()] },
  })
}

async function press(w: ReturnType<typeof field>, key: string) {
  await w.find('[data-testid="q-q"]').trigger('keydown', { key })
}

function saves(w: ReturnType<typeof field>): string[] {
  return (w.emitted('save') ?? []).map((e) => e[0] as string)
}

describe('QuestionField number keys', () => {
  beforeEach(() => vi.useFakeTimers())
  afterEach(() => vi.useRealTimers())

  it('picks at once in a list of ten, with 0 for the tenth', async () => {
    const w = field(10)
    await press(w, '3')
    await press(w, '0')
    expect(saves(w)).toEqual(['c3', 'c10'])
  })

  it('reaches the 12th option of a long list by two quick digits', async () => {
    const w = field(13)
    await press(w, '1')
    expect(saves(w)).toEqual([])
    expect(w.find('[data-testid="digits-q"]').text()).toContain('1')
    await press(w, '2')
    expect(saves(w)).toEqual(['c12'])
    expect(w.find('[data-testid="digits-q"]').exists()).toBe(false)
  })

  it('picks a digit no second digit could extend at once, and a lone 1 after the pause', async () => {
    const w = field(13)
    await press(w, '4')
    expect(saves(w)).toEqual(['c4'])
    await press(w, '1')
    vi.advanceTimersByTime(799)
    expect(saves(w)).toEqual(['c4'])
    vi.advanceTimersByTime(1)
    expect(saves(w)).toEqual(['c4', 'c1'])
  })

  it('Enter picks the typed number without waiting, then moves on', async () => {
    const w = field(13)
    await press(w, '1')
    await press(w, 'Enter')
    expect(saves(w)).toEqual(['c1'])
    expect(w.emitted('next')).toHaveLength(1)
  })

  it('ignores numbers past the end and 0 in a long list', async () => {
    const w = field(13)
    await press(w, '1')
    await press(w, '9')
    await press(w, '0')
    vi.advanceTimersByTime(2000)
    expect(saves(w)).toEqual([])
  })

  it('toggles the 12th option of a multi-select', async () => {
    const w = field(13, 'select_multiple')
    await press(w, '1')
    await press(w, '2')
    expect(saves(w)).toEqual(['c12'])
  })
})

describe('QuestionField number keys when leaving', () => {
  beforeEach(() => vi.useFakeTimers())
  afterEach(() => vi.useRealTimers())

  it('picks the typed number when focus leaves the question', async () => {
    const w = field(13)
    await press(w, '1')
    await w.find('[data-testid="q-q"]').trigger('focusout', { relatedTarget: null })
    expect(saves(w)).toEqual(['c1'])
  })

  it('picks the typed number when the question goes away', async () => {
    const onSave = vi.fn()
    const w = field(13)
    await w.setProps({ onSave } as never)
    await press(w, '1')
    w.unmount()
    expect(onSave.mock.calls.map((c) => c[0])).toEqual(['c1'])
  })
})
