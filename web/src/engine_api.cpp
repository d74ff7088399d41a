// The C entry points the browser build exports (web/CMakeLists.txt), called by web/worker.js from a
// dedicated worker: the engine blocks (thread pool, Atomics.wait), which a page's main thread may
// not. One engine and one session per worker. Strings returned stay valid until the next call.
#include <emscripten/emscripten.h>

#include <cstdint>
#include <memory>
#include <string>

#include "jitflow/engine.h"

// The page's side of generation (web/worker.js sets Module.onPiece and Module.stopFlag): each
// piece of text as it is sampled, and whether the page asked to stop (an Int32Array over a
// SharedArrayBuffer, so that the page can set it while this call runs).
// clang-format off
EM_JS(void, jf_web_emit_piece, (const char* data, int length), {
  Module.onPiece(UTF8ToString(data, length));
});
EM_JS(int, jf_web_stop_requested, (), {
  return Module.stopFlag ? Atomics.load(Module.stopFlag, 0) : 0;
});
// clang-format on

namespace {

std::unique_ptr<jf::Engine> engine;
std::unique_ptr<jf::Session> session;
std::string last_error;
std::string last_stats;

int fail(const jf::Status& status) {
  last_error = status.to_string();
  return -1;
}

}  // namespace

extern "C" {

// Loads the GGUF model at `path` (in Emscripten's file system, where the worker put its bytes) with
// n_threads kernel threads (0: one per core). 0 on success; -1 and jf_last_error() otherwise.
EMSCRIPTEN_KEEPALIVE int jf_load(const char* path, int n_threads) {
  session.reset();
  engine.reset();
  jf::EngineOptions options;
  options.n_threads = n_threads;
  options.use_kdb = false;  // the page's kernel database is not a file (yet)
  jf::Result<std::unique_ptr<jf::Engine>> loaded = jf::Engine::load(path, options);
  if (!loaded.ok()) return fail(loaded.status());
  engine = std::move(*loaded);
  session = engine->new_session();
  return 0;
}

// Generates up to max_tokens after `prompt` (the session starts over), each piece to
// Module.onPiece; stops early at an end-of-generation token or when the page sets the stop flag.
// 0 on success (stopped or not); -1 and jf_last_error() otherwise. jf_last_stats() has the timings.
EMSCRIPTEN_KEEPALIVE int jf_generate(const char* prompt, int max_tokens, float temperature, uint32_t seed) {
  if (session == nullptr) return fail(jf::Status(jf::StatusCode::kInvalidArgument, "no model loaded"));
  session->reset();
  jf::GenerateOptions options;
  options.n_predict = max_tokens;
  options.sampling.temperature = temperature;
  options.sampling.seed = seed;
  jf::Result<jf::GenerationStats> stats = session->generate(prompt, options, [](std::string_view piece) {
    jf_web_emit_piece(piece.data(), static_cast<int>(piece.size()));
    return jf_web_stop_requested() == 0;
  });
  if (!stats.ok()) return fail(stats.status());
  last_stats = jf::str_printf(
      R"({"promptTokens":%d,"generatedTokens":%d,"prefillMs":%.3f,"decodeMs":%.3f,)"
      R"("prefillTokensPerS":%.3f,"decodeTokensPerS":%.3f})",
      stats->n_prompt_tokens, stats->n_generated, stats->prefill_ms, stats->decode_ms,
      stats->prefill_tokens_per_s(), stats->decode_tokens_per_s());
  return 0;
}

EMSCRIPTEN_KEEPALIVE const char* jf_last_error() { return last_error.c_str(); }
EMSCRIPTEN_KEEPALIVE const char* jf_last_stats() { return last_stats.c_str(); }

}  // extern "C"
