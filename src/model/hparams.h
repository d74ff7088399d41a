// The shape and numerics of a transformer, read from GGUF metadata (`<arch>.*` keys) as the
// architecture's row of the table (model/arch.h) names them.
#pragma once

#include "gguf/gguf.h"
#include "jitflow/model_shape.h"
#include "jitflow/status.h"
#include "model/arch.h"

namespace jf {

// The public shape (jitflow/model_shape.h, also what ModelInfo reports) plus what only the forward
// pass needs.
struct ModelConfig : ModelShape {
  const ArchInfo* arch_info = nullptr;  // the row of `arch` in the architecture table
  float norm_eps = 1e-5f;
  float rope_freq_base = 10000.0f;
  float rope_freq_scale = 1.0f;  // linear scaling: positions are multiplied by this
  int n_token_types = 0;         // rows of BERT's segment embeddings (token_types), else 0
  int pooling_type = 0;          // encoders: <arch>.pooling_type (0 none or absent, 1 mean, 2 cls, 3 last)
  // The FFN's activation: the row's, except a kGeGlu row whose file has no gate tensors (ReLU, as
  // the original T5); encoder_ffn the same for the encoder stack of an encoder-decoder.
  FfnKind ffn = FfnKind::kSwiGlu;
  FfnKind encoder_ffn = FfnKind::kSwiGlu;
  // T5: relative-position buckets, the encoder's layers (n_layer counts the decoder's) and the token
  // the decoder starts from (<arch>.decoder_start_token_id, else the vocabulary's pad/BOS: -1 unknown).
  int n_rel_buckets = 0;
  // A mixture of experts: the routing weights of a token's experts are scaled by this (<arch>.
  // expert_weights_scale; 0 or 1: not scaled).
  float expert_weights_scale = 0;
  int n_enc_layer = 0;
  int decoder_start_token = -1;
};

// The config of an encoder-decoder's encoder stack: its row, layer count and FFN kind.
ModelConfig encoder_config(const ModelConfig& c);

// Reads and validates the config. An architecture without a row in the table, or with kinds the
// forward pass does not implement, is kUnsupported naming it; inconsistent shapes (n_head not
// dividing n_embd, n_head_kv not dividing n_head, n_rot odd or > head_dim) are errors naming the key.
Result<ModelConfig> read_model_config(const GgufFile& file);

}  // namespace jf
