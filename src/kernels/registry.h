// The kernel registry: every compiled kernel of every op, one list (kernel_list.inc) that drives
// dispatch, the per-ISA test cases, the benchmarks and the canonical names.
//
// A kernel is identified by a KernelKey (op, ISA, weight dtype, weight layout, config) and resolves
// to a KernelArtifact: its canonical name and its body, a native entry point compiled into this
// binary. Kernels emitted at run time are not registered here: an emitted Wasm matmul
// (kernels/matmul/emit_wasm.h) is a MatmulFamily whose tiles are function-table slots, made on
// demand by its config and run by the same driver; its name says it was emitted (__wasm_emit).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "base/cpu_isa.h"
#include "kernels/attention/attention.h"
#include "kernels/channel_major/channel_major.h"
#include "kernels/gelu/gelu.h"
#include "kernels/matmul/matmul.h"
#include "kernels/rmsnorm/rmsnorm.h"
#include "kernels/rope/rope.h"
#include "kernels/select/select.h"
#include "kernels/simd/exp.h"
#include "kernels/swiglu/swiglu.h"
#include "tensor/dtype.h"
#include "tensor/weight_layout.h"

namespace jf {

enum class Op : uint8_t {
#define JF_OP(name, Entry, weighted) name,
#include "kernels/ops.inc"
#undef JF_OP
};

const char* op_name(Op op);  // "matmul", "rmsnorm", ...
bool op_is_weighted(Op op);  // reads a weight matrix: dtype, layout and config select the kernel

// What identifies a kernel. Element-wise ops run on f32 and have no knobs: dtype F32, layout rows,
// config default.
struct KernelKey {
  Op op = Op::matmul;
  CpuIsa isa = CpuIsa::scalar;
  DType dtype = DType::F32;                  // of the weights (weighted ops); else of the data
  WeightLayout layout = WeightLayout::rows;  // of the weights
  MatmulConfig config = {};                  // matmul's knobs (the channel-major ops take theirs,
                                             // CmGatherConfig, at the call: CmKernel)

  bool operator==(const KernelKey&) const = default;
};

// The canonical name of a kernel, used in logs, kdb records, test and benchmark names:
//   weighted ops:  <dtype>[<layout> unless rows]-f32-<op>[-<config> for matmul]__<isa>,
//                  e.g. q4_0x16-f32-matmul-r4t2k0p0__avx512 (the kdb records name kernels so),
//                  q4_0cm-f32-gather_matvec__avx2
//   other ops:     f32-<op>__<isa>, e.g. f32-rmsnorm__avx2
std::string kernel_name(const KernelKey& key);

namespace detail {
template <typename... Entries>
struct EntryList {};
template <typename... Entries>
std::variant<Entries...> as_variant(EntryList<void, Entries...>);
}  // namespace detail

// A native entry point of any op: alternative i is the Entry type of the i-th op of ops.inc, so
// that ops with the same signature stay apart (use native<op>() to read it).
using NativeFn = decltype(detail::as_variant(detail::EntryList<void
#define JF_OP(name, Entry, weighted) , Entry
#include "kernels/ops.inc"
#undef JF_OP
                                                               >{}));

// The entry type of `op`.
template <Op op>
using OpFn = std::variant_alternative_t<static_cast<size_t>(op), NativeFn>;

// What a key resolves to.
using KernelBody = std::variant<NativeFn>;

struct KernelArtifact {
  KernelKey key;
  std::string name;  // kernel_name(key)
  KernelBody body;

  // The native entry point of `op` (which must be key.op and a native body).
  template <Op op>
  OpFn<op> native() const {
    return std::get<static_cast<size_t>(op)>(std::get<NativeFn>(body));
  }
};

// Every kernel of this build (config default), ordered by op (as in ops.inc), then fastest ISA
// first, whether or not this CPU runs it (cpu_has_isa(key.isa) says).
std::span<const KernelArtifact> registered_kernels();

// The kernels of `op` on `isa` (every ISA when isa is null), in registered_kernels() order.
std::vector<const KernelArtifact*> kernels_of(Op op);
std::vector<const KernelArtifact*> kernels_of(Op op, CpuIsa isa);

// The registered kernel of key.op, key.dtype and key.layout on key.isa (config ignored), or null;
// whether this CPU runs it is cpu_has_isa(key.isa)'s answer.
const KernelArtifact* find_kernel(const KernelKey& key);

// The kernel of `op` for weights of `dtype` in `layout` on the fastest ISA this CPU runs
// (JITFLOW_MAX_ISA included), or null when no ISA has one. Callers that need knobs (matmul) add
// their config: select_default_kernel.
const KernelArtifact* select_kernel(Op op, DType dtype = DType::F32,
                                    WeightLayout layout = WeightLayout::rows);

// The entry point of `op` on the fastest ISA this CPU runs, else `fallback` (the op's reference).
template <Op op>
OpFn<op> select_native(OpFn<op> fallback) {
  const KernelArtifact* kernel = select_kernel(op);
  return kernel != nullptr ? kernel->native<op>() : fallback;
}

}  // namespace jf
