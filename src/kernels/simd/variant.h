// The compiled variants of one element-wise op (or attention) and the choice among them, made once
// at run time from cpu_has_isa. Each op lists its entry points per ISA; tests and benchmarks walk
// the list, the op's dispatch function calls the first entry.
#pragma once

#include <vector>

#include "kernels/matmul/space.h"

namespace jf {

template <typename Fn>
struct OpVariant {
  const char* isa;  // "avx512", "avx2" (isa_name), "neon" or "generic"
  Fn fn;
};

// Entry points of one op per ISA; null where this build has none.
template <typename Fn>
struct OpEntryPoints {
  Fn avx512 = nullptr;
  Fn avx2 = nullptr;
  Fn neon = nullptr;     // NEON is part of every AArch64 CPU: no run-time check
  Fn generic = nullptr;  // portable C++, for ops whose reference has another contract
};

// The entry points this CPU can run, fastest first.
template <typename Fn>
std::vector<OpVariant<Fn>> runnable_variants(const OpEntryPoints<Fn>& e) {
  std::vector<OpVariant<Fn>> variants;
  if (e.avx512 != nullptr && cpu_has_isa(CpuIsa::avx512))
    variants.push_back({isa_name(CpuIsa::avx512), e.avx512});
  if (e.avx2 != nullptr && cpu_has_isa(CpuIsa::avx2)) variants.push_back({isa_name(CpuIsa::avx2), e.avx2});
  if (e.neon != nullptr) variants.push_back({"neon", e.neon});
  if (e.generic != nullptr) variants.push_back({"generic", e.generic});
  return variants;
}

}  // namespace jf
