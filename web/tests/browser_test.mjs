// Browser tests: the demo page in headless Debian Chromium (playwright-core), served with COOP/COEP
// on 127.0.0.1 (web/serve.mjs). The greedy texts come from llama.cpp (../shared/golden/*/greedy.json).
// The WebGPU back end runs on SwiftShader (Vulkan on the CPU: correct, slow), the adapter Chromium
// gives with --enable-unsafe-webgpu (web/chromium.mjs) on a machine without a GPU.
// Usage: node web/tests/browser_test.mjs [SITE] [ARTEFACTS]
//   SITE: the web build folder (default build/wasm/web); ARTEFACTS: where the screenshot goes.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium } from '../chromium.mjs';
import { serve } from '../serve.mjs';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const site = path.resolve(process.argv[2] ?? path.join(repo, 'build', 'wasm', 'web'));
const artefacts = path.resolve(process.argv[3] ?? path.join(site, '..', 'browser-test'));
const golden = (model) => JSON.parse(fs.readFileSync(path.join(repo, '..', 'shared', 'golden', model, 'greedy.json')));

let failures = 0;
async function check(name, body) {
  const started = Date.now();
  try {
    await body();
    console.log(`PASS ${name} (${((Date.now() - started) / 1e3).toFixed(1)} s)`);
  } catch (error) {
    ++failures;
    console.log(`FAIL ${name}: ${error.message}`);
  }
}

function expectEqual(got, want, what) {
  if (got !== want) throw new Error(`${what}:\n  got  ${JSON.stringify(got)}\n  want ${JSON.stringify(want)}`);
}

// A demo result against a golden greedy run.
function expectGolden(result, g) {
  if (result.error) throw new Error(`${result.error.code}: ${result.error.message}`);
  expectEqual(result.text, g.gen_text, 'generated text');
  expectEqual(result.stats.generatedTokens, g.n_gen, 'generated tokens');
  console.log(`  prefill ${result.stats.prefillTokensPerS.toFixed(1)} t/s, decode ${result.stats.decodeTokensPerS.toFixed(1)} t/s`);
}

// A demo result that ran on WebGPU, on the SwiftShader adapter.
function expectSwiftShader(result) {
  if (result.error) throw new Error(`${result.error.code}: ${result.error.message}`);
  expectEqual(result.load.backend, 'webgpu', 'backend loaded');
  expectEqual(result.stats.backend, 'webgpu', 'backend of the text');
  if (!/swiftshader/i.test(result.load.adapter)) throw new Error(`adapter ${result.load.adapter}`);
}

// Opens the demo with query parameters and waits until the run is done or failed.
async function runDemo(page, query, timeoutMs = 120000) {
  await page.goto(`${baseUrl}/demo/index.html?${new URLSearchParams(query)}`);
  await page.waitForFunction(() => ['done', 'error'].includes(document.body.dataset.state), null, { timeout: timeoutMs });
  return page.evaluate(() => window.jitflowResult);
}

const server = await serve({ site, port: 0 });
const baseUrl = `http://127.0.0.1:${server.address().port}`;
const browser = await launchChromium();
fs.mkdirSync(artefacts, { recursive: true });
try {
  const page = await browser.newPage();
  page.on('pageerror', (e) => console.log(`[pageerror] ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') console.log(`[console] ${m.text()}`); });

  const stories = golden('stories260K').results[0];
  await check("stories260K writes llama.cpp's greedy text", async () => {
    const result = await runDemo(page, { model: 'stories260K.gguf', prompt: stories.prompt, tokens: stories.n_gen,
                                         run: 1, tune: 0 });
    expectGolden(result, stories);
  });

  // The WebGPU back end in the same page: the plan from the engine, runtime.js on the adapter.
  const storiesGpuQuery = { model: 'stories260K.gguf', prompt: stories.prompt, tokens: stories.n_gen, run: 1,
                            backend: 'webgpu' };
  await check("stories260K on WebGPU (SwiftShader) writes llama.cpp's greedy text", async () => {
    const result = await runDemo(page, { ...storiesGpuQuery, tune: 0 });
    expectSwiftShader(result);
    expectGolden(result, stories);
  });

  // Tuned between requests: every workload searched, the text unchanged; a reload starts from the
  // WebGPU kdb in OPFS and searches nothing.
  await check('stories260K on WebGPU keeps the text after tuning, and its kdb survives a reload', async () => {
    expectGolden(await runDemo(page, { ...storiesGpuQuery, tune: 1 }), stories);
    // SwiftShader runs every candidate on the CPU: 19 s on an idle 2-core machine, over 60 s on a loaded one.
    await page.waitForFunction(() => window.jitflowTuning?.progress?.done || window.jitflowTuning?.progress?.error,
                               null, { timeout: 300000 }).catch(async (error) => {
      const last = await page.evaluate(() => window.jitflowTuning?.progress);
      throw new Error(`${error.message}; the tuner's last progress: ${JSON.stringify(last)}`);
    });
    const { start, progress } = await page.evaluate(() => window.jitflowTuning);
    if (progress.error) throw new Error(progress.error);
    expectEqual(start.backend, 'webgpu', 'tuner');
    const adopted = progress.workloads.reduce((n, w) => n + w.adopted, 0);
    console.log(`  tuned in ${progress.busyS.toFixed(1)} s: ${progress.tried} of ${progress.candidates} candidates, ` +
                `${adopted} swapped in; decode matvecs ${progress.startMatmulMsPerToken.toFixed(3)} -> ` +
                `${progress.matmulMsPerToken.toFixed(3)} ms/token`);
    for (const w of progress.workloads) {
      if (!w.done || w.fromKdb || w.tried !== w.pruned || !(w.currentNs <= w.startNs)) throw new Error(`workload ${JSON.stringify(w)}`);
    }
    await page.click('#generate');
    await page.waitForFunction(() => document.body.dataset.state === 'running');
    await page.waitForFunction(() => ['done', 'error'].includes(document.body.dataset.state), null, { timeout: 120000 });
    const tuned = await page.evaluate(() => window.jitflowResult);
    expectSwiftShader(tuned);
    expectGolden(tuned, stories);

    expectGolden(await runDemo(page, { ...storiesGpuQuery, tune: 1 }), stories);
    await page.waitForFunction(() => window.jitflowTuning?.start, null, { timeout: 30000 });
    const reloaded = await page.evaluate(() => window.jitflowTuning.start.progress);
    const searched = reloaded.workloads.filter((w) => !w.fromKdb).map((w) => w.shape);
    if (searched.length > 0 || !reloaded.done) throw new Error(`workloads not taken from the kdb: ${searched}`);
  });

  // Greedy runs on the GPU; sampling, the CPU's; an abort stops the GPU's generation.
  await check('a WebGPU model samples on the CPU at temperature > 0 and stops when aborted', async () => {
    const outcome = await page.evaluate(async (prompt) => {
      const { Jitflow } = await import('../jitflow.js');
      const jf = await Jitflow.create();
      try {
        await jf.loadModel('../models/stories260K.gguf', { backend: 'webgpu' });
        const sampled = await jf.generate(prompt, { maxTokens: 8, temperature: 0.8, seed: 1 });
        const abort = new AbortController();
        let pieces = 0;
        const aborted = await jf.generate(prompt, { maxTokens: 64, signal: abort.signal,
                                                    onToken: () => ++pieces === 3 && abort.abort() });
        return { backend: jf.backend, sampled, aborted, pieces };
      } finally {
        jf.terminate();
      }
    }, stories.prompt);
    expectEqual(outcome.backend, 'webgpu', 'backend loaded');
    expectEqual(outcome.sampled.backend, 'cpu', 'backend of sampling');
    if (!/greedy/.test(outcome.sampled.note)) throw new Error(`note: ${outcome.sampled.note}`);
    expectEqual(outcome.aborted.backend, 'webgpu', 'backend of greedy text');
    const n = outcome.aborted.generatedTokens;
    if (!(n >= 3 && n < 64 && outcome.pieces === n)) throw new Error(`${n} tokens, ${outcome.pieces} pieces after the abort`);
  });

  // A qwen2 model with linear biases: the WebGPU plan builder refuses it.
  await check("a model WebGPU does not run: 'webgpu' is an unsupported error, 'auto' runs it on the CPU", async () => {
    const outcome = await page.evaluate(async () => {
      const { Jitflow } = await import('../jitflow.js');
      const jf = await Jitflow.create();
      try {
        const url = '../models/synth/synth-qwen2-Q4_0.gguf';
        const refused = await jf.loadModel(url, { backend: 'webgpu' }).then(() => null,
                                                                           (e) => ({ name: e.name, code: e.code, message: e.message }));
        const auto = await jf.loadModel(url, { backend: 'auto' });
        const stats = await jf.generate('Hello world', { maxTokens: 4 });
        return { refused, auto, stats };
      } finally {
        jf.terminate();
      }
    });
    if (outcome.refused === null) throw new Error('the qwen2 model loaded on WebGPU');
    expectEqual(outcome.refused.name, 'JitflowError', 'error type');
    expectEqual(outcome.refused.code, 'unsupported', 'error code');
    if (!/biases/.test(outcome.refused.message)) throw new Error(`message: ${outcome.refused.message}`);
    expectEqual(outcome.auto.backend, 'cpu', "'auto' backend");
    if (!/biases/.test(outcome.auto.fallback)) throw new Error(`fallback: ${outcome.auto.fallback}`);
    expectEqual(outcome.stats.backend, 'cpu', 'backend of the text');
    expectEqual(outcome.stats.generatedTokens, 4, 'generated tokens');
  });

  // docs-28M on default kernels, then tuned in the page: tuning finishes, keeps or improves the
  // decode matmuls' time, and the model with the swapped-in kernels writes the same text.
  const docs = golden('docs-28M').results[0];
  const docsQuery = { model: 'docs-28M.gguf', prompt: docs.prompt, tokens: docs.n_gen, run: 1, tune: 1 };
  await check("docs-28M writes llama.cpp's greedy text, before and after tuning in the page", async () => {
    expectGolden(await runDemo(page, docsQuery), docs);
    await page.waitForFunction(() => window.jitflowTuning?.progress?.done, null, { timeout: 180000 });
    const { start, progress } = await page.evaluate(() => window.jitflowTuning);
    if (start.limitsCached) throw new Error('a fresh profile had device limits kept');
    const adopted = progress.workloads.reduce((n, w) => n + w.adopted, 0);
    console.log(`  device ${start.fingerprint} [${start.features}], microbenchmarks ${start.microbenchMs.toFixed(0)} ms`);
    console.log(`  tuned in ${progress.busyS.toFixed(1)} s: ${progress.tried} of ${progress.candidates} candidates, ` +
                `${adopted} swapped in; decode matmuls ${progress.startMatmulMsPerToken.toFixed(3)} -> ` +
                `${progress.matmulMsPerToken.toFixed(3)} ms/token`);
    for (const w of progress.workloads) {
      if (!w.done || w.pruned < 1 || w.pruned > w.full) throw new Error(`workload ${JSON.stringify(w)}`);
      console.log(`    ${w.shape} x${w.tokens}: space ${w.full} -> ${w.pruned}, ${w.rejected} rejected, ` +
                  `${w.start} ${(w.startNs / 1e3).toFixed(1)} us -> ${w.current} ${(w.currentNs / 1e3).toFixed(1)} us`);
    }
    if (progress.tried < 1) throw new Error('no candidate was tried');
    // Adopted kernels won back-to-back comparisons; the sum may drift with the machine's load only.
    if (!(progress.matmulMsPerToken <= 1.15 * progress.startMatmulMsPerToken)) throw new Error('tuning made it slower');
    await page.click('#generate');
    await page.waitForFunction(() => document.body.dataset.state === 'running');
    await page.waitForFunction(() => ['done', 'error'].includes(document.body.dataset.state), null, { timeout: 120000 });
    expectGolden(await page.evaluate(() => window.jitflowResult), docs);
    await page.screenshot({ path: path.join(artefacts, 'demo.png'), fullPage: true });
  });

  await check('the kernel database survives a reload', async () => {
    expectGolden(await runDemo(page, docsQuery), docs);
    await page.waitForFunction(() => window.jitflowTuning?.progress, null, { timeout: 60000 });
    const { start } = await page.evaluate(() => window.jitflowTuning);
    if (!start.limitsCached) throw new Error('the device limits were measured again');
    const searched = start.progress.workloads.filter((w) => !w.fromKdb).map((w) => w.shape);
    if (searched.length > 0) throw new Error(`workloads not taken from the kdb: ${searched}`);
    const kdb = JSON.parse(await page.evaluate(async () => {
      const { Jitflow } = await import('../jitflow.js');
      const jf = await Jitflow.create();
      try {
        return await jf.exportKdb();
      } finally {
        jf.terminate();
      }
    }));
    expectEqual(kdb.format, 'jitflow-kdb', 'export format');
    const ours = kdb.records.filter((r) => r.fingerprint === start.fingerprint);
    if (ours.length < start.progress.workloads.length) throw new Error(`${ours.length} records for this device`);
  });

  // Exported, forgotten, imported: a page that loads the model afterwards runs the imported winners.
  await check('an exported kernel database imports into a cleared page', async () => {
    const outcome = await page.evaluate(async () => {
      const { Jitflow } = await import('../jitflow.js');
      const jf = await Jitflow.create();
      try {
        const exported = await jf.exportKdb();
        await jf.clearKdb();
        const cleared = JSON.parse(await jf.exportKdb()).records.length;
        let badImport = null;
        await jf.importKdb('{"records": 1}').catch((e) => { badImport = e.code; });
        const { imported } = await jf.importKdb(exported);
        await jf.loadModel('../models/docs-28M.gguf');
        const start = await jf.startTuning({ background: false });
        return { cleared, badImport, imported, exported: JSON.parse(exported).records.length,
                 searched: start.progress.workloads.filter((w) => !w.fromKdb).length };
      } finally {
        jf.terminate();
      }
    });
    expectEqual(outcome.cleared, 0, 'records after clearKdb');
    expectEqual(outcome.badImport, 'invalid_argument', 'error code of a document that is no export');
    expectEqual(outcome.imported, outcome.exported, 'records imported');
    expectEqual(outcome.searched, 0, 'workloads searched after the import');
  });

  await check('a corrupt model file is a readable error', async () => {
    const error = await page.evaluate(async () => {
      const { Jitflow } = await import('../jitflow.js');
      const jf = await Jitflow.create();
      const bytes = await (await fetch('../models/stories260K.gguf')).arrayBuffer();
      try {
        await jf.loadModel(bytes.slice(0, 5000), { name: 'cut.gguf' });
        return null;
      } catch (e) {
        return { name: e.name, code: e.code, message: e.message };
      } finally {
        jf.terminate();
      }
    });
    if (error === null) throw new Error('a cut file loaded');
    expectEqual(error.name, 'JitflowError', 'error type');
    expectEqual(error.code, 'corrupt_file', 'error code');
    if (!error.message.includes('cut.gguf')) throw new Error(`the message does not name the file: ${error.message}`);
  });
} finally {
  await browser.close();
}

// A browser that gives no WebGPU adapter: 'auto' runs on the CPU and says why.
const noGpu = await launchChromium({ webgpu: false });
try {
  const page = await noGpu.newPage();
  page.on('pageerror', (e) => console.log(`[pageerror] ${e.message}`));
  const stories = golden('stories260K').results[0];
  await check("without a WebGPU adapter, 'auto' falls back to the CPU and writes the greedy text", async () => {
    const result = await runDemo(page, { model: 'stories260K.gguf', prompt: stories.prompt, tokens: stories.n_gen,
                                         run: 1, tune: 0, backend: 'auto' });
    expectGolden(result, stories);
    expectEqual(result.load.backend, 'cpu', 'backend loaded');
    if (!/WebGPU is unavailable/.test(result.load.fallback)) throw new Error(`fallback: ${result.load.fallback}`);
  });
} finally {
  await noGpu.close();
  server.close();
}
console.log(failures === 0 ? 'all browser tests passed' : `${failures} browser test(s) failed`);
process.exit(failures === 0 ? 0 : 1);
