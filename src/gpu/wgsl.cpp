#include "gpu/wgsl.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <initializer_list>
#include <string_view>
#include <utility>

#include "base/check.h"
#include "gpu/gpu_layout.h"

namespace jf::gpu {
namespace {

using Substitutions = std::initializer_list<std::pair<std::string_view, std::string>>;

// The template with every "${KEY}" replaced by its value.
std::string fill(std::string_view text, Substitutions values) {
  std::string out;
  out.reserve(text.size() + 256);
  size_t at = 0;
  while (at < text.size()) {
    const size_t open = text.find("${", at);
    if (open == std::string_view::npos) break;
    const size_t close = text.find('}', open);
    JF_CHECK(close != std::string_view::npos);
    out.append(text, at, open - at);
    const std::string_view key = text.substr(open + 2, close - open - 2);
    bool found = false;
    for (const auto& [k, v] : values) {
      if (k == key) {
        out += v;
        found = true;
      }
    }
    JF_CHECK(found);
    at = close + 1;
  }
  out.append(text, at);
  return out;
}

std::string u32(int64_t v) {
  return std::to_string(v) + "u";
}

// An f32 literal that reads back to the same float.
std::string f32(float v) {
  char text[32];
  std::snprintf(text, sizeof text, "%.9g", static_cast<double>(v));
  std::string s = text;
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  return s;
}

// Per weight type: the storage type of `w`, the words of one unit (what unit_dot reads), the
// elements of a unit, and the WGSL of unit_dot(base, u) -> f32 (unit u of the row whose first word
// is base, times x's matching vec4s), element(row_base, i) -> f32 and load_unit(base, u, i) ->
// vec4<f32> (elements 4i..4i+3 of unit u, dequantised).
struct TypeText {
  const char* storage;
  int64_t unit_words;  // in elements of `storage`
  int64_t unit_elements;
  const char* unit_dot;
  const char* element;
  const char* load_unit;
};

constexpr TypeText kF32Text{"vec4<f32>",
                            1,
                            4,
                            R"(fn unit_dot(base: u32, u: u32) -> f32 {
  return dot(w[base + u], x[u]);
}
)",
                            R"(fn element(base: u32, i: u32) -> f32 {
  return w[base + i / 4u][i % 4u];
}
)",
                            R"(fn load_unit(base: u32, u: u32, i: u32) -> vec4<f32> {
  return w[base + u];
}
)"};

constexpr TypeText kF16Text{"vec2<u32>",
                            1,
                            4,
                            R"(fn unit_dot(base: u32, u: u32) -> f32 {
  let p = w[base + u];
  return dot(vec4<f32>(unpack2x16float(p.x), unpack2x16float(p.y)), x[u]);
}
)",
                            R"(fn element(base: u32, i: u32) -> f32 {
  let p = w[base + i / 4u];
  return unpack2x16float(select(p.y, p.x, i % 4u < 2u))[i % 2u];
}
)",
                            R"(fn load_unit(base: u32, u: u32, i: u32) -> vec4<f32> {
  let p = w[base + u];
  return vec4<f32>(unpack2x16float(p.x), unpack2x16float(p.y));
}
)"};

// Q8_0: word 0 the scale, words 1..8 four int8 each (sign-extended by extractBits on i32).
constexpr TypeText kQ8Text{"u32",
                           9,
                           32,
                           R"(fn unit_dot(base: u32, u: u32) -> f32 {
  let b = base + u * 9u;
  var s = 0.0;
  for (var i = 0u; i < 8u; i++) {
    let q = bitcast<i32>(w[b + 1u + i]);
    let v = vec4<i32>(extractBits(q, 0u, 8u), extractBits(q, 8u, 8u), extractBits(q, 16u, 8u),
                      extractBits(q, 24u, 8u));
    s += dot(vec4<f32>(v), x[u * 8u + i]);
  }
  return unpack2x16float(w[b]).x * s;
}
)",
                           R"(fn element(base: u32, i: u32) -> f32 {
  let b = base + (i / 32u) * 9u;
  let q = bitcast<i32>(w[b + 1u + (i % 32u) / 4u]);
  return unpack2x16float(w[b]).x * f32(extractBits(q, (i % 4u) * 8u, 8u));
}
)",
                           R"(fn load_unit(base: u32, u: u32, i: u32) -> vec4<f32> {
  let b = base + u * 9u;
  let q = bitcast<i32>(w[b + 1u + i]);
  let v = vec4<i32>(extractBits(q, 0u, 8u), extractBits(q, 8u, 8u), extractBits(q, 16u, 8u),
                    extractBits(q, 24u, 8u));
  return unpack2x16float(w[b]).x * vec4<f32>(v);
}
)"};

// Q4_0: word 0 the scale, words 1..4 the codes; word i's low nibbles are elements 4i..4i+3 and its
// high nibbles elements 16+4i..16+4i+3, so they meet x's vec4s 8u+i and 8u+4+i.
constexpr TypeText kQ4Text{"u32",
                           5,
                           32,
                           R"(fn unit_dot(base: u32, u: u32) -> f32 {
  let b = base + u * 5u;
  var s = 0.0;
  for (var i = 0u; i < 4u; i++) {
    let q = w[b + 1u + i];
    let lo = vec4<f32>(vec4<u32>(q & 15u, (q >> 8u) & 15u, (q >> 16u) & 15u, (q >> 24u) & 15u)) - 8.0;
    let hi = vec4<f32>(vec4<u32>((q >> 4u) & 15u, (q >> 12u) & 15u, (q >> 20u) & 15u, q >> 28u)) - 8.0;
    s += dot(lo, x[u * 8u + i]) + dot(hi, x[u * 8u + 4u + i]);
  }
  return unpack2x16float(w[b]).x * s;
}
)",
                           R"(fn element(base: u32, i: u32) -> f32 {
  let b = base + (i / 32u) * 5u;
  let j = i % 32u;
  let byte = j % 16u;
  let q = (w[b + 1u + byte / 4u] >> ((byte % 4u) * 8u + (j / 16u) * 4u)) & 15u;
  return unpack2x16float(w[b]).x * (f32(q) - 8.0);
}
)",
                           R"(fn load_unit(base: u32, u: u32, i: u32) -> vec4<f32> {
  let b = base + u * 5u;
  let q = w[b + 1u + i % 4u] >> ((i / 4u) * 4u);
  let v = vec4<u32>(q & 15u, (q >> 8u) & 15u, (q >> 16u) & 15u, (q >> 24u) & 15u);
  return unpack2x16float(w[b]).x * (vec4<f32>(v) - 8.0);
}
)"};

const TypeText& type_text(DType dtype) {
  switch (dtype) {
    case DType::F32:
      return kF32Text;
    case DType::F16:
      return kF16Text;
    case DType::Q8_0:
      return kQ8Text;
    case DType::Q4_0:
      return kQ4Text;
    default:
      JF_CHECK(false);
      return kF32Text;
  }
}

// Words of `storage` per row.
int64_t row_stride(DType dtype, int64_t n_cols) {
  const TypeText& t = type_text(dtype);
  return n_cols / t.unit_elements * t.unit_words;
}

// Each workgroup holds WG / LANES row slots; the LANES threads of a slot split the columns of its
// TILE rows (TILE accumulators per thread share each load of x) and, with LANES > 1, sum their
// partial sums in workgroup memory (kMatvecReduce).
constexpr const char* kMatvecTemplate = R"(// ${NAME}: y[${N_ROWS}] ${OP} W[${N_ROWS}, ${N_COLS}] x
const N_ROWS: u32 = ${N_ROWS_U};
const N_UNITS: u32 = ${N_UNITS};
const ROW_STRIDE: u32 = ${ROW_STRIDE};
const WG: u32 = ${WG};
const LANES: u32 = ${LANES};
const TILE: u32 = ${TILE};
const GROUPS_X: u32 = ${GROUPS_X};

@group(0) @binding(0) var<storage, read> w: array<${STORAGE}>;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
${PARTIAL}
${UNIT_DOT}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let lane = lid % LANES;
  let row0 = ((wid.x + wid.y * GROUPS_X) * (WG / LANES) + lid / LANES) * TILE;
  var acc: array<f32, ${TILE}>;
  for (var u = lane; u < N_UNITS; u += LANES) {
    for (var r = 0u; r < TILE; r++) {
      acc[r] += unit_dot(min(row0 + r, N_ROWS - 1u) * ROW_STRIDE, u);
    }
  }
${REDUCE}  if (lane == 0u) {
    for (var r = 0u; r < TILE; r++) {
      if (row0 + r < N_ROWS) {
        y[row0 + r] ${OP} acc[r];
      }
    }
  }
}
)";

// The lanes' tree reduction: leaves each slot's sums in lane 0's acc.
constexpr const char* kMatvecReduce = R"(  for (var r = 0u; r < TILE; r++) {
    partial[r * WG + lid] = acc[r];
  }
  workgroupBarrier();
  for (var s = LANES / 2u; s > 0u; s >>= 1u) {
    if (lane < s) {
      for (var r = 0u; r < TILE; r++) {
        partial[r * WG + lid] += partial[r * WG + lid + s];
      }
    }
    workgroupBarrier();
  }
  for (var r = 0u; r < TILE; r++) {
    acc[r] = partial[r * WG + lid];
  }
)";

// Each thread: TM rows x TT tokens of sums in registers; each weight vec4 it loads meets its TT
// tokens' x, each x vec4 its TM rows.
constexpr const char* kMatmulTemplate = R"(// ${NAME}: Y[tokens, ${N_ROWS}] ${OP} X[tokens, ${N_COLS}] W^T
const N_ROWS: u32 = ${N_ROWS_U};
const N_UNITS: u32 = ${N_UNITS};
const UNIT_VEC4: u32 = ${UNIT_VEC4};
const ROW_STRIDE: u32 = ${ROW_STRIDE};
const X_STRIDE: u32 = ${X_STRIDE};
const TM: u32 = ${TM};
const TT: u32 = ${TT};
const WG_ROWS: u32 = ${WG_ROWS};
const WG_TOKENS: u32 = ${WG_TOKENS};

@group(0) @binding(0) var<storage, read> params: array<u32>;
@group(0) @binding(1) var<storage, read> w: array<${STORAGE}>;
@group(0) @binding(2) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

${LOAD_UNIT}
@compute @workgroup_size(${WG_ROWS}, ${WG_TOKENS})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let n_tokens = params[0];
  let t0 = (wid.y * WG_TOKENS + lid.y) * TT;
  if (t0 >= n_tokens) {
    return;
  }
  let r0 = (wid.x * WG_ROWS + lid.x) * TM;
  var acc: array<array<f32, ${TT}>, ${TM}>;
  for (var u = 0u; u < N_UNITS; u++) {
    for (var i = 0u; i < UNIT_VEC4; i++) {
      var wv: array<vec4<f32>, ${TM}>;
      for (var r = 0u; r < TM; r++) {
        wv[r] = load_unit(min(r0 + r, N_ROWS - 1u) * ROW_STRIDE, u, i);
      }
      for (var t = 0u; t < TT; t++) {
        let xv = x[min(t0 + t, n_tokens - 1u) * X_STRIDE + u * UNIT_VEC4 + i];
        for (var r = 0u; r < TM; r++) {
          acc[r][t] += dot(wv[r], xv);
        }
      }
    }
  }
  for (var r = 0u; r < TM; r++) {
    for (var t = 0u; t < TT; t++) {
      if (r0 + r < N_ROWS && t0 + t < n_tokens) {
        y[(t0 + t) * N_ROWS + r0 + r] ${OP} acc[r][t];
      }
    }
  }
}
)";

constexpr const char* kGetRowsTemplate = R"(// ${NAME}: out[t] = W[params.token t], rows of ${N}
const N: u32 = ${N_U};
const ROW_STRIDE: u32 = ${ROW_STRIDE};

@group(0) @binding(0) var<storage, read> params: array<u32>;
@group(0) @binding(1) var<storage, read> w: array<${STORAGE}>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

${ELEMENT}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let t = gid.y;
  if (gid.x < N && t < params[0]) {
    out[t * N + gid.x] = element(params[2u + t] * ROW_STRIDE, gid.x);
  }
}
)";

constexpr const char* kRmsnormTemplate = R"(// ${NAME}: y = x / sqrt(mean(x^2) + eps) * weight, rows of ${N}
const N: u32 = ${N_U};
const EPS: f32 = ${EPS};
const LAST_ROW: bool = ${LAST_ROW};

@group(0) @binding(0) var<storage, read> params: array<u32>;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

var<workgroup> partial: array<f32, 256>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let n_tokens = params[0];
  if (wid.x >= n_tokens) {
    return;
  }
  var src = wid.x * N;
  var dst = src;
  if (LAST_ROW) {
    src = (n_tokens - 1u) * N;
    dst = 0u;
  }
  var s = 0.0;
  for (var i = lid; i < N; i += 256u) {
    s += x[src + i] * x[src + i];
  }
  partial[lid] = s;
  workgroupBarrier();
  for (var k = 128u; k > 0u; k >>= 1u) {
    if (lid < k) {
      partial[lid] += partial[lid + k];
    }
    workgroupBarrier();
  }
  let scale = 1.0 / sqrt(partial[0] / f32(N) + EPS);
  for (var i = lid; i < N; i += 256u) {
    y[dst + i] = x[src + i] * scale * weight[i];
  }
}
)";

// Element j of a head: pairs (2i, 2i+1) or (i, i + n_rot/2) for i < n_rot/2 turn by angle i; the
// rest of the head is copied.
constexpr const char* kRopeTemplate =
    R"(// ${NAME}: RoPE of ${N_HEADS} heads of ${HEAD_DIM}, ${N_ROT} dims rotated
const N: u32 = ${N};
const HEAD_DIM: u32 = ${HEAD_DIM_U};
const N_ROT: u32 = ${N_ROT_U};
const HALF: u32 = ${HALF};
const ADJACENT: bool = ${ADJACENT};
const TO_CACHE: bool = ${TO_CACHE};

@group(0) @binding(0) var<storage, read> params: array<u32>;
@group(0) @binding(1) var<storage, read> table: array<vec2<f32>>;
@group(0) @binding(2) var<storage, read> src: array<f32>;
@group(0) @binding(3) var<storage, read_write> dst: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let e = gid.x;
  let t = e / N;
  if (t >= params[0]) {
    return;
  }
  let pos = params[1] + t;
  let j = e % HEAD_DIM;
  let head = e - j;
  var v = src[e];
  if (j < N_ROT) {
    var i: u32;
    var a: u32;
    var b: u32;
    if (ADJACENT) {
      i = j / 2u;
      a = 2u * i;
      b = a + 1u;
    } else {
      i = j % HALF;
      a = i;
      b = i + HALF;
    }
    let cs = table[pos * HALF + i];
    let x0 = src[head + a];
    let x1 = src[head + b];
    if (j == a) {
      v = x0 * cs.x - x1 * cs.y;
    } else {
      v = x0 * cs.y + x1 * cs.x;
    }
  }
  if (TO_CACHE) {
    dst[pos * N + e % N] = v;
  } else {
    dst[e] = v;
  }
}
)";

constexpr const char* kStoreRowsTemplate = R"(// ${NAME}: dst row (position + t) = src row t, rows of ${N}
const N: u32 = ${N_U};

@group(0) @binding(0) var<storage, read> params: array<u32>;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let t = gid.x / N;
  if (t < params[0]) {
    dst[(params[1] + t) * N + gid.x % N] = src[gid.x];
  }
}
)";

// One workgroup per query head and token: scores of the cached keys into workgroup memory, their max and
// sum reduced across the 64 lanes, then each lane forms some of the head's output dimensions.
constexpr const char* kAttentionTemplate =
    R"(// ${NAME}: ${N_HEAD} heads (${N_HEAD_KV} KV heads) of ${HEAD_DIM}
const HEAD_DIM: u32 = ${HEAD_DIM_U};
const GROUP: u32 = ${GROUP};
const KV_WIDTH: u32 = ${KV_WIDTH};
const Q_WIDTH: u32 = ${Q_WIDTH};
const SCALE: f32 = ${SCALE};
const WG: u32 = 64u;

@group(0) @binding(0) var<storage, read> params: array<u32>;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k_cache: array<f32>;
@group(0) @binding(3) var<storage, read> v_cache: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

var<workgroup> scores: array<f32, ${N_CTX}>;
var<workgroup> partial: array<f32, 64>;

fn reduce_max(lid: u32, v: f32) -> f32 {
  partial[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) {
      partial[lid] = max(partial[lid], partial[lid + s]);
    }
    workgroupBarrier();
  }
  let r = partial[0];
  workgroupBarrier();
  return r;
}

fn reduce_sum(lid: u32, v: f32) -> f32 {
  partial[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) {
      partial[lid] += partial[lid + s];
    }
    workgroupBarrier();
  }
  let r = partial[0];
  workgroupBarrier();
  return r;
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let h = wid.x;
  let t = wid.y;
  if (t >= params[0]) {
    return;
  }
  let n_kv = params[1] + t + 1u;
  let qb = t * Q_WIDTH + h * HEAD_DIM;
  let kb = (h / GROUP) * HEAD_DIM;
  var m = bitcast<f32>(0xff7fffffu);
  for (var j = lid; j < n_kv; j += WG) {
    var s = 0.0;
    for (var d = 0u; d < HEAD_DIM; d++) {
      s += q[qb + d] * k_cache[j * KV_WIDTH + kb + d];
    }
    s *= SCALE;
    scores[j] = s;
    m = max(m, s);
  }
  m = reduce_max(lid, m);
  var sum = 0.0;
  for (var j = lid; j < n_kv; j += WG) {
    let e = exp(scores[j] - m);
    scores[j] = e;
    sum += e;
  }
  let inv = 1.0 / reduce_sum(lid, sum);
  for (var d = lid; d < HEAD_DIM; d += WG) {
    var o = 0.0;
    for (var j = 0u; j < n_kv; j++) {
      o += scores[j] * v_cache[j * KV_WIDTH + kb + d];
    }
    out[qb + d] = o * inv;
  }
}
)";

constexpr const char* kSwigluTemplate = R"(// ${NAME}: gate = silu(gate) * up, rows of ${N}
const N: u32 = ${N_U};

@group(0) @binding(0) var<storage, read> params: array<u32>;
@group(0) @binding(1) var<storage, read_write> gate: array<f32>;
@group(0) @binding(2) var<storage, read> up: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  if (i < params[0] * N) {
    let g = gate[i];
    gate[i] = g / (1.0 + exp(-g)) * up[i];
  }
}
)";

// Each of 64 lanes keeps its best K in order (insertion; most logits fall below its K-th and cost
// one comparison), then the lanes' lists are merged pairwise in workgroup memory.
constexpr const char* kTopKTemplate = R"(// ${NAME}: the ${K} largest of logits[${N}], best first
const N: u32 = ${N_U};
const K: u32 = ${K_U};

@group(0) @binding(0) var<storage, read> logits: array<f32>;
@group(0) @binding(1) var<storage, read_write> result: array<u32>;

var<workgroup> top_v: array<f32, ${LISTS}>;
var<workgroup> top_i: array<u32, ${LISTS}>;

fn better(v1: f32, i1: u32, v2: f32, i2: u32) -> bool {
  return v1 > v2 || (v1 == v2 && i1 < i2);
}

@compute @workgroup_size(64)
fn main(@builtin(local_invocation_index) lid: u32) {
  var v: array<f32, ${K}>;
  var ix: array<u32, ${K}>;
  for (var j = 0u; j < K; j++) {
    v[j] = bitcast<f32>(0xff7fffffu);
    ix[j] = 0xffffffffu;
  }
  for (var i = lid; i < N; i += 64u) {
    let x = logits[i];
    if (better(x, i, v[K - 1u], ix[K - 1u])) {
      var j = K - 1u;
      while (j > 0u && better(x, i, v[j - 1u], ix[j - 1u])) {
        v[j] = v[j - 1u];
        ix[j] = ix[j - 1u];
        j--;
      }
      v[j] = x;
      ix[j] = i;
    }
  }
  for (var j = 0u; j < K; j++) {
    top_v[lid * K + j] = v[j];
    top_i[lid * K + j] = ix[j];
  }
  workgroupBarrier();
  for (var s = 32u; s > 0u; s >>= 1u) {
    if (lid < s) {
      var a = lid * K;
      var b = (lid + s) * K;
      for (var j = 0u; j < K; j++) {
        if (better(top_v[a], top_i[a], top_v[b], top_i[b])) {
          v[j] = top_v[a];
          ix[j] = top_i[a];
          a++;
        } else {
          v[j] = top_v[b];
          ix[j] = top_i[b];
          b++;
        }
      }
    }
    workgroupBarrier();
    if (lid < s) {
      for (var j = 0u; j < K; j++) {
        top_v[lid * K + j] = v[j];
        top_i[lid * K + j] = ix[j];
      }
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    for (var j = 0u; j < K; j++) {
      result[2u * j] = top_i[j];
      result[2u * j + 1u] = bitcast<u32>(top_v[j]);
    }
  }
}
)";

std::string weighted_name(DType dtype, const char* op) {
  return std::string(dtype_name(dtype)) + "-f32-" + op;
}

}  // namespace

bool wgsl_supports(DType dtype) {
  return dtype == DType::F32 || dtype == DType::F16 || dtype == DType::Q8_0 || dtype == DType::Q4_0;
}

bool is_valid(const MatvecConfig& c) {
  auto pow2 = [](int v) { return v > 0 && (v & (v - 1)) == 0; };
  return pow2(c.lanes) && c.lanes <= c.workgroup && pow2(c.tile) && c.tile <= 8 && pow2(c.workgroup) &&
         c.workgroup >= 32 && c.workgroup <= 256;
}

int64_t matvec_rows_per_group(const MatvecConfig& c) {
  return static_cast<int64_t>(c.workgroup / c.lanes) * c.tile;
}

std::string config_name(const MatvecConfig& c) {
  return "l" + std::to_string(c.lanes) + "t" + std::to_string(c.tile) + "w" + std::to_string(c.workgroup);
}

std::vector<MatvecConfig> matvec_full_space() {
  std::vector<MatvecConfig> out;
  for (int workgroup = 32; workgroup <= 256; workgroup *= 2) {
    for (int lanes = 1; lanes <= workgroup; lanes *= 2) {
      for (int tile = 1; tile <= 8; tile *= 2) out.push_back({lanes, tile, workgroup});
    }
  }
  return out;
}

std::vector<MatvecConfig> matvec_space(DType dtype, int64_t n_rows, int64_t n_cols,
                                       const AdapterLimits& limits) {
  const int64_t units = n_cols / type_text(dtype).unit_elements;
  std::vector<MatvecConfig> fitting, busy;
  for (const MatvecConfig& c : matvec_full_space()) {
    const int64_t storage = c.lanes > 1 ? int64_t{4} * c.workgroup * c.tile : 0;
    const int64_t groups = (n_rows + matvec_rows_per_group(c) - 1) / matvec_rows_per_group(c);
    if (c.lanes * 4 <= std::max<int64_t>(units, 4) && c.workgroup <= limits.max_invocations &&
        storage <= limits.max_workgroup_storage) {
      fitting.push_back(c);
      if (groups >= std::min<int64_t>(limits.min_workgroups, n_rows)) busy.push_back(c);
    }
  }
  return busy.empty() ? fitting : busy;
}

Groups matvec_groups(int64_t n_rows, const MatvecConfig& config) {
  const int64_t groups = (n_rows + matvec_rows_per_group(config) - 1) / matvec_rows_per_group(config);
  const int64_t x = groups < 65535 ? groups : 65535;
  return {static_cast<uint32_t>(x), static_cast<uint32_t>((groups + x - 1) / x)};
}

WgslKernel wgsl_matvec(DType dtype, int64_t n_rows, int64_t n_cols, bool accumulate,
                       const MatvecConfig& config) {
  JF_CHECK(wgsl_supports(dtype) && is_valid(config));
  const TypeText& t = type_text(dtype);
  JF_CHECK(n_cols % t.unit_elements == 0);
  const bool reduce = config.lanes > 1;
  WgslKernel k;
  k.name = weighted_name(dtype, "matvec") + "-" + config_name(config) + (accumulate ? "-acc" : "") + "__wgsl";
  k.source = fill(kMatvecTemplate,
                  {{"NAME", k.name},
                   {"OP", accumulate ? "+=" : "="},
                   {"N_ROWS", std::to_string(n_rows)},
                   {"N_COLS", std::to_string(n_cols)},
                   {"N_ROWS_U", u32(n_rows)},
                   {"N_UNITS", u32(n_cols / t.unit_elements)},
                   {"ROW_STRIDE", u32(row_stride(dtype, n_cols))},
                   {"WG", u32(config.workgroup)},
                   {"LANES", u32(config.lanes)},
                   {"TILE", u32(config.tile)},
                   {"GROUPS_X", u32(matvec_groups(n_rows, config).x)},
                   {"STORAGE", t.storage},
                   {"PARTIAL", reduce ? "\nvar<workgroup> partial: array<f32, " +
                                            u32(static_cast<int64_t>(config.workgroup) * config.tile) + ">;\n"
                                      : ""},
                   {"REDUCE", reduce ? kMatvecReduce : ""},
                   {"UNIT_DOT", t.unit_dot}});
  return k;
}

bool is_valid(const MatmulConfig& c) {
  auto in = [](int v, std::initializer_list<int> set) {
    return std::find(set.begin(), set.end(), v) != set.end();
  };
  return in(c.rows, {1, 2, 4, 8}) && in(c.tokens, {1, 2, 4, 8}) && in(c.wg_tokens, {1, 2, 4, 8}) &&
         c.wg_rows * c.wg_tokens == 64;
}

std::string config_name(const MatmulConfig& c) {
  return "m" + std::to_string(c.rows) + "t" + std::to_string(c.tokens) + "w" + std::to_string(c.wg_rows) +
         "x" + std::to_string(c.wg_tokens);
}

std::vector<MatmulConfig> matmul_full_space() {
  std::vector<MatmulConfig> out;
  for (int rows = 1; rows <= 8; rows *= 2) {
    for (int tokens = 1; tokens <= 8; tokens *= 2) {
      for (int wg_tokens = 1; wg_tokens <= 8; wg_tokens *= 2)
        out.push_back({rows, tokens, 64 / wg_tokens, wg_tokens});
    }
  }
  return out;
}

std::vector<MatmulConfig> matmul_space(int64_t n_rows, int64_t max_tokens, const AdapterLimits& limits) {
  std::vector<MatmulConfig> fitting, busy;
  for (const MatmulConfig& c : matmul_full_space()) {
    const Groups g = matmul_groups(n_rows, max_tokens, c);
    const bool fits = c.rows * c.tokens >= std::min<int64_t>(4, max_tokens) && c.rows * c.tokens <= 32 &&
                      static_cast<int64_t>(c.rows) * c.wg_rows <= n_rows &&
                      static_cast<int64_t>(c.tokens) * c.wg_tokens <= max_tokens;
    if (!fits) continue;
    fitting.push_back(c);
    if (static_cast<int64_t>(g.x) * g.y >= limits.min_workgroups) busy.push_back(c);
  }
  return busy.empty() ? fitting : busy;
}

Groups matmul_groups(int64_t n_rows, int64_t max_tokens, const MatmulConfig& c) {
  const int64_t rows = static_cast<int64_t>(c.rows) * c.wg_rows,
                tokens = static_cast<int64_t>(c.tokens) * c.wg_tokens;
  return {static_cast<uint32_t>((n_rows + rows - 1) / rows),
          static_cast<uint32_t>((max_tokens + tokens - 1) / tokens)};
}

WgslKernel wgsl_matmul(DType dtype, int64_t n_rows, int64_t n_cols, bool accumulate,
                       const MatmulConfig& config) {
  JF_CHECK(wgsl_supports(dtype) && is_valid(config));
  const TypeText& t = type_text(dtype);
  JF_CHECK(n_cols % t.unit_elements == 0);
  WgslKernel k;
  k.name = weighted_name(dtype, "matmul") + "-" + config_name(config) + (accumulate ? "-acc" : "") + "__wgsl";
  k.source = fill(kMatmulTemplate, {{"NAME", k.name},
                                    {"OP", accumulate ? "+=" : "="},
                                    {"N_ROWS", std::to_string(n_rows)},
                                    {"N_COLS", std::to_string(n_cols)},
                                    {"N_ROWS_U", u32(n_rows)},
                                    {"N_UNITS", u32(n_cols / t.unit_elements)},
                                    {"UNIT_VEC4", u32(t.unit_elements / 4)},
                                    {"ROW_STRIDE", u32(row_stride(dtype, n_cols))},
                                    {"X_STRIDE", u32(n_cols / 4)},
                                    {"TM", u32(config.rows)},
                                    {"TT", u32(config.tokens)},
                                    {"WG_ROWS", u32(config.wg_rows)},
                                    {"WG_TOKENS", u32(config.wg_tokens)},
                                    {"STORAGE", t.storage},
                                    {"LOAD_UNIT", t.load_unit}});
  return k;
}

WgslKernel wgsl_get_rows(DType dtype, int64_t n_cols) {
  JF_CHECK(wgsl_supports(dtype));
  const TypeText& t = type_text(dtype);
  JF_CHECK(n_cols % t.unit_elements == 0);
  WgslKernel k;
  k.name = weighted_name(dtype, "get_rows") + "__wgsl";
  k.source = fill(kGetRowsTemplate, {{"NAME", k.name},
                                     {"N", std::to_string(n_cols)},
                                     {"N_U", u32(n_cols)},
                                     {"ROW_STRIDE", u32(row_stride(dtype, n_cols))},
                                     {"STORAGE", t.storage},
                                     {"ELEMENT", t.element}});
  return k;
}

WgslKernel wgsl_rmsnorm(int64_t n, float eps, bool last_row) {
  WgslKernel k{last_row ? "f32-rmsnorm_last__wgsl" : "f32-rmsnorm__wgsl", ""};
  k.source = fill(kRmsnormTemplate, {{"NAME", k.name},
                                     {"N", std::to_string(n)},
                                     {"N_U", u32(n)},
                                     {"EPS", f32(eps)},
                                     {"LAST_ROW", last_row ? "true" : "false"}});
  return k;
}

WgslKernel wgsl_rope(int n_heads, int head_dim, int n_rot, RopePairing pairing, bool to_cache) {
  JF_CHECK(n_rot % 2 == 0 && n_rot <= head_dim);
  WgslKernel k{to_cache ? "f32-rope_store__wgsl" : "f32-rope__wgsl", ""};
  k.source = fill(kRopeTemplate, {{"NAME", k.name},
                                  {"N_HEADS", std::to_string(n_heads)},
                                  {"HEAD_DIM", std::to_string(head_dim)},
                                  {"N_ROT", std::to_string(n_rot)},
                                  {"N", u32(static_cast<int64_t>(n_heads) * head_dim)},
                                  {"HEAD_DIM_U", u32(head_dim)},
                                  {"N_ROT_U", u32(n_rot)},
                                  {"HALF", u32(n_rot / 2)},
                                  {"ADJACENT", pairing == RopePairing::kAdjacent ? "true" : "false"},
                                  {"TO_CACHE", to_cache ? "true" : "false"}});
  return k;
}

WgslKernel wgsl_store_rows(int64_t n) {
  WgslKernel k{"f32-store_rows__wgsl", ""};
  k.source = fill(kStoreRowsTemplate, {{"NAME", k.name}, {"N", std::to_string(n)}, {"N_U", u32(n)}});
  return k;
}

WgslKernel wgsl_attention(int n_head, int n_head_kv, int head_dim, int n_ctx) {
  JF_CHECK(n_ctx >= 1 && n_ctx <= kMaxWgslContext && n_head % n_head_kv == 0);
  WgslKernel k{"f32-attention__wgsl", ""};
  k.source = fill(kAttentionTemplate, {{"NAME", k.name},
                                       {"N_HEAD", std::to_string(n_head)},
                                       {"N_HEAD_KV", std::to_string(n_head_kv)},
                                       {"HEAD_DIM", std::to_string(head_dim)},
                                       {"HEAD_DIM_U", u32(head_dim)},
                                       {"GROUP", u32(n_head / n_head_kv)},
                                       {"KV_WIDTH", u32(static_cast<int64_t>(n_head_kv) * head_dim)},
                                       {"Q_WIDTH", u32(static_cast<int64_t>(n_head) * head_dim)},
                                       {"SCALE", f32(1.0f / std::sqrt(static_cast<float>(head_dim)))},
                                       {"N_CTX", u32(n_ctx)}});
  return k;
}

WgslKernel wgsl_swiglu(int64_t n) {
  WgslKernel k{"f32-swiglu__wgsl", ""};
  k.source = fill(kSwigluTemplate, {{"NAME", k.name}, {"N", std::to_string(n)}, {"N_U", u32(n)}});
  return k;
}

WgslKernel wgsl_top_k(int64_t n, int k) {
  JF_CHECK(k >= 1 && k <= kMaxTopK);
  WgslKernel kernel{"f32-top_k__wgsl", ""};
  kernel.source = fill(kTopKTemplate, {{"NAME", kernel.name},
                                       {"N", std::to_string(n)},
                                       {"N_U", u32(n)},
                                       {"K", std::to_string(k)},
                                       {"K_U", u32(k)},
                                       {"LISTS", u32(int64_t{64} * k)}});
  return kernel;
}

}  // namespace jf::gpu
