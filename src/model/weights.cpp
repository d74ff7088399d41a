#include "model/weights.h"

#include <cinttypes>

#include "base/checked_math.h"
#include "kernels/matmul/matmul.h"
#include "tensor/quant.h"

namespace jf {
namespace {

enum class Need { kRequired, kOptional };

// One tensor to load: where its descriptor goes and which shape it must have.
struct Request {
  TensorView* dst;
  std::string name;
  int64_t n_cols;
  int64_t n_rows;  // 1 for vectors
  Need need;
  bool vector;  // norms and biases: converted to f32 at load time
};

Status check_shape(const GgufFile& file, const TensorInfo& info, const Request& r) {
  const bool ok_shape =
      info.ne[0] == r.n_cols && info.n_rows() == r.n_rows && info.ne[2] == 1 && info.ne[3] == 1;
  if (!ok_shape) {
    return error(StatusCode::kCorruptFile,
                 "%s: tensor '%s' has shape %s, expected [%" PRId64 ", %" PRId64 "]", file.path().c_str(),
                 r.name.c_str(), info.shape_string().c_str(), r.n_cols, r.n_rows);
  }
  if (!dtype_info(info.dtype).supported) {
    return error(StatusCode::kUnsupported,
                 "%s: tensor '%s' has type %s, which jitflow cannot compute with yet", file.path().c_str(),
                 r.name.c_str(), dtype_name(info.dtype));
  }
  return Status();
}

std::vector<Request> plan_requests(const ModelConfig& c, ModelWeights* w, bool tied_output) {
  const int64_t e = c.n_embd, q = c.n_embd_q(), kv = c.n_embd_kv(), ff = c.n_ff, v = c.n_vocab;
  std::vector<Request> r = {
      {&w->token_embd, "token_embd.weight", e, v, Need::kRequired, false},
      {&w->output_norm, "output_norm.weight", e, 1, Need::kRequired, true},
      {&w->rope_freqs, "rope_freqs.weight", c.n_rot / 2, 1, Need::kOptional, true},
  };
  if (!tied_output) r.push_back({&w->output, "output.weight", e, v, Need::kRequired, false});
  w->layers.resize(c.n_layer);
  for (int i = 0; i < c.n_layer; ++i) {
    LayerWeights& l = w->layers[i];
    const std::string p = "blk." + std::to_string(i) + ".";
    const Need bias = c.has_qkv_bias ? Need::kRequired : Need::kOptional;
    r.push_back({&l.attn_norm, p + "attn_norm.weight", e, 1, Need::kRequired, true});
    r.push_back({&l.wq, p + "attn_q.weight", e, q, Need::kRequired, false});
    r.push_back({&l.wk, p + "attn_k.weight", e, kv, Need::kRequired, false});
    r.push_back({&l.wv, p + "attn_v.weight", e, kv, Need::kRequired, false});
    r.push_back({&l.bq, p + "attn_q.bias", q, 1, bias, true});
    r.push_back({&l.bk, p + "attn_k.bias", kv, 1, bias, true});
    r.push_back({&l.bv, p + "attn_v.bias", kv, 1, bias, true});
    r.push_back({&l.wo, p + "attn_output.weight", q, e, Need::kRequired, false});
    r.push_back({&l.ffn_norm, p + "ffn_norm.weight", e, 1, Need::kRequired, true});
    r.push_back({&l.w_gate, p + "ffn_gate.weight", e, ff, Need::kRequired, false});
    r.push_back({&l.w_up, p + "ffn_up.weight", e, ff, Need::kRequired, false});
    r.push_back({&l.w_down, p + "ffn_down.weight", ff, e, Need::kRequired, false});
  }
  return r;
}

// Matrices are kept in the layout the matmul kernels of this CPU read fastest (weight_layout.h).
WeightLayout layout_of(const TensorInfo& info, const Request& r) {
  return r.vector ? WeightLayout::rows : preferred_layout(info.dtype);
}

// Bytes the tensor occupies in the arena: vectors are stored as f32 whatever their file type;
// repacked matrices may be padded.
uint64_t arena_bytes(const TensorInfo& info, const Request& r) {
  uint64_t bytes = info.n_bytes;
  if (r.vector) bytes = static_cast<uint64_t>(info.n_elements()) * sizeof(float);
  const WeightLayout layout = layout_of(info, r);
  if (layout != WeightLayout::rows) {
    bytes = *checked_mul(static_cast<uint64_t>(layout_row_bytes(info.dtype, layout, r.n_cols)),
                         static_cast<uint64_t>(r.n_rows));
  }
  return *checked_align_up(bytes, kSimdAlignment);
}

}  // namespace

Result<ModelWeights> load_weights(const GgufFile& file, const ModelConfig& config) {
  ModelWeights w;
  const bool tied_output = file.find_tensor("output.weight") == nullptr;
  std::vector<Request> requests = plan_requests(config, &w, tied_output);

  uint64_t total = 0;
  std::vector<const TensorInfo*> infos(requests.size(), nullptr);
  for (size_t i = 0; i < requests.size(); ++i) {
    const Request& r = requests[i];
    infos[i] = file.find_tensor(r.name);
    if (infos[i] == nullptr) {
      if (r.need == Need::kOptional) continue;
      return error(StatusCode::kNotFound, "%s: tensor '%s' is missing", file.path().c_str(), r.name.c_str());
    }
    JF_RETURN_IF_ERROR(check_shape(file, *infos[i], r));
    total += arena_bytes(*infos[i], r);
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
    t.name = r.name;
    t.n_cols = r.n_cols;
    t.n_rows = r.n_rows;
    t.data = cursor;
    if (r.vector && info->dtype != DType::F32) {
      staging.resize(info->n_bytes);
      JF_RETURN_IF_ERROR(file.read_tensor(*info, staging.data()));
      dequantize_row(info->dtype, staging.data(), reinterpret_cast<float*>(cursor), info->n_elements());
      t.dtype = DType::F32;
    } else if (const WeightLayout layout = layout_of(*info, r); layout != WeightLayout::rows) {
      staging.resize(info->n_bytes);
      JF_RETURN_IF_ERROR(file.read_tensor(*info, staging.data()));
      pack_rows(info->dtype, layout, staging.data(), r.n_rows, r.n_cols, cursor);
      t.dtype = info->dtype;
      t.layout = layout;
    } else {
      JF_RETURN_IF_ERROR(file.read_tensor(*info, cursor));
      t.dtype = info->dtype;
    }
    cursor += arena_bytes(*info, r);
  }
  if (tied_output) w.output = w.token_embd;
  return w;
}

}  // namespace jf
