// The llama.cpp peer of `jitflow bench`: the same pp/tg tests on llama.cpp's prebuilt CPU binaries,
// as shipped by node-llama-cpp (package.json pins the version).
//
//   node llama_bench.mjs -m MODEL.gguf -p 64,512 -n 128 -t 1,2 -r 5 --ctx-size 512 [-o json|md]
//
// Method, kept identical to tools/jitflow/bench.h:
//   pp<P>: one batch of P token ids on an emptied KV cache, logits for the last token only
//          (prompts longer than --ubatch go in chunks of --ubatch, as jitflow splits at 512);
//   tg<N>: from an emptied cache, N batches of one token, each with its logits;
//   enc<P> (encoder models, e.g. BERT: jitflow's ModelKind::encoder): llama.cpp's embedding mode, a
//          context made with embeddings on and the model's pooling (node-llama-cpp's embedding
//          context), one batch of one sequence of P ids, the pooled vector read back; the batch
//          holds the whole sequence (bidirectional attention needs it in one ubatch);
//   ids:   the same seeded LCG as jitflow's bench_token_ids(), first id BOS when the vocabulary adds it;
//          for enc<P> the first and last ids replaced by the tokens node-llama-cpp's embedding
//          context puts around a text ([CLS] and [SEP]), as jitflow's bench_sequence_ids();
//   one untimed warm-up run, then -r timed runs; median (and mean ± stddev) of tokens/s.
//
// Fairness:
//   - only llama_decode runs: the batch is built and decoded through node-llama-cpp's native
//     context (initBatch/addToBatch/decodeBatch), below its JS batching queue and never through a
//     sampler, so no sampling work is timed. Logits are still computed for the last token of a
//     batch, as jitflow computes them, so the output projection is in both;
//   - threads: llama.cpp gets exactly -t threads (node-llama-cpp otherwise defaults to
//     max(math cores, 4)); the value llama.cpp reports is checked;
//   - context: --ctx-size cells (jitflow bench's n_ctx), batch = ubatch;
//   - flash attention on by default: jitflow's attention is a fused online-softmax (flash-style)
//     kernel with no unfused path, so this is the same algorithm (--flash-attn off: llama.cpp's
//     unfused attention); weights read into memory (no mmap), like jitflow; load time is never timed
//     (--mmap: weights mapped from the file, llama.cpp's own default, for runs under a memory cap
//     where the page cache holds what fits);
//   - KV cache f16 by default (llama.cpp's default; jitflow's is f32): --kv-type f32 matches jitflow.
// Known differences left in: each decode is one N-API async call (tens of microseconds), and
// without an attached thread pool ggml starts its worker threads per decode.
import { readFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";

// node-llama-cpp may only use the prebuilt binaries: never download llama.cpp or build it.
process.env.NODE_LLAMA_CPP_SKIP_DOWNLOAD = "true";
const { getLlama, LlamaLogLevel } = await import("node-llama-cpp");

const USAGE = `usage: node llama_bench.mjs -m MODEL[,MODEL] [-p 512] [-n 128] [-t N[,N]] [-r 5] [--seed 1234]
       [--ctx-size N] [--ubatch 512] [--kv-type f16|f32] [--flash-attn on|off] [--mmap] [-o json|md]`;

function parseIntList(flag, text) {
  const values = text.split(",").map((item) => (/^\d+$/.test(item) ? Number(item) : NaN));
  if (values.some(Number.isNaN)) throw new Error(`${flag}: '${text}' is not a comma-separated list of integers`);
  return values;
}

function parseOptions(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: "string", short: "m" },
      "n-prompt": { type: "string", short: "p", default: "512" },
      "n-gen": { type: "string", short: "n", default: "128" },
      threads: { type: "string", short: "t", default: "1" },
      repetitions: { type: "string", short: "r", default: "5" },
      seed: { type: "string", default: "1234" },
      "ctx-size": { type: "string", default: "0" },
      ubatch: { type: "string", default: "512" },
      "kv-type": { type: "string", default: "f16" },
      "flash-attn": { type: "string", default: "on" },
      output: { type: "string", short: "o", default: "json" },
      mmap: { type: "boolean", default: false },
    },
  });
  if (!values.model) throw new Error(`-m MODEL is required\n${USAGE}`);
  const options = {
    models: values.model.split(",").filter(Boolean),
    nPrompt: parseIntList("-p", values["n-prompt"]).filter((p) => p > 0),
    nGen: parseIntList("-n", values["n-gen"]).filter((n) => n > 0),
    threads: parseIntList("-t", values.threads),
    repetitions: parseIntList("-r", values.repetitions)[0],
    seed: BigInt(parseIntList("--seed", values.seed)[0]),
    ubatch: parseIntList("--ubatch", values.ubatch)[0],
    kvType: values["kv-type"].toUpperCase(),
    flashAttention: values["flash-attn"] === "on",
    output: values.output,
    mmap: values.mmap,
  };
  const ctxSize = parseIntList("--ctx-size", values["ctx-size"])[0];
  options.ctxSize = ctxSize > 0 ? ctxSize : contextLength(options);
  if (options.threads.some((t) => t < 1)) throw new Error("-t: thread counts must be >= 1");
  if (options.repetitions < 1) throw new Error("-r: repetitions must be >= 1");
  if (!["F16", "F32"].includes(options.kvType)) throw new Error("--kv-type: f16 or f32");
  if (!["on", "off"].includes(values["flash-attn"])) throw new Error("--flash-attn: on or off");
  if (!["json", "md"].includes(options.output)) throw new Error("-o: json or md");
  return options;
}

// jitflow's bench_context_length(): the longest test, rounded up to llama.cpp's 256-cell padding.
function contextLength({ nPrompt, nGen }) {
  const longest = Math.max(1, ...nPrompt, ...nGen);
  return Math.ceil(longest / 256) * 256;
}

// jitflow's bench_token_ids(): a 64-bit LCG, id = (state >> 33) % nVocab, the first id BOS if any.
function benchTokenIds(seed, nTokens, nVocab, bos) {
  const mask = (1n << 64n) - 1n;
  let state = seed;
  const ids = new Uint32Array(nTokens);
  for (let i = 0; i < nTokens; i++) {
    state = (state * 6364136223846793005n + 1442695040888963407n) & mask;
    ids[i] = Number((state >> 33n) % BigInt(nVocab));
  }
  if (nTokens > 0 && bos >= 0) ids[0] = bos;
  return ids;
}

// The same ids as tools/jitflow/bench_test.cpp (BenchTokens.SeededIdsMatchThePeerScript and
// BenchTokens.SequenceIdsPutTheSpecialTokensInPlace).
function checkTokenIdsMatchJitflow() {
  const ids = Array.from(benchTokenIds(1234n, 6, 32000, 1)).join(",");
  if (ids !== "1,19070,14782,21232,18855,18421") throw new Error(`token ids drifted from jitflow's: ${ids}`);
  const seq = Array.from(benchSequenceIds(1234n, 6, 32000, [101], [102])).join(",");
  if (seq !== "101,19070,14782,21232,18855,102") throw new Error(`sequence ids drifted from jitflow's: ${seq}`);
}

// --- which llama.cpp this is: the loaded CPU backend, and the build info compiled into it ---

function loadedCpuBackend() {
  const maps = readFileSync("/proc/self/maps", "utf8").split("\n");
  const file = maps.map((line) => line.split(/\s+/).pop()).find((p) => /libggml-cpu[^/]*\.so$/.test(p ?? ""));
  if (!file) throw new Error("no libggml-cpu*.so is loaded: llama.cpp's CPU backend did not load");
  if (!file.includes(`${path.sep}@node-llama-cpp${path.sep}`)) {
    throw new Error(`llama.cpp was loaded from ${file}, not from node-llama-cpp's prebuilt binaries`);
  }
  return file;
}

// Reads exported globals of an ELF64 little-endian shared library: LLAMA_COMMIT is a `const char*`
// (its value is the addend of a relative relocation), LLAMA_BUILD_NUMBER an int.
function readLlamaBuildInfo(libraryPath) {
  const b = readFileSync(libraryPath);
  const u64 = (o) => Number(b.readBigUInt64LE(o));
  const sections = Array.from({ length: b.readUInt16LE(0x3c) }, (_, i) => {
    const o = u64(0x28) + i * b.readUInt16LE(0x3a);
    return { type: b.readUInt32LE(o + 4), offset: u64(o + 24), size: u64(o + 32), link: b.readUInt32LE(o + 40) };
  });
  const loads = Array.from({ length: b.readUInt16LE(0x38) }, (_, i) => {
    const o = u64(0x20) + i * b.readUInt16LE(0x36);
    return { type: b.readUInt32LE(o), offset: u64(o + 8), vaddr: u64(o + 16), filesz: u64(o + 32) };
  }).filter((p) => p.type === 1);
  const fileOffset = (vaddr) => {
    const seg = loads.find((p) => vaddr >= p.vaddr && vaddr < p.vaddr + p.filesz);
    return seg ? vaddr - seg.vaddr + seg.offset : -1;
  };
  const symbols = new Map();
  for (const dynsym of sections.filter((s) => s.type === 11)) {
    const strtab = sections[dynsym.link];
    for (let o = dynsym.offset; o < dynsym.offset + dynsym.size; o += 24) {
      const nameStart = strtab.offset + b.readUInt32LE(o);
      symbols.set(b.toString("latin1", nameStart, b.indexOf(0, nameStart)), u64(o + 8));
    }
  }
  const relocated = new Map();
  for (const rela of sections.filter((s) => s.type === 4)) {
    for (let o = rela.offset; o < rela.offset + rela.size; o += 24) relocated.set(u64(o), u64(o + 16));
  }
  const cString = (vaddr) => {
    const o = fileOffset(vaddr);
    return o < 0 ? null : b.toString("latin1", o, b.indexOf(0, o));
  };
  const pointee = (name) => (symbols.has(name) ? cString(relocated.get(symbols.get(name)) ?? -1) : null);
  const buildNumberOffset = symbols.has("LLAMA_BUILD_NUMBER") ? fileOffset(symbols.get("LLAMA_BUILD_NUMBER")) : -1;
  return {
    commit: pointee("LLAMA_COMMIT"),
    build_number: buildNumberOffset < 0 ? null : b.readInt32LE(buildNumberOffset),
    compiler: pointee("LLAMA_COMPILER"),
  };
}

function buildInfo(llama, cpuBackend) {
  const common = path.join(path.dirname(cpuBackend), "libllama-common.so");
  let compiled = { commit: null, build_number: null, compiler: null };
  try {
    compiled = readLlamaBuildInfo(common);
  } catch (err) {
    process.stderr.write(`llama_bench: cannot read the build info of ${common}: ${err.message}\n`);
  }
  const pkg = JSON.parse(readFileSync(new URL("./node_modules/node-llama-cpp/package.json", import.meta.url)));
  return {
    node_llama_cpp: pkg.version,
    llama_cpp_release: `${llama.llamaCppRelease.repo}@${llama.llamaCppRelease.release}`,
    llama_cpp_commit: compiled.commit,
    llama_cpp_build_number: compiled.build_number,
    compiler: compiled.compiler,
    build_type: llama.buildType,
    cpu_backend: path.basename(cpuBackend),
    system_info: llama.systemInfo.trim(),
  };
}

// llama.cpp's own account of the context it made ("llama_context: n_ubatch = 512", "K (f16)"), so
// that the report shows the settings llama.cpp used rather than the ones asked for.
function contextSettingsFromLog(log) {
  const field = (name) => log.match(new RegExp(`llama_context: ${name}\\s+= (\\S+)`))?.[1] ?? null;
  return {
    n_ctx: Number(field("n_ctx")),
    n_batch: Number(field("n_batch")),
    n_ubatch: Number(field("n_ubatch")),
    flash_attn: field("flash_attn"),
    type_k: log.match(/K \((\w+)\)/)?.[1] ?? null,
    type_v: log.match(/V \((\w+)\)/)?.[1] ?? null,
  };
}

// --- the tests ---

// Architectures jitflow runs as encoders (its bench's enc<P> rows); llama.cpp runs them without a KV
// cache, through llama_decode of an embedding context.
const ENCODER_ARCHS = new Set(["bert"]);

// node-llama-cpp's own rule for the tokens its embedding context adds around a text
// (LlamaEmbeddingContext._prepareInput), read from its file: the package exports do not list it.
const { resolveBeginningTokenToPrepend, resolveEndTokenToAppend } = await import(
  new URL("./node_modules/node-llama-cpp/dist/utils/tokenizerUtils.js", import.meta.url).href);

// jitflow's bench_sequence_ids(): the seeded ids with the prefix and suffix tokens in place.
function benchSequenceIds(seed, nTokens, nVocab, prefix, suffix) {
  const ids = benchTokenIds(seed, nTokens, nVocab, -1);
  ids.set(prefix, 0);
  ids.set(suffix, nTokens - suffix.length);
  return ids;
}

// One sequence through the embedding context, and its pooled vector read back (as jitflow returns it).
async function runEncoder(native, ids) {
  native.initBatch(ids.length);
  native.addToBatch(0, 0, ids, Uint32Array.from(ids.keys()));
  await native.decodeBatch();
  return native.getEmbedding(ids.length);
}

async function decode(native, firstPosition, ids, withLogits) {
  native.initBatch(ids.length);
  native.addToBatch(0, firstPosition, ids, Uint32Array.from(withLogits ? [ids.length - 1] : []));
  await native.decodeBatch();
}

async function runPrompt(native, ids, ubatch) {
  for (let start = 0; start < ids.length; start += ubatch) {
    const chunk = ids.subarray(start, Math.min(start + ubatch, ids.length));
    await decode(native, start, chunk, start + chunk.length === ids.length);
  }
}

async function runGeneration(native, ids) {
  for (let i = 0; i < ids.length; i++) await decode(native, i, ids.subarray(i, i + 1), true);
}

// One untimed run, then `repetitions` timed runs; the cache is emptied before each, untimed.
async function timeRuns(native, repetitions, runOnce) {
  const samplesNs = [];
  for (let i = 0; i <= repetitions; i++) {
    native.removeTokenCellsFromSequence(0, 0, -1);
    const start = process.hrtime.bigint();
    await runOnce();
    const elapsed = Number(process.hrtime.bigint() - start);
    if (i > 0) samplesNs.push(elapsed);
  }
  return samplesNs;
}

function statistics(nTokens, samplesNs) {
  const ts = samplesNs.map((ns) => (nTokens * 1e9) / ns);
  const mean = ts.reduce((a, b) => a + b, 0) / ts.length;
  const variance = ts.length > 1 ? ts.reduce((a, v) => a + (v - mean) ** 2, 0) / (ts.length - 1) : 0;
  const sorted = [...samplesNs].sort((a, b) => a - b);
  const mid = (sorted.length - 1) / 2;
  const medianNs = (sorted[Math.floor(mid)] + sorted[Math.ceil(mid)]) / 2;
  return { median_ns: medianNs, median_ts: (nTokens * 1e9) / medianNs, avg_ts: mean, stddev_ts: Math.sqrt(variance), samples_ns: samplesNs };
}

async function createContext(model, options, threads, logs, embeddings = false) {
  logs.length = 0;
  const context = await model.createContext({
    contextSize: options.ctxSize,
    // batch = ubatch in node-llama-cpp; an encoder's sequence must fit one ubatch
    batchSize: embeddings ? options.ctxSize : Math.min(options.ubatch, options.ctxSize),
    threads,
    flashAttention: options.flashAttention,
    sequences: 1,
    experimentalKvCacheKeyType: options.kvType,
    experimentalKvCacheValueType: options.kvType,
    _embeddings: embeddings,  // what LlamaEmbeddingContext passes: llama.cpp's embedding mode
  });
  await new Promise((resolve) => setTimeout(resolve, 50));  // llama.cpp's log arrives asynchronously
  const settings = contextSettingsFromLog(logs.join("\n"));
  const actualThreads = context._ctx.getThreads();
  if (actualThreads !== threads) throw new Error(`llama.cpp runs ${actualThreads} threads, not ${threads}`);
  return { context, settings };
}

// enc<P> rows of an encoder model, one per -p value (-n values do not apply).
async function benchEncoder(model, options, modelPath, logs, rows) {
  const nVocab = model.fileInfo.metadata.tokenizer.ggml.tokens.length;
  const first = resolveBeginningTokenToPrepend(model.vocabularyType, model.tokens);
  const last = resolveEndTokenToAppend(model.vocabularyType, model.tokens);
  const arch = model.fileInfo.metadata.general.architecture;
  const pooling = ["none", "mean", "cls", "last", "rank"][model.fileInfo.metadata[arch]?.pooling_type ?? -1] ?? "model";
  const prefix = first == null ? [] : [first];
  const suffix = last == null ? [] : [last];
  for (const threads of options.threads) {
    const { context, settings } = await createContext(model, options, threads, logs, true);
    for (const nPrompt of options.nPrompt) {
      if (nPrompt <= prefix.length + suffix.length) throw new Error(`enc${nPrompt}: shorter than its special tokens`);
      const ids = benchSequenceIds(options.seed, nPrompt, nVocab, prefix, suffix);
      const samples = await timeRuns(context._ctx, options.repetitions, () => runEncoder(context._ctx, ids));
      const stats = statistics(nPrompt, samples);
      rows.push({
        model_filename: path.basename(modelPath), test: `enc${nPrompt}`, encoder: true, n_threads: threads,
        n_prompt: nPrompt, n_gen: 0, pooling, ...settings, ...stats, ms_per_seq: stats.median_ns / 1e6,
      });
      process.stderr.write(`llama_bench: ${rows.at(-1).model_filename} ${rows.at(-1).test} threads ${threads}: ` +
        `${stats.median_ts.toFixed(2)} t/s, ${(stats.median_ns / 1e6).toFixed(1)} ms/seq (median of ${options.repetitions})\n`);
    }
    await context.dispose();
  }
}

async function benchModel(llama, options, modelPath, logs) {
  const model = await llama.loadModel({ modelPath, gpuLayers: 0, useMmap: options.mmap });
  const nVocab = model.fileInfo.metadata.tokenizer.ggml.tokens.length;
  const bos = model.tokens.shouldPrependBosToken && model.tokens.bos != null ? model.tokens.bos : -1;
  const rows = [];
  if (ENCODER_ARCHS.has(model.fileInfo.metadata.general.architecture)) {
    await benchEncoder(model, options, modelPath, logs, rows);
    await model.dispose();
    return rows;
  }
  for (const threads of options.threads) {
    const { context, settings } = await createContext(model, options, threads, logs);
    const tests = [...options.nPrompt.map((p) => [p, 0]), ...options.nGen.map((n) => [0, n])];
    for (const [nPrompt, nGen] of tests) {
      const ids = benchTokenIds(options.seed, nPrompt + nGen, nVocab, bos);
      const runOnce = nPrompt > 0 ? () => runPrompt(context._ctx, ids, options.ubatch) : () => runGeneration(context._ctx, ids);
      const samples = await timeRuns(context._ctx, options.repetitions, runOnce);
      rows.push({
        model_filename: path.basename(modelPath), test: nPrompt > 0 ? `pp${nPrompt}` : `tg${nGen}`,
        n_threads: threads, n_prompt: nPrompt, n_gen: nGen, ...settings, ...statistics(nPrompt + nGen, samples),
      });
      process.stderr.write(`llama_bench: ${rows.at(-1).model_filename} ${rows.at(-1).test} threads ${threads}: ` +
        `${rows.at(-1).median_ts.toFixed(2)} t/s (median of ${options.repetitions})\n`);
    }
    await context.dispose();
  }
  await model.dispose();
  return rows;
}

function markdown(report) {
  const lines = ["| model | threads | test | t/s | median t/s |", "| ----- | ------: | ---: | --: | ---------: |"];
  for (const r of report.tests) {
    lines.push(`| ${r.model_filename} | ${r.n_threads} | ${r.test} | ${r.avg_ts.toFixed(2)} ± ${r.stddev_ts.toFixed(2)} | ${r.median_ts.toFixed(2)} |`);
  }
  const p = report.peer;
  lines.push("", `llama.cpp ${p.llama_cpp_release} commit ${p.llama_cpp_commit} (${p.compiler}), node-llama-cpp ${p.node_llama_cpp}, ${p.build_type} ${p.cpu_backend}`);
  return lines.join("\n") + "\n";
}

async function main() {
  const options = parseOptions(process.argv.slice(2));
  checkTokenIdsMatchJitflow();
  const logs = [];
  const llama = await getLlama({
    gpu: false,
    build: "never",
    skipDownload: true,
    usePrebuiltBinaries: true,
    progressLogs: false,
    maxThreads: Math.max(...options.threads),
    logLevel: LlamaLogLevel.info,
    logger: (level, message) => {
      logs.push(message);
      if (level === LlamaLogLevel.error || level === LlamaLogLevel.fatal) process.stderr.write(message);
    },
  });
  if (llama.buildType !== "prebuilt") throw new Error(`node-llama-cpp loaded a ${llama.buildType} build, not the prebuilt binaries`);
  const cpuBackend = loadedCpuBackend();
  const report = { peer: { ...buildInfo(llama, cpuBackend), n_ctx_requested: options.ctxSize, mmap: options.mmap }, tests: [] };
  for (const modelPath of options.models) report.tests.push(...(await benchModel(llama, options, modelPath, logs)));
  process.stdout.write(options.output === "md" ? markdown(report) : JSON.stringify(report, null, 1) + "\n");
  await llama.dispose();
}

main().catch((err) => {
  process.stderr.write(`llama_bench: ${err.message}\n`);
  process.exit(1);
});
