// Browser tests: the demo page in headless Debian Chromium (playwright-core), served with COOP/COEP
// on 127.0.0.1 (web/serve.mjs). The greedy texts come from llama.cpp (../shared/golden/*/greedy.json).
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
  server.close();
}
console.log(failures === 0 ? 'all browser tests passed' : `${failures} browser test(s) failed`);
process.exit(failures === 0 ? 0 : 1);
