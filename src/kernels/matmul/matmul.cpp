#include "kernels/matmul/matmul.h"

#include <algorithm>
#include <array>
#include <iterator>
#include <span>
#include <vector>

#include "base/check.h"
#include "kernels/matmul/kernels.h"
#include "kernels/registry.h"
#include "tensor/quant.h"

namespace jf {
namespace {

// The registered family of `dtype` in `layout` on `isa`, whether or not this CPU runs it; or null.
const MatmulFamily* find_family(DType dtype, WeightLayout layout, CpuIsa isa) {
  const KernelArtifact* kernel =
      find_kernel({.op = Op::matmul, .isa = isa, .dtype = dtype, .layout = layout});
  return kernel != nullptr ? kernel->native<Op::matmul>() : nullptr;
}

int log2_of(int v) {
  int l = 0;
  while ((1 << (l + 1)) <= v) ++l;
  return l;
}

int64_t align64(int64_t bytes) {
  return (bytes + 63) / 64 * 64;
}

// The scratch carved for one matmul's encoded activations (mutable views of MatmulScratch).
struct ActBuffers {
  uint8_t* blocks = nullptr;
  int8_t* qs = nullptr;
  float* d = nullptr;
  int32_t* bias = nullptr;
  float* sums = nullptr;
  int16_t* bsums = nullptr;
  float* f = nullptr;
  ActRows rows;  // the same memory, read-only, as the tiles see it

  ActRowOut row(int64_t t) const {
    ActRowOut out;
    if (blocks) out.blocks = blocks + t * rows.blocks_stride;
    if (qs) out.qs = qs + t * rows.qs_stride;
    if (d) out.d = d + t * rows.d_stride;
    if (bias) out.bias = bias + t * rows.d_stride;
    if (sums) out.sums = sums + t * rows.d_stride;
    if (bsums) out.bsums = bsums + t * rows.bsums_stride;
    if (f) out.f = f + t * rows.f_stride;
    return out;
  }
};

// Lays out n_tokens rows of `layout` in the scratch (each array 64-byte aligned, each code row too).
ActBuffers carve(ActLayout layout, DType x_type, int64_t n_cols, int64_t n_tokens, MatmulScratch& scratch) {
  struct Part {
    int64_t row_bytes = 0;
    int64_t offset = 0;
  };
  Part blocks, qs, d, bias, sums, bsums, f;
  switch (layout) {
    case ActLayout::blocks:
      blocks.row_bytes = align64(static_cast<int64_t>(row_bytes(x_type, n_cols)));
      break;
    case ActLayout::q8_32:
    case ActLayout::q8_32_sum:
    case ActLayout::q8_x16:
    case ActLayout::q8_256:
    case ActLayout::q8_k_x16: {
      // The x16 layouts pad the row to whole groups of 16 blocks; q8_k_x16 has scales per 32.
      const bool x16 = layout == ActLayout::q8_x16 || layout == ActLayout::q8_k_x16;
      const int64_t padded_cols = x16 ? x16_groups(n_cols) * kX16GroupCols : n_cols;
      const int64_t n_blocks = padded_cols / (x16 ? kQK : dtype_info(x_type).block_size);
      qs.row_bytes = align64(padded_cols);
      d.row_bytes = align64(n_blocks * 4);
      if (layout == ActLayout::q8_32 || layout == ActLayout::q8_x16) bias.row_bytes = d.row_bytes;
      if (layout == ActLayout::q8_32_sum || layout == ActLayout::q8_k_x16) sums.row_bytes = d.row_bytes;
      if (layout == ActLayout::q8_256) bsums.row_bytes = align64(n_blocks * 16 * 2);
      break;
    }
    case ActLayout::f32:
      f.row_bytes = align64(n_cols * 4);
      break;
  }
  int64_t total = 0;
  for (Part* p : {&blocks, &qs, &d, &bias, &sums, &bsums, &f}) {
    p->offset = total;
    total += p->row_bytes * n_tokens;
  }
  if (scratch.encoded_x.size() < static_cast<size_t>(total)) {
    scratch.encoded_x = AlignedBuffer(static_cast<size_t>(total));
    JF_CHECK_MSG(scratch.encoded_x.data() != nullptr, "matmul scratch allocation failed");
  }
  uint8_t* base = scratch.encoded_x.as<uint8_t>();
  ActBuffers out;
  auto at = [&](const Part& p) { return p.row_bytes > 0 ? base + p.offset : nullptr; };
  out.blocks = at(blocks);
  out.qs = reinterpret_cast<int8_t*>(at(qs));
  out.d = reinterpret_cast<float*>(at(d));
  out.bias = reinterpret_cast<int32_t*>(at(bias));
  out.sums = reinterpret_cast<float*>(at(sums));
  out.bsums = reinterpret_cast<int16_t*>(at(bsums));
  out.f = reinterpret_cast<float*>(at(f));
  out.rows = {out.blocks, static_cast<size_t>(blocks.row_bytes),
              out.qs,     static_cast<size_t>(qs.row_bytes),
              out.d,      out.bias,
              out.sums,   static_cast<size_t>(d.row_bytes / 4),
              out.bsums,  static_cast<size_t>(bsums.row_bytes / 2),
              out.f,      static_cast<size_t>(f.row_bytes / 4)};
  return out;
}

// Encoding a few thousand values costs less than waking the workers for it.
constexpr int64_t kInlineEncodeValues = 16384;

void encode_activations(const MatmulFamily& family, DType x_type, const float* x, int64_t n_cols,
                        int64_t n_tokens, const ActBuffers& buffers, ThreadPool& pool) {
  auto encode_range = [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      family.encode(x + t * n_cols, n_cols, buffers.row(t), family.encoding);
    }
  };
  if (n_tokens * n_cols <= kInlineEncodeValues || pool.n_threads() == 1) return encode_range(0, n_tokens);
  pool.parallel_for(n_tokens, pool.chunk_count(n_tokens), encode_range);
}

// Rows [r_begin, r_end) of y for tokens [t_begin, t_end).
void run_panel(const TensorView& w, const ActRows& x, int64_t t_begin, int64_t t_end, float* y,
               const MatmulFamily& f, const MatmulConfig& c, int64_t r_begin, int64_t r_end) {
  const int64_t n_cols = w.n_cols;
  const int64_t k_block = c.k_block > 0 ? c.k_block : n_cols;
  Tile tile;
  tile.w_stride = w.row_stride_bytes();
  tile.x = &x;
  tile.y_stride = w.n_rows;
  tile.prefetch_bytes = static_cast<int>(c.prefetch_rows * tile.w_stride);
  for (int64_t k0 = 0; k0 < n_cols; k0 += k_block) {
    tile.k0 = k0;
    tile.k1 = std::min(n_cols, k0 + k_block);
    tile.accumulate = k0 > 0;
    for (int64_t r = r_begin; r < r_end;) {
      const int lr = log2_of(static_cast<int>(std::min<int64_t>(c.row_tile, r_end - r)));
      tile.w = static_cast<const uint8_t*>(w.data) + r * tile.w_stride;
      for (int64_t t = t_begin; t < t_end;) {
        const int lt = log2_of(static_cast<int>(std::min<int64_t>(c.token_tile, t_end - t)));
        tile.t0 = t;
        tile.y = y + t * w.n_rows + r;
        f.tiles[lr][lt](tile);
        t += int64_t{1} << lt;
      }
      r += int64_t{1} << lr;
    }
  }
}

// Rows [r_begin, r_end) of y for all tokens: token panels, then k blocks, then row tiles, then token
// tiles. Remainders of rows and tokens are covered by the largest smaller power-of-two tiles.
void run_rows(const TensorView& w, const ActRows& x, int64_t n_tokens, float* y, const MatmulFamily& f,
              const MatmulConfig& c, int64_t r_begin, int64_t r_end) {
  if (f.prepare_thread != nullptr) f.prepare_thread();
  for (int64_t t0 = 0; t0 < n_tokens; t0 += kTokenPanel) {
    run_panel(w, x, t0, std::min(n_tokens, t0 + kTokenPanel), y, f, c, r_begin, r_end);
  }
}

// Defaults per (weight type, ISA), measured with bench/matmul_bench on TinyLlama shapes (AMD EPYC
// Zen 4, see the benchmark's header). Decode (one token) of the block types reads one weight row at
// a time: several interleaved row streams (R > 1) halve the DRAM bandwidth the hardware prefetcher
// delivers, even with software prefetch, while the pair tiles already overlap enough work per row.
// The float tiles are the exception: one row is one chain of dependent FMAs (4 cycles per vector),
// which caps F16 at ~25 GB/s; 4 rows with prefetch (AVX-512) or 8 rows (AVX2) match it on DRAM-bound
// TinyLlama shapes and are 2-3x faster where the weights come from the caches (docs-28M). Q4_0, the type
// with the most work per byte, keeps up with DRAM only when it prefetches the next row (+20-30%);
// for the others prefetching measured slower than the hardware prefetcher alone. Prefill takes
// the largest tile the register rule admits: each weight vector serves T tokens from registers and
// each activation vector R rows from L1. K is not split: on TinyLlama shapes with 64 tokens every
// k_block measured 5-15% slower than whole rows (the 1 MiB L2 and the L3 keep up). The x16 tiles
// keep two accumulators per (row, token), so 8 pairs is their largest tile; with 64 tokens the
// tuner found 4 x 2 1.25x faster than 2 x 4 on every TinyLlama shape (four code vectors unpacked
// per step serve two tokens, and the activations of a token are read once per four rows). The Q4_K
// x16 tile holds each activation vector for all R rows, so it takes 2 x 4 (1.13-1.15x faster than
// 4 x 2 on three of the four TinyLlama shapes, with the next tile's weights prefetched).
struct DefaultConfigs {
  MatmulConfig decode;
  MatmulConfig prefill;
};

DefaultConfigs default_configs(DType dtype, WeightLayout layout, CpuIsa isa) {
  if (layout == WeightLayout::x16 && dtype == DType::Q4_K)  // AVX-512 only
    return {{.row_tile = 1, .token_tile = 1}, {.row_tile = 2, .token_tile = 4, .prefetch_rows = 2}};
  if (layout == WeightLayout::x16) {
    const int prefill_rows = isa == CpuIsa::avx512 ? 4 : 2;  // 16 ymm registers hold 2 x 2 pairs
    return {{.row_tile = 1, .token_tile = 1}, {.row_tile = prefill_rows, .token_tile = 2}};
  }
  const MatmulConfig decode{.row_tile = 1, .token_tile = 1, .prefetch_rows = dtype == DType::Q4_0 ? 1 : 0};
  const bool is_float = dtype == DType::F32 || dtype == DType::F16 || dtype == DType::BF16;
  switch (isa) {
    case CpuIsa::scalar:
      return {MatmulConfig{}, MatmulConfig{}};  // 1 x 1, nothing to prefetch
    case CpuIsa::avx2:
      if (is_float) return {{.row_tile = 8, .token_tile = 1}, {.row_tile = 4, .token_tile = 2}};
      return {decode, {.row_tile = 2, .token_tile = 4}};
    case CpuIsa::avx512:
      if (is_float) return {{.row_tile = 4, .token_tile = 1, .prefetch_rows = 4}, {.row_tile = 4, .token_tile = 4}};
      return {decode, {.row_tile = 4, .token_tile = 4}};
    case CpuIsa::neon:  // not measured on ARM hardware yet: AVX2's choices, without prefetch
    case CpuIsa::neon_dotprod:
      if (dtype == DType::F32 || dtype == DType::F16 || dtype == DType::BF16)
        return {MatmulConfig{}, {.row_tile = 4, .token_tile = 2}};
      return {MatmulConfig{}, {.row_tile = 2, .token_tile = 4}};
    case CpuIsa::wasm_simd128:  // not measured yet: NEON's choices, with 16 registers for prefill
      if (is_float) return {MatmulConfig{}, {.row_tile = 4, .token_tile = 2}};
      return {MatmulConfig{}, {.row_tile = 2, .token_tile = 2}};
  }
  return {decode, decode};
}

MatmulKernel make_kernel(const MatmulFamily* family, const MatmulConfig& config) {
  MatmulKernel k;
  k.family = family;
  k.config = config;
  k.layout = family->weight_layout;
  k.name = kernel_name({Op::matmul, family->isa, family->weight, family->weight_layout, config});
  return k;
}

constexpr int kDTypeCount = 0
#define JF_DTYPE(...) +1
#include "tensor/dtype.inc"
#undef JF_DTYPE
    ;

constexpr WeightLayout kLayouts[] = {WeightLayout::rows, WeightLayout::x16};

// The family of each type and layout on the best ISA the CPU has (null: none), found once (the
// forward pass calls matmul hundreds of times per token).
const MatmulFamily* find_best_family(DType dtype, WeightLayout layout) {
  static const auto kBest = [] {
    std::array<std::array<const MatmulFamily*, std::size(kLayouts)>, kDTypeCount> best{};
    for (int i = 0; i < kDTypeCount; ++i) {
      for (size_t l = 0; l < std::size(kLayouts); ++l) {
        const KernelArtifact* kernel = select_kernel(Op::matmul, static_cast<DType>(i), kLayouts[l]);
        best[i][l] = kernel != nullptr ? kernel->native<Op::matmul>() : nullptr;
      }
    }
    return best;
  }();
  return kBest[static_cast<int>(dtype)][static_cast<int>(layout)];
}

const MatmulFamily* best_family(DType dtype, WeightLayout layout) {
  const MatmulFamily* family = find_best_family(dtype, layout);
  JF_CHECK_MSG(family != nullptr, "matmul: no kernel for this weight type and layout");
  return family;
}

MatmulConfig default_config(const MatmulFamily& family, int64_t n_tokens) {
  const DefaultConfigs defaults = default_configs(family.weight, family.weight_layout, family.isa);
  return n_tokens > 1 ? defaults.prefill : defaults.decode;
}

// The least weight bytes of a chunk of rows that run_matmul gives the pool's threads to claim.
// Each chunk boundary costs 1-2 us of streaming (docs-28M decode on one thread:
// ~10% slower with its 0.25-4 MiB matrices cut into 4 chunks each), so small matrices get few.
constexpr int64_t kMinChunkWeightBytes = 256 * 1024;

// One product of a run_matmul call.
struct Part {
  const TensorView* w;
  const MatmulFamily* family;
  MatmulConfig config;
  float* y;
};

// The parts share x and one encoding of it (same family layout and encoding).
void run_matmul(std::span<const Part> parts, const float* x, int64_t n_tokens, ThreadPool& pool,
                MatmulScratch& scratch) {
  const TensorView& w0 = *parts[0].w;
  const MatmulFamily& f0 = *parts[0].family;
  for (const Part& p : parts) {
    JF_CHECK(p.family->weight == p.w->dtype && p.family->weight_layout == p.w->layout &&
             p.w->n_cols == w0.n_cols && p.w->n_cols % dtype_info(p.w->dtype).block_size == 0);
  }
  const DType x_type = vec_dot_type(w0.dtype);
  ActBuffers buffers;
  if (f0.layout == ActLayout::f32 && x_type == DType::F32) {
    buffers.rows.f = x;  // already what the kernel reads
    buffers.rows.f_stride = static_cast<size_t>(w0.n_cols);
  } else {
    buffers = carve(f0.layout, x_type, w0.n_cols, n_tokens, scratch);
    encode_activations(f0, x_type, x, w0.n_cols, n_tokens, buffers, pool);
  }
  // Units of work are row tiles; the units of all parts are numbered one after the other and cut
  // into chunks of contiguous units for the pool's threads to claim. Every chunk boundary is a
  // row tile boundary, so each row goes through the same tiles whichever thread runs it. A chunk
  // holds at least kMinChunkWeightBytes of weights, so that claiming it costs little beside
  // streaming it (decode runs hundreds of small matrix-vector products per token).
  std::array<int64_t, kMaxSharedOutputs + 1> first_unit{};
  int64_t weight_bytes = 0;
  for (size_t i = 0; i < parts.size(); ++i) {
    const int64_t row_tile = parts[i].config.row_tile;
    first_unit[i + 1] = first_unit[i] + (parts[i].w->n_rows + row_tile - 1) / row_tile;
    weight_bytes += parts[i].w->n_rows * static_cast<int64_t>(parts[i].w->row_stride_bytes());
  }
  const int64_t n_units = first_unit[parts.size()];
  pool.parallel_for(n_units, pool.chunk_count(n_units, weight_bytes / kMinChunkWeightBytes), [&](int64_t begin, int64_t end) {
    for (size_t i = 0; i < parts.size(); ++i) {
      const int64_t lo = std::max(begin, first_unit[i]) - first_unit[i];
      const int64_t hi = std::min(end, first_unit[i + 1]) - first_unit[i];
      if (lo >= hi) continue;
      const Part& p = parts[i];
      const int64_t row_tile = p.config.row_tile;
      run_rows(*p.w, buffers.rows, n_tokens, p.y, *p.family, p.config, lo * row_tile,
               std::min(p.w->n_rows, hi * row_tile));
    }
  });
}

}  // namespace

bool variant_info(DType dtype, WeightLayout layout, CpuIsa isa, VariantInfo* info) {
  const MatmulFamily* family = find_family(dtype, layout, isa);
  if (family == nullptr) return false;
  *info = family->info;
  return true;
}

MatmulKernel resolve_kernel(DType dtype, WeightLayout layout, CpuIsa isa, const MatmulConfig& config) {
  const MatmulFamily* family = cpu_has_isa(isa) ? find_family(dtype, layout, isa) : nullptr;
  if (family == nullptr || !family->info.has_tile(config.row_tile, config.token_tile) || config.k_block < 0 ||
      config.k_block % family->info.k_step != 0 || config.prefetch_rows < 0 ||
      (config.prefetch_rows != 0 && !family->info.prefetches)) {
    return {};
  }
  return make_kernel(family, config);
}

MatmulKernel select_default_kernel(DType dtype, WeightLayout layout, int64_t /*n_rows*/, int64_t /*n_cols*/,
                                   int64_t n_tokens) {
  const MatmulFamily* family = best_family(dtype, layout);
  return make_kernel(family, default_config(*family, n_tokens));
}

WeightLayout preferred_layout(DType dtype) {
  const MatmulFamily* packed = find_best_family(dtype, WeightLayout::x16);
  return packed != nullptr && packed->isa >= best_family(dtype, WeightLayout::rows)->isa ? WeightLayout::x16
                                                                                         : WeightLayout::rows;
}

DType resident_dtype(DType dtype, [[maybe_unused]] uint64_t widened_weight_bytes) {
#if defined(JITFLOW_SIMD_WASM)
  const bool half = dtype == DType::F16 || dtype == DType::BF16;
  if (half && widened_weight_bytes <= kMaxWidenedWeightBytes) return DType::F32;
#endif
  return dtype;
}

void matmul(const TensorView& w, const float* x, int64_t n_tokens, float* y, ThreadPool& pool,
            MatmulScratch& scratch, const MatmulKernel& kernel) {
  JF_CHECK(kernel.valid());
  const Part part{&w, kernel.family, kernel.config, y};
  run_matmul({&part, 1}, x, n_tokens, pool, scratch);
}

void matmul_shared_input(std::span<const MatmulOutput> outputs, const float* x, int64_t n_tokens,
                         ThreadPool& pool, MatmulScratch& scratch) {
  JF_CHECK(!outputs.empty() && outputs.size() <= kMaxSharedOutputs);
  std::array<Part, kMaxSharedOutputs> parts;
  bool shared = true;  // every kernel reads X in the first one's layout and encoding
  for (size_t i = 0; i < outputs.size(); ++i) {
    const MatmulKernel& k = *outputs[i].kernel;
    JF_CHECK(k.valid());
    parts[i] = {outputs[i].w, k.family, k.config, outputs[i].y};
    shared = shared && k.family->layout == parts[0].family->layout &&
             k.family->encoding == parts[0].family->encoding;
  }
  if (shared) return run_matmul({parts.data(), outputs.size()}, x, n_tokens, pool, scratch);
  for (size_t i = 0; i < outputs.size(); ++i) run_matmul({&parts[i], 1}, x, n_tokens, pool, scratch);
}

void quantize_activation_row(DType act_type, const float* x, void* dst, int64_t n) {
  // The registered encoders this CPU runs, fastest first (each covers some act_types only).
  static const std::vector<QuantizeActivationFn> kEncoders = [] {
    std::vector<QuantizeActivationFn> encoders;
    for (const KernelArtifact* k : kernels_of(Op::quantize_activation)) {
      if (cpu_has_isa(k->key.isa)) encoders.push_back(k->native<Op::quantize_activation>());
    }
    return encoders;
  }();
  for (QuantizeActivationFn encode : kEncoders) {
    if (encode(act_type, x, dst, n)) return;
  }
  quantize_row(act_type, x, dst, n);
}

void get_row_f32(const TensorView& w, int64_t r, float* dst) {
  JF_CHECK(r >= 0 && r < w.n_rows);
  std::vector<uint8_t> scratch;
  dequantize_row(w.dtype, w.gguf_row(r, &scratch), dst, w.n_cols);
}

}  // namespace jf
