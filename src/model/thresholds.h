// Calibrated sparsity thresholds (`jitflow calibrate`), kept in a JSON file beside the model:
//
//   {"format": "jitflow-sparsity-thresholds", "version": 1,
//    "model": {"file": "docs-28M.gguf", "fingerprint": "9f2c...", "n_layer": 8},
//    "calibration": {"text": "train-sample.txt.xz", "tokens": 262400},
//    "sites": ["attn_in", "attn_out", "ffn_in", "ffn_down"],
//    "levels": [{"sparsity": 0.5, "thresholds": [[l0 attn_in, attn_out, ffn_in, ffn_down], ...]}]}
//
// The thresholds of level s are, per layer and site, the s-quantile of |x| over the calibration
// text, so that a fraction s of the channels falls below them on text like it. They belong to one
// model: the file names the model's content fingerprint, and using it with another model is an error.
// A converted model may carry its source's thresholds (`jitflow convert --flash --thresholds`): the
// same JSON text in the metadata string kThresholdsKey.
#pragma once

#include <string>
#include <vector>

#include "jitflow/status.h"
#include "model/sparsity.h"

namespace jf {

inline constexpr const char* kThresholdsKey = "jitflow.sparsity.thresholds";

struct SparsityThresholds {
  struct Level {
    float sparsity = 0;
    std::vector<SiteThresholds> layers;  // [n_layer]
  };

  std::string model_file;         // the calibrated model's file name (for messages)
  std::string model_fingerprint;  // gguf_content_fingerprint of that model
  int n_layer = 0;
  std::string calibration_text;  // what the thresholds were measured on
  int64_t calibration_tokens = 0;
  std::vector<Level> levels;  // ascending sparsity

  // The level within 1e-4 of `sparsity`, or null.
  const Level* find(float sparsity) const;
};

std::string thresholds_json(const SparsityThresholds& thresholds);
Status write_thresholds(const SparsityThresholds& thresholds, const std::string& path);
// Errors name the file and what is wrong in it (kCorruptFile), or that it cannot be read.
Result<SparsityThresholds> read_thresholds(const std::string& path);
// The same from text; `where` names it in errors (a file, or a model's metadata key).
Result<SparsityThresholds> parse_thresholds(const std::string& text, const std::string& where);
// The thresholds of `level`: kInvalidArgument listing the levels `where` has when it is not one.
Result<std::vector<SiteThresholds>> thresholds_of_level(const SparsityThresholds& thresholds, float level,
                                                        const std::string& where);

// OK when `thresholds` (read from `path`) were calibrated for the model at model_path with that
// fingerprint and n_layer; else kInvalidArgument naming both files.
Status check_thresholds_model(const SparsityThresholds& thresholds, const std::string& path,
                              const std::string& model_path, const std::string& model_fingerprint, int n_layer);

// The thresholds of `level` from `path` for the model at model_path with that fingerprint and
// n_layer: kInvalidArgument naming both files when they were calibrated for another model, and
// listing the levels the file has when `level` is not one of them.
Result<std::vector<SiteThresholds>> load_thresholds_for(const std::string& path, float level,
                                                        const std::string& model_path,
                                                        const std::string& model_fingerprint, int n_layer);

}  // namespace jf
