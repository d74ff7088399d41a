#include "synth.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <thread>
#include <utility>
#include <vector>

#include "base/thread_pool.h"
#include "gguf/gguf.h"
#include "tensor/quant.h"

namespace jf::synth {
namespace {

// The one table of model shapes. Sources: the models' published configs (hidden sizes, heads, KV heads,
// FFN width, vocabulary, context, RoPE base, RMSNorm eps).
// preset, arch, general.name, n_embd, n_layer, n_head, n_head_kv, n_ff, n_vocab, n_ctx, rope base, eps,
// qkv_bias, tied_output, hidden[, vocab file, token types, pooling]
constexpr Shape kShapes[] = {
    {"tinyllama-1.1b", "llama", "TinyLlama 1.1B (synthetic)", 2048, 22, 32, 4, 5632, 32000, 2048, 10000.0f, 1e-5f,
     false, false, false},
    {"llama2-7b", "llama", "Llama 2 7B (synthetic)", 4096, 32, 32, 32, 11008, 32000, 4096, 10000.0f, 1e-5f, false,
     false, false},
    {"llama3-8b", "llama", "Llama 3 8B (synthetic)", 4096, 32, 32, 8, 14336, 128256, 8192, 500000.0f, 1e-5f, false,
     false, false},
    // Mistral 7B's attention with 8 experts in every FFN, 2 of them per token.
    {.preset = "mixtral-8x7b", .arch = "llama", .model_name = "Mixtral 8x7B (synthetic)", .n_embd = 4096,
     .n_layer = 32, .n_head = 32, .n_head_kv = 8, .n_ff = 14336, .n_vocab = 32000, .n_ctx = 32768,
     .rope_freq_base = 1000000.0f, .norm_eps = 1e-5f, .qkv_bias = false, .tied_output = false, .hidden = false,
     .n_expert = 8, .n_expert_used = 2},
    {"qwen2.5-0.5b", "qwen2", "Qwen2.5 0.5B (synthetic)", 896, 24, 14, 2, 4864, 151936, 32768, 1000000.0f, 1e-6f,
     true, true, false},
    // GPT-2 small (124M), BERT-base (bge-base-en: cls pooling) and RoBERTa-base (its BPE vocabulary is
    // GPT-2's; mean pooling as sentence-transformers' RoBERTa models). RoBERTa's 514 positions lose the
    // two that its padding offset never uses, as llama.cpp's converter drops them.
    {"gpt2", "gpt2", "GPT-2 124M (synthetic)", 768, 12, 12, 12, 3072, 50257, 1024, 0.0f, 1e-5f, true, true, false,
     "../shared/vocab/ggml-vocab-gpt-2.gguf"},
    {"bert-base", "bert", "BERT-base 110M (synthetic)", 768, 12, 12, 12, 3072, 30522, 512, 0.0f, 1e-12f, true,
     false, false, "../shared/vocab/ggml-vocab-bert-bge.gguf", 2, 2},
    {"roberta-base", "bert", "RoBERTa-base 125M (synthetic)", 768, 12, 12, 12, 3072, 50257, 512, 0.0f, 1e-5f, true,
     false, false, "../shared/vocab/ggml-vocab-gpt-2.gguf", 1, 1},
    // T5-small (60M; ReLU FFN, the embedding tied to the head). Its SentencePiece vocabulary is not on
    // this machine: tests/data/vocab has a Unigram one of T5's layout trained on docs-28M's corpus.
    {"t5-small", "t5", "T5-small 60M (synthetic)", 512, 6, 8, 8, 2048, 32100, 512, 0.0f, 1e-6f, false, true, false,
     "tests/data/vocab/ggml-vocab-t5-unigram.gguf", 0, 0, 6, 32, false},
    // Small enough for tests, rows of 256 so that every file type keeps its main tensor type.
    {"test-tiny", "llama", "test-tiny (synthetic)", 256, 2, 4, 2, 512, 320, 128, 10000.0f, 1e-5f, false, false, true},
    // test-tiny with 4 experts, and with 8 narrower ones (llama-quantize gives 8-expert models other types).
    {.preset = "test-tiny-moe", .arch = "llama", .model_name = "test-tiny-moe (synthetic)", .n_embd = 256,
     .n_layer = 2, .n_head = 4, .n_head_kv = 2, .n_ff = 512, .n_vocab = 320, .n_ctx = 128,
     .rope_freq_base = 10000.0f, .norm_eps = 1e-5f, .qkv_bias = false, .tied_output = false, .hidden = true,
     .n_expert = 4, .n_expert_used = 2},
    {.preset = "test-tiny-moe8", .arch = "llama", .model_name = "test-tiny-moe8 (synthetic)", .n_embd = 256,
     .n_layer = 2, .n_head = 4, .n_head_kv = 2, .n_ff = 256, .n_vocab = 320, .n_ctx = 128,
     .rope_freq_base = 10000.0f, .norm_eps = 1e-5f, .qkv_bias = false, .tied_output = false, .hidden = true,
     .n_expert = 8, .n_expert_used = 2},
    {"test-tiny-gpt2", "gpt2", "test-tiny-gpt2 (synthetic)", 256, 2, 4, 4, 512, 0, 128, 0.0f, 1e-5f, true, true, true,
     "../shared/vocab/ggml-vocab-gpt-2.gguf"},
    {"test-tiny-bert", "bert", "test-tiny-bert (synthetic)", 256, 2, 4, 4, 512, 0, 128, 0.0f, 1e-12f, true, false,
     true, "../shared/vocab/ggml-vocab-bert-bge.gguf", 2, 2},
    {"test-tiny-t5", "t5", "test-tiny-t5 (synthetic)", 256, 2, 4, 4, 512, 0, 512, 0.0f, 1e-6f, false, true, true,
     "tests/data/vocab/ggml-vocab-t5-unigram.gguf", 0, 0, 2, 32, true},
};

constexpr float kWeightSigma = 0.02f;

// ---- tensor types, as llama-quantize picks them

enum class Role { kEmbedding, kOutput, kAttnK, kAttnV, kAttnOutput, kFfnDown, kOther };

// llama-quantize's "use more bits" layers: Q4_K_M gives attn_v and ffn_down of these layers Q6_K.
bool uses_more_bits(int64_t layer, int64_t n_layer) {
  return layer < n_layer / 8 || layer >= 7 * n_layer / 8 || (layer - n_layer / 8) % 3 == 2;
}

// K-quant rows must be whole super-blocks; llama-quantize falls back to a legacy type otherwise.
DType fit_row(DType dtype, int64_t n_in) {
  if (n_in % kQK_K == 0) return dtype;
  if (dtype == DType::Q4_K) return DType::Q5_0;
  if (dtype == DType::Q5_K) return DType::Q5_1;
  if (dtype == DType::Q6_K) return DType::Q8_0;
  return dtype;
}

DType matrix_type(FileType type, Role role, int64_t layer, const Shape& s, int64_t n_in) {
  // llama-quantize's 8-expert (Mixtral) rule: attn_k and attn_v, small beside the experts, get Q8_0 in
  // every quantized type, and Q4_K_M's attn_output Q5_K.
  if (s.n_expert == 8 && type != FileType::kF16) {
    if (role == Role::kAttnK || role == Role::kAttnV) return DType::Q8_0;
    if (role == Role::kAttnOutput && type == FileType::kQ4_K_M) return fit_row(DType::Q5_K, n_in);
  }
  switch (type) {
    case FileType::kF16: return DType::F16;
    case FileType::kQ8_0: return DType::Q8_0;
    case FileType::kQ4_0: return fit_row(role == Role::kOutput ? DType::Q6_K : DType::Q4_0, n_in);
    case FileType::kQ4_K_M:
      if (role == Role::kOutput) return fit_row(DType::Q6_K, n_in);
      if ((role == Role::kAttnV || role == Role::kFfnDown) && uses_more_bits(layer, s.n_layer)) {
        return fit_row(DType::Q6_K, n_in);
      }
      return fit_row(DType::Q4_K, n_in);
  }
  return DType::F32;
}

uint32_t llama_ftype(FileType type) {
  switch (type) {
    case FileType::kF16: return 1;
    case FileType::kQ4_0: return 2;
    case FileType::kQ8_0: return 7;
    case FileType::kQ4_K_M: return 15;
  }
  return 0;
}

// ---- tensor plan

// kWide: relative-position tables, wide enough that a wrong bucket visibly changes the attention.
enum class Fill { kOnes, kGaussian, kWide };

struct TensorPlan {
  std::string name;
  DType dtype;
  int64_t n_in;   // ne0
  int64_t n_out;  // ne1; 0 for a vector
  Fill fill;
  // Experts' matrices stacked along ne2 (0: not an expert tensor). Expert e's matrix is rows
  // e * n_out .. of the whole; in the split layout it is the tensor split_prefix + "<e>.weight".
  int64_t n_expert = 0;
  std::string split_prefix = {};
};

// The tensors of a shape, in file order, as llama.cpp's converters name them.
class TensorPlanner {
 public:
  TensorPlanner(const Shape& s, FileType type) : s_(s), type_(type) {}

  void matrix(std::string name, Role role, int64_t layer, int64_t n_in, int64_t n_out) {
    plan_.push_back(
        {std::move(name), matrix_type(type_, role, layer, s_, n_in), n_in, n_out, Fill::kGaussian});
  }
  // The n_expert matrices of one FFN projection, as llama.cpp names them: blk.N.<ffn>_exps.weight
  // [n_in, n_out, n_expert], or blk.N.<ffn>.E.weight [n_in, n_out] each in the split layout.
  void experts(const std::string& blk, const std::string& ffn, Role role, int64_t layer, int64_t n_in,
               int64_t n_out) {
    plan_.push_back({blk + ffn + "_exps.weight", matrix_type(type_, role, layer, s_, n_in), n_in, n_out,
                     Fill::kGaussian, s_.n_expert, blk + ffn + "."});
  }
  void vector(std::string name, Fill fill, int64_t n) { plan_.push_back({std::move(name), DType::F32, n, 0, fill}); }
  void table(std::string name, int64_t n_in, int64_t n_out, Fill fill = Fill::kGaussian) {
    plan_.push_back({std::move(name), DType::F32, n_in, n_out, fill});
  }
  // A LayerNorm's weight (ones) and bias.
  void layer_norm(const std::string& name, int64_t n) {
    vector(name + ".weight", Fill::kOnes, n);
    vector(name + ".bias", Fill::kGaussian, n);
  }
  // A linear's weight and bias.
  void linear(const std::string& name, Role role, int64_t layer, int64_t n_in, int64_t n_out) {
    matrix(name + ".weight", role, layer, n_in, n_out);
    vector(name + ".bias", Fill::kGaussian, n_out);
  }
  std::vector<TensorPlan> take() { return std::move(plan_); }

 private:
  const Shape& s_;
  FileType type_;
  std::vector<TensorPlan> plan_;
};

std::string block(int64_t layer) { return "blk." + std::to_string(layer) + "."; }

std::vector<TensorPlan> plan_llama(const Shape& s, FileType type, int64_t n_vocab) {
  const int64_t n_embd_kv = s.n_embd / s.n_head * s.n_head_kv;
  TensorPlanner p(s, type);
  p.matrix("token_embd.weight", s.tied_output ? Role::kOutput : Role::kEmbedding, 0, s.n_embd, n_vocab);
  for (int64_t l = 0; l < s.n_layer; ++l) {
    const std::string blk = block(l);
    p.vector(blk + "attn_norm.weight", Fill::kOnes, s.n_embd);
    p.matrix(blk + "attn_q.weight", Role::kOther, l, s.n_embd, s.n_embd);
    p.matrix(blk + "attn_k.weight", Role::kAttnK, l, s.n_embd, n_embd_kv);
    p.matrix(blk + "attn_v.weight", Role::kAttnV, l, s.n_embd, n_embd_kv);
    if (s.qkv_bias) {
      p.vector(blk + "attn_q.bias", Fill::kGaussian, s.n_embd);
      p.vector(blk + "attn_k.bias", Fill::kGaussian, n_embd_kv);
      p.vector(blk + "attn_v.bias", Fill::kGaussian, n_embd_kv);
    }
    p.matrix(blk + "attn_output.weight", Role::kAttnOutput, l, s.n_embd, s.n_embd);
    p.vector(blk + "ffn_norm.weight", Fill::kOnes, s.n_embd);
    if (s.n_expert > 0) {
      // The router stays F32 in every file type: llama-quantize never quantizes ffn_gate_inp.
      p.table(blk + "ffn_gate_inp.weight", s.n_embd, s.n_expert);
      p.experts(blk, "ffn_gate", Role::kOther, l, s.n_embd, s.n_ff);
      p.experts(blk, "ffn_up", Role::kOther, l, s.n_embd, s.n_ff);
      p.experts(blk, "ffn_down", Role::kFfnDown, l, s.n_ff, s.n_embd);
      continue;
    }
    p.matrix(blk + "ffn_gate.weight", Role::kOther, l, s.n_embd, s.n_ff);
    p.matrix(blk + "ffn_up.weight", Role::kOther, l, s.n_embd, s.n_ff);
    p.matrix(blk + "ffn_down.weight", Role::kFfnDown, l, s.n_ff, s.n_embd);
  }
  p.vector("output_norm.weight", Fill::kOnes, s.n_embd);
  if (!s.tied_output) p.matrix("output.weight", Role::kOutput, 0, s.n_embd, n_vocab);
  return p.take();
}

// GPT-2: learned positions, Q/K/V fused into attn_qkv, LayerNorms and biases everywhere.
std::vector<TensorPlan> plan_gpt2(const Shape& s, FileType type, int64_t n_vocab) {
  TensorPlanner p(s, type);
  p.matrix("token_embd.weight", s.tied_output ? Role::kOutput : Role::kEmbedding, 0, s.n_embd, n_vocab);
  p.matrix("position_embd.weight", Role::kEmbedding, 0, s.n_embd, s.n_ctx);
  for (int64_t l = 0; l < s.n_layer; ++l) {
    const std::string blk = block(l);
    p.layer_norm(blk + "attn_norm", s.n_embd);
    p.linear(blk + "attn_qkv", Role::kOther, l, s.n_embd, 3 * s.n_embd);
    p.linear(blk + "attn_output", Role::kOther, l, s.n_embd, s.n_embd);
    p.layer_norm(blk + "ffn_norm", s.n_embd);
    p.linear(blk + "ffn_up", Role::kOther, l, s.n_embd, s.n_ff);
    p.linear(blk + "ffn_down", Role::kFfnDown, l, s.n_ff, s.n_embd);
  }
  p.layer_norm("output_norm", s.n_embd);
  if (!s.tied_output) p.matrix("output.weight", Role::kOutput, 0, s.n_embd, n_vocab);
  return p.take();
}

// BERT: token, segment and position embeddings with their LayerNorm; post-norm layers; no head.
std::vector<TensorPlan> plan_bert(const Shape& s, FileType type, int64_t n_vocab) {
  TensorPlanner p(s, type);
  p.matrix("token_embd.weight", Role::kEmbedding, 0, s.n_embd, n_vocab);
  // F32 whatever the file type: llama.cpp adds row 0 to the embeddings as it is stored (ggml_add
  // takes no F16 or quantized operand there), and its converter keeps this small table in F32.
  if (s.n_token_types > 0) p.table("token_types.weight", s.n_embd, s.n_token_types);
  p.matrix("position_embd.weight", Role::kEmbedding, 0, s.n_embd, s.n_ctx);
  p.layer_norm("token_embd_norm", s.n_embd);
  for (int64_t l = 0; l < s.n_layer; ++l) {
    const std::string blk = block(l);
    p.linear(blk + "attn_q", Role::kOther, l, s.n_embd, s.n_embd);
    p.linear(blk + "attn_k", Role::kOther, l, s.n_embd, s.n_embd);
    p.linear(blk + "attn_v", Role::kAttnV, l, s.n_embd, s.n_embd);
    p.linear(blk + "attn_output", Role::kOther, l, s.n_embd, s.n_embd);
    p.layer_norm(blk + "attn_output_norm", s.n_embd);
    p.linear(blk + "ffn_up", Role::kOther, l, s.n_embd, s.n_ff);
    p.linear(blk + "ffn_down", Role::kFfnDown, l, s.n_ff, s.n_embd);
    p.layer_norm(blk + "layer_output_norm", s.n_embd);
  }
  return p.take();
}

// T5: an encoder and a decoder stack (RMSNorm weights, no biases), relative-position tables in layer
// 0 of each (F32, as llama-quantize keeps them), the head tied to the embedding.
std::vector<TensorPlan> plan_t5(const Shape& s, FileType type, int64_t n_vocab) {
  TensorPlanner p(s, type);
  p.matrix("token_embd.weight", Role::kOutput, 0, s.n_embd, n_vocab);
  const auto stack = [&](const std::string& prefix, int64_t n_layer, bool cross) {
    for (int64_t l = 0; l < n_layer; ++l) {
      const std::string blk = prefix + ".blk." + std::to_string(l) + ".";
      p.vector(blk + "attn_norm.weight", Fill::kOnes, s.n_embd);
      if (l == 0) p.table(blk + "attn_rel_b.weight", s.n_head, s.n_rel_buckets, Fill::kWide);
      for (const char* name : {"attn_q", "attn_k", "attn_v"}) p.matrix(blk + name + ".weight", Role::kOther, l, s.n_embd, s.n_embd);
      p.matrix(blk + "attn_o.weight", Role::kOther, l, s.n_embd, s.n_embd);
      if (cross) {
        p.vector(blk + "cross_attn_norm.weight", Fill::kOnes, s.n_embd);
        for (const char* name : {"cross_attn_q", "cross_attn_k", "cross_attn_v", "cross_attn_o"})
          p.matrix(blk + name + ".weight", Role::kOther, l, s.n_embd, s.n_embd);
      }
      p.vector(blk + "ffn_norm.weight", Fill::kOnes, s.n_embd);
      if (s.gated_ffn) p.matrix(blk + "ffn_gate.weight", Role::kOther, l, s.n_embd, s.n_ff);
      p.matrix(blk + "ffn_up.weight", Role::kOther, l, s.n_embd, s.n_ff);
      p.matrix(blk + "ffn_down.weight", Role::kFfnDown, l, s.n_ff, s.n_embd);
    }
    p.vector(prefix + ".output_norm.weight", Fill::kOnes, s.n_embd);
  };
  stack("enc", s.n_layer, false);
  stack("dec", s.n_dec_layer, true);
  return p.take();
}

std::vector<TensorPlan> plan_tensors(const Shape& s, FileType type, int64_t n_vocab) {
  const std::string_view arch = s.arch;
  if (arch == "t5") return plan_t5(s, type, n_vocab);
  if (arch == "gpt2") return plan_gpt2(s, type, n_vocab);
  if (arch == "bert") return plan_bert(s, type, n_vocab);
  return plan_llama(s, type, n_vocab);
}

// ---- weights

// splitmix64's output function: a bijective 64-bit mix.
uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// N(0, sigma) values of one row: a splitmix64 stream keyed by (seed, tensor, row) through Box-Muller, so
// rows can be made in any order on any thread.
void gaussian_row(uint64_t seed, uint64_t tensor_index, int64_t row, float sigma, float* out, int64_t n) {
  uint64_t state = mix64(mix64(seed) + mix64(tensor_index + 1) * 31 + static_cast<uint64_t>(row));
  for (int64_t i = 0; i < n; i += 2) {
    state += 0x9e3779b97f4a7c15ull;
    const uint64_t bits = mix64(state);
    const float u1 = (static_cast<float>(bits >> 40) + 1.0f) * 0x1p-24f;  // (0, 1]: log stays finite
    const float u2 = static_cast<float>((bits >> 16) & 0xffffff) * 0x1p-24f;
    const float radius = sigma * std::sqrt(-2.0f * std::log(u1));
    const float angle = 6.2831853f * u2;
    out[i] = radius * std::cos(angle);
    if (i + 1 < n) out[i + 1] = radius * std::sin(angle);
  }
}

// The encoded bytes of rows [first_row, first_row + n_rows) of a tensor (the plan's tensor_index-th);
// rows are generated and quantised in parallel.
std::vector<uint8_t> make_rows(const TensorPlan& t, uint64_t seed, uint64_t tensor_index, int64_t first_row,
                               int64_t n_rows, ThreadPool& pool) {
  const size_t bytes_per_row = row_bytes(t.dtype, t.n_in);
  std::vector<uint8_t> data(bytes_per_row * n_rows);
  pool.parallel_for(n_rows, pool.chunk_count(n_rows), [&](int64_t begin, int64_t end) {
    std::vector<float> row(t.n_in, 1.0f);
    for (int64_t r = begin; r < end; ++r) {
      if (t.fill != Fill::kOnes) {
        gaussian_row(seed, tensor_index, first_row + r, t.fill == Fill::kWide ? 1.0f : kWeightSigma,
                     row.data(), t.n_in);
      }
      quantize_weight_row(t.dtype, row.data(), data.data() + r * bytes_per_row, t.n_in);
    }
  });
  return data;
}

// Adds the plan's tensor_index-th tensor to `writer`, its bytes made when they are written. Split experts
// keep the row numbers they have in the stacked tensor, so both layouts hold the same weights.
void add_lazy_tensor(const TensorPlan& t, uint64_t seed, uint64_t tensor_index, bool split_experts,
                     const std::shared_ptr<ThreadPool>& pool, GgufWriter* writer) {
  const auto rows = [=](int64_t first_row, int64_t n_rows) {
    return [=]() -> Result<std::vector<uint8_t>> {
      return make_rows(t, seed, tensor_index, first_row, n_rows, *pool);
    };
  };
  if (t.n_expert == 0) {
    std::vector<int64_t> ne =
        t.n_out > 0 ? std::vector<int64_t>{t.n_in, t.n_out} : std::vector<int64_t>{t.n_in};
    writer->add_tensor(t.name, t.dtype, std::move(ne), rows(0, std::max<int64_t>(t.n_out, 1)));
  } else if (!split_experts) {
    writer->add_tensor(t.name, t.dtype, {t.n_in, t.n_out, t.n_expert}, rows(0, t.n_out * t.n_expert));
  } else {
    for (int64_t e = 0; e < t.n_expert; ++e) {
      writer->add_tensor(t.split_prefix + std::to_string(e) + ".weight", t.dtype, {t.n_in, t.n_out},
                         rows(e * t.n_out, t.n_out));
    }
  }
}

// ---- metadata

GgufValue array_value(GgufType elem_type, std::vector<GgufValue> items) {
  GgufValue v;
  v.type = GgufType::kArray;
  v.data = GgufArray{elem_type, std::move(items)};
  return v;
}

GgufValue scalar_value(GgufType type, decltype(GgufValue::data) data) {
  GgufValue v;
  v.type = type;
  v.data = std::move(data);
  return v;
}

// "a".."z", "aa", ...: bijective base 26, so every index gets a distinct word.
std::string filler_word(int64_t index) {
  std::string word;
  for (int64_t i = index + 1; i > 0; i = (i - 1) / 26) word.insert(word.begin(), static_cast<char>('a' + (i - 1) % 26));
  return word;
}

// A SentencePiece-style ("llama") vocabulary: <unk>, <s>, </s>, the 256 byte tokens, then distinct pieces
// (alternately with and without the word-start mark U+2581) with falling scores.
void add_generated_vocabulary(int64_t n_vocab, GgufWriter* writer) {
  constexpr int kUnknown = 2, kControl = 3, kNormal = 1, kByte = 6;  // llama.cpp token types
  std::vector<GgufValue> tokens, scores, types;
  auto add = [&](std::string text, float score, int type) {
    tokens.push_back(scalar_value(GgufType::kString, std::move(text)));
    scores.push_back(scalar_value(GgufType::kFloat32, static_cast<double>(score)));
    types.push_back(scalar_value(GgufType::kInt32, static_cast<int64_t>(type)));
  };
  add("<unk>", 0, kUnknown);
  add("<s>", 0, kControl);
  add("</s>", 0, kControl);
  for (int b = 0; b < 256; ++b) add(str_printf("<0x%02X>", b), 0, kByte);
  for (int64_t i = 0; static_cast<int64_t>(tokens.size()) < n_vocab; ++i) {
    add((i % 2 == 0 ? "\xe2\x96\x81" : "") + filler_word(i / 2), -static_cast<float>(i), kNormal);
  }
  writer->set_string("tokenizer.ggml.model", "llama");
  writer->set_value("tokenizer.ggml.tokens", array_value(GgufType::kString, std::move(tokens)));
  writer->set_value("tokenizer.ggml.scores", array_value(GgufType::kFloat32, std::move(scores)));
  writer->set_value("tokenizer.ggml.token_type", array_value(GgufType::kInt32, std::move(types)));
  writer->set_uint32("tokenizer.ggml.unknown_token_id", 0);
  writer->set_uint32("tokenizer.ggml.bos_token_id", 1);
  writer->set_uint32("tokenizer.ggml.eos_token_id", 2);
  writer->set_bool("tokenizer.ggml.add_bos_token", true);
  writer->set_bool("tokenizer.ggml.add_eos_token", false);
}

// Copies every tokenizer.* key of `path`; returns its vocabulary size.
Result<int64_t> copy_vocabulary(const std::string& path, GgufWriter* writer) {
  JF_ASSIGN_OR_RETURN(GgufFile file, GgufFile::open_path(path));
  JF_ASSIGN_OR_RETURN(const GgufArray* tokens, file.get_array("tokenizer.ggml.tokens"));
  if (tokens->items.empty()) return error(StatusCode::kCorruptFile, "%s: tokenizer.ggml.tokens is empty", path.c_str());
  for (const auto& [key, value] : file.metadata()) {
    if (key.rfind("tokenizer.", 0) == 0) writer->set_value(key, value);
  }
  return static_cast<int64_t>(tokens->items.size());
}

void add_hparams(const Shape& s, FileType type, GgufWriter* writer) {
  const std::string arch = s.arch;
  writer->set_string("general.architecture", arch);
  writer->set_string("general.name", s.model_name);
  writer->set_uint32("general.file_type", llama_ftype(type));
  writer->set_uint32("general.quantization_version", 2);
  writer->set_uint32(arch + ".context_length", static_cast<uint32_t>(s.n_ctx));
  writer->set_uint32(arch + ".embedding_length", static_cast<uint32_t>(s.n_embd));
  writer->set_uint32(arch + ".block_count", static_cast<uint32_t>(s.n_layer));
  writer->set_uint32(arch + ".feed_forward_length", static_cast<uint32_t>(s.n_ff));
  writer->set_uint32(arch + ".attention.head_count", static_cast<uint32_t>(s.n_head));
  writer->set_uint32(arch + ".attention.head_count_kv", static_cast<uint32_t>(s.n_head_kv));
  if (arch == "llama" || arch == "qwen2") {
    writer->set_float32(arch + ".rope.freq_base", s.rope_freq_base);
    writer->set_uint32(arch + ".rope.dimension_count", static_cast<uint32_t>(s.n_embd / s.n_head));
    writer->set_float32(arch + ".attention.layer_norm_rms_epsilon", s.norm_eps);
    if (s.n_expert > 0) {
      writer->set_uint32(arch + ".expert_count", static_cast<uint32_t>(s.n_expert));
      writer->set_uint32(arch + ".expert_used_count", static_cast<uint32_t>(s.n_expert_used));
    }
    return;
  }
  if (arch == "t5") {
    writer->set_float32(arch + ".attention.layer_norm_rms_epsilon", s.norm_eps);
    writer->set_uint32(arch + ".decoder_block_count", static_cast<uint32_t>(s.n_dec_layer));
    writer->set_uint32(arch + ".attention.relative_buckets_count", static_cast<uint32_t>(s.n_rel_buckets));
    writer->set_uint32(arch + ".attention.key_length", static_cast<uint32_t>(s.n_embd / s.n_head));
    writer->set_uint32(arch + ".attention.value_length", static_cast<uint32_t>(s.n_embd / s.n_head));
    writer->set_uint32(arch + ".decoder_start_token_id", 0);  // T5 starts from <pad>
    return;
  }
  writer->set_float32(arch + ".attention.layer_norm_epsilon", s.norm_eps);
  if (arch == "bert") {
    writer->set_bool(arch + ".attention.causal", false);
    writer->set_uint32(arch + ".pooling_type", static_cast<uint32_t>(s.pooling));
  }
}

// The vocabulary keys a shape's architecture needs beyond the copied tokenizer.* ones.
void add_vocabulary_hparams(const Shape& s, GgufWriter* writer) {
  if (s.n_token_types > 0) writer->set_uint32("tokenizer.ggml.token_type_count", static_cast<uint32_t>(s.n_token_types));
}

Status check_shape(const Shape& s) {
  if (s.n_embd <= 0 || s.n_layer <= 0 || s.n_head <= 0 || s.n_head_kv <= 0 || s.n_ff <= 0 || s.n_ctx <= 0 ||
      s.n_embd % s.n_head != 0 || s.n_head % s.n_head_kv != 0 || s.n_embd % kQK != 0 || s.n_ff % kQK != 0) {
    return error(StatusCode::kInvalidArgument,
                 "synth: shape '%s' is not a valid model (n_embd %lld, n_head %lld, n_head_kv %lld, n_ff %lld)",
                 s.preset, static_cast<long long>(s.n_embd), static_cast<long long>(s.n_head),
                 static_cast<long long>(s.n_head_kv), static_cast<long long>(s.n_ff));
  }
  if (s.n_expert == 0 && s.n_expert_used == 0) return Status();
  // llama.cpp's qwen2, gpt2, bert and t5 have no experts (Qwen's MoE is an architecture of its own).
  if (std::string_view(s.arch) != "llama") {
    return error(StatusCode::kInvalidArgument,
                 "synth: shape '%s': experts need arch llama (Mixtral's layout), not '%s'", s.preset, s.arch);
  }
  if (s.n_expert < 1 || s.n_expert_used < 1 || s.n_expert_used > s.n_expert) {
    return error(StatusCode::kInvalidArgument,
                 "synth: shape '%s': n_expert_used %d is not in 1..n_expert (%d)", s.preset, s.n_expert_used,
                 s.n_expert);
  }
  return Status();
}

}  // namespace

const Shape* find_shape(std::string_view preset) {
  for (const Shape& s : kShapes) {
    if (preset == s.preset) return &s;
  }
  return nullptr;
}

std::string preset_names() {
  std::string names;
  for (const Shape& s : kShapes) {
    if (s.hidden) continue;
    if (!names.empty()) names += ", ";
    names += s.preset;
  }
  return names;
}

Result<FileType> parse_file_type(std::string_view name) {
  if (name == "f16") return FileType::kF16;
  if (name == "q8_0") return FileType::kQ8_0;
  if (name == "q4_0") return FileType::kQ4_0;
  if (name == "q4_k" || name == "q4_k_m") return FileType::kQ4_K_M;
  return error(StatusCode::kInvalidArgument, "synth: unknown type '%.*s' (f16, q8_0, q4_0 or q4_k)",
               static_cast<int>(name.size()), name.data());
}

Result<GgufWriter> build_model(const Options& options) {
  JF_RETURN_IF_ERROR(check_shape(options.shape));
  GgufWriter writer;
  add_hparams(options.shape, options.type, &writer);
  int64_t n_vocab = options.shape.n_vocab;
  if (options.vocab_from.empty() && options.shape.vocab_file != nullptr) {
    return error(StatusCode::kInvalidArgument,
                 "synth: preset '%s' (%s) needs its vocabulary: --vocab-from %s (or one of that kind)",
                 options.shape.preset, options.shape.arch, options.shape.vocab_file);
  }
  if (options.vocab_from.empty()) {
    if (n_vocab < 259) return error(StatusCode::kInvalidArgument, "synth: n_vocab %lld < 259", static_cast<long long>(n_vocab));
    add_generated_vocabulary(n_vocab, &writer);
  } else {
    JF_ASSIGN_OR_RETURN(n_vocab, copy_vocabulary(options.vocab_from, &writer));
  }
  add_vocabulary_hparams(options.shape, &writer);
  const int n_threads = options.n_threads > 0 ? options.n_threads
                                              : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const auto pool = std::make_shared<ThreadPool>(n_threads);
  const std::vector<TensorPlan> plan = plan_tensors(options.shape, options.type, n_vocab);
  for (size_t i = 0; i < plan.size(); ++i) {
    add_lazy_tensor(plan[i], options.seed, i, options.split_experts, pool, &writer);
  }
  return writer;
}

}  // namespace jf::synth
