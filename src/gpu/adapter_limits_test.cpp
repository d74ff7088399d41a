#include "gpu/adapter_limits.h"

#include <gtest/gtest.h>

namespace jf::gpu {
namespace {

TEST(AdapterLimits, ReadsTheTwoLimitsOfAnAdapterDocument) {
  Result<Json> json = parse_json(
      R"({"description":"SwiftShader","maxComputeInvocationsPerWorkgroup":1024,"maxComputeWorkgroupStorageSize":32768})");
  ASSERT_TRUE(json.ok());
  Result<AdapterLimits> limits = adapter_limits_from_json(*json);
  ASSERT_TRUE(limits.ok()) << limits.status().to_string();
  EXPECT_EQ(limits->max_invocations, 1024);
  EXPECT_EQ(limits->max_workgroup_storage, 32768);
  EXPECT_EQ(limits->min_workgroups, AdapterLimits{}.min_workgroups);
}

TEST(AdapterLimits, AMissingOrNonPositiveLimitIsNamed) {
  for (const char* text :
       {R"({"maxComputeWorkgroupStorageSize":32768})",
        R"({"maxComputeInvocationsPerWorkgroup":0,"maxComputeWorkgroupStorageSize":32768})",
        R"({"maxComputeInvocationsPerWorkgroup":"256","maxComputeWorkgroupStorageSize":1})", "[]"}) {
    Result<AdapterLimits> limits = adapter_limits_from_json(*parse_json(text));
    ASSERT_FALSE(limits.ok()) << text;
    EXPECT_EQ(limits.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(limits.status().message().find("'maxComputeInvocationsPerWorkgroup'"), std::string::npos)
        << limits.status().message();
  }
}

}  // namespace
}  // namespace jf::gpu
