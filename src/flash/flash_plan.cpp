#include "flash/flash_plan.h"

#include <algorithm>
#include <cmath>
#include <random>

#include "base/aligned_buffer.h"
#include "base/clock.h"
#include "model/flash_layout.h"
#include "model/kv_cache.h"
#include "model/weights.h"
#include "tune/microbench.h"

namespace jf {
namespace {

// The input width of a layer linear: its channel count.
int64_t input_channels(const ModelConfig& c, TensorRole role) {
  if (role == TensorRole::kAttnOut) return c.n_embd_q();
  if (role == TensorRole::kFfnDown || role == TensorRole::kFfnDownExps) return c.n_ff;
  return c.n_embd;
}

double interpolate_log(double x, double x0, double y0, double x1, double y1) {
  if (x1 <= x0) return y0;
  const double t = (std::log(x) - std::log(x0)) / (std::log(x1) - std::log(x0));
  return y0 + t * (y1 - y0);
}

}  // namespace

double FlashCosts::read_mb_per_s(double bytes, int depth) const {
  // The rate per chunk at the chosen depth, ascending by chunk.
  std::vector<std::pair<double, double>> curve;
  for (const ReadCost& r : reads) {
    auto same =
        std::find_if(curve.begin(), curve.end(), [&](const auto& p) { return p.first == r.chunk_bytes; });
    const bool usable = r.queue_depth <= depth;
    if (same == curve.end()) {
      curve.push_back({static_cast<double>(r.chunk_bytes), r.mb_per_s});
    } else if (usable) {
      same->second = r.mb_per_s;  // deeper, still <= depth: reads are ascending by depth
    }
  }
  if (curve.empty()) return 0;
  // Below the smallest chunk a read costs what one of it does (a device has a request rate).
  if (bytes <= curve.front().first) return curve.front().second * bytes / curve.front().first;
  for (size_t i = 1; i < curve.size(); ++i) {
    if (bytes <= curve[i].first) {
      return interpolate_log(bytes, curve[i - 1].first, curve[i - 1].second, curve[i].first, curve[i].second);
    }
  }
  return curve.back().second;
}

Result<std::vector<ReadCost>> measure_read_costs(const ByteSource& source, std::span<const size_t> chunks,
                                                 std::span<const int> depths, double seconds) {
  std::vector<ReadCost> costs;
  std::mt19937_64 rng(17);
  for (const size_t chunk : chunks) {
    if (chunk == 0 || chunk > source.size()) {
      return error(StatusCode::kInvalidArgument, "%s: %llu bytes, too small to measure reads of %zu bytes",
                   source.name().c_str(), static_cast<unsigned long long>(source.size()), chunk);
    }
    const uint64_t n_slots = source.size() / chunk;
    for (const int depth : depths) {
      AlignedBuffer buffer(chunk * static_cast<size_t>(depth));
      if (buffer.data() == nullptr) return error(StatusCode::kOutOfRange, "cannot allocate a read buffer");
      std::vector<ReadRequest> batch(static_cast<size_t>(depth));
      uint64_t bytes = 0;
      const double start_ms = now_ms();
      double elapsed_ms = 0;
      for (int round = 0; round < 2 || elapsed_ms < seconds * 1000; ++round) {
        for (int i = 0; i < depth; ++i) {
          batch[i] = {rng() % n_slots * chunk, chunk,
                      reinterpret_cast<uint8_t*>(buffer.data()) + static_cast<size_t>(i) * chunk};
        }
        JF_RETURN_IF_ERROR(source.read_batch(batch));
        bytes += chunk * static_cast<uint64_t>(depth);
        elapsed_ms = now_ms() - start_ms;
      }
      costs.push_back({chunk, depth, static_cast<double>(bytes) / (elapsed_ms * 1e3)});
    }
  }
  return costs;
}

Result<MeasuredCosts> measure_flash_costs(const std::string& path, int n_threads, double seconds) {
  JF_ASSIGN_OR_RETURN(std::unique_ptr<ByteSource> source, open_direct_file_source(path));
  MeasuredCosts m;
  m.direct = source->bypasses_page_cache();
  m.read_buffer_bytes = 2 * source->buffer_bytes();  // on demand and the loader's
  JF_ASSIGN_OR_RETURN(m.costs.reads, measure_read_costs(*source, kCostChunks, kCostDepths, seconds));
  m.costs.dram_gbps = tune::measure_read_bandwidth_gbps(
      uint64_t{256} << 20, n_threads > 0 ? n_threads : tune::available_cpu_count(), /*quick=*/true);
  return m;
}

Result<StreamShape> stream_shape(const GgufFile& file, const ModelConfig& config, int n_ctx) {
  JF_ASSIGN_OR_RETURN(const std::optional<FlashLayout> layout, read_flash_layout(file, config.n_layer));
  StreamShape shape;
  shape.n_layer = config.n_layer;
  shape.n_expert = config.n_expert;
  shape.n_expert_used = config.n_expert_used;
  const ArchInfo& arch = *config.arch_info;
  for (const LinearKind kind : layer_linear_kinds(config)) {
    // Layer 0's: grouped, or as a row-major file holds it.
    const TensorInfo* grouped =
        layout ? file.find_tensor(flash_tensor_name(linear_name(arch, kind, 0))) : nullptr;
    const uint64_t bytes = grouped != nullptr
                               ? grouped->n_bytes / static_cast<uint64_t>(layout->groups.size_of(0))
                               : find_linear_bytes(file, arch, kind, 0).n_bytes;
    if (bytes == 0) continue;  // absent in this model (an ungated FFN)
    shape.layer_linear_bytes += bytes;
    shape.layer_expert_bytes += kind.per_expert() ? bytes : 0;
    shape.layer_channels += static_cast<uint64_t>(input_channels(config, kind.role));
  }
  if (shape.layer_channels == 0) {
    return error(StatusCode::kInvalidArgument, "%s: no layer linears found", file.path().c_str());
  }
  uint64_t all = 0;
  for (const TensorInfo& t : file.tensors()) all += t.n_bytes;
  const uint64_t linears = shape.layer_linear_bytes * static_cast<uint64_t>(config.n_layer);
  shape.resident_bytes = all > linears ? all - linears : 0;
  shape.kv_bytes = KvCache::bytes_for(config, n_ctx);
  return shape;
}

double StreamShape::group_dense_bytes(int group) const {
  return static_cast<double>(layer_linear_bytes - layer_expert_bytes) * group;
}

double StreamShape::group_expert_bytes(int group) const {
  if (n_expert == 0) return 0;
  const double distinct = n_expert * (1 - std::pow(1 - static_cast<double>(n_expert_used) / n_expert,
                                                   static_cast<double>(group)));
  return static_cast<double>(layer_expert_bytes) / n_expert * group * distinct;
}

double StreamShape::cached_fraction(uint64_t cache_bytes, int group) const {
  const double dense_all = static_cast<double>(layer_linear_bytes - layer_expert_bytes) * n_layer;
  const double experts_all = static_cast<double>(layer_expert_bytes) * n_layer;
  const double cache = static_cast<double>(cache_bytes);
  const double dense_hit = dense_all > 0 ? std::min(1.0, cache / dense_all) : 0.0;
  const double expert_hit = experts_all > 0 ? std::clamp((cache - dense_all) / experts_all, 0.0, 1.0) : 0.0;
  const double bytes = group_bytes(group);
  return bytes > 0 ? (group_dense_bytes(group) * dense_hit + group_expert_bytes(group) * expert_hit) / bytes
                   : 0.0;
}

PlanEstimate estimate_plan(const StreamShape& shape, const FlashCosts& costs, uint64_t budget,
                           double sparsity, int group, double similarity) {
  PlanEstimate e;
  e.sparsity = sparsity;
  e.group = group;
  const auto n = static_cast<uint64_t>(group);
  e.need_bytes =
      shape.resident_bytes + shape.kv_bytes + shape.read_buffer_bytes + shape.layer_linear_bytes * n;
  e.fits = e.need_bytes <= budget;
  e.cache_bytes = e.fits ? budget - e.need_bytes : 0;
  e.hit_rate = shape.cached_fraction(e.cache_bytes, group);
  e.run_bytes =
      static_cast<double>(shape.layer_linear_bytes) / static_cast<double>(shape.layer_channels) * group;
  const double group_bytes = shape.group_bytes(group);
  const double active = group_bytes * (1 - sparsity);  // M_cl
  const double from_flash = active * (1 - e.hit_rate);
  // Reading `fraction` of the group's active uncached runs at `depth`: run by run, or, where it is
  // faster, the whole uncached stretch they lie in (the cache keeps chunks longer than a merged
  // read's gap, which merged reads skip) in 1 MiB reads.
  const double whole_chunk = 1 << 20;
  const auto read_ms = [&](double fraction, int depth) {
    const double by_run = from_flash * fraction / (costs.read_mb_per_s(e.run_bytes, depth) * 1e3);
    const double whole =
        group_bytes * (1 - e.hit_rate) * fraction / (costs.read_mb_per_s(whole_chunk, depth) * 1e3);
    e.whole_reads = whole < by_run;
    return std::min(by_run, whole);
  };
  const double dram = costs.dram_gbps * 1e6;  // bytes per ms
  e.load_ms = read_ms(1, 8);
  e.onload_ms = read_ms(1 - similarity, 8);
  e.preload_ms = read_ms(1, 64);
  e.comp_ms = dram > 0 ? active / dram : INFINITY;
  const int n_groups = (shape.n_layer + group - 1) / group;
  e.token_ms = e.load_ms + (n_groups - 1) * (e.onload_ms + std::max(e.preload_ms, e.comp_ms)) + e.comp_ms +
               (dram > 0 ? static_cast<double>(shape.resident_bytes) / dram : 0);
  return e;
}

double budget_sparsity(const StreamShape& shape, uint64_t budget) {
  const double model = static_cast<double>(shape.resident_bytes) +
                       static_cast<double>(shape.layer_linear_bytes) * shape.n_layer;
  return std::clamp(1.0 - static_cast<double>(budget) / model, 0.0, 0.9);
}

Result<Plan> make_plan(const StreamShape& shape, const FlashCosts& costs, uint64_t budget,
                       std::optional<double> sparsity, double similarity) {
  const double sp = sparsity ? *sparsity : budget_sparsity(shape, budget);
  Plan plan;
  std::optional<PlanEstimate> best;
  for (int group = 1; group <= shape.n_layer; group *= 2) {
    const PlanEstimate e = estimate_plan(shape, costs, budget, sp, group, similarity);
    plan.tried.push_back(e);
    if (!e.fits) break;  // a larger group needs more
    if (!best || e.tokens_per_s() > best->tokens_per_s()) best = e;
  }
  // The smallest group within 5 % of the fastest: larger ones cost memory the cache could use.
  for (const PlanEstimate& e : plan.tried) {
    if (best && e.fits && e.tokens_per_s() >= best->tokens_per_s() / 1.05) {
      best = e;
      break;
    }
  }
  if (!best) {
    return error(
        StatusCode::kOutOfRange,
        "a memory budget of %.1f MiB is below the %.1f MiB streaming this model needs at its smallest "
        "(groups of one layer)",
        budget / 1048576.0, plan.tried.front().need_bytes / 1048576.0);
  }
  plan.chosen = *best;
  return plan;
}

Result<PlanEstimate> plan_for_file(const std::string& path, uint64_t budget, int n_ctx, int n_threads,
                                   std::optional<double> sparsity, double similarity, double seconds) {
  JF_ASSIGN_OR_RETURN(const GgufFile file, GgufFile::open_path(path));
  JF_ASSIGN_OR_RETURN(const ModelConfig config, read_model_config(file));
  JF_ASSIGN_OR_RETURN(const std::optional<FlashLayout> layout, read_flash_layout(file, config.n_layer));
  if (!layout) {
    return error(StatusCode::kInvalidArgument,
                 "%s: not in the flash layout (jitflow convert --flash --group N)", path.c_str());
  }
  JF_ASSIGN_OR_RETURN(StreamShape shape,
                      stream_shape(file, config, n_ctx > 0 ? n_ctx : std::min(config.n_ctx_train, 2048)));
  JF_ASSIGN_OR_RETURN(const MeasuredCosts measured, measure_flash_costs(path, n_threads, seconds));
  shape.read_buffer_bytes = measured.read_buffer_bytes;
  return estimate_plan(shape, measured.costs, budget, sparsity ? *sparsity : budget_sparsity(shape, budget),
                       layout->groups.size, similarity);
}

}  // namespace jf
