// Where the forward pass gets its weights: per layer, through acquire/release, so that a provider
// may hold only some layers in DRAM (ActiveFlow: streamed from flash per layer group, the next
// group preloaded while the current one computes). The model-wide tensors (embeddings, final norm,
// output head) stay resident.
//
// Protocol of one forward pass, per layer l in order: prefetch(l + 1) (a hint), acquire(l), compute,
// release(l). The views acquire returns stay valid until release(l). One caller at a time.
#pragma once

#include <span>

#include "model/weights.h"

namespace jf {

class WeightProvider {
 public:
  virtual ~WeightProvider() = default;

  virtual const ModelWeights& model() const = 0;  // model-wide tensors; `layers` may be empty
  virtual int n_layer() const = 0;
  virtual const LayerWeights& acquire(int layer) = 0;
  virtual void release(int layer) = 0;
  virtual void prefetch(int layer) = 0;
  // A sequence begins (the forward pass at position 0): what a provider learned of the last one's
  // use of the weights may start again.
  virtual void start_sequence() {}
  // A mixture of experts: whether the provider takes hints of the experts a layer will route to
  // (predict_experts). Such a provider keeps every layer's FFN norm and router in model().layers.
  virtual bool wants_expert_predictions() const { return false; }
  // A hint, given before `layer` is acquired: its tokens will likely be routed to `experts`.
  virtual void predict_experts(int /*layer*/, std::span<const int> /*experts*/) {}
};

// Every layer in DRAM, in the arena load_weights filled: acquire is a lookup, release and prefetch
// do nothing. `weights` must outlive the provider.
class ResidentWeightProvider final : public WeightProvider {
 public:
  explicit ResidentWeightProvider(const ModelWeights& weights) : weights_(weights) {}

  const ModelWeights& model() const override { return weights_; }
  int n_layer() const override { return static_cast<int>(weights_.layers.size()); }
  const LayerWeights& acquire(int layer) override;
  void release(int /*layer*/) override {}
  void prefetch(int /*layer*/) override {}

 private:
  const ModelWeights& weights_;
};

}  // namespace jf
