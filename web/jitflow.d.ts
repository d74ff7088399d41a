// Types of jitflow.js, the browser API of the jitflow engine.

export type JitflowErrorCode =
  | 'corrupt_file' | 'unsupported' | 'invalid_argument' | 'not_found' | 'io_error' | 'out_of_range'
  | 'internal' | 'network' | 'aborted';

export class JitflowError extends Error {
  readonly code: JitflowErrorCode;
}

export interface LoadProgress {
  loaded: number;   // bytes so far
  total: number;    // bytes in all (0 when the server did not say)
  cached: boolean;  // read from the OPFS cache rather than downloaded
}

export interface GenerationStats {
  promptTokens: number;
  generatedTokens: number;
  prefillMs: number;
  decodeMs: number;
  prefillTokensPerS: number;
  decodeTokensPerS: number;
}

export interface GenerateOptions {
  maxTokens?: number;       // default 128
  temperature?: number;     // default 0 (greedy)
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
  fingerprint: string;    // the browser/device key of kdb records
  device: string;         // the JS engine (user agent)
  features: string;       // e.g. "simd128 relaxed-madd relaxed-dot"
  limits: object;         // measured device limits (vector registers, caches, bandwidth, cores)
  limitsCached: boolean;  // from an earlier page on this device rather than measured now
  microbenchMs: number;
  progress: TuneProgress;
}

export class Jitflow {
  readonly threads: number;
  static create(options?: { baseUrl?: string | URL; threads?: number }): Promise<Jitflow>;
  loadModel(source: string | URL | Blob | ArrayBuffer,
            options?: { name?: string; onProgress?: (p: LoadProgress) => void }): Promise<{ name: string }>;
  generate(prompt: string, options?: GenerateOptions): Promise<GenerationStats>;
  startTuning(options?: { onProgress?: (p: TuneProgress) => void; background?: boolean; sliceMs?: number;
                          fullSpace?: boolean }):
    Promise<TuneStart>;
  stopTuning(): Promise<{}>;
  exportKdb(): Promise<string>;
  importKdb(text: string): Promise<{ imported: number }>;
  clearKdb(): Promise<{}>;
  terminate(): void;
}
