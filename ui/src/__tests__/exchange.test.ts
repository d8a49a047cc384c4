import { describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import ExchangeView from '../components/ExchangeView.vue'
import { makeI18n } from '../i18n'
import { setBackend, type Backend, type ConflictRow, type DeviceBundles } from '../ipc'
import { fakeBackend } from './fake'

const laptop3: DeviceBundles = {
  number: 3, device_id: '0192ab34-0000-7000-8000-000000000000', received: [1, 2, 3, 4, 5, 6, 8, 9], missing: [7],
  total: 9, unnumbered: 0,
}
const laptop1: DeviceBundles = { ...laptop3, number: 1, device_id: 'aaaabbbb-1', received: [1, 2], missing: [], total: 2 }

const replacedRow: ConflictRow = {
  id: 'c1', instance_id: '0192cdef-1111', incoming: '{}', device_id: 'd', received_at: '', resolution: 'took_incoming',
  restorable: true,
}

function fake(overrides: Partial<Backend> = {}): Backend {
  return fakeBackend({
    exchangeStatus: vi.fn(async () => [{ centre_recipient: null, is_centre: true, centre_public: 'age1x' }, null, '/d/exports'] as never),
    bundleStatus: vi.fn(async () => [laptop1, laptop3]),
    ...overrides,
  })
}

async function render(b: Backend, locale: 'zh-CN' | 'en' = 'zh-CN', role: 'laptop' | 'centre' = 'laptop') {
  setBackend(b)
  const w = mount(ExchangeView, { props: { role }, global: { plugins: [makeI18n(locale)] } })
  await flushPromises()
  return w
}

describe('ExchangeView', () => {
  it('pseudonymises personal data unless the analyst ticks the box, and says which', async () => {
    const exportData = vi.fn(async () => [['/d/exports/a.csv'], 3] as [string[], number])
    const w = await render(fake({ exportData }))
    expect(w.text()).toContain('换成代号')
    await w.find('[data-testid="data-export"]').trigger('click')
    await flushPromises()
    expect(exportData.mock.calls[0]).toEqual(['csv', 'zh-CN', '/d/exports', false])
    await w.find('[data-testid="data-personal"]').setValue(true)
    expect(w.text()).toContain('会记入操作记录')
    await w.find('[data-testid="data-export"]').trigger('click')
    await flushPromises()
    expect(exportData.mock.calls[1]).toEqual(['csv', 'zh-CN', '/d/exports', true])
  })

  it('names the bundles of each laptop the centre has not received', async () => {
    const w = await render(fake())
    expect(w.findAll('[data-testid="bundle-status"] li').map((e) => e.text())).toEqual([
      '笔记本 1（aaaabbbb）：2 个数据包都已收到',
      '笔记本 3（0192ab34）：缺第 7 包（共 9 包）',
    ])
    const en = await render(fake(), 'en')
    expect(en.find('[data-testid="bundle-status"]').text()).toContain('laptop 3 (0192ab34): bundle 7 of 9 missing')
  })

  it('restores the version that taking the incoming one replaced', async () => {
    let rows = [replacedRow]
    const restoreReplaced = vi.fn(async () => {
      rows = []
      return '0192cdef-1111'
    })
    const w = await render(fake({ replacedVersions: vi.fn(async () => rows), restoreReplaced }))
    await w.find('[data-testid="restore-c1"]').trigger('click')
    await flushPromises()
    expect(restoreReplaced).toHaveBeenCalledWith('c1')
    expect(w.find('[data-testid="exchange-message"]').text()).toBe('已恢复问卷 0192cdef… 原来的版本。')
    expect(w.find('[data-testid="replaced"]').exists()).toBe(false)
  })

  it('shows a failed export with its reason and the bundle number of a good one', async () => {
    const exportBundle = vi
      .fn()
      .mockRejectedValueOnce({ code: 'file_unwritable', message: '无法写入文件 /media/u/x.shequ：文件夹不存在（U 盘是否已拔出？）', params: {} })
      .mockResolvedValueOnce(['/d/exports/x.shequ', { bundle_seq: 4, at: '', since: null, file: '', responses: 3, encrypted: false }])
    const w = await render(fake({ exportBundle }))
    await w.find('[data-testid="export-new"]').trigger('click')
    await w.find('[data-testid="confirm-ok"]').trigger('click')
    await flushPromises()
    expect(w.find('[data-testid="exchange-error"]').text()).toContain('U 盘是否已拔出')
    await w.find('[data-testid="export-new"]').trigger('click')
    await w.find('[data-testid="confirm-ok"]').trigger('click')
    await flushPromises()
    expect(w.find('[data-testid="exchange-message"]').text()).toBe('已导出 3 份问卷到 /d/exports/x.shequ（第 4 包）')
  })

  it('at the centre, sends clusters back only with laptop keys, and settles a record changed on both sides', async () => {
    const none = await render(fake({
      exchangeStatus: vi.fn(async () => [{ centre_recipient: null, is_centre: true, centre_public: 'age1x', laptop_keys: 0 }, null, '/d/exports'] as never),
    }), 'en', 'centre')
    expect(none.get('[data-testid="send-back-panel"]').text()).toContain('No laptop has sent a bundle yet')
    expect(none.get('[data-testid="send-back"]').attributes('disabled')).toBeDefined()

    const conflict = {
      id: 'x1', kind: 'follow_up', record_id: 'f1', incoming_version: 'v2',
      incoming: JSON.stringify({ kind: 'follow_up', id: 'f1', body: { action: '起草申请书', status: 'open' } }),
      stored: JSON.stringify({ action: '起草申请书', status: 'done' }),
      stored_version: 'v1', device_id: '0192ab34-0000', received_at: '', resolution: null,
    }
    const sharedConflicts = vi.fn().mockResolvedValueOnce([conflict]).mockResolvedValueOnce([conflict]).mockResolvedValue([])
    const resolveSharedConflict = vi.fn(async () => {})
    const exportBundle = vi.fn(async () => ['/d/exports/back.shequ', { responses: 0, bundle_seq: 1 }] as never)
    const w = await render(fake({
      exchangeStatus: vi.fn(async () => [{ centre_recipient: null, is_centre: true, centre_public: 'age1x', laptop_keys: 2 }, null, '/d/exports'] as never),
      sharedConflicts, resolveSharedConflict, exportBundle,
    }), 'zh-CN', 'centre')
    expect(w.get('[data-testid="send-back-panel"]').text()).toContain('按 2 台交过数据包的笔记本的密钥加密')
    await w.get('[data-testid="send-back"]').trigger('click')
    await flushPromises()
    expect(exportBundle).toHaveBeenCalledWith('/d/exports', false, false)
    expect(w.get('[data-testid="exchange-message"]').text()).toBe('已写出给 2 台笔记本的数据包：/d/exports/back.shequ')
    expect(w.get('[data-testid="shared-conflicts"]').text()).toContain('会议待办：本机是“起草申请书 · 已完成”，设备 0192ab34 改成了“起草申请书 · 待办”')
    await w.get('[data-testid="shared-take"]').trigger('click')
    await flushPromises()
    expect(resolveSharedConflict).toHaveBeenCalledWith('x1', true)
    expect(w.find('[data-testid="shared-conflicts"]').exists()).toBe(false)
  })
})
