// The machine limits of the matmul space's occupancy rules (kernels/matmul/space.h), taken from
// what the microbenchmarks measured on this device (tune/microbench.h) rather than from nominal
// figures: nnJIT's rules are only as good as their inputs (papers/nnjit.md §5).
#pragma once

#include "kernels/matmul/space.h"
#include "tune/microbench.h"

namespace jf::tune {

// The limits for kernels of `isa`, field by field: the register count from the sweep of that ISA
// (register_limit_from_sweep), L1d and L2 from the measured cache levels; every field the
// measurement left unknown (or a sweep that did not run, e.g. the narrower ISA in quick mode)
// falls back to nominal_limits(isa). A default-constructed DeviceLimits gives nominal_limits(isa).
MachineLimits machine_limits(const DeviceLimits& measured, CpuIsa isa);

}  // namespace jf::tune
