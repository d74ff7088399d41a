// The engine's worker: instantiates jitflow-engine.js (Emscripten, pthreads) and runs the requests
// that jitflow.js posts, one at a time. A dedicated worker, because the engine blocks (its thread
// pool waits with Atomics.wait), which a page's main thread may not.
//
// Requests: {id, type: 'init', threads, stopFlag} | {id, type: 'load', name, bytes} |
//           {id, type: 'generate', prompt, maxTokens, temperature, seed}
// Replies:  {id, ok: true, result} | {id, ok: false, error} ; during generate {id, piece}.
'use strict';

importScripts('jitflow-engine.js');

let engine = null;
let threads = 0;

function check(rc) {
  if (rc !== 0) throw new Error(engine.UTF8ToString(engine.ccall('jf_last_error', 'number', [], [])));
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
  load(request) {
    const path = '/models/' + request.name.replace(/[^A-Za-z0-9._-]/g, '_');
    engine.FS.mkdirTree('/models');
    engine.FS.writeFile(path, new Uint8Array(request.bytes));
    try {
      check(engine.ccall('jf_load', 'number', ['string', 'number'], [path, threads]));
    } finally {
      engine.FS.unlink(path);  // the engine holds its own copy of the weights
    }
    return {name: request.name};
  },
  generate(request) {
    Atomics.store(engine.stopFlag, 0, 0);
    engine.onPiece = (piece) => postMessage({id: request.id, piece});
    check(engine.ccall('jf_generate', 'number', ['string', 'number', 'number', 'number'],
                       [request.prompt, request.maxTokens, request.temperature, request.seed]));
    return JSON.parse(engine.UTF8ToString(engine.ccall('jf_last_stats', 'number', [], [])));
  },
};

// One request at a time, in arrival order.
let queue = Promise.resolve();
onmessage = (event) => {
  const request = event.data;
  queue = queue.then(async () => {
    try {
      postMessage({id: request.id, ok: true, result: await handlers[request.type](request)});
    } catch (error) {
      postMessage({id: request.id, ok: false, error: String(error && error.message || error)});
    }
  });
};
