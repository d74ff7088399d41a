// Options of the public API (engine.h). Plain structs with documented defaults.
#pragma once

#include <cstdint>
#include <string>

namespace jf {

struct EngineOptions {
  int n_threads = 0;  // worker threads for the kernels, 0..1024; 0: one per core
  int n_ctx = 0;      // positions each session's KV cache holds, >= 0; 0: min(the model's context, 2048)
  bool use_kdb = true;   // run the kernels `jitflow tune` stored for this device; false: the defaults
  std::string kdb_path;  // kernel database; "": $JITFLOW_KDB, else ~/.cache/jitflow/kdb.jsonl
  // DRAM for the model (weights, load buffers, KV cache) in bytes; 0: no budget, every weight
  // resident. Under a budget the model must be in the flash layout (`jitflow convert --flash`): its
  // linears stay in the file and are streamed from it. A budget below what streaming needs is refused,
  // stating the minimum.
  uint64_t memory_budget = 0;
  // Streamed: a loader thread reads the next layer group's predicted channels while this one
  // computes. false: every read waits (the paper's serial baseline, for measurements).
  bool flash_preload = true;
};

// How the next token is chosen. temperature 0 is greedy (argmax, lowest id on ties); otherwise
// repetition penalty -> top-k -> top-p -> min-p -> temperature -> a seeded draw. The valid range of
// each field is stated beside it (check_options in engine.h enforces it).
struct SamplingOptions {
  float temperature = 0.8f;     // >= 0; 0: greedy (argmax, lowest id on ties)
  int top_k = 40;               // >= 0; 0: off
  float top_p = 0.95f;          // [0, 1]; 1: off; 0 keeps only the top token
  float min_p = 0.05f;          // [0, 1]; 0: off
  float repeat_penalty = 1.0f;  // > 0; 1: off. Also applies to greedy, as in llama.cpp
  int repeat_last_n = 64;       // >= -1: window of accepted tokens penalised; 0: off; -1: all since reset()
  uint64_t seed = 0;
};

// Contextual activation sparsity (ActiveFlow): each linear of a decoder layer computes only the input
// channels whose activations matter for the token; the others are taken as zero.
enum class SparsityMode : uint8_t {
  topk,       // per token, exactly ceil((1 - level) * n) channels of largest |x|
  threshold,  // |x| at least the layer and site's threshold for `level`, calibrated on text
};

struct SparsityOptions {
  float level = 0;  // [0, 1): fraction of the channels dropped; 0: dense
  SparsityMode mode = SparsityMode::topk;
  // threshold mode: the file `jitflow calibrate` wrote for this model; "": the thresholds the model
  // carries (jitflow convert --flash --thresholds)
  std::string thresholds_path;
};

const char* sparsity_mode_name(SparsityMode mode);  // "topk", "threshold"

struct GenerateOptions {
  int n_predict = 128;        // tokens to generate, >= 0
  bool stop_at_eog = true;    // stop early at an end-of-generation token (EOS, EOT)
  SamplingOptions sampling;
};

// Embeddings of an encoder model (BERT): how each text's token states become its vector.
enum class Pooling : uint8_t {
  model,  // the model's own <arch>.pooling_type (mean when the file names none)
  none,   // every token's final hidden state
  mean,   // the average over the text's tokens
  cls,    // the first token's ([CLS])
  last,   // the last token's
};

struct EmbedOptions {
  Pooling pooling = Pooling::model;
  bool normalize = false;  // scale each vector to unit L2 norm
};

}  // namespace jf
