#include "model/weight_provider.h"

#include "base/check.h"

namespace jf {

const LayerWeights& ResidentWeightProvider::acquire(int layer) {
  JF_CHECK(layer >= 0 && layer < n_layer());
  return weights_.layers[layer];
}

}  // namespace jf
