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
  onToken?: (text: string) => void;
  signal?: AbortSignal;     // stops at the next token
}

export class Jitflow {
  readonly threads: number;
  static create(options?: { baseUrl?: string | URL; threads?: number }): Promise<Jitflow>;
  loadModel(source: string | URL | Blob | ArrayBuffer,
            options?: { name?: string; onProgress?: (p: LoadProgress) => void }): Promise<{ name: string }>;
  generate(prompt: string, options?: GenerateOptions): Promise<GenerationStats>;
  terminate(): void;
}
