import { describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import FirstRunView from '../components/FirstRunView.vue'
import { makeI18n } from '../i18n'
import { setBackend } from '../ipc'
import { fakeBackend } from './fake'

describe('FirstRunView', () => {
  it('sets up a laptop with a pasted key and shows a refusal in its language', async () => {
    const chooseLaptop = vi.fn()
      .mockRejectedValueOnce({ code: 'invalid_value', message: 'The centre key “AGE-SECRET-KEY-…” is not accepted: this is the centre\'s secret key.', params: {} })
      .mockResolvedValueOnce(undefined)
    setBackend(fakeBackend({ firstRun: vi.fn(async () => ({ pending: true, data_dir: '/home/sg/.local/share/shequ' })), chooseLaptop }))
    const w = mount(FirstRunView, { global: { plugins: [makeI18n('en')] } })
    await flushPromises()
    expect(w.get('[data-testid=first-run-dir]').text()).toBe('/home/sg/.local/share/shequ')
    await w.get('[data-testid=first-run-laptop]').trigger('click')
    expect(w.get('[data-testid=first-run-laptop-done]').attributes('disabled')).toBeDefined()
    await w.get('[data-testid=first-run-key]').setValue('AGE-SECRET-KEY-1XYZ')
    await w.get('[data-testid=first-run-laptop-done]').trigger('click')
    await flushPromises()
    expect(w.get('[data-testid=first-run-error]').text()).toContain('secret key')
    expect(w.emitted('done')).toBeUndefined()
    await w.get('[data-testid=first-run-key]').setValue(' age1abc ')
    await w.get('[data-testid=first-run-laptop-done]').trigger('click')
    await flushPromises()
    expect(chooseLaptop).toHaveBeenLastCalledWith(' age1abc ')
    expect(w.emitted('done')).toEqual([['laptop']])
  })

  it('makes the centre key, shows it, then starts as the centre', async () => {
    const chooseCentre = vi.fn(async () => 'age1centrekey')
    setBackend(fakeBackend({ firstRun: vi.fn(async () => ({ pending: true, data_dir: '/d' })), chooseCentre }))
    const w = mount(FirstRunView, { global: { plugins: [makeI18n('zh-CN')] } })
    await flushPromises()
    expect(w.text()).toContain('先说一下这台电脑的用途')
    await w.get('[data-testid=first-run-centre]').trigger('click')
    await w.get('[data-testid=first-run-make-key]').trigger('click')
    await flushPromises()
    expect(w.get('[data-testid=first-run-centre-key]').text()).toBe('age1centrekey')
    expect(w.text()).toContain('shequ keys backup-centre')
    await w.get('[data-testid=first-run-centre-done]').trigger('click')
    expect(w.emitted('done')).toEqual([['centre']])
  })
})
