#include "kernels/select/select.h"

#include "kernels/registry.h"

namespace jf {

int64_t select_at_least(const float* x, int64_t n, float threshold, int32_t* out) {
  static const SelectAtLeastFn kBest = select_native<Op::select_at_least>(select_at_least_ref);
  return kBest(x, n, threshold, out);
}

void select_topk(const float* x, int64_t n, int64_t k, int32_t* out, TopkScratch& scratch) {
  static const SelectTopkFn kBest = select_native<Op::select_topk>(select_topk_ref);
  kBest(x, n, k, out, scratch);
}

}  // namespace jf
