/**
 * Vite build of the web UI (docs/web-ui.md): the agent desktop (`index.html`, served at `/`) and
 * the admin console (`admin.html`, served at `/admin`), Preact with TypeScript. `base: './'`: every
 * asset, API and WebSocket address is relative to the page, so the UI works behind a path prefix.
 * Output: `web/dist`, which the server serves (src/api/web-ui.ts).
 */
import { resolve } from 'node:path';
import { defineConfig } from 'vite';

const here = import.meta.dirname;
/** The running server the development server (`npx vite --config web/vite.config.ts`) forwards to. */
const server = process.env.SIPSERVER_URL ?? 'http://127.0.0.1:8080';

export default defineConfig({
  root: here,
  base: './',
  logLevel: 'warn',
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  server: {
    proxy: {
      '/api': { target: server, changeOrigin: true },
      '/cti': { target: server.replace(/^http/, 'ws'), ws: true, changeOrigin: true },
    },
  },
  build: {
    outDir: resolve(here, 'dist'),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    rollupOptions: {
      input: { index: resolve(here, 'index.html'), admin: resolve(here, 'admin.html') },
    },
  },
});
