// The KV cache of one sequence: K and V of every layer and position, f32
// [n_layer][n_ctx][n_embd_kv] each.
#pragma once

#include <cstdint>
#include <vector>

#include "model/hparams.h"

namespace jf {

class KvCache {
 public:
  KvCache() = default;
  KvCache(const ModelConfig& config, int n_ctx);
  // Bytes a cache of n_ctx positions holds; UINT64_MAX when that does not fit 64 bits.
  static uint64_t bytes_for(const ModelConfig& config, int64_t n_ctx);

  // Row of `layer` at position `pos` (n_embd_kv floats); the rows of a layer are contiguous.
  float* k(int layer, int64_t pos) { return k_.data() + (layer * n_ctx_ + pos) * row_; }
  float* v(int layer, int64_t pos) { return v_.data() + (layer * n_ctx_ + pos) * row_; }
  int n_ctx() const { return static_cast<int>(n_ctx_); }
  uint64_t n_bytes() const { return (k_.size() + v_.size()) * sizeof(float); }

 private:
  int64_t n_ctx_ = 0;
  int64_t row_ = 0;
  std::vector<float> k_, v_;
};

}  // namespace jf
