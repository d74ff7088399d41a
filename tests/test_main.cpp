// The main() of every jitflow test program. ctest runs each test case as its own process, in
// parallel, beside other build trees and checkouts: each process gets a private temporary folder,
// made here and removed at exit, and $TMPDIR, $TEST_TMPDIR (GoogleTest's TempDir()), $HOME and
// $JITFLOW_KDB point into it. So no two processes share a file path, and no test reads the user's
// own state (the kernel database, ~/.cache): a test that wants tuned kernels writes its own kdb.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "test_env.h"

namespace {

std::string process_temp_dir;

std::string make_process_temp_dir() {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/jitflow-test-" +
                        std::to_string(getpid()) + "-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) {
    std::perror(("mkdtemp " + pattern).c_str());
    std::exit(2);
  }
  return pattern;
}

}  // namespace

const std::string& jf::test::temp_dir() { return process_temp_dir; }
std::string jf::test::temp_path(const std::string& name) { return process_temp_dir + "/" + name; }

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  process_temp_dir = make_process_temp_dir();
  const std::string& dir = process_temp_dir;
  setenv("TMPDIR", dir.c_str(), 1);
  setenv("TEST_TMPDIR", (dir + "/").c_str(), 1);
  setenv("HOME", (dir + "/home").c_str(), 1);
  setenv("JITFLOW_KDB", (dir + "/kdb.jsonl").c_str(), 1);
  const int result = RUN_ALL_TESTS();
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
  return result;
}
