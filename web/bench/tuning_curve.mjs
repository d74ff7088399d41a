// Time to speed-up of in-page tuning: decode latency against seconds since page load, in headless
// Chromium, for a page that tunes from nothing (cold: fresh profile, no kdb), for the same page
// reloaded (warm: the kdb and device limits kept in OPFS), and the speed a full-space search finds
// (every candidate unpruned, searched to the end before timing). The page loads the model, starts
// tuning in the background (between requests) and generates in a loop, tuneSliceMs of tuning after
// each token; each token's time excludes tuning.
// Usage: node web/bench/tuning_curve.mjs [--models DIR] [--model docs-28M.gguf] [--seconds 30]
//          [--threads 0] [--slice 20] [--site build/wasm/web]
// Prints JSON lines: one per scenario with per-second medians of ms/token, then a summary.
import path from 'node:path';
import { launchChromium } from '../chromium.mjs';
import { serve } from '../serve.mjs';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const site = path.resolve(arg('--site', 'build/wasm/web'));
const models = arg('--models', null);
const model = arg('--model', 'docs-28M.gguf');
const seconds = Number(arg('--seconds', 30));
const threads = Number(arg('--threads', 0));
const sliceMs = Number(arg('--slice', 20));
const prompt = 'Once upon a time, in a small town by the sea, there lived an old man who';

const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];

// In the page: load, tune, generate until `seconds` after page load; every decode token as
// [seconds since page load, ms]. fullSpace: tune the whole space to the end first, then time.
async function timeline({ model, seconds, threads, sliceMs, prompt, fullSpace }) {
  const now = () => performance.now() / 1e3;  // since the page's navigation began
  const { Jitflow } = await import('../jitflow.js');
  const jf = await Jitflow.create({ threads });
  await jf.loadModel(`../models/${model}`);
  const loadedS = now();
  let last = null;
  let doneS = null;
  const start = await jf.startTuning({ fullSpace, onProgress: (p) => {
    last = p;
    if (p.done && doneS === null) doneS = now();
  } });
  if (fullSpace) {
    while (!last?.done) await new Promise((r) => setTimeout(r, 200));
  }
  const tokens = [];
  const until = fullSpace ? now() + 5 : seconds;
  while (now() < until) {
    let first = true;
    await jf.generate(prompt, { maxTokens: 64, tuneSliceMs: fullSpace ? 0 : sliceMs, onToken: (piece, ms) => {
      if (!first) tokens.push([now(), ms]);
      first = false;
    } });
  }
  jf.terminate();
  const p = last ?? start.progress;
  return { loadedS, tuneDoneS: doneS, microbenchMs: start.microbenchMs, limitsCached: start.limitsCached,
           candidates: p.candidates, tried: p.tried, rejected: p.workloads.reduce((n, w) => n + w.rejected, 0),
           kernels: p.workloads.map((w) => `${w.shape}: ${w.current}`), tokens };
}

const server = await serve({ site, port: 0, models });
const url = `http://127.0.0.1:${server.address().port}/demo/index.html?tune=0`;
const browser = await launchChromium();

// One page load in `context` (its OPFS is what a reload keeps); per-second medians of ms/token.
async function scenario(context, name, fullSpace = false) {
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error(`[pageerror] ${e.message}`));
  await page.goto(url);
  const r = await page.evaluate(timeline, { model, seconds, threads, sliceMs, prompt, fullSpace });
  await page.close();
  const bins = [];
  for (let s = 0; s < Math.ceil(seconds); ++s) {
    const inBin = r.tokens.filter(([t]) => t >= s && t < s + 1).map(([, ms]) => ms);
    bins.push(inBin.length ? Number(median(inBin).toFixed(3)) : null);
  }
  const out = { scenario: name, model, loadedS: r.loadedS, tuneDoneS: r.tuneDoneS, microbenchMs: r.microbenchMs,
                limitsCached: r.limitsCached, candidates: r.candidates, tried: r.tried, rejected: r.rejected,
                kernels: r.kernels,
                medianMs: median(r.tokens.map(([, ms]) => ms)), msPerTokenBySecond: bins };
  console.log(JSON.stringify(out));
  return out;
}

try {
  const tuned = await browser.newContext();  // cold, then reloaded: the same origin storage
  const cold = await scenario(tuned, 'cold');
  const warm = await scenario(tuned, 'warm');
  const full = await scenario(await browser.newContext(), 'full space', true);
  const at10 = median(cold.msPerTokenBySecond.slice(9, 11).filter((v) => v !== null));
  const reached = cold.msPerTokenBySecond.findIndex((v) => v !== null && v <= full.medianMs / 0.95);
  console.log(JSON.stringify({
    summary: model, fullSpaceMs: full.medianMs, coldAt10sMs: at10, coldSpeedAt10sVsFull: full.medianMs / at10,
    coldFirstSecondWithin95PctOfFull: reached, warmMedianMs: warm.medianMs, warmSpeedVsFull: full.medianMs / warm.medianMs,
  }));
} finally {
  await browser.close();
  server.close();
}
