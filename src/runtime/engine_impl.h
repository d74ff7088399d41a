// What the runtime knows of an Engine beyond the public API (include/jitflow/engine.h): the loaded
// model itself, for the runtime's own tools (tuning) and tests. Not part of the public API.
#pragma once

#include <memory>

#include "base/thread_pool.h"
#include "jitflow/engine.h"
#include "flash/flash_store.h"
#include "kdb/kernel_db.h"
#include "model/hparams.h"
#include "model/tokenizer/tokenizer.h"
#include "model/transformer.h"
#include "model/weight_provider.h"
#include "model/weights.h"
#include "runtime/kernel_select.h"
#include "tune/gather_tuner.h"
#include "tune/online_tuner.h"
#include "tune/tuner.h"

namespace jf {

struct Engine::Impl {
  ModelConfig config;
  ModelWeights weights;
  std::unique_ptr<WeightProvider> provider;  // of `weights`: resident, or `flash`
  FlashStore* flash = nullptr;               // the provider when the linears are streamed
  uint64_t streaming_need = 0;               // DRAM streaming cannot do without (no cache)
  uint64_t memory_bytes = 0;                 // what the model holds in DRAM under a memory budget
  ModelInfo info;                            // config's shape, path and weight bytes
  std::string fingerprint;                   // GgufFile::content_fingerprint (sparsity thresholds name it)
  std::string carried_thresholds;            // kThresholdsKey's JSON, "" when the model carries none
  std::unique_ptr<Tokenizer> tokenizer;
  std::unique_ptr<ThreadPool> pool;
  std::unique_ptr<KernelSelector> kernels;  // the kdb's winners, else the default kernels
  int n_ctx = 0;
  double load_ms = 0;
};

// The engine's model, as Engine::load checked and laid it out.
const Engine::Impl& engine_impl(const Engine& engine);

// The forward pass of a session, for tools that watch its activations (calibration, analysis).
Transformer& session_transformer(Session& session);

// Tunes the matmuls of the engine's model (its weights in the layout it runs them) with
// tune::tune_model_matmuls; `db` as there.
Result<tune::TuneReport> tune_engine_matmuls(const Engine& engine, const tune::TuneOptions& options,
                                             kdb::KernelDb* db);

// An online tuner of the engine's matmuls on the engine's thread pool (tune/online_tuner.h): every
// kernel it adopts runs from the next forward pass of the engine's sessions on; `db` (may be null)
// gets its records. The engine (and `db`) must outlive it.
std::unique_ptr<tune::OnlineTuner> engine_online_tuner(const Engine& engine, const tune::OnlineTuneOptions& options,
                                                       kdb::KernelDb* db);

// The channel-major shapes of the engine's model (none unless it was converted) and their tuning
// (tune/gather_tuner.h).
std::vector<tune::GatherWorkload> engine_gather_workloads(const Engine& engine);

}  // namespace jf
