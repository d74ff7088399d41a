// Prefill and decode tokens/s of the browser build in headless Chromium, per model and thread
// count: one warm-up generation, then R timed ones; medians. The same prompt and lengths as
// `jitflow run -p PROMPT -n N --temp 0 -t T` natively, for a ratio from the same machine and run.
// Usage: node web/bench/browser_bench.mjs --models DIR --model A.gguf[,B.gguf] [--threads 1,2]
//          [--tokens 64] [--runs 3] [--prompt TEXT] [--site build/wasm/web]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { serve } from '../serve.mjs';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const site = path.resolve(arg('--site', 'build/wasm/web'));
const models = arg('--models', null);
const files = arg('--model', 'stories260K.gguf').split(',');
const threadCounts = arg('--threads', '1,2').split(',').map(Number);
const tokens = Number(arg('--tokens', 64));
const runs = Number(arg('--runs', 3));
const prompt = arg('--prompt', 'Once upon a time, in a small town by the sea, there lived an old man who');

const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const server = await serve({ site, port: 0, models });
const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'jitflow-chromium-'));
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium', ignoreDefaultArgs: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
         `--user-data-dir=${profile}`, '--remote-debugging-pipe', 'about:blank'],
});
try {
  const page = await browser.newPage();
  page.on('pageerror', (e) => console.error(`[pageerror] ${e.message}`));
  await page.goto(`http://127.0.0.1:${server.address().port}/demo/index.html`);
  for (const file of files) {
    for (const threads of threadCounts) {
      const result = await page.evaluate(async ({ file, threads, tokens, runs, prompt }) => {
        const { Jitflow } = await import('../jitflow.js');
        const jf = await Jitflow.create({ threads });
        try {
          await jf.loadModel(`../models/${file}`);
          const all = [];
          for (let i = 0; i <= runs; ++i) all.push(await jf.generate(prompt, { maxTokens: tokens, temperature: 0 }));
          return all.slice(1);
        } finally {
          jf.terminate();
        }
      }, { file, threads, tokens, runs, prompt });
      console.log(JSON.stringify({
        model: file, threads, tokens, runs, promptTokens: result[0].promptTokens,
        prefillTokensPerS: median(result.map((r) => r.prefillTokensPerS)),
        decodeTokensPerS: median(result.map((r) => r.decodeTokensPerS)),
      }));
    }
  }
} finally {
  await browser.close();
  server.close();
  fs.rmSync(profile, { recursive: true, force: true });
}
