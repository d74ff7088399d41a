// Perplexity of a model on text, dense and under activation sparsity, and how far each sparse
// configuration's next-token distributions are from the dense model's on the same positions:
// mean KL(dense || sparse) in nats and top-1 agreement (the two argmaxes equal).
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

#include "eval/corpus.h"
#include "jitflow/engine.h"

namespace jf::eval {

struct PerplexityOptions {
  int ctx = 1024;       // positions of a window
  int max_windows = 0;  // 0: every window of the text
  TextProtocol protocol = TextProtocol::corpus;
  // The configurations scored beside the dense model (which is always scored, first).
  std::vector<SparsityOptions> sparse;
};

struct PerplexityResult {
  SparsityOptions sparsity;      // level 0: the dense model
  double perplexity = 0;         // exp(mean negative log-likelihood)
  double kl = 0;                 // mean KL(dense || this) per scored position, nats
  double top1 = 0;               // fraction of positions whose argmax equals the dense model's
  double realised_sparsity = 0;  // fraction of the linears' input channels dropped
  int64_t n_scored = 0;          // positions scored
  int n_windows = 0;
};

// Called after each window with the window's index and the running results.
using PerplexityProgress =
    std::function<void(int window, int n_windows, const std::vector<PerplexityResult>&)>;

// Errors: a text too short for one window (kInvalidArgument, saying how many tokens it has), a
// sparse configuration the engine refuses (as Engine::new_session).
Result<std::vector<PerplexityResult>> evaluate_perplexity(Engine& engine, std::string_view text,
                                                          const PerplexityOptions& options,
                                                          const PerplexityProgress& progress = {});

}  // namespace jf::eval
