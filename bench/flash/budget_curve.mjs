// The tokens/s-vs-memory-budget curve of streaming weights from flash, with its peers in the same
// run, as a CSV table and an SVG chart:
//   - jitflow streamed: the flash-layout model under `--mem B`, at each sparsity;
//   - jitflow in memory: the row-major model dense, and the flash model loaded resident (sparse);
//   - llama.cpp (node-llama-cpp's prebuilt binaries, bench/peer) with its weights mmapped, so that
//     under the cap the page cache holds what fits and the rest is read from the disk again.
// Every run is one process in a cgroup v1 memory group of its own; its memory.max_usage_in_bytes
// (which counts the page cache as well as the process's own memory) is the run's peak. A capped
// run's memory.limit_in_bytes is B + the engine's baseline + --margin-mib, B the budget (a percentage
// of the flash file, as `jitflow --mem` reads one) and the baseline the engine's own peak running
// the tiny models/stories260K.gguf (its runtime: node and its libraries for llama.cpp, the binary
// for jitflow), so that each gets B for the model. The page cache is dropped before each run, so that
// no pages cached outside the group serve it. Needs root and the memory controller at
// /sys/fs/cgroup/memory.
//
//   node bench/flash/budget_curve.mjs --rows MODEL.gguf --flash MODEL-flash.gguf [--budgets 25,50,75,100]
//        [--budgets-mib 4096,8192] [--streamed-only] [--sparsity 0,0.5] [-n 16] [-t 2] [-r 2]
//        [--margin-mib 32] [--out DIR] [--jitflow PATH]
// --budgets-mib: budgets in MiB instead of percentages of the flash file; --streamed-only: no
// uncapped in-memory runs (a model bigger than this machine's memory).
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmdirSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const cgroupRoot = "/sys/fs/cgroup/memory";
const MiB = 1 << 20;

function parseOptions() {
  const { values } = parseArgs({
    options: {
      rows: { type: "string" },
      flash: { type: "string" },
      budgets: { type: "string", default: "25,50,75,100" },
      "budgets-mib": { type: "string" },
      "streamed-only": { type: "boolean", default: false },
      sparsity: { type: "string", default: "0,0.5" },
      "n-gen": { type: "string", short: "n", default: "16" },
      threads: { type: "string", short: "t", default: "2" },
      repetitions: { type: "string", short: "r", default: "2" },
      "margin-mib": { type: "string", default: "32" },
      out: { type: "string", default: "budget-curve" },
      jitflow: { type: "string", default: path.join(repoRoot, "build/release/tools/jitflow/jitflow") },
    },
  });
  if (!values.rows || !values.flash) throw new Error("--rows MODEL.gguf and --flash MODEL-flash.gguf are required");
  if (!existsSync(values.jitflow)) throw new Error(`no jitflow binary at ${values.jitflow}: build it or pass --jitflow`);
  if (!existsSync(path.join(cgroupRoot, "memory.limit_in_bytes"))) {
    throw new Error(`no cgroup v1 memory controller at ${cgroupRoot}: the caps need it`);
  }
  return values;
}

// Runs argv in a fresh memory group capped at `limit` bytes (none: uncapped); its stdout as JSON
// and the group's peak.
function runCapped(argv, limit) {
  process.stderr.write(`budget_curve: ${limit ? `[cap ${(limit / MiB).toFixed(0)} MiB] ` : ""}${argv.join(" ")}\n`);
  writeFileSync("/proc/sys/vm/drop_caches", "1");
  const group = path.join(cgroupRoot, `jitflow-budget-curve-${process.pid}`);
  mkdirSync(group);
  if (limit) writeFileSync(path.join(group, "memory.limit_in_bytes"), String(limit));
  const result = spawnSync("sh", ["-c", `echo $$ > ${group}/cgroup.procs && exec "$@"`, "sh", ...argv],
    { stdio: ["ignore", "pipe", "inherit"], encoding: "utf8", maxBuffer: 1 << 26 });
  const peak = Number(readFileSync(path.join(group, "memory.max_usage_in_bytes"), "utf8"));
  const failcnt = Number(readFileSync(path.join(group, "memory.failcnt"), "utf8"));
  process.stderr.write(`budget_curve: peak ${(peak / MiB).toFixed(1)} MiB${limit ? `, limit hit ${failcnt} times` : ""}\n`);
  rmdirSync(group);
  if (result.status !== 0) return { failed: `exit ${result.status ?? result.signal}`, peak };
  return { json: JSON.parse(result.stdout), peak };
}

function jitflowBench(o, model, extra) {
  return [o.jitflow, "bench", "-m", model, "-p", "0", "-n", o["n-gen"], "-t", o.threads, "-r", o.repetitions,
    "--no-kdb", "--bandwidth-gbps", "40", "-o", "json", ...extra];
}

function peerBench(o, model, mmap) {
  return [process.execPath, path.join(repoRoot, "bench/peer/llama_bench.mjs"), "-m", model, "-p", "0",
    "-n", o["n-gen"], "-t", o.threads, "-r", o.repetitions, "--ctx-size", "256", "--kv-type", "f32", "-o", "json",
    ...(mmap ? ["--mmap"] : [])];
}

function main() {
  const o = parseOptions();
  const flashBytes = statSync(o.flash).size;
  const budgets = o["budgets-mib"] ? o["budgets-mib"].split(",").map((mib) => Number(mib) * MiB / flashBytes * 100)
    : o.budgets.split(",").map(Number);
  const margin = Number(o["margin-mib"]) * MiB;
  const tiny = path.join(repoRoot, "models/stories260K.gguf");
  const baseline = {
    jitflow: runCapped(jitflowBench(o, tiny, [])).peak,
    llama: runCapped(peerBench(o, tiny, true)).peak,
  };
  process.stderr.write(`budget_curve: baselines (stories260K): jitflow ${(baseline.jitflow / MiB).toFixed(1)} MiB, ` +
    `llama.cpp ${(baseline.llama / MiB).toFixed(1)} MiB\n`);
  const rows = [];
  const add = (engine, sparsity, percent, run, row) => rows.push({
    engine, sparsity, budget_percent: percent, budget_mib: percent == null ? "" : (flashBytes * percent / 100 / MiB).toFixed(1),
    cap_mib: run.limit ? (run.limit / MiB).toFixed(1) : "", peak_mib: run.peak ? (run.peak / MiB).toFixed(1) : "",
    peak_over_budget_mib: run.limit && run.peak ? ((run.peak - flashBytes * percent / 100) / MiB).toFixed(1) : "",
    tokens_per_s: row ? row.median_ts.toFixed(3) : "", flash_mib_per_token:
      row && row.flash_bytes_per_token ? (row.flash_bytes_per_token / MiB).toFixed(1) : "",
    note: run.failed ?? "",
  });

  // In memory, uncapped: drawn as flat lines across the budgets.
  const inMemory = o["streamed-only"] ? [] : [
    ["jitflow in memory (rows)", runCapped(jitflowBench(o, o.rows, ["--sparsity", "0"]))],
    ["jitflow in memory (channel-major)", runCapped(jitflowBench(o, o.flash, ["--sparsity", o.sparsity]))],
    ["llama.cpp in memory", runCapped(peerBench(o, o.rows, false))],
  ];
  for (const [engine, run] of inMemory) {
    const tests = run.json ? run.json.tests ?? run.json : [];
    for (const row of tests) {
      for (const percent of budgets) add(engine, row.sparsity ?? 0, percent, run, row);
    }
  }
  for (const percent of budgets) {
    const budget = Math.floor(flashBytes * percent / 100);
    const ourLimit = budget + baseline.jitflow + margin, peerLimit = budget + baseline.llama + margin;
    const ours = runCapped(jitflowBench(o, o.flash, ["--sparsity", o.sparsity, "--mem", String(budget)]), ourLimit);
    for (const row of ours.json ?? [{ sparsity: "", median_ts: null }]) {
      add("jitflow streamed", row.sparsity, percent, { ...ours, limit: ourLimit }, row.median_ts == null ? null : row);
    }
    const peer = runCapped(peerBench(o, o.rows, true), peerLimit);
    add("llama.cpp mmap", 0, percent, { ...peer, limit: peerLimit }, peer.json ? peer.json.tests[0] : null);
  }

  mkdirSync(o.out, { recursive: true });
  const header = Object.keys(rows[0]);
  const csv = [header.join(","), ...rows.map((r) => header.map((h) => JSON.stringify(r[h] ?? "")).join(","))].join("\n");
  const csvPath = path.join(o.out, "budget_curve.csv");
  writeFileSync(csvPath, csv + "\n");
  const svgPath = path.join(o.out, "budget_curve.svg");
  spawnSync(o.jitflow, ["plot", "-i", csvPath, "-o", svgPath, "--x", "budget_percent", "--y", "tokens_per_s",
    "--series", "engine,sparsity", "--title", `decode tokens/s vs memory budget: ${path.basename(o.flash)}`,
    "--x-label", "memory budget, % of the model file", "--y-label", "tokens/s"], { stdio: "inherit" });
  process.stdout.write(`baselines (stories260K): jitflow ${(baseline.jitflow / MiB).toFixed(1)} MiB, llama.cpp ` +
    `${(baseline.llama / MiB).toFixed(1)} MiB; cap = budget + baseline + ${o["margin-mib"]} MiB\n\n`);
  process.stdout.write(`| engine | sparsity | budget % | cap MiB | peak MiB | over budget MiB | t/s | flash MiB/t | note |\n` +
    `|---|---|---|---|---|---|---|---|---|\n`);
  for (const r of rows) {
    process.stdout.write(`| ${r.engine} | ${r.sparsity} | ${r.budget_percent} | ${r.cap_mib} | ${r.peak_mib} | ${r.peak_over_budget_mib} | ` +
      `${r.tokens_per_s} | ${r.flash_mib_per_token} | ${r.note} |\n`);
  }
  process.stderr.write(`budget_curve: wrote ${csvPath} and ${svgPath}\n`);
}

main();
