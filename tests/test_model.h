// Loading a test model's config and weights without an Engine (tests of the model and the tuner
// that work below the runtime).
#pragma once

#include <string>
#include <utility>

#include <gtest/gtest.h>

#include "gguf/gguf.h"
#include "model/hparams.h"
#include "model/weights.h"

namespace jf::test {

struct LoadedModel {
  ModelConfig config;
  ModelWeights weights;
};

// The model at `path`; a failure is a test failure, and the result is then empty.
inline LoadedModel load_model(const std::string& path) {
  LoadedModel m;
  Result<GgufFile> file = GgufFile::open_path(path);
  EXPECT_TRUE(file.ok()) << file.status().to_string();
  if (!file.ok()) return m;
  Result<ModelConfig> config = read_model_config(*file);
  EXPECT_TRUE(config.ok()) << config.status().to_string();
  if (!config.ok()) return m;
  m.config = *config;
  Result<ModelWeights> weights = load_weights(*file, m.config);
  EXPECT_TRUE(weights.ok()) << weights.status().to_string();
  if (weights.ok()) m.weights = std::move(weights).value();
  return m;
}

}  // namespace jf::test
