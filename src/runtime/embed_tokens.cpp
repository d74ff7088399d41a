// embed_tokens: the encoder's embeddings of sequences already tokenized (Engine::embed, in
// engine.cpp, tokenizes texts first and runs the same forward pass).
#include "runtime/embed_tokens.h"

#include "model/encoder.h"
#include "model/hparams.h"
#include "runtime/engine_impl.h"

namespace jf {
namespace {

// EmbedOptions' pooling as the encoder names it; Pooling::model is the file's <arch>.pooling_type
// (mean when it names none), as Engine::embed reads it.
PoolingKind embed_pooling(Pooling pooling, int model_pooling) {
  switch (pooling) {
    case Pooling::model:
      return model_pooling >= 1 && model_pooling <= 3 ? static_cast<PoolingKind>(model_pooling)
                                                      : PoolingKind::kMean;
    case Pooling::none:
      return PoolingKind::kNone;
    case Pooling::mean:
      return PoolingKind::kMean;
    case Pooling::cls:
      return PoolingKind::kCls;
    case Pooling::last:
      return PoolingKind::kLast;
  }
  return PoolingKind::kMean;
}

}  // namespace

Result<std::vector<std::vector<float>>> embed_tokens(const Engine& engine,
                                                     std::span<const std::vector<int32_t>> sequences,
                                                     const EmbedOptions& options) {
  const Engine::Impl& impl = engine_impl(engine);
  const ModelConfig& c = impl.config;
  if (c.arch_info->forward != ForwardKind::kEncoder) {
    return error(StatusCode::kUnsupported,
                 "'%s' is not an encoder model: embeddings come from encoders (bert)", c.arch.c_str());
  }
  if (sequences.empty()) return error(StatusCode::kInvalidArgument, "embed: no token sequence given");
  std::vector<int32_t> tokens;
  std::vector<int> lengths;
  for (const std::vector<int32_t>& ids : sequences) {
    tokens.insert(tokens.end(), ids.begin(), ids.end());
    lengths.push_back(static_cast<int>(ids.size()));
  }
  // The encoder checks the ids, the lengths and the positions.
  Encoder encoder(c, encoder_stack(impl.weights, c), *impl.pool, *impl.kernels);
  JF_ASSIGN_OR_RETURN(std::span<const float> states, encoder.forward(tokens, lengths));
  return pool_states(states, lengths, c.n_embd, embed_pooling(options.pooling, c.pooling_type),
                     options.normalize);
}

}  // namespace jf
