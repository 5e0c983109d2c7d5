// For `npm run dev -w examples/hello` on its own (an API server already running);
// `npm start` at the repository root configures Vite itself (dev/stack.ts).
import react from '@vitejs/plugin-react';
import {defaultClientConditions, defineConfig} from 'vite';

const api = process.env['HELLO_API_URL'] ?? 'http://127.0.0.1:4849';

export default defineConfig({
  plugins: [react()],
  // `zync` from the repository's sources (see packages/zync/package.json)
  resolve: {conditions: ['zync-source', ...defaultClientConditions]},
  server: {host: '127.0.0.1', port: 5173, proxy: {'/api': api, '/.well-known': api}},
});
