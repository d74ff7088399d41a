// The C entry points the browser build exports (web/CMakeLists.txt), called by web/worker.js from a
// dedicated worker: the engine blocks (thread pool, Atomics.wait), which a page's main thread may
// not. One engine, one session and one online tuner per worker. Strings returned stay valid until
// the next call.
//
// Online tuning (tune/online_tuner.h) runs in this same worker, on the engine's own thread pool, in
// slices: between decode tokens (jf_generate's tune_slice_ms) and when the page is idle
// (jf_tune_step). The kernel database is a file in Emscripten's file system that the worker fills
// from OPFS before jf_load and saves back after tuning.
//
// The WebGPU back end (src/gpu, web/gpu/runtime.js): jf_gpu_plan builds a model's plan, which the
// worker uploads to the GPU and runs there; the engine still loads the model, for the text (the
// tokenizer) and for sampling at temperature > 0, which the GPU path does not do.
#include <emscripten/emscripten.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/json.h"
#include "gguf/gguf.h"
#include "gpu/adapter_limits.h"
#include "gpu/plan.h"
#include "jitflow/engine.h"
#include "kdb/fingerprint.h"
#include "runtime/engine_impl.h"
#include "tune/limits_json.h"
#include "tune/microbench.h"
#include "tune/online_tuner.h"

// The page's side of generation (web/worker.js sets Module.onPiece and Module.stopFlag): each
// piece of text as it is sampled, and whether the page asked to stop (an Int32Array over a
// SharedArrayBuffer, so that the page can set it while this call runs).
// clang-format off
EM_JS(void, jf_web_emit_piece, (const char* data, int length, double token_ms), {
  Module.onPiece(UTF8ToString(data, length), token_ms);
});
EM_JS(void, jf_web_emit_tune_progress, (const char* json), {
  Module.onTune(UTF8ToString(json));
});
EM_JS(int, jf_web_stop_requested, (), {
  return Module.stopFlag ? Atomics.load(Module.stopFlag, 0) : 0;
});
// clang-format on

namespace {

std::unique_ptr<jf::Engine> engine;
std::unique_ptr<jf::Session> session;
std::unique_ptr<jf::kdb::KernelDb> kdb;  // null: the page keeps no kernel database
std::unique_ptr<jf::tune::OnlineTuner> tuner;
std::vector<uint8_t> gpu_data;  // the last plan's data.bin, until the worker has uploaded it
std::string last_error;
std::string last_result;  // JSON (or plan.json) of the last call that returns one

int fail(const jf::Status& status) {
  last_error = status.to_string();
  return -1;
}

const char* fail_json(const jf::Status& status) {
  fail(status);
  return nullptr;
}

std::string workload_name(const jf::tune::OnlineWorkloadReport& w) {
  return jf::str_printf("%s %lldx%lld", jf::dtype_name(w.dtype), static_cast<long long>(w.n_rows),
                        static_cast<long long>(w.n_cols));
}

// Where tuning is: per workload, and the decode matmul time per token it estimates (uses x median).
std::string tune_progress_json() {
  jf::Json workloads = jf::Json::array();
  for (const jf::tune::OnlineWorkloadReport& w : tuner->workloads()) {
    workloads.push_back(jf::Json::object()
                            .set("shape", jf::Json::string(workload_name(w)))
                            .set("tokens", jf::Json::number(static_cast<double>(w.n_tokens)))
                            .set("uses", jf::Json::number(w.uses_per_forward))
                            .set("full", jf::Json::number(w.n_full))
                            .set("pruned", jf::Json::number(w.n_pruned))
                            .set("tried", jf::Json::number(w.n_tried))
                            .set("rejected", jf::Json::number(w.n_rejected))
                            .set("adopted", jf::Json::number(w.n_adopted))
                            .set("fromKdb", jf::Json::boolean(w.from_kdb))
                            .set("done", jf::Json::boolean(w.done))
                            .set("start", jf::Json::string(w.start_name))
                            .set("startNs", jf::Json::number(w.start_ns))
                            .set("current", jf::Json::string(w.current_name))
                            .set("currentNs", jf::Json::number(w.current_ns)));
  }
  return jf::to_json(
      jf::Json::object()
          .set("done", jf::Json::boolean(tuner->done()))
          .set("busyS", jf::Json::number(tuner->busy_s()))
          .set("tried", jf::Json::number(tuner->n_tried()))
          .set("candidates", jf::Json::number(tuner->n_candidates()))
          .set("startMatmulMsPerToken", jf::Json::number(tuner->start_matmul_ns_per_forward(1) / 1e6))
          .set("matmulMsPerToken", jf::Json::number(tuner->matmul_ns_per_forward(1) / 1e6))
          .set("workloads", std::move(workloads)));
}

}  // namespace

extern "C" {

// Drops the loaded model, its session and tuner: what the next load allocates can reuse that memory.
EMSCRIPTEN_KEEPALIVE void jf_unload() {
  tuner.reset();
  session.reset();
  engine.reset();
  kdb.reset();
}

// Loads the GGUF model at `path` (in Emscripten's file system, where the worker put its bytes) with
// n_threads kernel threads (0: one per core), running the winners that the kernel database at
// kdb_path ("": none) holds for this browser and device. 0 on success; -1 and jf_last_error().
EMSCRIPTEN_KEEPALIVE int jf_load(const char* path, int n_threads, const char* kdb_path) {
  jf_unload();
  jf::EngineOptions options;
  options.n_threads = n_threads;
  options.use_kdb = kdb_path[0] != '\0';
  options.kdb_path = kdb_path;
  jf::Result<std::unique_ptr<jf::Engine>> loaded = jf::Engine::load(path, options);
  if (!loaded.ok()) return fail(loaded.status());
  engine = std::move(*loaded);
  session = engine->new_session();
  if (options.use_kdb) kdb = std::make_unique<jf::kdb::KernelDb>(jf::kdb::KernelDb::load(kdb_path));
  return 0;
}

// Starts online tuning of the loaded model's decode matmuls. limits_json: the device limits a
// previous page measured (jf_tune_start's "limits"), or "" to run the quick microbenchmarks here
// (~1-3 s). full_space: search every candidate, unpruned (benchmarks: what pruning loses). Returns JSON {fingerprint, device, features, limits, microbenchMs, progress}: the
// progress has each workload's space before and after pruning. Null and jf_last_error() on error.
EMSCRIPTEN_KEEPALIVE const char* jf_tune_start(const char* limits_json, int full_space) {
  if (engine == nullptr) return fail_json(jf::Status(jf::StatusCode::kInvalidArgument, "no model loaded"));
  const double start_ms = jf::now_ms();
  jf::tune::DeviceLimits limits;
  if (limits_json[0] != '\0') {
    jf::Result<jf::Json> parsed = jf::parse_json(limits_json);
    if (!parsed.ok()) return fail_json(parsed.status());
    jf::Result<jf::tune::DeviceLimits> read = jf::tune::device_limits_from_json(*parsed);
    if (!read.ok()) return fail_json(read.status());
    limits = std::move(*read);
  } else {
    limits = jf::tune::run_microbenchmarks({.quick = true});
  }
  const double microbench_ms = jf::now_ms() - start_ms;
  jf::tune::OnlineTuneOptions options;
  options.device_limits = limits;
  options.full_space = full_space != 0;
  // The batches the model runs: decode for a decoder, whole sequences for an encoder.
  options.token_counts = jf::tune::default_online_token_counts(jf::engine_impl(*engine).config.arch_info->forward);
  tuner = jf::engine_online_tuner(*engine, options, kdb.get());
  const jf::kdb::DeviceFingerprint& device = jf::kdb::current_device();
  last_result = jf::to_json(jf::Json::object()
                                .set("fingerprint", jf::Json::string(device.hash()))
                                .set("device", jf::Json::string(device.cpu_model))
                                .set("features", jf::Json::string(device.features))
                                .set("limits", jf::tune::device_limits_json(limits))
                                .set("microbenchMs", jf::Json::number(microbench_ms))
                                .set("progress", *jf::parse_json(tune_progress_json())));
  return last_result.c_str();
}

// Tunes for about slice_ms; returns the progress JSON (tune_progress_json), or null and
// jf_last_error() when tuning was not started.
EMSCRIPTEN_KEEPALIVE const char* jf_tune_step(double slice_ms) {
  if (tuner == nullptr) return fail_json(jf::Status(jf::StatusCode::kInvalidArgument, "tuning was not started"));
  tuner->step(slice_ms);
  last_result = tune_progress_json();
  return last_result.c_str();
}

// Generates up to max_tokens after `prompt` (the session starts over), each piece to
// Module.onPiece(text, ms): ms is the time the token took (the first: prefill and sampling), tuning
// excluded. After each token, while tuning runs, tune_slice_ms of it (0: none), its progress to
// Module.onTune. Stops early at an end-of-generation token or when the page sets the stop flag.
// 0 on success (stopped or not); -1 and jf_last_error() otherwise. jf_last_stats() has the timings.
EMSCRIPTEN_KEEPALIVE int jf_generate(const char* prompt, int max_tokens, float temperature, uint32_t seed,
                                     double tune_slice_ms) {
  if (session == nullptr) return fail(jf::Status(jf::StatusCode::kInvalidArgument, "no model loaded"));
  session->reset();
  jf::GenerateOptions options;
  options.n_predict = max_tokens;
  options.sampling.temperature = temperature;
  options.sampling.seed = seed;
  double mark_ms = jf::now_ms();
  jf::Result<jf::GenerationStats> stats = session->generate(prompt, options, [&](std::string_view piece) {
    jf_web_emit_piece(piece.data(), static_cast<int>(piece.size()), jf::now_ms() - mark_ms);
    if (tuner != nullptr && tune_slice_ms > 0 && !tuner->done()) {
      tuner->step(tune_slice_ms);
      jf_web_emit_tune_progress(tune_progress_json().c_str());
    }
    mark_ms = jf::now_ms();
    return jf_web_stop_requested() == 0;
  });
  if (!stats.ok()) return fail(stats.status());
  last_result = jf::str_printf(
      R"({"promptTokens":%d,"generatedTokens":%d,"prefillMs":%.3f,"decodeMs":%.3f,)"
      R"("prefillTokensPerS":%.3f,"decodeTokensPerS":%.3f})",
      stats->n_prompt_tokens, stats->n_generated, stats->prefill_ms, stats->decode_ms,
      stats->prefill_tokens_per_s(), stats->decode_tokens_per_s());
  return 0;
}

// The WebGPU plan (src/gpu/plan.h) of the GGUF model at `path`, with each workload's tuning
// candidates pruned by adapter_json (the adapter's limits: gpu/adapter_limits.h) and the model's
// context up to 4096. Returns plan.json's text; data.bin's bytes (plan.json's data_bytes) are at
// jf_gpu_data() in wasm memory until jf_gpu_free(). Null and jf_last_error() on error:
// kUnsupported for a model the WebGPU back end does not run (say, linear biases).
EMSCRIPTEN_KEEPALIVE const char* jf_gpu_plan(const char* path, const char* adapter_json) {
  jf::Result<jf::Json> json = jf::parse_json(adapter_json);
  if (!json.ok()) return fail_json(json.status());
  jf::gpu::PlanOptions options;
  options.candidates = true;
  jf::Result<jf::gpu::AdapterLimits> limits = jf::gpu::adapter_limits_from_json(*json);
  if (!limits.ok()) return fail_json(limits.status());
  options.adapter = *limits;
  jf::Result<jf::GgufFile> file = jf::GgufFile::open_path(path);
  if (!file.ok()) return fail_json(file.status());
  jf::Result<jf::gpu::Plan> plan = jf::gpu::build_plan(*file, options);
  if (!plan.ok()) return fail_json(plan.status());
  last_result = jf::to_json(jf::gpu::plan_json(*plan));
  gpu_data = std::move(plan->data);
  return last_result.c_str();
}

// Where the last plan's data.bin starts in wasm memory.
EMSCRIPTEN_KEEPALIVE const uint8_t* jf_gpu_data() {
  return gpu_data.data();
}

// Frees the plan's data and text (the GPU has its copy): megabytes to gigabytes of wasm memory that
// the engine's own weights then reuse.
EMSCRIPTEN_KEEPALIVE void jf_gpu_free() {
  gpu_data = std::vector<uint8_t>();
  last_result = std::string();
}

// The token ids of `text` as JSON ([1, 403, ...]), BOS as jf_generate adds it (as llama_tokenize
// with add_special).
EMSCRIPTEN_KEEPALIVE const char* jf_tokenize(const char* text) {
  if (engine == nullptr) return fail_json(jf::Status(jf::StatusCode::kInvalidArgument, "no model loaded"));
  jf::Json ids = jf::Json::array();
  for (int32_t id : engine->tokenize(text, /*add_special=*/true)) ids.push_back(jf::Json::number(id));
  last_result = jf::to_json(ids);
  return last_result.c_str();
}

// The text token `id` adds to the output ("" for control tokens), as jf_generate streams it.
EMSCRIPTEN_KEEPALIVE const char* jf_token_piece(int id) {
  last_result = engine == nullptr ? "" : engine->token_to_piece(id);
  return last_result.c_str();
}

// 1 when token `id` ends generation (jf_generate stops there without emitting it), else 0.
EMSCRIPTEN_KEEPALIVE int jf_is_eog(int id) {
  return engine != nullptr && engine->is_eog(id) ? 1 : 0;
}

// This browser and device's fingerprint (kdb/fingerprint.h): the key of its kdb records and of the
// device limits the page keeps.
EMSCRIPTEN_KEEPALIVE const char* jf_fingerprint() {
  last_result = jf::kdb::current_device().hash();
  return last_result.c_str();
}

EMSCRIPTEN_KEEPALIVE const char* jf_last_error() { return last_error.c_str(); }
EMSCRIPTEN_KEEPALIVE const char* jf_last_stats() { return last_result.c_str(); }

}  // extern "C"
