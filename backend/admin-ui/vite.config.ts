/// <reference types="vitest/config" />
// Why base "/" and outDir dist: the Flask server (embedded mode) and nginx (production) both serve
// backend/admin-ui/dist/ at the site root, falling back to index.html for client-side routes.
import { defineConfig } from 'vite'
import react from '@vitejs/plugin-react'

export default defineConfig({
  plugins: [react()],
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: false,
    // No inline assets or scripts: the production CSP allows only 'self'.
    assetsInlineLimit: 0,
  },
  server: {
    // `npm run dev` talks to a local `nexavpn-server` on port 5000 through the same origin.
    proxy: { '/api': { target: process.env.NEXAVPN_API ?? 'http://127.0.0.1:5000', changeOrigin: false } },
  },
  test: {
    environment: 'jsdom',
    setupFiles: ['./src/test/setup.ts'],
    include: ['src/**/*.test.{ts,tsx}'],
    restoreMocks: true,
  },
})
