// Types of jitflow.js, the browser API of the jitflow engine.

export type JitflowErrorCode =
  | 'corrupt_file' | 'unsupported' | 'invalid_argument' | 'not_found' | 'io_error' | 'out_of_range'
  | 'internal' | 'network' | 'aborted'
  | 'webgpu';  // the WebGPU device failed (out of memory, a kernel that does not compile, ...)

export class JitflowError extends Error {
  readonly code: JitflowErrorCode;
}

export interface LoadProgress {
  loaded: number;   // bytes so far
  total: number;    // bytes in all (0 when the server did not say)
  cached: boolean;  // read from the OPFS cache rather than downloaded
}

// Where a model runs: WebAssembly on the CPU, or WGSL kernels on the GPU (greedy only).
export type Backend = 'cpu' | 'webgpu';

export interface LoadOptions {
  name?: string;
  onProgress?: (p: LoadProgress) => void;
  // 'cpu' (default); 'webgpu': a browser without an adapter or a model the WebGPU back end does not
  // run is a JitflowError 'unsupported'; 'auto': WebGPU where it can run the model, else the CPU.
  backend?: Backend | 'auto';
}

export interface LoadResult {
  name: string;
  backend: Backend;         // where the model runs
  adapter: string | null;   // the WebGPU adapter, e.g. "google swiftshader ..."
  fallback: string | null;  // 'auto' fell back to the CPU: why (no adapter, an unsupported model)
  notes: string[];          // what the WebGPU plan changed ("45 q4_k matrices stored as f16 (rounded)")
}

export interface GenerationStats {
  backend: Backend;  // where this text was generated
  note?: string;     // why not where the model was loaded: temperature > 0 samples on the CPU
  promptTokens: number;
  generatedTokens: number;
  prefillMs: number;
  decodeMs: number;
  prefillTokensPerS: number;
  decodeTokensPerS: number;
}

export interface GenerateOptions {
  maxTokens?: number;       // default 128
  temperature?: number;     // default 0 (greedy; > 0 runs on the CPU for a WebGPU model)
  seed?: number;
  onToken?: (text: string, ms: number) => void;  // ms: the token's time (the first: prefill)
  signal?: AbortSignal;     // stops at the next token
  tuneSliceMs?: number;     // tuning after each token while it runs (default 0: only when idle)
}

// One matmul workload of the model (a weight shape at one token) as the online tuner sees it.
export interface TunedWorkload {
  shape: string;       // e.g. "q4_0 2048x5632"
  tokens: number;
  uses: number;        // matrices of this shape per forward pass
  full: number;        // candidates before pruning
  pruned: number;      // after pruning by the measured limits (emitted Wasm kernels included)
  tried: number;
  rejected: number;    // failed the check against the reference
  adopted: number;     // swapped into the running model
  fromKdb: boolean;    // the kernel database already had the winner
  done: boolean;
  start: string;       // the kernel the model ran when tuning began
  startNs: number;
  current: string;     // the kernel it runs now
  currentNs: number;
}

export interface TuneProgress {
  done: boolean;
  busyS: number;                  // time spent tuning
  tried: number;
  candidates: number;
  startMatmulMsPerToken: number;  // decode matmul time per token with the starting kernels
  matmulMsPerToken: number;       // ... with the kernels the model runs now
  workloads: TunedWorkload[];
  error?: string;
}

export interface TuneStart {
  backend: 'cpu';
  fingerprint: string;    // the browser/device key of kdb records
  device: string;         // the JS engine (user agent)
  features: string;       // e.g. "simd128 relaxed-madd relaxed-dot"
  limits: object;         // measured device limits (vector registers, caches, bandwidth, cores)
  limitsCached: boolean;  // from an earlier page on this device rather than measured now
  microbenchMs: number;
  progress: TuneProgress;
}

// Tuning the WGSL kernels of a model on WebGPU: no microbenchmarks, the adapter's limits.
export interface GpuTuneStart {
  backend: 'webgpu';
  fingerprint: string;  // the adapter and browser: the key of WebGPU kdb records
  device: string;       // the adapter
  features: string;     // the adapter's features, e.g. "subgroups timestamp-query ..."
  // the adapter's, and how many workgroups it runs at once (measured: WebGPU does not report it)
  limits: { maxComputeInvocationsPerWorkgroup: number; maxComputeWorkgroupStorageSize: number;
            concurrentWorkgroups: number };
  progress: TuneProgress;
}

export class Jitflow {
  readonly threads: number;
  readonly backend: Backend | null;  // of the loaded model
  readonly adapter: string | null;
  static create(options?: { baseUrl?: string | URL; threads?: number }): Promise<Jitflow>;
  loadModel(source: string | URL | Blob | ArrayBuffer, options?: LoadOptions): Promise<LoadResult>;
  generate(prompt: string, options?: GenerateOptions): Promise<GenerationStats>;
  startTuning(options?: { onProgress?: (p: TuneProgress) => void; background?: boolean; sliceMs?: number;
                          fullSpace?: boolean }):
    Promise<TuneStart | GpuTuneStart>;
  stopTuning(): Promise<{}>;
  exportKdb(): Promise<string>;
  importKdb(text: string): Promise<{ imported: number }>;
  clearKdb(): Promise<{}>;
  terminate(): void;
}
