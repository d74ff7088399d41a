// The test process's private temporary folder (made by tests/test_main.cpp before any test runs).
#pragma once

#include <string>

namespace jf::test {

// The folder, unique to this process and removed when it exits.
const std::string& temp_dir();
// temp_dir() + "/" + name.
std::string temp_path(const std::string& name);

}  // namespace jf::test
