// The gathered matvec's tuner (kernels/channel_major, decode over active channels): for every
// channel-major shape of a model, search the CmGatherConfig space (how threads split the work,
// channels per step, outputs per pass, software prefetch) of the fastest entry this CPU runs for
// the weight type, check each candidate against the reference before timing it, and record the
// winner in the kernel database, where runtime/kernel_select.h finds it.
//
// Workload: one token with a random active set of ceil((1 - sparsity) n_cols) channels (top-k's
// count at that level), random normal activations, the model's own tensors of the shape, a timed
// call cycling through them (decode streams them from DRAM, not a warm cache).
//
// Check: the candidate runs once into a NaN-filled output; every output must be finite and the
// RMS of its difference from cm_gather_ref within kGatherCheckTolerance of the reference's RMS
// (int8 factors round by ~1e-2 of it at most, a wrong tile or step is off by O(1)).
//
// Budget: split evenly over the workloads. Each times the default config first, then the space in
// order while its share lasts; the fastest is timed again alternately with the default, three
// times each (only times taken together compare on a shared machine), and is recorded when its
// median still beats the default's.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "jitflow/status.h"
#include "kdb/kernel_db.h"
#include "kernels/channel_major/channel_major.h"
#include "model/weights.h"

namespace jf::tune {

inline constexpr double kGatherCheckTolerance = 5e-2;

// Every config the tuner tries, the default first: split x channels per step (4, 8, 16) x out tile
// (1024, 8192) x prefetch.
std::vector<CmGatherConfig> gather_space();

// The channel-major tensors of one dtype and shape.
struct GatherWorkload {
  DType dtype = DType::F32;
  int64_t n_rows = 0, n_cols = 0;
  std::vector<TensorView> weights;
};

// The model's channel-major linears, grouped by dtype and shape.
std::vector<GatherWorkload> model_gather_workloads(const ModelWeights& weights);

struct GatherTuneOptions {
  double sparsity = 0.5;  // the level the active sets have
  int n_threads = 0;      // 0: one per logical CPU, as the Engine
  double budget_s = 10;
  uint64_t seed = 1;
};

struct GatherWorkloadReport {
  DType dtype = DType::F32;
  int64_t n_rows = 0, n_cols = 0;
  int uses_per_forward = 0;
  std::string entry;  // the gather entry searched, e.g. q4_0cm-f32-gather_matvec__avx512
  int n_tried = 0, n_rejected = 0;
  bool complete = false;  // every config of the space was timed
  std::string default_config, best_config;
  double default_ns = 0, best_ns = 0;  // medians of the final alternating rounds
  bool recorded = false;
};

struct GatherTuneReport {
  std::vector<GatherWorkloadReport> workloads;
  int n_threads = 0;
  double wall_s = 0;
  int n_records = 0;
  Status kdb_status;  // the first failed append (tuning goes on without writing)
};

// Tunes `workloads`; `db` (may be null: nothing is written) gets one record per workload whose
// winner beat the default. Errors: invalid options (kInvalidArgument).
Result<GatherTuneReport> tune_gathers(const std::vector<GatherWorkload>& workloads,
                                      const GatherTuneOptions& options, kdb::KernelDb* db);

}  // namespace jf::tune
