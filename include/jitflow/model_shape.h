// The shape of a model as its GGUF metadata states it: the facts the public API reports
// (ModelInfo, engine.h) and the forward pass computes with (src/model/hparams.h builds on it), read
// in one place.
#pragma once

#include <string>

namespace jf {

struct ModelShape {
  std::string arch;  // general.architecture: "llama", "qwen2"
  std::string name;  // general.name (may be empty)
  int n_vocab = 0;
  int n_ctx_train = 0;
  int n_embd = 0;
  int n_layer = 0;
  int n_head = 0;
  int n_head_kv = 0;
  int head_dim = 0;  // n_embd / n_head unless <arch>.attention.key_length says otherwise
  int n_ff = 0;
  int n_rot = 0;  // dimensions of each head that RoPE rotates (<= head_dim; 0 without RoPE)
  // A mixture of experts: experts per FFN and experts each token uses (0 and 0 for a dense FFN).
  int n_expert = 0;
  int n_expert_used = 0;

  int n_embd_kv() const { return n_head_kv * head_dim; }
  int n_embd_q() const { return n_head * head_dim; }
};

}  // namespace jf
