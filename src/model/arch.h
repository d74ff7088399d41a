// The architecture table: everything that differs between transformer architectures, as data
// (llama.cpp's LLM_ARCH / LLM_TENSOR tables play the same role). hparams reads the metadata keys a
// row names, weights loads the tensors a row lists, and the forward pass composes its shared blocks
// (blocks.h) from the row's kinds. Adding an architecture is a row in arch.cpp, plus a block for any
// kind the blocks do not implement yet (docs/architecture.md walks through one).
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace jf {

// Which builder composes the shared blocks into a forward pass: a causal decoder with a KV cache
// (llama, qwen2, GPT-2; model/transformer.h), a bidirectional post-norm encoder (BERT), or an
// encoder and a decoder with cross-attention (T5).
enum class ForwardKind : uint8_t { kDecoder, kEncoder, kEncoderDecoder };

// RMSNorm (llama, T5) or LayerNorm with a bias (GPT-2, BERT).
enum class NormKind : uint8_t { kRms, kLayer };

// Where a block's norm sits: before the block, its output added to the residual stream (llama,
// GPT-2, T5), or after the residual add, normalising the stream itself (BERT's post-norm).
enum class NormPlacement : uint8_t { kPre, kPost };

// The FFN's activation: SwiGLU is down(silu(gate(x)) * up(x)) (llama), GeGLU the same with GELU
// (T5 v1.1); GELU is down(gelu(up(x))) (GPT-2, BERT), without a gate tensor.
// ReLU is down(relu(up(x))) (original T5: a kGeGlu row whose file has no gate tensors runs it, see
// ModelConfig::ffn).
enum class FfnKind : uint8_t { kSwiGlu, kGeGlu, kGelu, kRelu };

// How positions enter: RoPE pairing (2i, 2i+1) (GGUF "llama" layout) or (i, i + n_rot/2) (NeoX,
// qwen2); learned absolute embeddings added to the token embedding (GPT-2, BERT); relative
// position buckets added to the attention scores (T5).
enum class PositionKind : uint8_t { kRopeNormal, kRopeNeox, kLearned, kRelativeBias };

// Every tensor a model may hold, by what it does. Shapes and the role's name come from the
// arch-independent role table (role_info); file names come from the architecture's row.
enum class TensorRole : uint8_t {
  kTokenEmbd,
  kTokenTypes,  // BERT's segment embeddings; jitflow adds row 0 (one segment), as llama.cpp does
  kPosEmbd,
  kTokenEmbdNorm,  // BERT's LayerNorm of the summed embeddings
  kTokenEmbdNormBias,
  kRopeFreqs,
  kOutputNorm,
  kOutputNormBias,
  kOutput,
  kOutputBias,
  // Per layer, in the order the forward pass uses them.
  kAttnNorm,
  kAttnNormBias,
  kAttnRelBias,  // T5: relative-position bias [n_buckets rows of n_head]; layer 0's serves the others
  kAttnQ,
  kAttnQBias,
  kAttnK,
  kAttnKBias,
  kAttnV,
  kAttnVBias,
  kAttnOut,
  kAttnOutBias,
  // T5's decoder: attention over the encoder's output (keys and values from it, queries from x).
  kCrossNorm,
  kCrossQ,
  kCrossK,
  kCrossV,
  kCrossOut,
  kFfnNorm,
  kFfnNormBias,
  kFfnGate,
  kFfnGateBias,
  kFfnUp,
  kFfnUpBias,
  kFfnDown,
  kFfnDownBias,
  // A mixture of experts (llama.cpp's MoE tensors, used instead of the dense FFN's when the file
  // states <arch>.expert_count): the router, and the experts' FFNs stored as 3-D tensors of one
  // matrix per expert, or, in older files, as one tensor per expert (split_expert_name).
  kFfnGateInp,
  kFfnGateExps,
  kFfnUpExps,
  kFfnDownExps,
  kCount
};
inline constexpr size_t kTensorRoleCount = static_cast<size_t>(TensorRole::kCount);

// A dimension of a tensor, in terms of the config (model/hparams.h).
enum class Dim : uint8_t {
  kOne,
  kEmbd,
  kEmbdQ,
  kEmbdKv,
  kFf,
  kVocab,
  kCtxTrain,
  kRotHalf,
  kTokenTypes,
  kHeads,
  kRelBuckets,
  kExperts
};

// Which models a role is loaded for: every model (kAlways); only a dense one (the dense FFN's
// tensors); only a mixture of experts (its router); only a mixture of experts, one matrix per
// expert (ggml ne2 = n_expert in the merged layout).
enum class MoeUse : uint8_t { kAlways, kDense, kMoe, kPerExpert };

// What a role is, whatever the architecture.
enum class RoleKind : uint8_t {
  kEmbedding,  // rows looked up by index (kept in the file's type, packed like a matrix)
  kMatrix,     // the weight of a linear (kept in its file type, packed for the matmul kernels)
  kVector,     // norm weights, biases, frequency factors (converted to f32 at load time)
};

struct RoleInfo {
  const char* name;  // "attn_q" (for messages; file names are the row's patterns)
  RoleKind kind;
  bool per_layer;
  Dim n_cols, n_rows;  // ggml ne0, ne1
  MoeUse moe = MoeUse::kAlways;
};
const RoleInfo& role_info(TensorRole role);

enum class Need : uint8_t { kAbsent, kOptional, kRequired };

// Which part of a fused tensor a role is: GPT-2 stores Q, K and V (and their biases) as one
// tensor "attn_qkv" whose rows are Q's, then K's, then V's. The loader reads each part's rows as a
// tensor of its own, so everything after loading sees three linears.
enum class FusedPart : uint8_t { kWhole, kQ, kK, kV };

// The file name of a role: "{}" stands for the layer index ("blk.{}.attn_q.weight").
struct TensorSpec {
  const char* pattern = nullptr;
  Need need = Need::kAbsent;
  FusedPart part = FusedPart::kWhole;
};

struct ArchInfo {
  const char* name = "";  // general.architecture, and the prefix of its metadata keys
  ForwardKind forward = ForwardKind::kDecoder;
  NormKind norm = NormKind::kRms;
  FfnKind ffn = FfnKind::kSwiGlu;
  PositionKind positions = PositionKind::kRopeNormal;
  NormPlacement norm_placement = NormPlacement::kPre;
  // T5 scores attention as q·k, without 1/sqrt(head_dim) (its weights absorbed the scale).
  bool unscaled_attention = false;
  // kEncoderDecoder: the row of the encoder stack (its tensors, kinds and final norm); the shared
  // token embedding is this row's.
  const ArchInfo* encoder = nullptr;
  // A file without the output head's weight uses token_embd as the head.
  bool tied_output = false;
  // Metadata keys after "<name>.": every architecture has embedding_length, block_count,
  // feed_forward_length, attention.head_count and, optionally, attention.head_count_kv,
  // context_length, attention.key_length and attention.value_length; RoPE architectures also read
  // rope.dimension_count, rope.freq_base and rope.scaling.*. The norm's epsilon is named per row;
  // rows with segment embeddings read tokenizer.ggml.token_type_count.
  const char* norm_eps_key = "attention.layer_norm_rms_epsilon";
  std::array<TensorSpec, kTensorRoleCount> tensors{};

  const TensorSpec& tensor(TensorRole role) const { return tensors[static_cast<size_t>(role)]; }
};

// The rows, and the one of general.architecture `name` (null when jitflow has no such row).
std::span<const ArchInfo> all_archs();
const ArchInfo* find_arch(std::string_view name);
// "llama, qwen2": for messages about an unknown architecture.
std::string arch_names();

// The file name of `role` in `arch` for `layer` (ignored by non-layer roles); "" when absent.
std::string tensor_name(const ArchInfo& arch, TensorRole role, int layer);

// Whether the row runs a mixture of experts when a file states expert_count (it names the experts'
// tensors).
bool supports_experts(const ArchInfo& arch);

// The older, split layout of a per-expert role: one 2-D tensor per expert, named as the dense FFN's
// tensor with the expert's index before ".weight" ("blk.0.ffn_gate.3.weight" for kFfnGateExps), as
// llama.cpp's LLM_TENSOR_FFN_*_EXP; "" when the row has no dense counterpart.
std::string split_expert_name(const ArchInfo& arch, TensorRole role, int layer, int expert);

// Whether any of the row's tensors is a part of a fused tensor (such files cannot be converted to
// the channel-major or flash layouts yet).
bool has_fused_tensors(const ArchInfo& arch);

// Tensors every layer of `arch` must have (bounds the layer count by the file's tensor count); with
// grouped_linears (the flash layout: one tensor per linear and group of layers) its matrices do not
// count.
int required_tensors_per_layer(const ArchInfo& arch, bool grouped_linears);

bool uses_rope(PositionKind positions);

// T5's bucket of a key at `relative` = key position - query position, among n_buckets: exact for
// short distances, logarithmic up to 128 and beyond; bidirectional (encoder) buckets tell the sign
// apart, unidirectional (decoder) ones see only past keys.
int relative_position_bucket(int relative, int n_buckets, bool bidirectional);

}  // namespace jf
