#include "model/kv_cache.h"

#include <optional>

#include "base/checked_math.h"

namespace jf {

KvCache::KvCache(const ModelConfig& config, int n_ctx)
    : n_ctx_(n_ctx),
      row_(config.n_embd_kv()),
      k_(static_cast<size_t>(config.n_layer) * n_ctx * config.n_embd_kv()),
      v_(static_cast<size_t>(config.n_layer) * n_ctx * config.n_embd_kv()) {}

uint64_t KvCache::bytes_for(const ModelConfig& config, int64_t n_ctx) {
  std::optional<uint64_t> bytes =
      checked_mul(static_cast<uint64_t>(config.n_layer), static_cast<uint64_t>(n_ctx));
  if (bytes) bytes = checked_mul(*bytes, static_cast<uint64_t>(config.n_embd_kv()));
  if (bytes) bytes = checked_mul(*bytes, 2 * sizeof(float));  // K and V
  return bytes.value_or(UINT64_MAX);
}

}  // namespace jf
