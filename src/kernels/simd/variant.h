// The compiled variants of one element-wise op (or attention) and the choice among them, made once
// at run time from cpu_has_isa. Each op lists its entry points per ISA; tests (a case per variant)
// and benchmarks walk the list, and the op's dispatch function calls the first one this CPU runs.
#pragma once

#include <vector>

#include "base/cpu_isa.h"

namespace jf {

template <typename Fn>
struct OpVariant {
  CpuIsa isa;  // CpuIsa::scalar: portable C++ (an op whose reference has another contract)
  Fn fn;
};

// Entry points of one op per ISA; null where this build has none.
template <typename Fn>
struct OpEntryPoints {
  Fn avx512 = nullptr;
  Fn avx2 = nullptr;
  Fn neon = nullptr;     // NEON is part of every AArch64 CPU
  Fn generic = nullptr;  // portable C++, for ops whose reference has another contract
};

// Every entry point this build has, fastest first, whether or not this CPU runs it.
template <typename Fn>
std::vector<OpVariant<Fn>> compiled_variants(const OpEntryPoints<Fn>& e) {
  std::vector<OpVariant<Fn>> variants;
  if (e.avx512 != nullptr) variants.push_back({CpuIsa::avx512, e.avx512});
  if (e.avx2 != nullptr) variants.push_back({CpuIsa::avx2, e.avx2});
  if (e.neon != nullptr) variants.push_back({CpuIsa::neon, e.neon});
  if (e.generic != nullptr) variants.push_back({CpuIsa::scalar, e.generic});
  return variants;
}

// The first of `variants` this CPU runs (JITFLOW_MAX_ISA included), else `fallback`.
template <typename Fn>
Fn best_variant(const std::vector<OpVariant<Fn>>& variants, Fn fallback) {
  for (const OpVariant<Fn>& v : variants) {
    if (cpu_has_isa(v.isa)) return v.fn;
  }
  return fallback;
}

}  // namespace jf
