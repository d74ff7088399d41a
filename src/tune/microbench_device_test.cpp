// Microbenchmarks measured on the machine running the tests (ctest label "device"). Bounds are
// tolerant: other processes share the machine, and a CI runner is not a quiet lab.
#include <gtest/gtest.h>

#include "base/cpu_features.h"
#include "tune/microbench.h"

namespace jf::tune {
namespace {

TEST(MicrobenchDevice, QuickModeGivesPlausibleLimits) {
  const DeviceLimits limits = run_microbenchmarks({.quick = true});
  EXPECT_LT(limits.elapsed_ms, 10000);
  const CpuFeatures& cpu = cpu_features();
  if (cpu.avx512f || (cpu.avx2 && cpu.fma)) {
    ASSERT_TRUE(limits.vector_registers.known());
    EXPECT_TRUE(limits.vector_registers.value == 16 || limits.vector_registers.value == 32)
        << limits.vector_registers.value;
    EXPECT_EQ(limits.vector_bits.value, cpu.avx512f ? 512 : 256);
  }
  ASSERT_TRUE(limits.l1d_bytes.known());
  EXPECT_GE(limits.l1d_bytes.value, 16u << 10);
  EXPECT_LE(limits.l1d_bytes.value, 128u << 10);
  EXPECT_GT(limits.dram_bandwidth_one_thread_gbps.value, 1.0);
  EXPECT_GT(limits.dram_bandwidth_all_threads_gbps.value, 1.0);
  EXPECT_GE(limits.n_cores.value, 1);
}

TEST(MicrobenchDevice, Avx2SweepSpillsAfterSixteenRegisters) {
  const CpuFeatures& cpu = cpu_features();
  if (!(cpu.avx2 && cpu.fma)) GTEST_SKIP() << "no AVX2+FMA";
  const RegisterSweep sweep = sweep_vector_registers("avx2", 2, true);
  ASSERT_EQ(sweep.points.size(), 37u);
  EXPECT_EQ(sweep.knee, 16);
}

}  // namespace
}  // namespace jf::tune
