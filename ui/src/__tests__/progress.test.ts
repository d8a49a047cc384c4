import { afterEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import ProgressStrip from '../components/ProgressStrip.vue'
import { makeI18n } from '../i18n'
import { setBackend, type Progress } from '../ipc'
import { fakeBackend } from './fake'

async function render(locale: 'zh-CN' | 'en') {
  let send: (p: Progress) => void = () => {}
  const stop = vi.fn()
  setBackend(fakeBackend({
    onProgress: vi.fn(async (h: (p: Progress) => void) => {
      send = h
      return stop
    }),
  }))
  const w = mount(ProgressStrip, { global: { plugins: [makeI18n(locale)] } })
  await flushPromises()
  return { w, send: async (p: Progress) => { send(p); await flushPromises() }, stop }
}

describe('ProgressStrip', () => {
  afterEach(() => vi.useRealTimers())

  it('shows the stage and the count as reports arrive, then goes once the work is whole', async () => {
    vi.useFakeTimers()
    const { w, send, stop } = await render('zh-CN')
    expect(w.find('[data-testid=work-progress]').exists()).toBe(false)
    await send({ stage: 'open_bundle', done: 0, total: 1 })
    expect(w.get('[data-testid=work-progress]').text()).toBe('正在打开数据包并核对签名（0/1）')
    await send({ stage: 'check_bundle', done: 160, total: 423 })
    const bar = w.get('[data-testid=work-progress] progress')
    expect(bar.attributes('value')).toBe('160')
    expect(bar.attributes('max')).toBe('423')
    expect(w.get('[data-testid=work-progress]').text()).toBe('正在逐份核对问卷（160/423）')
    // Not finished: still there a second later.
    vi.advanceTimersByTime(1000)
    await flushPromises()
    expect(w.find('[data-testid=work-progress]').exists()).toBe(true)
    await send({ stage: 'save_bundle', done: 1, total: 1 })
    vi.advanceTimersByTime(900)
    await flushPromises()
    expect(w.find('[data-testid=work-progress]').exists()).toBe(false)
    w.unmount()
    expect(stop).toHaveBeenCalledOnce()
  })

  it('speaks English, and a report that never finishes (failed work) still goes', async () => {
    vi.useFakeTimers()
    const { w, send } = await render('en')
    await send({ stage: 'load_demo', done: 3, total: 13 })
    expect(w.get('[data-testid=work-progress]').text()).toBe('Generating the demo data (3/13)')
    vi.advanceTimersByTime(4000)
    await flushPromises()
    expect(w.find('[data-testid=work-progress]').exists()).toBe(true)
    vi.advanceTimersByTime(1500)
    await flushPromises()
    expect(w.find('[data-testid=work-progress]').exists()).toBe(false)
  })
})
