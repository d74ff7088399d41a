// The demo page: pick a model (served under /models/, or a local file), type a prompt, watch the text
// stream with tokens/s, and the kernels being tuned in the page: a chart of decode latency against
// seconds since the page loaded. Query parameters drive it from tests:
// ?model=NAME&prompt=TEXT&tokens=N&run=1&tune=0|1&backend=cpu|webgpu|auto. When a run ends,
// document.body.dataset.state is 'done' (or 'error') and window.jitflowResult holds {text, stats,
// load} (load: loadModel's result: backend, adapter, fallback) or {error: {code, message}};
// window.jitflowTuning holds {start, progress} once tuning has begun.
import { Jitflow } from '../jitflow.js';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
if (params.has('model')) $('model').value = params.get('model');
if (params.has('prompt')) $('prompt').value = params.get('prompt');
if (params.has('tokens')) $('tokens').value = params.get('tokens');
if (params.get('tune') === '0') $('tune').checked = false;
if (params.has('backend')) $('backend').value = params.get('backend');

let jf = null;
let loadedName = null;  // "NAME on BACKEND" (the select's choice)
let loaded = null;      // loadModel's result
let tunedName = null;  // the model tuning was started for
let abort = null;
const tokenPoints = [];   // [seconds since page load, ms per decode token]
const matmulPoints = [];  // [seconds, estimated decode matmul ms per token]
const seconds = () => performance.now() / 1e3;

function setStatus(text, isError = false) {
  $('status').textContent = text;
  $('status').className = isError ? 'error' : '';
}

function finish(state, result) {
  window.jitflowResult = result;
  document.body.dataset.state = state;
}

// Decode latency (each token's ms) and the tuner's estimate of its matmuls, over time.
function drawChart() {
  const canvas = $('chart');
  const g = canvas.getContext('2d');
  const w = canvas.width, h = canvas.height, left = 44, bottom = 24;
  g.clearRect(0, 0, w, h);
  const all = tokenPoints.concat(matmulPoints);
  if (all.length === 0) return;
  const tMax = Math.max(10, ...all.map((p) => p[0]));
  const yMax = Math.max(...all.map((p) => p[1])) * 1.1;
  const x = (t) => left + (w - left - 8) * t / tMax;
  const y = (v) => (h - bottom) * (1 - v / yMax) + 4;
  g.strokeStyle = '#999';
  g.fillStyle = '#555';
  g.font = '11px system-ui';
  g.beginPath();
  g.moveTo(left, 4);
  g.lineTo(left, h - bottom + 4);
  g.lineTo(w - 8, h - bottom + 4);
  g.stroke();
  g.fillText(`${yMax.toFixed(yMax < 10 ? 2 : 0)} ms`, 2, 12);
  g.fillText('0', left - 10, h - bottom + 4);
  g.fillText(`${tMax.toFixed(0)} s since page load`, w - 130, h - 6);
  for (const [points, color, label, at] of [[tokenPoints, '#1f77b4', 'decode ms/token', 0],
                                            [matmulPoints, '#d62728', 'its matmuls (tuner estimate)', 1]]) {
    g.strokeStyle = g.fillStyle = color;
    g.beginPath();
    points.forEach(([t, v], i) => (i ? g.lineTo(x(t), y(v)) : g.moveTo(x(t), y(v))));
    g.stroke();
    g.fillText(label, left + 10 + at * 140, 14);
  }
}

function showTuning(progress) {
  window.jitflowTuning.progress = progress;
  if (progress.error) {
    $('tuning').textContent = `tuning stopped: ${progress.error}`;
    return;
  }
  matmulPoints.push([seconds(), progress.matmulMsPerToken]);
  const adopted = progress.workloads.reduce((n, w) => n + w.adopted, 0);
  $('tuning').textContent = `${progress.done ? 'tuned' : 'tuning'}: ${progress.tried} of ${progress.candidates} ` +
    `candidates tried in ${progress.busyS.toFixed(1)} s, ${adopted} kernels swapped in; decode matmuls ` +
    `${progress.startMatmulMsPerToken.toFixed(3)} → ${progress.matmulMsPerToken.toFixed(3)} ms/token`;
  const rows = progress.workloads.map((w) =>
    `<tr><td>${w.shape} × ${w.tokens}</td><td>${w.full} → ${w.pruned}</td><td>${w.fromKdb ? 'kdb' : w.tried}</td>` +
    `<td>${w.current}</td><td>${(w.currentNs / 1e3).toFixed(1)} µs</td></tr>`);
  $('space').innerHTML = '<tr><th>workload</th><th>space: full → pruned</th><th>tried</th><th>kernel</th>' +
                         '<th>time</th></tr>' + rows.join('');
  drawChart();
}

async function startTuning() {
  if (!$('tune').checked || tunedName === loadedName) return;
  tunedName = loadedName;
  $('tuning').textContent = 'measuring this device…';
  window.jitflowTuning = { start: null, progress: null };
  const start = await jf.startTuning({ onProgress: showTuning });
  window.jitflowTuning.start = start;
  if (start.backend === 'webgpu') {
    console.log(`adapter ${start.device} [${start.features}]: ${JSON.stringify(start.limits)}`);
  } else {
    const r = start.limits.limits;
    console.log(`device ${start.fingerprint} [${start.features}]: ${r.vector_registers.value} vector registers, ` +
                `L1d ${r.l1d_bytes.value} B, L2 ${r.l2_bytes.value} B, ${r.n_cores.value} cores, ` +
                `${r.dram_bandwidth_all_threads_gbps.value} GB/s (${start.limitsCached ? 'kept' : 'measured'} ` +
                `in ${start.microbenchMs.toFixed(0)} ms)`);
  }
  showTuning(start.progress);
}

// Where the model runs, for the status line: the adapter, or the CPU's threads (and why not WebGPU).
function backendText(load) {
  if (load.backend === 'webgpu') return `on WebGPU (${load.adapter})`;
  return `on the CPU, ${jf.threads} threads` + (load.fallback ? `; ${load.fallback}` : '');
}

async function ensureModel() {
  const file = $('file').files[0];
  const name = file ? `file:${file.name}` : $('model').value;
  const backend = $('backend').value;
  if (`${name} on ${backend}` === loadedName) return;
  const started = performance.now();
  const onProgress = (p) => setStatus(`loading ${name}: ${(p.loaded / 1e6).toFixed(1)}` +
                                      (p.total ? ` of ${(p.total / 1e6).toFixed(1)} MB` : ' MB') +
                                      (p.cached ? ' (cached)' : ''));
  loadedName = loaded = null;
  loaded = await jf.loadModel(file ?? new URL(`../models/${name}`, location.href), { onProgress, backend });
  loadedName = `${name} on ${backend}`;
  setStatus(`${name} loaded in ${((performance.now() - started) / 1e3).toFixed(2)} s ${backendText(loaded)}`);
}

async function run() {
  $('generate').disabled = true;
  $('stop').disabled = false;
  document.body.dataset.state = 'running';
  abort = new AbortController();
  let text = '';
  try {
    await ensureModel();
    const prompt = $('prompt').value;
    $('output').replaceChildren(Object.assign(document.createElement('span'), { className: 'prompt', textContent: prompt }));
    const generated = document.createTextNode('');
    $('output').append(generated);
    let first = true;
    const stats = await jf.generate(prompt, {
      maxTokens: Number($('tokens').value),
      temperature: Number($('temperature').value),
      signal: abort.signal,
      tuneSliceMs: $('tune').checked ? 10 : 0,
      onToken: (piece, ms) => {
        text += piece;
        generated.appendData(piece);
        if (!first) tokenPoints.push([seconds(), ms]);
        first = false;
      },
    });
    $('stats').textContent = `${stats.backend}: prompt ${stats.promptTokens} tokens at ` +
                             `${stats.prefillTokensPerS.toFixed(1)} t/s · generated ${stats.generatedTokens} tokens at ` +
                             `${stats.decodeTokensPerS.toFixed(1)} t/s` + (stats.note ? ` (${stats.note})` : '');
    drawChart();
    finish('done', { text, stats, load: loaded });
    await startTuning();  // after the first text, so that the page shows output at once
  } catch (error) {
    setStatus(`error: ${error.message}`, true);
    finish('error', { error: { code: error.code ?? 'internal', message: error.message } });
  } finally {
    $('generate').disabled = false;
    $('stop').disabled = true;
  }
}

async function exportKdb() {
  const link = document.createElement('a');
  link.href = URL.createObjectURL(new Blob([await jf.exportKdb()], { type: 'application/json' }));
  link.download = 'jitflow-kdb.json';
  link.click();
}

$('generate').onclick = run;
$('stop').onclick = () => abort?.abort();
$('export').onclick = exportKdb;
$('import').onchange = async () => {
  const { imported } = await jf.importKdb(await $('import').files[0].text());
  setStatus(`imported ${imported} kernel records; they apply when a model loads`);
  loadedName = null;
};
$('clear').onclick = async () => {
  await jf.clearKdb();
  setStatus('tuned kernels forgotten; they apply when a model loads');
  loadedName = tunedName = null;
};

try {
  jf = await Jitflow.create();
  setStatus(`engine ready (${jf.threads} threads)`);
  if (params.get('run') === '1') run();
} catch (error) {
  setStatus(`error: ${error.message}`, true);
  finish('error', { error: { code: error.code ?? 'internal', message: error.message } });
}
