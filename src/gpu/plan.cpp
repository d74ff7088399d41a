#include "gpu/plan.h"

#include <algorithm>
#include <cstring>
#include <map>

#include "base/fp16.h"
#include "gpu/gpu_layout.h"
#include "model/arch.h"
#include "model/hparams.h"
#include "tensor/quant.h"

namespace jf::gpu {

int Plan::add_buffer(std::string name, uint64_t bytes, const uint8_t* contents) {
  PlanBuffer b{std::move(name), bytes, -1};
  if (contents != nullptr) {
    b.data_offset = static_cast<int64_t>(data.size());
    data.insert(data.end(), contents, contents + bytes);
    data.resize((data.size() + 15) / 16 * 16);
  }
  buffers.push_back(std::move(b));
  return static_cast<int>(buffers.size()) - 1;
}

int Plan::add_kernel(const WgslKernel& kernel) {
  auto same = [&](const WgslKernel& k) { return k.source == kernel.source; };
  auto it = std::find_if(kernels.begin(), kernels.end(), same);
  if (it != kernels.end()) return static_cast<int>(it - kernels.begin());
  kernels.push_back(kernel);
  return static_cast<int>(kernels.size()) - 1;
}

void Plan::add_step(Pass pass, const WgslKernel& kernel, std::vector<int> bound, Groups groups) {
  (pass == Pass::kDecode ? steps : prefill_steps).push_back({add_kernel(kernel), std::move(bound), groups});
}

namespace {

uint32_t blocks_of(int64_t n, int64_t per_group) {
  return static_cast<uint32_t>((n + per_group - 1) / per_group);
}

// Builds the plan of one model: the file, its config, and the buffers made so far.
class PlanBuilder {
 public:
  PlanBuilder(const GgufFile& file, const ModelConfig& config, const PlanOptions& options)
      : file_(file), c_(config), arch_(*config.arch_info), options_(options) {}

  Result<Plan> build() {
    JF_RETURN_IF_ERROR(check_architecture());
    plan_.shape = c_;
    plan_.n_ctx = options_.n_ctx > 0 ? options_.n_ctx : std::min(c_.n_ctx_train, kMaxWgslContext);
    if (plan_.n_ctx > kMaxWgslContext || plan_.n_ctx < 1) {
      return error(StatusCode::kInvalidArgument,
                   "%s: a context of %d tokens; the WebGPU back end holds 1 to %d", file_.path().c_str(),
                   plan_.n_ctx, kMaxWgslContext);
    }
    plan_.batch = std::min(options_.batch, plan_.n_ctx);
    plan_.params = plan_.add_buffer("params", sizeof(uint32_t) * (2 + static_cast<uint64_t>(plan_.batch)));
    plan_.top_k = std::min(options_.top_k, c_.n_vocab);
    plan_.result = plan_.add_buffer("result", 8 * static_cast<uint64_t>(plan_.top_k));
    JF_RETURN_IF_ERROR(add_activations());
    JF_RETURN_IF_ERROR(add_rope_table());
    JF_ASSIGN_OR_RETURN(embd_, matrix(TensorRole::kTokenEmbd, 0, Dim::kEmbd, Dim::kVocab));
    layers_.resize(static_cast<size_t>(c_.n_layer));
    for (int l = 0; l < c_.n_layer; ++l) JF_RETURN_IF_ERROR(load_layer(l, &layers_[static_cast<size_t>(l)]));
    JF_ASSIGN_OR_RETURN(out_norm_, norm_vector(TensorRole::kOutputNorm, 0, c_.n_embd));
    head_ = embd_;
    if (file_.find_tensor(tensor_name(arch_, TensorRole::kOutput, 0)) != nullptr || !arch_.tied_output) {
      JF_ASSIGN_OR_RETURN(head_, matrix(TensorRole::kOutput, 0, Dim::kEmbd, Dim::kVocab));
    }
    add_pass(Pass::kDecode);
    add_pass(Pass::kPrefill);
    for (const auto& [type, n] : converted_) {
      plan_.notes.push_back(std::to_string(n) + " " + type + " matrices stored as f16 (rounded)");
    }
    return std::move(plan_);
  }

  struct Matrix {
    int buffer = -1;
    DType dtype = DType::F32;
    int64_t n_rows = 0, n_cols = 0;
  };

  struct LayerWeights {
    int attn_norm = -1, ffn_norm = -1, k_cache = -1, v_cache = -1;
    Matrix wq, wk, wv, wo, wgate, wup, wdown;
  };

  Status unsupported(const char* what) const {
    return error(StatusCode::kUnsupported, "%s: %s; the WebGPU back end runs Llama-family decoders",
                 file_.path().c_str(), what);
  }

  Status check_architecture() const {
    if (arch_.forward != ForwardKind::kDecoder) return unsupported("not a decoder-only model");
    if (arch_.norm != NormKind::kRms) return unsupported("LayerNorm");
    if (arch_.ffn != FfnKind::kSwiGlu) return unsupported("an FFN other than SwiGLU");
    if (!uses_rope(arch_.positions) || c_.n_rot == 0) return unsupported("positions other than RoPE");
    if (c_.n_expert > 0) return unsupported("a mixture of experts");
    for (TensorRole role : {TensorRole::kAttnQBias, TensorRole::kAttnKBias, TensorRole::kAttnVBias,
                            TensorRole::kAttnOutBias, TensorRole::kOutputBias}) {
      if (file_.find_tensor(tensor_name(arch_, role, 0)) != nullptr) return unsupported("linear biases");
    }
    return Status::ok_status();
  }

  int64_t dim(Dim d) const {
    switch (d) {
      case Dim::kEmbd:
        return c_.n_embd;
      case Dim::kEmbdQ:
        return c_.n_embd_q();
      case Dim::kEmbdKv:
        return c_.n_embd_kv();
      case Dim::kFf:
        return c_.n_ff;
      case Dim::kVocab:
        return c_.n_vocab;
      default:
        return 1;
    }
  }

  Result<const TensorInfo*> tensor(TensorRole role, int layer) const {
    const std::string name = tensor_name(arch_, role, layer);
    const TensorInfo* info = file_.find_tensor(name);
    if (info == nullptr) {
      return error(StatusCode::kCorruptFile, "%s: tensor '%s' is missing", file_.path().c_str(),
                   name.c_str());
    }
    return info;
  }

  Result<std::vector<uint8_t>> read(const TensorInfo& info) const {
    std::vector<uint8_t> bytes(info.n_bytes);
    JF_RETURN_IF_ERROR(file_.read_tensor(info, bytes.data()));
    return bytes;
  }

  // A weight matrix [n_rows, n_cols] (ggml ne = {n_cols, n_rows}) in its GPU layout. A type the
  // shaders do not read (the K-quants, the other legacy quants, BF16) is dequantised and stored as
  // F16, which rounds it: the plan notes each such tensor.
  Result<Matrix> matrix(TensorRole role, int layer, Dim cols, Dim rows) {
    JF_ASSIGN_OR_RETURN(const TensorInfo* info, tensor(role, layer));
    const int64_t n_cols = dim(cols), n_rows = dim(rows);
    if (info->ne[0] != n_cols || info->n_rows() != n_rows) {
      return error(StatusCode::kCorruptFile, "%s: tensor '%s' is %s, expected [%lld, %lld]",
                   file_.path().c_str(), info->name.c_str(), info->shape_string().c_str(),
                   static_cast<long long>(n_cols), static_cast<long long>(n_rows));
    }
    const DType dtype = wgsl_supports(info->dtype) ? info->dtype : DType::F16;
    if (!dtype_info(info->dtype).supported ||
        n_cols % (dtype == DType::F32 || dtype == DType::F16 ? 4 : 32) != 0) {
      return error(
          StatusCode::kUnsupported,
          "%s: tensor '%s' is %s with %lld columns; the WebGPU back end reads F32 and F16 (columns a "
          "multiple of 4), Q8_0 and Q4_0, and converts the other types jitflow reads to F16",
          file_.path().c_str(), info->name.c_str(), dtype_name(info->dtype), static_cast<long long>(n_cols));
    }
    JF_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, read(*info));
    if (dtype != info->dtype) {
      bytes = to_f16(info->dtype, bytes, n_rows, n_cols);
      ++converted_[dtype_name(info->dtype)];
    }
    std::vector<uint8_t> packed(gpu_row_bytes(dtype, n_cols) * static_cast<uint64_t>(n_rows));
    to_gpu_layout(dtype, bytes.data(), n_rows, n_cols, packed.data());
    return Matrix{plan_.add_buffer(info->name, packed.size(), packed.data()), dtype, n_rows, n_cols};
  }

  static std::vector<uint8_t> to_f16(DType dtype, const std::vector<uint8_t>& bytes, int64_t n_rows,
                                     int64_t n_cols) {
    std::vector<uint8_t> out(static_cast<size_t>(n_rows * n_cols) * 2);
    std::vector<float> row(static_cast<size_t>(n_cols));
    for (int64_t r = 0; r < n_rows; ++r) {
      dequantize_row(dtype, bytes.data() + r * row_bytes(dtype, n_cols), row.data(), n_cols);
      for (int64_t i = 0; i < n_cols; ++i) {
        const uint16_t h = f32_to_fp16(row[static_cast<size_t>(i)]);
        std::memcpy(out.data() + (r * n_cols + i) * 2, &h, 2);
      }
    }
    return out;
  }

  // A vector of n floats (norm weights), converted to f32.
  Result<int> norm_vector(TensorRole role, int layer, int64_t n) {
    JF_ASSIGN_OR_RETURN(const TensorInfo* info, tensor(role, layer));
    if (info->n_elements() != n) {
      return error(StatusCode::kCorruptFile, "%s: tensor '%s' has %lld elements, expected %lld",
                   file_.path().c_str(), info->name.c_str(), static_cast<long long>(info->n_elements()),
                   static_cast<long long>(n));
    }
    JF_ASSIGN_OR_RETURN(const std::vector<uint8_t> bytes, read(*info));
    std::vector<float> values(static_cast<size_t>(n));
    dequantize_row(info->dtype, bytes.data(), values.data(), n);
    return plan_.add_buffer(info->name, values.size() * sizeof(float),
                            reinterpret_cast<const uint8_t*>(values.data()));
  }

  int activation(const char* name, int64_t n_floats) {
    return plan_.add_buffer(name, static_cast<uint64_t>(n_floats) * sizeof(float));
  }

  // Rows of one prefill batch (decode uses the first).
  Status add_activations() {
    const int64_t b = plan_.batch;
    x_ = activation("x", b * c_.n_embd);
    xn_ = activation("xn", b * c_.n_embd);
    q_ = activation("q", b * c_.n_embd_q());
    q_rot_ = activation("q_rot", b * c_.n_embd_q());
    k_ = activation("k", b * c_.n_embd_kv());
    v_ = activation("v", b * c_.n_embd_kv());
    att_ = activation("attention", b * c_.n_embd_q());
    gate_ = activation("gate", b * c_.n_ff);
    up_ = activation("up", b * c_.n_ff);
    logits_ = activation("logits", c_.n_vocab);
    return Status::ok_status();
  }

  // cos and sin of every pair at every position, as the CPU forward pass computes them.
  Status add_rope_table() {
    RopeParams p;
    p.n_rot = c_.n_rot;
    p.freq_base = c_.rope_freq_base;
    p.freq_scale = c_.rope_freq_scale;
    p.pairing = arch_.positions == PositionKind::kRopeNeox ? RopePairing::kHalves : RopePairing::kAdjacent;
    pairing_ = p.pairing;
    std::vector<float> factors;
    const TensorInfo* freqs = file_.find_tensor(tensor_name(arch_, TensorRole::kRopeFreqs, 0));
    if (freqs != nullptr) {
      if (freqs->n_elements() != c_.n_rot / 2) {
        return error(StatusCode::kCorruptFile, "%s: tensor '%s' has %lld elements, expected %d",
                     file_.path().c_str(), freqs->name.c_str(), static_cast<long long>(freqs->n_elements()),
                     c_.n_rot / 2);
      }
      JF_ASSIGN_OR_RETURN(const std::vector<uint8_t> bytes, read(*freqs));
      factors.resize(static_cast<size_t>(c_.n_rot / 2));
      dequantize_row(freqs->dtype, bytes.data(), factors.data(), c_.n_rot / 2);
      p.freq_factors = factors.data();
    }
    std::vector<float> table(static_cast<size_t>(plan_.n_ctx) * c_.n_rot);
    for (int pos = 0; pos < plan_.n_ctx; ++pos)
      rope_angles(p, pos, table.data() + static_cast<size_t>(pos) * c_.n_rot);
    rope_table_ = plan_.add_buffer("rope_table", table.size() * sizeof(float),
                                   reinterpret_cast<const uint8_t*>(table.data()));
    return Status::ok_status();
  }

  // y (+)= W x for the pass's tokens: a matmul at prefill, else (decode, or one row) a matvec. Each
  // is a tuner's workload, but for the head on the last row.
  void add_linear(Pass pass, const Matrix& w, int x, int y, bool accumulate, bool one_row = false) {
    if (pass == Pass::kPrefill && !one_row) {
      plan_.add_step(pass, wgsl_matmul(w.dtype, w.n_rows, w.n_cols, accumulate, options_.matmul),
                     {plan_.params, w.buffer, x, y}, matmul_groups(w.n_rows, plan_.batch, options_.matmul));
    } else {
      plan_.add_step(pass, wgsl_matvec(w.dtype, w.n_rows, w.n_cols, accumulate, options_.matvec),
                     {w.buffer, x, y}, matvec_groups(w.n_rows, options_.matvec));
    }
    if (pass == Pass::kDecode || !one_row) add_to_workload(pass, w, accumulate);
  }

  // Files the step just added under its workload, made (with its candidates) on first sight.
  void add_to_workload(Pass pass, const Matrix& w, bool accumulate) {
    const std::string name =
        std::string(dtype_name(w.dtype)) + (pass == Pass::kDecode ? "-f32-matvec" : "-f32-matmul") +
        (accumulate ? "-acc " : " ") + std::to_string(w.n_rows) + "x" + std::to_string(w.n_cols);
    auto same = [&](const PlanWorkload& wl) { return wl.name == name; };
    auto it = std::find_if(plan_.workloads.begin(), plan_.workloads.end(), same);
    if (it == plan_.workloads.end()) {
      plan_.workloads.push_back({name, pass, {}, 0, {}});
      it = plan_.workloads.end() - 1;
      if (options_.candidates && pass == Pass::kDecode) add_matvec_candidates(*it, w, accumulate);
      if (options_.candidates && pass == Pass::kPrefill) add_matmul_candidates(*it, w, accumulate);
    }
    const auto& steps = pass == Pass::kDecode ? plan_.steps : plan_.prefill_steps;
    it->steps.push_back(static_cast<int>(steps.size()) - 1);
  }

  void add_matvec_candidates(PlanWorkload& workload, const Matrix& w, bool accumulate) {
    workload.full_space = matvec_full_space().size();
    const std::vector<MatvecConfig> space = options_.full_space
                                                ? matvec_full_space()
                                                : matvec_space(w.dtype, w.n_rows, w.n_cols, options_.adapter);
    for (const MatvecConfig& c : space) {
      const int kernel = plan_.add_kernel(wgsl_matvec(w.dtype, w.n_rows, w.n_cols, accumulate, c));
      workload.candidates.push_back({kernel, config_name(c), matvec_groups(w.n_rows, c)});
    }
  }

  void add_matmul_candidates(PlanWorkload& workload, const Matrix& w, bool accumulate) {
    workload.full_space = matmul_full_space().size();
    const std::vector<MatmulConfig> space =
        options_.full_space ? matmul_full_space() : matmul_space(w.n_rows, plan_.batch, options_.adapter);
    for (const MatmulConfig& c : space) {
      const int kernel = plan_.add_kernel(wgsl_matmul(w.dtype, w.n_rows, w.n_cols, accumulate, c));
      workload.candidates.push_back({kernel, config_name(c), matmul_groups(w.n_rows, plan_.batch, c)});
    }
  }

  Status load_layer(int l, LayerWeights* w) {
    JF_ASSIGN_OR_RETURN(w->attn_norm, norm_vector(TensorRole::kAttnNorm, l, c_.n_embd));
    JF_ASSIGN_OR_RETURN(w->wq, matrix(TensorRole::kAttnQ, l, Dim::kEmbd, Dim::kEmbdQ));
    JF_ASSIGN_OR_RETURN(w->wk, matrix(TensorRole::kAttnK, l, Dim::kEmbd, Dim::kEmbdKv));
    JF_ASSIGN_OR_RETURN(w->wv, matrix(TensorRole::kAttnV, l, Dim::kEmbd, Dim::kEmbdKv));
    JF_ASSIGN_OR_RETURN(w->wo, matrix(TensorRole::kAttnOut, l, Dim::kEmbdQ, Dim::kEmbd));
    JF_ASSIGN_OR_RETURN(w->ffn_norm, norm_vector(TensorRole::kFfnNorm, l, c_.n_embd));
    JF_ASSIGN_OR_RETURN(w->wgate, matrix(TensorRole::kFfnGate, l, Dim::kEmbd, Dim::kFf));
    JF_ASSIGN_OR_RETURN(w->wup, matrix(TensorRole::kFfnUp, l, Dim::kEmbd, Dim::kFf));
    JF_ASSIGN_OR_RETURN(w->wdown, matrix(TensorRole::kFfnDown, l, Dim::kFf, Dim::kEmbd));
    const std::string layer = "blk." + std::to_string(l) + ".";
    const uint64_t cache_bytes = static_cast<uint64_t>(plan_.n_ctx) * c_.n_embd_kv() * sizeof(float);
    w->k_cache = plan_.add_buffer(layer + "k_cache", cache_bytes);
    w->v_cache = plan_.add_buffer(layer + "v_cache", cache_bytes);
    return Status::ok_status();
  }

  // The steps of one pass over `tokens` rows (decode: 1; prefill: the batch): embeddings, every
  // layer, and the output head on the last row.
  void add_pass(Pass pass) {
    const int64_t t = pass == Pass::kDecode ? 1 : plan_.batch;
    const uint32_t rows = static_cast<uint32_t>(t);
    const int p = plan_.params;
    plan_.add_step(pass, wgsl_get_rows(embd_.dtype, c_.n_embd), {p, embd_.buffer, x_},
                   {blocks_of(c_.n_embd, 64), rows});
    for (const LayerWeights& w : layers_) {
      plan_.add_step(pass, wgsl_rmsnorm(c_.n_embd, c_.norm_eps, false), {p, x_, w.attn_norm, xn_}, {rows, 1});
      add_linear(pass, w.wq, xn_, q_, false);
      add_linear(pass, w.wk, xn_, k_, false);
      add_linear(pass, w.wv, xn_, v_, false);
      plan_.add_step(pass, wgsl_rope(c_.n_head, c_.head_dim, c_.n_rot, pairing_, false),
                     {p, rope_table_, q_, q_rot_}, {blocks_of(t * c_.n_embd_q(), 64), 1});
      plan_.add_step(pass, wgsl_rope(c_.n_head_kv, c_.head_dim, c_.n_rot, pairing_, true),
                     {p, rope_table_, k_, w.k_cache}, {blocks_of(t * c_.n_embd_kv(), 64), 1});
      plan_.add_step(pass, wgsl_store_rows(c_.n_embd_kv()), {p, v_, w.v_cache},
                     {blocks_of(t * c_.n_embd_kv(), 64), 1});
      plan_.add_step(pass, wgsl_attention(c_.n_head, c_.n_head_kv, c_.head_dim, plan_.n_ctx),
                     {p, q_rot_, w.k_cache, w.v_cache, att_}, {static_cast<uint32_t>(c_.n_head), rows});
      add_linear(pass, w.wo, att_, x_, true);
      plan_.add_step(pass, wgsl_rmsnorm(c_.n_embd, c_.norm_eps, false), {p, x_, w.ffn_norm, xn_}, {rows, 1});
      add_linear(pass, w.wgate, xn_, gate_, false);
      add_linear(pass, w.wup, xn_, up_, false);
      plan_.add_step(pass, wgsl_swiglu(c_.n_ff), {p, gate_, up_}, {blocks_of(t * c_.n_ff, 64), 1});
      add_linear(pass, w.wdown, gate_, x_, true);
    }
    plan_.add_step(pass, wgsl_rmsnorm(c_.n_embd, c_.norm_eps, true), {p, x_, out_norm_, xn_}, {1, 1});
    add_linear(pass, head_, xn_, logits_, false, /*one_row=*/true);
    plan_.add_step(pass, wgsl_top_k(c_.n_vocab, plan_.top_k), {logits_, plan_.result}, {1, 1});
  }

  const GgufFile& file_;
  const ModelConfig& c_;
  const ArchInfo& arch_;
  PlanOptions options_;
  Plan plan_;
  RopePairing pairing_ = RopePairing::kAdjacent;
  int x_ = -1, xn_ = -1, q_ = -1, q_rot_ = -1, k_ = -1, v_ = -1, att_ = -1, gate_ = -1, up_ = -1,
      logits_ = -1;
  int rope_table_ = -1, out_norm_ = -1;
  Matrix embd_, head_;
  std::vector<LayerWeights> layers_;
  std::map<std::string, int> converted_;  // matrices stored as F16, by their file type
};

Json model_json(const ModelShape& s) {
  Json m = Json::object();
  m.set("arch", Json::string(s.arch));
  m.set("name", Json::string(s.name));
  m.set("n_vocab", Json::number(s.n_vocab));
  m.set("n_embd", Json::number(s.n_embd));
  m.set("n_layer", Json::number(s.n_layer));
  m.set("n_head", Json::number(s.n_head));
  m.set("n_head_kv", Json::number(s.n_head_kv));
  m.set("head_dim", Json::number(s.head_dim));
  m.set("n_ff", Json::number(s.n_ff));
  return m;
}

Json groups_json(Groups g) {
  Json j = Json::array();
  j.push_back(Json::number(g.x));
  j.push_back(Json::number(g.y));
  return j;
}

Json steps_json(const std::vector<PlanStep>& steps) {
  Json out = Json::array();
  for (const PlanStep& s : steps) {
    Json j = Json::object();
    j.set("kernel", Json::number(s.kernel));
    Json bound = Json::array();
    for (int b : s.buffers) bound.push_back(Json::number(b));
    j.set("buffers", std::move(bound));
    j.set("groups", groups_json(s.groups));
    out.push_back(std::move(j));
  }
  return out;
}

Json workload_json(const PlanWorkload& w) {
  Json j = Json::object();
  j.set("name", Json::string(w.name));
  j.set("pass", Json::string(w.pass == Pass::kDecode ? "decode" : "prefill"));
  Json steps = Json::array();
  for (int s : w.steps) steps.push_back(Json::number(s));
  j.set("steps", std::move(steps));
  j.set("full_space", Json::number(static_cast<double>(w.full_space)));
  Json candidates = Json::array();
  for (const PlanCandidate& c : w.candidates) {
    Json e = Json::object();
    e.set("kernel", Json::number(c.kernel));
    e.set("config", Json::string(c.config));
    e.set("groups", groups_json(c.groups));
    candidates.push_back(std::move(e));
  }
  j.set("candidates", std::move(candidates));
  return j;
}

}  // namespace

Result<Plan> build_plan(const GgufFile& file, const PlanOptions& options) {
  JF_ASSIGN_OR_RETURN(const ModelConfig config, read_model_config(file));
  if (options.top_k < 1 || options.top_k > kMaxTopK) {
    return error(StatusCode::kInvalidArgument, "top-k %d: the WebGPU back end reads back 1 to %d candidates",
                 options.top_k, kMaxTopK);
  }
  if (!is_valid(options.matmul) || options.batch < 1) {
    return error(StatusCode::kInvalidArgument,
                 "prefill: batch %d, matmul tile %dx%d, workgroup %dx%d: batch >= 1, tiles 1, 2, 4 or 8, "
                 "workgroups of 64",
                 options.batch, options.matmul.rows, options.matmul.tokens, options.matmul.wg_rows,
                 options.matmul.wg_tokens);
  }
  if (!is_valid(options.matvec)) {
    return error(
        StatusCode::kInvalidArgument,
        "matvec config lanes %d, tile %d, workgroup %d: lanes a power of two up to the workgroup, tile 1, 2, "
        "4 or 8, workgroup 32, 64, 128 or 256",
        options.matvec.lanes, options.matvec.tile, options.matvec.workgroup);
  }
  return PlanBuilder(file, config, options).build();
}

Json plan_json(const Plan& plan) {
  Json root = Json::object();
  root.set("format", Json::string("jitflow-webgpu-plan"));
  root.set("version", Json::number(3));
  root.set("model", model_json(plan.shape));
  root.set("n_ctx", Json::number(plan.n_ctx));
  root.set("batch", Json::number(plan.batch));
  root.set("top_k", Json::number(plan.top_k));
  root.set("data_bytes", Json::number(static_cast<double>(plan.data.size())));
  root.set("params", Json::number(plan.params));
  root.set("result", Json::number(plan.result));
  Json notes = Json::array();
  for (const std::string& note : plan.notes) notes.push_back(Json::string(note));
  root.set("notes", std::move(notes));
  Json buffers = Json::array();
  for (const PlanBuffer& b : plan.buffers) {
    Json j = Json::object();
    j.set("name", Json::string(b.name));
    j.set("bytes", Json::number(static_cast<double>(b.bytes)));
    if (b.data_offset >= 0) j.set("data", Json::number(static_cast<double>(b.data_offset)));
    buffers.push_back(std::move(j));
  }
  root.set("buffers", std::move(buffers));
  Json kernels = Json::array();
  for (const WgslKernel& k : plan.kernels) {
    Json j = Json::object();
    j.set("name", Json::string(k.name));
    j.set("wgsl", Json::string(k.source));
    kernels.push_back(std::move(j));
  }
  root.set("kernels", std::move(kernels));
  root.set("steps", steps_json(plan.steps));
  root.set("prefill_steps", steps_json(plan.prefill_steps));
  Json workloads = Json::array();
  for (const PlanWorkload& w : plan.workloads) workloads.push_back(workload_json(w));
  root.set("workloads", std::move(workloads));
  return root;
}

}  // namespace jf::gpu
