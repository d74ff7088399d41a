// Whole-file reads and writes with errors that name the file (the small files jitflow reads and
// writes whole: text corpora, sparsity thresholds).
#pragma once

#include <string>

#include "jitflow/status.h"

namespace jf {

// The bytes of `path`. Errors: kNotFound when it does not exist, kIoError otherwise ("PATH: cannot
// read it: <reason>").
Result<std::string> read_file(const std::string& path);

// Replaces `path` with `bytes`. Errors: kIoError ("PATH: cannot write it: <reason>").
Status write_file(const std::string& path, const std::string& bytes);

}  // namespace jf
