// How a matmul kernel is written to and read back from the kernel database: the one place that
// maps MatmulKernel <-> kdb::Record, shared by the tuner (writes) and the run-time kernel
// selection (runtime/kernel_select.h, reads), so both agree on the key.
//
//   op "matmul"; workload {dtype: weight type, n: weight rows, k: weight columns, batch: tokens,
//   threads}; config {row_tile, token_tile, k_block, prefetch_rows}; canonical_name: the
//   kernel's name, which also carries the ISA.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "kdb/record.h"
#include "kernels/matmul/generator_version.h"  // kMatmulGenerator, generated at build time
#include "kernels/matmul/matmul.h"

namespace jf::tune {

inline constexpr const char* kMatmulOp = "matmul";

kdb::Workload matmul_workload(DType dtype, int64_t n_rows, int64_t n_cols, int64_t n_tokens, int n_threads);

// The knobs of `config` by name.
std::map<std::string, int64_t> matmul_knobs(const MatmulConfig& config);

// The kernel a record names, re-resolved on this CPU: invalid (valid() false) when the record is
// not a matmul record of kMatmulGenerator, its dtype or knobs are unknown, no ISA of this CPU
// resolves the config, or the resolved kernel's name differs from the record's canonical name
// (the record was written by other code). `why` (optional) says which.
MatmulKernel kernel_from_record(const kdb::Record& record, std::string* why = nullptr);

// A record for `kernel` on this device (kdb::current_device()), stamped now.
kdb::Record matmul_record(const MatmulKernel& kernel, const kdb::Workload& workload, double median_ns,
                          double default_ns, int64_t tried);

}  // namespace jf::tune
