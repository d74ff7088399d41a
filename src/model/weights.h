// The tensors of a model, loaded from a GGUF file into one aligned arena in DRAM, as its
// architecture's row of the table (model/arch.h) lists them. Every tensor is checked against the
// shape the config implies before any byte is read, so a model with a wrong or missing tensor fails
// with a message naming it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/aligned_buffer.h"
#include "gguf/gguf.h"
#include "model/arch.h"
#include "model/hparams.h"
#include "model/linear.h"
#include "tensor/tensor_view.h"

namespace jf {

// A norm's weight and, for layer norm, its bias: f32 [n_embd].
struct NormWeight {
  TensorView weight;
  TensorView bias;
};

// One expert of a mixture of experts: a SwiGLU FFN [n_embd -> n_ff -> n_embd].
struct ExpertWeights {
  LinearWeight gate, up, down;
};

// One layer, whatever the architecture: a tensor the row does not list is absent (data null).
struct LayerWeights {
  NormWeight attn_norm;
  TensorView rel_bias;      // T5: [n_buckets rows of n_head] f32, usually layer 0's only
  LinearWeight q, k, v, o;  // [n_embd -> n_embd_q], [-> n_embd_kv] x2, [n_embd_q -> n_embd]
  NormWeight cross_norm;    // T5's decoder: attention over the encoder's output
  LinearWeight cross_q, cross_k, cross_v, cross_o;
  NormWeight ffn_norm;
  LinearWeight gate, up;  // [n_embd -> n_ff]; no gate without a gated activation
  LinearWeight down;      // [n_ff -> n_embd]
  // A mixture of experts instead of gate/up/down: the router [n_embd -> n_expert] and the experts.
  LinearWeight router;
  std::vector<ExpertWeights> experts;
};

// The seven linears of a layer that sparsity and the channel-major and flash layouts cover, in the
// order the forward pass runs them.
inline constexpr TensorRole kLayerLinearRoles[] = {TensorRole::kAttnQ,   TensorRole::kAttnK,   TensorRole::kAttnV,
                                                   TensorRole::kAttnOut, TensorRole::kFfnGate, TensorRole::kFfnUp,
                                                   TensorRole::kFfnDown};

// A layer linear that sparsity and the flash layout cover: one of kLayerLinearRoles, or one expert's
// matrix of a per-expert role (kFfnGateExps, kFfnUpExps, kFfnDownExps).
struct LinearKind {
  TensorRole role;
  int expert = 0;

  bool per_expert() const { return role_info(role).moe == MoeUse::kPerExpert; }
};

// The layer linears of a model of `config`, in the order the forward pass runs them: the seven less
// those its row lacks; with experts, each expert's gate, up and down in place of the dense FFN's.
std::vector<LinearKind> layer_linear_kinds(const ModelConfig& config);

// The linear of `kind` in `layer`.
LinearWeight& layer_linear(LayerWeights& layer, LinearKind kind);

// The name of `kind`'s linear at `layer` as the flash layout lists it: the tensor's, an expert's as
// the split layout names it ("blk.3.ffn_gate.5.weight", split_expert_name).
std::string linear_name(const ArchInfo& arch, LinearKind kind, int layer);

// Where a row-major file holds `kind`'s matrix at `layer`: a tensor of its own (linear_name), or an
// expert's slice of a stacked 3-D tensor (blk.N.ffn_gate_exps.weight); `info` null when neither is
// there.
struct LinearBytes {
  const TensorInfo* info = nullptr;
  uint64_t offset = 0;  // within the tensor
  uint64_t n_bytes = 0;
  int64_t n_in = 0, n_out = 0;
};
LinearBytes find_linear_bytes(const GgufFile& file, const ArchInfo& arch, LinearKind kind, int layer);

struct ModelWeights {
  TensorView token_embd;      // [n_vocab rows of n_embd]
  TensorView token_types;     // segment embeddings [n_token_types rows of n_embd] (BERT)
  TensorView pos_embd;        // learned positions [n_ctx_train rows of n_embd]
  NormWeight token_embd_norm;  // the norm of the summed embeddings (BERT)
  TensorView rope_freqs;  // optional per-pair frequency divisors [n_rot / 2] (Llama 3.1)
  NormWeight output_norm;
  LinearWeight output;  // [n_embd -> n_vocab]; token_embd when the file ties them
  std::vector<LayerWeights> layers;
  // An encoder-decoder's encoder stack (its row is ArchInfo::encoder): its layers and final norm.
  std::vector<LayerWeights> encoder_layers;
  NormWeight encoder_output_norm;
  AlignedBuffer arena;  // owns every byte above
  uint64_t n_bytes = 0;
};

// Where the tensor of `role` (of `layer` for a per-layer role) lives in `w`: the one map from roles
// to fields (layer_tensor for the per-layer ones; `expert` picks the expert of a per-expert role).
const TensorView& tensor_of(const ModelWeights& w, TensorRole role, int layer);
const TensorView& layer_tensor(const LayerWeights& layer, TensorRole role, int expert = 0);

// A linear of the model, as the tuner sees it: its layer (-1: the output head), role, expert (0
// unless the role is per expert) and weight.
struct NamedLinear {
  int layer;
  TensorRole role;
  int expert;
  const TensorView* weight;
};

// Every present linear: layer by layer in role order (each expert's in expert order), then the
// head.
std::vector<NamedLinear> model_linears(const ModelWeights& w);

// Channel-major linears in a GGUF file (`jitflow convert --channel-major`): the string array under
// kChannelMajorKey names them (e.g. "blk.0.attn_q.weight"); each is stored as that name plus
// kChannelMajorSuffix with the transposed ggml shape [n_out, n_in] (ne[0] = n_out contiguous: one
// row per input channel). Renamed, so that a tool that does not know the layout reports a missing
// tensor instead of computing with a transposed (for square matrices, same-shaped) weight.
// kChannelMajorFormatKey holds the format of their channels (kChannelMajorFormat,
// tensor/channel_major.h); a file of another format is refused, naming both.
inline constexpr char kChannelMajorKey[] = "jitflow.channel_major";
inline constexpr char kChannelMajorSuffix[] = ".cm";
inline constexpr char kChannelMajorFormatKey[] = "jitflow.channel_major.format";

// What load_weights reads of a flash-layout file (model/flash_layout.h).
enum class FlashLinears : uint8_t {
  resident,  // every channel into DRAM, as a channel-major file's
  streamed,  // none: the linears are checked and described (shape, dtype, layout) but hold no data;
             // a flash store (flash/) streams them
};

// Checks and reads every tensor the model needs. Errors: a missing tensor (kNotFound), a wrong
// shape (kCorruptFile), a tensor type jitflow cannot compute with (kUnsupported), all naming the
// tensor; out of memory (kOutOfRange). Channel-major tensors (above) are read as they are stored,
// with layout channel_major and their logical shape; a flash file's grouped linears are read out of
// their groups into the same, or left to be streamed.
Result<ModelWeights> load_weights(const GgufFile& file, const ModelConfig& config,
                                  FlashLinears flash_linears = FlashLinears::resident);

}  // namespace jf
