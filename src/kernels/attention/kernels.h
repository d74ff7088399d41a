// Softmax and attention on one traits type of simd/f32.h, and the per-ISA entry points
// (cpu_avx2.cpp, ...). Internal to src/kernels/attention.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "kernels/attention/attention.h"
#include "kernels/simd/f32.h"

namespace jf {

// Keys per block: the block's K and V rows (32 x head_dim floats each) stay in L1 while every head
// of the group uses them.
inline constexpr int kAttentionBlockKeys = 32;
// Heads whose running softmax state is held at once; larger groups take several passes.
inline constexpr int kAttentionHeadsPerPass = 16;

// x: [n], in place
template <typename V>
void softmax_simd(float* x, int64_t n) {
  using Reg = typename V::Reg;
  constexpr int W = V::kLanes;
  const int64_t n_full = n / W * W;
  const int rest = static_cast<int>(n - n_full);
  Reg max_lanes = V::set1(-INFINITY);
  for (int64_t i = 0; i < n_full; i += W) max_lanes = V::max(max_lanes, V::load(x + i));
  if (rest > 0) max_lanes = V::max(max_lanes, V::load_partial(x + n_full, rest, -INFINITY));
  const Reg max_value = V::set1(V::reduce_max(max_lanes));
  typename V::DAcc sum = V::dzero();
  for (int64_t i = 0; i < n_full; i += W) {
    const Reg e = V::exp(V::sub(V::load(x + i), max_value));
    V::store(x + i, e);
    sum = V::add_widened(sum, e);
  }
  if (rest > 0) {
    const Reg e = V::exp(V::sub(V::load_partial(x + n_full, rest, -INFINITY), max_value));  // 0 past n
    V::store_partial(x + n_full, e, rest);
    sum = V::add_widened(sum, e);
  }
  const Reg inv = V::set1(static_cast<float>(1.0 / V::dreduce(sum)));
  for (int64_t i = 0; i < n_full; i += W) V::store(x + i, V::mul(V::load(x + i), inv));
  if (rest > 0) V::store_partial(x + n_full, V::mul(V::load_partial(x + n_full, rest, 0.0f), inv), rest);
}

// out[r] = q · k_r for the 4 rows k_r, over hd floats.
template <typename V>
void dot4(const float* q, const float* k0, const float* k1, const float* k2, const float* k3, int hd,
          float* out) {
  using Reg = typename V::Reg;
  constexpr int W = V::kLanes;
  Reg a0 = V::zero(), a1 = V::zero(), a2 = V::zero(), a3 = V::zero();
  int d = 0;
  for (; d + W <= hd; d += W) {
    const Reg qd = V::load(q + d);
    a0 = V::fmadd(qd, V::load(k0 + d), a0);
    a1 = V::fmadd(qd, V::load(k1 + d), a1);
    a2 = V::fmadd(qd, V::load(k2 + d), a2);
    a3 = V::fmadd(qd, V::load(k3 + d), a3);
  }
  if (d < hd) {
    const int rest = hd - d;
    const Reg qd = V::load_partial(q + d, rest, 0.0f);
    a0 = V::fmadd(qd, V::load_partial(k0 + d, rest, 0.0f), a0);
    a1 = V::fmadd(qd, V::load_partial(k1 + d, rest, 0.0f), a1);
    a2 = V::fmadd(qd, V::load_partial(k2 + d, rest, 0.0f), a2);
    a3 = V::fmadd(qd, V::load_partial(k3 + d, rest, 0.0f), a3);
  }
  V::reduce_add4(a0, a1, a2, a3, out);
}

template <typename V>
float dot1(const float* q, const float* k, int hd) {
  constexpr int W = V::kLanes;
  typename V::Reg acc = V::zero();
  int d = 0;
  for (; d + W <= hd; d += W) acc = V::fmadd(V::load(q + d), V::load(k + d), acc);
  if (d < hd) acc = V::fmadd(V::load_partial(q + d, hd - d, 0.0f), V::load_partial(k + d, hd - d, 0.0f), acc);
  return V::reduce_add(acc);
}

// o[0, NR*W) += Σ_j p[j] * row_j[0, NR*W), row_j = rows + j * stride: o is held in registers over
// the block. Below 8 registers of o, two interleaved key streams keep enough FMAs in flight.
template <typename V, int NR>
void add_weighted_rows_nr(const float* p, int nb, const float* rows, int64_t stride, float* o) {
  using Reg = typename V::Reg;
  constexpr int W = V::kLanes;
  constexpr int S = NR >= 8 ? 1 : 2;
  Reg acc[S][NR];
  for (int r = 0; r < NR; ++r) {
    acc[0][r] = V::load(o + r * W);
    if constexpr (S == 2) acc[1][r] = V::zero();
  }
  int j = 0;
  for (; j + S <= nb; j += S) {
    for (int s = 0; s < S; ++s) {
      const Reg pj = V::set1(p[j + s]);
      const float* row = rows + (j + s) * stride;
      for (int r = 0; r < NR; ++r) acc[s][r] = V::fmadd(pj, V::load(row + r * W), acc[s][r]);
    }
  }
  for (; j < nb; ++j) {
    const Reg pj = V::set1(p[j]);
    for (int r = 0; r < NR; ++r) acc[0][r] = V::fmadd(pj, V::load(rows + j * stride + r * W), acc[0][r]);
  }
  for (int r = 0; r < NR; ++r) V::store(o + r * W, S == 2 ? V::add(acc[0][r], acc[S - 1][r]) : acc[0][r]);
}

// o: [hd] += Σ_j p[j] * (rows + j * stride)[0, hd), in register blocks of 8, 4, 2, 1 vectors.
template <typename V>
void add_weighted_rows(const float* p, int nb, const float* rows, int64_t stride, int hd, float* o) {
  constexpr int W = V::kLanes;
  int d = 0;
  for (; d + 8 * W <= hd; d += 8 * W) add_weighted_rows_nr<V, 8>(p, nb, rows + d, stride, o + d);
  if (d + 4 * W <= hd) add_weighted_rows_nr<V, 4>(p, nb, rows + d, stride, o + d), d += 4 * W;
  if (d + 2 * W <= hd) add_weighted_rows_nr<V, 2>(p, nb, rows + d, stride, o + d), d += 2 * W;
  if (d + W <= hd) add_weighted_rows_nr<V, 1>(p, nb, rows + d, stride, o + d), d += W;
  if (d < hd) {
    const int rest = hd - d;
    typename V::Reg acc = V::load_partial(o + d, rest, 0.0f);
    for (int j = 0; j < nb; ++j)
      acc = V::fmadd(V::set1(p[j]), V::load_partial(rows + j * stride + d, rest, 0.0f), acc);
    V::store_partial(o + d, acc, rest);
  }
}

// o: [hd] *= factor
template <typename V>
void scale_row(float* o, int hd, float factor) {
  constexpr int W = V::kLanes;
  const typename V::Reg f = V::set1(factor);
  int d = 0;
  for (; d + W <= hd; d += W) V::store(o + d, V::mul(V::load(o + d), f));
  if (d < hd) V::store_partial(o + d, V::mul(V::load_partial(o + d, hd - d, 0.0f), f), hd - d);
}

// Running softmax state of one query head over the blocks seen so far: o = Σ e^(s_j - max) v_j
// (unnormalised, in the output row) and sum = Σ e^(s_j - max). Starts as {-inf, 0}. (No member
// initialisers: a constructor would be an inline function shared by the ISA files.)
struct OnlineSoftmax {
  float max;
  double sum;
};

// One query head qh [hd] against one block of nb keys: k and v point at the block's first row of the
// head's KV head, rows `stride` floats apart; bias (may be null) at the block's first key's bias;
// o [hd] is the head's output row.
template <typename V>
void attend_block(const float* qh, const float* k, const float* v, int64_t stride, int nb, int hd,
                  float scale, const float* bias, OnlineSoftmax* state, float* o) {
  using Reg = typename V::Reg;
  constexpr int W = V::kLanes;
  alignas(64) float p[kAttentionBlockKeys];
  int j = 0;
  for (; j + 4 <= nb; j += 4)
    dot4<V>(qh, k + j * stride, k + (j + 1) * stride, k + (j + 2) * stride, k + (j + 3) * stride, hd, p + j);
  for (; j < nb; ++j) p[j] = dot1<V>(qh, k + j * stride, hd);

  // Scale (and bias) the scores as attention_head_ref does, and find their max. Lanes past nb hold
  // -inf.
  const int n_full = nb / W * W, rest = nb - n_full;
  const Reg vscale = V::set1(scale);
  Reg max_lanes = V::set1(-INFINITY);
  for (j = 0; j < n_full; j += W) {
    Reg s = V::mul(V::load(p + j), vscale);
    if (bias != nullptr) s = V::add(s, V::load(bias + j));
    V::store(p + j, s);
    max_lanes = V::max(max_lanes, s);
  }
  if (rest > 0) {
    Reg s = V::mul(V::load_partial(p + j, rest, -INFINITY), vscale);
    if (bias != nullptr) s = V::add(s, V::load_partial(bias + j, rest, 0.0f));
    V::store_partial(p + j, s, rest);
    max_lanes = V::max(max_lanes, s);
  }
  const float block_max = V::reduce_max(max_lanes);
  if (block_max > state->max) {
    // A new max: what was summed so far was relative to the old one.
    const float rescale = std::exp(state->max - block_max);
    state->sum *= rescale;
    scale_row<V>(o, hd, rescale);
    state->max = block_max;
  }

  const Reg max_value = V::set1(state->max);
  typename V::DAcc sum = V::dzero();
  for (j = 0; j < n_full; j += W) {
    const Reg e = V::exp(V::sub(V::load(p + j), max_value));
    V::store(p + j, e);
    sum = V::add_widened(sum, e);
  }
  if (rest > 0) {
    const Reg e = V::exp(V::sub(V::load_partial(p + j, rest, -INFINITY), max_value));
    V::store_partial(p + j, e, rest);
    sum = V::add_widened(sum, e);
  }
  state->sum += V::dreduce(sum);
  add_weighted_rows<V>(p, nb, v, stride, hd, o);
}

// q, out: [n_head, head_dim]; k, v: [n_kv, kv_stride]. See attention_heads().
template <typename V>
void attention_heads_simd(const AttentionShape& s, int h_begin, int h_end, const float* q, const float* k,
                          const float* v, int64_t n_kv, float* out) {
  const int hd = s.head_dim;
  const int64_t kv_offset = static_cast<int64_t>(h_begin / (s.n_head / s.n_head_kv)) * hd;
  for (int h0 = h_begin; h0 < h_end; h0 += kAttentionHeadsPerPass) {
    const int nh = std::min(kAttentionHeadsPerPass, h_end - h0);
    OnlineSoftmax state[kAttentionHeadsPerPass];
    for (int i = 0; i < nh; ++i) state[i] = {-INFINITY, 0.0};
    std::memset(out + static_cast<int64_t>(h0) * hd, 0, static_cast<size_t>(nh) * hd * sizeof(float));
    // Blocks outermost: each block of K and V comes from memory once and from L1 for the other heads.
    for (int64_t j0 = 0; j0 < n_kv; j0 += kAttentionBlockKeys) {
      const int nb = static_cast<int>(std::min<int64_t>(kAttentionBlockKeys, n_kv - j0));
      const float* kb = k + j0 * s.kv_stride + kv_offset;
      const float* vb = v + j0 * s.kv_stride + kv_offset;
      for (int i = 0; i < nh; ++i) {
        const int64_t row = static_cast<int64_t>(h0 + i) * hd;
        const float* bias = s.bias != nullptr ? s.bias + (h0 + i) * s.bias_stride + j0 : nullptr;
        attend_block<V>(q + row, kb, vb, s.kv_stride, nb, hd, s.scale, bias, &state[i], out + row);
      }
    }
    for (int i = 0; i < nh; ++i) {
      scale_row<V>(out + static_cast<int64_t>(h0 + i) * hd, hd, static_cast<float>(1.0 / state[i].sum));
    }
  }
}

// attention_rows: the query rows of a tile are the vector lanes. Per block of keys, the scores
// st[j][i] = q_i · k_j come from register tiles of kRowsKeys keys x kRowsVectors vectors of rows (the
// queries held transposed, qt[d][i]), the softmax state is per lane (max and exp are vertical, no
// horizontal reductions), and the outputs, held transposed too (ot[d][i]), take Σ_j st[j][i] v_j[d]
// in tiles of kRowsKeys dims x kRowsVectors vectors.
template <typename V>
inline constexpr int kRowsVectors = V::kLanes >= 8 ? 2 : 4;
template <typename V>
inline constexpr int kRowsKeys = V::kLanes >= 16 ? 8 : 4;
// Keys per block of attention_rows (its scores, [keys][rows], stay in L1).
inline constexpr int kRowsBlockKeys = 64;
// Query rows per tile.
template <typename V>
inline constexpr int kRowsTile = kRowsVectors<V>* V::kLanes;

// st[r][0, NQ) = scale * (k_r · qt) for the nk <= KJ key rows k_r = k + r * stride (rows past nk
// repeat the last one and are not stored).
template <typename V>
void rows_scores_tile(const float* k, int64_t stride, int nk, const float* qt, int hd, float scale,
                      float* st) {
  using Reg = typename V::Reg;
  constexpr int W = V::kLanes, QV = kRowsVectors<V>, KJ = kRowsKeys<V>, NQ = kRowsTile<V>;
  const float* kr[KJ];
  for (int r = 0; r < KJ; ++r) kr[r] = k + std::min(r, nk - 1) * stride;
  Reg acc[KJ][QV];
  for (int r = 0; r < KJ; ++r)
    for (int c = 0; c < QV; ++c) acc[r][c] = V::zero();
  for (int d = 0; d < hd; ++d) {
    Reg qd[QV];
    for (int c = 0; c < QV; ++c) qd[c] = V::load(qt + d * NQ + c * W);
    for (int r = 0; r < KJ; ++r) {
      const Reg kd = V::set1(kr[r][d]);
      for (int c = 0; c < QV; ++c) acc[r][c] = V::fmadd(kd, qd[c], acc[r][c]);
    }
  }
  const Reg vscale = V::set1(scale);
  for (int r = 0; r < nk; ++r)
    for (int c = 0; c < QV; ++c) V::store(st + r * NQ + c * W, V::mul(acc[r][c], vscale));
}

// ot[d][0, NQ) = ot[d][0, NQ) * factor + Σ_j st[j][0, NQ) v_j[d] for the nd <= KJ dims d of d0 ..
// (dims past nd repeat the last one and are not stored); v_j = v + j * stride.
template <typename V>
void rows_values_tile(const float* st, int nb, const float* v, int64_t stride, int d0, int nd,
                      const typename V::Reg* factor, float* ot) {
  using Reg = typename V::Reg;
  constexpr int W = V::kLanes, QV = kRowsVectors<V>, DJ = kRowsKeys<V>, NQ = kRowsTile<V>;
  int dd[DJ];
  for (int r = 0; r < DJ; ++r) dd[r] = d0 + std::min(r, nd - 1);
  Reg acc[DJ][QV];
  for (int r = 0; r < DJ; ++r)
    for (int c = 0; c < QV; ++c) acc[r][c] = V::mul(V::load(ot + dd[r] * NQ + c * W), factor[c]);
  for (int j = 0; j < nb; ++j) {
    Reg p[QV];
    for (int c = 0; c < QV; ++c) p[c] = V::load(st + j * NQ + c * W);
    const float* vj = v + j * stride;
    for (int r = 0; r < DJ; ++r) {
      const Reg vd = V::set1(vj[dd[r]]);
      for (int c = 0; c < QV; ++c) acc[r][c] = V::fmadd(vd, p[c], acc[r][c]);
    }
  }
  for (int r = 0; r < nd; ++r)
    for (int c = 0; c < QV; ++c) V::store(ot + dd[r] * NQ + c * W, acc[r][c]);
}

// One tile of nq <= NQ rows of head h. scratch: 2 * hd * NQ + kRowsBlockKeys * NQ floats.
template <typename V>
void attention_rows_tile(const AttentionShape& s, int h, const float* q, int64_t q_stride, int nq,
                         const float* k, const float* v, const int64_t* n_kv, const float* bias, float* out,
                         int64_t out_stride, float* scratch) {
  using Reg = typename V::Reg;
  constexpr int W = V::kLanes, QV = kRowsVectors<V>, KJ = kRowsKeys<V>, NQ = kRowsTile<V>;
  constexpr int KB = kRowsBlockKeys;
  static_assert(sizeof(typename V::DAcc) == W * sizeof(double), "DAcc holds lane i's sum in double i");
  const int hd = s.head_dim;
  const int64_t kv_offset = static_cast<int64_t>(h / (s.n_head / s.n_head_kv)) * hd;
  float* qt = scratch;
  float* ot = qt + static_cast<int64_t>(hd) * NQ;
  float* st = ot + static_cast<int64_t>(hd) * NQ;
  // Lanes past nq: zero queries over the last row's keys (computed, never written out).
  int64_t lane_kv[NQ];
  int64_t min_kv = n_kv[0], max_kv = n_kv[0];
  for (int i = 0; i < NQ; ++i) {
    lane_kv[i] = n_kv[std::min(i, nq - 1)];
    min_kv = std::min(min_kv, lane_kv[i]);
    max_kv = std::max(max_kv, lane_kv[i]);
  }
  for (int d = 0; d < hd; ++d) {
    for (int i = 0; i < NQ; ++i)
      qt[d * NQ + i] = i < nq ? q[i * q_stride + static_cast<int64_t>(h) * hd + d] : 0.0f;
  }
  std::memset(ot, 0, static_cast<size_t>(hd) * NQ * sizeof(float));
  Reg run_max[QV];
  for (int c = 0; c < QV; ++c) run_max[c] = V::set1(-INFINITY);
  double sum[NQ] = {};

  for (int64_t j0 = 0; j0 < max_kv; j0 += KB) {
    const int nb = static_cast<int>(std::min<int64_t>(KB, max_kv - j0));
    const float* kb = k + j0 * s.kv_stride + kv_offset;
    const float* vb = v + j0 * s.kv_stride + kv_offset;
    for (int j = 0; j < nb; j += KJ)
      rows_scores_tile<V>(kb + j * s.kv_stride, s.kv_stride, std::min(KJ, nb - j), qt, hd, s.scale,
                          st + j * NQ);
    if (bias != nullptr) {
      for (int i = 0; i < nq; ++i) {
        const float* bi = bias + i * s.bias_row_stride + j0;
        const int n = static_cast<int>(std::min<int64_t>(nb, lane_kv[i] - j0));
        for (int j = 0; j < n; ++j) st[j * NQ + i] += bi[j];
      }
    }
    if (j0 + nb > min_kv) {  // keys past some row's count
      for (int i = 0; i < NQ; ++i) {
        for (int64_t j = std::max<int64_t>(lane_kv[i] - j0, 0); j < nb; ++j) st[j * NQ + i] = -INFINITY;
      }
    }
    // New running max per lane, the factor that moves the earlier sums to it, and the weights.
    Reg factor[QV];
    alignas(64) float factor_lanes[NQ];
    for (int c = 0; c < QV; ++c) {
      Reg m = run_max[c];
      for (int j = 0; j < nb; ++j) m = V::max(m, V::load(st + j * NQ + c * W));
      factor[c] = V::exp(V::sub(run_max[c], m));
      run_max[c] = m;
      V::store(factor_lanes + c * W, factor[c]);
      typename V::DAcc block_sum = V::dzero();
      for (int j = 0; j < nb; ++j) {
        const Reg e = V::exp(V::sub(V::load(st + j * NQ + c * W), m));
        V::store(st + j * NQ + c * W, e);
        block_sum = V::add_widened(block_sum, e);
      }
      double lanes[W];
      std::memcpy(lanes, &block_sum, sizeof(lanes));
      for (int i = 0; i < W; ++i) sum[c * W + i] = sum[c * W + i] * factor_lanes[c * W + i] + lanes[i];
    }
    for (int d = 0; d < hd; d += KJ)
      rows_values_tile<V>(st, nb, vb, s.kv_stride, d, std::min(KJ, hd - d), factor, ot);
  }
  for (int i = 0; i < nq; ++i) {
    const float inv = static_cast<float>(1.0 / sum[i]);
    float* o = out + i * out_stride + static_cast<int64_t>(h) * hd;
    for (int d = 0; d < hd; ++d) o[d] = ot[d * NQ + i] * inv;
  }
}

// See attention_rows().
template <typename V>
void attention_rows_simd(const AttentionShape& s, int h_begin, int h_end, const float* q, int64_t q_stride,
                         int n_q, const float* k, const float* v, const int64_t* n_kv, float* out,
                         int64_t out_stride) {
  constexpr int NQ = kRowsTile<V>;
  thread_local std::vector<float> scratch;
  scratch.resize(static_cast<size_t>(2 * s.head_dim + kRowsBlockKeys) * NQ);
  for (int h = h_begin; h < h_end; ++h) {
    for (int i0 = 0; i0 < n_q; i0 += NQ) {
      const float* bias = s.bias != nullptr ? s.bias + h * s.bias_stride + i0 * s.bias_row_stride : nullptr;
      attention_rows_tile<V>(s, h, q + i0 * q_stride, q_stride, std::min(NQ, n_q - i0), k, v, n_kv + i0, bias,
                             out + i0 * out_stride, out_stride, scratch.data());
    }
  }
}

void softmax_avx2(float* x, int64_t n);
void softmax_avx512(float* x, int64_t n);
void softmax_neon(float* x, int64_t n);
void softmax_wasm_simd128(float* x, int64_t n);

void attention_heads_avx2(const AttentionShape& shape, int h_begin, int h_end, const float* q, const float* k,
                          const float* v, int64_t n_kv, float* out);
void attention_heads_avx512(const AttentionShape& shape, int h_begin, int h_end, const float* q,
                            const float* k, const float* v, int64_t n_kv, float* out);
void attention_heads_neon(const AttentionShape& shape, int h_begin, int h_end, const float* q, const float* k,
                          const float* v, int64_t n_kv, float* out);
void attention_heads_wasm_simd128(const AttentionShape& shape, int h_begin, int h_end, const float* q,
                                  const float* k, const float* v, int64_t n_kv, float* out);
void attention_heads_generic(const AttentionShape& shape, int h_begin, int h_end, const float* q,
                             const float* k, const float* v, int64_t n_kv, float* out);

void attention_rows_avx2(const AttentionShape& shape, int h_begin, int h_end, const float* q,
                         int64_t q_stride, int n_q, const float* k, const float* v, const int64_t* n_kv,
                         float* out, int64_t out_stride);
void attention_rows_avx512(const AttentionShape& shape, int h_begin, int h_end, const float* q,
                           int64_t q_stride, int n_q, const float* k, const float* v, const int64_t* n_kv,
                           float* out, int64_t out_stride);
void attention_rows_neon(const AttentionShape& shape, int h_begin, int h_end, const float* q,
                         int64_t q_stride, int n_q, const float* k, const float* v, const int64_t* n_kv,
                         float* out, int64_t out_stride);
void attention_rows_wasm_simd128(const AttentionShape& shape, int h_begin, int h_end, const float* q,
                                 int64_t q_stride, int n_q, const float* k, const float* v,
                                 const int64_t* n_kv, float* out, int64_t out_stride);
void attention_rows_generic(const AttentionShape& shape, int h_begin, int h_end, const float* q,
                            int64_t q_stride, int n_q, const float* k, const float* v, const int64_t* n_kv,
                            float* out, int64_t out_stride);

}  // namespace jf
