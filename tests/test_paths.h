// Where tests find data: the committed default model in models/, and ../shared beside the checkout
// (models, goldens, vocabularies). A test that needs ../shared skips when it is absent.
#pragma once

#include <filesystem>
#include <string>

namespace jf::test {

inline std::string shared_path(const std::string& relative) { return std::string(JITFLOW_SHARED_DIR) + "/" + relative; }
inline std::string source_path(const std::string& relative) { return std::string(JITFLOW_SOURCE_DIR) + "/" + relative; }
inline bool shared_exists(const std::string& relative) { return std::filesystem::exists(shared_path(relative)); }

}  // namespace jf::test

// Skips the current test when a file of ../shared is missing.
#define JF_REQUIRE_SHARED(relative)                                                   \
  do {                                                                                \
    if (!::jf::test::shared_exists(relative)) GTEST_SKIP() << "missing ../shared/" << (relative); \
  } while (0)
