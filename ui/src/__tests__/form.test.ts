import { describe, expect, it } from 'vitest'
import { entries, pages, questionOfKey } from '../form'
import type { FormItem } from '../ipc/generated/FormItem'
import type { FormState } from '../ipc/generated/FormState'

function q(name: string): FormItem {
  return { kind: 'question', name, qtype: 'integer', label: { default: name }, supported: true } as unknown as FormItem
}
function group(name: string, children: FormItem[]): FormItem {
  return { kind: 'group', name, label: { default: name }, relevant: null, appearance: null, repeat: false, repeat_count: null, row: 0, children }
}
function repeat(name: string, children: FormItem[]): FormItem {
  return { kind: 'group', name, label: { default: name }, relevant: null, appearance: null, repeat: true, repeat_count: null, row: 0, children }
}

describe('pages and entries', () => {
  const form = [repeat('building', [q('bname'), repeat('flat', [q('residents')])])]

  it('expands a top-level repeat nested two levels deep into instance keys', () => {
    const state: FormState = { items: {}, repeat_counts: { building: 2, 'building[1]/flat': 2, 'building[2]/flat': 1 } }
    const all = pages(form)
    expect(all).toHaveLength(1)
    const keys = entries(all[0].items, state).map((e) => `${e.kind}:${e.key}`)
    expect(keys).toEqual([
      'repeat:building',
      'heading:building[1]',
      'question:building[1]/bname',
      'repeat:building[1]/flat',
      'heading:building[1]/flat[1]',
      'question:building[1]/flat[1]/residents',
      'heading:building[1]/flat[2]',
      'question:building[1]/flat[2]/residents',
      'heading:building[2]',
      'question:building[2]/bname',
      'repeat:building[2]/flat',
      'heading:building[2]/flat[1]',
      'question:building[2]/flat[1]/residents',
    ])
  })

  it('shows only the add button of a repeat with no instances yet', () => {
    const state: FormState = { items: {}, repeat_counts: {} }
    expect(entries(pages(form)[0].items, state).map((e) => e.key)).toEqual(['building'])
  })

  it('keys a name used in several groups by its key path, as the Rust side does', () => {
    // As shequ_forms::state::assign_keys fills key_path: `age` in two groups and in a group
    // inside a repeat; `who` is unique and keeps its name.
    const shared = (path: string): FormItem => ({ ...q('age'), key_path: path }) as FormItem
    const form = [
      group('hh_a', [shared('hh_a/age')]),
      group('hh_b', [shared('hh_b/age'), q('who')]),
      repeat('kid', [group('g', [shared('g/age')])]),
    ]
    const state: FormState = { items: {}, repeat_counts: { kid: 2 } }
    const keys = pages(form).flatMap((p) => entries(p.items, state).map((e) => `${e.kind}:${e.key}`))
    expect(keys).toEqual([
      'question:hh_a/age',
      'question:hh_b/age',
      'question:who',
      'repeat:kid',
      'heading:kid[1]',
      'heading:kid[1]/g',
      'question:kid[1]/g/age',
      'heading:kid[2]',
      'heading:kid[2]/g',
      'question:kid[2]/g/age',
    ])
  })
})

describe('questionOfKey', () => {
  const g = (name: string, children: FormItem[]): FormItem =>
    ({ kind: 'group', name, label: { default: name }, relevant: null, appearance: null, repeat: false, repeat_count: null, row: 0, children }) as FormItem
  const qp = (name: string, key_path: string): FormItem =>
    ({ kind: 'question', name, key_path, qtype: 'integer', label: { default: key_path }, supported: true }) as unknown as FormItem
  const form = [q('n'), g('hh_a', [qp('age', 'hh_a/age')]), g('hh_b', [qp('age', 'hh_b/age')]), repeat('rep', [q('x')])]

  it('finds questions by their own key, inside repeats too, and shared names by their path', () => {
    expect(questionOfKey(form, 'n')?.name).toBe('n')
    expect((questionOfKey(form, 'hh_b/age') as { key_path?: string })?.key_path).toBe('hh_b/age')
    expect(questionOfKey(form, 'rep[3]/x')?.name).toBe('x')
    expect(questionOfKey(form, 'age')).toBeUndefined()
  })
})
