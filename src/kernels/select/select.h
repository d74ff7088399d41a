// Active-set selection for contextual activation sparsity (model/sparsity.h runs it per token and
// site): which input channels of a linear are computed.
//   at least:  out = { j : |x[j]| >= threshold }, ascending; returns the count
//   top-k:     out = the k channels of largest |x| (ties: the lower index), ascending
// x: [n]; out: room for n channels (the branch-free passes write beyond the last one kept).
//
// Two registry ops (ops.inc), select_at_least and select_topk, with entries per ISA; the references
// below are the truth the tests compare them with.
#pragma once

#include <cstdint>
#include <vector>

namespace jf {

// Buffers of top-k selection, kept between calls (one per caller).
struct TopkScratch {
  std::vector<uint32_t> keys, histogram, candidates;
};

using SelectAtLeastFn = int64_t (*)(const float* x, int64_t n, float threshold, int32_t* out);
using SelectTopkFn = void (*)(const float* x, int64_t n, int64_t k, int32_t* out, TopkScratch& scratch);

// References: a plain scan, and nth_element over copies of |x|.
int64_t select_at_least_ref(const float* x, int64_t n, float threshold, int32_t* out);
void select_topk_ref(const float* x, int64_t n, int64_t k, int32_t* out, TopkScratch& scratch);

// The fastest entries this CPU runs (chosen once), with the references' contracts.
int64_t select_at_least(const float* x, int64_t n, float threshold, int32_t* out);
void select_topk(const float* x, int64_t n, int64_t k, int32_t* out, TopkScratch& scratch);

}  // namespace jf
