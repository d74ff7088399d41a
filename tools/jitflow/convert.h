// `jitflow convert --channel-major` and `--flash`: rewrite a GGUF model with the seven linears of
// every layer (attn_q, attn_k, attn_v, attn_output, ffn_gate, ffn_up, ffn_down) stored channel-major,
// as model/weights.h describes (kChannelMajorKey, kChannelMajorSuffix, transposed ggml shape), or
// channel-major and grouped across layers (model/flash_layout.h), and everything else copied as it
// is. A library so that its test can call it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "jitflow/status.h"
#include "tensor/dtype.h"

namespace jf::convert {

struct Summary {
  int n_converted = 0;  // linears made channel-major (one per layer, grouped or not)
  int n_copied = 0;     // tensors copied as they are
  int n_fallback = 0;   // --type q4_k: linears whose outputs are no multiple of 256, made Q4_0
  uint64_t bytes_in = 0, bytes_out = 0;  // of the converted tensors
};

// Converts `input` into `output`. `type`: the dtype of every converted linear (F32, F16, Q8_0,
// Q4_0, Q4_K; Q4_K channels are super-blocks of 256 outputs, so a linear with other output counts
// gets Q4_0); nullopt keeps each one's own, which must be one of those. Errors name the file and the
// tensor (a dtype or shape channel-major cannot hold, tensor/channel_major.h), or the path.
Result<Summary> channel_major(const std::string& input, const std::string& output, std::optional<DType> type);

// Converts `input` (row-major, or channel-major from `channel_major`, whose channels are kept as they
// are) into the flash layout of model/flash_layout.h with groups of `group` layers. `type` as above;
// from a channel-major source it must be absent or the source's. A group whose layers differ in
// type is an error that asks for --type. `thresholds_path`: the thresholds `jitflow calibrate`
// wrote for `input`, carried in the output's metadata (model/thresholds.h); thresholds of another
// model are an error naming both.
Result<Summary> flash(const std::string& input, const std::string& output, int group, std::optional<DType> type,
                      const std::string& thresholds_path = "");

// How far a converted linear's product is from the source's: over n_x random normal x,
// sqrt(Σ |W_cm·x - W·x|² / Σ |W·x|²), both weights dequantized and the products summed in double,
// so only the conversion's rounding counts (no kernel's).
struct ProductError {
  std::string name;  // the logical tensor name, e.g. "blk.0.attn_q.weight"
  double rel_rms = 0;
};
Result<std::vector<ProductError>> product_errors(const std::string& source, const std::string& converted, int n_x);

}  // namespace jf::convert
