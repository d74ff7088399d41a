// Contextual activation sparsity (ActiveFlow §3, TEAL): before the linears of a decoder layer read
// their input, only the channels of largest magnitude stay and the others are set to zero, so that a
// linear whose weights are channel-major reads only the weight channels of the active ones.
//
// The forward pass hands the input of every linear site to an ActivationSites object, which may
// return a sparsified copy: the Sparsifier (top-k or calibrated thresholds) does; the threshold
// calibrator and the analysis tools only look (src/eval).
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "jitflow/options.h"
#include "kernels/select/select.h"
#include "model/linear.h"

namespace jf {

// The four inputs of a llama-style layer's seven linears.
enum class SparseSite : uint8_t {
  attn_in,   // the attention norm's output: q, k, v
  attn_out,  // attention's output: o
  ffn_in,    // the FFN norm's output: gate, up
  ffn_down,  // the activation's output (SwiGLU product): down
};
inline constexpr int kSparseSites = 4;
const char* sparse_site_name(SparseSite site);  // "attn_in", ...

// The input of a site's linears as they read it: n_tokens rows, and for a single token the set of
// its channels that may be nonzero (so that a channel-major linear reads only those).
struct LinearInput {
  const float* x = nullptr;
  const ActiveChannels* active = nullptr;
};

// Sees, and may replace, the input of the linears at every site of every layer. Called by one
// forward pass at a time, layer by layer, in site order.
class ActivationSites {
 public:
  virtual ~ActivationSites() = default;
  // x: n_tokens rows of `width` floats. The returned input stays valid until the next call.
  virtual LinearInput at_site(int layer, SparseSite site, const float* x, int64_t n_tokens,
                              int64_t width) = 0;
};

// |x| below it is dropped, per site of one layer.
using SiteThresholds = std::array<float, kSparseSites>;

// Channels top-k keeps of n at sparsity s: ceil((1 - s) * n), at least 1.
int64_t topk_count(float sparsity, int64_t n);

// Sparsifies every site's input per token: top-k with one level everywhere, or thresholds per
// layer and site. Each token's row keeps its own active channels; a single token's set is also
// returned as its ActiveChannels.
class Sparsifier final : public ActivationSites {
 public:
  static Sparsifier topk(float sparsity);
  // thresholds[layer][site]; the forward pass's layers must all have a row.
  static Sparsifier threshold(std::vector<SiteThresholds> thresholds);

  LinearInput at_site(int layer, SparseSite site, const float* x, int64_t n_tokens, int64_t width) override;

  // Channels kept and seen since construction, over all sites (the realised density).
  int64_t n_kept() const { return n_kept_; }
  int64_t n_seen() const { return n_seen_; }

 private:
  Sparsifier(SparsityMode mode, float sparsity, std::vector<SiteThresholds> thresholds)
      : mode_(mode), sparsity_(sparsity), thresholds_(std::move(thresholds)) {}
  int64_t select(int layer, SparseSite site, const float* x, int64_t width, int32_t* out);

  SparsityMode mode_;
  float sparsity_;
  std::vector<SiteThresholds> thresholds_;
  TopkScratch topk_scratch_;
  std::vector<float> masked_;
  std::vector<int32_t> channels_;
  ActiveChannels active_;
  int64_t n_kept_ = 0, n_seen_ = 0;
};

}  // namespace jf
