// The engine's worker: instantiates jitflow-engine.js (Emscripten, pthreads) and runs the requests
// that jitflow.js posts, one at a time. A dedicated worker, because the engine blocks (its thread
// pool waits with Atomics.wait), which a page's main thread may not.
//
// Online tuning runs here too, on the engine's own threads (measured where inference runs): a slice
// after each decode token while generating, and slices between requests while the page is idle.
// The kernel database and the measured device limits live in OPFS (the origin private file
// system): the kdb as JSON lines (records carry the browser/device fingerprint), copied into the
// engine's file system before a load and back after tuning adds to it.
//
// The WebGPU back end (load's backend 'webgpu', or 'auto' when the browser gives an adapter): the
// engine builds the model's plan (src/gpu/plan.h), gpu/runtime.js runs it on the device and
// gpu/tuner.js tunes its kernels in the same slices; the engine still tokenizes, writes the text and
// samples at temperature > 0 (the GPU path is greedy). Its kdb is a JSON document in OPFS whose
// records carry the adapter's fingerprint.
//
// Requests: {id, type: 'init', threads, stopFlag} | {id, type: 'load', name, bytes, backend}
//           {id, type: 'generate', prompt, maxTokens, temperature, seed, tuneSliceMs}
//           {id, type: 'tuneStart', background, sliceMs, fullSpace} | {id, type: 'tuneStop'}
//           {id, type: 'kdbExport'} | {id, type: 'kdbImport', text} | {id, type: 'kdbClear'}
// Replies:  {id, ok: true, result} | {id, ok: false, error}; during generate {id, piece, ms};
//           tuning progress at any time: {tune: progress}.
'use strict';

importScripts('jitflow-engine.js');

const KDB_PATH = '/kdb/kdb.jsonl';        // in the engine's file system
const KDB_FILE = 'jitflow-kdb.jsonl';     // in OPFS
const LIMITS_FILE = 'jitflow-limits.json';  // in OPFS: {fingerprint: device or adapter limits}
const GPU_KDB_FILE = 'jitflow-webgpu-kdb.json';  // in OPFS: the WebGPU tuner's {records: [...]}

let engine = null;
let threads = 0;
let background = null;  // {sliceMs} while tuning in idle time
let savedKdbBytes = 0;  // size of the kdb file when last saved to OPFS
// The loaded model on WebGPU, or null (the CPU runs it): {runner, device, description, features,
// limits, fingerprint, notes, tuner (with the kdb's winners in), tuning (its search goes on), busyMs,
// savedKdb}.
let gpu = null;

function check(rc) {
  if (rc !== 0) throw new Error(lastError());
}
function lastError() {
  return engine.UTF8ToString(engine.ccall('jf_last_error', 'number', [], []));
}
// A C entry point that returns JSON text, or null and jf_last_error().
function callJson(name, types, args) {
  const at = engine.ccall(name, 'number', types, args);
  if (at === 0) throw new Error(lastError());
  return JSON.parse(engine.UTF8ToString(at));
}

async function opfsRead(name) {
  try {
    const dir = await navigator.storage.getDirectory();
    return await (await (await dir.getFileHandle(name)).getFile()).text();
  } catch (e) {
    return '';  // no such file (or no OPFS): nothing kept yet
  }
}
async function opfsWrite(name, text) {
  const dir = await navigator.storage.getDirectory();
  const writable = await (await dir.getFileHandle(name, {create: true})).createWritable();
  await writable.write(text);
  await writable.close();
}

function kdbText() {
  return engine.FS.analyzePath(KDB_PATH).exists ? engine.FS.readFile(KDB_PATH, {encoding: 'utf8'}) : '';
}
// Saves the kdb to OPFS when tuning has added records since the last save.
async function saveKdb() {
  const text = kdbText();
  if (text.length === savedKdbBytes) return;
  await opfsWrite(KDB_FILE, text);
  savedKdbBytes = text.length;
}

async function onTuneProgress(progress) {
  postMessage({tune: progress});
  await (gpu ? saveGpuKdb() : saveKdb());
}

// One idle-time slice, then the next one after the event loop has run (requests go first).
async function backgroundStep() {
  if (!background) return;
  const progress = gpu ? await gpuTuneStep(background.sliceMs)
                       : callJson('jf_tune_step', ['number'], [background.sliceMs]);
  await onTuneProgress(progress);
  if (progress.done || progress.error) {
    background = null;
  } else {
    setTimeout(() => enqueue(backgroundStep), 0);
  }
}

// The measured limits kept in OPFS: {fingerprint: limits}.
async function keptLimits() {
  try {
    return JSON.parse(await opfsRead(LIMITS_FILE) || '{}');
  } catch (e) {
    return {};  // a damaged file: measure again
  }
}

// Starts the online tuner of the engine's matmuls, with the device limits that an earlier page
// measured on this device (kept in OPFS) or measured now.
async function startCpuTuning(request) {
  const fingerprint = engine.UTF8ToString(engine.ccall('jf_fingerprint', 'number', [], []));
  const kept = await keptLimits();
  const cached = kept[fingerprint] ? JSON.stringify(kept[fingerprint]) : '';
  const start = callJson('jf_tune_start', ['string', 'number'], [cached, request.fullSpace ? 1 : 0]);
  start.limitsCached = cached !== '';
  if (!cached) await opfsWrite(LIMITS_FILE, JSON.stringify({...kept, [fingerprint]: start.limits}));
  return {backend: 'cpu', ...start};
}

// "SwiftShader Device (Subzero) ...": what the adapter says of itself.
function adapterDescription(adapter) {
  const info = adapter.info ?? {};
  return [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ') || 'unknown adapter';
}

// Runs fn, whose errors are the WebGPU device's: their message then starts with the code 'webgpu'
// (jitflow.js reads it).
async function onDevice(fn) {
  try {
    return await fn();
  } catch (error) {
    throw new Error(`webgpu: ${error.message}`);
  }
}

// The model at `path` (in the engine's file system) as a WebGPU plan running on the adapter's
// device, its tuning space pruned by the adapter's limits and its concurrency
// (gpu/adapter_limits.js: measured once per adapter, ~2 s on SwiftShader, then kept in OPFS). Throws an Error whose message starts with its code: 'unsupported' when
// there is no adapter or the plan builder refuses the model, 'webgpu' when the device fails.
async function loadGpu(path) {
  const adapter = await navigator.gpu?.requestAdapter();
  if (!adapter) {
    throw new Error('unsupported: WebGPU is unavailable: ' +
                    (navigator.gpu ? 'navigator.gpu.requestAdapter() gave no adapter' : 'no navigator.gpu'));
  }
  const [{PlanRunner}, {adapterFingerprint}, {measureAdapter}] = await Promise.all(
      [import('./gpu/runtime.js'), import('./gpu/tuner.js'), import('./gpu/adapter_limits.js')]);
  const {maxComputeInvocationsPerWorkgroup, maxComputeWorkgroupStorageSize, maxComputeWorkgroupSizeX,
         maxStorageBufferBindingSize, maxBufferSize} = adapter.limits;
  const device = await onDevice(() => adapter.requestDevice({
    requiredFeatures: adapter.features.has('timestamp-query') ? ['timestamp-query'] : [],
    // The adapter's sizes, not WebGPU's defaults (bindings of 128 MiB: too small for most models),
    // and the compute limits the plan's tuning candidates are pruned by.
    requiredLimits: {maxStorageBufferBindingSize, maxBufferSize, maxComputeWorkgroupSizeX,
                     maxComputeInvocationsPerWorkgroup, maxComputeWorkgroupStorageSize},
  }));
  const fingerprint = adapterFingerprint(adapter);
  try {
    const kept = await keptLimits();
    const limits = kept[fingerprint] ?? await onDevice(() => measureAdapter(device, adapter));
    if (!kept[fingerprint]) await opfsWrite(LIMITS_FILE, JSON.stringify({...kept, [fingerprint]: limits}));
    const plan = callJson('jf_gpu_plan', ['string', 'string'], [path, JSON.stringify(limits)]);
    try {
      // data.bin's bytes straight from wasm memory. HEAPU8 views all of it: callJson has just read
      // the plan through it, and nothing that allocates runs in wasm until jf_gpu_free.
      const data = engine.ccall('jf_gpu_data', 'number', [], []) >>> 0;
      const runner = await onDevice(() => PlanRunner.create(
          device, plan, (offset, bytes) => engine.HEAPU8.subarray(data + offset, data + offset + bytes)));
      return {runner, device, description: adapterDescription(adapter), features: [...adapter.features].sort(), limits,
              fingerprint, notes: plan.notes, tuner: null, tuning: false, busyMs: 0, savedKdb: ''};
    } finally {
      engine.ccall('jf_gpu_free', null, [], []);  // the GPU has its copy
    }
  } catch (error) {
    device.destroy();
    throw error;
  }
}

function dropGpu() {
  if (!gpu) return;
  gpu.runner.destroy();
  gpu.device.destroy();
  gpu = null;
}

// Greedy generation on the GPU, with the stats jf_generate reports: prefill is the prompt's passes
// and the first token, decode each later token's pass and read-back; the page's callback and
// tuning are timed in neither. The engine tokenizes (BOS as on the CPU) and writes the text;
// generation stops at an end-of-generation token (not emitted), at the stop flag, or when the
// context is full.
async function generateGpu(request) {
  const prompt = callJson('jf_tokenize', ['string'], [request.prompt]);
  const nCtx = gpu.runner.plan.n_ctx;
  if (prompt.length === 0) throw new Error('invalid argument: the prompt is empty and the vocabulary adds no BOS token');
  if (prompt.length > nCtx) {
    throw new Error(`out of range: the prompt is ${prompt.length} tokens but the WebGPU context holds ${nCtx}; ` +
                    'shorten the prompt');
  }
  const stats = {backend: 'webgpu', promptTokens: prompt.length, generatedTokens: 0, prefillMs: 0, decodeMs: 0};
  let mark = performance.now();
  const onToken = (token, i) => {
    const ms = performance.now() - mark;
    if (i === 0) stats.prefillMs = ms;
    else stats.decodeMs += ms;
    ++stats.generatedTokens;
    if (engine.ccall('jf_is_eog', 'number', ['number'], [token])) return false;
    const piece = engine.UTF8ToString(engine.ccall('jf_token_piece', 'number', ['number'], [token]));
    postMessage({id: request.id, piece, ms});
    return Atomics.load(engine.stopFlag, 0) === 0;
  };
  const betweenTokens = async () => {
    if (request.tuneSliceMs > 0 && gpu.tuning) postMessage({tune: await gpuTuneStep(request.tuneSliceMs)});
    mark = performance.now();
  };
  // The last generated token is never fed back: n_ctx - prompt + 1 tokens fill the context.
  const maxTokens = Math.min(request.maxTokens, nCtx - prompt.length + 1);
  await onDevice(() => gpu.runner.generate(prompt, maxTokens, onToken, betweenTokens));
  await saveGpuKdb();
  stats.prefillTokensPerS = stats.prefillMs > 0 ? stats.promptTokens * 1e3 / stats.prefillMs : 0;
  stats.decodeTokensPerS = stats.decodeMs > 0 ? (stats.generatedTokens - 1) * 1e3 / stats.decodeMs : 0;
  return stats;
}

// The WebGPU tuner of the loaded model, with the kdb kept in OPFS: the workloads it holds a winner
// for run that winner from the first token on, and are not searched.
async function openGpuTuner() {
  const {PlanTuner} = await import('./gpu/tuner.js');
  let kdb = {records: []};
  try {
    const kept = JSON.parse(await opfsRead(GPU_KDB_FILE) || '{}');
    if (Array.isArray(kept.records)) kdb = kept;
  } catch (e) {
    // a damaged file: tune again
  }
  gpu.savedKdb = JSON.stringify(kdb);
  gpu.tuner = new PlanTuner(gpu.runner, {fingerprint: gpu.fingerprint, kdb});
  await onDevice(() => gpu.tuner.applyKdb());
}

// Lets the WebGPU tuner search the workloads the kdb had no winner for.
function startGpuTuning() {
  const progress = gpuTuneProgress();
  gpu.tuning = !progress.done;
  return {backend: 'webgpu', fingerprint: gpu.fingerprint, device: gpu.description, features: gpu.features.join(' '),
          limits: gpu.limits, progress};
}

// Tunes for about `ms` and returns the progress. Tuning ends when every workload is done, or at an
// error (a candidate that computes something else), which stops tuning, not the model.
async function gpuTuneStep(ms) {
  const start = performance.now();
  let failed = null;
  try {
    await gpu.tuner.runFor(ms);
  } catch (error) {
    failed = `webgpu: ${error.message}`;
  }
  gpu.busyMs += performance.now() - start;
  const progress = failed ? {error: failed} : gpuTuneProgress();
  gpu.tuning = !progress.error && !progress.done;
  return progress;
}

// The WebGPU tuner's progress (gpu/tuner.js) in the terms of the CPU tuner's (TuneProgress in
// jitflow.d.ts); the per-token sums are over the decode workloads measured so far.
function gpuTuneProgress() {
  const p = gpu.tuner.progress();
  const plan = gpu.runner.plan;
  let startNs = 0, currentNs = 0;
  const workloads = p.workloads.map((w) => {
    const planned = plan.workloads.find((pw) => pw.name === w.name);
    const decode = (planned.pass ?? 'decode') === 'decode';
    const measured = Number.isFinite(w.bestNs);
    const start = w.startNs ?? w.bestNs;  // a kdb winner runs from the start
    if (decode && measured) {
      startNs += start * planned.steps.length;
      currentNs += w.bestNs * planned.steps.length;
    }
    return {shape: w.name, tokens: decode ? 1 : plan.batch, uses: planned.steps.length, full: w.fullSpace,
            pruned: w.candidates, tried: w.tried, rejected: 0,
            adopted: w.startKernel && w.kernel !== w.startKernel ? 1 : 0, fromKdb: w.fromKdb,
            done: w.fromKdb || w.tried === w.candidates, start: w.startKernel ?? w.kernel, startNs: measured ? start : 0,
            current: w.kernel, currentNs: measured ? w.bestNs : 0};
  });
  return {done: p.done, busyS: gpu.busyMs / 1e3, tried: workloads.reduce((n, w) => n + w.tried, 0),
          candidates: workloads.reduce((n, w) => n + w.pruned, 0), startMatmulMsPerToken: startNs / 1e6,
          matmulMsPerToken: currentNs / 1e6, workloads};
}

// Saves the WebGPU kdb to OPFS when tuning has changed it.
async function saveGpuKdb() {
  if (!gpu?.tuner) return;
  const text = JSON.stringify(gpu.tuner.kdb);
  if (text === gpu.savedKdb) return;
  await opfsWrite(GPU_KDB_FILE, text);
  gpu.savedKdb = text;
}

const handlers = {
  async init(request) {
    threads = request.threads || 0;
    engine = await createJitflowEngine({
      mainScriptUrlOrBlob: new URL('jitflow-engine.js', self.location.href).href,
      stopFlag: request.stopFlag,
      print: (text) => console.log(text),
      printErr: (text) => console.warn(text),
    });
    return {threads: threads || navigator.hardwareConcurrency};
  },
  // backend 'webgpu' or 'auto': the plan is built and uploaded (with the WebGPU kdb's winners) before
  // the engine loads, so that the engine's weights reuse the wasm memory that the plan's data held. With 'auto', a model or
  // browser the WebGPU back end cannot run falls back to the CPU, and the result says why.
  async load(request) {
    background = null;
    dropGpu();
    engine.ccall('jf_unload', null, [], []);
    const path = '/models/' + request.name.replace(/[^A-Za-z0-9._-]/g, '_');
    engine.FS.mkdirTree('/models');
    engine.FS.mkdirTree('/kdb');
    const kept = await opfsRead(KDB_FILE);
    engine.FS.writeFile(KDB_PATH, kept);
    savedKdbBytes = kept.length;
    engine.FS.writeFile(path, new Uint8Array(request.bytes));
    let fallback = null;
    try {
      if (request.backend !== 'cpu') {
        try {
          gpu = await loadGpu(path);
          await openGpuTuner();
        } catch (error) {
          dropGpu();
          if (request.backend === 'webgpu') throw error;
          fallback = error.message;
        }
      }
      check(engine.ccall('jf_load', 'number', ['string', 'number', 'string'], [path, threads, KDB_PATH]));
    } catch (error) {
      dropGpu();
      throw error;
    } finally {
      engine.FS.unlink(path);  // the engine holds its own copy of the weights
    }
    return {name: request.name, backend: gpu ? 'webgpu' : 'cpu', adapter: gpu?.description ?? null, fallback,
            notes: gpu?.notes ?? []};
  },
  async tuneStart(request) {
    const start = gpu ? startGpuTuning() : await startCpuTuning(request);
    if (request.background) {
      background = {sliceMs: request.sliceMs || 50};
      setTimeout(() => enqueue(backgroundStep), 0);
    }
    return start;
  },
  tuneStop() {
    background = null;
    return {};
  },
  // Greedy requests run on the GPU when the model is there; temperature > 0 samples on the CPU (the
  // GPU path takes the argmax), and the stats say so.
  async generate(request) {
    Atomics.store(engine.stopFlag, 0, 0);
    if (gpu && request.temperature === 0) return generateGpu(request);
    engine.onPiece = (piece, ms) => postMessage({id: request.id, piece, ms});
    engine.onTune = (json) => postMessage({tune: JSON.parse(json)});
    check(engine.ccall('jf_generate', 'number', ['string', 'number', 'number', 'number', 'number'],
                       [request.prompt, request.maxTokens, request.temperature, request.seed,
                        request.tuneSliceMs || 0]));
    const stats = JSON.parse(engine.UTF8ToString(engine.ccall('jf_last_stats', 'number', [], [])));
    await saveKdb();
    if (!gpu) return {backend: 'cpu', ...stats};
    const note = `temperature ${request.temperature}: sampled on the CPU (the WebGPU back end is greedy)`;
    return {backend: 'cpu', note, ...stats};
  },
  // The kdb as one JSON document: {format, records: [...]}: what this worker's tuning added and
  // what other pages kept.
  async kdbExport() {
    if (engine.FS.analyzePath(KDB_PATH).exists) await saveKdb();
    const text = await opfsRead(KDB_FILE);
    const records = text.split('\n').filter((line) => line.trim()).map((line) => JSON.parse(line));
    return {format: 'jitflow-kdb', records};
  },
  // Appends the records of an exported document to the kept kdb; the next load runs them.
  async kdbImport(request) {
    const doc = JSON.parse(request.text);
    if (!doc || doc.format !== 'jitflow-kdb' || !Array.isArray(doc.records)) {
      throw new Error('invalid argument: not a jitflow kernel database export');
    }
    const kept = await opfsRead(KDB_FILE);
    const lines = doc.records.map((r) => JSON.stringify(r)).join('\n');
    await opfsWrite(KDB_FILE, kept + (kept && !kept.endsWith('\n') ? '\n' : '') + lines + '\n');
    return {imported: doc.records.length};
  },
  async kdbClear() {
    await opfsWrite(KDB_FILE, '');
    await opfsWrite(GPU_KDB_FILE, '');
    await opfsWrite(LIMITS_FILE, '{}');
    return {};
  },
};

// One request (or idle tuning slice) at a time, in arrival order.
let queue = Promise.resolve();
function enqueue(task) {
  queue = queue.then(task).catch((error) => postMessage({tune: {error: String(error && error.message || error)}}));
}
onmessage = (event) => {
  const request = event.data;
  enqueue(async () => {
    try {
      postMessage({id: request.id, ok: true, result: await handlers[request.type](request)});
    } catch (error) {
      postMessage({id: request.id, ok: false, error: String(error && error.message || error)});
    }
  });
};
