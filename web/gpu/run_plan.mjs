// Runs a WebGPU plan that `jitflow webgpu -m MODEL -o DIR` wrote, in node with Dawn (dawn.mjs):
//   node web/gpu/run_plan.mjs DIR --tokens 1,334,531,1055 -n 64
// prints the generated token ids, one line, and the decode speed on stderr.
import fs from 'node:fs';
import path from 'node:path';
import { dawnDevice } from './dawn.mjs';
import { PlanRunner } from './runtime.js';

// A reader of DIR/data.bin for PlanRunner.create.
export function fileReader(file) {
  const fd = fs.openSync(file, 'r');
  return (offset, bytes) => {
    const out = new Uint8Array(bytes);
    const n = fs.readSync(fd, out, 0, bytes, offset);
    if (n !== bytes) throw new Error(`${file}: ${bytes} bytes at ${offset} asked, ${n} read (truncated?)`);
    return out;
  };
}

export async function loadPlan(device, dir) {
  const plan = JSON.parse(fs.readFileSync(path.join(dir, 'plan.json'), 'utf8'));
  return PlanRunner.create(device, plan, fileReader(path.join(dir, 'data.bin')));
}

async function main(args) {
  const dir = args[0];
  const option = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
  const tokens = option('--tokens', '1').split(',').map(Number);
  const nPredict = Number(option('-n', '16'));
  if (!dir) throw new Error('usage: node web/gpu/run_plan.mjs DIR [--tokens 1,2,3] [-n N]');
  const { device, description } = await dawnDevice();
  const runner = await loadPlan(device, dir);
  const start = performance.now();
  let first = 0;
  const out = await runner.generate(tokens, nPredict, (t, i) => {
    if (i === 0) first = performance.now();
  });
  const end = performance.now();
  console.log(out.join(','));
  console.error(`${description}: prompt of ${tokens.length} in ${(first - start).toFixed(0)} ms, ` +
                `decode ${((out.length - 1) / ((end - first) / 1000)).toFixed(2)} t/s`);
  runner.destroy();
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).then(() => process.exit(0), (e) => {
    console.error(e.message);
    process.exit(1);
  });
}
