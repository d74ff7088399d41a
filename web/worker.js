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
// Requests: {id, type: 'init', threads, stopFlag} | {id, type: 'load', name, bytes}
//           {id, type: 'generate', prompt, maxTokens, temperature, seed, tuneSliceMs}
//           {id, type: 'tuneStart', background, sliceMs, fullSpace} | {id, type: 'tuneStop'}
//           {id, type: 'kdbExport'} | {id, type: 'kdbImport', text} | {id, type: 'kdbClear'}
// Replies:  {id, ok: true, result} | {id, ok: false, error}; during generate {id, piece, ms};
//           tuning progress at any time: {tune: progress}.
'use strict';

importScripts('jitflow-engine.js');

const KDB_PATH = '/kdb/kdb.jsonl';        // in the engine's file system
const KDB_FILE = 'jitflow-kdb.jsonl';     // in OPFS
const LIMITS_FILE = 'jitflow-limits.json';  // in OPFS: {fingerprint: device limits}

let engine = null;
let threads = 0;
let background = null;  // {sliceMs} while tuning in idle time
let savedKdbBytes = 0;  // size of the kdb file when last saved to OPFS

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
  await saveKdb();
}

// One idle-time slice, then the next one after the event loop has run (requests go first).
async function backgroundStep() {
  if (!background) return;
  const progress = callJson('jf_tune_step', ['number'], [background.sliceMs]);
  await onTuneProgress(progress);
  if (progress.done) {
    background = null;
  } else {
    setTimeout(() => enqueue(backgroundStep), 0);
  }
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
  async load(request) {
    background = null;
    const path = '/models/' + request.name.replace(/[^A-Za-z0-9._-]/g, '_');
    engine.FS.mkdirTree('/models');
    engine.FS.mkdirTree('/kdb');
    const kept = await opfsRead(KDB_FILE);
    engine.FS.writeFile(KDB_PATH, kept);
    savedKdbBytes = kept.length;
    engine.FS.writeFile(path, new Uint8Array(request.bytes));
    try {
      check(engine.ccall('jf_load', 'number', ['string', 'number', 'string'], [path, threads, KDB_PATH]));
    } finally {
      engine.FS.unlink(path);  // the engine holds its own copy of the weights
    }
    return {name: request.name};
  },
  async tuneStart(request) {
    const fingerprint = engine.UTF8ToString(engine.ccall('jf_fingerprint', 'number', [], []));
    let kept = {};
    try {
      kept = JSON.parse(await opfsRead(LIMITS_FILE) || '{}');
    } catch (e) {
      // a damaged file: measure again
    }
    const cached = kept[fingerprint] ? JSON.stringify(kept[fingerprint]) : '';
    const start = callJson('jf_tune_start', ['string', 'number'], [cached, request.fullSpace ? 1 : 0]);
    start.limitsCached = cached !== '';
    if (!cached) await opfsWrite(LIMITS_FILE, JSON.stringify({...kept, [fingerprint]: start.limits}));
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
  async generate(request) {
    Atomics.store(engine.stopFlag, 0, 0);
    engine.onPiece = (piece, ms) => postMessage({id: request.id, piece, ms});
    engine.onTune = (json) => postMessage({tune: JSON.parse(json)});
    check(engine.ccall('jf_generate', 'number', ['string', 'number', 'number', 'number', 'number'],
                       [request.prompt, request.maxTokens, request.temperature, request.seed,
                        request.tuneSliceMs || 0]));
    const stats = JSON.parse(engine.UTF8ToString(engine.ccall('jf_last_stats', 'number', [], [])));
    await saveKdb();
    return stats;
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
