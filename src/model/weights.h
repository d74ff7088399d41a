// The tensors of a llama-family model, loaded from a GGUF file into one aligned arena in DRAM.
// Every tensor is checked against the shape the config implies before any byte is read, so a
// model with a wrong or missing tensor fails with a message naming it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/aligned_buffer.h"
#include "gguf/gguf.h"
#include "model/hparams.h"
#include "tensor/tensor_view.h"

namespace jf {

// Norms and biases are 1 x n_cols views, always f32; matrices keep their file type.
struct LayerWeights {
  TensorView attn_norm;       // [n_embd]
  TensorView wq, wk, wv, wo;  // [n_embd -> n_embd_q], [-> n_embd_kv] x2, [n_embd_q -> n_embd]
  TensorView bq, bk, bv;      // qwen2 only
  TensorView ffn_norm;        // [n_embd]
  TensorView w_gate, w_up;    // [n_embd -> n_ff]
  TensorView w_down;          // [n_ff -> n_embd]
};

struct ModelWeights {
  TensorView token_embd;   // [n_vocab rows of n_embd]
  TensorView output_norm;  // [n_embd]
  TensorView output;       // [n_vocab rows of n_embd]; token_embd when the file ties them
  TensorView rope_freqs;   // optional per-pair frequency divisors [n_rot / 2] (Llama 3.1)
  std::vector<LayerWeights> layers;
  AlignedBuffer arena;  // owns every byte above
  uint64_t n_bytes = 0;
};

// Checks and reads every tensor the model needs. Errors: a missing tensor (kNotFound), a wrong
// shape (kCorruptFile), a tensor type jitflow cannot compute with (kUnsupported), all naming the
// tensor; out of memory (kOutOfRange).
Result<ModelWeights> load_weights(const GgufFile& file, const ModelConfig& config);

}  // namespace jf
