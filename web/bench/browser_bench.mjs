// Prefill and decode tokens/s of the browser build in headless Chromium, per model and thread
// count: one warm-up generation, then R timed ones; medians. The same prompt and lengths as
// `jitflow run -p PROMPT -n N --temp 0 -t T` natively, for a ratio from the same machine and run.
// --tune: first tune the kernels in the page until the search ends (each model and thread count in
// a fresh browser context: nothing kept from an earlier one), then time. --backend cpu,webgpu: each
// model on each back end (WebGPU: the adapter Chromium gives, SwiftShader on a machine without a
// GPU; the thread count is then the engine's, which only tokenizes).
// Usage: node web/bench/browser_bench.mjs --models DIR --model A.gguf[,B.gguf] [--threads 1,2]
//          [--tokens 64] [--runs 3] [--prompt TEXT] [--site build/wasm/web] [--tune] [--backend cpu]
import path from 'node:path';
import { launchChromium } from '../chromium.mjs';
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
const tune = process.argv.includes('--tune');
const backends = arg('--backend', 'cpu').split(',');

const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const server = await serve({ site, port: 0, models });
const browser = await launchChromium();
try {
  for (const file of files) {
    for (const [threads, backend] of threadCounts.flatMap((t) => backends.map((b) => [t, b]))) {
      const context = await browser.newContext();
      const page = await context.newPage();
      page.on('pageerror', (e) => console.error(`[pageerror] ${e.message}`));
      await page.goto(`http://127.0.0.1:${server.address().port}/demo/index.html?tune=0`);
      const result = await page.evaluate(async ({ file, threads, tokens, runs, prompt, tune, backend }) => {
        const { Jitflow } = await import('../jitflow.js');
        const jf = await Jitflow.create({ threads });
        try {
          const load = await jf.loadModel(`../models/${file}`, { backend });
          let tuned = null;
          if (tune) {
            await new Promise((resolve) => jf.startTuning({ onProgress: (p) => {
              if (p.done || p.error) resolve(tuned = p);
            } }));
          }
          const all = [];
          for (let i = 0; i <= runs; ++i) all.push(await jf.generate(prompt, { maxTokens: tokens, temperature: 0 }));
          return { stats: all.slice(1), tuned, load };
        } finally {
          jf.terminate();
        }
      }, { file, threads, tokens, runs, prompt, tune, backend });
      await context.close();
      const stats = result.stats;
      console.log(JSON.stringify({
        engine: 'jitflow', model: file, backend: result.load.backend, adapter: result.load.adapter, threads, tokens, runs,
        tuned: tune, promptTokens: stats[0].promptTokens,
        prefillTokensPerS: median(stats.map((r) => r.prefillTokensPerS)),
        decodeTokensPerS: median(stats.map((r) => r.decodeTokensPerS)),
        ...(result.tuned && { tuneS: result.tuned.busyS, tried: result.tuned.tried,
                               kernels: result.tuned.workloads.map((w) => `${w.shape}: ${w.current}`) }),
      }));
    }
  }
} finally {
  await browser.close();
  server.close();
}
