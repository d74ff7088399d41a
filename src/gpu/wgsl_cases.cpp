// wgsl_cases DIR: writes every WGSL kernel of wgsl.h as a test case for a WebGPU device, with the
// output its CPU reference twin computes from the same inputs: DIR/cases.json and DIR/cases.bin.
// web/gpu/tests/gpu_test.mjs runs each case (one plan step, plan.h's format) on the device and
// compares. cases.json: {"cases":[plan_json + {"data_base":offset of the case's data in cases.bin,
// "checks":[{"buffer":i,"expect":offset,"count":n,"type":"f32"|"u32","atol":a,"rtol":r}]}]}: an
// f32 element passes when |got - expect| <= atol + rtol * |expect|.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "base/file.h"
#include "gpu/gpu_layout.h"
#include "gpu/plan.h"
#include "gpu/wgsl.h"
#include "kernels/attention/attention.h"
#include "kernels/rmsnorm/rmsnorm.h"
#include "kernels/rope/rope.h"
#include "kernels/swiglu/swiglu.h"
#include "tensor/quant.h"

namespace jf::gpu {
namespace {

struct Check {
  int buffer;
  int64_t expect;  // offset in the case's data
  int64_t count;
  bool u32;
  double atol, rtol;
};

struct Case {
  Plan plan;
  std::vector<Check> checks;

  int add_floats(const char* name, const std::vector<float>& v) {
    return plan.add_buffer(name, v.size() * sizeof(float), reinterpret_cast<const uint8_t*>(v.data()));
  }
  // params = [n_tokens, position of the first, tokens...] (wgsl.h)
  int add_params(uint32_t position, std::vector<uint32_t> tokens) {
    std::vector<uint32_t> p = {static_cast<uint32_t>(tokens.size()), position};
    p.insert(p.end(), tokens.begin(), tokens.end());
    plan.params = plan.add_buffer("params", p.size() * 4, reinterpret_cast<const uint8_t*>(p.data()));
    return plan.params;
  }
  int64_t add_data(const void* bytes, size_t n) {
    const int64_t at = static_cast<int64_t>(plan.data.size());
    plan.data.insert(plan.data.end(), static_cast<const uint8_t*>(bytes),
                     static_cast<const uint8_t*>(bytes) + n);
    plan.data.resize((plan.data.size() + 15) / 16 * 16);
    return at;
  }
  void expect_floats(int buffer, const std::vector<float>& want, double atol, double rtol) {
    checks.push_back({buffer, add_data(want.data(), want.size() * sizeof(float)),
                      static_cast<int64_t>(want.size()), false, atol, rtol});
  }
  void expect_u32s(int buffer, const std::vector<uint32_t>& want) {
    checks.push_back(
        {buffer, add_data(want.data(), want.size() * 4), static_cast<int64_t>(want.size()), true, 0, 0});
  }
};

std::vector<float> random_floats(std::mt19937& rng, int64_t n, float scale = 1.0f) {
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = dist(rng);
  return v;
}

float max_abs(const std::vector<float>& v) {
  float m = 0;
  for (float x : v) m = std::max(m, std::fabs(x));
  return m;
}

// A random matrix quantised to `dtype`: its GGUF bytes, and the f32 values those bytes stand for.
struct TestMatrix {
  std::vector<uint8_t> gguf;
  std::vector<float> values;
};

TestMatrix random_matrix(std::mt19937& rng, DType dtype, int64_t n_rows, int64_t n_cols) {
  TestMatrix m;
  const std::vector<float> source = random_floats(rng, n_rows * n_cols);
  const size_t row = row_bytes(dtype, n_cols);
  m.gguf.resize(row * static_cast<size_t>(n_rows));
  m.values.resize(source.size());
  for (int64_t r = 0; r < n_rows; ++r) {
    quantize_weight_row(dtype, source.data() + r * n_cols, m.gguf.data() + r * row, n_cols);
    dequantize_row(dtype, m.gguf.data() + r * row, m.values.data() + r * n_cols, n_cols);
  }
  return m;
}

int add_matrix(Case& c, DType dtype, const TestMatrix& m, int64_t n_rows, int64_t n_cols) {
  std::vector<uint8_t> packed(gpu_row_bytes(dtype, n_cols) * static_cast<uint64_t>(n_rows));
  to_gpu_layout(dtype, m.gguf.data(), n_rows, n_cols, packed.data());
  return c.plan.add_buffer("w", packed.size(), packed.data());
}

Case matvec_case(DType dtype, const MatvecConfig& config, bool accumulate, int64_t n_rows, int64_t n_cols) {
  std::mt19937 rng(7);
  Case c;
  const TestMatrix m = random_matrix(rng, dtype, n_rows, n_cols);
  const std::vector<float> x = random_floats(rng, n_cols), y0 = random_floats(rng, n_rows);
  std::vector<float> want(static_cast<size_t>(n_rows));
  double worst = 0;  // the largest sum of |w x| of a row: what rounding error scales with
  for (int64_t r = 0; r < n_rows; ++r) {
    double sum = accumulate ? y0[r] : 0.0, magnitude = 0;
    for (int64_t k = 0; k < n_cols; ++k) {
      sum += static_cast<double>(m.values[r * n_cols + k]) * x[k];
      magnitude += std::fabs(static_cast<double>(m.values[r * n_cols + k]) * x[k]);
    }
    want[r] = static_cast<float>(sum);
    worst = std::max(worst, magnitude);
  }
  const int w = add_matrix(c, dtype, m, n_rows, n_cols);
  const int xb = c.add_floats("x", x);
  const int y = accumulate ? c.add_floats("y", y0) : c.plan.add_buffer("y", want.size() * sizeof(float));
  c.plan.add_step(Pass::kDecode, wgsl_matvec(dtype, n_rows, n_cols, accumulate, config), {w, xb, y},
                  matvec_groups(n_rows, config));
  c.expect_floats(y, want, 1e-6 * worst, 0);  // f32 sums of n_cols products, in another order
  return c;
}

// Rows 6 and 2 of the table.
Case get_rows_case(DType dtype) {
  std::mt19937 rng(11);
  Case c;
  const int64_t n_rows = 9, n_cols = 96;
  const TestMatrix m = random_matrix(rng, dtype, n_rows, n_cols);
  const int p = c.add_params(0, {6, 2});
  const int w = add_matrix(c, dtype, m, n_rows, n_cols);
  const int out = c.plan.add_buffer("out", 2 * n_cols * sizeof(float));
  c.plan.add_step(Pass::kDecode, wgsl_get_rows(dtype, n_cols), {p, w, out}, {2, 2});
  std::vector<float> want(m.values.begin() + 6 * n_cols, m.values.begin() + 7 * n_cols);
  want.insert(want.end(), m.values.begin() + 2 * n_cols, m.values.begin() + 3 * n_cols);
  c.expect_floats(out, want, 0, 0);
  return c;
}

// y (+)= X W^T for 5 tokens of a batch of 8 (the rows past n_tokens stay as they were).
Case matmul_case(DType dtype, const MatmulConfig& config, bool accumulate, int64_t n_rows, int64_t n_cols) {
  std::mt19937 rng(37);
  Case c;
  const int64_t n_tokens = 5, batch = 8;
  const TestMatrix m = random_matrix(rng, dtype, n_rows, n_cols);
  const std::vector<float> x = random_floats(rng, batch * n_cols), y0 = random_floats(rng, batch * n_rows);
  std::vector<float> want = y0;
  double worst = 0;
  for (int64_t t = 0; t < n_tokens; ++t) {
    for (int64_t r = 0; r < n_rows; ++r) {
      double sum = accumulate ? y0[t * n_rows + r] : 0.0, magnitude = 0;
      for (int64_t k = 0; k < n_cols; ++k) {
        const double product = static_cast<double>(m.values[r * n_cols + k]) * x[t * n_cols + k];
        sum += product;
        magnitude += std::fabs(product);
      }
      want[t * n_rows + r] = static_cast<float>(sum);
      worst = std::max(worst, magnitude);
    }
  }
  const int p = c.add_params(0, std::vector<uint32_t>(n_tokens, 0));
  const int w = add_matrix(c, dtype, m, n_rows, n_cols);
  const int xb = c.add_floats("x", x), y = c.add_floats("y", y0);
  c.plan.add_step(Pass::kDecode, wgsl_matmul(dtype, n_rows, n_cols, accumulate, config), {p, w, xb, y},
                  matmul_groups(n_rows, batch, config));
  c.expect_floats(y, want, 1e-6 * worst, 0);
  return c;
}

// Two rows of 300; with last_row only the second, into row 0.
Case rmsnorm_case(bool last_row) {
  std::mt19937 rng(13);
  Case c;
  const int64_t n = 300;
  const std::vector<float> x = random_floats(rng, 2 * n, 3.0f), weight = random_floats(rng, n);
  std::vector<float> want(2 * n, 0.0f);
  if (last_row) {
    rmsnorm_ref(x.data() + n, weight.data(), want.data(), n, 1e-5f);
  } else {
    for (int64_t r = 0; r < 2; ++r)
      rmsnorm_ref(x.data() + r * n, weight.data(), want.data() + r * n, n, 1e-5f);
  }
  const int p = c.add_params(0, {1, 1});
  const int xb = c.add_floats("x", x), wb = c.add_floats("weight", weight);
  const int y = c.plan.add_buffer("y", 2 * n * sizeof(float));
  c.plan.add_step(Pass::kDecode, wgsl_rmsnorm(n, 1e-5f, last_row), {p, xb, wb, y}, {last_row ? 1u : 2u, 1});
  c.expect_floats(y, want, 1e-6, 1e-5);
  return c;
}

// Three heads of 16 with 12 dimensions rotated (the last 4 copied), two tokens at positions 5 and
// 6 of 8.
Case rope_case(RopePairing pairing, bool to_cache) {
  std::mt19937 rng(17);
  Case c;
  const int n_heads = 3, head_dim = 16, n_rot = 12, n_ctx = 8, pos = 5, n = n_heads * head_dim;
  RopeParams params;
  params.n_rot = n_rot;
  params.pairing = pairing;
  std::vector<float> table(n_ctx * n_rot);
  for (int p = 0; p < n_ctx; ++p) rope_angles(params, p, table.data() + p * n_rot);
  const std::vector<float> x = random_floats(rng, 2 * n);
  std::vector<float> rotated = x;
  for (int t = 0; t < 2; ++t) {
    rope_apply_ref(params, table.data() + (pos + t) * n_rot, rotated.data() + t * n, n_heads, head_dim);
  }
  const int pb = c.add_params(pos, {0, 0}), tb = c.add_floats("table", table), src = c.add_floats("src", x);
  std::vector<float> want = rotated;
  if (to_cache) {
    want.assign(n_ctx * n, 0.0f);
    std::copy(rotated.begin(), rotated.end(), want.begin() + pos * n);
  }
  const int dst = c.plan.add_buffer("dst", want.size() * sizeof(float));
  c.plan.add_step(Pass::kDecode, wgsl_rope(n_heads, head_dim, n_rot, pairing, to_cache), {pb, tb, src, dst},
                  {2, 1});
  c.expect_floats(dst, want, 1e-6, 1e-6);
  return c;
}

// Two rows into the cache at positions 2 and 3.
Case store_rows_case() {
  std::mt19937 rng(19);
  Case c;
  const int64_t n = 40, n_ctx = 5, pos = 2;
  const std::vector<float> src = random_floats(rng, 2 * n);
  std::vector<float> want(n_ctx * n, 0.0f);
  std::copy(src.begin(), src.end(), want.begin() + pos * n);
  const int p = c.add_params(pos, {0, 0}), s = c.add_floats("src", src);
  const int dst = c.plan.add_buffer("dst", want.size() * sizeof(float));
  c.plan.add_step(Pass::kDecode, wgsl_store_rows(n), {p, s, dst}, {2, 1});
  c.expect_floats(dst, want, 0, 0);
  return c;
}

// Four query heads over two KV heads of 8, two tokens at positions 69 and 70 of a 100-token cache
// (more keys than the workgroup's 64 lanes).
Case attention_case() {
  std::mt19937 rng(23);
  Case c;
  const int n_head = 4, n_head_kv = 2, head_dim = 8, n_ctx = 100, pos = 69;
  const int kv_width = n_head_kv * head_dim;
  const std::vector<float> q = random_floats(rng, 2 * n_head * head_dim),
                           k = random_floats(rng, n_ctx * kv_width), v = random_floats(rng, n_ctx * kv_width);
  AttentionShape shape{n_head, n_head_kv, head_dim, kv_width, 1.0f / std::sqrt(static_cast<float>(head_dim))};
  std::vector<float> want(2 * n_head * head_dim), scores(n_ctx);
  for (int t = 0; t < 2; ++t) {
    const int64_t row = static_cast<int64_t>(t) * n_head * head_dim;
    for (int h = 0; h < n_head; ++h) {
      attention_head_ref(shape, h, q.data() + row, k.data(), v.data(), pos + t + 1, want.data() + row,
                         scores.data());
    }
  }
  const int p = c.add_params(pos, {0, 0}), qb = c.add_floats("q", q), kb = c.add_floats("k_cache", k),
            vb = c.add_floats("v_cache", v);
  const int out = c.plan.add_buffer("out", want.size() * sizeof(float));
  c.plan.add_step(Pass::kDecode, wgsl_attention(n_head, n_head_kv, head_dim, n_ctx), {p, qb, kb, vb, out},
                  {n_head, 2});
  c.expect_floats(out, want, 1e-5, 1e-5);
  return c;
}

Case swiglu_case() {
  std::mt19937 rng(29);
  Case c;
  const int64_t n = 100;
  const std::vector<float> gate = random_floats(rng, n, 4.0f), up = random_floats(rng, n);
  std::vector<float> want(n);
  swiglu_ref(gate.data(), up.data(), want.data(), n);
  const int p = c.add_params(0, {0, 0});
  const int g = c.add_floats("gate", gate), u = c.add_floats("up", up);
  c.plan.add_step(Pass::kDecode, wgsl_swiglu(n / 2), {p, g, u}, {2, 1});  // two rows of 50
  c.expect_floats(g, want, 1e-6, 1e-5);
  return c;
}

// The 5 largest of 1000 logits, with the largest three times and the fifth twice: equal values in
// index order, the lowest first (entry 0 is the greedy token), as the CPU sampler orders them.
Case top_k_case(int k) {
  std::mt19937 rng(31);
  Case c;
  std::vector<float> logits = random_floats(rng, 1000);
  const float top = max_abs(logits) + 1.0f;
  logits[700] = logits[300] = logits[999] = top;
  logits[5] = logits[6] = top - 0.5f;
  std::vector<uint32_t> order(logits.size());
  for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return logits[a] > logits[b]; });
  std::vector<uint32_t> want;
  for (int j = 0; j < k; ++j) {
    uint32_t bits;
    std::memcpy(&bits, &logits[order[static_cast<size_t>(j)]], 4);
    want.insert(want.end(), {order[static_cast<size_t>(j)], bits});
  }
  const int l = c.add_floats("logits", logits);
  const int r = c.plan.add_buffer("result", want.size() * 4);
  c.plan.add_step(Pass::kDecode, wgsl_top_k(static_cast<int64_t>(logits.size()), k), {l, r}, {1, 1});
  c.expect_u32s(r, want);
  return c;
}

std::vector<Case> all_cases() {
  std::vector<Case> cases;
  for (DType dtype : {DType::F32, DType::F16, DType::Q8_0, DType::Q4_0}) {
    // 67 rows: a last workgroup with fewer rows than the tile; 256 columns: several units per lane.
    for (const MatvecConfig config : {MatvecConfig{1, 1, 64}, MatvecConfig{32, 2, 64}, MatvecConfig{4, 4, 32},
                                      MatvecConfig{256, 8, 256}, MatvecConfig{16, 1, 128}}) {
      cases.push_back(matvec_case(dtype, config, false, 67, 256));
    }
    cases.push_back(matvec_case(dtype, MatvecConfig{8, 4, 64}, true, 33, 512));
    cases.push_back(get_rows_case(dtype));
    for (const MatmulConfig config : {MatmulConfig{1, 1, 64, 1}, MatmulConfig{4, 4, 16, 4},
                                      MatmulConfig{8, 2, 8, 8}, MatmulConfig{2, 8, 32, 2}}) {
      cases.push_back(matmul_case(dtype, config, false, 67, 256));
    }
    cases.push_back(matmul_case(dtype, MatmulConfig{}, true, 33, 128));
  }
  cases.push_back(rmsnorm_case(false));
  cases.push_back(rmsnorm_case(true));
  for (RopePairing pairing : {RopePairing::kAdjacent, RopePairing::kHalves}) {
    cases.push_back(rope_case(pairing, false));
    cases.push_back(rope_case(pairing, true));
  }
  cases.push_back(store_rows_case());
  cases.push_back(attention_case());
  cases.push_back(swiglu_case());
  cases.push_back(top_k_case(1));
  cases.push_back(top_k_case(5));
  cases.push_back(top_k_case(kMaxTopK));
  return cases;
}

Json case_json(const Case& c, int64_t data_base) {
  Json j = plan_json(c.plan);
  j.set("data_base", Json::number(static_cast<double>(data_base)));
  Json checks = Json::array();
  for (const Check& k : c.checks) {
    Json e = Json::object();
    e.set("buffer", Json::number(k.buffer));
    e.set("expect", Json::number(static_cast<double>(k.expect)));
    e.set("count", Json::number(static_cast<double>(k.count)));
    e.set("type", Json::string(k.u32 ? "u32" : "f32"));
    e.set("atol", Json::number(k.atol));
    e.set("rtol", Json::number(k.rtol));
    checks.push_back(std::move(e));
  }
  j.set("checks", std::move(checks));
  return j;
}

int run(const std::string& dir) {
  Json list = Json::array();
  std::string data;
  for (const Case& c : all_cases()) {
    list.push_back(case_json(c, static_cast<int64_t>(data.size())));
    data.append(reinterpret_cast<const char*>(c.plan.data.data()), c.plan.data.size());
  }
  Json root = Json::object();
  root.set("cases", std::move(list));
  for (const auto& [name, text] :
       {std::pair{dir + "/cases.json", to_json(root)}, std::pair{dir + "/cases.bin", data}}) {
    if (Status s = write_file(name, text); !s.ok()) {
      std::fprintf(stderr, "wgsl_cases: %s\n", s.to_string().c_str());
      return 1;
    }
  }
  return 0;
}

}  // namespace
}  // namespace jf::gpu

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: wgsl_cases DIR\n");
    return 2;
  }
  return jf::gpu::run(argv[1]);
}
