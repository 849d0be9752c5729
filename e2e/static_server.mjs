// static_server.mjs: the smallest static file server the browser suites need. Bound to
// 127.0.0.1 on a random port, serves only the listed folders of the repository, and stops
// itself after maxLifetimeMs even if a test forgets to close it.
import http from 'node:http';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm', // instantiateStreaming insists on it
  '.json': 'application/json',
};

// `headers`: extra response headers, e.g. COOP/COEP for a cross-origin isolated page (where
// performance.now() is precise to microseconds instead of 0.1 ms; bench/browser.mjs uses it).
export async function startStaticServer({
  root = repoRoot,
  allow = ['/build-wasm/', '/wasm/', '/tests/vfs_contract/', '/e2e/', '/bench/'],
  maxLifetimeMs = 15 * 60 * 1000,
  headers = {},
} = {}) {
  const server = http.createServer(async (req, res) => {
    const pathname = decodeURIComponent(new URL(req.url, 'http://127.0.0.1').pathname);
    const file = path.join(root, pathname);
    if (!allow.some((a) => pathname.startsWith(a)) || !file.startsWith(root + path.sep)) {
      res.writeHead(404).end();
      return;
    }
    try {
      const body = await readFile(file);
      res.writeHead(200, {
        'content-type': TYPES[path.extname(file)] || 'application/octet-stream',
        'cache-control': 'no-store',
        ...headers,
      });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const stopTimer = setTimeout(() => server.close(), maxLifetimeMs);
  stopTimer.unref();
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    close: () => new Promise((resolve) => {
      clearTimeout(stopTimer);
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
