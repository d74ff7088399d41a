// The selection kernels in portable C++, compiled once per ISA (cpu_<isa>.cpp) so that the compiler
// vectorizes what it can for that ISA; cpu_avx512.cpp has its own compress-store scan.
// Internal to src/kernels/select.
#pragma once

#include <algorithm>
#include "base/bit_cast.h"
#include <cmath>
#include <cstdint>

#include "base/check.h"
#include "kernels/select/select.h"

namespace jf {

// Branch-free: about half the channels are in, in no pattern a predictor could learn.
inline int64_t select_at_least_portable(const float* x, int64_t n, float threshold, int32_t* out) {
  int64_t count = 0;
  for (int64_t j = 0; j < n; ++j) {
    out[count] = static_cast<int32_t>(j);
    count += std::fabs(x[j]) >= threshold;
  }
  return count;
}

// Radix selection on the bits of |x| (monotone in |x| for floats): one pass builds a histogram of
// the top 12 of the 31 bits, the bin holding the k-th largest is resolved among its few members
// (nth_element), one more pass writes the channels.
inline void select_topk_radix(const float* x, int64_t n, int64_t k, int32_t* out, TopkScratch& s) {
  constexpr int kShift = 19;  // 31 - 19 = 12 bits: 4096 bins, 16 per octave
  JF_CHECK(k >= 1 && k <= n);
  s.keys.resize(static_cast<size_t>(n));
  s.histogram.assign(size_t{1} << (31 - kShift), 0);
  for (int64_t j = 0; j < n; ++j) {
    const uint32_t key = jf::bit_cast<uint32_t>(x[j]) & 0x7fffffffu;
    s.keys[j] = key;
    ++s.histogram[key >> kShift];
  }
  // The bin of the k-th largest key: `above` keys lie in higher bins.
  const uint64_t wanted = static_cast<uint64_t>(k);
  uint64_t above = 0;
  uint32_t bin = static_cast<uint32_t>(s.histogram.size());
  while (above + s.histogram[--bin] < wanted) above += s.histogram[bin];
  s.candidates.clear();
  for (int64_t j = 0; j < n; ++j) {
    if ((s.keys[j] >> kShift) == bin) s.candidates.push_back(s.keys[j]);
  }
  const int64_t rank = k - static_cast<int64_t>(above) - 1;  // 0: the bin's largest
  std::nth_element(s.candidates.begin(), s.candidates.begin() + rank, s.candidates.end(),
                   std::greater<uint32_t>());
  const uint32_t kth = s.candidates[rank];
  // Of the keys equal to kth, those among the top k: itself and the equal ones ranked before it.
  int64_t ties_left = 1;
  for (int64_t i = 0; i < rank; ++i) ties_left += s.candidates[i] == kth;
  int64_t count = 0;
  for (int64_t j = 0; j < n; ++j) {
    const uint32_t key = s.keys[j];
    const bool tie = key == kth;
    const bool in = key > kth || (tie && ties_left > 0);
    ties_left -= tie && in;
    out[count] = static_cast<int32_t>(j);
    count += in;
  }
  JF_CHECK(count == k);
}

int64_t select_at_least_avx2(const float* x, int64_t n, float threshold, int32_t* out);
int64_t select_at_least_avx512(const float* x, int64_t n, float threshold, int32_t* out);
int64_t select_at_least_generic(const float* x, int64_t n, float threshold, int32_t* out);
void select_topk_avx2(const float* x, int64_t n, int64_t k, int32_t* out, TopkScratch& scratch);
void select_topk_avx512(const float* x, int64_t n, int64_t k, int32_t* out, TopkScratch& scratch);
void select_topk_generic(const float* x, int64_t n, int64_t k, int32_t* out, TopkScratch& scratch);
int64_t select_at_least_neon(const float* x, int64_t n, float threshold, int32_t* out);
void select_topk_neon(const float* x, int64_t n, int64_t k, int32_t* out, TopkScratch& scratch);
int64_t select_at_least_wasm_simd128(const float* x, int64_t n, float threshold, int32_t* out);
void select_topk_wasm_simd128(const float* x, int64_t n, int64_t k, int32_t* out, TopkScratch& scratch);

}  // namespace jf
