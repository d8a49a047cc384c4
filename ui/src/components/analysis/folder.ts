import { onMounted, ref } from 'vue'
import { backend } from '../../ipc'

/** The export folder field, starting at the default export folder (as ExchangeView does). */
export function useExportFolder() {
  const folder = ref('')
  onMounted(async () => {
    try {
      const [, , dir] = await backend.exchangeStatus()
      folder.value ||= dir
    } catch {
      // No default: the analyst types a folder.
    }
  })
  return folder
}
