// The WebGPU back end's tests, in node with Dawn (SwiftShader when there is no GPU):
//   node web/gpu/tests/gpu_test.mjs BUILD_DIR WORK_DIR
// BUILD_DIR is a native build (its wgsl_cases and jitflow). Every WGSL kernel against its CPU
// reference twin (src/gpu/wgsl_cases.cpp writes the cases and the references' outputs), then the
// whole decode step on the GPU against llama.cpp's greedy tokens (../shared/golden) for
// stories260K and docs-28M (F16, and its Q8_0 and Q4_0 copies), and the errors a bad plan gives.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { dawnDevice } from '../dawn.mjs';
import { fileReader, loadPlan } from '../run_plan.mjs';
import { PlanRunner } from '../runtime.js';
import { PlanTuner, adapterFingerprint } from '../tuner.js';
import { measureAdapter } from '../adapter_limits.js';
import { topKSampler } from '../sampler.js';

const [buildDir, workDir] = process.argv.slice(2);
if (!buildDir || !workDir) throw new Error('usage: node web/gpu/tests/gpu_test.mjs BUILD_DIR WORK_DIR');
const repo = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../..');
const shared = path.join(repo, '..', 'shared');
const jitflow = path.join(buildDir, 'tools/jitflow/jitflow');
fs.mkdirSync(workDir, { recursive: true });

let failed = 0;
async function check(name, fn) {
  const start = performance.now();
  try {
    await fn();
    console.log(`PASS ${name} (${((performance.now() - start) / 1000).toFixed(1)} s)`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}\n  ${e.stack}`);
  }
}

// The first element of `got` outside |got - want| <= atol + rtol |want|, as a message, or ''.
function compare(got, want, atol, rtol) {
  for (let i = 0; i < want.length; i++) {
    const ok = got instanceof Uint32Array ? got[i] === want[i] : Math.abs(got[i] - want[i]) <= atol + rtol * Math.abs(want[i]);
    if (!ok) return `element ${i}: got ${got[i]}, want ${want[i]} (atol ${atol}, rtol ${rtol})`;
  }
  return '';
}

async function runCases(device) {
  const dir = path.join(workDir, 'cases');
  fs.mkdirSync(dir, { recursive: true });
  execFileSync(path.join(buildDir, 'src/gpu/wgsl_cases'), [dir]);
  const { cases } = JSON.parse(fs.readFileSync(path.join(dir, 'cases.json'), 'utf8'));
  const data = fs.readFileSync(path.join(dir, 'cases.bin'));
  for (const c of cases) {
    const name = c.kernels.map((k) => k.name).join(' ');
    await check(`${name} equals its CPU reference`, async () => {
      const at = (offset, bytes) => new Uint8Array(data.buffer, data.byteOffset + c.data_base + offset, bytes);
      const runner = await PlanRunner.create(device, c, at);
      const encoder = device.createCommandEncoder();
      runner.encodeSteps(encoder);
      device.queue.submit([encoder.finish()]);
      for (const k of c.checks) {
        const Type = k.type === 'u32' ? Uint32Array : Float32Array;
        const want = new Type(at(k.expect, k.count * 4).slice().buffer);
        const got = new Type(await runner.readBuffer(k.buffer), 0, k.count);
        const mismatch = compare(got, want, k.atol, k.rtol);
        if (mismatch) throw new Error(`buffer ${c.buffers[k.buffer].name}: ${mismatch}`);
      }
      runner.destroy();
    });
  }
}

// Free-running greedy generation on the GPU reproduces llama.cpp's first nTokens tokens.
// The prompt goes through prefill passes of `batch` tokens (the last pass may be a decode pass).
async function runGolden(device, model, golden, nTokens, ctx, batch = 32) {
  const g = JSON.parse(fs.readFileSync(path.join(shared, 'golden', golden, 'greedy.json'), 'utf8')).results[0];
  await check(`${model} on the GPU writes llama.cpp's greedy tokens (${nTokens} of prompt ${g.id}, prefill passes of ${batch})`, async () => {
    const dir = path.join(workDir, golden);
    execFileSync(jitflow, ['webgpu', '-m', model, '-o', dir, '-c', String(ctx), '--batch', String(batch)]);
    const runner = await loadPlan(device, dir);
    const got = await runner.generate(g.prompt_tokens, nTokens);
    runner.destroy();
    const want = g.gen_tokens.slice(0, nTokens);
    if (got.join(',') !== want.join(',')) throw new Error(`tokens:\n  got  ${got}\n  want ${want}`);
  });
}

async function expectError(what, pattern, fn) {
  await check(what, async () => {
    try {
      await fn();
    } catch (e) {
      if (!pattern.test(e.message)) throw new Error(`error "${e.message}" does not match ${pattern}`);
      return;
    }
    throw new Error('no error');
  });
}

// stories260K tuned on this adapter while it generates: every workload searched (its pruned space,
// each candidate checked against the running kernel), none slower than where it started, the
// greedy tokens unchanged; a second load with the kdb starts from the winners and searches nothing.
async function runTuning(device, adapter) {
  const g = JSON.parse(fs.readFileSync(path.join(shared, 'golden', 'stories260K', 'greedy.json'), 'utf8')).results[0];
  const dir = path.join(workDir, 'stories260K-tuning');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'adapter.json'), JSON.stringify(await measureAdapter(device, adapter)));
  execFileSync(jitflow, ['webgpu', '-m', path.join(repo, 'models/stories260K.gguf'), '-o', dir, '-c', '128',
                         '--batch', '8', '--candidates', '--adapter', path.join(dir, 'adapter.json')]);
  const kdb = { records: [] };
  const fingerprint = adapterFingerprint(adapter);
  await check('stories260K tuned on the GPU while generating keeps llama.cpp\'s greedy tokens', async () => {
    const runner = await loadPlan(device, dir);
    const tuner = new PlanTuner(runner, { fingerprint, kdb });
    let more = true;
    const during = await runner.generate(g.prompt_tokens, g.n_gen, () => true, async () => {
      if (more) more = await tuner.next();
    });
    while (await tuner.next());
    const after = await runner.generate(g.prompt_tokens, g.n_gen);
    const progress = tuner.progress();
    runner.destroy();
    const searched = progress.workloads.filter((w) => w.candidates > 0);
    if (searched.length === 0 || !progress.done) throw new Error(`nothing tuned: ${JSON.stringify(progress)}`);
    for (const w of searched) {
      if (w.tried !== w.candidates || !(w.bestNs <= w.startNs)) throw new Error(`workload ${JSON.stringify(w)}`);
    }
    if (kdb.records.length !== searched.length) throw new Error(`${kdb.records.length} kdb records for ${searched.length} workloads`);
    for (const [what, got] of [['while tuning', during], ['after tuning', after]]) {
      if (got.join(',') !== g.gen_tokens.join(',')) throw new Error(`tokens ${what}:\n  got  ${got}\n  want ${g.gen_tokens}`);
    }
  });
  await check('a reload with the kernel database runs the winners and searches nothing', async () => {
    const runner = await loadPlan(device, dir);
    const tuner = new PlanTuner(runner, { fingerprint, kdb: structuredClone(kdb) });
    if (await tuner.next()) throw new Error('the tuner found work to do');
    const workloads = tuner.progress().workloads.filter((w) => w.candidates > 0);
    const want = new Map(kdb.records.map((r) => [r.workload, r.kernel]));
    for (const w of workloads) {
      if (!w.fromKdb || w.tried !== 0 || w.kernel !== want.get(w.name)) throw new Error(`workload ${JSON.stringify(w)}`);
    }
    const got = await runner.generate(g.prompt_tokens, g.n_gen);
    runner.destroy();
    if (got.join(',') !== g.gen_tokens.join(',')) throw new Error(`tokens:\n  got  ${got}\n  want ${g.gen_tokens}`);
  });
}

const { device, adapter, description } = await dawnDevice();
console.log(`adapter: ${description}`);
await runCases(device);
await runGolden(device, path.join(repo, 'models/stories260K.gguf'), 'stories260K', 64, 128, 4);
for (const [file, golden] of [['docs-28M.gguf', 'docs-28M'], ['docs-28M/docs-28M-Q8_0.gguf', 'docs-28M-Q8_0'],
                              ['docs-28M/docs-28M-Q4_0.gguf', 'docs-28M-Q4_0']]) {
  const model = path.join(shared, 'models', file);
  if (fs.existsSync(model)) await runGolden(device, model, golden, 16, 64);
  else console.log(`SKIP ${golden}: ${model} is absent`);
}

await runTuning(device, adapter);

// Sampling from the GPU's top-k candidates: a seed repeats a run, temperature 0 is greedy.
await check('sampling from the GPU\'s candidates: a seed repeats, temperature 0 is greedy', async () => {
  const g = JSON.parse(fs.readFileSync(path.join(shared, 'golden', 'stories260K', 'greedy.json'), 'utf8')).results[0];
  const runner = await loadPlan(device, path.join(workDir, 'stories260K'));
  const run = (options) => runner.generate(g.prompt_tokens, 24, () => true, null, topKSampler(options));
  const a = await run({ temperature: 1, seed: 7 }), b = await run({ temperature: 1, seed: 7 });
  const greedy = await run({ temperature: 0 });
  runner.destroy();
  if (a.join(',') !== b.join(',')) throw new Error(`seed 7 twice:\n  ${a}\n  ${b}`);
  if (a.join(',') === greedy.join(',')) throw new Error(`temperature 1 drew the greedy tokens: ${a}`);
  if (greedy.join(',') !== g.gen_tokens.slice(0, 24).join(',')) throw new Error(`greedy: ${greedy}`);
});

const storiesPlan = JSON.parse(fs.readFileSync(path.join(workDir, 'stories260K', 'plan.json'), 'utf8'));
await expectError('a truncated data.bin is an error naming the file', /truncated\.bin: \d+ bytes at \d+ asked, 1000 read/, async () => {
  const cut = path.join(workDir, 'truncated.bin');
  fs.writeFileSync(cut, fs.readFileSync(path.join(workDir, 'stories260K', 'data.bin')).subarray(0, 1000));
  await PlanRunner.create(device, storiesPlan, fileReader(cut));
});
await expectError('a kernel that does not compile is an error naming it', /WGSL kernel f32-rmsnorm__wgsl does not compile/, async () => {
  const broken = structuredClone(storiesPlan);
  const k = broken.kernels.find((kernel) => kernel.name === 'f32-rmsnorm__wgsl');
  k.wgsl = k.wgsl.replace('1.0 / sqrt(', '1.0 / sqrtt(');
  await PlanRunner.create(device, broken, fileReader(path.join(workDir, 'stories260K', 'data.bin')));
});
await expectError('a plan of another format is refused', /not a jitflow WebGPU plan/, async () => {
  await PlanRunner.create(device, { ...storiesPlan, version: 2 }, () => new Uint8Array(0));
});

console.log(failed === 0 ? 'all WebGPU tests passed' : `${failed} WebGPU test(s) failed`);
process.exit(failed === 0 ? 0 : 1);
