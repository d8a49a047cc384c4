import { describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import UnlockView from '../components/UnlockView.vue'
import { makeI18n } from '../i18n'
import { setBackend, type Backend, type LockState } from '../ipc'
import { fakeBackend } from './fake'

function state(s: Partial<LockState>): LockState {
  return { state: 'locked', data_dir: '/data', wait_seconds: 0, demo_passphrase: null, min_chars: 8, open: false, ...s }
}

async function render(b: Backend, locale: 'zh-CN' | 'en' = 'zh-CN') {
  setBackend(b)
  const w = mount(UnlockView, { global: { plugins: [makeI18n(locale)] } })
  await flushPromises()
  return w
}

describe('UnlockView', () => {
  it('asks nothing until it knows whether the folder is new, then asks for the passphrase twice', async () => {
    let answer: (s: LockState) => void = () => {}
    const lockState = vi.fn(() => new Promise<LockState>((resolve) => (answer = resolve)))
    const w = await render(fakeBackend({ lockState }))
    // The folder's state has not come back: neither title, nor a field to type into.
    expect(w.find('h2').exists()).toBe(false)
    expect(w.find('[data-testid=unlock-passphrase]').exists()).toBe(false)
    expect(w.text()).not.toContain('输入口令，打开数据')
    answer(state({ state: 'new' }))
    await flushPromises()
    expect(w.get('h2').text()).toBe('设置数据口令')
    expect(w.find('[data-testid=unlock-confirm]').exists()).toBe(true)
  })

  it('asks a new folder for the passphrase twice and sends both', async () => {
    const unlock = vi.fn(async () => {})
    const w = await render(fakeBackend({ lockState: vi.fn(async () => state({ state: 'new' })), unlock }))
    expect(w.text()).toContain('设置数据口令')
    expect(w.text()).toContain('至少 8 个字符')
    await w.get('[data-testid=unlock-passphrase]').setValue('我们的口令 2026')
    await w.get('[data-testid=unlock-confirm]').setValue('我们的口令 2026')
    await w.get('form').trigger('submit')
    await flushPromises()
    expect(unlock).toHaveBeenCalledWith('我们的口令 2026', '我们的口令 2026')
    expect(w.emitted('unlocked')).toHaveLength(1)
  })

  it('unlocks a locked folder with one typing and shows the demo passphrase only for the demo', async () => {
    const unlock = vi.fn(async () => {})
    const w = await render(fakeBackend({ lockState: vi.fn(async () => state({ demo_passphrase: 'shequ-demo' })), unlock }), 'en')
    expect(w.find('[data-testid=unlock-confirm]').exists()).toBe(false)
    expect(w.get('[data-testid=unlock-demo]').text()).toContain('shequ-demo')
    await w.get('[data-testid=unlock-passphrase]').setValue('shequ-demo')
    await w.get('form').trigger('submit')
    await flushPromises()
    expect(unlock).toHaveBeenCalledWith('shequ-demo', null)
    const plain = await render(fakeBackend({ lockState: vi.fn(async () => state({})) }))
    expect(plain.find('[data-testid=unlock-demo]').exists()).toBe(false)
  })

  it('shows a wrong passphrase, clears the field, and waits when told to', async () => {
    const states = [state({}), state({ wait_seconds: 5 })]
    const lockState = vi.fn(async () => states.shift() ?? state({ wait_seconds: 5 }))
    const unlock = vi.fn(async () => {
      throw { code: 'wrong_passphrase', message: '口令不对，数据没有打开。', params: {} }
    })
    const w = await render(fakeBackend({ lockState, unlock }))
    await w.get('[data-testid=unlock-passphrase]').setValue('not it')
    await w.get('form').trigger('submit')
    await flushPromises()
    expect(w.get('[data-testid=unlock-error]').text()).toContain('口令不对')
    expect((w.get('[data-testid=unlock-passphrase]').element as HTMLInputElement).value).toBe('')
    expect(w.get('[data-testid=unlock-wait]').text()).toContain('5 秒')
    expect(w.get('[data-testid=unlock-passphrase]').attributes('disabled')).toBeDefined()
    expect(w.emitted('unlocked')).toBeUndefined()
  })
})
