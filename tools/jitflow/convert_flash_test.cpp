// `jitflow convert --flash --group N` on a synthetic five-layer model: a flash file loads into the
// same channel-major weights as `--channel-major` gives (every byte), so its logits, dense and
// sparse, are the channel-major file's exactly; a damaged flash file (wrong group size, a missing
// group tensor, a cut-off end) is refused naming the file and what is wrong.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "convert.h"
#include "gguf/gguf.h"
#include "gguf/gguf_writer.h"
#include "jitflow/engine.h"
#include "model/flash_layout.h"
#include "model/thresholds.h"
#include "model/weights.h"
#include "synth.h"
#include "synth_model.h"
#include "test_env.h"
#include "test_model.h"

namespace jf {
namespace {

// test-tiny with five layers: groups of 2 and 3 leave a shorter last group.
std::string synth_five_layers(const std::string& name) {
  return test::write_test_tiny(synth::FileType::kQ8_0, name, 5);
}

// The file at `path` rewritten: metadata through `edit_key` (return false to drop a key), tensors
// through `keep_tensor`.
std::string rewrite(const std::string& path, const std::string& name,
                    const std::function<bool(const std::string&, GgufValue&)>& edit_key,
                    const std::function<bool(const TensorInfo&)>& keep_tensor) {
  Result<GgufFile> file = GgufFile::open_path(path);
  EXPECT_TRUE(file.ok()) << file.status().to_string();
  GgufWriter writer;
  for (const auto& [key, value] : file->metadata()) {
    GgufValue v = value;
    if (edit_key(key, v)) writer.set_value(key, v);
  }
  for (const TensorInfo& info : file->tensors()) {
    if (keep_tensor(info)) {
      EXPECT_TRUE(writer.copy_tensor(*file, info).ok());
    }
  }
  const std::string out = test::temp_path(name);
  EXPECT_TRUE(writer.write_file(out).ok());
  return out;
}

TEST(ConvertFlash, GroupsLoadAsTheChannelMajorWeightsWithTheSameLogits) {
  const std::string rows = synth_five_layers("five.gguf");
  const std::string cm = test::temp_path("five-cm.gguf");
  ASSERT_TRUE(convert::channel_major(rows, cm, std::nullopt).ok());
  // From the row-major model (a fresh quantisation, the same as --channel-major's) and from the
  // channel-major one (its channels as they are).
  const std::string by2 = test::temp_path("five-flash2.gguf"), by3 = test::temp_path("five-flash3.gguf");
  const Result<convert::Summary> s2 = convert::flash(rows, by2, 2, std::nullopt);
  ASSERT_TRUE(s2.ok()) << s2.status().to_string();
  EXPECT_EQ(s2->n_converted, 7 * 5);
  ASSERT_TRUE(convert::flash(cm, by3, 3, std::nullopt).ok());

  Result<GgufFile> file = GgufFile::open_path(by3);
  ASSERT_TRUE(file.ok());
  const TensorInfo* last_down = file->find_tensor(std::string("blk.3.ffn_down.weight") + kFlashSuffix);
  ASSERT_NE(last_down, nullptr);  // groups [0, 3) and [3, 5)
  EXPECT_EQ(last_down->n_rows(), 512 * 2);
  EXPECT_EQ(file->find_tensor("blk.4.ffn_down.weight"), nullptr);

  const test::LoadedModel want = test::load_model(cm);
  for (const std::string& path : {by2, by3}) {
    const test::LoadedModel got = test::load_model(path);
    const std::vector<NamedLinear> a = model_linears(want.weights), b = model_linears(got.weights);
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) {
      const TensorView &w = *a[i].weight, &g = *b[i].weight;
      ASSERT_EQ(g.layout, w.layout) << path << " " << w.name;
      ASSERT_EQ(g.dtype, w.dtype) << path << " " << w.name;
      ASSERT_EQ(g.n_cols, w.n_cols);
      ASSERT_EQ(g.n_rows, w.n_rows);
      const size_t bytes = w.layout == WeightLayout::channel_major
                               ? channel_bytes(w.dtype, w.n_rows) * w.n_cols
                               : w.row_stride_bytes() * w.n_rows;
      EXPECT_EQ(std::memcmp(g.data, w.data, bytes), 0) << path << " " << w.name;
    }
  }
  for (double level : {0.0, 0.5}) {
    const std::vector<float> expected = test::logits_of(cm, level);
    ASSERT_FALSE(expected.empty());
    EXPECT_EQ(test::logits_of(by2, level), expected) << "sparsity " << level;
    EXPECT_EQ(test::logits_of(by3, level), expected) << "sparsity " << level;
  }
}

TEST(ConvertFlash, RefusesBadGroupsAndConvertedInputs) {
  const std::string rows = synth_five_layers("five-refusals.gguf");
  for (int group : {0, 6}) {
    const Result<convert::Summary> s =
        convert::flash(rows, test::temp_path("never.gguf"), group, std::nullopt);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(s.status().message().find("1 to 5 layers"), std::string::npos) << s.status().message();
  }
  const std::string flash = test::temp_path("five-refusals-flash.gguf");
  ASSERT_TRUE(convert::flash(rows, flash, 2, std::nullopt).ok());
  EXPECT_FALSE(convert::flash(flash, test::temp_path("twice.gguf"), 2, std::nullopt).ok());
  EXPECT_FALSE(convert::channel_major(flash, test::temp_path("twice-cm.gguf"), std::nullopt).ok());
  const std::string cm = test::temp_path("five-refusals-cm.gguf");
  ASSERT_TRUE(convert::channel_major(rows, cm, std::nullopt).ok());
  const Result<convert::Summary> retyped =
      convert::flash(cm, test::temp_path("retyped.gguf"), 2, DType::Q4_0);
  ASSERT_FALSE(retyped.ok());
  EXPECT_NE(retyped.status().message().find("needs the original model"), std::string::npos)
      << retyped.status().message();
}

void expect_refused(const std::string& path, StatusCode code, const std::string& says) {
  const auto engine = Engine::load(path, {});
  ASSERT_FALSE(engine.ok()) << path;
  EXPECT_EQ(engine.status().code(), code) << engine.status().to_string();
  EXPECT_NE(engine.status().message().find(path), std::string::npos) << engine.status().message();
  EXPECT_NE(engine.status().message().find(says), std::string::npos) << engine.status().message();
}

TEST(ConvertFlash, DamagedFilesAreRefusedOnLoad) {
  const std::string rows = synth_five_layers("five-damaged.gguf");
  const std::string flash = test::temp_path("five-damaged-flash.gguf");
  ASSERT_TRUE(convert::flash(rows, flash, 2, std::nullopt).ok());
  const auto keep_all = [](const TensorInfo&) { return true; };
  const auto keep_keys = [](const std::string&, GgufValue&) { return true; };
  const auto group_of = [](uint64_t n) {
    return [n](const std::string& key, GgufValue& v) {
      if (key == kFlashGroupKey) v.data = n;
      return true;
    };
  };

  // A group size that does not match the tensors: their shape says so.
  expect_refused(rewrite(flash, "group3.gguf", group_of(3), keep_all), StatusCode::kCorruptFile,
                 "group size");
  expect_refused(rewrite(flash, "group0.gguf", group_of(0), keep_all), StatusCode::kCorruptFile,
                 kFlashGroupKey);
  expect_refused(rewrite(
                     flash, "nogroup.gguf",
                     [](const std::string& key, GgufValue&) { return key != kFlashGroupKey; }, keep_all),
                 StatusCode::kNotFound, kFlashGroupKey);
  const std::string missing = std::string("blk.2.attn_v.weight") + kFlashSuffix;
  expect_refused(
      rewrite(flash, "missing.gguf", keep_keys, [&](const TensorInfo& t) { return t.name != missing; }),
      StatusCode::kNotFound, missing);

  // Cut off inside the last group's tensors.
  std::vector<char> bytes;
  {
    FILE* f = std::fopen(flash.c_str(), "rb");
    ASSERT_NE(f, nullptr);
    std::fseek(f, 0, SEEK_END);
    bytes.resize(static_cast<size_t>(std::ftell(f)));
    std::fseek(f, 0, SEEK_SET);
    ASSERT_EQ(std::fread(bytes.data(), 1, bytes.size(), f), bytes.size());
    std::fclose(f);
  }
  const std::string cut = test::temp_path("cut.gguf");
  FILE* f = std::fopen(cut.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  std::fwrite(bytes.data(), 1, bytes.size() - 1000, f);
  std::fclose(f);
  expect_refused(cut, StatusCode::kCorruptFile, "");
}

}  // namespace
}  // namespace jf

namespace jf {
namespace {

// Thresholds for `model` (its fingerprint and layers): one level, every site at `value`.
std::string thresholds_for(const std::string& model, float level, float value, const std::string& name) {
  Result<GgufFile> file = GgufFile::open_path(model);
  EXPECT_TRUE(file.ok());
  SparsityThresholds t;
  t.model_file = model;
  t.model_fingerprint = *file->content_fingerprint();
  t.n_layer = 5;
  t.levels.push_back({level, std::vector<SiteThresholds>(5, SiteThresholds{value, value, value, value})});
  const std::string path = test::temp_path(name);
  EXPECT_TRUE(write_thresholds(t, path).ok());
  return path;
}

// The logits of three tokens and one decoded after them, in threshold mode.
std::vector<float> threshold_logits(const std::string& model, uint64_t budget, const std::string& thresholds) {
  EngineOptions options;
  options.n_threads = 1;
  options.n_ctx = 32;
  options.memory_budget = budget;
  auto engine = Engine::load(model, options);
  EXPECT_TRUE(engine.ok()) << engine.status().to_string();
  if (!engine.ok()) return {};
  auto session = (*engine)->new_session(SparsityOptions{0.5f, SparsityMode::threshold, thresholds});
  EXPECT_TRUE(session.ok()) << session.status().to_string();
  if (!session.ok()) return {};
  std::vector<float> logits;
  for (const std::vector<int32_t>& tokens : {std::vector<int32_t>{1, 17, 42}, std::vector<int32_t>{99}}) {
    auto out = (*session)->eval(tokens);
    EXPECT_TRUE(out.ok()) << out.status().to_string();
    if (!out.ok()) return {};
    logits.insert(logits.end(), out->begin(), out->end());
  }
  return logits;
}

// `convert --flash --thresholds`: the flash file carries the channel-major source's thresholds, and
// a threshold session on it without a file (in memory and streamed) gives the source's logits with
// the file; thresholds of another model are refused naming both.
TEST(ConvertFlash, ThresholdsTravelWithTheFlashFile) {
  const std::string rows = synth_five_layers("five-thresholds.gguf");
  const std::string cm = test::temp_path("five-thresholds-cm.gguf");
  ASSERT_TRUE(convert::channel_major(rows, cm, std::nullopt).ok());
  const std::string thresholds = thresholds_for(cm, 0.5f, 0.02f, "five-cm-thresholds.json");
  const std::string flash = test::temp_path("five-thresholds-flash.gguf");
  const Result<convert::Summary> converted = convert::flash(cm, flash, 2, std::nullopt, thresholds);
  ASSERT_TRUE(converted.ok()) << converted.status().to_string();

  const std::vector<float> want = threshold_logits(cm, 0, thresholds);
  ASSERT_FALSE(want.empty());
  EXPECT_EQ(threshold_logits(flash, 0, ""), want);
  EXPECT_EQ(threshold_logits(flash, uint64_t{1} << 30, ""), want);

  EngineOptions options;
  options.n_ctx = 32;
  auto engine = Engine::load(flash, options);
  ASSERT_TRUE(engine.ok());
  auto other_level = (*engine)->new_session(SparsityOptions{0.7f, SparsityMode::threshold, ""});
  ASSERT_FALSE(other_level.ok());
  EXPECT_NE(other_level.status().message().find(kThresholdsKey), std::string::npos) << other_level.status().message();
  EXPECT_NE(other_level.status().message().find("it has: 0.5"), std::string::npos) << other_level.status().message();
  auto uncarried = Engine::load(cm, options);
  ASSERT_TRUE(uncarried.ok());
  auto none = (*uncarried)->new_session(SparsityOptions{0.5f, SparsityMode::threshold, ""});
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("needs a thresholds file"), std::string::npos) << none.status().message();

  const std::string of_rows = thresholds_for(rows, 0.5f, 0.02f, "five-rows-thresholds.json");
  const Result<convert::Summary> wrong =
      convert::flash(cm, test::temp_path("never-thresholds.gguf"), 2, std::nullopt, of_rows);
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(wrong.status().message().find(of_rows), std::string::npos) << wrong.status().message();
  EXPECT_NE(wrong.status().message().find(cm), std::string::npos) << wrong.status().message();
}

}  // namespace
}  // namespace jf
