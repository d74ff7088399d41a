// jitflow in a web page: an ES module over the engine's worker (worker.js). The page stays
// responsive: the engine runs in the worker, with its own thread pool.
//
//   import { Jitflow } from './jitflow.js';
//   const jf = await Jitflow.create();
//   await jf.loadModel('/models/docs-28M.gguf', { onProgress: (p) => console.log(p.loaded, p.total) });
//   // or { backend: 'webgpu' | 'auto' }: the model runs on the GPU (WebGPU), greedy
//   const stats = await jf.generate('The function returns', { maxTokens: 64, onToken: (t) => out.append(t) });
//   await jf.startTuning({ onProgress: (p) => chart.add(p.matmulMsPerToken) });  // kernels tuned in the page
//
// Needs a cross-origin isolated page (COOP/COEP headers: SharedArrayBuffer), as every threaded
// WebAssembly program does; web/serve.mjs serves such pages.

// An error from the engine or from loading: `code` says what kind ('corrupt_file', 'unsupported',
// 'invalid_argument', 'not_found', 'io_error', 'out_of_range', 'network', 'aborted', 'webgpu': the
// WebGPU device failed, ...).
export class JitflowError extends Error {
  constructor(code, message) {
    super(message);
    this.name = 'JitflowError';
    this.code = code;
  }
}

// The engine's errors read "<status code name>: <message>" (jitflow/status.h).
function engineError(text) {
  const match = /^([a-z ]+): /.exec(text);
  return new JitflowError(match ? match[1].replace(/ /g, '_') : 'internal', text);
}

// Model bytes from a URL, with progress, cached in the origin private file system (OPFS) after the
// first download; later loads of the same URL read the cached copy.
async function fetchWithCache(url, onProgress) {
  const cacheName = 'jitflow-model-' + encodeURIComponent(url.href).replace(/%/g, '_');
  let dir = null;
  try {
    dir = await navigator.storage.getDirectory();
    const cached = await (await dir.getFileHandle(cacheName)).getFile();
    onProgress?.({ loaded: cached.size, total: cached.size, cached: true });
    return await cached.arrayBuffer();
  } catch (e) {
    // not cached (or no OPFS): download
  }
  const response = await fetch(url);
  if (!response.ok) throw new JitflowError('network', `${url.href}: HTTP ${response.status}`);
  const total = Number(response.headers.get('Content-Length')) || 0;
  const reader = response.body.getReader();
  const chunks = [];
  let loaded = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    loaded += value.length;
    onProgress?.({ loaded, total, cached: false });
  }
  const bytes = new Uint8Array(loaded);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.length;
  }
  if (dir) {
    try {
      const writable = await (await dir.getFileHandle(cacheName, { create: true })).createWritable();
      await writable.write(bytes);
      await writable.close();
    } catch (e) {
      // a cache that cannot be written is a miss next time, not an error
    }
  }
  return bytes.buffer;
}

export class Jitflow {
  #worker;
  #nextId = 1;
  #pending = new Map();  // id -> { resolve, reject, onPiece }
  #stopFlag = new Int32Array(new SharedArrayBuffer(4));
  #onTuneProgress = null;
  threads = 0;
  backend = null;  // where the loaded model runs: 'cpu' or 'webgpu'
  adapter = null;  // the WebGPU adapter's description when 'webgpu'

  constructor(worker) {
    this.#worker = worker;
    worker.onmessage = (event) => this.#reply(event.data);
    worker.onerror = (event) => {
      for (const p of this.#pending.values()) p.reject(new JitflowError('internal', event.message));
      this.#pending.clear();
    };
  }

  // Starts the engine's worker. baseUrl: where worker.js and jitflow-engine.* are (default: beside
  // this module); threads: the engine's kernel threads (0: navigator.hardwareConcurrency).
  static async create({ baseUrl = new URL('.', import.meta.url), threads = 0 } = {}) {
    if (!globalThis.crossOriginIsolated) {
      throw new JitflowError('unsupported', 'the page is not cross-origin isolated (COOP/COEP headers): ' +
                             'threaded WebAssembly needs SharedArrayBuffer');
    }
    const jf = new Jitflow(new Worker(new URL('worker.js', baseUrl)));
    const result = await jf.#call({ type: 'init', threads, stopFlag: jf.#stopFlag });
    jf.threads = result.threads;
    return jf;
  }

  // Loads a GGUF model from a URL (string or URL; cached in OPFS), a File or Blob, or an
  // ArrayBuffer. onProgress({loaded, total, cached}) reports the download. backend: 'cpu'
  // (WebAssembly, the default), 'webgpu' (the model's decode and prefill as WGSL kernels on the
  // GPU; a browser without an adapter or a model it does not run, such as one with linear biases,
  // is a JitflowError 'unsupported', a failing device 'webgpu') or 'auto' (WebGPU where it can run
  // the model, else the CPU, and `fallback` says why). Resolves with {name, backend, adapter,
  // fallback, notes}: notes say what the WebGPU plan changed (matrices stored as F16).
  async loadModel(source, { name, onProgress, backend = 'cpu' } = {}) {
    if (!['cpu', 'webgpu', 'auto'].includes(backend)) {
      throw new JitflowError('invalid_argument', `backend '${backend}': 'cpu', 'webgpu' or 'auto'`);
    }
    let bytes;
    if (source instanceof ArrayBuffer) {
      bytes = source;
      name ??= 'model.gguf';
    } else if (typeof Blob !== 'undefined' && source instanceof Blob) {
      bytes = await source.arrayBuffer();
      name ??= source.name || 'model.gguf';
      onProgress?.({ loaded: bytes.byteLength, total: bytes.byteLength, cached: false });
    } else {
      const url = new URL(String(source), globalThis.location?.href);
      bytes = await fetchWithCache(url, onProgress);
      name ??= url.pathname.split('/').pop() || 'model.gguf';
    }
    this.backend = this.adapter = null;
    const result = await this.#call({ type: 'load', name, bytes, backend }, undefined, [bytes]);
    this.backend = result.backend;
    this.adapter = result.adapter;
    return result;
  }

  // Generates up to maxTokens after `prompt`; onToken(text, ms) receives each piece as it is sampled
  // and the milliseconds its token took (the first: the prompt's prefill). temperature 0 is greedy.
  // An AbortSignal stops generation at the next token (the promise then resolves with the stats so
  // far). While tuning runs, tuneSliceMs of it follow each token (0: tuning waits until idle).
  // Resolves with {backend, promptTokens, generatedTokens, prefillMs, decodeMs, prefillTokensPerS,
  // decodeTokensPerS}; tuning time is in none of them. The WebGPU back end is greedy (argmax on the
  // GPU): with temperature > 0 a model loaded there samples on the CPU instead, and the stats say so
  // (backend 'cpu' and a `note`).
  async generate(prompt, { maxTokens = 128, temperature = 0, seed = 0, onToken, signal, tuneSliceMs = 0 } = {}) {
    if (signal?.aborted) throw new JitflowError('aborted', 'aborted before it started');
    const stop = () => Atomics.store(this.#stopFlag, 0, 1);
    signal?.addEventListener('abort', stop);
    try {
      return await this.#call({ type: 'generate', prompt, maxTokens, temperature, seed, tuneSliceMs }, onToken);
    } finally {
      signal?.removeEventListener('abort', stop);
    }
  }

  // Starts tuning the loaded model's decode kernels in the page: the worker emits, checks and times
  // candidates on the engine's threads and swaps faster ones into the running model; winners go to
  // the kernel database in OPFS and are loaded with the model next time. The first call on a device
  // runs the microbenchmarks (~1-3 s; kept in OPFS). On the WebGPU back end it tunes the WGSL
  // kernels instead (each candidate checked against the running kernel and timed on the GPU), with
  // their own database in OPFS keyed by the adapter. background: tune whenever the engine is idle,
  // sliceMs at a time. onProgress(p) gets {done, busyS, tried, candidates, startMatmulMsPerToken,
  // matmulMsPerToken, workloads: [{shape, full, pruned, tried, adopted, fromKdb, done, start,
  // startNs, current, currentNs}, ...]} after every slice (and {error} if one failed). Resolves with
  // {backend: 'cpu', fingerprint, device, features, limits, limitsCached, microbenchMs, progress}
  // ({backend: 'webgpu', fingerprint, device, features, limits, progress}: the adapter's). fullSpace:
  // search every candidate, unpruned (for benchmarks: what pruning loses; CPU only).
  async startTuning({ onProgress, background = true, sliceMs = 50, fullSpace = false } = {}) {
    this.#onTuneProgress = onProgress ?? null;
    return this.#call({ type: 'tuneStart', background, sliceMs, fullSpace });
  }

  async stopTuning() {
    return this.#call({ type: 'tuneStop' });
  }

  // The kernel database as a JSON document ({format: 'jitflow-kdb', records}), to share or keep.
  async exportKdb() {
    return JSON.stringify(await this.#call({ type: 'kdbExport' }));
  }

  // Adds an exported document's records to the kept kernel database; the next loadModel uses the
  // ones of this browser and device. Resolves with {imported}.
  async importKdb(text) {
    return this.#call({ type: 'kdbImport', text });
  }

  // Forgets the kernel databases (CPU and WebGPU) and the measured device limits.
  async clearKdb() {
    return this.#call({ type: 'kdbClear' });
  }

  terminate() {
    this.#worker.terminate();
  }

  #call(request, onPiece, transfer = []) {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject, onPiece });
      this.#worker.postMessage({ ...request, id }, transfer);
    });
  }

  #reply(message) {
    if (message.tune !== undefined) {
      this.#onTuneProgress?.(message.tune);
      return;
    }
    const pending = this.#pending.get(message.id);
    if (!pending) return;
    if (message.piece !== undefined) {
      pending.onPiece?.(message.piece, message.ms);
      return;
    }
    this.#pending.delete(message.id);
    if (message.ok) {
      pending.resolve(message.result);
    } else {
      pending.reject(engineError(message.error));
    }
  }
}
