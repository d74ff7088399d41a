// Serves the browser build on 127.0.0.1 with the headers threaded WebAssembly needs (COOP/COEP:
// cross-origin isolation, SharedArrayBuffer):
//   /            the site: the web build folder (engine, worker, jitflow.js, demo/)
//   /models/X    X from --models DIR when given, else the repository's models/, else ../shared/models/
// Usage: node web/serve.mjs [--site build/wasm/web] [--port 8080] [--models DIR]   (prints the URL)
// As a module: `const server = await serve({ site, port: 0, models })` (port 0: any free port).
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MIME = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm',
               '.json': 'application/json', '.css': 'text/css', '.ts': 'text/plain' };

// The file a request path names, or null (never outside the roots).
function resolve(site, models, urlPath) {
  const modelDirs = [models, path.join(repo, 'models'), path.resolve(repo, '..', 'shared', 'models')];
  const roots = urlPath.startsWith('/models/')
    ? modelDirs.filter(Boolean).map((dir) => [path.resolve(dir), urlPath.slice('/models/'.length)])
    : [[site, urlPath.slice(1) || 'demo/index.html']];
  for (const [root, rest] of roots) {
    const file = path.resolve(root, rest);
    if (file.startsWith(root + path.sep) && fs.existsSync(file) && fs.statSync(file).isFile()) return file;
  }
  return null;
}

export function serve({ site = path.join(repo, 'build', 'wasm', 'web'), port = 8080, models = null } = {}) {
  site = path.resolve(site);
  const server = http.createServer((req, res) => {
    const file = resolve(site, models, decodeURIComponent(new URL(req.url, 'http://x').pathname));
    if (file === null) {
      res.writeHead(404);
      res.end();
      return;
    }
    res.writeHead(200, {
      'Content-Type': MIME[path.extname(file)] || 'application/octet-stream',
      'Content-Length': fs.statSync(file).size,
      'Cache-Control': 'no-store',
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Embedder-Policy': 'require-corp',
    });
    fs.createReadStream(file).pipe(res);
  });
  return new Promise((done) => server.listen(port, '127.0.0.1', () => done(server)));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const arg = (name, fallback) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? process.argv[i + 1] : fallback;
  };
  const server = await serve({ site: arg('--site', undefined), port: Number(arg('--port', 8080)),
                               models: arg('--models', null) });
  console.log(`jitflow demo: http://127.0.0.1:${server.address().port}/demo/index.html`);
}
