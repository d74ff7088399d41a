// The jitflow public API.
//
//   auto engine = jf::Engine::load("model.gguf", {});           // reads and checks the model
//   auto session = (*engine)->new_session();                     // one sequence + its KV cache
//   auto stats = session->generate("Once upon a time", opts, [](std::string_view piece) {
//     fwrite(piece.data(), 1, piece.size(), stdout); return true; });
//
// An Engine holds the weights and the thread pool and may serve several sessions, one at a time.
// Errors come back as Status (jitflow/status.h); nothing throws.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "jitflow/model_shape.h"
#include "jitflow/options.h"
#include "jitflow/status.h"

namespace jf {

// The model an Engine loaded: its shape (model_shape.h), where it came from and what it holds.
struct ModelInfo : ModelShape {
  std::string path;
  int32_t decoder_start_token = -1;  // encoder_decoder: the decoder's first token (-1: none known)
  uint64_t weight_bytes = 0;  // bytes of tensor data held in DRAM
};

// What streaming from flash did since the model was loaded (EngineOptions::memory_budget). Each
// weight channel a linear asked for came from the hot-weight cache, from its group's buffer (read
// for an earlier layer of the group, or preloaded while the group before it computed), or was read
// when asked for: channels_asked = cache_hits + buffer_hits + on_demand.
struct FlashCounters {
  uint64_t bytes_read = 0;      // from the model file, preloads included
  uint64_t reads = 0;           // read requests (adjacent channels merged)
  uint64_t channels_asked = 0;  // per layer and linear
  uint64_t cache_hits = 0;
  uint64_t buffer_hits = 0;
  uint64_t on_demand = 0;
  uint64_t preloaded = 0;       // group runs (a channel for every layer of a group) read ahead
  uint64_t preload_used = 0;    // of them, asked for by a layer of their group
  // A mixture of experts, per expert matrix: its group begun (routed to by a layer of it), read ahead
  // (predicted by the next layer's router), and of those, routed to.
  uint64_t expert_groups = 0;
  uint64_t expert_preloads = 0;
  uint64_t expert_preloads_used = 0;
  double read_ms = 0;           // waiting for on-demand reads
  double preload_wait_ms = 0;   // waiting for the loader as a group begins
  double loader_ms = 0;         // the loader reading, while the layers compute
};

// FlashCounters and the memory they were counted in.
struct StreamingStats : FlashCounters {
  bool streaming = false;     // false: every weight is resident, the rest is 0
  bool direct_io = false;     // reads bypass the page cache (O_DIRECT)
  bool preloading = false;    // a loader thread reads the next group ahead
  uint64_t memory_bytes = 0;  // DRAM held for the model: resident tensors, load buffers, KV cache
  uint64_t buffer_bytes = 0;  // of it, the load buffers
  uint64_t cache_bytes = 0;   // and the hot-weight cache (the budget's rest)
};

struct GenerationStats {
  int n_prompt_tokens = 0;
  int n_generated = 0;     // tokens sampled
  int n_decode_evals = 0;  // single-token forward passes (the first token comes from the prompt's logits)
  double prefill_ms = 0;   // evaluating the prompt
  double decode_ms = 0;    // the decode forward passes plus sampling
  bool context_full = false;  // generation stopped because the KV cache had no room left
  double prefill_tokens_per_s() const { return prefill_ms > 0 ? n_prompt_tokens * 1000.0 / prefill_ms : 0; }
  double decode_tokens_per_s() const { return decode_ms > 0 ? n_decode_evals * 1000.0 / decode_ms : 0; }
};

class Session;

// Check options before use: a bad value gets kInvalidArgument naming the option and its valid
// range. Engine::load and Session::generate check theirs; callers may check earlier.
Status check_options(const EngineOptions& options);
Status check_options(const GenerateOptions& options);
Status check_options(const SparsityOptions& options);

class Engine {
 public:
  // Reads and checks the model. A context whose KV cache and weights exceed the machine's memory is
  // refused (kOutOfRange, stating the bytes it would need); more threads than CPUs is a warning.
  static Result<std::unique_ptr<Engine>> load(const std::string& model_path, const EngineOptions& options);
  ~Engine();

  const ModelInfo& info() const;
  double load_ms() const;
  int n_threads() const;
  StreamingStats streaming_stats() const;

  // Text -> token ids (add_special: BOS/EOS as the vocabulary asks, like llama_tokenize).
  std::vector<int32_t> tokenize(std::string_view text, bool add_special) const;
  // The bytes token `id` contributes to output text ("" for control tokens and invalid ids).
  std::string token_to_piece(int32_t id) const;
  bool is_eog(int32_t id) const;

  // Embeddings of `texts` with an encoder model (BERT), tokenized with [CLS] ... [SEP] and run as
  // one batch, each text attending only to itself: one vector of n_embd per text, or with
  // Pooling::none one per token (texts in order). Errors: a decoder model (kUnsupported), an empty
  // text list (kInvalidArgument), a text longer than the model's positions (kOutOfRange).
  Result<std::vector<std::vector<float>>> embed(std::span<const std::string> texts,
                                                const EmbedOptions& options) const;

  std::unique_ptr<Session> new_session();
  // A session whose linears compute only the active input channels (options.level 0: dense, as
  // new_session()). Errors: an option out of range (kInvalidArgument); a thresholds file that cannot
  // be read (kNotFound), is not one (kCorruptFile), was calibrated for another model or lacks the
  // level (kInvalidArgument), each naming the file.
  Result<std::unique_ptr<Session>> new_session(const SparsityOptions& options);

  struct Impl;  // src/runtime/engine_impl.h

 private:
  friend const Impl& engine_impl(const Engine& engine);
  explicit Engine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

class Session {
 public:
  ~Session();

  // Appends tokens to the sequence and returns the logits of the last one ([n_vocab]), or of every
  // token when all_logits ([tokens.size() * n_vocab]). Valid until the next call.
  Result<std::span<const float>> eval(std::span<const int32_t> tokens, bool all_logits = false);

  // Tokenizes `prompt`, evaluates it, then samples up to options.n_predict tokens, calling
  // on_piece with each token's text as soon as it exists (return false to stop). Generation also
  // stops, with stats.context_full set, when the context fills up; a prompt longer than the
  // context is an error (kOutOfRange) returned before on_piece is called.
  Result<GenerationStats> generate(std::string_view prompt, const GenerateOptions& options,
                                   const std::function<bool(std::string_view piece)>& on_piece);

  // Encoder-decoder models (T5): runs the encoder over `tokens` (the input's ids, as tokenize()
  // with add_special gives them) and starts a new decoder sequence attending to its output; eval()
  // then feeds decoder tokens, the first being ModelInfo::decoder_start_token. generate() does all
  // this itself. Errors: a model without an encoder (kUnsupported), no tokens or an id outside the
  // vocabulary (kInvalidArgument).
  Status encode(std::span<const int32_t> tokens);

  int n_past() const;
  int n_ctx() const;
  void reset();
  // The fraction of the linears' input channels dropped so far (0 for a dense session): the
  // threshold mode's realised sparsity, which varies with the text.
  double realised_sparsity() const;
  // Weight bytes the linears (output head included) have read since the session began: what
  // sparsity saves (`jitflow bench` reports it per decode token).
  uint64_t linear_bytes_read() const;
  // Changes the DRAM budget of a streamed model (EngineOptions::memory_budget) while it runs: the
  // hot-weight cache takes what the budget leaves beyond what streaming needs, and starts empty.
  // The engine's sessions share it. Errors: a model held in memory (kInvalidArgument), a budget
  // below the need (kOutOfRange, stating it).
  Status set_memory_budget(uint64_t bytes);

  struct Impl;

 private:
  friend class Engine;
  friend class Transformer& session_transformer(Session& session);  // runtime/engine_impl.h
  explicit Session(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace jf
