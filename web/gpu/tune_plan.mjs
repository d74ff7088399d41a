// Tunes a WebGPU plan (`jitflow webgpu -m MODEL -o DIR --candidates`) on this machine's adapter, in
// node with Dawn, while it generates:
//   node web/gpu/tune_plan.mjs DIR [--tokens 1,2,3] [-n 32] [--slice-ms 100] [--kdb FILE] [--csv FILE]
// Decodes n tokens on the plan's kernels, then tunes for a slice between generated tokens until
// every workload is searched (the tuner swaps each better kernel into the running plan), then
// decodes n tokens again. Prints each workload's space (full -> pruned), its kernel before and
// after and how long until it was within 5 % of its best; --csv writes the per-token latency
// against seconds since the plan was loaded; --kdb reads and writes the winners (JSON).
import fs from 'node:fs';
import { dawnDevice } from './dawn.mjs';
import { loadPlan } from './run_plan.mjs';
import { PlanTuner, adapterFingerprint } from './tuner.js';
import { measureCopyBandwidth } from './adapter_limits.js';

async function decodeSpeed(runner, tokens, n) {
  let first = 0;
  await runner.generate(tokens, n, (t, i) => {
    if (i === 0) first = performance.now();
  });
  return (n - 1) / ((performance.now() - first) / 1000);
}

async function main(args) {
  const dir = args[0];
  const option = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
  if (!dir) throw new Error('usage: node web/gpu/tune_plan.mjs DIR [--tokens 1,2] [-n 32] [--kdb FILE] [--csv FILE]');
  const tokens = option('--tokens', '1').split(',').map(Number);
  const n = Number(option('-n', '32'));
  const kdbPath = option('--kdb', null);
  const csvPath = option('--csv', null);
  const sliceMs = Number(option('--slice-ms', '100'));
  const loadStart = performance.now();
  const { device, adapter, description } = await dawnDevice();
  const runner = await loadPlan(device, dir);
  const since = () => (performance.now() - loadStart) / 1000;
  console.log(`${description}: plan loaded in ${since().toFixed(1)} s`);

  const before = await decodeSpeed(runner, tokens, n);
  const kdb = kdbPath && fs.existsSync(kdbPath) ? JSON.parse(fs.readFileSync(kdbPath, 'utf8')) : { records: [] };
  const tuner = new PlanTuner(runner, { fingerprint: adapterFingerprint(adapter), kdb });
  // Each workload's best time as the search went: when it came within 5 % of its final best.
  const history = new Map();
  const tuneStart = performance.now();
  const samples = [];
  let last = performance.now(), more = true;
  while (more) {
    await runner.generate(tokens, n, (t, i) => {
      const now = performance.now();
      if (i > 0) samples.push([since(), now - last]);
      last = now;
    }, async () => {
      if (!more) return;
      const done = new Set(tuner.progress().workloads.filter((w) => w.tried === w.candidates).map((w) => w.name));
      more = await tuner.runFor(sliceMs);
      for (const w of tuner.progress().workloads) {
        if (!history.has(w.name)) history.set(w.name, []);
        history.get(w.name).push([(performance.now() - tuneStart) / 1000, w.bestNs]);
        if (w.tried === w.candidates && !done.has(w.name)) {
          console.log(`  ${since().toFixed(1)} s: ${w.name} searched (${w.tried}): ${w.kernel}, ` +
                      `${Math.round(w.startNs)} -> ${Math.round(w.bestNs)} ns`);
        }
      }
      last = performance.now();
    });
  }
  const tuneSeconds = (performance.now() - tuneStart) / 1000;
  const after = await decodeSpeed(runner, tokens, n);

  // A matvec streams its weights once: their bytes over its time, against a copy's bandwidth.
  const copy = await measureCopyBandwidth(device);
  const weightBytes = (w) => runner.plan.buffers[runner.plan.steps[w.steps[0]].buffers[0]].bytes;
  console.log(`copy bandwidth ${copy.toFixed(1)} GB/s (read + write)`);
  console.log('| workload | space | tried | kernel before | ns | kernel after | ns | weights GB/s (% of copy) | s to within 5 % |');
  console.log('| --- | ---: | ---: | --- | ---: | --- | ---: | ---: | ---: |');
  for (const w of tuner.progress().workloads) {
    const reached = (history.get(w.name) ?? []).find(([, ns]) => ns <= w.bestNs * 1.05);
    const workload = runner.plan.workloads.find((x) => x.name === w.name);
    const gbps = workload.pass === 'decode' ? weightBytes(workload) / w.bestNs : null;
    console.log(`| ${w.name} | ${w.fullSpace} -> ${w.candidates} | ${w.tried}${w.fromKdb ? ' (kdb)' : ''} | ` +
                `${w.startKernel ?? '-'} | ${Math.round(w.startNs ?? 0)} | ${w.kernel} | ${Math.round(w.bestNs)} | ` +
                `${gbps ? `${gbps.toFixed(2)} (${(100 * gbps / copy).toFixed(0)} %)` : '-'} | ${reached ? reached[0].toFixed(1) : '-'} |`);
  }
  console.log(`decode ${before.toFixed(2)} t/s before tuning, ${after.toFixed(2)} t/s after (${(after / before).toFixed(2)}x); ` +
              `tuning took ${tuneSeconds.toFixed(1)} s while generating`);
  if (kdbPath) fs.writeFileSync(kdbPath, JSON.stringify(kdb, null, 1));
  if (csvPath) fs.writeFileSync(csvPath, 'seconds_since_load,ms_per_token\n' + samples.map(([s, ms]) => `${s.toFixed(3)},${ms.toFixed(2)}`).join('\n') + '\n');
  runner.destroy();
}

main(process.argv.slice(2)).then(() => process.exit(0), (e) => {
  console.error(e.stack);
  process.exit(1);
});
