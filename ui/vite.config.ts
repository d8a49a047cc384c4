import { defineConfig } from 'vitest/config'
import vue from '@vitejs/plugin-vue'
import { fileURLToPath } from 'node:url'

// The message catalogues live in ../assets/i18n, shared with the Rust side.
export default defineConfig({
  plugins: [vue()],
  clearScreen: false,
  base: './',
  resolve: {
    alias: { '@assets': fileURLToPath(new URL('../assets', import.meta.url)) },
  },
  server: { port: 5173, strictPort: true, fs: { allow: ['..'] } },
  build: { outDir: 'dist', emptyOutDir: true, target: 'safari15', chunkSizeWarningLimit: 1200 },
  test: { environment: 'happy-dom' },
})
