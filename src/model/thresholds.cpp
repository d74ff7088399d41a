#include "model/thresholds.h"

#include <cmath>

#include "base/file.h"
#include "base/json.h"

namespace jf {
namespace {

constexpr const char* kFormat = "jitflow-sparsity-thresholds";
constexpr int kVersion = 1;

Json level_to_json(const SparsityThresholds::Level& level) {
  Json layers = Json::array();
  for (const SiteThresholds& sites : level.layers) {
    Json row = Json::array();
    for (float t : sites) row.push_back(Json::number(t));
    layers.push_back(std::move(row));
  }
  Json j = Json::object();
  j.set("sparsity", Json::number(level.sparsity));
  j.set("thresholds", std::move(layers));
  return j;
}

Json to_json_value(const SparsityThresholds& t) {
  Json model = Json::object();
  model.set("file", Json::string(t.model_file));
  model.set("fingerprint", Json::string(t.model_fingerprint));
  model.set("n_layer", Json::number(t.n_layer));
  Json calibration = Json::object();
  calibration.set("text", Json::string(t.calibration_text));
  calibration.set("tokens", Json::number(static_cast<double>(t.calibration_tokens)));
  Json sites = Json::array();
  for (int s = 0; s < kSparseSites; ++s)
    sites.push_back(Json::string(sparse_site_name(static_cast<SparseSite>(s))));
  Json levels = Json::array();
  for (const SparsityThresholds::Level& level : t.levels) levels.push_back(level_to_json(level));
  Json j = Json::object();
  j.set("format", Json::string(kFormat));
  j.set("version", Json::number(kVersion));
  j.set("model", std::move(model));
  j.set("calibration", std::move(calibration));
  j.set("sites", std::move(sites));
  j.set("levels", std::move(levels));
  return j;
}

// Reads fields of the file's JSON; the first problem is kept, naming the file and the field.
class Reader {
 public:
  explicit Reader(std::string path) : path_(std::move(path)) {}

  const Json* member(const Json& object, const char* key, Json::Type type, const char* where) {
    const Json* v = object.find(key);
    if (v == nullptr || v->type() != type) {
      fail(str_printf("%s.%s is missing or of the wrong type", where, key));
      return nullptr;
    }
    return v;
  }
  void fail(const std::string& what) {
    if (status_.ok()) {
      status_ = error(StatusCode::kCorruptFile, "%s: not a sparsity thresholds file: %s", path_.c_str(),
                      what.c_str());
    }
  }
  const Status& status() const { return status_; }

 private:
  std::string path_;
  Status status_;
};

Result<SparsityThresholds::Level> read_level(const Json& j, int n_layer, Reader& r) {
  SparsityThresholds::Level level;
  const Json* sparsity = r.member(j, "sparsity", Json::Type::kNumber, "levels[]");
  const Json* layers = r.member(j, "thresholds", Json::Type::kArray, "levels[]");
  if (!r.status().ok()) return r.status();
  level.sparsity = static_cast<float>(sparsity->as_number());
  if (!(level.sparsity > 0 && level.sparsity < 1)) r.fail("a level's sparsity is not in (0, 1)");
  if (static_cast<int>(layers->items().size()) != n_layer)
    r.fail(str_printf("a level has %zu rows of thresholds for %d layers", layers->items().size(), n_layer));
  for (const Json& row : layers->items()) {
    if (!row.is_array() || row.items().size() != kSparseSites) {
      r.fail("a row of thresholds is not 4 numbers");
      break;
    }
    SiteThresholds sites{};
    for (int s = 0; s < kSparseSites; ++s) {
      const Json& v = row.items()[s];
      if (!v.is_number() || !(v.as_number() >= 0)) r.fail("a threshold is not a number >= 0");
      sites[s] = static_cast<float>(v.as_number());
    }
    level.layers.push_back(sites);
  }
  if (!r.status().ok()) return r.status();
  return level;
}

std::string levels_list(const SparsityThresholds& t) {
  std::string list;
  for (const SparsityThresholds::Level& level : t.levels) {
    list += (list.empty() ? "" : ", ") + str_printf("%g", level.sparsity);
  }
  return list.empty() ? "none" : list;
}

}  // namespace

const SparsityThresholds::Level* SparsityThresholds::find(float sparsity) const {
  for (const Level& level : levels) {
    if (std::fabs(level.sparsity - sparsity) < 1e-4f) return &level;
  }
  return nullptr;
}

std::string thresholds_json(const SparsityThresholds& thresholds) {
  return to_json(to_json_value(thresholds)) + "\n";
}

Status write_thresholds(const SparsityThresholds& thresholds, const std::string& path) {
  return write_file(path, thresholds_json(thresholds));
}

Result<SparsityThresholds> read_thresholds(const std::string& path) {
  Result<std::string> text = read_file(path);
  if (!text.ok()) {
    return error(text.status().code(), "%s (sparsity thresholds: make them with `jitflow calibrate`)",
                 text.status().message().c_str());
  }
  return parse_thresholds(*text, path);
}

Result<SparsityThresholds> parse_thresholds(const std::string& text, const std::string& where) {
  Result<Json> json = parse_json(text);
  if (!json.ok()) {
    return error(StatusCode::kCorruptFile, "%s: not a sparsity thresholds file: %s", where.c_str(),
                 json.status().message().c_str());
  }
  Reader r(where);
  const Json* format = r.member(*json, "format", Json::Type::kString, "file");
  const Json* version = r.member(*json, "version", Json::Type::kNumber, "file");
  const Json* model = r.member(*json, "model", Json::Type::kObject, "file");
  const Json* levels = r.member(*json, "levels", Json::Type::kArray, "file");
  if (!r.status().ok()) return r.status();
  if (format->as_string() != kFormat) r.fail(str_printf("format is not \"%s\"", kFormat));
  if (version->as_number() != kVersion) {
    r.fail(str_printf("version %g is not supported (this build reads %d)", version->as_number(), kVersion));
  }
  SparsityThresholds t;
  const Json* file = r.member(*model, "file", Json::Type::kString, "model");
  const Json* fingerprint = r.member(*model, "fingerprint", Json::Type::kString, "model");
  const Json* n_layer = r.member(*model, "n_layer", Json::Type::kNumber, "model");
  if (!r.status().ok()) return r.status();
  t.model_file = file->as_string();
  t.model_fingerprint = fingerprint->as_string();
  t.n_layer = static_cast<int>(n_layer->as_number());
  if (t.n_layer < 1 || t.n_layer != n_layer->as_number()) r.fail("model.n_layer is not a positive integer");
  if (const Json* calibration = json->find("calibration");
      calibration != nullptr && calibration->is_object()) {
    if (const Json* text_name = calibration->find("text"); text_name != nullptr)
      t.calibration_text = text_name->as_string();
    if (const Json* tokens = calibration->find("tokens"); tokens != nullptr) {
      t.calibration_tokens = static_cast<int64_t>(tokens->as_number());
    }
  }
  for (const Json& level : levels->items()) {
    if (!r.status().ok()) break;
    Result<SparsityThresholds::Level> read = read_level(level, t.n_layer, r);
    if (read.ok()) t.levels.push_back(std::move(*read));
  }
  if (!r.status().ok()) return r.status();
  return t;
}

Result<std::vector<SiteThresholds>> load_thresholds_for(const std::string& path, float level,
                                                        const std::string& model_path,
                                                        const std::string& model_fingerprint, int n_layer) {
  JF_ASSIGN_OR_RETURN(SparsityThresholds t, read_thresholds(path));
  JF_RETURN_IF_ERROR(check_thresholds_model(t, path, model_path, model_fingerprint, n_layer));
  return thresholds_of_level(t, level, path);
}

Status check_thresholds_model(const SparsityThresholds& t, const std::string& path, const std::string& model_path,
                              const std::string& model_fingerprint, int n_layer) {
  if (t.model_fingerprint == model_fingerprint && t.n_layer == n_layer) return Status();
  return error(StatusCode::kInvalidArgument,
               "%s: these thresholds were calibrated for %s (fingerprint %s, %d layers), not for %s (fingerprint "
               "%s, %d layers); run `jitflow calibrate -m %s`",
               path.c_str(), t.model_file.c_str(), t.model_fingerprint.c_str(), t.n_layer, model_path.c_str(),
               model_fingerprint.c_str(), n_layer, model_path.c_str());
}

Result<std::vector<SiteThresholds>> thresholds_of_level(const SparsityThresholds& thresholds, float level,
                                                        const std::string& where) {
  const SparsityThresholds::Level* found = thresholds.find(level);
  if (found == nullptr) {
    return error(StatusCode::kInvalidArgument,
                 "%s has no thresholds for sparsity %g; it has: %s (calibrate with --levels)", where.c_str(),
                 level, levels_list(thresholds).c_str());
  }
  return found->layers;
}

}  // namespace jf
