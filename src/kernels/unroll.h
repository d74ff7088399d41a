// Compile-time unrolling for the kernels' register tiles (matmul, channel-major). Internal linkage,
// like the tiles: the copies compiled for different ISAs never merge.
#pragma once

#include <type_traits>
#include <utility>

namespace jf {
namespace {

// f(integral_constant<int, 0>) ... f(integral_constant<int, N - 1>): compile-time indices from the
// start, so that arrays of accumulators indexed by them stay in registers (GCC replaces such arrays
// by scalars before it unrolls loops, so a plain loop would keep them in memory).
template <int N, typename F>
inline void unroll(F&& f) {
  [&]<int... I>(std::integer_sequence<int, I...>) {
    (f(std::integral_constant<int, I>{}), ...);
  }
  (std::make_integer_sequence<int, N>{});
}

}  // namespace
}  // namespace jf
