// The on-device tuner of a WebGPU plan's linear workloads (src/gpu/plan.h, made with --candidates:
// decode's matvecs first, then prefill's matmuls):
// one candidate at a time, it compiles the candidate's WGSL, runs it on the workload's own buffers
// into a scratch output, checks the result against the kernel the plan runs now (itself checked
// against the CPU reference in web/gpu/tests), times it, and swaps the fastest into the running
// plan for every step of the workload. Time is GPU timestamps when the device has
// `timestamp-query`, else the wall time of a queue of dispatches.
//   const tuner = new PlanTuner(runner, { kdb });
//   while (await tuner.next()) {}     // or runFor(ms), a slice between generated tokens
// kdb: { records: [] } of JSON records {fingerprint, workload, kernel, config, ns}; a workload
// found there for this fingerprint starts from its winner and is not searched.
import { GpuError, readGpuBuffer } from './runtime.js';

const REPEATS = 3;  // medians of 3 timings
const TARGET_MS = 5;  // dispatches per timing: enough for this long

function median(values) {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

// The largest |a - b| over the largest |b|.
function relativeError(a, b) {
  let diff = 0, scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / Math.max(scale, 1e-30);
}

// The adapter and browser (or node) a kdb record is valid for.
export function adapterFingerprint(adapter) {
  const info = adapter.info ?? {};
  const agent = globalThis.navigator?.userAgent ?? `node ${process.versions.node}`;
  return [info.vendor, info.architecture, info.device, info.description, agent].filter(Boolean).join(' | ');
}

export class PlanTuner {
  constructor(runner, { fingerprint = 'unknown', kdb = { records: [] }, full = false, onProgress = () => {} } = {}) {
    this.runner = runner;
    this.device = runner.device;
    this.fingerprint = fingerprint;
    this.kdb = kdb;
    this.onProgress = onProgress;
    this.timestamps = this.device.features.has('timestamp-query');
    this.querySet = this.timestamps ? this.device.createQuerySet({ type: 'timestamp', count: 2 }) : null;
    // Prefill candidates run over a whole batch: their own params, [batch, position 0, tokens 0...].
    const plan = runner.plan;
    this.batchParams = this.device.createBuffer({ size: plan.buffers[plan.params].bytes, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
    this.device.queue.writeBuffer(this.batchParams, 0, new Uint32Array([plan.batch, 0]));
    // Per workload: its candidates left, the one running and its time.
    this.queue = runner.plan.workloads.filter((w) => w.candidates.length > 0).map((w) => ({
      workload: w, left: [...w.candidates], best: null, bestNs: Infinity, startNs: null, tried: 0,
    }));
    this.started = performance.now();
    this.kdbApplied = false;
  }

  // Workloads whose winner the kdb holds for this device: swapped in, not searched.
  async applyKdb() {
    this.kdbApplied = true;
    for (const q of this.queue) {
      const record = this.kdb.records.find((r) => r.fingerprint === this.fingerprint && r.workload === q.workload.name);
      if (!record) continue;
      const named = (c) => this.runner.plan.kernels[c.kernel].name === record.kernel;
      const step = this.stepsOf(q.workload)[q.workload.steps[0]];
      const winner = q.workload.candidates.find(named) ?? (named(step) ? { kernel: step.kernel, config: null } : null);
      if (winner) {  // the plan's own kernel when it beat every candidate
        if (winner.config) await this.swap(q.workload, winner);
        q.left = [];
        q.fromKdb = true;
        q.best = winner;
        q.bestNs = record.ns;
      }
    }
  }

  stepsOf(workload) {
    return workload.pass === 'prefill' ? this.runner.plan.prefill_steps : this.runner.plan.steps;
  }

  // Runs the workload's first step with `pipeline` into a scratch copy of its output (the last
  // binding; params, when bound, is the tuner's whole batch) and returns the output; with `timed`,
  // also the ns per dispatch.
  async runCandidate(step, pipeline, groups, timed) {
    const { device, runner } = this;
    const y = step.buffers[step.buffers.length - 1];
    const bytes = runner.plan.buffers[y].bytes;
    const scratch = device.createBuffer({ size: bytes, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
    const bufferOf = (b) => (b === y ? scratch : b === runner.plan.params ? this.batchParams : runner.buffers[b]);
    const bindGroup = device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: step.buffers.map((b, i) => ({ binding: i, resource: { buffer: bufferOf(b) } })),
    });
    const dispatch = (encoder, n, timestampWrites) => {
      const pass = encoder.beginComputePass(timestampWrites ? { timestampWrites } : {});
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bindGroup);
      for (let i = 0; i < n; i++) pass.dispatchWorkgroups(groups[0], groups[1]);
      pass.end();
    };
    let encoder = device.createCommandEncoder();
    encoder.copyBufferToBuffer(runner.buffers[y], 0, scratch, 0, bytes);  // the accumulating ones add to y
    dispatch(encoder, 1);
    device.queue.submit([encoder.finish()]);
    const output = new Float32Array(await readGpuBuffer(this.device, scratch, bytes));
    let ns = null;
    if (timed) {
      // Calibrate the dispatches per timing (doubling until a timing lasts TARGET_MS), then time
      // afresh: the calibration's first timings carry the pipeline's warm-up.
      let n = 1;
      while (n < 4096 && await this.time((e, ts) => dispatch(e, n, ts)) < TARGET_MS) n *= 2;
      const times = [];
      for (let r = 0; r < REPEATS; r++) times.push(await this.time((e, ts) => dispatch(e, n, ts)) * 1e6 / n);
      ns = median(times);
    }
    scratch.destroy();
    return { output, ns };
  }

  // Milliseconds that `record(encoder, timestampWrites)` takes on the GPU.
  async time(record) {
    const { device } = this;
    const encoder = device.createCommandEncoder();
    if (!this.timestamps) {
      record(encoder, null);
      const start = performance.now();
      device.queue.submit([encoder.finish()]);
      await device.queue.onSubmittedWorkDone();
      return performance.now() - start;
    }
    record(encoder, { querySet: this.querySet, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 });
    const resolved = device.createBuffer({ size: 16, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
    encoder.resolveQuerySet(this.querySet, 0, 2, resolved, 0);
    device.queue.submit([encoder.finish()]);
    const [begin, end] = new BigInt64Array(await readGpuBuffer(this.device, resolved, 16));
    resolved.destroy();
    return Number(end - begin) / 1e6;
  }

  async swap(workload, candidate) {
    await this.runner.compile(candidate.kernel);
    for (const s of workload.steps) this.runner.setStepKernel(s, candidate.kernel, candidate.groups, workload.pass);
  }

  // Tries one candidate (or finishes a workload); false when every workload is done.
  async next() {
    if (!this.kdbApplied) await this.applyKdb();
    const q = this.queue.find((item) => item.left.length > 0);
    if (!q) return false;
    const { runner } = this;
    const step = this.stepsOf(q.workload)[q.workload.steps[0]];
    if (q.startNs === null) {  // the time to beat: the plan's kernel
      q.startNs = q.bestNs = (await this.runCandidate(step, runner.pipelineOf(step.kernel), step.groups, true)).ns;
      q.startKernel = runner.plan.kernels[step.kernel].name;
      q.best = q.workload.candidates.find((c) => c.kernel === step.kernel) ?? { kernel: step.kernel, config: null };
    }
    const candidate = q.left.shift();
    q.tried++;
    const pipeline = await runner.compile(candidate.kernel);
    // The reference: the running kernel on the same inputs (they change from token to token).
    const reference = (await this.runCandidate(step, runner.pipelineOf(step.kernel), step.groups, false)).output;
    const { output, ns } = await this.runCandidate(step, pipeline, candidate.groups, true);
    const error = relativeError(output, reference);
    if (error > 1e-3) {
      throw new GpuError(`candidate ${runner.plan.kernels[candidate.kernel].name} differs from the running kernel ` +
                         `by ${error.toExponential(2)} of its largest output`);
    }
    if (ns < q.bestNs) {
      q.bestNs = ns;
      q.best = candidate;
      await this.swap(q.workload, candidate);
    }
    if (q.left.length === 0) {
      this.kdb.records = this.kdb.records.filter((r) => !(r.fingerprint === this.fingerprint && r.workload === q.workload.name));
      this.kdb.records.push({ fingerprint: this.fingerprint, workload: q.workload.name,
                              kernel: runner.plan.kernels[q.best.kernel].name, config: q.best.config, ns: q.bestNs });
    }
    this.onProgress(this.progress());
    return this.queue.some((item) => item.left.length > 0);
  }

  // Tries candidates for about `ms` milliseconds (at least one); false when every workload is done.
  async runFor(ms) {
    const end = performance.now() + ms;
    let more = await this.next();
    while (more && performance.now() < end) more = await this.next();
    return more;
  }

  progress() {
    return {
      seconds: (performance.now() - this.started) / 1000,
      done: this.queue.every((q) => q.left.length === 0),
      workloads: this.queue.map((q) => ({
        name: q.workload.name, fullSpace: q.workload.full_space, candidates: q.workload.candidates.length,
        tried: q.tried, fromKdb: !!q.fromKdb, startKernel: q.startKernel ?? null, startNs: q.startNs, bestNs: q.bestNs,
        kernel: q.best ? this.runner.plan.kernels[q.best.kernel].name : null,
      })),
    };
  }
}
