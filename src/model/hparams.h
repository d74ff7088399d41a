// The shape and numerics of a transformer, read from GGUF metadata (`<arch>.*` keys).
#pragma once

#include <string>

#include "gguf/gguf.h"
#include "jitflow/status.h"

namespace jf {

enum class Arch { kLlama, kQwen2 };

// How RoPE pairs the dimensions of a head: kNormal rotates (2i, 2i+1) (GGUF "llama" layout);
// kNeox rotates (i, i + n_rot/2) (qwen2 and models converted without the llama permutation).
enum class RopeStyle { kNormal, kNeox };

struct ModelConfig {
  Arch arch = Arch::kLlama;
  std::string arch_name;      // general.architecture
  std::string name;           // general.name (may be empty)
  int n_vocab = 0;
  int n_ctx_train = 0;
  int n_embd = 0;
  int n_layer = 0;
  int n_head = 0;
  int n_head_kv = 0;
  int head_dim = 0;           // n_embd / n_head unless <arch>.attention.key_length says otherwise
  int n_ff = 0;
  int n_rot = 0;              // dimensions of each head that RoPE rotates (<= head_dim)
  float rms_eps = 1e-5f;
  float rope_freq_base = 10000.0f;
  float rope_freq_scale = 1.0f;  // linear scaling: positions are multiplied by this
  RopeStyle rope_style = RopeStyle::kNormal;
  bool has_qkv_bias = false;

  int n_embd_kv() const { return n_head_kv * head_dim; }
  int n_embd_q() const { return n_head * head_dim; }
};

// Reads and validates the config. Unsupported architectures and inconsistent shapes (n_head not
// dividing n_embd, n_head_kv not dividing n_head, n_rot odd or > head_dim) are errors naming the key.
Result<ModelConfig> read_model_config(const GgufFile& file);

const char* arch_name(Arch arch);

}  // namespace jf
