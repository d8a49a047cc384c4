import { createApp } from 'vue'
import App from './App.vue'
import { makeI18n } from './i18n'
import { backend } from './ipc'
import './style.css'

// Start in the remembered language (zh-CN when none is stored or the store is unreadable).
backend
  .uiLang()
  .catch(() => 'zh-CN' as const)
  .then((lang) => {
    document.documentElement.lang = lang
    createApp(App).use(makeI18n(lang)).mount('#app')
  })
