import { describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import HomeView from '../components/HomeView.vue'
import { makeI18n } from '../i18n'
import { setBackend, type Backend, type HomeData } from '../ipc'
import type { CommunitySummary } from '../ipc/generated/CommunitySummary'
import { fakeBackend } from './fake'

// ECharts needs a canvas; the chart is covered by the end-to-end test in the real window.
vi.mock('../components/ProgressChart.vue', () => ({ default: { template: '<div />' } }))

function summary(code: string, name: string, finalized: number, target: number): CommunitySummary {
  return {
    community: {
      id: code, code, name, street: '东湖街道', district: '示范区', housing_form: 'old_public',
      households: 1000, target_sample: target, created_at: '', updated_at: '',
    },
    finalized,
    drafts: 1,
  }
}

function fake(data: HomeData, overrides: Partial<Backend> = {}): Backend {
  return fakeBackend({
    home: vi.fn(async () => data),
    loadDemo: vi.fn(async () => ({ communities: 12, responses: 1, drafts: 0 })),
    ...overrides,
  })
}

const empty: HomeData = { communities: [], instruments: [], data_dir: '/d', device_id: 'x' }

async function render(b: Backend, locale: 'zh-CN' | 'en' = 'zh-CN') {
  setBackend(b)
  const w = mount(HomeView, { global: { plugins: [makeI18n(locale)] } })
  await flushPromises()
  return w
}

describe('HomeView', () => {
  it('lists communities with progress and flags low reliability', async () => {
    const w = await render(fake({ ...empty, communities: [summary('A', '甲社区', 42, 60), summary('B', '乙社区', 8, 40)] }))
    const names = w.findAll('[data-testid="community-name"]').map((e) => e.text())
    expect(names).toEqual(['甲社区', '乙社区'])
    expect(w.findAll('[data-testid="progress"]').map((e) => e.text())).toEqual(['42 / 60', '8 / 40'])
    expect(w.findAll('[data-testid="low-reliability"]')).toHaveLength(1)
    expect(w.find('[data-testid="housing-form"]').text()).toBe('老旧小区/售后公房')
    expect(w.find('[data-testid="communities-count"]').text()).toBe('共 2 个社区，1 个街道')
  })

  it('filters by name or code', async () => {
    const w = await render(fake({ ...empty, communities: [summary('A1', '甲社区', 1, 60), summary('B1', '乙社区', 1, 40)] }))
    await w.find('[data-testid="community-search"]').setValue('b1')
    expect(w.findAll('[data-testid="community-name"]').map((e) => e.text())).toEqual(['乙社区'])
    await w.find('[data-testid="community-search"]').setValue('丙')
    expect(w.find('[data-testid="no-match"]').text()).toContain('丙')
  })

  it('offers the demo on an empty store and reloads after loading it', async () => {
    let loaded = false
    const b = fake(empty, {
      home: vi.fn(async () => (loaded ? { ...empty, communities: [summary('A', '甲社区', 1, 60)] } : empty)),
      loadDemo: vi.fn(async () => {
        loaded = true
        return { communities: 1, responses: 1, drafts: 0 }
      }),
    })
    const w = await render(b, 'en')
    expect(w.find('[data-testid="empty-state"]').text()).toContain('No communities yet')
    await w.find('[data-testid="load-demo"]').trigger('click')
    await flushPromises()
    expect(b.loadDemo).toHaveBeenCalledOnce()
    expect(w.findAll('[data-testid="community-name"]').map((e) => e.text())).toEqual(['甲社区'])
  })

  it('shows the error message from Rust and retries', async () => {
    const home = vi
      .fn()
      .mockRejectedValueOnce({ code: 'db_corrupt', message: '数据库文件 /d/shequ.db 已损坏', params: {} })
      .mockResolvedValueOnce(empty)
    const w = await render(fake(empty, { home }))
    expect(w.find('[data-testid="error"]').text()).toContain('/d/shequ.db 已损坏')
    await w.find('[data-testid="error"] button').trigger('click')
    await flushPromises()
    expect(w.find('[data-testid="empty-state"]').exists()).toBe(true)
  })
})
