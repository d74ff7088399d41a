// Softmax and attention on one traits type of simd/f32.h, and the per-ISA entry points
// (cpu_avx2.cpp, ...). Internal to src/kernels/attention.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

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

}  // namespace jf
