#include "kernels/channel_major/channel_major.h"

#include <algorithm>

#include "base/check.h"
#include "kernels/channel_major/kernels.h"
#include "kernels/registry.h"

namespace jf {
namespace {

// The default gather config (CmGatherConfig{}: c16t8192p), measured with matmul_bench's
// gather_sweep on the tinyllama shapes, Q4_0, s = 0.5, AVX-512 (AMD EPYC, the integer entries), 1
// and 2 threads: 16 channels per step were 0-20% faster than 8 and 20-40% faster than 4 (the
// per-block work of a step, its factors and its y, is shared by more channels); whole channels per
// pass (8192) beat passes of 1024 outputs by up to 30%; the prefetch into L2 made the gather
// 1.3-2x faster; at 2 threads, splitting by channels was 3-8% faster than by outputs on the 2048-
// and 5632-output shapes and 1.5x on attn_k/attn_v's 256 outputs (a thread reads whole channels,
// not halves of short ones).
constexpr CmGatherConfig kDefaultConfig = {};

void check_weight(const TensorView& w, const KernelArtifact* entry) {
  JF_CHECK_MSG(w.layout == WeightLayout::channel_major, "channel-major kernels need channel_major weights");
  JF_CHECK_MSG(w.n_rows % kChannelMajorTile == 0, "channel-major kernels need whole tiles of outputs");
  JF_CHECK_MSG(entry != nullptr && entry->key.dtype == w.dtype, "channel-major kernel made for another dtype");
}

void check_channels(const CmChannels& c, const KernelArtifact* entry) {
  JF_CHECK_MSG(c.n_out % kChannelMajorTile == 0, "channel-major kernels need whole tiles of outputs");
  JF_CHECK_MSG(entry != nullptr && entry->key.dtype == c.dtype, "channel-major kernel made for another dtype");
}

// The addresses of all of `w`'s channels, in scratch (the dense product's).
CmChannels all_channels_of(const TensorView& w, CmScratch& scratch) {
  const size_t n = static_cast<size_t>(w.n_cols);
  if (scratch.channels.size() < n) scratch.channels.resize(n);
  for (size_t j = 0; j < n; ++j) scratch.channels[j] = w.channel(static_cast<int64_t>(j));
  return {w.dtype, w.n_rows, std::span<const uint8_t* const>(scratch.channels.data(), n)};
}

// The gathered matvec over channels whose addresses are at channels[0 .. active.size()), made valid
// by fill(a0, a1) for [a0, a1) before an entry reads them: resident weights compute theirs there, in
// the threads that read them where the split allows.
template <class Fill>
void gather(const uint8_t* const* channels, DType dtype, int64_t n_out, const float* x,
            std::span<const int32_t> active, float* y, ThreadPool& pool, CmScratch& scratch, const CmKernel& kernel,
            const Fill& fill) {
  const CmGatherFn fn = kernel.gather->native<Op::gather_matvec>();
  const CmGatherConfig& config = kernel.config;
  const CmGatherArgs g{channels, channel_bytes(dtype, n_out), x, active.data(), config.channels_per_step,
                       config.prefetch};
  const int64_t n_active = static_cast<int64_t>(active.size());
  // Outputs [o0, o1) over active channels [a0, a1), in passes of out_tile outputs.
  const auto run = [&](int64_t a0, int64_t a1, int64_t o0, int64_t o1, float* out) {
    for (int64_t o = o0; o < o1; o += config.out_tile) fn(g, a0, a1, o, std::min(o + config.out_tile, o1), out);
  };
  if (config.split == CmSplit::outputs || pool.n_threads() == 1) {
    fill(0, n_active);
    const int64_t n_tiles = n_out / kChannelMajorTile;
    // A chunk per out_tile outputs, at least one per thread: a chunk reads a run of each channel, and
    // short runs stream badly.
    const int64_t n_chunks = pool.chunk_count(n_tiles, std::max<int64_t>(pool.n_threads(), n_out / config.out_tile));
    pool.parallel_for(n_tiles, n_chunks, [&](int64_t t0, int64_t t1) {
      run(0, n_active, t0 * kChannelMajorTile, t1 * kChannelMajorTile, y);
    });
    return;
  }
  // One part of the active channels per thread: the first into y, the others into partial ys,
  // which are then added to it (part after part, so each pass is a vector loop).
  const int64_t n_parts = pool.n_threads();
  const size_t n_partial = static_cast<size_t>((n_parts - 1) * n_out);
  if (scratch.partial.size() < n_partial) scratch.partial.resize(n_partial);
  float* partial = scratch.partial.data();
  pool.parallel_for(n_parts, n_parts, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      int64_t a0, a1;
      split_range(n_active, p, n_parts, &a0, &a1);
      fill(a0, a1);
      run(a0, a1, 0, n_out, p == 0 ? y : partial + (p - 1) * n_out);
    }
  });
  pool.parallel_for(n_out, pool.chunk_count(n_out), [&](int64_t o0, int64_t o1) {
    for (int64_t p = 1; p < n_parts; ++p) {
      const float* part = partial + (p - 1) * n_out;
      for (int64_t o = o0; o < o1; ++o) y[o] += part[o];
    }
  });
}

}  // namespace

std::string cm_config_name(const CmGatherConfig& config) {
  return std::string(config.split == CmSplit::outputs ? "o" : "c") + std::to_string(config.channels_per_step) +
         "t" + std::to_string(config.out_tile) + (config.prefetch ? "p" : "");
}

bool cm_config_valid(const CmGatherConfig& config) {
  const int c = config.channels_per_step;
  return (c == 1 || c == 2 || c == 4 || c == 8 || c == 16) && config.out_tile > 0 &&
         config.out_tile % kChannelMajorTile == 0;
}

CmRounding cm_gather_rounding(const KernelArtifact& gather) {
  const CmGatherFn fn = gather.native<Op::gather_matvec>();
#define JF_KERNEL(op_, isa_, fn_)
#define JF_MATMUL(isa_, families_)
#define JF_CHANNEL_MAJOR(isa_, families_)          \
  for (const CmFamily& f : families_()) {           \
    if (f.gather == fn) return f.rounding;          \
  }
#include "kernels/kernel_list.inc"
#undef JF_CHANNEL_MAJOR
#undef JF_MATMUL
#undef JF_KERNEL
  check_failed(__FILE__, __LINE__, "registered gather_matvec entry", gather.name.c_str());
}

CmKernel resolve_cm_kernel(DType dtype, CpuIsa isa, const CmGatherConfig& config) {
  if (!cm_config_valid(config) || !cpu_has_isa(isa)) return {};
  const KernelKey gather{.op = Op::gather_matvec, .isa = isa, .dtype = dtype, .layout = WeightLayout::channel_major};
  KernelKey dense = gather;
  dense.op = Op::cm_matmul;
  CmKernel k{find_kernel(gather), find_kernel(dense), config};
  return k.valid() ? k : CmKernel{};
}

CmKernel select_cm_kernel(DType dtype) {
  const KernelArtifact* gather = select_kernel(Op::gather_matvec, dtype, WeightLayout::channel_major);
  return gather != nullptr ? resolve_cm_kernel(dtype, gather->key.isa, kDefaultConfig) : CmKernel{};
}

void cm_gather_matvec(const TensorView& w, const float* x, std::span<const int32_t> active, float* y,
                      ThreadPool& pool, CmScratch& scratch, const CmKernel& kernel) {
  check_weight(w, kernel.gather);
  for (size_t a = 0; a < active.size(); ++a) {  // the entries trust them: a bad index reads anywhere
    JF_CHECK_MSG(active[a] >= 0 && active[a] < w.n_cols && (a == 0 || active[a] > active[a - 1]),
                 "active channels must be ascending, distinct and below n_cols");
  }
  if (scratch.channels.size() < active.size()) scratch.channels.resize(active.size());
  const uint8_t** at = scratch.channels.data();
  gather(at, w.dtype, w.n_rows, x, active, y, pool, scratch, kernel, [&](int64_t a0, int64_t a1) {
    for (int64_t a = a0; a < a1; ++a) at[a] = w.channel(active[a]);
  });
}

void cm_gather_matvec(const CmChannels& channels, const float* x, std::span<const int32_t> active, float* y,
                      ThreadPool& pool, CmScratch& scratch, const CmKernel& kernel) {
  check_channels(channels, kernel.gather);
  JF_CHECK_MSG(channels.at.size() == active.size(), "one channel address per active channel");
  for (size_t a = 0; a < active.size(); ++a) {
    JF_CHECK_MSG(active[a] >= 0 && (a == 0 || active[a] > active[a - 1]), "active channels must be ascending and distinct");
  }
  gather(channels.at.data(), channels.dtype, channels.n_out, x, active, y, pool, scratch, kernel,
         [](int64_t, int64_t) {});
}

void cm_matmul(const TensorView& w, const float* x, int64_t n_tokens, float* y, ThreadPool& pool,
               CmScratch& scratch, const CmKernel& kernel) {
  check_weight(w, kernel.matmul);
  cm_matmul(all_channels_of(w, scratch), x, n_tokens, y, pool, kernel);
}

void cm_matmul(const CmChannels& channels, const float* x, int64_t n_tokens, float* y, ThreadPool& pool,
               const CmKernel& kernel) {
  check_channels(channels, kernel.matmul);
  const CmMatmulFn fn = kernel.matmul->native<Op::cm_matmul>();
  const CmMatmulArgs m{channels.at.data(), channel_bytes(channels.dtype, channels.n_out),
                       static_cast<int64_t>(channels.at.size()), channels.n_out, x, n_tokens, y};
  const int64_t n_tiles = channels.n_out / kChannelMajorTile;
  pool.parallel_for(n_tiles, pool.chunk_count(n_tiles), [&](int64_t t0, int64_t t1) {
    fn(m, t0 * kChannelMajorTile, t1 * kChannelMajorTile);
  });
}

}  // namespace jf
