import { afterEach, describe, expect, it, vi } from 'vitest'
import { enableAutoUnmount, flushPromises, mount } from '@vue/test-utils'
import AnalysisScreen from '../components/analysis/AnalysisScreen.vue'
import ChecklistEditor from '../components/analysis/ChecklistEditor.vue'
import RoleBar from '../components/analysis/RoleBar.vue'
import ExchangeView from '../components/ExchangeView.vue'
import { makeI18n } from '../i18n'
import { setBackend, type AnalysisSettings, type AnalysisView, type Backend, type Composite } from '../ipc'
import type { CommunityProfile } from '../ipc/generated/CommunityProfile'
import type { Classification } from '../ipc/generated/Classification'
import type { CompositeItem } from '../ipc/generated/CompositeItem'
import { fakeBackend } from './fake'

// ECharts needs a canvas; the charts are covered by the end-to-end test in the real window.
vi.mock('../components/analysis/RadarChart.vue', () => ({ default: { template: '<div data-testid="radar-chart" />' } }))
vi.mock('../components/analysis/BarsChart.vue', () => ({ default: { template: '<div data-testid="bars-chart" />' } }))

// Attached to the document so that a submit button submits its form, as in the window.
enableAutoUnmount(afterEach)
const attach = () => {
  const el = document.createElement('div')
  document.body.appendChild(el)
  return el
}

const settings: AnalysisSettings = {
  min_responses: 30, cutoff_mode: 'fixed', cutoff: 60, borderline_margin: 5, need_high: 50, need_medium: 30,
  tag_thresholds: { ageing: 30, migrant: 30, hardship: 10 }, top_needs: 3, top_problems: 3, problem_index_min: 60,
  need_min_base: 10,
}

function dims(scores: [number, number, number, number] | null): CommunityProfile['dimensions'] {
  return ['interaction', 'identity', 'linkages', 'efficacy'].map((dimension, i) => ({
    dimension,
    score: scores ? scores[i] : null,
    n: scores ? 38 : 0,
    sd: scores ? 12.34 : null,
    ci_low: scores ? scores[i] - 4 : null,
    ci_high: scores ? scores[i] + 4 : null,
    lambda: scores ? 0.876 : null,
    percentile: scores ? 50 : null,
    previous: scores && dimension === 'identity' ? { round: '2025 年度', score: 60.1, ci_low: 55, ci_high: 65, change: 8.3, cis_overlap: false } : null,
  }))
}

function profile(code: string, name: string, n: number, scores: [number, number, number, number] | null): CommunityProfile {
  return {
    code, name, street: '东湖街道', housing_form: code === 'A01' ? 'old_public' : code === 'B02' ? 'commercial' : 'resettlement',
    n, sufficient: scores !== null, dimensions: dims(scores),
    needs: scores
      ? [{ group: 'elderly', item: 'n_elderly', choice: 'meals', label: { '中文 (zh)': '助餐服务', 'English (en)': 'Meal service' }, applied: 30, ticked: 18, degree: 60, tier: 'high' }]
      : [],
    problems: scores
      ? [{ item: 'p', choice: 'parking', label: { '中文 (zh)': '停车难', 'English (en)': 'Parking' }, applied: 38, ticked: 19, share: 50, severity: 3.2, index: 160 }]
      : [],
    tags: [],
    portrait: scores
      ? [{ section: 'suggestions', item: 'j_suggest', personal: false, label: { '中文 (zh)': '意见建议' }, answered: 1, sum: null, positive: null, counts: [], texts: [{ instance_id: 'i1', text: '希望多办老年活动' }] }]
      : [],
  }
}

function cls(code: string, over: Partial<Classification>): Classification {
  return {
    code, housing_form: 'old_public', n: 40, status: 'classified', social_type: null, pattern: null, unnamed: false, borderline: false,
    tags: [], top_problems: [], explanation: [], cluster: null, ...over,
  }
}

const view: AnalysisView = {
  district: {
    round: '2026 年度', form_id: 'community_analysis', settings, icc: {}, cutoffs: { interaction: 60, identity: 60, linkages: 60 },
    communities: [
      profile('A01', '甲社区', 40, [45.24, 68.36, 40, 55]),
      profile('B02', '乙社区', 8, null),
      profile('C03', '丙社区', 35, [62, 58.2, 41.5, 50]),
    ],
    classifications: [
      cls('A01', {
        social_type: 'diffuse', pattern: { interaction: false, identity: true, linkages: false }, cluster: 1,
        tags: [{ kind: 'ageing', key: 'ageing', label: {}, rate: 35.2, threshold: 30 }],
      }),
      cls('B02', { housing_form: 'commercial', n: 8, status: 'insufficient_data' }),
      cls('C03', { housing_form: 'resettlement', n: 35, social_type: 'anomic', unnamed: true, borderline: true, cluster: 2 }),
    ],
    kmeans: {
      k: 2, silhouette: 0.4567, tried: [[2, 0.4567]], dimensions: ['interaction', 'identity', 'linkages'],
      assignments: { A01: 1, C03: 2 }, centroids: [[45, 68, 40], [62, 58, 41]], cross_table: { diffuse: [1, 0], anomic: [0, 1] },
    },
    notes: [],
  },
  labels: {
    A01: '老旧小区/售后公房 × 松散型 + 老龄化',
    B02: '普通商品房 × 数据不足',
    C03: '拆迁安置/动迁 × 失范型',
  },
  explanations: {
    A01: ['房屋业态：老旧小区/售后公房（来自社区登记信息）。', '三个维度（互动、认同、外部联系）为（低、高、低），对应松散型。'],
    B02: ['只有 8 份已完成问卷，少于最低要求 30 份，暂不分类。'],
    C03: ['认同得分 58.2 与分界值 60 相差不超过 5 分，属于“临界”。'],
  },
  notes: ['问卷没有标注问题题（need_group 填 problem），算不出问题指数。'],
  rounds: [
    { name: '2025 年度', created_at: '', responses: 300, current: false },
    { name: '2026 年度', created_at: '', responses: 83, current: true },
  ],
  previous_round: '2025 年度',
}

function fake(overrides: Partial<Backend> = {}): Backend {
  return fakeBackend({
    analysis: vi.fn(async () => view),
    analysisSettings: vi.fn(async () => settings),
    setAnalysisSettings: vi.fn(async () => {}),
    ...overrides,
  })
}

async function render(b: Backend, locale: 'zh-CN' | 'en' = 'zh-CN') {
  setBackend(b)
  const w = mount(AnalysisScreen, { attachTo: attach(), global: { plugins: [makeI18n(locale)] } })
  await flushPromises()
  return w
}

const rowCodes = (w: ReturnType<typeof mount>) =>
  w.findAll('[data-testid^="class-row-"]').map((r) => r.attributes('data-testid')!.replace('class-row-', ''))

describe('classification table', () => {
  it('lists every community with scores, type, flags, tags, label and cluster', async () => {
    const w = await render(fake())
    expect(rowCodes(w)).toEqual(['A01', 'B02', 'C03'])
    const a = w.find('[data-testid="class-row-A01"]')
    expect(a.find('[data-testid="class-name"]').text()).toBe('甲社区')
    expect(a.findAll('[data-testid^="class-score-"]').map((e) => e.text())).toEqual(['45.2', '68.4', '40.0'])
    expect(a.find('[data-testid="class-type"]').text()).toBe('松散型')
    expect(a.find('[data-testid="class-tags"]').text()).toBe('老龄化')
    expect(a.find('[data-testid="class-label"]').text()).toBe('老旧小区/售后公房 × 松散型 + 老龄化')
    expect(a.find('[data-testid="class-cluster"]').text()).toBe('1')

    const b = w.find('[data-testid="class-row-B02"]')
    expect(b.find('[data-testid="class-insufficient"]').text()).toBe('数据不足')
    expect(b.findAll('[data-testid^="class-score-"]')).toHaveLength(0)
    expect(b.find('[data-testid="class-cluster"]').text()).toBe('—')

    const c = w.find('[data-testid="class-row-C03"]')
    expect(c.find('[data-testid="flag-borderline"]').text()).toBe('临界')
    expect(c.find('[data-testid="flag-unnamed"]').text()).toBe('组合无名称')
    expect(c.find('[data-testid="class-type"]').text()).toContain('失范型')

    expect(w.find('[data-testid="kmeans-summary"]').text()).toBe('分为 2 类，平均轮廓系数 0.46。')
    expect(w.find('[data-testid="kmeans"]').text()).toContain('不取代社会类型')
    expect(w.find('[data-testid="scheme-notes"]').text()).toContain('算不出问题指数')
    const round = w.find('[data-testid="round-select"]').element as HTMLSelectElement
    expect(round.value).toBe('2026 年度')
  })

  it('shows the table in English too', async () => {
    const w = await render(fake(), 'en')
    expect(w.find('[data-testid="class-row-A01"] [data-testid="class-type"]').text()).toBe('Diffuse')
    expect(w.find('[data-testid="class-row-B02"] [data-testid="class-insufficient"]').text()).toBe('Insufficient data')
    expect(w.find('[data-testid="class-row-C03"] [data-testid="flag-unnamed"]').text()).toBe('unnamed pattern')
  })

  it('filters by social type, housing form and tag', async () => {
    const w = await render(fake())
    await w.find('[data-testid="filter-type"]').setValue('diffuse')
    expect(rowCodes(w)).toEqual(['A01'])
    await w.find('[data-testid="filter-type"]').setValue('unclassified')
    expect(rowCodes(w)).toEqual(['B02'])
    await w.find('[data-testid="filter-type"]').setValue('')
    await w.find('[data-testid="filter-housing"]').setValue('resettlement')
    expect(rowCodes(w)).toEqual(['C03'])
    await w.find('[data-testid="filter-housing"]').setValue('')
    await w.find('[data-testid="filter-tag"]').setValue('ageing')
    expect(rowCodes(w)).toEqual(['A01'])
  })

  it('shows the explanation of the clicked row and opens its profile', async () => {
    const w = await render(fake())
    expect(w.find('[data-testid="explanation"]').exists()).toBe(false)
    await w.find('[data-testid="class-row-A01"]').trigger('click')
    expect(w.findAll('[data-testid="explanation"] li').map((e) => e.text())).toEqual(view.explanations.A01)
    await w.find('[data-testid="open-profile"]').trigger('click')
    const p = w.find('[data-testid="profile"]')
    expect(p.find('[data-testid="profile-name"]').text()).toContain('甲社区')
    const identity = p.find('[data-testid="dimension-row-identity"]')
    expect(identity.find('[data-testid="dim-score"]').text()).toBe('68.4')
    expect(identity.find('[data-testid="dim-lambda"]').text()).toBe('0.88')
    expect(identity.find('[data-testid="dim-change"]').text()).toContain('+8.3')
    expect(identity.find('[data-testid="dim-change"]').text()).toContain('区间不重叠')
    expect(p.find('[data-testid="need-table"]').text()).toContain('助餐服务')
    expect(p.find('[data-testid="problem-table"]').text()).toContain('160.0')
    expect(p.find('[data-testid="suggestions"]').text()).toContain('希望多办老年活动')
  })

  it('exports the table to the folder and shows the path or the reason', async () => {
    const classificationReport = vi
      .fn()
      .mockResolvedValueOnce('/d/exports/分类总表.xlsx')
      .mockRejectedValueOnce({ code: 'file_unwritable', message: '无法写入文件夹 /x', params: {} })
    const w = await render(
      fake({ classificationReport, exchangeStatus: vi.fn(async () => [{}, null, '/d/exports'] as never) }),
    )
    await w.find('[data-testid="export-classification"]').trigger('click')
    await flushPromises()
    expect(classificationReport).toHaveBeenCalledWith(null, '/d/exports')
    expect(w.find('[data-testid="class-exported"]').text()).toContain('/d/exports/分类总表.xlsx')
    await w.find('[data-testid="export-classification"]').trigger('click')
    await flushPromises()
    expect(w.find('[data-testid="class-export-error"]').text()).toBe('无法写入文件夹 /x')
  })

  it('loads another round when picked', async () => {
    const b = fake()
    const w = await render(b)
    await w.find('[data-testid="round-select"]').setValue('2025 年度')
    await flushPromises()
    expect(b.analysis).toHaveBeenLastCalledWith('2025 年度')
  })
})

describe('profile', () => {
  it('gives the insufficient community a message and no scores', async () => {
    const w = await render(fake())
    await w.find('[data-testid="class-row-B02"]').trigger('click')
    await w.find('[data-testid="open-profile"]').trigger('click')
    const p = w.find('[data-testid="profile"]')
    expect(p.find('[data-testid="insufficient"]').text()).toContain('只有 8 份已完成问卷，少于最低要求 30 份')
    expect(p.find('[data-testid^="dimension-row-"]').exists()).toBe(false)
    expect(p.find('[data-testid="dim-score"]').exists()).toBe(false)
    expect(p.find('[data-testid="needs"]').exists()).toBe(false)
    expect(p.find('[data-testid="problems"]').exists()).toBe(false)
    expect(p.find('[data-testid="radar-chart"]').exists()).toBe(false)
  })

  it('writes the Word report and shows its path', async () => {
    const communityReport = vi.fn(async () => '/d/exports/甲社区.docx')
    const w = await render(fake({ communityReport, exchangeStatus: vi.fn(async () => [{}, null, '/d/exports'] as never) }))
    await w.find('[data-testid="class-row-A01"]').trigger('click')
    await w.find('[data-testid="open-profile"]').trigger('click')
    await flushPromises()
    await w.find('[data-testid="export-report"]').trigger('click')
    await flushPromises()
    expect(communityReport).toHaveBeenCalledWith('A01', null, '/d/exports')
    expect(w.find('[data-testid="report-written"]').text()).toContain('/d/exports/甲社区.docx')
  })
})

describe('settings', () => {
  it('saves the typed cut-off and reloads the analysis', async () => {
    const b = fake()
    const w = await render(b)
    await w.find('[data-testid="analysis-tab-settings"]').trigger('click')
    await flushPromises()
    await w.find('[data-testid="setting-cutoff"]').setValue('65')
    await w.find('[data-testid="save-settings"]').trigger('click')
    await flushPromises()
    expect(b.setAnalysisSettings).toHaveBeenCalledOnce()
    expect(vi.mocked(b.setAnalysisSettings).mock.calls[0][0]).toEqual({ ...settings, cutoff: 65 })
    expect(b.analysis).toHaveBeenCalledTimes(2)
    expect(w.find('[data-testid="settings-saved"]').exists()).toBe(true)
  })

  it('shows the backend message for a bad value and keeps what was typed', async () => {
    const setAnalysisSettings = vi.fn(async () => {
      throw { code: 'setting_out_of_range', message: '分界值必须在 0 到 100 之间（现为 150）', params: {} }
    })
    const b = fake({ setAnalysisSettings })
    const w = await render(b)
    await w.find('[data-testid="analysis-tab-settings"]').trigger('click')
    await flushPromises()
    await w.find('[data-testid="setting-cutoff"]').setValue('150')
    await w.find('[data-testid="save-settings"]').trigger('click')
    await flushPromises()
    expect(w.find('[data-testid="settings-error"]').text()).toBe('分界值必须在 0 到 100 之间（现为 150）')
    expect((w.find('[data-testid="setting-cutoff"]').element as HTMLInputElement).value).toBe('150')
    expect(b.analysis).toHaveBeenCalledTimes(1)
  })

  it('starts a new round', async () => {
    const setCurrentRound = vi.fn(async () => {})
    const w = await render(fake({ setCurrentRound }))
    await w.find('[data-testid="analysis-tab-settings"]').trigger('click')
    await flushPromises()
    expect(w.find('[data-testid="current-round"]').text()).toBe('当前轮次：2026 年度（83 份问卷）')
    await w.find('[data-testid="start-round"]').trigger('click')
    expect(setCurrentRound).not.toHaveBeenCalled()
    await w.find('[data-testid="new-round"]').setValue('2027 年度')
    await w.find('[data-testid="start-round"]').trigger('click')
    await flushPromises()
    expect(setCurrentRound).toHaveBeenCalledWith('2027 年度')
  })
})

describe('comparison', () => {
  it('refuses fewer than 2 and more than 4 communities', async () => {
    const w = await render(fake())
    await w.find('[data-testid="analysis-tab-compare"]').trigger('click')
    const c = () => w.find('[data-testid="compare"]')
    expect(c().find('[data-testid="compare-message"]').text()).toBe('请至少选择 2 个社区。')
    await c().find('[data-testid="compare-pick-A01"]').setValue(true)
    await c().find('[data-testid="compare-pick-C03"]').setValue(true)
    expect(c().find('[data-testid="compare-message"]').exists()).toBe(false)
    expect(c().findAll('[data-testid="compare-label"]').map((e) => e.text())).toEqual([view.labels.A01, view.labels.C03])
    expect(c().find('[data-testid="compare-table"]').text()).toContain('68.4')
  })
})

function item(id: string, over: Partial<CompositeItem> = {}): CompositeItem {
  return {
    item: {
      id, when: { always: null, housing_form: null, social_type: 'diffuse', tag: null, need: null } as never, priority: 1,
      owner: 'residents_committee', frequency: 'monthly', action: { 'zh-CN': `组织邻里活动 ${id}`, en: `Neighbourhood events ${id}` },
      indicator: { 'zh-CN': '每月至少一次' },
    },
    source: 'default', removed: false, changed: false, reason: { key: 'type', params: { value: 'diffuse' } }, edits: [], ...over,
  }
}

const composite: Composite = {
  code: 'A01',
  items: [
    item('type.diffuse.1'),
    item('always.2', { reason: { key: 'always', params: { value: '' } } }),
    item('old.3', {
      removed: true,
      edits: [{ item_id: 'old.3', kind: 'remove', value: null, item: null, reason: '已由街道统一办理', actor: '王芳', at: '2026-03-01T08:00:00.000Z' }],
    }),
  ],
  pending_add: [item('tag.ageing.1', { reason: { key: 'tag', params: { value: 'ageing' } } })],
  pending_remove: ['type.diffuse.1'],
  accepted_label: '老旧小区/售后公房 × 松散型',
}

async function renderChecklist(b: Backend, locale: 'zh-CN' | 'en' = 'zh-CN') {
  setBackend(b)
  const w = mount(ChecklistEditor, { props: { code: 'A01', name: '甲社区' }, attachTo: attach(), global: { plugins: [makeI18n(locale)] } })
  await flushPromises()
  return w
}

describe('checklist editor', () => {
  it('lists items with their source, removed ones struck through at the end', async () => {
    const w = await renderChecklist(fakeBackend({ checklist: vi.fn(async () => composite) }))
    const items = w.findAll('[data-testid^="item-"][class]').filter((e) => e.element.tagName === 'LI')
    expect(items.map((e) => e.attributes('data-testid'))).toEqual(['item-type.diffuse.1', 'item-always.2', 'item-old.3'])
    const first = w.find('[data-testid="item-type.diffuse.1"]')
    expect(first.find('[data-testid="item-action"]').text()).toBe('组织邻里活动 type.diffuse.1')
    expect(first.find('[data-testid="item-source"]').text()).toBe('按社会类型：松散型')
    const old = w.find('[data-testid="item-old.3"]')
    expect(old.classes()).toContain('removed')
    expect(old.find('[data-testid="item-history"]').text()).toContain('王芳移除了此事项。原因：已由街道统一办理')
    const en = await renderChecklist(fakeBackend({ checklist: vi.fn(async () => composite) }), 'en')
    expect(en.find('[data-testid="item-type.diffuse.1"] [data-testid="item-action"]').text()).toBe('Neighbourhood events type.diffuse.1')
  })

  it('shows what the new classification changes and accepts it', async () => {
    const accepted: Composite = { ...composite, pending_add: [], pending_remove: [] }
    const acceptChecklist = vi.fn(async () => accepted)
    const w = await renderChecklist(fakeBackend({ checklist: vi.fn(async () => composite), acceptChecklist }))
    const banner = w.find('[data-testid="pending-changes"]')
    expect(banner.find('[data-testid="pending-add"]').text()).toContain('组织邻里活动 tag.ageing.1')
    expect(banner.find('[data-testid="pending-add"]').text()).toContain('按标签：老龄化')
    expect(banner.find('[data-testid="pending-remove"]').text()).toBe('组织邻里活动 type.diffuse.1')
    await w.find('[data-testid="accept-checklist"]').trigger('click')
    await flushPromises()
    expect(acceptChecklist).toHaveBeenCalledWith('A01')
    expect(w.find('[data-testid="pending-changes"]').exists()).toBe(false)
  })

  it('has no banner without pending changes', async () => {
    const w = await renderChecklist(
      fakeBackend({ checklist: vi.fn(async () => ({ ...composite, pending_add: [], pending_remove: [] })) }),
    )
    expect(w.find('[data-testid="pending-changes"]').exists()).toBe(false)
  })

  it('sends an edit only with a reason', async () => {
    const editChecklist = vi.fn(async () => composite)
    const w = await renderChecklist(fakeBackend({ checklist: vi.fn(async () => composite), editChecklist }))
    await w.find('[data-testid="remove-type.diffuse.1"]').trigger('click')
    await w.find('[data-testid="edit-save"]').trigger('click')
    await flushPromises()
    expect(editChecklist).not.toHaveBeenCalled()
    expect(w.find('[data-testid="reason-error"]').text()).toBe('请填写原因后再保存。')
    await w.find('[data-testid="edit-reason"]').setValue('该社区已有同类活动')
    await w.find('[data-testid="edit-save"]').trigger('click')
    await flushPromises()
    expect(editChecklist).toHaveBeenCalledWith('A01', {
      item_id: 'type.diffuse.1', kind: 'remove', value: null, action: null, indicator: null, owner: null, frequency: null,
      priority: null, reason: '该社区已有同类活动',
    })
  })

  it('changes the priority and adds an item, each with a reason', async () => {
    const editChecklist = vi.fn(async () => composite)
    const w = await renderChecklist(fakeBackend({ checklist: vi.fn(async () => composite), editChecklist }))
    await w.find('[data-testid="priority-always.2"]').setValue('3')
    await w.find('[data-testid="edit-reason"]').setValue('本季度人手不足')
    await w.find('[data-testid="edit-save"]').trigger('click')
    await flushPromises()
    expect(editChecklist).toHaveBeenLastCalledWith('A01', expect.objectContaining({ item_id: 'always.2', kind: 'priority', value: '3', reason: '本季度人手不足' }))

    await w.find('[data-testid="add-item"]').trigger('click')
    await w.find('[data-testid="add-action"]').setValue('开设老年食堂')
    await w.find('[data-testid="add-owner"]').setValue('social_org')
    await w.find('[data-testid="add-save"]').trigger('click')
    await flushPromises()
    expect(editChecklist).toHaveBeenCalledTimes(1)
    expect(w.find('[data-testid="add-error"]').text()).toBe('请填写原因后再保存。')
    await w.find('[data-testid="add-reason"]').setValue('居民需求度高')
    await w.find('[data-testid="add-save"]').trigger('click')
    await flushPromises()
    expect(editChecklist).toHaveBeenLastCalledWith('A01', {
      item_id: '', kind: 'add', value: null, action: '开设老年食堂', indicator: null, owner: 'social_org', frequency: 'monthly',
      priority: 2, reason: '居民需求度高',
    })
  })
})

describe('roles', () => {
  const exchange = () =>
    fakeBackend({ exchangeStatus: vi.fn(async () => [{ centre_recipient: null, is_centre: true, centre_public: 'age1x' }, null, '/d/exports'] as never) })

  it("hides the export panel at the centre and shows it on a laptop", async () => {
    setBackend(exchange())
    const centre = mount(ExchangeView, { props: { role: 'centre' }, global: { plugins: [makeI18n()] } })
    await flushPromises()
    expect(centre.find('[data-testid="export-panel"]').exists()).toBe(false)
    expect(centre.find('[data-testid="export-new"]').exists()).toBe(false)
    expect(centre.find('[data-testid="bundle-files"]').exists()).toBe(true)
    expect((centre.find('[data-testid="data-folder"]').element as HTMLInputElement).value).toBe('/d/exports')

    const laptop = mount(ExchangeView, { global: { plugins: [makeI18n()] } })
    await flushPromises()
    expect(laptop.find('[data-testid="export-panel"]').exists()).toBe(true)
    expect(laptop.find('[data-testid="export-new"]').exists()).toBe(true)
    expect(laptop.find('[data-testid="exchange-folder"]').exists()).toBe(true)
  })

  it('switches the role of this computer', async () => {
    const b = fakeBackend()
    setBackend(b)
    const w = mount(RoleBar, { props: { role: 'laptop' }, global: { plugins: [makeI18n()] } })
    expect(w.find('[data-testid="role-current"]').text()).toBe('本机用途：外业笔记本')
    await w.find('[data-testid="role-switch"]').trigger('click')
    await flushPromises()
    expect(b.setRole).toHaveBeenCalledWith('centre')
    expect(w.emitted('changed')).toEqual([['centre']])
  })
})
