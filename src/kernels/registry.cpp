#include "kernels/registry.h"

#include <algorithm>
#include <vector>

#include "base/check.h"
#include "kernels/attention/kernels.h"
#include "kernels/channel_major/kernels.h"
#include "kernels/gelu/kernels.h"
#include "kernels/matmul/kernels.h"
#include "kernels/rmsnorm/kernels.h"
#include "kernels/rope/kernels.h"
#include "kernels/select/kernels.h"
#include "kernels/simd/kernels.h"
#include "kernels/swiglu/kernels.h"

namespace jf {

const char* op_name(Op op) {
  switch (op) {
#define JF_OP(name, Entry, weighted) \
  case Op::name:                     \
    return #name;
#include "kernels/ops.inc"
#undef JF_OP
  }
  return "?";
}

bool op_is_weighted(Op op) {
  switch (op) {
#define JF_OP(name, Entry, weighted) \
  case Op::name:                     \
    return weighted;
#include "kernels/ops.inc"
#undef JF_OP
  }
  return false;
}

std::string kernel_name(const KernelKey& key) {
  const bool weighted = op_is_weighted(key.op);
  std::string name;
  if (weighted) {
    name = std::string(dtype_name(key.dtype)) +
           (key.layout == WeightLayout::rows ? "" : layout_name(key.layout)) + "-";
  }
  name += std::string("f32-") + op_name(key.op);
  if (key.op == Op::matmul) name += "-" + config_name(key.config);
  return name + "__" + isa_name(key.isa);
}

namespace {

// The position of `isa` in compiled_isas(): fastest first.
size_t isa_rank(CpuIsa isa) {
  const std::span<const CpuIsa> isas = compiled_isas();
  return static_cast<size_t>(std::find(isas.begin(), isas.end(), isa) - isas.begin());
}

// The entries of kernel_list.inc, sorted by op and then fastest ISA first.
std::vector<KernelArtifact> build_registry() {
  std::vector<KernelArtifact> all;
  auto add = [&](const KernelKey& key, const NativeFn& fn) {
    JF_CHECK_MSG(isa_rank(key.isa) < compiled_isas().size(), "kernel_list.inc names an ISA this build lacks");
    all.push_back({key, kernel_name(key), KernelBody(fn)});
  };
#define JF_KERNEL(op_, isa_, fn_)                    \
  add(KernelKey{.op = Op::op_, .isa = CpuIsa::isa_}, \
      NativeFn(std::in_place_index<static_cast<size_t>(Op::op_)>, fn_));
#define JF_MATMUL(isa_, families_)                                                                      \
  for (const MatmulFamily& f : families_()) {                                                           \
    JF_CHECK(f.isa == CpuIsa::isa_);                                                                    \
    add(KernelKey{.op = Op::matmul, .isa = CpuIsa::isa_, .dtype = f.weight, .layout = f.weight_layout}, \
        NativeFn(std::in_place_index<static_cast<size_t>(Op::matmul)>, &f));                            \
  }
#define JF_CHANNEL_MAJOR(isa_, families_)                                                             \
  for (const CmFamily& f : families_()) {                                                             \
    JF_CHECK(f.isa == CpuIsa::isa_);                                                                  \
    const WeightLayout cm = WeightLayout::channel_major;                                              \
    add(KernelKey{.op = Op::gather_matvec, .isa = CpuIsa::isa_, .dtype = f.dtype, .layout = cm},      \
        NativeFn(std::in_place_index<static_cast<size_t>(Op::gather_matvec)>, f.gather));             \
    add(KernelKey{.op = Op::cm_matmul, .isa = CpuIsa::isa_, .dtype = f.dtype, .layout = cm},          \
        NativeFn(std::in_place_index<static_cast<size_t>(Op::cm_matmul)>, f.matmul));                 \
  }
#include "kernels/kernel_list.inc"
#undef JF_CHANNEL_MAJOR
#undef JF_MATMUL
#undef JF_KERNEL
  std::stable_sort(all.begin(), all.end(), [](const KernelArtifact& a, const KernelArtifact& b) {
    if (a.key.op != b.key.op) return a.key.op < b.key.op;
    return isa_rank(a.key.isa) < isa_rank(b.key.isa);
  });
  return all;
}

bool same_kernel(const KernelKey& a, const KernelKey& b) {
  return a.op == b.op && a.dtype == b.dtype && a.layout == b.layout;
}

}  // namespace

std::span<const KernelArtifact> registered_kernels() {
  static const std::vector<KernelArtifact> kAll = build_registry();
  return kAll;
}

std::vector<const KernelArtifact*> kernels_of(Op op) {
  std::vector<const KernelArtifact*> out;
  for (const KernelArtifact& k : registered_kernels()) {
    if (k.key.op == op) out.push_back(&k);
  }
  return out;
}

std::vector<const KernelArtifact*> kernels_of(Op op, CpuIsa isa) {
  std::vector<const KernelArtifact*> out;
  for (const KernelArtifact* k : kernels_of(op)) {
    if (k->key.isa == isa) out.push_back(k);
  }
  return out;
}

const KernelArtifact* find_kernel(const KernelKey& key) {
  for (const KernelArtifact& k : registered_kernels()) {
    if (k.key.isa == key.isa && same_kernel(k.key, key)) return &k;
  }
  return nullptr;
}

const KernelArtifact* select_kernel(Op op, DType dtype, WeightLayout layout) {
  const KernelKey want{.op = op, .dtype = dtype, .layout = layout};
  for (const KernelArtifact& k : registered_kernels()) {  // fastest ISA first
    if (same_kernel(k.key, want) && cpu_has_isa(k.key.isa)) return &k;
  }
  return nullptr;
}

}  // namespace jf
