// jitflow beside llama.cpp in one run: `jitflow bench -o json`, then bench/peer/llama_bench.mjs
// (llama.cpp's prebuilt CPU binaries from node-llama-cpp) with the same models, tests, threads,
// repetitions, token ids and context length, printed as one markdown table of medians.
//
//   node bench/compare.mjs -m MODEL.gguf -p 64,512 -n 128 -t 1,2 -r 5 [--rounds 3] [--jitflow PATH]
//                          [--peer-kv f16|f32] [--peer-flash-attn on|off] [--no-kdb]
//
// The peer is installed on first use with `npm ci --ignore-scripts` from the committed lock file
// (no install script, so nothing is downloaded or built besides the npm packages). The two tools
// run one after the other, never at once. On a shared machine the load changes within minutes, so
// --rounds K runs both K times in alternating order (jitflow first, then the peer first, ...) and
// each side's median is taken over the runs of all rounds: both then see the same mix of load.
//
// Encoder models (BERT) get enc<P> rows on both sides: one sequence of P tokens per -p value, through
// jitflow's embed_tokens (src/runtime/embed_tokens.h) and llama.cpp's embedding mode; -n does not apply to them, and the
// table adds each side's milliseconds per sequence.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const peerDir = path.join(repoRoot, "bench", "peer");

function parseOptions() {
  const { values } = parseArgs({
    options: {
      model: { type: "string", short: "m" },
      "n-prompt": { type: "string", short: "p", default: "64,512" },
      "n-gen": { type: "string", short: "n", default: "128" },
      threads: { type: "string", short: "t", default: "1" },
      repetitions: { type: "string", short: "r", default: "5" },
      seed: { type: "string", default: "1234" },
      jitflow: { type: "string", default: path.join(repoRoot, "build/release/tools/jitflow/jitflow") },
      "bandwidth-gbps": { type: "string" },
      "peer-kv": { type: "string", default: "f16" },
      "peer-flash-attn": { type: "string", default: "on" },
      "no-kdb": { type: "boolean", default: false },
      rounds: { type: "string", default: "1" },
    },
  });
  if (!values.model) throw new Error("-m MODEL is required");
  if (!existsSync(values.jitflow)) throw new Error(`no jitflow binary at ${values.jitflow}: build it or pass --jitflow PATH`);
  if (!/^[1-9]\d*$/.test(values.rounds)) throw new Error("--rounds: a positive integer");
  return values;
}

function installPeer() {
  if (existsSync(path.join(peerDir, "node_modules", "node-llama-cpp", "package.json"))) return;
  process.stderr.write("compare: installing the llama.cpp peer (npm ci, prebuilt binaries only)\n");
  execFileSync("npm", ["ci", "--ignore-scripts", "--no-audit", "--no-fund"], {
    cwd: peerDir,
    stdio: ["ignore", "inherit", "inherit"],
    env: { ...process.env, NODE_LLAMA_CPP_SKIP_DOWNLOAD: "true" },
  });
}

// Runs a command with progress on our stderr and returns its stdout parsed as JSON.
function runJson(command, args) {
  process.stderr.write(`compare: ${[command, ...args].join(" ")}\n`);
  const result = spawnSync(command, args, { stdio: ["ignore", "pipe", "inherit"], encoding: "utf8", maxBuffer: 1 << 26 });
  if (result.status !== 0) throw new Error(`${path.basename(command)} failed (exit ${result.status})`);
  return JSON.parse(result.stdout);
}

function runJitflow(o) {
  const args = ["bench", "-m", o.model, "-p", o["n-prompt"], "-n", o["n-gen"], "-t", o.threads, "-r", o.repetitions,
    "-s", o.seed, "-o", "json", "--progress"];
  if (o["bandwidth-gbps"]) args.push("--bandwidth-gbps", o["bandwidth-gbps"]);
  if (o["no-kdb"]) args.push("--no-kdb");
  return runJson(o.jitflow, args);
}

function runPeer(o, nCtx) {
  return runJson(process.execPath, [path.join(peerDir, "llama_bench.mjs"), "-m", o.model, "-p", o["n-prompt"],
    "-n", o["n-gen"], "-t", o.threads, "-r", o.repetitions, "--seed", o.seed, "--ctx-size", String(nCtx),
    "--kv-type", o["peer-kv"], "--flash-attn", o["peer-flash-attn"], "-o", "json"]);
}

const key = (row) => `${row.model_filename}|${row.test}|${row.n_threads}`;
const fixed = (x, digits = 2) => (x == null ? "" : x.toFixed(digits));

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = (sorted.length - 1) / 2;
  return (sorted[Math.floor(mid)] + sorted[Math.ceil(mid)]) / 2;
}

// The rows of the first round with median_ts recomputed over the timed runs of every round, and
// the highest DRAM bandwidth measured around the row's test in any round (the limit of %BW).
function pool(rounds) {
  const samples = new Map();
  const bandwidth = new Map();
  for (const row of rounds.flat()) {
    samples.set(key(row), [...(samples.get(key(row)) ?? []), ...row.samples_ns]);
    bandwidth.set(key(row), Math.max(bandwidth.get(key(row)) ?? 0, row.bandwidth_gbps ?? 0));
  }
  return rounds[0].map((row) => {
    const pooled = samples.get(key(row));
    return {
      ...row,
      n_runs: pooled.length,
      median_ts: ((row.n_prompt + row.n_gen) * 1e9) / median(pooled),
      bandwidth_gbps: bandwidth.get(key(row)) || null,
    };
  });
}

// jitflow's GB/s and %BW for its pooled median (bench.h: decode bytes per token x median t/s).
function withBandwidth(row) {
  if (row.gbps == null) return row;
  const gbps = (row.decode_bytes_per_token * row.median_ts) / 1e9;
  return { ...row, gbps, bw_fraction: row.bandwidth_gbps ? gbps / row.bandwidth_gbps : null };
}

function report(ours, peer, rounds, loadBefore) {
  const p = peer.peer;
  const first = ours[0];
  const encoders = ours.some((r) => r.encoder);
  const msPerSeq = (r) => (r?.encoder && r.median_ts ? (r.n_prompt * 1e3) / r.median_ts : null);
  const peerSettings = peer.tests[0];
  const load = (l) => l.map((x) => x.toFixed(1)).join(" ");
  const lines = [
    `device: ${first.cpu_info}, ${os.cpus().length} CPUs; load average ${load(loadBefore)} before, ${load(os.loadavg())} after ` +
      "(a load above the CPU count means other processes shared the cores)",
    `jitflow: ${first.backends}, ${first.use_kdb ? "tuned kernels (kdb) where stored" : "default kernels"}, n_ctx ${first.n_ctx}, ` +
      `KV cache ${first.type_k}/${first.type_v}, fused online-softmax attention, prompt batches of <= 512 tokens, weights read into memory`,
    `llama.cpp: ${p.llama_cpp_release}, commit ${p.llama_cpp_commit} (build ${p.llama_cpp_build_number}, ${p.compiler}), ` +
      `node-llama-cpp ${p.node_llama_cpp} ${p.build_type} CPU backend ${p.cpu_backend}`,
    `llama.cpp settings (from its log): n_ctx ${peerSettings.n_ctx}, n_batch ${peerSettings.n_batch}, n_ubatch ${peerSettings.n_ubatch}, ` +
      `flash_attn ${peerSettings.flash_attn}, KV cache ${peerSettings.type_k}/${peerSettings.type_v}, mmap off, no sampler`,
    `same token ids, threads and repetitions on both; t/s are medians over ${first.n_runs} runs ` +
      `(${rounds} alternating round(s)); ratio = jitflow / llama.cpp`,
    "",
    "| model | test | threads | jitflow t/s | llama.cpp t/s | ratio | jitflow GB/s | jitflow %BW |" +
      (encoders ? " jitflow ms/seq | llama.cpp ms/seq |" : ""),
    "| ----- | ---: | ------: | ----------: | ------------: | ----: | -----------: | ----------: |" +
      (encoders ? " ---: | ---: |" : ""),
  ];
  const peerRows = new Map(peer.tests.map((r) => [key(r), r]));
  for (const r of ours) {
    const theirs = peerRows.get(key(r));
    const ratio = theirs ? r.median_ts / theirs.median_ts : null;
    const bw = r.bw_fraction == null ? "" : `${(100 * r.bw_fraction).toFixed(1)}% of ${r.bandwidth_gbps.toFixed(1)}`;
    lines.push(`| ${r.model_filename} | ${r.test} | ${r.n_threads} | ${fixed(r.median_ts)} | ${fixed(theirs?.median_ts)} | ` +
      `${fixed(ratio)} | ${fixed(r.gbps)} | ${bw} |` +
      (encoders ? ` ${fixed(msPerSeq(r), 1)} | ${fixed(msPerSeq(theirs), 1)} |` : ""));
  }
  if (encoders) {
    lines.push("", "enc<P>: one sequence of P tokens ([CLS] + seeded ids + [SEP]) through the encoder with the model's pooling " +
      `(llama.cpp: embedding context, pooling ${peer.tests.find((r) => r.encoder)?.pooling ?? "?"}); t/s = P / time`);
  }
  lines.push("", `%BW of the DRAM read bandwidth in GB/s, ${first.bandwidth_source === "given" ? "given" :
    "measured by jitflow just before and after each of its tg tests (the highest of all rounds)"}`);
  return lines.join("\n") + "\n";
}

function main() {
  const o = parseOptions();
  installPeer();
  const loadBefore = os.loadavg();
  const ourRounds = [runJitflow(o)];
  const nCtx = ourRounds[0][0].n_ctx;
  const peerRounds = [runPeer(o, nCtx)];
  for (let round = 1; round < Number(o.rounds); round++) {
    if (round % 2 === 1) peerRounds.push(runPeer(o, nCtx));
    ourRounds.push(runJitflow(o));
    if (round % 2 === 0) peerRounds.push(runPeer(o, nCtx));
  }
  const ours = pool(ourRounds).map(withBandwidth);
  const peer = { peer: peerRounds[0].peer, tests: pool(peerRounds.map((r) => r.tests)) };
  process.stdout.write(report(ours, peer, Number(o.rounds), loadBefore));
}

try {
  main();
} catch (err) {
  process.stderr.write(`compare: ${err.message}\n`);
  process.exit(1);
}
