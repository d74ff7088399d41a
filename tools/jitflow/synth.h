// Random-weight GGUF models with the shapes, tensor names, metadata and tokenizer of real ones
// (`jitflow synth`): llama.cpp loads them, so benchmarks can compare both engines on 7B-sized files
// without downloading weights.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "gguf/gguf_writer.h"
#include "jitflow/status.h"

namespace jf::synth {

// One model shape. ggml shapes follow from it: every matrix is [n_in, n_out] with ne0 = n_in.
struct Shape {
  const char* preset;       // "tinyllama-1.1b"
  const char* arch;         // general.architecture: "llama", "qwen2", "gpt2" or "bert"
  const char* model_name;   // general.name
  int64_t n_embd;
  int64_t n_layer;
  int64_t n_head;
  int64_t n_head_kv;
  int64_t n_ff;
  int64_t n_vocab;          // of the generated vocabulary (--vocab-from overrides it)
  int64_t n_ctx;
  float rope_freq_base;     // RoPE architectures only
  float norm_eps;           // RMSNorm's (llama, qwen2) or LayerNorm's (gpt2, bert)
  bool qkv_bias;            // blk.N.attn_{q,k,v}.bias (qwen2; gpt2 and bert always have biases)
  bool tied_output;         // no output.weight: token_embd doubles as the LM head
  bool hidden;              // test shapes, not listed by --help
  // The vocabulary the real model uses, relative to the checkout (`--vocab-from` must give one of
  // its kind: a generated SentencePiece vocabulary only fits the llama family); null for
  // llama-family shapes.
  const char* vocab_file = nullptr;
  int n_token_types = 0;    // bert: segment embeddings (tokenizer.ggml.token_type_count)
  int pooling = 0;          // bert: <arch>.pooling_type (1 mean, 2 cls)
  // t5: decoder layers (n_layer counts the encoder's), relative-position buckets, and a gated-GELU
  // FFN (flan-T5) instead of ReLU (the original T5).
  int64_t n_dec_layer = 0;
  int n_rel_buckets = 0;
  bool gated_ffn = false;
  // Mixture of experts (llama only, Mixtral's layout): n_expert FFNs per layer, of which a router
  // picks n_expert_used per token; 0 for a dense FFN.
  int n_expert = 0;
  int n_expert_used = 0;
};

// The preset of that name, or nullptr.
const Shape* find_shape(std::string_view preset);
// "tinyllama-1.1b, llama2-7b, ..." (hidden presets left out), for --help and errors.
std::string preset_names();

// The file types `--type` offers, as llama.cpp's ftypes: the main matrix type, with llama-quantize's
// choices for the output head (Q6_K) and Q4_K_M's extra bits for attn_v / ffn_down in some layers.
enum class FileType { kF16, kQ8_0, kQ4_0, kQ4_K_M };
Result<FileType> parse_file_type(std::string_view name);  // "f16", "q8_0", "q4_0", "q4_k"

struct Options {
  Shape shape{};
  FileType type = FileType::kQ4_0;
  std::string vocab_from;   // GGUF whose tokenizer.* keys are copied; "" = generate an SPM vocabulary
  uint64_t seed = 1;
  int n_threads = 0;        // 0 = all logical CPUs
  // Experts as one 2-D tensor each (blk.N.ffn_gate.E.weight, ...), the layout of older Mixtral files,
  // instead of stacked 3-D ones (blk.N.ffn_gate_exps.weight, ...). The weights are the same.
  bool split_experts = false;
};

// The model's metadata and tensor directory; each tensor's weights are generated and encoded when the
// writer writes it (GgufWriter's lazy tensors), so writing holds one tensor at a time, and the
// writer's makers share a thread pool: write it, or a copy of it, from one thread at a time.
// The bytes depend on the options only, not on the thread count.
Result<GgufWriter> build_model(const Options& options);

}  // namespace jf::synth
