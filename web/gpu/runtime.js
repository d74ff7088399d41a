// Runs a jitflow WebGPU plan (src/gpu/plan.h: buffers, WGSL kernels, the dispatches of one decode
// step) on a GPUDevice: the same code in the page and in node with Dawn (web/gpu/dawn.mjs).
//   const runner = await PlanRunner.create(device, plan, readData);
//   const tokens = await runner.generate(promptTokens, 64, (token) => ...);
// readData(offset, bytes) returns (or resolves to) a Uint8Array of the plan's data.bin.

// A WebGPU error, with what the runtime was doing when it happened.
export class GpuError extends Error {
  constructor(message) {
    super(message);
    this.name = 'GpuError';
  }
}

const STORAGE = () => GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;

async function checkShader(module, name) {
  const info = await module.getCompilationInfo();
  const errors = info.messages.filter((m) => m.type === 'error');
  if (errors.length > 0) {
    const lines = errors.map((m) => `  line ${m.lineNum}:${m.linePos} ${m.message}`).join('\n');
    throw new GpuError(`WGSL kernel ${name} does not compile:\n${lines}`);
  }
}

// Runs fn inside validation and out-of-memory error scopes and throws what the device reported
// (WebGPU reports these errors to scopes, not as exceptions). The scopes are popped whatever fn does.
async function validated(device, what, fn) {
  device.pushErrorScope('validation');
  device.pushErrorScope('out-of-memory');
  let result, thrown = null;
  try {
    result = await fn();
  } catch (e) {
    thrown = e;
  }
  const oom = await device.popErrorScope();
  const invalid = await device.popErrorScope();
  if (thrown) throw thrown;
  if (oom) throw new GpuError(`${what}: out of GPU memory: ${oom.message}`);
  if (invalid) throw new GpuError(`${what}: ${invalid.message}`);
  return result;
}

// The first `bytes` of a storage buffer, copied through a staging buffer (an ArrayBuffer).
export async function readGpuBuffer(device, buffer, bytes) {
  const staging = device.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const encoder = device.createCommandEncoder();
  encoder.copyBufferToBuffer(buffer, 0, staging, 0, bytes);
  device.queue.submit([encoder.finish()]);
  await staging.mapAsync(GPUMapMode.READ);
  const out = staging.getMappedRange().slice(0);
  staging.destroy();
  return out;
}

export class PlanRunner {
  constructor(device, plan, buffers) {
    this.device = device;
    this.plan = plan;  // a copy: the tuner changes its steps' kernels
    this.buffers = buffers;
    this.pipelines = new Map();  // kernel index -> compiled pipeline, compiled when first used
    this.bindGroups = [];
    this.readback = device.createBuffer({ size: 8 * plan.top_k, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  }

  static async create(device, plan, readData) {
    if (plan.format !== 'jitflow-webgpu-plan' || plan.version !== 3) {
      throw new GpuError(`not a jitflow WebGPU plan (version 3): format ${plan.format}, version ${plan.version}`);
    }
    const limit = device.limits.maxStorageBufferBindingSize;
    const buffers = await validated(device, 'creating the buffers', async () => {
      const out = [];
      for (const b of plan.buffers) {
        if (b.bytes > limit) {
          throw new GpuError(`buffer ${b.name} has ${b.bytes} bytes; this device binds at most ${limit}`);
        }
        const buffer = device.createBuffer({ size: Math.max(4, b.bytes), usage: STORAGE(), mappedAtCreation: b.data !== undefined });
        if (b.data !== undefined) {
          new Uint8Array(buffer.getMappedRange()).set(await readData(b.data, b.bytes));
          buffer.unmap();
        }
        out.push(buffer);
      }
      return out;
    });
    const runner = new PlanRunner(device, structuredClone(plan), buffers);
    const prefill = plan.prefill_steps ?? [];
    for (const s of plan.steps.concat(prefill)) await runner.compile(s.kernel);
    await validated(device, 'binding the buffers', async () => {
      runner.plan.steps.forEach((s, i) => runner.setStepKernel(i, s.kernel, s.groups));
      runner.prefillBindGroups = prefill.map((s) => runner.bindGroup(s));
    });
    return runner;
  }

  // Compiles kernel `index` of the plan (once).
  async compile(index) {
    if (!this.pipelines.has(index)) {
      const k = this.plan.kernels[index];
      this.pipelines.set(index, await validated(this.device, `compiling ${k.name}`, async () => {
        const module = this.device.createShaderModule({ code: k.wgsl, label: k.name });
        await checkShader(module, k.name);
        return this.device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' }, label: k.name });
      }));
    }
    return this.pipelines.get(index);
  }

  pipelineOf(index) {
    return this.pipelines.get(index);
  }

  bindGroup(step) {
    return this.device.createBindGroup({
      layout: this.pipelines.get(step.kernel).getBindGroupLayout(0),
      entries: step.buffers.map((b, i) => ({ binding: i, resource: { buffer: this.buffers[b] } })),
    });
  }

  // Step `index` of a pass ('decode' or 'prefill') runs compiled kernel `kernel` on its buffers from
  // the next submitted pass on.
  setStepKernel(index, kernel, groups, pass = 'decode') {
    const step = (pass === 'decode' ? this.plan.steps : this.plan.prefill_steps)[index];
    step.kernel = kernel;
    step.groups = groups;
    (pass === 'decode' ? this.bindGroups : this.prefillBindGroups)[index] = this.bindGroup(step);
  }

  // Records the steps of a pass (default: decode) into one compute pass.
  encodeSteps(encoder, steps = this.plan.steps, bindGroups = this.bindGroups) {
    const pass = encoder.beginComputePass();
    steps.forEach((s, i) => {
      pass.setPipeline(this.pipelines.get(s.kernel));
      pass.setBindGroup(0, bindGroups[i]);
      pass.dispatchWorkgroups(s.groups[0], s.groups[1]);
    });
    pass.end();
  }

  // Queues one pass over `tokens` at positions position.. (nothing is read back): decode for one
  // token, prefill (matmul kernels) for up to plan.batch.
  submitTokens(tokens, position) {
    if (position + tokens.length > this.plan.n_ctx) {
      throw new GpuError(`positions ${position}..${position + tokens.length - 1} are past the plan's context of ` +
                         `${this.plan.n_ctx} tokens`);
    }
    if (tokens.length > this.plan.batch) throw new GpuError(`${tokens.length} tokens in one pass; the plan takes ${this.plan.batch}`);
    this.device.queue.writeBuffer(this.buffers[this.plan.params], 0, new Uint32Array([tokens.length, position, ...tokens]));
    const encoder = this.device.createCommandEncoder();
    if (tokens.length === 1) this.encodeSteps(encoder);
    else this.encodeSteps(encoder, this.plan.prefill_steps, this.prefillBindGroups);
    this.device.queue.submit([encoder.finish()]);
  }

  // The greedy token of the last submitted pass (the first of its sorted candidates): the only
  // read-back, 4 bytes.
  async readToken() {
    return (await this.readCandidates(1)).indices[0];
  }

  // The first n of the last pass's top_k candidates: { indices, values }, best first.
  async readCandidates(n = this.plan.top_k) {
    const encoder = this.device.createCommandEncoder();
    encoder.copyBufferToBuffer(this.buffers[this.plan.result], 0, this.readback, 0, 8 * n);
    this.device.queue.submit([encoder.finish()]);
    await this.readback.mapAsync(GPUMapMode.READ, 0, 8 * n);
    const words = new Uint32Array(this.readback.getMappedRange(0, 8 * n).slice(0));
    this.readback.unmap();
    const indices = [], values = new Float32Array(words.buffer).filter((_, i) => i % 2 === 1);
    for (let i = 0; i < n; i++) indices.push(words[2 * i]);
    return { indices, values };
  }

  // Greedy generation: the prompt goes through prefill passes of up to plan.batch tokens, queued back
  // to back with only the last one read; then each generated token is fed back through a decode pass. onToken(token, index) may return false to stop;
  // betweenTokens (a tuner's next) runs after each token is read; sample (sampler.js) picks the next
  // token from the pass's candidates, greedy without it.
  async generate(promptTokens, nPredict, onToken = () => true, betweenTokens = null, sample = null) {
    if (promptTokens.length === 0) throw new GpuError('empty prompt');
    let position = 0;
    for (; position < promptTokens.length; position += this.plan.batch) {
      this.submitTokens(promptTokens.slice(position, position + this.plan.batch), position);
    }
    position = promptTokens.length;
    const out = [];
    while (out.length < nPredict) {
      const token = sample ? sample(await this.readCandidates()) : await this.readToken();
      out.push(token);
      if (onToken(token, out.length - 1) === false || out.length === nPredict) break;
      if (betweenTokens) await betweenTokens();
      this.submitTokens([token], position++);
    }
    return out;
  }

  // The contents of buffer `index` (for tests).
  async readBuffer(index) {
    return readGpuBuffer(this.device, this.buffers[index], this.plan.buffers[index].bytes);
  }


  destroy() {
    for (const b of this.buffers) b.destroy();
    this.readback.destroy();
  }
}
