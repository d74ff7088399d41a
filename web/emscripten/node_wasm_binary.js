// --pre-js of every Emscripten program: under Node, hand the runtime the .wasm bytes read from disk.
// Emscripten 3.1.6 fetches the .wasm with fetch() whenever a global fetch exists, and Node 18+ has
// one, which cannot read a file path. In a browser this does nothing.
if (typeof process == 'object' && process.versions && process.versions.node && !Module['wasmBinary'] &&
    typeof __filename == 'string') {
  try {
    Module['wasmBinary'] = require('fs').readFileSync(__filename.replace(/\.[cm]?js$/, '.wasm'));
  } catch (e) {
  }
}
