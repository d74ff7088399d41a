// `jitflow convert --channel-major` on a synthetic test-tiny model: the loader gives the seven
// linears of every layer layout channel_major with their logical shapes, every other tensor is
// copied, the converted F16 model's logits (prefill through the dense channel-major kernel, then a
// decode step) match the original's, and types channel-major cannot hold are refused by name.
#include "convert.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "gguf/gguf.h"
#include "gguf/gguf_writer.h"
#include "jitflow/engine.h"
#include "model/weights.h"
#include "synth.h"
#include "synth_model.h"
#include "test_env.h"
#include "test_model.h"

namespace jf {
namespace {

std::string synth_model(synth::FileType type, const std::string& name) { return test::write_test_tiny(type, name); }


TEST(ConvertChannelMajor, F16ModelLoadsChannelMajorWithTheSameLogits) {
  const std::string in = synth_model(synth::FileType::kF16, "tiny-f16.gguf");
  const std::string out = test::temp_path("tiny-f16-cm.gguf");
  Result<convert::Summary> summary = convert::channel_major(in, out, std::nullopt);
  ASSERT_TRUE(summary.ok()) << summary.status().to_string();
  EXPECT_EQ(summary->n_converted, 7 * 2);  // test-tiny: 2 layers

  const test::LoadedModel original = test::load_model(in), converted = test::load_model(out);
  for (const NamedLinear& l : model_linears(converted.weights)) {
    const TensorView& w = *l.weight;
    const bool head = l.layer < 0;
    EXPECT_EQ(w.layout == WeightLayout::channel_major, !head) << w.name;
    const TensorView& was = tensor_of(original.weights, l.role, head ? 0 : l.layer);
    EXPECT_EQ(w.n_rows, was.n_rows) << w.name;
    EXPECT_EQ(w.n_cols, was.n_cols) << w.name;
  }
  EXPECT_EQ(converted.weights.layers[1].down.weight.dtype, DType::F16);
  Result<std::vector<convert::ProductError>> errors = convert::product_errors(in, out, 2);
  ASSERT_TRUE(errors.ok()) << errors.status().to_string();
  ASSERT_EQ(errors->size(), 14u);
  for (const convert::ProductError& e : *errors) EXPECT_EQ(e.rel_rms, 0.0) << e.name;  // F16 -> F16: exact

  // F16 to F16 transposes the values exactly; the kernels differ in how they sum and in the row-major
  // kernel rounding x to F16, about 1e-3 of each product's size.
  const std::vector<float> want = test::logits_of(in), got = test::logits_of(out);
  ASSERT_EQ(got.size(), want.size());
  ASSERT_FALSE(got.empty());
  double err = 0, ref = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    err = std::max(err, std::fabs(static_cast<double>(got[i]) - want[i]));
    ref += static_cast<double>(want[i]) * want[i];
  }
  EXPECT_LE(err, 1e-2 * std::sqrt(ref / static_cast<double>(want.size())));

  const Result<convert::Summary> again = convert::channel_major(out, test::temp_path("twice.gguf"), std::nullopt);
  EXPECT_FALSE(again.ok());
  EXPECT_NE(again.status().message().find("already converted"), std::string::npos) << again.status().message();
}

TEST(ConvertChannelMajor, TypeOptionAndRefusals) {
  const std::string in = synth_model(synth::FileType::kQ4_K_M, "tiny-q4_k.gguf");
  // Q6_K linears (Q4_K_M gives them to attn_v and ffn_down of some layers) cannot be held
  // channel-major: the error names the file and the tensor.
  const Result<convert::Summary> kept = convert::channel_major(in, test::temp_path("no.gguf"), std::nullopt);
  ASSERT_FALSE(kept.ok());
  EXPECT_EQ(kept.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(kept.status().message().find("tiny-q4_k.gguf"), std::string::npos) << kept.status().message();
  EXPECT_NE(kept.status().message().find("blk.0."), std::string::npos) << kept.status().message();

  const std::string out = test::temp_path("tiny-q4_0-cm.gguf");
  Result<convert::Summary> summary = convert::channel_major(in, out, DType::Q4_0);
  ASSERT_TRUE(summary.ok()) << summary.status().to_string();
  const test::LoadedModel converted = test::load_model(out);
  ASSERT_EQ(converted.weights.layers.size(), 2u);
  EXPECT_EQ(converted.weights.layers[0].gate.weight.dtype, DType::Q4_0);
  EXPECT_EQ(converted.weights.layers[0].gate.weight.layout, WeightLayout::channel_major);
  EXPECT_FALSE(test::logits_of(out).empty());
  // Q4_K / Q6_K rows re-quantised as Q4_0 along the outputs: Q4_0's rounding (about 11% RMS on
  // normal weights, tensor/channel_major_test.cpp) on top of the source's.
  Result<std::vector<convert::ProductError>> errors = convert::product_errors(in, out, 2);
  ASSERT_TRUE(errors.ok()) << errors.status().to_string();
  for (const convert::ProductError& e : *errors) {
    EXPECT_GT(e.rel_rms, 0.0) << e.name;
    EXPECT_LT(e.rel_rms, 0.2) << e.name;
  }

  // Q4_K channels: super-blocks of 256 outputs along each channel; test-tiny's attn_k and attn_v
  // have 128 outputs and fall back to Q4_0. Decode and prefill run through the f32 entries.
  const std::string k_out = test::temp_path("tiny-q4_k-cm.gguf");
  Result<convert::Summary> k_summary = convert::channel_major(in, k_out, DType::Q4_K);
  ASSERT_TRUE(k_summary.ok()) << k_summary.status().to_string();
  EXPECT_EQ(k_summary->n_fallback, 2 * 2);
  const test::LoadedModel k_converted = test::load_model(k_out);
  EXPECT_EQ(k_converted.weights.layers[1].k.weight.dtype, DType::Q4_0);
  EXPECT_EQ(k_converted.weights.layers[1].down.weight.dtype, DType::Q4_K);
  EXPECT_EQ(k_converted.weights.layers[1].down.weight.layout, WeightLayout::channel_major);
  EXPECT_FALSE(test::logits_of(k_out).empty());
  Result<std::vector<convert::ProductError>> k_errors = convert::product_errors(in, k_out, 2);
  ASSERT_TRUE(k_errors.ok()) << k_errors.status().to_string();
  for (const convert::ProductError& e : *k_errors) EXPECT_LT(e.rel_rms, 0.2) << e.name;
}

// A channel-major file of another format (an earlier jitflow interleaved the block scales with the
// codes) is refused on load, naming the file, its format and what to do.
TEST(ConvertChannelMajor, AnotherFormatIsRefusedOnLoad) {
  const std::string in = synth_model(synth::FileType::kQ8_0, "tiny-q8.gguf");
  const std::string out = test::temp_path("tiny-q8-cm.gguf");
  ASSERT_TRUE(convert::channel_major(in, out, std::nullopt).ok());
  Result<GgufFile> file = GgufFile::open_path(out);
  ASSERT_TRUE(file.ok()) << file.status().to_string();
  GgufWriter old;
  for (const auto& [key, value] : file->metadata()) {
    if (key != kChannelMajorFormatKey) old.set_value(key, value);
  }
  for (const TensorInfo& info : file->tensors()) ASSERT_TRUE(old.copy_tensor(*file, info).ok());
  const std::string old_path = test::temp_path("tiny-q8-cm-format1.gguf");
  ASSERT_TRUE(old.write_file(old_path).ok());
  const auto engine = Engine::load(old_path, {});
  ASSERT_FALSE(engine.ok());
  EXPECT_EQ(engine.status().code(), StatusCode::kUnsupported);
  const std::string& message = engine.status().message();
  EXPECT_NE(message.find("tiny-q8-cm-format1.gguf"), std::string::npos) << message;
  EXPECT_NE(message.find("format 1"), std::string::npos) << message;
  EXPECT_NE(message.find("convert"), std::string::npos) << message;
}

}  // namespace
}  // namespace jf
