// Element-wise exp over an array: y[i] = exp(x[i]) (y may be x). The vector variants run the exp of
// simd/f32.h that softmax, attention and SwiGLU use (max relative error 8.3e-8 for normal results);
// this op gives tests and benchmarks a handle on it.
#pragma once

#include <cstdint>

namespace jf {

using ExpFn = void (*)(const float* x, float* y, int64_t n);

void exp_ref(const float* x, float* y, int64_t n);  // std::exp
void exp_f32(const float* x, float* y, int64_t n);  // the fastest variant this CPU runs, else exp_ref

}  // namespace jf
