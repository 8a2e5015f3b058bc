// Builds the viewer into viz/dist/, which the gateway serves at `/` (assets under /assets/):
//   npx vite build --config viz/vite.config.mjs
// For development, `npx vite --config viz/vite.config.mjs` serves the page with hot reload and forwards
// /v1 (HTTP and the stream's WebSocket) to a running gateway: ADME_GATEWAY_URL, default
// http://127.0.0.1:8080.
// JavaScript, not TypeScript: eslint-plugin-import-x's cycle check crashes while following imports
// into vite's own package ("node with invalid interface loaded as resolver"), and the lint config
// skips *.mjs.
import react from '@vitejs/plugin-react';
import { defineConfig, loadEnv } from 'vite';

const root = decodeURIComponent(new URL('.', import.meta.url).pathname);

export default defineConfig(({ mode }) => {
  const env = loadEnv(mode, root, 'ADME_');
  const gateway = env.ADME_GATEWAY_URL ?? 'http://127.0.0.1:8080';
  return {
    root,
    base: '/',
    plugins: [react()],
    build: { outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 2000, sourcemap: true },
    server: { proxy: { '/v1': { target: gateway, ws: true, changeOrigin: true } } },
  };
});
