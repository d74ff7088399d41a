// The element-wise ops and attention on TinyLlama-1.1B shapes (n_embd 2048, n_ff 5632, 32 query
// heads, 4 KV heads, head_dim 64), one thread: each reference kernel against every vector variant
// this CPU runs.
//
//   build/<dir>/bench/ops_bench --benchmark_min_time=0.2
//
// OP/SHAPE/ref    the reference (rmsnorm_ref, ...; attention: attention_head_ref for every head)
// OP/SHAPE/ISA    a registered kernel (kernels/kernel_list.inc); vs_ref = reference time / kernel
//                 time in CPU time of the thread (other processes on a shared machine inflate wall
//                 time), the reference timed just before the kernel in the same run
// attention/decode/n_kv:N    one token's 32 heads over N cached positions (variants: one call per
//                            KV group of 8 heads); GB/s counts the K and V bytes read per CPU second
// attention/prefill/n:128    128 tokens from position 0, causal
#include <benchmark/benchmark.h>

#include <time.h>

#include <cmath>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "kernels/registry.h"

namespace jf {
namespace {

constexpr int kEmbd = 2048, kFf = 5632, kHead = 32, kHeadKv = 4, kHeadDim = 64;
constexpr int kGroup = kHead / kHeadKv;

using Call = std::function<void()>;

// One benchmarked shape of one op: the reference call and the variants' calls on the same data.
struct OpCase {
  std::string name;
  Call ref;
  std::vector<std::pair<std::string, Call>> variants;
  double bytes = 0;  // per call, for GB/s (0: none reported)
};

std::vector<float> random_floats(size_t n, float lo, float hi, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = dist(gen);
  return v;
}

double thread_cpu_ns() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

// Mean CPU time of one call over at least 20 ms.
double ns_per_call(const Call& fn) {
  fn();
  int64_t calls = 0;
  const double t0 = thread_cpu_ns();
  double t = t0;
  do {
    fn();
    ++calls;
    t = thread_cpu_ns();
  } while (t - t0 < 2e7);
  return (t - t0) / static_cast<double>(calls);
}

void run_call(benchmark::State& state, const Call& fn, const Call& ref, double bytes) {
  const double ref_ns = ref ? ns_per_call(ref) : 0;
  const double t0 = thread_cpu_ns();
  for (auto _ : state) fn();
  const double ns = (thread_cpu_ns() - t0) / static_cast<double>(state.iterations());
  if (ref) state.counters["vs_ref"] = ref_ns / ns;
  if (bytes > 0) state.counters["GB/s"] = bytes / ns;
}

// The case `name` of `op`: its reference and every registered kernel of the op this CPU runs.
template <Op op>
OpCase with_kernels(std::string name, Call ref, const std::function<Call(OpFn<op>)>& bind, double bytes) {
  OpCase c{std::move(name), std::move(ref), {}, bytes};
  for (const KernelArtifact* k : kernels_of(op)) {
    if (cpu_has_isa(k->key.isa)) c.variants.emplace_back(isa_name(k->key.isa), bind(k->native<op>()));
  }
  return c;
}

OpCase rmsnorm_case() {
  auto x = std::make_shared<std::vector<float>>(random_floats(kEmbd, -2, 2, 1));
  auto w = std::make_shared<std::vector<float>>(random_floats(kEmbd, 0, 2, 2));
  auto y = std::make_shared<std::vector<float>>(kEmbd);
  const auto bind = [=](RmsnormFn fn) -> Call {
    return [=] { fn(x->data(), w->data(), y->data(), kEmbd, 1e-5f); };
  };
  return with_kernels<Op::rmsnorm>("rmsnorm/n:2048", bind(rmsnorm_ref), bind, 3.0 * kEmbd * 4);
}

OpCase rope_case(RopePairing pairing) {
  RopeParams params;
  params.n_rot = kHeadDim;
  params.pairing = pairing;
  auto cos_sin = std::make_shared<std::vector<float>>(kHeadDim);
  rope_angles(params, 1234, cos_sin->data());
  auto q = std::make_shared<std::vector<float>>(random_floats(kHead * kHeadDim, -1, 1, 3));
  auto k = std::make_shared<std::vector<float>>(random_floats(kHeadKv * kHeadDim, -1, 1, 4));
  // One token: its q and k heads, as the forward pass rotates them.
  const auto bind = [=](RopeApplyFn fn) -> Call {
    return [=] {
      fn(params, cos_sin->data(), q->data(), kHead, kHeadDim);
      fn(params, cos_sin->data(), k->data(), kHeadKv, kHeadDim);
    };
  };
  const std::string name = pairing == RopePairing::kAdjacent ? "rope/adjacent/q32+k4" : "rope/halves/q32+k4";
  return with_kernels<Op::rope_apply>(name, bind(rope_apply_ref), bind, 0);
}

OpCase softmax_case(int n) {
  auto x = std::make_shared<std::vector<float>>(random_floats(n, -8, 8, 5));
  // In place, again and again: the inputs become probabilities, which costs the kernels the same.
  const auto bind = [=](SoftmaxFn fn) -> Call { return [=] { fn(x->data(), n); }; };
  return with_kernels<Op::softmax>("softmax/n:" + std::to_string(n), bind(softmax_ref), bind, 0);
}

OpCase swiglu_case() {
  auto gate = std::make_shared<std::vector<float>>(random_floats(kFf, -6, 6, 6));
  auto up = std::make_shared<std::vector<float>>(random_floats(kFf, -2, 2, 7));
  auto out = std::make_shared<std::vector<float>>(kFf);
  const auto bind = [=](SwigluFn fn) -> Call {
    return [=] { fn(gate->data(), up->data(), out->data(), kFf); };
  };
  return with_kernels<Op::swiglu>("swiglu/n:5632", bind(swiglu_ref), bind, 3.0 * kFf * 4);
}

OpCase exp_case() {
  auto x = std::make_shared<std::vector<float>>(random_floats(kFf, -20, 20, 8));
  auto y = std::make_shared<std::vector<float>>(kFf);
  const auto bind = [=](ExpFn fn) -> Call { return [=] { fn(x->data(), y->data(), kFf); }; };
  return with_kernels<Op::exp>("exp/n:5632", bind(exp_ref), bind, 0);
}

AttentionShape tinyllama_attention() {
  AttentionShape s;
  s.n_head = kHead;
  s.n_head_kv = kHeadKv;
  s.head_dim = kHeadDim;
  s.kv_stride = kHeadKv * kHeadDim;
  s.scale = 1.0f / std::sqrt(static_cast<float>(kHeadDim));
  return s;
}

// One token over n_kv cached positions.
OpCase attention_decode_case(int64_t n_kv) {
  const AttentionShape s = tinyllama_attention();
  auto q = std::make_shared<std::vector<float>>(random_floats(kHead * kHeadDim, -1, 1, 9));
  auto k = std::make_shared<std::vector<float>>(random_floats(n_kv * s.kv_stride, -1, 1, 10));
  auto v = std::make_shared<std::vector<float>>(random_floats(n_kv * s.kv_stride, -1, 1, 11));
  auto out = std::make_shared<std::vector<float>>(kHead * kHeadDim);
  auto scores = std::make_shared<std::vector<float>>(n_kv);
  const Call ref = [=] {
    for (int h = 0; h < kHead; ++h) {
      attention_head_ref(s, h, q->data(), k->data(), v->data(), n_kv, out->data(), scores->data());
    }
  };
  const auto bind = [=](AttentionHeadsFn fn) -> Call {
    return [=] {
      for (int g = 0; g < kHeadKv; ++g)
        fn(s, g * kGroup, (g + 1) * kGroup, q->data(), k->data(), v->data(), n_kv, out->data());
    };
  };
  return with_kernels<Op::attention_heads>("attention/decode/n_kv:" + std::to_string(n_kv), ref, bind,
                                           2.0 * static_cast<double>(n_kv) * s.kv_stride * 4);
}

// n tokens from position 0: token t attends to t + 1 positions.
OpCase attention_prefill_case(int64_t n) {
  const AttentionShape s = tinyllama_attention();
  auto q = std::make_shared<std::vector<float>>(random_floats(n * kHead * kHeadDim, -1, 1, 12));
  auto k = std::make_shared<std::vector<float>>(random_floats(n * s.kv_stride, -1, 1, 13));
  auto v = std::make_shared<std::vector<float>>(random_floats(n * s.kv_stride, -1, 1, 14));
  auto out = std::make_shared<std::vector<float>>(n * kHead * kHeadDim);
  auto scores = std::make_shared<std::vector<float>>(n);
  const int64_t row = kHead * kHeadDim;
  const Call ref = [=] {
    for (int64_t t = 0; t < n; ++t) {
      for (int h = 0; h < kHead; ++h) {
        attention_head_ref(s, h, q->data() + t * row, k->data(), v->data(), t + 1, out->data() + t * row,
                           scores->data());
      }
    }
  };
  const auto bind = [=](AttentionHeadsFn fn) -> Call {
    return [=] {
      for (int64_t t = 0; t < n; ++t) {
        for (int g = 0; g < kHeadKv; ++g) {
          fn(s, g * kGroup, (g + 1) * kGroup, q->data() + t * row, k->data(), v->data(), t + 1,
             out->data() + t * row);
        }
      }
    };
  };
  return with_kernels<Op::attention_heads>("attention/prefill/n:" + std::to_string(n), ref, bind, 0);
}

bool register_all() {
  std::vector<OpCase> cases = {rmsnorm_case(),
                               rope_case(RopePairing::kAdjacent),
                               rope_case(RopePairing::kHalves),
                               softmax_case(64),
                               softmax_case(512),
                               softmax_case(2048),
                               swiglu_case(),
                               exp_case(),
                               attention_decode_case(64),
                               attention_decode_case(512),
                               attention_decode_case(2048),
                               attention_prefill_case(128)};
  for (const OpCase& c : cases) {
    benchmark::RegisterBenchmark((c.name + "/ref").c_str(), run_call, c.ref, Call(), c.bytes)
        ->Unit(benchmark::kMicrosecond);
    for (const auto& [isa, fn] : c.variants) {
      benchmark::RegisterBenchmark((c.name + "/" + isa).c_str(), run_call, fn, c.ref, c.bytes)
          ->Unit(benchmark::kMicrosecond);
    }
  }
  return true;
}

const bool kRegistered = register_all();

}  // namespace
}  // namespace jf
