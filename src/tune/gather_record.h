// How a gathered matvec's config (kernels/channel_major: CmGatherConfig over a dtype's entry) is
// written to and read back from the kernel database: the one place that maps CmKernel <->
// kdb::Record, shared by the gather tuner (writes) and the run-time kernel selection (reads).
//
//   op "gather_matvec"; workload {dtype: weight type, n: outputs, k: input channels, batch: 1,
//   threads}; config {split (0 outputs, 1 channels), channels_per_step, out_tile, prefetch};
//   canonical_name: the gather entry's name, which also carries the ISA.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "kdb/record.h"
#include "kernels/channel_major/channel_major.h"
#include "kernels/channel_major/generator_version.h"  // kChannelMajorGenerator, generated at build time

namespace jf::tune {

inline constexpr const char* kGatherOp = "gather_matvec";

kdb::Workload gather_workload(DType dtype, int64_t n_rows, int64_t n_cols, int n_threads);

// The knobs of `config` by name.
std::map<std::string, int64_t> gather_knobs(const CmGatherConfig& config);

// The kernel a record names, re-resolved on this CPU: invalid (valid() false) when the record is
// not a gather record of kChannelMajorGenerator, its dtype or knobs are unknown or invalid, or no
// ISA of this CPU has the entry it names. `why` (optional) says which.
CmKernel cm_kernel_from_record(const kdb::Record& record, std::string* why = nullptr);

// A record for `kernel` on this device (kdb::current_device()), stamped now.
kdb::Record gather_record(const CmKernel& kernel, const kdb::Workload& workload, double median_ns,
                          double default_ns, int64_t tried);

}  // namespace jf::tune
