// AVX-512 (F, BW, VL, VNNI) variants (this file is compiled with the AVX-512 flags plus AVX2/FMA/F16C;
// the driver calls it only when cpu_features() reports all of them).
//   Q4_0, Q8_0: 512-bit tiles over pairs of blocks (below); one vpdpbusd per pair and (row, token).
//   Q5_0, Q4_1, Q5_1: the 256-bit tiles of x86_tiles.h with vpdpbusd.
//   Q4_K, Q5_K, Q6_K: the 256-bit tiles of x86_tiles.h with VNNI dot products (vpdpwssd: one instruction
//               where AVX2 needs madd + add).
//   F32, F16, BF16: the float tiles of x86_tiles.h at 512 bits.

// GCC 12 warns about the deliberately undefined upper bits inside its own AVX-512 intrinsics.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "kernels/matmul/x86_tiles.h"

namespace jf {
namespace {

struct VnniIntDot {
  // acc + sum of groups of 4 adjacent u8 * s8 products, per int32 lane (no intermediate saturation).
  static __m256i dot_u8s8(__m256i acc, __m256i u, __m256i s) { return _mm256_dpbusd_epi32(acc, u, s); }
  // acc + sum of pairs of adjacent int16 products, per int32 lane.
  static __m256i madd_i16(__m256i acc, __m256i a, __m256i b) { return _mm256_dpwssd_epi32(acc, a, b); }
};

struct Zmm {
  using F = __m512;
  static constexpr int kLanes = 16;
  static F zero() { return _mm512_setzero_ps(); }
  static F load(const float* p) { return _mm512_loadu_ps(p); }
  static F fmadd(F a, F b, F c) { return _mm512_fmadd_ps(a, b, c); }
  static F load_f16(const uint8_t* p) {
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  }
  static F load_bf16(const uint8_t* p) {
    const __m512i wide = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
    return _mm512_castsi512_ps(_mm512_slli_epi32(wide, 16));
  }
  static float sum(F v) { return _mm512_reduce_add_ps(v); }
};

// ---------------------------------------------------------------------------------------------
// Legacy blocks of 32 in pairs. One 512-bit vector holds blocks b and b + 1 in element order (the
// activation codes as they lie in memory); vpdpbusd leaves block b's partial sums in int32 lanes
// 0-7 and block b + 1's in lanes 8-15, so the scales are [d_b x 8, d_b+1 x 8]. As in x86_tiles.h the
// weight codes are unsigned (w + offset) and the activation bias -offset * sum(x) of each block
// (in lanes 0 and 8) restores the signed sum. A trailing single block runs the same code with the
// second half zero. The activations come as ActLayout::q8_32_lanes: scale and bias vectors of a pair
// are plain loads.

// Permutation index: element 0 to lanes 0-7, element 1 to lanes 8-15. (A function, not a global:
// a global would be initialised at start-up, also on CPUs without AVX-512.)
inline __m512i pair_index() {
  return _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
}

// Two 16-bit word indices in one 32-bit element (for word permutes).
constexpr int words(int lo, int hi) {
  return lo | (hi << 16);
}

inline uint16_t u16_at(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}

// Q4_0 [18 B]: fp16 d, byte j = element j (low nibble) and j + 16 (high nibble). Unsigned codes: the
// low nibbles 0..15, the high nibbles left in place as 16 * (0..15) (no shift; the activation
// encoding divides that half's scale by 16, high_shift 4). Both blocks come from one masked 64-byte
// load (36 bytes: 16-bit words 0 and 9 are the scales, 1-8 and 10-17 the codes); word permutes place
// them.
struct Q4_0Pair {
  static constexpr int kOffset = 8;
  static constexpr int kHighShift = 4;
  static constexpr int kBlockBytes = sizeof(BlockQ4_0);
  template <bool kPair>
  static void load(const uint8_t* block, __m512i* codes, __m512* scales) {
    const __m512i raw = _mm512_maskz_loadu_epi8(kPair ? (1ull << 36) - 1 : (1ull << 18) - 1, block);
    // [codes b, codes b, codes b+1, codes b+1] per 128-bit lane, masked to low / high nibbles.
    const __m512i code_words =
        _mm512_setr_epi32(words(1, 2), words(3, 4), words(5, 6), words(7, 8), words(1, 2), words(3, 4),
                          words(5, 6), words(7, 8), words(10, 11), words(12, 13), words(14, 15),
                          words(16, 17), words(10, 11), words(12, 13), words(14, 15), words(16, 17));
    const __m512i abab = _mm512_permutexvar_epi16(code_words, raw);
    constexpr int kLow = 0x0F0F0F0F;
    constexpr int kHigh = static_cast<int>(0xF0F0F0F0u);
    const __m512i nibbles = _mm512_setr_epi32(kLow, kLow, kLow, kLow, kHigh, kHigh, kHigh, kHigh, kLow, kLow,
                                              kLow, kLow, kHigh, kHigh, kHigh, kHigh);
    *codes = _mm512_and_si512(abab, nibbles);
    const __m512i scale_words = _mm512_setr_epi32(0, 0, 0, 0, words(9, 9), words(9, 9), words(9, 9),
                                                  words(9, 9), 0, 0, 0, 0, 0, 0, 0, 0);
    const __m512i halves = _mm512_permutexvar_epi16(scale_words, raw);
    *scales = _mm512_cvtph_ps(_mm512_castsi512_si256(halves));
  }
};

// Q8_0 [34 B]: fp16 d, 32 int8. Unsigned codes w + 128 (the xor flips the sign bit).
struct Q8_0Pair {
  static constexpr int kOffset = 128;
  static constexpr int kHighShift = 0;
  static constexpr int kBlockBytes = sizeof(BlockQ8_0);
  template <bool kPair>
  static void load(const uint8_t* block, __m512i* codes, __m512* scales) {
    const __m256i a = load256(block + 2);
    const __m256i b = kPair ? load256(block + kBlockBytes + 2) : _mm256_setzero_si256();
    *codes = _mm512_xor_si512(_mm512_inserti64x4(_mm512_castsi256_si512(a), b, 1),
                              _mm512_set1_epi8(static_cast<char>(0x80)));
    __m128i h = _mm_cvtsi32_si128(u16_at(block));
    if constexpr (kPair) h = _mm_insert_epi16(h, u16_at(block + kBlockBytes), 1);
    *scales = _mm512_permutexvar_ps(pair_index(), _mm512_castps128_ps512(_mm_cvtph_ps(h)));
  }
};

// W[R, k1-k0] (Q4_0 / Q8_0 blocks) · X[T, k1-k0] (Q8_0 codes) -> Y[T, R], two blocks per step.
template <class Weights, int R, int T>
__attribute__((flatten)) void tile_q8_32_pairs(const Tile& a) {
  const TokenRows<T> x(a);
  const uint8_t* const w = a.w;
  const size_t w_stride = a.w_stride;
  const int prefetch_bytes = a.prefetch_bytes;
  __m512 acc[R][T];
  unroll<R>([&](auto r) { unroll<T>([&](auto t) { acc[r][t] = _mm512_setzero_ps(); }); });
  // Blocks b and b + 1 (only b when !kPair).
  auto step = [&](int64_t b, auto pair) {
    constexpr bool kPair = decltype(pair)::value;
    constexpr __mmask16 kLanes = kPair ? 0xFFFF : 0x00FF;
    __m512 dx[T];
    __m512i bias[T], xq[T];
    unroll<T>([&](auto t) {
      dx[t] = _mm512_maskz_loadu_ps(kLanes, x.d[t] + 8 * b);
      bias[t] = _mm512_maskz_loadu_epi32(kLanes, x.bias[t] + 8 * b);
      xq[t] = kPair ? _mm512_loadu_si512(x.qs[t] + b * kQK)
                    : _mm512_maskz_loadu_epi8(0xFFFFFFFFull, x.qs[t] + b * kQK);
    });
    unroll<R>([&](auto r) {
      const uint8_t* block = w + r * w_stride + b * Weights::kBlockBytes;
      prefetch(block, prefetch_bytes);
      __m512i codes;
      __m512 dw;
      Weights::template load<kPair>(block, &codes, &dw);
      unroll<T>([&](auto t) {
        const __m512i sum = _mm512_dpbusd_epi32(bias[t], codes, xq[t]);
        acc[r][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sum), _mm512_mul_ps(dw, dx[t]), acc[r][t]);
      });
    });
  };
  const int64_t b_end = a.k1 / kQK;
  int64_t b = a.k0 / kQK;
  for (; b + 2 <= b_end; b += 2) step(b, std::true_type{});
  if (b < b_end) step(b, std::false_type{});
  store_tile<R, T>(a, acc, Zmm::sum);
}

template <class Weights>
struct Q8_32PairTiles {
  template <int R, int T>
  struct At {
    static constexpr TileFn fn = tile_q8_32_pairs<Weights, R, T>;
  };
};

}  // namespace

const MatmulFamily* avx512_family(DType weight) {
  constexpr CpuIsa kIsa = CpuIsa::avx512;
  // Registers of the pair tiles: per token the scales, biases and codes; fixed the weight codes,
  // scales and two temporaries.
  static const MatmulFamily kFamilies[] = {
      make_family<Q8_32PairTiles<Q4_0Pair>::At>(
          kIsa, {DType::Q4_0, ActLayout::q8_32_lanes, Q4_0Pair::kOffset, 4, 3, Q4_0Pair::kHighShift}),
      make_family<Q8_32Tiles<Q5_0Weights<VnniIntDot>>::At>(kIsa, {DType::Q5_0, ActLayout::q8_32, 16, 6, 1}),
      make_family<Q8_32Tiles<Q4_1Weights<VnniIntDot>>::At>(kIsa,
                                                           {DType::Q4_1, ActLayout::q8_32_sum, 0, 5, 1}),
      make_family<Q8_32Tiles<Q5_1Weights<VnniIntDot>>::At>(kIsa,
                                                           {DType::Q5_1, ActLayout::q8_32_sum, 0, 6, 1}),
      make_family<Q8_32PairTiles<Q8_0Pair>::At>(
          kIsa, {DType::Q8_0, ActLayout::q8_32_lanes, Q8_0Pair::kOffset, 4, 3, Q8_0Pair::kHighShift}),
      make_family<Q4_KTiles<VnniIntDot, Q4_KLayout>::At>(kIsa, {DType::Q4_K, ActLayout::q8_256, 0, 7, 1}),
      make_family<Q4_KTiles<VnniIntDot, Q5_KLayout>::At>(kIsa, {DType::Q5_K, ActLayout::q8_256, 0, 8, 1}),
      make_family<Q6_KTiles<VnniIntDot>::At>(kIsa, {DType::Q6_K, ActLayout::q8_256, 0, 9, 1}),
      make_family<FloatTiles<Zmm, DType::F32>::At>(kIsa, {DType::F32, ActLayout::f32, 0, 2, 0}),
      make_family<FloatTiles<Zmm, DType::F16>::At>(kIsa, {DType::F16, ActLayout::f32, 0, 2, 0}),
      make_family<FloatTiles<Zmm, DType::BF16>::At>(kIsa, {DType::BF16, ActLayout::f32, 0, 2, 0}),
  };
  return find_family(kFamilies, weight);
}

bool avx512_quantize_row(DType act_type, const float* x, void* dst, int64_t n) {
  return quantize_row_x86(act_type, x, dst, n);
}

}  // namespace jf
