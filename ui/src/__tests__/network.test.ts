import { describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import MatchPanel from '../components/network/MatchPanel.vue'
import ClustersPanel from '../components/network/ClustersPanel.vue'
import { makeI18n } from '../i18n'
import { setBackend, type CommunityMatches, type ClusterView } from '../ipc'
import { fakeBackend } from './fake'

const terms = [
  { key: 'service:lift', zh: '加装电梯', en: 'Lift installation' },
  { key: 'problem:parking', zh: '停车难、乱停车', en: 'Parking' },
]
const libs = { resources: [], experts: [], terms }

function matches(recorded: boolean): CommunityMatches {
  return {
    code: 'DH-01', name: '梧桐里社区', round: '2026 年度',
    demands: [{
      demand: { term: 'service:lift', problem: false, value: 59.5, tier: 'medium', weight: 0.5952 },
      candidates: [{
        supplier: { type: 'resource', id: 'r1', name: '梧桐加梯互助会', kind: 'social_organisation' },
        score: 59.5, weight: 0.5952, proximity: 'same_community', active: 0, capacity: 2, load_factor: 1, hours: '', until: null,
      }],
    }],
    recorded: recorded
      ? [{ id: 'm1', community_code: 'DH-01', term: 'service:lift', supplier_id: 'r1', supplier_name: '梧桐加梯互助会', status: 'agreed', outcome: '', created_at: '2026-03-01T08:00:00Z', updated_at: '2026-03-01T08:00:00Z' }]
      : [],
  }
}

describe('MatchPanel', () => {
  it('shows the reasons of a rank and records a confirmed match', async () => {
    const setMatch = vi.fn(async () => matches(true).recorded[0])
    const communityMatches = vi.fn().mockResolvedValueOnce(matches(false)).mockResolvedValueOnce(matches(true))
    setBackend(fakeBackend({
      communitiesRecent: vi.fn(async () => [{ code: 'DH-01', name: '梧桐里社区' }] as never),
      libraries: vi.fn(async () => libs as never),
      communityMatches, setMatch,
    }))
    const w = mount(MatchPanel, { global: { plugins: [makeI18n('zh-CN')] } })
    await flushPromises()
    await w.get('[data-testid=match-community]').setValue('DH-01')
    await flushPromises()
    const row = w.get('[data-testid=candidate]').text()
    expect(row).toContain('梧桐加梯互助会')
    expect(row).toContain('权重 0.60 · 本社区 · 在办 0/2 项')
    expect(w.text()).toContain('需求：加装电梯')
    await w.get('[data-testid=confirm-match]').trigger('click')
    await flushPromises()
    expect(setMatch).toHaveBeenCalledWith('DH-01', 'service:lift', 'r1', 'agreed', '')
    expect(w.get('[data-testid=match-recorded]').text()).toBe('已记录对接：加装电梯 ← 梧桐加梯互助会。')
    expect(w.find('[data-testid=confirm-match]').exists()).toBe(false)
  })
})

describe('ClustersPanel', () => {
  it('forms a proposed cluster under the name given and shows a refusal in the meeting form', async () => {
    const view = {
      cluster: { id: 'c1', name: '整合型社区群', social_type: 'integral', starts: '2026-01-01', months: 3, created_at: '' },
      members: [], current: ['DH-06', 'XH-05'], shared: [{ term: 'problem:parking', members: 2 }],
      schedule: [{ round: 1, starts: '2026-01-01', chair: 'DH-06', kept: false }], meetings: [],
    } as ClusterView
    const createCluster = vi.fn(async () => view)
    const clusters = vi.fn().mockResolvedValueOnce([]).mockResolvedValue([view])
    const addMeeting = vi.fn(async () => {
      throw { code: 'cluster_invalid', message: '2025-12-01 不在“整合型社区群”的任何一轮里：第 1 轮从 2026-01-01 开始。', params: {} }
    })
    setBackend(fakeBackend({
      libraries: vi.fn(async () => libs as never),
      proposeClusters: vi.fn(async () => ({
        round: '2026 年度', proposals: [{ social_type: 'integral', housing_form: null, street: null, members: ['DH-06', 'XH-05'], shared: [{ term: 'problem:parking', members: 2 }] }],
        alone: ['DH-01'], clustered: [],
      }) as never),
      clusters, createCluster, addMeeting,
      exchangeStatus: vi.fn(async () => [{}, null, '/d/exports'] as never),
    }))
    const w = mount(ClustersPanel, { global: { plugins: [makeI18n('zh-CN')] } })
    await flushPromises()
    expect(w.get('[data-testid=proposal-0]').text().replace(/\s+/g, ' ')).toContain('整合型：DH-06、XH-05 — 共同的突出需求与问题：停车难、乱停车')
    expect((w.get('[data-testid=proposal-name-0]').element as HTMLInputElement).value).toBe('整合型社区群')
    await w.get('[data-testid=proposal-starts-0]').setValue('2026-01-01')
    await w.get('[data-testid=create-cluster-0]').trigger('click')
    await flushPromises()
    expect(createCluster).toHaveBeenCalledWith('整合型社区群', ['DH-06', 'XH-05'], '2026-01-01', 3)
    expect(w.get('[data-testid=cluster-notice]').text()).toBe('已成立社区群“整合型社区群”。')
    await w.get('[data-testid=open-meeting]').trigger('click')
    await w.get('[data-testid=meeting-date]').setValue('2025-12-01')
    await w.get('[data-testid=meeting-minutes]').setValue('太早了')
    await w.get('[data-testid=meeting-form]').trigger('submit')
    await flushPromises()
    const sent = (addMeeting.mock.calls[0] as unknown[])[1] as { held_on: string; follow_ups: unknown[] }
    expect(sent.held_on).toBe('2025-12-01')
    expect(sent.follow_ups).toEqual([])
    expect(w.get('[data-testid=meeting-form] [data-testid=cluster-error]').text()).toContain('不在“整合型社区群”的任何一轮里')
  })

  it('keeps a start date for each proposal', async () => {
    const createCluster = vi.fn(async () => { throw { code: 'cluster_invalid', message: 'stop here', params: {} } })
    setBackend(fakeBackend({
      proposeClusters: vi.fn(async () => ({
        round: '2026 年度',
        proposals: [
          { social_type: 'integral', housing_form: null, street: null, members: ['DH-06', 'XH-05'], shared: [] },
          { social_type: 'parochial', housing_form: null, street: null, members: ['DH-05', 'XH-02'], shared: [] },
        ],
        alone: [], clustered: [],
      }) as never),
      libraries: vi.fn(async () => libs as never),
      createCluster,
      exchangeStatus: vi.fn(async () => [{}, null, '/d/exports'] as never),
    }))
    const w = mount(ClustersPanel, { global: { plugins: [makeI18n('zh-CN')] } })
    await flushPromises()
    await w.get('[data-testid=proposal-starts-1]').setValue('2026-03-01')
    expect((w.get('[data-testid=proposal-starts-0]').element as HTMLInputElement).value).toBe(`${new Date().getFullYear()}-01-01`)
    await w.get('[data-testid=create-cluster-1]').trigger('click')
    await flushPromises()
    expect(createCluster).toHaveBeenCalledWith('狭隘型社区群', ['DH-05', 'XH-02'], '2026-03-01', 3)
  })

  it('sends the proposal\'s name when 成立 is clicked before the rest of the page has loaded', async () => {
    // The cluster list never answers: the proposal is on screen and clicked meanwhile, as a
    // quick user (or a loaded machine under the end-to-end test) does.
    const createCluster = vi.fn(async () => { throw { code: 'cluster_invalid', message: 'stop here', params: {} } })
    setBackend(fakeBackend({
      proposeClusters: vi.fn(async () => ({
        round: '2026 年度', proposals: [{ social_type: 'parochial', housing_form: null, street: null, members: ['DH-05', 'XH-02'], shared: [] }],
        alone: [], clustered: [],
      }) as never),
      clusters: vi.fn(() => new Promise<never>(() => {})),
      createCluster,
      exchangeStatus: vi.fn(async () => [{}, null, '/d/exports'] as never),
    }))
    const w = mount(ClustersPanel, { global: { plugins: [makeI18n('zh-CN')] } })
    await flushPromises()
    await w.get('[data-testid=create-cluster-0]').trigger('click')
    await flushPromises()
    expect(createCluster).toHaveBeenCalledTimes(1)
    expect((createCluster.mock.calls[0] as unknown[])[0]).toBe('狭隘型社区群')
  })
})

describe('ProjectNeeds, LibrariesPanel and CasesPanel', () => {
  it('lists this year\'s project needs, adds one with its tag and changes a status', async () => {
    const year = new Date().getFullYear()
    const row = { id: 'n1', cluster_id: 'c1', year, term: 'problem:parking', title: '停车改造项目', note: '', status: 'listed', updated_at: '' }
    const projectNeeds = vi.fn().mockResolvedValueOnce([]).mockResolvedValue([row])
    const addProjectNeed = vi.fn(async () => row)
    const setProjectNeed = vi.fn(async () => {})
    setBackend(fakeBackend({ projectNeeds, addProjectNeed, setProjectNeed }))
    const { default: ProjectNeeds } = await import('../components/network/ProjectNeeds.vue')
    const w = mount(ProjectNeeds, { props: { cluster: '整合型社区群', terms }, global: { plugins: [makeI18n('zh-CN')] } })
    await flushPromises()
    expect(w.text()).toContain(`${year} 年项目需求清单`)
    expect(w.text()).toContain('还没有列出今年的项目需求')
    await w.get('[data-testid=project-need-title]').setValue('停车改造项目')
    await w.get('[data-testid=project-need-tag]').setValue('problem:parking')
    await w.get('[data-testid=project-need-form]').trigger('submit')
    await flushPromises()
    expect(addProjectNeed).toHaveBeenCalledWith('整合型社区群', { year, tag: 'problem:parking', title: '停车改造项目', note: '' })
    expect(w.get('[data-testid=project-need]').text()).toContain('停车改造项目（停车难、乱停车）')
    await w.get('[data-testid=project-need-status]').setValue('dropped')
    await flushPromises()
    expect(setProjectNeed).toHaveBeenCalledWith('n1', 'dropped')
  })

  it('changes a resource in the form, prefilled as stored, and shows a refusal in English', async () => {
    const resource = {
      id: 'r1', kind: 'volunteer', name: '老张', community: 'DH-01', street: '东湖街道', contact: '', capacity: 2,
      availability: { days: [1, 3], hours: '9:00–11:00', until: null }, tags: ['service:lift'], source_instance: null,
    }
    const withResource = { resources: [resource], experts: [], terms }
    const saveLibraryEntry = vi.fn()
      .mockRejectedValueOnce({ code: 'invalid_value', message: 'Capacity “two” is not accepted: must be a whole number above 0.', params: {} })
      .mockResolvedValueOnce(withResource)
    setBackend(fakeBackend({
      libraries: vi.fn(async () => withResource as never), saveLibraryEntry,
      exchangeStatus: vi.fn(async () => [{}, null, '/d/exports'] as never),
    }))
    const { default: LibrariesPanel } = await import('../components/network/LibrariesPanel.vue')
    const w = mount(LibrariesPanel, { global: { plugins: [makeI18n('en')] } })
    await flushPromises()
    await w.get('[data-testid=edit-resource]').trigger('click')
    expect((w.get('[data-testid=entry-days]').element as HTMLInputElement).value).toBe('1,3')
    expect((w.get('[data-testid=entry-tags]').element as HTMLInputElement).value).toBe('Lift installation')
    await w.get('[data-testid=entry-capacity]').setValue('two')
    await w.get('[data-testid=entry-form]').trigger('submit')
    await flushPromises()
    const sent = saveLibraryEntry.mock.calls[0][0]
    expect(sent).toMatchObject({ library: 'resources', id: 'r1', fields: { kind: 'volunteer', name: '老张', capacity: 'two', community: 'DH-01' } })
    expect(w.get('[data-testid=entry-error]').text()).toContain('Capacity “two” is not accepted')
    await w.get('[data-testid=entry-capacity]').setValue('3')
    await w.get('[data-testid=entry-form]').trigger('submit')
    await flushPromises()
    expect(w.find('[data-testid=entry-form]').exists()).toBe(false)
    expect(w.get('[data-testid=entry-saved]').text()).toBe('Saved “老张”')
  })

  it('searches cases by words and tag and adds one to a cluster', async () => {
    const found = { id: 'k1', title: '楼道议事会', cluster: '整合型社区群', community: 'DH-06', record: { summary: '每月一次', tags: ['problem:parking'], checklist_items: [] }, created_at: '' }
    const cases = vi.fn().mockResolvedValueOnce([]).mockResolvedValue([found])
    const addCase = vi.fn(async () => found)
    setBackend(fakeBackend({
      libraries: vi.fn(async () => libs as never), cases, addCase,
      clusters: vi.fn(async () => [{ cluster: { id: 'c1', name: '整合型社区群' } }] as never),
    }))
    const { default: CasesPanel } = await import('../components/network/CasesPanel.vue')
    const w = mount(CasesPanel, { global: { plugins: [makeI18n('zh-CN')] } })
    await flushPromises()
    expect(w.get('[data-testid=no-cases]').text()).toBe('没有找到案例。')
    await w.get('[data-testid=case-title]').setValue('楼道议事会')
    await w.get('[data-testid=case-summary]').setValue('每月一次')
    await w.get('[data-testid=case-cluster]').setValue('整合型社区群')
    await w.get('[data-testid=case-tags]').setValue('停车难、乱停车')
    await w.get('[data-testid=case-form]').trigger('submit')
    await flushPromises()
    expect(addCase).toHaveBeenCalledWith({ title: '楼道议事会', summary: '每月一次', cluster: '整合型社区群', community: null, tags: ['停车难、乱停车'], checklist_items: [] })
    expect(w.get('[data-testid=case]').text()).toContain('楼道议事会')
    expect(w.get('[data-testid=case]').text()).toContain('停车难、乱停车')
    await w.get('[data-testid=case-search-text]').setValue('议事')
    await w.get('[data-testid=case-search]').trigger('submit')
    await flushPromises()
    expect(cases).toHaveBeenLastCalledWith('议事', null)
  })
})
