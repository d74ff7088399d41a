// The parts of the tile headers (x86_tiles.h, neon_tiles.h) that do not depend on the ISA. As in
// those headers everything here has internal linkage (anonymous namespace): each ISA file compiles
// its own copy under its own target flags, so copies for different ISAs never merge.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>

#include "kernels/matmul/kernels.h"

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

// Tiles compiled for each family: every R x T with R, T in {1, 2, 4, 8} and R * T <= 16 (beyond
// that even 32 registers cannot hold the accumulators). Closed under halving, so the driver can
// cover any remainder with smaller power-of-two tiles. Tiles<R, T>::fn is the tile function.
inline constexpr int kMaxTilePairs = 16;

template <template <int, int> class Tiles>
void fill_tiles(MatmulFamily* f) {
  unroll<kTileLog2Max + 1>([&](auto lr) {
    unroll<kTileLog2Max + 1>([&](auto lt) {
      constexpr int R = 1 << decltype(lr)::value, T = 1 << decltype(lt)::value;
      if constexpr (R * T <= kMaxTilePairs) {
        f->tiles[lr][lt] = Tiles<R, T>::fn;
        f->info.tile_mask |= static_cast<uint16_t>(1u << (4 * lr + lt));
      }
    });
  });
}

}  // namespace
}  // namespace jf
