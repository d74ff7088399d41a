// The peer engine's numbers for browser_bench.mjs: prefill and decode tokens/s of wllama
// (@wllama/wllama, llama.cpp compiled to WebAssembly) in the same headless Chromium, on the same
// GGUF files, prompt, lengths and thread counts; one warm-up completion, then R timed ones; medians.
// Timings are llama.cpp's own (llama-server's `timings` of the final streamed chunk), not the page's:
//   prefill t/s = prompt_n / prompt_ms        (prompt evaluation, plus sampling the first token)
//   decode t/s  = (predicted_n - 1) / predicted_ms
// predicted_ms runs from the first sampled token to the last, so it covers predicted_n - 1 forward
// passes: the same count jitflow's decodeTokensPerS divides by (llama-server's own
// predicted_per_second divides by predicted_n). Greedy (temperature 0), stops at end-of-generation
// like jitflow, and the prompt cache is off so that every run evaluates the whole prompt again.
// Usage: node web/bench/wllama_bench.mjs --models DIR --model A.gguf[,B.gguf] [--threads 1,2]
//          [--tokens 64] [--runs 3] [--prompt TEXT] [--ctx 512]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium } from '../chromium.mjs';
import { serve } from '../serve.mjs';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const models = arg('--models', null);
const files = arg('--model', 'stories260K.gguf').split(',');
const threadCounts = arg('--threads', '1,2').split(',').map(Number);
const tokens = Number(arg('--tokens', 64));
const runs = Number(arg('--runs', 3));
const prompt = arg('--prompt', 'Once upon a time, in a small town by the sea, there lived an old man who');
const nCtx = Number(arg('--ctx', 512));

// A throwaway site: an empty page (a same-origin, cross-origin isolated document to run in) and a
// link to the package's esm/ folder (ES module + its single wasm build); serve.mjs follows links.
const esm = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'node_modules', '@wllama', 'wllama', 'esm');
const site = fs.mkdtempSync(path.join(os.tmpdir(), 'wllama-site-'));
fs.writeFileSync(path.join(site, 'index.html'), '<!doctype html><title>wllama bench</title><link rel="icon" href="data:,">\n');
fs.symlinkSync(esm, path.join(site, 'wllama'));

const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const server = await serve({ site, port: 0, models });
const browser = await launchChromium();
try {
  const page = await browser.newPage();
  page.on('pageerror', (e) => console.error(`[pageerror] ${e.message}`));
  await page.goto(`http://127.0.0.1:${server.address().port}/index.html`);
  for (const file of files) {
    for (const threads of threadCounts) {
      let result;
      try {
        result = await page.evaluate(async ({ file, threads, tokens, runs, prompt, nCtx }) => {
          const { Wllama } = await import('/wllama/index.js');
          // Native logs off: llama.cpp prints per-request lines that would drown the JSON lines.
          const wllama = new Wllama({ default: '/wllama/wasm/wllama.wasm' }, { suppressNativeLog: true,
            logger: { debug: () => {}, log: () => {}, warn: console.warn, error: console.error } });
          try {
            // n_gpu_layers 0: CPU only, as jitflow's browser build (and no WebGPU in this Chromium anyway).
            // n_parallel 1: one slot, one sequence, as jitflow's single session.
            await wllama.loadModelFromUrl(`/models/${file}`, { useCache: false, n_ctx: nCtx, n_threads: threads,
                                                               n_gpu_layers: 0, n_parallel: 1 });
            const all = [];
            for (let i = 0; i <= runs; ++i) {
              let text = '', timings = null;
              await wllama.createCompletion({
                prompt, max_tokens: tokens, temperature: 0, cache_prompt: false, stream: true,
                onData: (chunk) => {
                  text += chunk.choices?.[0]?.text ?? '';
                  timings = chunk.timings ?? timings;
                },
              });
              all.push({ text, timings });
            }
            return { crossOriginIsolated, multithread: wllama.isMultithread(), nThreads: wllama.getNumThreads(),
                     runs: all.slice(1) };
          } finally {
            await wllama.exit();
          }
        }, { file, threads, tokens, runs, prompt, nCtx });
      } catch (e) {
        console.log(JSON.stringify({ engine: 'wllama', model: file, threads, error: e.message.split('\n')[0] }));
        continue;
      }
      const t = result.runs.map((r) => r.timings);
      console.log(JSON.stringify({
        engine: 'wllama', model: file, threads, tokens, runs, promptTokens: t[0].prompt_n,
        generatedTokens: t[0].predicted_n,
        prefillTokensPerS: median(t.map((x) => x.prompt_n * 1000 / x.prompt_ms)),
        decodeTokensPerS: median(t.map((x) => (x.predicted_n - 1) * 1000 / x.predicted_ms)),
        crossOriginIsolated: result.crossOriginIsolated, multithread: result.multithread, wllamaThreads: result.nThreads,
        text: result.runs[0].text,
      }));
    }
  }
} finally {
  await browser.close();
  server.close();
  fs.rmSync(site, { recursive: true, force: true });
}
