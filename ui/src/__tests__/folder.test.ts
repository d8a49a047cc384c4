import { describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import { defineComponent, h, ref } from 'vue'
import FolderField from '../components/FolderField.vue'
import { makeI18n } from '../i18n'
import { setBackend } from '../ipc'
import { fakeBackend } from './fake'

// The field in a parent holding the folder, as the export panels use it.
function host(start: string) {
  const folder = ref(start)
  const Host = defineComponent(() => () =>
    h(FolderField, { modelValue: folder.value, testid: 'f', 'onUpdate:modelValue': (v: string) => (folder.value = v) }),
  )
  return { folder, Host }
}

describe('FolderField', () => {
  it('shows the folder read-only and takes only what the folder dialog picked', async () => {
    const chooseFolder = vi.fn().mockResolvedValueOnce('/media/U盘/交接').mockResolvedValueOnce(null)
    setBackend(fakeBackend({ chooseFolder }))
    const { folder, Host } = host('/data/exports')
    const w = mount(Host, { global: { plugins: [makeI18n('zh-CN')] } })
    const input = w.get('[data-testid=f]').element as HTMLInputElement
    expect(input.readOnly).toBe(true)
    expect(input.value).toBe('/data/exports')
    expect(w.get('[data-testid=f-choose]').text()).toBe('选择文件夹…')
    await w.get('[data-testid=f-choose]').trigger('click')
    await flushPromises()
    expect(chooseFolder).toHaveBeenLastCalledWith('/data/exports')
    expect(folder.value).toBe('/media/U盘/交接')
    // Cancelled: the folder stays.
    await w.get('[data-testid=f-choose]').trigger('click')
    await flushPromises()
    expect(chooseFolder).toHaveBeenLastCalledWith('/media/U盘/交接')
    expect(folder.value).toBe('/media/U盘/交接')
  })

  it('says why the dialog could not open, in English too', async () => {
    setBackend(fakeBackend({
      chooseFolder: vi.fn(async () => {
        throw { code: 'store_locked', message: 'The data is locked.', params: {} }
      }),
    }))
    const { folder, Host } = host('')
    const w = mount(Host, { global: { plugins: [makeI18n('en')] } })
    expect(w.get('[data-testid=f-choose]').text()).toBe('Choose folder…')
    await w.get('[data-testid=f-choose]').trigger('click')
    await flushPromises()
    expect(w.get('[data-testid=f-error]').text()).toBe('The data is locked.')
    expect(folder.value).toBe('')
  })
})
