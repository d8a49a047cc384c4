import { describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import ImportView from '../components/ImportView.vue'
import { makeI18n } from '../i18n'
import { setBackend, type Backend, type InstrumentPreview } from '../ipc'
import { fakeBackend } from './fake'

const preview: InstrumentPreview = {
  source: 'f.xlsx', form_id: 'district_form', version: '2', title: '区里的量表', languages: ['中文 (zh)', 'English (en)'],
  question_count: 2,
  outline: [
    { depth: 0, name: 'g', kind: 'group', label: '第一部分', required: false, conditional: false, supported: true },
    { depth: 1, name: 'q', kind: 'integer', label: '年龄', required: true, conditional: true, supported: true },
    { depth: 1, name: 'p', kind: 'photo', label: '拍照', required: false, conditional: false, supported: false },
  ],
  warnings: ['工作表 survey 第 4 行：题目“p”的题型 photo 需要拍照……'],
  status: 'new_version',
  installed_versions: ['1'],
}

function backend(overrides: Partial<Backend>): Backend {
  return fakeBackend({
    previewInstrument: vi.fn(async () => preview),
    importInstrument: vi.fn(async () => [{ id: 'x', form_id: 'district_form', version: '2', title: '区里的量表', languages: [], question_count: 2, block_count: 1, imported_at: '' }, 'new_version'] as never),
    ...overrides,
  })
}

async function pick(w: ReturnType<typeof mount>) {
  const input = w.find('[data-testid="import-file"]')
  const file = new File([new Uint8Array([80, 75, 3, 4])], 'f.xlsx')
  Object.defineProperty(input.element, 'files', { value: [file] })
  await input.trigger('change')
  await flushPromises()
}

describe('ImportView', () => {
  it('previews structure, status and warnings, then imports on confirm', async () => {
    const b = backend({})
    setBackend(b)
    const w = mount(ImportView, { global: { plugins: [makeI18n('zh-CN')] } })
    await pick(w)
    expect(b.previewInstrument).toHaveBeenCalledWith('f.xlsx', new Uint8Array([80, 75, 3, 4]))
    expect(w.find('[data-testid="preview-title"]').text()).toBe('区里的量表')
    expect(w.find('[data-testid="preview-status"]').text()).toBe('新版本（已安装的版本：1）')
    expect(w.find('[data-testid="preview-warnings"]').text()).toContain('photo')
    expect(w.findAll('[data-testid="preview-outline"] tbody tr')).toHaveLength(3)
    await w.find('[data-testid="import-confirm"]').trigger('click')
    await flushPromises()
    expect(b.importInstrument).toHaveBeenCalledOnce()
    expect(w.emitted('done')?.[0]).toEqual(['已导入“区里的量表”（版本 2）。'])
  })

  it('shows the refusal from Rust and offers no import', async () => {
    const b = backend({
      previewInstrument: vi.fn(async () => {
        throw { code: 'form_invalid', message: '量表文件 f.xlsx 有误：工作表 survey 第 3 行', params: {} }
      }),
    })
    setBackend(b)
    const w = mount(ImportView, { global: { plugins: [makeI18n('en')] } })
    await pick(w)
    expect(w.find('[data-testid="import-error"]').text()).toContain('第 3 行')
    expect(w.find('[data-testid="import-confirm"]').exists()).toBe(false)
  })

  it('does not offer to import an unchanged version again', async () => {
    setBackend(backend({ previewInstrument: vi.fn(async () => ({ ...preview, status: 'unchanged' as const })) }))
    const w = mount(ImportView, { global: { plugins: [makeI18n('en')] } })
    await pick(w)
    expect(w.find('[data-testid="preview-status"]').text()).toBe('This version is already installed with the same content')
    expect(w.find('[data-testid="import-confirm"]').attributes('disabled')).toBeDefined()
  })
})
