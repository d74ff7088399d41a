// The thresholds file: round trip, and a clear error for every way it can be wrong.
#include "model/thresholds.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "test_env.h"

namespace jf {
namespace {

SparsityThresholds example() {
  SparsityThresholds t;
  t.model_file = "m.gguf";
  t.model_fingerprint = "0123456789abcdef";
  t.n_layer = 2;
  t.calibration_text = "train.txt";
  t.calibration_tokens = 2048;
  t.levels.push_back({0.5f, {{0.1f, 0.2f, 0.3f, 0.4f}, {1.5f, 2.5f, 3.5f, 0.0625f}}});
  t.levels.push_back({0.7f, {{0.2f, 0.3f, 0.4f, 0.5f}, {2.5f, 3.5f, 4.5f, 0.125f}}});
  return t;
}

void write_text(const std::string& path, const std::string& text) {
  FILE* f = std::fopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  std::fwrite(text.data(), 1, text.size(), f);
  std::fclose(f);
}

TEST(ThresholdsTest, RoundTrips) {
  const std::string path = test::temp_path("t.json");
  ASSERT_TRUE(write_thresholds(example(), path).ok());
  Result<SparsityThresholds> back = read_thresholds(path);
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(back->model_fingerprint, "0123456789abcdef");
  EXPECT_EQ(back->calibration_tokens, 2048);
  ASSERT_EQ(back->levels.size(), 2u);
  EXPECT_EQ(back->levels[1].sparsity, 0.7f);
  EXPECT_EQ(back->levels[0].layers[1][3], 0.0625f);
  EXPECT_EQ(back->find(0.5f)->layers[1][0], 1.5f);
  EXPECT_EQ(back->find(0.6f), nullptr);
}

TEST(ThresholdsTest, LoadForTheRightModelAndLevel) {
  const std::string path = test::temp_path("t.json");
  ASSERT_TRUE(write_thresholds(example(), path).ok());
  auto layers = load_thresholds_for(path, 0.7f, "/models/m.gguf", "0123456789abcdef", 2);
  ASSERT_TRUE(layers.ok()) << layers.status().to_string();
  EXPECT_EQ((*layers)[0][2], 0.4f);
}

TEST(ThresholdsTest, AnotherModelIsRefusedNamingBoth) {
  const std::string path = test::temp_path("t.json");
  ASSERT_TRUE(write_thresholds(example(), path).ok());
  auto layers = load_thresholds_for(path, 0.5f, "/models/other.gguf", "fedcba9876543210", 2);
  ASSERT_FALSE(layers.ok());
  EXPECT_EQ(layers.status().code(), StatusCode::kInvalidArgument);
  const std::string& m = layers.status().message();
  EXPECT_NE(m.find(path), std::string::npos) << m;
  EXPECT_NE(m.find("m.gguf"), std::string::npos) << m;
  EXPECT_NE(m.find("/models/other.gguf"), std::string::npos) << m;
}

TEST(ThresholdsTest, MissingLevelListsTheLevelsThereAre) {
  const std::string path = test::temp_path("t.json");
  ASSERT_TRUE(write_thresholds(example(), path).ok());
  auto layers = load_thresholds_for(path, 0.6f, "/models/m.gguf", "0123456789abcdef", 2);
  ASSERT_FALSE(layers.ok());
  EXPECT_NE(layers.status().message().find("no thresholds for sparsity 0.6; it has: 0.5, 0.7"),
            std::string::npos)
      << layers.status().message();
}

TEST(ThresholdsTest, MissingFileIsNotFound) {
  auto t = read_thresholds(test::temp_path("absent.json"));
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), StatusCode::kNotFound);
  EXPECT_NE(t.status().message().find("absent.json"), std::string::npos);
}

TEST(ThresholdsTest, BrokenFilesAreCorruptWithTheReason) {
  const struct {
    const char* text;
    const char* reason;
  } cases[] = {
      {"{", "not a sparsity thresholds file"},
      {R"({"format": "x", "version": 1, "model": {}, "levels": []})", "format is not"},
      {R"({"format": "jitflow-sparsity-thresholds", "version": 2, "model": {"file": "m", "fingerprint": "f",
          "n_layer": 1}, "levels": []})",
       "version 2 is not supported"},
      {R"({"format": "jitflow-sparsity-thresholds", "version": 1, "model": {"file": "m", "fingerprint": "f",
          "n_layer": 2}, "levels": [{"sparsity": 0.5, "thresholds": [[1, 2, 3, 4]]}]})",
       "1 rows of thresholds for 2"},
      {R"({"format": "jitflow-sparsity-thresholds", "version": 1, "model": {"file": "m", "fingerprint": "f",
          "n_layer": 1}, "levels": [{"sparsity": 0.5, "thresholds": [[1, 2, -3, 4]]}]})",
       "not a number >= 0"},
      {R"({"format": "jitflow-sparsity-thresholds", "version": 1, "model": {"file": "m", "fingerprint": "f",
          "n_layer": 1}, "levels": [{"sparsity": 1.5, "thresholds": [[1, 2, 3, 4]]}]})",
       "not in (0, 1)"},
      {R"({"format": "jitflow-sparsity-thresholds", "version": 1, "model": {"file": "m", "n_layer": 1},
          "levels": []})",
       "model.fingerprint is missing"},
  };
  int i = 0;
  for (const auto& c : cases) {
    const std::string path = test::temp_path("bad" + std::to_string(i++) + ".json");
    write_text(path, c.text);
    auto t = read_thresholds(path);
    ASSERT_FALSE(t.ok()) << c.text;
    EXPECT_EQ(t.status().code(), StatusCode::kCorruptFile) << c.text;
    EXPECT_NE(t.status().message().find(c.reason), std::string::npos) << t.status().message();
    EXPECT_NE(t.status().message().find(path), std::string::npos) << t.status().message();
  }
}

}  // namespace
}  // namespace jf
