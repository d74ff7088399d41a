// Reference conversions between f32 and the ggml block formats (layouts in quant.h).
//
// The float arithmetic of the legacy and activation quantisers is order-sensitive on purpose: it must
// reproduce llama-quantize's bytes and llama.cpp's x86 activation rounding, so this file is built with
// -ffp-contract=off (a fused multiply-add rounds once where ggml rounds twice).
#include "tensor/quant.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>

#include "base/check.h"
#include "base/fp16.h"

namespace jf {
namespace {

enum class Rounding { kWeight, kActivation };

int clamp_int(int v, int lo, int hi) {
  return std::min(hi, std::max(lo, v));
}

// Round half to even, like ggml's nearest_int and _mm256_round_ps, for |x| <= 2^22: adding 1.5 * 2^23
// leaves no fraction bits, so the addition itself rounds (in the default FP environment). Inline, where
// std::nearbyint is a libm call on baseline x86-64.
int nearest_int(float x) {
  const float shifted = x + 12582912.0f;
  return static_cast<int>(shifted - 12582912.0f);
}

// nearest_int for a code that is clamped to [lo, hi] anyway (|lo|, |hi| < 2^22): safe for any finite x.
int nearest_code(float x, int lo, int hi) {
  return clamp_int(nearest_int(std::min(std::max(x, static_cast<float>(lo) - 1), static_cast<float>(hi) + 1)),
                   lo, hi);
}

// Blocks are copied in and out: rows of GGUF data need not be aligned for the block structs.
template <typename Block>
Block load_block(const void* src) {
  Block b;
  std::memcpy(&b, src, sizeof(Block));
  return b;
}

float max_abs(const float* x, int n) {
  float amax = 0;
  for (int i = 0; i < n; ++i) amax = std::max(amax, std::fabs(x[i]));
  return amax;
}

// The element of largest magnitude with its sign (the first of equals): Q4_0, Q5_0, Q6_K and Q8_K map it
// onto the extra negative code of their asymmetric range.
float signed_max_abs(const float* x, int n) {
  float amax = 0;
  float max = 0;
  for (int i = 0; i < n; ++i) {
    if (std::fabs(x[i]) > amax) {
      amax = std::fabs(x[i]);
      max = x[i];
    }
  }
  return max;
}

void min_max(const float* x, int n, float* min, float* max) {
  *min = FLT_MAX;
  *max = -FLT_MAX;
  for (int i = 0; i < n; ++i) {
    if (x[i] < *min) *min = x[i];
    if (x[i] > *max) *max = x[i];
  }
}

// ---- legacy blocks of 32 (llama.cpp's reference quantisers, so that llama-quantize's bytes come out)

// Element j and j + 16 share byte j of qs (low / high nibble); bit 4 of element i is bit i of qh.
void pack_nibbles(const int* codes, uint8_t* qs) {
  for (int j = 0; j < kQK / 2; ++j)
    qs[j] = static_cast<uint8_t>((codes[j] & 0xF) | ((codes[j + kQK / 2] & 0xF) << 4));
}

void pack_fifth_bits(const int* codes, uint8_t* qh) {
  uint32_t bits = 0;
  for (int i = 0; i < kQK; ++i) bits |= static_cast<uint32_t>((codes[i] >> 4) & 1) << i;
  for (int b = 0; b < 4; ++b) qh[b] = static_cast<uint8_t>(bits >> (8 * b));
}

// Symmetric 4/5-bit: d = max / -half puts the largest magnitude on code 0; codes truncate x/d + half + 0.5.
void symmetric_codes(const float* x, int half, uint16_t* d_bits, int* codes) {
  const float max = signed_max_abs(x, kQK);
  const float d = max / static_cast<float>(-half);
  const float id = d != 0 ? 1.0f / d : 0.0f;
  *d_bits = f32_to_fp16(d);
  const float offset = static_cast<float>(half) + 0.5f;
  for (int i = 0; i < kQK; ++i) codes[i] = std::min(2 * half - 1, static_cast<int>(x[i] * id + offset));
}

// Affine 4/5-bit: codes truncate (x - min)/d + 0.5 with d = (max - min) / nmax.
void affine_codes_legacy(const float* x, int nmax, uint16_t* d_bits, uint16_t* m_bits, int* codes) {
  float min, max;
  min_max(x, kQK, &min, &max);
  const float d = (max - min) / static_cast<float>(nmax);
  const float id = d != 0 ? 1.0f / d : 0.0f;
  *d_bits = f32_to_fp16(d);
  *m_bits = f32_to_fp16(min);
  for (int i = 0; i < kQK; ++i) codes[i] = std::min(nmax, static_cast<int>((x[i] - min) * id + 0.5f));
}

void quantize_q4_0(const float* x, BlockQ4_0* y) {
  int codes[kQK];
  symmetric_codes(x, 8, &y->d, codes);
  pack_nibbles(codes, y->qs);
}

void quantize_q4_1(const float* x, BlockQ4_1* y) {
  int codes[kQK];
  affine_codes_legacy(x, 15, &y->d, &y->m, codes);
  pack_nibbles(codes, y->qs);
}

void quantize_q5_0(const float* x, BlockQ5_0* y) {
  int codes[kQK];
  symmetric_codes(x, 16, &y->d, codes);
  pack_nibbles(codes, y->qs);
  pack_fifth_bits(codes, y->qh);
}

void quantize_q5_1(const float* x, BlockQ5_1* y) {
  int codes[kQK];
  affine_codes_legacy(x, 31, &y->d, &y->m, codes);
  pack_nibbles(codes, y->qs);
  pack_fifth_bits(codes, y->qh);
}

// llama-quantize's Q8_0: multiply by 1/d, round half away from zero.
void quantize_q8_0_weight(const float* x, BlockQ8_0* y) {
  const float d = max_abs(x, kQK) / 127;
  const float id = d != 0 ? 1.0f / d : 0.0f;
  y->d = f32_to_fp16(d);
  for (int i = 0; i < kQK; ++i) y->qs[i] = static_cast<int8_t>(std::round(x[i] * id));
}

// llama.cpp's x86 activation Q8_0/Q8_1: multiply by 127/amax, round half to even. Returns d (f32).
float quantize_q8_activation(const float* x, int8_t* qs, uint16_t* d_bits) {
  const float amax = max_abs(x, kQK);
  const float d = amax / 127.0f;
  const float id = amax != 0 ? 127.0f / amax : 0.0f;
  *d_bits = f32_to_fp16(d);
  for (int i = 0; i < kQK; ++i) qs[i] = static_cast<int8_t>(nearest_int(x[i] * id));
  return d;
}

void quantize_q8_0_activation(const float* x, BlockQ8_0* y) {
  quantize_q8_activation(x, y->qs, &y->d);
}

void quantize_q8_1(const float* x, BlockQ8_1* y) {
  const float d = quantize_q8_activation(x, y->qs, &y->d);
  int sum = 0;
  for (int i = 0; i < kQK; ++i) sum += y->qs[i];
  y->s = f32_to_fp16(d * static_cast<float>(sum));
}

// Q8_K (llama.cpp's reference, which its x86 backend uses): the signed largest magnitude maps to -127,
// d = 1/iscale kept in f32, bsums for the K-quant dot products' min terms.
void quantize_q8_k(const float* x, BlockQ8_K* y) {
  *y = BlockQ8_K{};
  const float max = signed_max_abs(x, kQK_K);
  if (max == 0) return;
  const float iscale = -127.0f / max;
  for (int i = 0; i < kQK_K; ++i) y->qs[i] = static_cast<int8_t>(std::min(127, nearest_int(iscale * x[i])));
  for (int g = 0; g < kQK_K / 16; ++g) {
    int sum = 0;
    for (int i = 0; i < 16; ++i) sum += y->qs[16 * g + i];
    y->bsums[g] = static_cast<int16_t>(sum);
  }
  y->d = 1 / iscale;
}

// ---- K-quants: our own search. Sub-blocks are fit by weighted least squares over a few roundings,
// then their scales are themselves quantised and the element codes recomputed under the stored scales.

// Importance of each element of a super-block: large weights dominate a matmul's output and get fit more
// closely, the block's rms keeps the small ones from being ignored.
void importance(const float* x, int n, float* w) {
  float sum_x2 = 0;
  for (int i = 0; i < n; ++i) sum_x2 += x[i] * x[i];
  const float rms = std::sqrt(sum_x2 / static_cast<float>(n));
  for (int i = 0; i < n; ++i) w[i] = rms + std::fabs(x[i]);
}

struct AffineFit {  // x ≈ scale * q - min, q in [0, nmax]
  float scale = 0;
  float min = 0;
};

void affine_codes(const float* x, int n, int nmax, const AffineFit& fit, uint8_t* q) {
  const float inv = fit.scale > 0 ? 1.0f / fit.scale : 0.0f;
  for (int i = 0; i < n; ++i) q[i] = static_cast<uint8_t>(nearest_code((x[i] + fit.min) * inv, 0, nmax));
}

// Weighted sums of a sub-block that do not depend on the codes.
struct Moments {
  double w = 0, wx = 0, wxx = 0;
};

Moments moments(const float* x, const float* w, int n) {
  Moments m;
  for (int i = 0; i < n; ++i) {
    m.w += w[i];
    m.wx += w[i] * x[i];
    m.wxx += static_cast<double>(w[i]) * x[i] * x[i];
  }
  return m;
}

struct AffineTrial {
  AffineFit fit;
  double err = INFINITY;  // weighted squared error of `fit` with the codes it was solved for
};

// Rounds (x + min) * inv_scale to codes, then solves weighted least squares for (scale, min) given those
// codes, constrained to scale > 0 and min >= 0 because the formats store both as unsigned multiples of
// d / dmin. The error comes from the sums, so a trial is one pass over the sub-block.
AffineTrial affine_trial(const float* x, const float* w, int n, int nmax, float min, float inv_scale,
                         const Moments& m) {
  double sq = 0, sqq = 0, sqx = 0;
  for (int i = 0; i < n; ++i) {
    const int q = nearest_code((x[i] + min) * inv_scale, 0, nmax);
    sq += w[i] * q;
    sqq += w[i] * q * q;
    sqx += w[i] * q * x[i];
  }
  const double det = m.w * sqq - sq * sq;
  if (det <= 0) return {};
  double scale = (m.w * sqx - sq * m.wx) / det;
  double offset = (sqq * m.wx - sq * sqx) / det;  // x ≈ scale * q + offset
  if (offset > 0) {
    offset = 0;
    scale = sqx / sqq;
  }
  if (scale <= 0) return {};
  const double err = m.wxx + scale * scale * sqq + offset * offset * m.w - 2 * scale * sqx -
                     2 * offset * m.wx + 2 * scale * offset * sq;
  return {{static_cast<float>(scale), static_cast<float>(-offset)}, err};
}

// Tries step sizes around (max - min) / nmax, each rounding refit by least squares, then alternates
// rounding and refitting (Lloyd) from the best until the error stops falling.
AffineFit fit_affine_sub_block(const float* x, const float* w, int n, int nmax) {
  float lo, hi;
  min_max(x, n, &lo, &hi);
  lo = std::min(lo, 0.0f);  // min >= 0 in the format: the zero point never lies above zero
  if (hi <= lo) return {0, -lo};
  const Moments m = moments(x, w, n);
  AffineTrial best;
  best.fit = {(hi - lo) / static_cast<float>(nmax), -lo};
  for (int step = -10; step <= 10; step += 2) {
    const AffineTrial trial = affine_trial(
        x, w, n, nmax, -lo, (static_cast<float>(nmax) + 0.1f * static_cast<float>(step)) / (hi - lo), m);
    if (trial.err < best.err) best = trial;
  }
  for (int iter = 0; iter < 8 && best.fit.scale > 0; ++iter) {
    const AffineTrial trial = affine_trial(x, w, n, nmax, best.fit.min, 1.0f / best.fit.scale, m);
    if (!(trial.err < best.err)) break;
    best = trial;
  }
  return best.fit;
}

// Code of `value` on a 6-bit grid of step `unit` (0 when the unit is 0).
int six_bit_code(float value, float unit) {
  return unit > 0 ? nearest_code(value / unit, 0, 63) : 0;
}

// A Q4_K / Q5_K super-block: 8 affine sub-blocks of 32 whose scales and mins are 6-bit multiples of the
// fp16 d and dmin. Writes d, dmin, the packed scales and the 256 element codes (0..nmax).
void quantize_affine_super_block(const float* x, int nmax, uint16_t* d, uint16_t* dmin, uint8_t* scales,
                                 uint8_t* q) {
  float w[kQK_K];
  importance(x, kQK_K, w);
  AffineFit fits[8];
  float max_scale = 0, max_min = 0;
  for (int j = 0; j < 8; ++j) {
    fits[j] = fit_affine_sub_block(x + 32 * j, w + 32 * j, 32, nmax);
    max_scale = std::max(max_scale, fits[j].scale);
    max_min = std::max(max_min, fits[j].min);
  }
  *d = f32_to_fp16(max_scale / 63);
  *dmin = f32_to_fp16(max_min / 63);
  const float d_f = fp16_to_f32(*d), dmin_f = fp16_to_f32(*dmin);
  int ls[8], lm[8];
  for (int j = 0; j < 8; ++j) {
    ls[j] = six_bit_code(fits[j].scale, d_f);
    lm[j] = six_bit_code(fits[j].min, dmin_f);
    // The same products dequantisation forms, so the codes are nearest under the stored scales.
    affine_codes(x + 32 * j, 32, nmax, {d_f * static_cast<float>(ls[j]), dmin_f * static_cast<float>(lm[j])},
                 q + 32 * j);
  }
  pack_k_scales(ls, lm, scales);
}

// Q4_K / Q5_K element order: each 64 elements share 32 bytes of qs, the first 32 in the low nibbles.
void pack_k_nibbles(const uint8_t* q, uint8_t* qs) {
  for (int p = 0; p < 4; ++p) {
    for (int l = 0; l < 32; ++l)
      qs[32 * p + l] = static_cast<uint8_t>((q[64 * p + l] & 0xF) | ((q[64 * p + 32 + l] & 0xF) << 4));
  }
}

void quantize_q4_k(const float* x, BlockQ4_K* y) {
  uint8_t q[kQK_K];
  quantize_affine_super_block(x, 15, &y->d, &y->dmin, y->scales, q);
  pack_k_nibbles(q, y->qs);
}

// Bit 4 of element 64p + l is bit 2p of qh[l], that of element 64p + 32 + l bit 2p + 1.
void quantize_q5_k(const float* x, BlockQ5_K* y) {
  uint8_t q[kQK_K];
  quantize_affine_super_block(x, 31, &y->d, &y->dmin, y->scales, q);
  pack_k_nibbles(q, y->qs);
  for (int l = 0; l < 32; ++l) {
    int bits = 0;
    for (int p = 0; p < 4; ++p)
      bits |= ((q[64 * p + l] >> 4) << (2 * p)) | ((q[64 * p + 32 + l] >> 4) << (2 * p + 1));
    y->qh[l] = static_cast<uint8_t>(bits);
  }
}

// Q6_K sub-blocks: x ≈ scale * q, q in [-32, 31].
int symmetric_code(float x, float inv_scale) {
  return nearest_code(x * inv_scale, -32, 31);
}

struct SymmetricTrial {
  float scale = 0;
  double err = INFINITY;
};

// Rounds x * inv_scale to codes and returns the least-squares scale for them with its error, from the
// sums (one pass).
SymmetricTrial symmetric_trial(const float* x, const float* w, int n, float inv_scale, double wxx) {
  double sxq = 0, sqq = 0;
  for (int i = 0; i < n; ++i) {
    const int q = symmetric_code(x[i], inv_scale);
    sxq += w[i] * x[i] * q;
    sqq += w[i] * q * q;
  }
  if (sqq <= 0) return {};
  return {static_cast<float>(sxq / sqq), wxx - sxq * sxq / sqq};
}

// Like fit_affine_sub_block for the symmetric case: the signed largest magnitude lands near code -32
// (the extra code of the asymmetric range), then least-squares refits until the error stops falling.
float fit_symmetric_sub_block(const float* x, const float* w, int n) {
  const float max = signed_max_abs(x, n);
  if (max == 0) return 0;
  const double wxx = moments(x, w, n).wxx;
  SymmetricTrial best;
  for (int step = -10; step <= 10; step += 2) {
    const SymmetricTrial trial =
        symmetric_trial(x, w, n, -(32.0f + 0.1f * static_cast<float>(step)) / max, wxx);
    if (trial.err < best.err) best = trial;
  }
  for (int iter = 0; iter < 8 && best.scale != 0; ++iter) {
    const SymmetricTrial trial = symmetric_trial(x, w, n, 1.0f / best.scale, wxx);
    if (!(trial.err < best.err)) break;
    best = trial;
  }
  return best.scale;
}

// Q6_K: 16 sub-blocks of 16 with int8 scales times an fp16 d; element codes stored as q + 32 in 6 bits:
// low nibbles in ql (elements l and l + 64 of each 128 share a byte, as do l + 32 and l + 96), the top
// 2 bits of elements l, l + 32, l + 64, l + 96 in bits 0-1, 2-3, 4-5, 6-7 of qh[l].
void quantize_q6_k(const float* x, BlockQ6_K* y) {
  float w[kQK_K];
  importance(x, kQK_K, w);
  float scales[16];
  float max_scale = 0;
  for (int j = 0; j < 16; ++j) {
    scales[j] = fit_symmetric_sub_block(x + 16 * j, w + 16 * j, 16);
    if (std::fabs(scales[j]) > std::fabs(max_scale)) max_scale = scales[j];
  }
  y->d = f32_to_fp16(max_scale / -128.0f);
  const float d = fp16_to_f32(y->d);
  uint8_t q[kQK_K];
  for (int j = 0; j < 16; ++j) {
    const int code = d != 0 ? nearest_code(scales[j] / d, -128, 127) : 0;
    y->scales[j] = static_cast<int8_t>(code);
    const float sub_scale = d * static_cast<float>(code);
    const float inv = sub_scale != 0 ? 1.0f / sub_scale : 0.0f;
    for (int i = 0; i < 16; ++i)
      q[16 * j + i] = static_cast<uint8_t>(symmetric_code(x[16 * j + i], inv) + 32);
  }
  for (int h = 0; h < 2; ++h) {
    const uint8_t* codes = q + 128 * h;
    for (int l = 0; l < 32; ++l) {
      y->ql[64 * h + l] = static_cast<uint8_t>((codes[l] & 0xF) | ((codes[l + 64] & 0xF) << 4));
      y->ql[64 * h + 32 + l] = static_cast<uint8_t>((codes[l + 32] & 0xF) | ((codes[l + 96] & 0xF) << 4));
      y->qh[32 * h + l] = static_cast<uint8_t>((codes[l] >> 4) | ((codes[l + 32] >> 4) << 2) |
                                               ((codes[l + 64] >> 4) << 4) | ((codes[l + 96] >> 4) << 6));
    }
  }
}

// ---- unpacking

void unpack_legacy(const uint8_t* qs, const uint8_t* qh, int offset, BlockCodes* out) {
  uint32_t high = 0;
  if (qh != nullptr) {
    for (int b = 0; b < 4; ++b) high |= static_cast<uint32_t>(qh[b]) << (8 * b);
  }
  for (int j = 0; j < kQK / 2; ++j) {
    const int lo = (qs[j] & 0xF) | static_cast<int>(((high >> j) & 1) << 4);
    const int hi = (qs[j] >> 4) | static_cast<int>(((high >> (j + kQK / 2)) & 1) << 4);
    out->q[j] = static_cast<int8_t>(lo - offset);
    out->q[j + kQK / 2] = static_cast<int8_t>(hi - offset);
  }
}

void unpack_k_affine(const uint8_t* scales, const uint8_t* qs, const uint8_t* qh, BlockCodes* out) {
  out->n_sub = 8;
  out->sub_size = 32;
  for (int j = 0; j < 8; ++j) k_scale_min(scales, j, &out->scale[j], &out->min[j]);
  for (int p = 0; p < 4; ++p) {
    for (int l = 0; l < 32; ++l) {
      const int high_lo = qh != nullptr ? ((qh[l] >> (2 * p)) & 1) << 4 : 0;
      const int high_hi = qh != nullptr ? ((qh[l] >> (2 * p + 1)) & 1) << 4 : 0;
      out->q[64 * p + l] = static_cast<int8_t>((qs[32 * p + l] & 0xF) | high_lo);
      out->q[64 * p + 32 + l] = static_cast<int8_t>((qs[32 * p + l] >> 4) | high_hi);
    }
  }
}

void unpack_q6_k(const BlockQ6_K& b, BlockCodes* out) {
  out->n_sub = 16;
  out->sub_size = 16;
  out->d = fp16_to_f32(b.d);
  for (int j = 0; j < 16; ++j) out->scale[j] = b.scales[j];
  for (int h = 0; h < 2; ++h) {
    const uint8_t* ql = b.ql + 64 * h;
    const uint8_t* qh = b.qh + 32 * h;
    int8_t* q = out->q + 128 * h;
    for (int l = 0; l < 32; ++l) {
      q[l] = static_cast<int8_t>(((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32);
      q[l + 32] = static_cast<int8_t>(((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32);
      q[l + 64] = static_cast<int8_t>(((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
      q[l + 96] = static_cast<int8_t>(((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
    }
  }
}

// A legacy block: one sub-block with scale 1; the affine types store -m as dmin with min 1.
void set_single(float d, float m, bool affine, BlockCodes* out) {
  out->n_sub = 1;
  out->sub_size = kQK;
  out->d = d;
  out->dmin = affine ? -m : 0.0f;
  out->scale[0] = 1;
  out->min[0] = affine ? 1 : 0;
}

void dequantize_blocks(DType dtype, const void* src, float* dst, int64_t n) {
  const DTypeInfo& info = dtype_info(dtype);
  BlockCodes codes;
  for (int64_t i = 0; i < n / info.block_size; ++i) {
    unpack_block(dtype, static_cast<const uint8_t*>(src) + i * info.block_bytes, &codes);
    float* y = dst + i * info.block_size;
    for (int s = 0; s < codes.n_sub; ++s) {
      const float scale = codes.d * static_cast<float>(codes.scale[s]);
      const float min = codes.dmin * static_cast<float>(codes.min[s]);
      for (int k = 0; k < codes.sub_size; ++k) {
        const int e = s * codes.sub_size + k;
        y[e] = scale * static_cast<float>(codes.q[e]) - min;
      }
    }
  }
}

template <typename Block>
void quantize_blocks(const float* src, void* dst, int64_t n, int block_size,
                     void (*fn)(const float*, Block*)) {
  for (int64_t i = 0; i < n / block_size; ++i) {
    Block b{};
    fn(src + i * block_size, &b);
    std::memcpy(static_cast<uint8_t*>(dst) + i * sizeof(Block), &b, sizeof(Block));
  }
}

void quantize(DType dtype, const float* src, void* dst, int64_t n, Rounding rounding) {
  JF_CHECK_MSG(n % dtype_info(dtype).block_size == 0, "row length is not a multiple of the block size");
  auto* out = static_cast<uint8_t*>(dst);
  switch (dtype) {
    case DType::F32:
      std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
      return;
    case DType::F16:
      for (int64_t i = 0; i < n; ++i) {
        const uint16_t h = f32_to_fp16(src[i]);
        std::memcpy(out + 2 * i, &h, 2);
      }
      return;
    case DType::BF16:
      for (int64_t i = 0; i < n; ++i) {
        const uint16_t h = f32_to_bf16(src[i]);
        std::memcpy(out + 2 * i, &h, 2);
      }
      return;
    case DType::Q4_0:
      return quantize_blocks<BlockQ4_0>(src, dst, n, kQK, quantize_q4_0);
    case DType::Q4_1:
      return quantize_blocks<BlockQ4_1>(src, dst, n, kQK, quantize_q4_1);
    case DType::Q5_0:
      return quantize_blocks<BlockQ5_0>(src, dst, n, kQK, quantize_q5_0);
    case DType::Q5_1:
      return quantize_blocks<BlockQ5_1>(src, dst, n, kQK, quantize_q5_1);
    case DType::Q8_0:
      return quantize_blocks<BlockQ8_0>(
          src, dst, n, kQK, rounding == Rounding::kWeight ? quantize_q8_0_weight : quantize_q8_0_activation);
    case DType::Q8_1:
      return quantize_blocks<BlockQ8_1>(src, dst, n, kQK, quantize_q8_1);
    case DType::Q4_K:
      return quantize_blocks<BlockQ4_K>(src, dst, n, kQK_K, quantize_q4_k);
    case DType::Q5_K:
      return quantize_blocks<BlockQ5_K>(src, dst, n, kQK_K, quantize_q5_k);
    case DType::Q6_K:
      return quantize_blocks<BlockQ6_K>(src, dst, n, kQK_K, quantize_q6_k);
    case DType::Q8_K:
      return quantize_blocks<BlockQ8_K>(src, dst, n, kQK_K, quantize_q8_k);
    default:
      JF_CHECK_MSG(false, "quantize: unsupported dtype");
  }
}

}  // namespace

void k_scale_min(const uint8_t* scales, int j, int* scale, int* min) {
  if (j < 4) {
    *scale = scales[j] & 63;
    *min = scales[j + 4] & 63;
  } else {
    *scale = (scales[j + 4] & 0xF) | ((scales[j - 4] >> 6) << 4);
    *min = (scales[j + 4] >> 4) | ((scales[j] >> 6) << 4);
  }
}

// Scales 0..3 and mins 0..3 in the low 6 bits of bytes 0..3 / 4..7; scales
// and mins 4..7 split into a low nibble in bytes 8..11 and their top 2 bits on top of bytes 0..3 / 4..7.
void pack_k_scales(const int* ls, const int* lm, uint8_t* out) {
  for (int j = 0; j < 4; ++j) {
    out[j] = static_cast<uint8_t>(ls[j] | ((ls[j + 4] >> 4) << 6));
    out[j + 4] = static_cast<uint8_t>(lm[j] | ((lm[j + 4] >> 4) << 6));
    out[j + 8] = static_cast<uint8_t>((ls[j + 4] & 0xF) | ((lm[j + 4] & 0xF) << 4));
  }
}

void unpack_block(DType dtype, const void* block, BlockCodes* out) {
  *out = BlockCodes{};
  switch (dtype) {
    case DType::Q4_0: {
      const auto b = load_block<BlockQ4_0>(block);
      set_single(fp16_to_f32(b.d), 0, false, out);
      return unpack_legacy(b.qs, nullptr, 8, out);
    }
    case DType::Q4_1: {
      const auto b = load_block<BlockQ4_1>(block);
      set_single(fp16_to_f32(b.d), fp16_to_f32(b.m), true, out);
      return unpack_legacy(b.qs, nullptr, 0, out);
    }
    case DType::Q5_0: {
      const auto b = load_block<BlockQ5_0>(block);
      set_single(fp16_to_f32(b.d), 0, false, out);
      return unpack_legacy(b.qs, b.qh, 16, out);
    }
    case DType::Q5_1: {
      const auto b = load_block<BlockQ5_1>(block);
      set_single(fp16_to_f32(b.d), fp16_to_f32(b.m), true, out);
      return unpack_legacy(b.qs, b.qh, 0, out);
    }
    case DType::Q8_0: {
      const auto b = load_block<BlockQ8_0>(block);
      set_single(fp16_to_f32(b.d), 0, false, out);
      std::memcpy(out->q, b.qs, kQK);
      return;
    }
    case DType::Q8_1: {  // s only serves the dot products' min terms
      const auto b = load_block<BlockQ8_1>(block);
      set_single(fp16_to_f32(b.d), 0, false, out);
      std::memcpy(out->q, b.qs, kQK);
      return;
    }
    case DType::Q8_K: {
      const auto b = load_block<BlockQ8_K>(block);
      out->sub_size = kQK_K;
      out->d = b.d;
      out->scale[0] = 1;
      std::memcpy(out->q, b.qs, kQK_K);
      return;
    }
    case DType::Q4_K: {
      const auto b = load_block<BlockQ4_K>(block);
      out->d = fp16_to_f32(b.d);
      out->dmin = fp16_to_f32(b.dmin);
      return unpack_k_affine(b.scales, b.qs, nullptr, out);
    }
    case DType::Q5_K: {
      const auto b = load_block<BlockQ5_K>(block);
      out->d = fp16_to_f32(b.d);
      out->dmin = fp16_to_f32(b.dmin);
      return unpack_k_affine(b.scales, b.qs, b.qh, out);
    }
    case DType::Q6_K:
      return unpack_q6_k(load_block<BlockQ6_K>(block), out);
    default:
      JF_CHECK_MSG(false, "unpack_block: not a quantised type");
  }
}

void dequantize_row(DType dtype, const void* src, float* dst, int64_t n) {
  JF_CHECK_MSG(n % dtype_info(dtype).block_size == 0, "row length is not a multiple of the block size");
  const auto* in = static_cast<const uint8_t*>(src);
  switch (dtype) {
    case DType::F32:
      std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
      return;
    case DType::F16:
    case DType::BF16:
      for (int64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, in + 2 * i, 2);
        dst[i] = dtype == DType::F16 ? fp16_to_f32(h) : bf16_to_f32(h);
      }
      return;
    default:
      return dequantize_blocks(dtype, src, dst, n);
  }
}

void quantize_row(DType dtype, const float* src, void* dst, int64_t n) {
  quantize(dtype, src, dst, n, Rounding::kActivation);
}

void quantize_weight_row(DType dtype, const float* src, void* dst, int64_t n) {
  quantize(dtype, src, dst, n, Rounding::kWeight);
}

DType vec_dot_type(DType weight) {
  switch (weight) {
    case DType::F32:
    case DType::F16:
    case DType::BF16:
      return weight;
    case DType::Q4_0:
    case DType::Q5_0:
    case DType::Q8_0:
      return DType::Q8_0;
    case DType::Q4_1:
    case DType::Q5_1:
      return DType::Q8_1;
    case DType::Q4_K:
    case DType::Q5_K:
    case DType::Q6_K:
      return DType::Q8_K;
    default:
      JF_CHECK_MSG(false, "vec_dot_type: not a supported weight type");
  }
  return weight;
}

}  // namespace jf
