// The flash layout of a model file (ActiveFlow §4; `jitflow convert --flash --group N`): the seven
// linears of every layer channel-major (tensor/channel_major.h), grouped N layers at a time per
// linear, so that one active channel of a group is one contiguous read of N channels. A mixture of
// experts groups each expert's gate, up and down as linears of their own (expert e of layers l0 ..
// l0+n-1 together), named as the split expert layout names them ("blk.4.ffn_gate.5.weight").
//
// For a linear (attn_q, ..., ffn_down) and a group of n layers [l0, l0 + n): one tensor named after
// the linear at layer l0 plus kFlashSuffix ("blk.4.attn_q.weight.flash"), of ggml shape
// [n_out, n_in * n], whose row j * n + i is channel j of layer l0 + i:
//
//   | ch 0: L l0, L l0+1, .., L l0+n-1 | ch 1: L l0, .. | .. | ch n_in-1: .. |
//
// Groups are [0, N), [N, 2N), ...; the last one holds what remains when N does not divide n_layer.
// Metadata: kFlashGroupKey (N), kFlashKey (the logical names of every grouped linear of every layer,
// "blk.0.attn_q.weight", ...), kChannelMajorFormatKey (the channels' format). Everything else (the
// embeddings, norms, output head) is stored as in the source model.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <set>
#include <string>

#include "gguf/gguf.h"
#include "jitflow/status.h"

namespace jf {

inline constexpr char kFlashKey[] = "jitflow.flash";
inline constexpr char kFlashGroupKey[] = "jitflow.flash.group";
inline constexpr char kFlashSuffix[] = ".flash";

// Layers cut into groups of `size` (the last one may be shorter).
struct LayerGroups {
  int n_layer = 0;
  int size = 1;

  int count() const { return (n_layer + size - 1) / size; }
  int of(int layer) const { return layer / size; }
  int first(int group) const { return group * size; }
  int size_of(int group) const { return std::min(size, n_layer - first(group)); }
};

struct FlashLayout {
  LayerGroups groups;
  std::set<std::string> linears;  // logical names, e.g. "blk.0.attn_q.weight"
};

// The name of the group tensor that holds `first_layer_name` (the linear's name at the group's first
// layer) and the layers after it.
inline std::string flash_tensor_name(const std::string& first_layer_name) {
  return first_layer_name + kFlashSuffix;
}

// The file's flash layout, checked against the model's n_layer; nullopt for a file without one.
// Errors (kCorruptFile, naming the file and the key): a group size of 0 or above n_layer, a list that
// is not of strings; a file that is both flash and plain channel-major (kChannelMajorKey).
Result<std::optional<FlashLayout>> read_flash_layout(const GgufFile& file, int n_layer);

}  // namespace jf
