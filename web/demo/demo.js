// The demo page: pick a model (served under /models/, or a local file), type a prompt, watch the text
// stream with tokens/s. Query parameters drive it from tests: ?model=NAME&prompt=TEXT&tokens=N&run=1.
// When a run ends, document.body.dataset.state is 'done' (or 'error') and window.jitflowResult
// holds {text, stats} (or {error: {code, message}}).
import { Jitflow } from '../jitflow.js';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
if (params.has('model')) $('model').value = params.get('model');
if (params.has('prompt')) $('prompt').value = params.get('prompt');
if (params.has('tokens')) $('tokens').value = params.get('tokens');

let jf = null;
let loadedName = null;
let abort = null;

function setStatus(text, isError = false) {
  $('status').textContent = text;
  $('status').className = isError ? 'error' : '';
}

function finish(state, result) {
  window.jitflowResult = result;
  document.body.dataset.state = state;
}

async function ensureModel() {
  const file = $('file').files[0];
  const name = file ? `file:${file.name}` : $('model').value;
  if (name === loadedName) return;
  const started = performance.now();
  const onProgress = (p) => setStatus(`loading ${name}: ${(p.loaded / 1e6).toFixed(1)}` +
                                      (p.total ? ` of ${(p.total / 1e6).toFixed(1)} MB` : ' MB') +
                                      (p.cached ? ' (cached)' : ''));
  loadedName = null;
  await jf.loadModel(file ?? new URL(`../models/${name}`, location.href), { onProgress });
  loadedName = name;
  setStatus(`${name} loaded in ${((performance.now() - started) / 1e3).toFixed(2)} s; ${jf.threads} threads`);
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
    const stats = await jf.generate(prompt, {
      maxTokens: Number($('tokens').value),
      temperature: Number($('temperature').value),
      signal: abort.signal,
      onToken: (piece) => { text += piece; generated.appendData(piece); },
    });
    $('stats').textContent = `prompt ${stats.promptTokens} tokens at ${stats.prefillTokensPerS.toFixed(1)} t/s · ` +
                             `generated ${stats.generatedTokens} tokens at ${stats.decodeTokensPerS.toFixed(1)} t/s`;
    finish('done', { text, stats });
  } catch (error) {
    setStatus(`error: ${error.message}`, true);
    finish('error', { error: { code: error.code ?? 'internal', message: error.message } });
  } finally {
    $('generate').disabled = false;
    $('stop').disabled = true;
  }
}

$('generate').onclick = run;
$('stop').onclick = () => abort?.abort();

try {
  jf = await Jitflow.create();
  setStatus(`engine ready (${jf.threads} threads)`);
  if (params.get('run') === '1') run();
} catch (error) {
  setStatus(`error: ${error.message}`, true);
  finish('error', { error: { code: error.code ?? 'internal', message: error.message } });
}
