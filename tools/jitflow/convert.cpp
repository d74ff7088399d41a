#include "convert.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <set>
#include <vector>

#include "gguf/gguf.h"
#include "gguf/gguf_writer.h"
#include "model/arch.h"
#include "model/flash_layout.h"
#include "model/hparams.h"
#include "model/thresholds.h"
#include "model/weights.h"
#include "tensor/channel_major.h"
#include "tensor/quant.h"

namespace jf::convert {
namespace {

// The names of the per-layer linears the flash and channel-major layouts list (linear_name).
std::set<std::string> linear_names(const ModelConfig& config) {
  std::set<std::string> names;
  for (int layer = 0; layer < config.n_layer; ++layer) {
    for (const LinearKind kind : layer_linear_kinds(config))
      names.insert(linear_name(*config.arch_info, kind, layer));
  }
  return names;
}

// The config of a model the channel-major and flash layouts cover: a decoder whose linears are
// tensors of their own (llama, qwen2). Encoders, T5 and GPT-2's fused Q/K/V are refused, named; so is
// a mixture of experts for the channel-major layout (the flash layout groups each expert's matrices).
Result<ModelConfig> convertible_config(const GgufFile& file, bool flash) {
  JF_ASSIGN_OR_RETURN(ModelConfig config, read_model_config(file));
  const ArchInfo& arch = *config.arch_info;
  if (arch.forward != ForwardKind::kDecoder || has_fused_tensors(arch)) {
    return error(StatusCode::kUnsupported,
                 "%s: architecture '%s' (%s) cannot be converted: the channel-major and flash layouts cover "
                 "decoders whose linears are tensors of their own (llama, qwen2)",
                 file.path().c_str(), arch.name,
                 arch.forward != ForwardKind::kDecoder ? "not a decoder-only model" : "Q, K and V fused in one tensor");
  }
  if (config.n_expert > 0 && !flash) {
    return error(StatusCode::kUnsupported,
                 "%s: a mixture of experts (%d experts) cannot be converted to the channel-major layout; "
                 "convert it to the flash layout (--flash)",
                 file.path().c_str(), config.n_expert);
  }
  return config;
}

GgufValue string_array(const std::vector<std::string>& items) {
  GgufArray array{GgufType::kString, {}};
  for (const std::string& s : items) array.items.push_back(GgufValue{GgufType::kString, s});
  return GgufValue{GgufType::kArray, std::move(array)};
}

// All values of a tensor as f32, in stored order: its rows are GGUF rows, or channels
// (tensor/channel_major.h) when `channels`.
Result<std::vector<float>> read_f32(const GgufFile& file, const TensorInfo& info, bool channels) {
  std::vector<uint8_t> bytes(info.n_bytes);
  JF_RETURN_IF_ERROR(file.read_tensor(info, bytes.data()));
  std::vector<float> values(static_cast<size_t>(info.n_elements()));
  const size_t row = row_bytes(info.dtype, info.ne[0]);
  for (int64_t r = 0; r < info.n_rows(); ++r) {
    const uint8_t* src = bytes.data() + r * row;
    float* dst = values.data() + r * info.ne[0];
    if (channels) {
      dequantize_channel(info.dtype, src, info.ne[0], dst);
    } else {
      dequantize_row(info.dtype, src, dst, info.ne[0]);
    }
  }
  return values;
}

// Where a linear's matrix lies in the source: a tensor of its own (row-major, or channel-major from
// `channel_major`), or an expert's slice of a stacked 3-D tensor (blk.N.ffn_gate_exps.weight).
struct SourceLinear {
  const TensorInfo* info;
  uint64_t offset;  // of its bytes within the tensor
  uint64_t n_bytes;
  int64_t n_in, n_out;
  bool channel_major;
};

SourceLinear whole_tensor(const TensorInfo& info, bool channel_major) {
  return channel_major ? SourceLinear{&info, 0, info.n_bytes, info.n_rows(), info.ne[0], true}
                       : SourceLinear{&info, 0, info.n_bytes, info.ne[0], info.n_rows(), false};
}

Result<SourceLinear> find_linear(const GgufFile& file, const ArchInfo& arch, bool source_cm, LinearKind kind,
                                 int layer) {
  const std::string name = linear_name(arch, kind, layer);
  if (source_cm) {
    const TensorInfo* info = file.find_tensor(name + kChannelMajorSuffix);
    if (info != nullptr) return whole_tensor(*info, true);
  } else if (const LinearBytes found = find_linear_bytes(file, arch, kind, layer); found.info != nullptr) {
    return SourceLinear{found.info, found.offset, found.n_bytes, found.n_in, found.n_out, false};
  }
  return error(StatusCode::kNotFound, "%s: tensor '%s' is missing", file.path().c_str(), name.c_str());
}

// The dtype `source` gets channel-major: a channel-major source's own (`type` must then be absent or
// the same), else `type` or the source's. Q4_K falls back to Q4_0 for outputs that are no multiple of
// 256 (as llama-quantize does for k-quants), counted in *n_fallback.
Result<DType> target_dtype(const GgufFile& file, const SourceLinear& source, std::optional<DType> type,
                           int* n_fallback) {
  if (source.channel_major) {
    if (type && *type != source.info->dtype) {
      return error(StatusCode::kInvalidArgument,
                   "%s: '%s' is channel-major %s already; --type %s needs the original model",
                   file.path().c_str(), source.info->name.c_str(), dtype_name(source.info->dtype),
                   dtype_name(*type));
    }
    return source.info->dtype;
  }
  if (type == DType::Q4_K && source.n_out % kQK_K != 0) {
    ++*n_fallback;
    return DType::Q4_0;
  }
  return type.value_or(source.info->dtype);
}

// The channel-major bytes of `source` in `to` (target_dtype's).
Result<std::vector<uint8_t>> channel_major_of(const GgufFile& file, const SourceLinear& source, DType to) {
  std::vector<uint8_t> bytes(source.n_bytes);
  JF_RETURN_IF_ERROR(file.source().read_at(source.info->offset + source.offset, bytes.data(), bytes.size()));
  if (source.channel_major) return bytes;
  // ggml [n_in, n_out]: n_out rows of n_in.
  const TensorView w{.name = source.info->name,
                     .dtype = source.info->dtype,
                     .n_cols = source.n_in,
                     .n_rows = source.n_out,
                     .data = bytes.data()};
  Result<std::vector<uint8_t>> cm = to_channel_major(w, to);
  if (!cm.ok()) return error(cm.status().code(), "%s: %s", file.path().c_str(), cm.status().message().c_str());
  return std::move(*cm);
}

}  // namespace

Result<std::vector<ProductError>> product_errors(const std::string& source, const std::string& converted, int n_x) {
  JF_ASSIGN_OR_RETURN(GgufFile src, GgufFile::open_path(source));
  JF_ASSIGN_OR_RETURN(GgufFile cm, GgufFile::open_path(converted));
  JF_ASSIGN_OR_RETURN(const GgufArray* names, cm.get_array(kChannelMajorKey));
  std::mt19937 rng(1);
  std::normal_distribution<double> normal;
  std::vector<ProductError> out;
  for (const GgufValue& v : names->items) {
    const std::string* listed = std::get_if<std::string>(&v.data);
    if (listed == nullptr) return error(StatusCode::kCorruptFile, "%s: %s holds a non-string", converted.c_str(), kChannelMajorKey);
    const std::string& name = *listed;
    const TensorInfo* a = src.find_tensor(name);
    const TensorInfo* b = cm.find_tensor(name + kChannelMajorSuffix);
    if (a == nullptr || b == nullptr) {
      return error(StatusCode::kNotFound, "tensor '%s' is not in both %s and %s", name.c_str(), source.c_str(),
                   converted.c_str());
    }
    const int64_t n_in = a->ne[0], n_out = a->n_rows();
    JF_ASSIGN_OR_RETURN(const std::vector<float> w, read_f32(src, *a, false));    // [n_out][n_in]
    JF_ASSIGN_OR_RETURN(const std::vector<float> wt, read_f32(cm, *b, true));  // [n_in][n_out]
    double err = 0, ref = 0;
    std::vector<double> x(n_in), y(n_out), y_cm(n_out);
    for (int i = 0; i < n_x; ++i) {
      for (double& e : x) e = normal(rng);
      std::fill(y_cm.begin(), y_cm.end(), 0.0);
      for (int64_t o = 0; o < n_out; ++o) {
        double sum = 0;
        for (int64_t j = 0; j < n_in; ++j) sum += w[o * n_in + j] * x[j];
        y[o] = sum;
      }
      for (int64_t j = 0; j < n_in; ++j) {
        for (int64_t o = 0; o < n_out; ++o) y_cm[o] += wt[j * n_out + o] * x[j];
      }
      for (int64_t o = 0; o < n_out; ++o) {
        err += (y_cm[o] - y[o]) * (y_cm[o] - y[o]);
        ref += y[o] * y[o];
      }
    }
    out.push_back({name, ref > 0 ? std::sqrt(err / ref) : 0.0});
  }
  return out;
}

Result<Summary> channel_major(const std::string& input, const std::string& output, std::optional<DType> type) {
  JF_ASSIGN_OR_RETURN(GgufFile file, GgufFile::open_path(input));
  if (file.find(kChannelMajorKey) != nullptr || file.find(kFlashKey) != nullptr) {
    return error(StatusCode::kInvalidArgument, "%s: already converted (it has %s)", input.c_str(),
                 file.find(kFlashKey) != nullptr ? kFlashKey : kChannelMajorKey);
  }
  JF_ASSIGN_OR_RETURN(const ModelConfig config, convertible_config(file, /*flash=*/false));
  const std::set<std::string> linears = linear_names(config);

  GgufWriter writer;
  for (const auto& [key, value] : file.metadata()) writer.set_value(key, value);
  Summary summary;
  std::vector<std::string> converted;
  for (const TensorInfo& info : file.tensors()) {
    if (linears.count(info.name) == 0) {
      JF_RETURN_IF_ERROR(writer.copy_tensor(file, info));
      ++summary.n_copied;
      continue;
    }
    const SourceLinear source = whole_tensor(info, false);
    JF_ASSIGN_OR_RETURN(const DType to, target_dtype(file, source, type, &summary.n_fallback));
    JF_ASSIGN_OR_RETURN(std::vector<uint8_t> cm, channel_major_of(file, source, to));
    summary.bytes_in += source.n_bytes;
    summary.bytes_out += cm.size();
    writer.add_tensor(info.name + kChannelMajorSuffix, to, {source.n_out, source.n_in}, std::move(cm));
    converted.push_back(info.name);
    ++summary.n_converted;
  }
  writer.set_value(kChannelMajorKey, string_array(converted));
  writer.set_uint32(kChannelMajorFormatKey, kChannelMajorFormat);
  JF_RETURN_IF_ERROR(writer.write_file(output, static_cast<uint32_t>(file.alignment())));
  return summary;
}

Result<Summary> flash(const std::string& input, const std::string& output, int group, std::optional<DType> type,
                      const std::string& thresholds_path) {
  JF_ASSIGN_OR_RETURN(GgufFile file, GgufFile::open_path(input));
  if (file.find(kFlashKey) != nullptr) {
    return error(StatusCode::kInvalidArgument, "%s: already in the flash layout (it has %s)", input.c_str(), kFlashKey);
  }
  JF_ASSIGN_OR_RETURN(const ModelConfig config, convertible_config(file, /*flash=*/true));
  if (group < 1 || group > config.n_layer) {
    return error(StatusCode::kInvalidArgument, "--group %d: groups hold 1 to %d layers (the model's)", group,
                 config.n_layer);
  }
  const ArchInfo& arch = *config.arch_info;
  const bool source_cm = file.find(kChannelMajorKey) != nullptr;
  const std::vector<LinearKind> kinds = layer_linear_kinds(config);
  // The source tensors the group tensors replace: the linears', and the experts' stacked ones.
  std::set<std::string> replaced = linear_names(config);
  for (int layer = 0; layer < config.n_layer; ++layer) {
    for (const LinearKind kind : kinds) {
      if (kind.per_expert()) replaced.insert(tensor_name(arch, kind.role, layer));
    }
  }

  GgufWriter writer;
  for (const auto& [key, value] : file.metadata()) {
    if (key != kChannelMajorKey) writer.set_value(key, value);
  }
  Summary summary;
  for (const TensorInfo& info : file.tensors()) {
    const std::string logical = source_cm && info.name.ends_with(kChannelMajorSuffix)
                                    ? info.name.substr(0, info.name.size() - std::strlen(kChannelMajorSuffix))
                                    : info.name;
    if (replaced.count(logical) > 0) continue;
    JF_RETURN_IF_ERROR(writer.copy_tensor(file, info));
    ++summary.n_copied;
  }
  // Group by group, then linear by linear: a group's channels lie together in the file. Each group
  // tensor is made as it is written, so a model larger than DRAM converts in a few of them.
  const LayerGroups groups{.n_layer = config.n_layer, .size = group};
  std::vector<std::string> grouped;
  for (int g = 0; g < groups.count(); ++g) {
    for (const LinearKind kind : kinds) {
      const int first = groups.first(g), n = groups.size_of(g);
      std::vector<SourceLinear> layers;
      std::optional<DType> to;
      for (int i = 0; i < n; ++i) {
        JF_ASSIGN_OR_RETURN(const SourceLinear source, find_linear(file, arch, source_cm, kind, first + i));
        JF_ASSIGN_OR_RETURN(const DType dtype, target_dtype(file, source, type, &summary.n_fallback));
        const std::string name = linear_name(arch, kind, first + i);
        if (to && dtype != *to) {
          return error(StatusCode::kInvalidArgument,
                       "%s: '%s' is %s but layer %d of its group is %s; a group holds one type (pass --type)",
                       input.c_str(), name.c_str(), dtype_name(dtype), first, dtype_name(*to));
        }
        to = dtype;
        summary.bytes_in += source.n_bytes;
        layers.push_back(source);
        grouped.push_back(name);
      }
      // Row j * n + i of the group tensor is channel j of layer first + i.
      const int64_t n_in = layers[0].n_in, n_out = layers[0].n_out;
      const size_t channel = channel_bytes(*to, n_out);
      summary.bytes_out += channel * static_cast<uint64_t>(n_in * n);
      summary.n_converted += n;
      writer.add_tensor(
          flash_tensor_name(linear_name(arch, kind, first)), *to, {n_out, n_in * n},
          [&file, layers, to = *to, channel, n, n_in]() -> Result<std::vector<uint8_t>> {
            std::vector<uint8_t> bytes(channel * static_cast<size_t>(n_in * n));
            for (int i = 0; i < n; ++i) {
              JF_ASSIGN_OR_RETURN(const std::vector<uint8_t> cm, channel_major_of(file, layers[i], to));
              for (int64_t j = 0; j < n_in; ++j) {
                std::memcpy(bytes.data() + (j * n + i) * channel, cm.data() + j * channel, channel);
              }
            }
            return bytes;
          });
    }
  }
  if (!thresholds_path.empty()) {
    JF_ASSIGN_OR_RETURN(const std::string fingerprint, file.content_fingerprint());
    JF_ASSIGN_OR_RETURN(const SparsityThresholds thresholds, read_thresholds(thresholds_path));
    JF_RETURN_IF_ERROR(check_thresholds_model(thresholds, thresholds_path, input, fingerprint, config.n_layer));
    writer.set_string(kThresholdsKey, thresholds_json(thresholds));
  }
  writer.set_value(kFlashKey, string_array(grouped));
  writer.set_uint32(kFlashGroupKey, static_cast<uint32_t>(group));
  writer.set_uint32(kChannelMajorFormatKey, kChannelMajorFormat);
  JF_RETURN_IF_ERROR(writer.write_file(output, static_cast<uint32_t>(file.alignment())));
  return summary;
}

}  // namespace jf::convert
