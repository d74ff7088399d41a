// Helpers of the tools' tests: synthetic models (synth.h) written to the test's private folder, and
// the logits a model gives.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "jitflow/engine.h"
#include "synth.h"
#include "test_env.h"

namespace jf::test {

// test-tiny (or `options`' shape) with `options`, written to temp_path(name); a failure is a test
// failure, and the path comes back either way.
inline std::string write_synth_model(const synth::Options& options, const std::string& name) {
  Result<GgufWriter> model = synth::build_model(options);
  EXPECT_TRUE(model.ok()) << model.status().to_string();
  const std::string path = temp_path(name);
  if (model.ok()) {
    EXPECT_TRUE(model->write_file(path).ok()) << path;
  }
  return path;
}

// test-tiny in `type` with `n_layer` layers, two threads generating it.
inline std::string write_test_tiny(synth::FileType type, const std::string& name, int n_layer = 2) {
  synth::Options options;
  options.shape = *synth::find_shape("test-tiny");
  options.shape.n_layer = n_layer;
  options.type = type;
  options.n_threads = 2;
  return write_synth_model(options, name);
}

// The logits of a prompt (prefill) and of two decode steps after it, concatenated, at sparsity
// `level` (0: dense); a failure is a test failure and gives what was computed so far.
inline std::vector<float> logits_of(const std::string& path, float level = 0) {
  EngineOptions options;
  options.n_threads = 2;
  options.n_ctx = 64;
  auto engine = Engine::load(path, options);
  EXPECT_TRUE(engine.ok()) << engine.status().to_string();
  if (!engine.ok()) return {};
  SparsityOptions sparsity;
  sparsity.level = level;
  auto session = (*engine)->new_session(sparsity);
  EXPECT_TRUE(session.ok()) << session.status().to_string();
  if (!session.ok()) return {};
  std::vector<float> out;
  for (const std::vector<int32_t>& tokens : {std::vector<int32_t>{1, 17, 42, 99, 7, 250}, {31}, {250}}) {
    auto logits = (*session)->eval(tokens);
    EXPECT_TRUE(logits.ok()) << logits.status().to_string();
    if (!logits.ok()) break;
    out.insert(out.end(), logits->begin(), logits->end());
  }
  return out;
}

}  // namespace jf::test
