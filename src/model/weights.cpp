#include "model/weights.h"

#include <algorithm>
#include <cinttypes>
#include <cstring>
#include <set>

#include "base/check.h"
#include "base/checked_math.h"
#include "kernels/matmul/matmul.h"
#include "model/flash_layout.h"
#include "tensor/channel_major.h"
#include "tensor/quant.h"

namespace jf {
namespace {

// One tensor to load: where its descriptor goes and which shape it must have.
struct Request {
  TensorView* dst;
  std::string name;
  int64_t n_cols;
  int64_t n_rows;  // 1 for vectors
  Need need;
  bool vector;  // norms and biases: converted to f32 at load time
  bool linear;  // a matrix of the linear seam: may be stored channel-major
  TensorRole role;
  int layer;
  bool channel_major = false;  // stored as name + kChannelMajorSuffix, transposed (weights.h)
  // Stored in a flash group tensor (model/flash_layout.h) as its layer flash_index of flash_layers;
  // flash_layers 0 otherwise.
  int flash_layers = 0;
  int flash_index = 0;
  // A part of a fused tensor (arch.h, FusedPart): the stored tensor has fused_size rows (elements,
  // for a vector), of which this request reads fused_size's [fused_first, + its own size); fused_size
  // 0 for a whole tensor.
  int64_t fused_first = 0;
  int64_t fused_size = 0;
  // An expert's matrix of a per-expert role (MoeUse::kPerExpert): slice `expert` of a 3-D tensor of
  // n_experts matrices (merged layout), or n_experts 0 once the split layout's own tensor is found.
  int expert = 0;
  int n_experts = 0;
};

int64_t dim(const ModelConfig& c, Dim d) {
  switch (d) {
    case Dim::kOne:
      return 1;
    case Dim::kEmbd:
      return c.n_embd;
    case Dim::kEmbdQ:
      return c.n_embd_q();
    case Dim::kEmbdKv:
      return c.n_embd_kv();
    case Dim::kFf:
      return c.n_ff;
    case Dim::kVocab:
      return c.n_vocab;
    case Dim::kCtxTrain:
      return c.n_ctx_train;
    case Dim::kRotHalf:
      return c.n_rot / 2;
    case Dim::kTokenTypes:
      return c.n_token_types;
    case Dim::kHeads:
      return c.n_head;
    case Dim::kRelBuckets:
      return c.n_rel_buckets;
    case Dim::kExperts:
      return c.n_expert;
  }
  return 0;
}

// Where a part of the fused Q/K/V tensor starts, in its rows (elements for the bias).
int64_t fused_first(const ModelConfig& c, FusedPart part) {
  switch (part) {
    case FusedPart::kWhole:
    case FusedPart::kQ:
      return 0;
    case FusedPart::kK:
      return c.n_embd_q();
    case FusedPart::kV:
      return c.n_embd_q() + c.n_embd_kv();
  }
  return 0;
}

// The stored ggml shape [ne0, ne1] a request expects.
std::pair<int64_t, int64_t> stored_shape(const Request& r) {
  if (r.channel_major) return {r.n_rows, r.n_cols * std::max(1, r.flash_layers)};
  if (r.fused_size > 0 && r.vector) return {r.fused_size, 1};
  if (r.fused_size > 0) return {r.n_cols, r.fused_size};
  return {r.n_cols, r.n_rows};
}

// The request's bytes within its stored tensor: all of it, or a fused part's rows.
uint64_t part_offset(const TensorInfo& info, const Request& r) {
  if (r.n_experts > 0) return row_bytes(info.dtype, r.n_cols) * static_cast<uint64_t>(r.n_rows) * r.expert;
  return r.vector ? row_bytes(info.dtype, r.fused_first) : row_bytes(info.dtype, r.n_cols) * r.fused_first;
}
uint64_t part_bytes(const TensorInfo& info, const Request& r) {
  if (r.n_experts > 0) return row_bytes(info.dtype, r.n_cols) * static_cast<uint64_t>(r.n_rows);
  if (r.fused_size == 0) return info.n_bytes;
  return r.vector ? row_bytes(info.dtype, r.n_cols) : row_bytes(info.dtype, r.n_cols) * r.n_rows;
}

Status read_part(const GgufFile& file, const TensorInfo& info, const Request& r, void* dst) {
  return file.source().read_at(info.offset + part_offset(info, r), dst, part_bytes(info, r));
}

Status check_shape(const GgufFile& file, const TensorInfo& info, const Request& r) {
  // ggml order: [n_cols, n_rows], a channel-major tensor transposed, a flash group's channels of
  // each of its layers, a fused tensor's parts together, a per-expert role's matrices one per expert.
  const auto [ne0, ne1] = stored_shape(r);
  const int64_t ne2 = std::max(r.n_experts, 1);
  const bool ok_shape = info.ne[0] == ne0 && info.ne[1] == ne1 && info.ne[2] == ne2 && info.ne[3] == 1;
  if (!ok_shape) {
    const std::string expected = r.n_experts > 0
                                     ? str_printf("[%" PRId64 ", %" PRId64 ", %" PRId64 "]", ne0, ne1, ne2)
                                     : str_printf("[%" PRId64 ", %" PRId64 "]", ne0, ne1);
    return error(StatusCode::kCorruptFile, "%s: tensor '%s' has shape %s, expected %s%s", file.path().c_str(),
                 info.name.c_str(), info.shape_string().c_str(), expected.c_str(),
                 r.flash_layers > 0 ? " (the channels of a group of layers: is the group size right?)" : "");
  }
  if (r.channel_major) {
    if (Status s = check_channel_major(info.name, info.dtype, r.n_rows, r.n_cols); !s.ok()) {
      return error(StatusCode::kUnsupported, "%s: %s", file.path().c_str(), s.message().c_str());
    }
  }
  if (!dtype_info(info.dtype).supported) {
    return error(StatusCode::kUnsupported,
                 "%s: tensor '%s' has type %s, which jitflow cannot compute with yet", file.path().c_str(),
                 r.name.c_str(), dtype_name(info.dtype));
  }
  if (r.vector && r.fused_first % dtype_info(info.dtype).block_size != 0) {
    return error(StatusCode::kUnsupported, "%s: fused tensor '%s' of type %s cannot be split at element %" PRId64,
                 file.path().c_str(), info.name.c_str(), dtype_name(info.dtype), r.fused_first);
  }
  return Status();
}

// Whether `role` is loaded for a model of `c`'s kind: dense FFN tensors without experts, the
// router and experts' with them.
bool loaded_for(const ModelConfig& c, TensorRole role) {
  switch (role_info(role).moe) {
    case MoeUse::kAlways:
      return true;
    case MoeUse::kDense:
      return c.n_expert == 0;
    case MoeUse::kMoe:
    case MoeUse::kPerExpert:
      return c.n_expert > 0;
  }
  return true;
}

// The request of `role` of `row` (the model's, or its encoder stack's) into `dst`.
Request request_for(const ModelConfig& c, const ArchInfo& row, const TensorView& dst, TensorRole role, int layer,
                    Need need) {
  const RoleInfo& info = role_info(role);
  const int64_t n_cols = dim(c, info.n_cols), n_rows = dim(c, info.n_rows);
  // tensor_of and layer_tensor are the one map from roles to fields; the weights are ours to fill.
  Request r{const_cast<TensorView*>(&dst), tensor_name(row, role, layer), n_cols, n_rows, need,
            info.kind == RoleKind::kVector, info.kind == RoleKind::kMatrix, role, layer};
  if (const FusedPart part = row.tensor(role).part; part != FusedPart::kWhole) {
    r.fused_first = fused_first(c, part);
    r.fused_size = c.n_embd_q() + 2 * static_cast<int64_t>(c.n_embd_kv());
  }
  return r;
}

// Every tensor the architecture's row lists, model-wide ones first, then layer by layer. The output
// head of an architecture that may tie it is optional: token_embd stands in when it is missing.
std::vector<Request> plan_requests(const ModelConfig& c, ModelWeights* w) {
  const ArchInfo& arch = *c.arch_info;
  w->layers.resize(c.n_layer);
  std::vector<Request> r;
  for (size_t i = 0; i < kTensorRoleCount; ++i) {
    const TensorRole role = static_cast<TensorRole>(i);
    Need need = arch.tensor(role).need;
    if (role == TensorRole::kOutput && arch.tied_output) need = Need::kOptional;
    if (need != Need::kAbsent && !role_info(role).per_layer)
      r.push_back(request_for(c, arch, tensor_of(*w, role, 0), role, 0, need));
  }
  const auto add_layers = [&](const ArchInfo& row, std::vector<LayerWeights>& layers) {
    for (int layer = 0; layer < static_cast<int>(layers.size()); ++layer) {
      layers[layer].experts.resize(c.n_expert);
      for (size_t i = 0; i < kTensorRoleCount; ++i) {
        const TensorRole role = static_cast<TensorRole>(i);
        const Need need = row.tensor(role).need;
        if (need == Need::kAbsent || !role_info(role).per_layer || !loaded_for(c, role)) continue;
        if (role_info(role).moe != MoeUse::kPerExpert) {
          r.push_back(request_for(c, row, layer_tensor(layers[layer], role), role, layer, need));
          continue;
        }
        for (int e = 0; e < c.n_expert; ++e) {
          Request expert = request_for(c, row, layer_tensor(layers[layer], role, e), role, layer, need);
          expert.expert = e;
          expert.n_experts = c.n_expert;
          r.push_back(std::move(expert));
        }
      }
    }
  };
  add_layers(arch, w->layers);
  if (arch.encoder != nullptr) {
    // The encoder stack: its layers and final norm (the token embedding is the model's).
    w->encoder_layers.resize(c.n_enc_layer);
    add_layers(*arch.encoder, w->encoder_layers);
    r.push_back(request_for(c, *arch.encoder, w->encoder_output_norm.weight, TensorRole::kOutputNorm, 0,
                            arch.encoder->tensor(TensorRole::kOutputNorm).need));
  }
  return r;
}

// The names the file lists under kChannelMajorKey (empty without the key), once its format is
// checked.
Result<std::set<std::string>> channel_major_names(const GgufFile& file) {
  std::set<std::string> names;
  if (file.find(kChannelMajorKey) == nullptr) return names;
  JF_ASSIGN_OR_RETURN(const uint64_t format, file.get_uint_or(kChannelMajorFormatKey, 1));
  if (format != kChannelMajorFormat) {
    return error(StatusCode::kUnsupported,
                 "%s: channel-major tensors in format %" PRIu64 " (%s); this jitflow reads format %u: convert "
                 "the original model again with jitflow convert --channel-major",
                 file.path().c_str(), format, format == 1 ? "blocks with interleaved scales, an earlier jitflow" : "unknown",
                 kChannelMajorFormat);
  }
  JF_ASSIGN_OR_RETURN(const GgufArray* array, file.get_array(kChannelMajorKey));
  for (const GgufValue& v : array->items) {
    const std::string* name = std::get_if<std::string>(&v.data);
    if (name == nullptr) {
      return error(StatusCode::kCorruptFile, "%s: %s must be an array of tensor names", file.path().c_str(),
                   kChannelMajorKey);
    }
    names.insert(*name);
  }
  return names;
}

// Whether the tensor is kept as f32 whatever its file type: vectors, and row-major matrices of a
// type this build widens for a model of widened_bytes (resident_dtype).
bool kept_as_f32(const TensorInfo& info, const Request& r, uint64_t widened_bytes) {
  return r.vector ||
         (!r.channel_major && r.flash_layers == 0 && resident_dtype(info.dtype, widened_bytes) == DType::F32);
}

// Matrices are kept in the layout the matmul kernels of this CPU read fastest (weight_layout.h),
// channel-major ones as they are stored.
WeightLayout layout_of(const TensorInfo& info, const Request& r, uint64_t widened_bytes) {
  if (r.channel_major) return WeightLayout::channel_major;
  if (r.vector) return WeightLayout::rows;
  return preferred_layout(kept_as_f32(info, r, widened_bytes) ? DType::F32 : info.dtype);
}

// Bytes the tensor occupies in the arena: f32 ones (kept_as_f32) 4 per element; repacked matrices
// may be padded.
uint64_t arena_bytes(const TensorInfo& info, const Request& r, uint64_t widened_bytes) {
  uint64_t bytes = part_bytes(info, r) / static_cast<uint64_t>(std::max(1, r.flash_layers));
  if (kept_as_f32(info, r, widened_bytes))
    bytes = static_cast<uint64_t>(r.n_cols) * static_cast<uint64_t>(r.n_rows) * sizeof(float);
  const WeightLayout layout = layout_of(info, r, widened_bytes);
  if (layout == WeightLayout::x16) {
    bytes = *checked_mul(static_cast<uint64_t>(layout_row_bytes(info.dtype, layout, r.n_cols)),
                         static_cast<uint64_t>(r.n_rows));
  }
  return *checked_align_up(bytes, kSimdAlignment);
}

// The channels of layer r.flash_index out of the flash group tensor `info` (model/flash_layout.h),
// into dst as a plain channel-major tensor: the group is read a few MiB at a time.
Status read_flash_channels(const GgufFile& file, const TensorInfo& info, const Request& r, std::byte* dst,
                           std::vector<uint8_t>* staging) {
  const size_t channel = channel_bytes(info.dtype, r.n_rows), run = channel * static_cast<size_t>(r.flash_layers);
  const int64_t per_read = std::max<int64_t>(1, static_cast<int64_t>((size_t{8} << 20) / run));
  staging->resize(static_cast<size_t>(per_read) * run);
  for (int64_t j0 = 0; j0 < r.n_cols; j0 += per_read) {
    const int64_t n = std::min(per_read, r.n_cols - j0);
    JF_RETURN_IF_ERROR(file.source().read_at(info.offset + static_cast<uint64_t>(j0) * run, staging->data(),
                                             static_cast<size_t>(n) * run));
    for (int64_t j = 0; j < n; ++j) {
      std::memcpy(dst + (j0 + j) * channel, staging->data() + j * run + static_cast<size_t>(r.flash_index) * channel,
                  channel);
    }
  }
  return Status();
}

}  // namespace

// The model-wide roles here, the per-layer ones in layer_tensor: a role added without a field fails
// the role table's test (arch_test, EveryRoleHasItsOwnField).
const TensorView& tensor_of(const ModelWeights& w, TensorRole role, int layer) {
  switch (role) {
    case TensorRole::kTokenEmbd:
      return w.token_embd;
    case TensorRole::kTokenTypes:
      return w.token_types;
    case TensorRole::kPosEmbd:
      return w.pos_embd;
    case TensorRole::kTokenEmbdNorm:
      return w.token_embd_norm.weight;
    case TensorRole::kTokenEmbdNormBias:
      return w.token_embd_norm.bias;
    case TensorRole::kRopeFreqs:
      return w.rope_freqs;
    case TensorRole::kOutputNorm:
      return w.output_norm.weight;
    case TensorRole::kOutputNormBias:
      return w.output_norm.bias;
    case TensorRole::kOutput:
      return w.output.weight;
    case TensorRole::kOutputBias:
      return w.output.bias;
    case TensorRole::kCount:
      break;
    default:  // the per-layer roles
      JF_CHECK(layer >= 0 && layer < static_cast<int>(w.layers.size()));
      return layer_tensor(w.layers[layer], role);
  }
  check_failed(__FILE__, __LINE__, "role < TensorRole::kCount", "tensor_of: not a role");
}

const TensorView& layer_tensor(const LayerWeights& l, TensorRole role, int expert) {
  const bool per_expert = role_info(role).moe == MoeUse::kPerExpert;
  JF_CHECK(!per_expert || (expert >= 0 && expert < static_cast<int>(l.experts.size())));
  switch (role) {
    case TensorRole::kAttnNorm:
      return l.attn_norm.weight;
    case TensorRole::kAttnNormBias:
      return l.attn_norm.bias;
    case TensorRole::kAttnRelBias:
      return l.rel_bias;
    case TensorRole::kAttnQ:
      return l.q.weight;
    case TensorRole::kAttnQBias:
      return l.q.bias;
    case TensorRole::kAttnK:
      return l.k.weight;
    case TensorRole::kAttnKBias:
      return l.k.bias;
    case TensorRole::kAttnV:
      return l.v.weight;
    case TensorRole::kAttnVBias:
      return l.v.bias;
    case TensorRole::kAttnOut:
      return l.o.weight;
    case TensorRole::kAttnOutBias:
      return l.o.bias;
    case TensorRole::kCrossNorm:
      return l.cross_norm.weight;
    case TensorRole::kCrossQ:
      return l.cross_q.weight;
    case TensorRole::kCrossK:
      return l.cross_k.weight;
    case TensorRole::kCrossV:
      return l.cross_v.weight;
    case TensorRole::kCrossOut:
      return l.cross_o.weight;
    case TensorRole::kFfnNorm:
      return l.ffn_norm.weight;
    case TensorRole::kFfnNormBias:
      return l.ffn_norm.bias;
    case TensorRole::kFfnGate:
      return l.gate.weight;
    case TensorRole::kFfnGateBias:
      return l.gate.bias;
    case TensorRole::kFfnUp:
      return l.up.weight;
    case TensorRole::kFfnUpBias:
      return l.up.bias;
    case TensorRole::kFfnDown:
      return l.down.weight;
    case TensorRole::kFfnDownBias:
      return l.down.bias;
    case TensorRole::kFfnGateInp:
      return l.router.weight;
    case TensorRole::kFfnGateExps:
      return l.experts[expert].gate.weight;
    case TensorRole::kFfnUpExps:
      return l.experts[expert].up.weight;
    case TensorRole::kFfnDownExps:
      return l.experts[expert].down.weight;
    default:
      break;
  }
  check_failed(__FILE__, __LINE__, "role is per layer", "layer_tensor: not a per-layer role");
}

std::vector<LinearKind> layer_linear_kinds(const ModelConfig& config) {
  std::vector<LinearKind> kinds;
  for (const TensorRole role : kLayerLinearRoles) {
    if (config.arch_info->tensor(role).need != Need::kAbsent && loaded_for(config, role))
      kinds.push_back({role});
  }
  if (config.n_expert == 0) return kinds;
  for (int e = 0; e < config.n_expert; ++e) {
    for (const TensorRole role :
         {TensorRole::kFfnGateExps, TensorRole::kFfnUpExps, TensorRole::kFfnDownExps}) {
      if (config.arch_info->tensor(role).need != Need::kAbsent) kinds.push_back({role, e});
    }
  }
  return kinds;
}

std::string linear_name(const ArchInfo& arch, LinearKind kind, int layer) {
  return kind.per_expert() ? split_expert_name(arch, kind.role, layer, kind.expert)
                           : tensor_name(arch, kind.role, layer);
}

LinearBytes find_linear_bytes(const GgufFile& file, const ArchInfo& arch, LinearKind kind, int layer) {
  if (const TensorInfo* own = file.find_tensor(linear_name(arch, kind, layer))) {
    return {own, 0, own->n_bytes, own->ne[0], own->n_rows()};
  }
  const TensorInfo* stacked =
      kind.per_expert() ? file.find_tensor(tensor_name(arch, kind.role, layer)) : nullptr;
  if (stacked == nullptr || kind.expert >= stacked->ne[2]) return {};
  const uint64_t bytes = stacked->n_bytes / static_cast<uint64_t>(stacked->ne[2]);
  return {stacked, bytes * static_cast<uint64_t>(kind.expert), bytes, stacked->ne[0], stacked->ne[1]};
}

LinearWeight& layer_linear(LayerWeights& layer, LinearKind kind) {
  switch (kind.role) {
    case TensorRole::kAttnQ:
      return layer.q;
    case TensorRole::kAttnK:
      return layer.k;
    case TensorRole::kAttnV:
      return layer.v;
    case TensorRole::kAttnOut:
      return layer.o;
    case TensorRole::kFfnGate:
      return layer.gate;
    case TensorRole::kFfnUp:
      return layer.up;
    case TensorRole::kFfnDown:
      return layer.down;
    case TensorRole::kFfnGateExps:
      return layer.experts.at(kind.expert).gate;
    case TensorRole::kFfnUpExps:
      return layer.experts.at(kind.expert).up;
    case TensorRole::kFfnDownExps:
      return layer.experts.at(kind.expert).down;
    default:
      break;
  }
  check_failed(__FILE__, __LINE__, "a layer linear kind", "layer_linear: not a layer linear");
}

std::vector<NamedLinear> model_linears(const ModelWeights& w) {
  std::vector<NamedLinear> out;
  for (int layer = 0; layer < static_cast<int>(w.layers.size()); ++layer) {
    const LayerWeights& l = w.layers[layer];
    for (size_t i = 0; i < kTensorRoleCount; ++i) {
      const TensorRole role = static_cast<TensorRole>(i);
      const RoleInfo& info = role_info(role);
      if (!info.per_layer || info.kind != RoleKind::kMatrix) continue;
      const int n_experts = info.moe == MoeUse::kPerExpert ? static_cast<int>(l.experts.size()) : 1;
      for (int e = 0; e < n_experts; ++e) {
        if (layer_tensor(l, role, e).present()) out.push_back({layer, role, e, &layer_tensor(l, role, e)});
      }
    }
  }
  if (w.output.weight.present()) out.push_back({-1, TensorRole::kOutput, 0, &w.output.weight});
  return out;
}

Result<ModelWeights> load_weights(const GgufFile& file, const ModelConfig& config, FlashLinears flash_linears) {
  ModelWeights w;
  std::vector<Request> requests = plan_requests(config, &w);
  JF_ASSIGN_OR_RETURN(const std::set<std::string> channel_major, channel_major_names(file));
  JF_ASSIGN_OR_RETURN(const std::optional<FlashLayout> flash, read_flash_layout(file, config.n_layer));

  // The arena's size with every matrix widened that the build widens (resident_dtype with 0), on which
  // resident_dtype then decides.
  uint64_t widened_bytes = 0;
  std::vector<const TensorInfo*> infos(requests.size(), nullptr);
  for (size_t i = 0; i < requests.size(); ++i) {
    Request& r = requests[i];
    r.channel_major = r.linear && channel_major.count(r.name) > 0;
    std::string stored = r.channel_major ? r.name + kChannelMajorSuffix : r.name;
    const LinearKind kind{r.role, r.expert};
    if (r.linear && flash && flash->linears.count(linear_name(*config.arch_info, kind, r.layer)) > 0) {
      // An expert's matrix is grouped as a tensor of its own, named as in the split layout.
      const int group = flash->groups.of(r.layer);
      r.name = linear_name(*config.arch_info, kind, r.layer);
      r.n_experts = 0;
      r.channel_major = true;
      r.flash_layers = flash->groups.size_of(group);
      r.flash_index = r.layer - flash->groups.first(group);
      stored = flash_tensor_name(linear_name(*config.arch_info, kind, flash->groups.first(group)));
    }
    infos[i] = file.find_tensor(stored);
    if (infos[i] == nullptr && r.n_experts > 0) {
      // The older layout: this expert's matrix as a tensor of its own.
      const std::string split = split_expert_name(*config.arch_info, r.role, r.layer, r.expert);
      if ((infos[i] = file.find_tensor(split)) == nullptr) {
        return error(StatusCode::kNotFound, "%s: tensor '%s' is missing (and so is expert %d's own '%s')",
                     file.path().c_str(), stored.c_str(), r.expert, split.c_str());
      }
      r.name = split;
      r.n_experts = 0;
    }
    if (infos[i] == nullptr) {
      if (r.need == Need::kOptional && !r.channel_major) continue;
      return error(StatusCode::kNotFound, "%s: tensor '%s' is missing", file.path().c_str(), stored.c_str());
    }
    JF_RETURN_IF_ERROR(check_shape(file, *infos[i], r));
    if (r.flash_layers > 0 && flash_linears == FlashLinears::streamed) continue;
    widened_bytes += arena_bytes(*infos[i], r, 0);
  }
  uint64_t total = 0;
  for (size_t i = 0; i < requests.size(); ++i) {
    const bool streamed = requests[i].flash_layers > 0 && flash_linears == FlashLinears::streamed;
    if (infos[i] != nullptr && !streamed) total += arena_bytes(*infos[i], requests[i], widened_bytes);
  }

  w.arena = AlignedBuffer(total);
  if (w.arena.data() == nullptr && total > 0) {
    return error(StatusCode::kOutOfRange, "%s: cannot allocate %" PRIu64 " bytes for the weights",
                 file.path().c_str(), total);
  }
  w.n_bytes = total;
  std::byte* cursor = w.arena.data();
  std::vector<uint8_t> staging;
  for (size_t i = 0; i < requests.size(); ++i) {
    const Request& r = requests[i];
    const TensorInfo* info = infos[i];
    if (info == nullptr) continue;
    TensorView& t = *r.dst;
    t.name = r.n_experts > 0 ? str_printf("%s[%d]", r.name.c_str(), r.expert) : r.name;
    t.n_cols = r.n_cols;
    t.n_rows = r.n_rows;
    if (r.flash_layers > 0 && flash_linears == FlashLinears::streamed) {
      t.dtype = info->dtype;
      t.layout = WeightLayout::channel_major;
      continue;
    }
    t.data = cursor;
    if (kept_as_f32(*info, r, widened_bytes) && info->dtype != DType::F32) {
      staging.resize(part_bytes(*info, r));
      JF_RETURN_IF_ERROR(read_part(file, *info, r, staging.data()));
      dequantize_row(info->dtype, staging.data(), reinterpret_cast<float*>(cursor), r.n_cols * r.n_rows);
      t.dtype = DType::F32;
    } else if (const WeightLayout layout = layout_of(*info, r, widened_bytes); layout == WeightLayout::x16) {
      staging.resize(part_bytes(*info, r));
      JF_RETURN_IF_ERROR(read_part(file, *info, r, staging.data()));
      pack_rows(info->dtype, layout, staging.data(), r.n_rows, r.n_cols, cursor);
      t.dtype = info->dtype;
      t.layout = layout;
    } else if (r.flash_layers > 0) {
      JF_RETURN_IF_ERROR(read_flash_channels(file, *info, r, cursor, &staging));
      t.dtype = info->dtype;
      t.layout = layout;
    } else {
      JF_RETURN_IF_ERROR(read_part(file, *info, r, cursor));
      t.dtype = info->dtype;
      t.layout = layout;
    }
    cursor += arena_bytes(*info, r, widened_bytes);
  }
  if (!w.output.weight.present() && config.arch_info->tied_output) w.output.weight = w.token_embd;
  return w;
}

}  // namespace jf
