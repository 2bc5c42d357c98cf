/// <reference types="vitest/config" />
// The dashboard's build (dist/, served by the query API under /) and its unit tests.
import tailwindcss from '@tailwindcss/vite';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// `npm run dev` serves the app with hot reload and forwards API calls to a running
// query API (`insightlite api` or `insightlite demo --serve`).
const apiUrl = process.env.DASHBOARD_API_URL ?? 'http://127.0.0.1:8000';

export default defineConfig({
  plugins: [react(), tailwindcss()],
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    sourcemap: true,
    // Node 20's browsers-of-today baseline; no legacy bundle.
    target: 'es2022',
    rollupOptions: {
      output: {
        // Content-hashed names: the API can serve assets/ with a long cache lifetime.
        entryFileNames: 'assets/[name]-[hash].js',
        chunkFileNames: 'assets/[name]-[hash].js',
        assetFileNames: 'assets/[name]-[hash][extname]',
        // rrweb in a chunk of its own named replay-*: the size report keeps the
        // player's code out of the app's budget by that name, whichever page loads it.
        manualChunks(id: string) {
          return /node_modules\/(@rrweb|rrweb)/.test(id) ? 'replay-rrweb' : undefined;
        },
      },
    },
  },
  server: {
    proxy: {
      // ws: the Live page's WebSocket goes through the proxy too.
      '/v1': { target: apiUrl, changeOrigin: true, ws: true },
    },
  },
  test: {
    environment: 'jsdom',
    include: ['test/**/*.test.{ts,tsx}'],
    setupFiles: ['test/setup.ts'],
    restoreMocks: true,
    // The suite shares the machine with the rest of the project's tests: generous
    // per-test time, the tests wait for behaviour, not for speed.
    testTimeout: 30_000,
  },
});
