// What the WebGPU tuning space is pruned by (`jitflow webgpu --adapter FILE`, src/gpu/wgsl.h
// AdapterLimits): the adapter's reported limits, and how many workgroups it runs at once, which
// WebGPU does not report and is measured here: workgroups of 64 threads that each spin the same
// fixed loop are dispatched 1, 2, 4, ... at a time; while the adapter has room for all of them the
// time stays flat, and the last count before it grows is the concurrency.
//   const limits = await measureAdapter(device, adapter);   // the page or node (dawn.mjs)

const SPIN = `
@group(0) @binding(0) var<storage, read_write> sink: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  var a = f32(gid.x);
  for (var i = 0u; i < 4096u; i++) {
    a = a * 0.999 + 1.0;
  }
  sink[gid.x] = a;
}`;

const MAX_GROUPS = 4096;

async function timeDispatch(device, pipeline, bindGroup, groups) {
  const times = [];
  for (let r = 0; r < 3; r++) {
    const encoder = device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(groups);
    pass.end();
    const start = performance.now();
    device.queue.submit([encoder.finish()]);
    await device.queue.onSubmittedWorkDone();
    times.push(performance.now() - start);
  }
  return times.sort((a, b) => a - b)[1];
}

// The largest power-of-two workgroup count that runs in about the time of one (within 1.5x).
export async function measureConcurrency(device) {
  const sink = device.createBuffer({ size: MAX_GROUPS * 64 * 4, usage: GPUBufferUsage.STORAGE });
  const module = device.createShaderModule({ code: SPIN });
  const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
  const bindGroup = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: sink } }] });
  await timeDispatch(device, pipeline, bindGroup, 1);  // warm-up: the pipeline's first use
  const one = await timeDispatch(device, pipeline, bindGroup, 1);
  let concurrent = 1;
  for (let groups = 2; groups <= MAX_GROUPS; groups *= 2) {
    if (await timeDispatch(device, pipeline, bindGroup, groups) > 1.5 * one) break;
    concurrent = groups;
  }
  sink.destroy();
  return concurrent;
}

const COPY = `
@group(0) @binding(0) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> dst: array<vec4<f32>>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>) {
  let i = gid.x + gid.y * n.x * 256u;
  if (i < arrayLength(&src)) {
    dst[i] = src[i];
  }
}`;

// The device's memory bandwidth as a copy of `bytes` (read + write, GB/s, the best of 5): what a
// matvec's weight stream is measured against.
export async function measureCopyBandwidth(device, bytes = 64 << 20) {
  const usage = GPUBufferUsage.STORAGE;
  const src = device.createBuffer({ size: bytes, usage }), dst = device.createBuffer({ size: bytes, usage });
  const module = device.createShaderModule({ code: COPY });
  const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
  const bindGroup = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [
    { binding: 0, resource: { buffer: src } }, { binding: 1, resource: { buffer: dst } }] });
  const groups = Math.ceil(bytes / 16 / 256), x = Math.min(groups, 65535);
  let best = Infinity;
  for (let r = 0; r < 6; r++) {
    const encoder = device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(x, Math.ceil(groups / x));
    pass.end();
    const start = performance.now();
    device.queue.submit([encoder.finish()]);
    await device.queue.onSubmittedWorkDone();
    if (r > 0) best = Math.min(best, performance.now() - start);  // the first compiles and touches
  }
  src.destroy();
  dst.destroy();
  return (2 * bytes) / (best * 1e6);
}

export async function measureAdapter(device, adapter) {
  const { maxComputeInvocationsPerWorkgroup, maxComputeWorkgroupStorageSize } = adapter.limits;
  return { maxComputeInvocationsPerWorkgroup, maxComputeWorkgroupStorageSize,
           concurrentWorkgroups: await measureConcurrency(device) };
}
