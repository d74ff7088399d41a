// The observations ActiveFlow builds on (papers/activeflow.md §2, O3 and O4), measured on a model
// and a text with the dense model's activations:
//   - cross-layer similarity: cosine similarity of a site's input at layer l-1 and layer l (same
//     token); the paper reports > 0.95 from layer 3 on for Q/K/V and gate/up inputs;
//   - cross-layer prediction: the precision of layer l-1's top-k channels as a guess of layer l's
//     (what cross-layer preloading relies on; the paper: > 80 %);
//   - hot channels: how concentrated the selections are, within one context (window) and over the
//     whole text: the share of channels selected for >= 70 % (context) / >= 50 % (text) of the
//     tokens, and the share of all selections a hot set of k channels catches (k = the per-token
//     count; uniform selection would give 1 - s).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "eval/corpus.h"
#include "jitflow/engine.h"
#include "model/sparsity.h"

namespace jf::eval {

// One layer and site's figures (layer 0 has no similarity or precision: NaN).
struct SiteAnalysis {
  int layer = 0;
  SparseSite site = SparseSite::attn_in;
  double cosine_prev = 0;     // mean over tokens of cos(x_{l-1}, x_l)
  double precision_prev = 0;  // mean over tokens of |topk(x_{l-1}) ∩ topk(x_l)| / k
  double hot_context = 0;  // mean over windows of the share of channels selected for >= 70 % of its tokens
  double hot_text = 0;     // share of channels selected for >= 50 % of all tokens
  double hit_context = 0;  // mean over windows: share of selections inside the window's k most selected
  double hit_text = 0;     // share of all selections inside the text's k most selected channels
};

struct AnalyzeOptions {
  int ctx = 1024;
  int max_windows = 16;
  float sparsity = 0.5f;  // of the top-k sets
};

struct Analysis {
  std::vector<SiteAnalysis> sites;  // [layer * kSparseSites + site]
  int n_windows = 0;
  int64_t n_tokens = 0;
};

Result<Analysis> analyze_activations(Engine& engine, std::string_view text, const AnalyzeOptions& options);

}  // namespace jf::eval
