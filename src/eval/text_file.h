// Reads a whole text file, decompressing it when its name ends in ".xz" (the corpus in ../shared
// is stored so), for the tools that score or calibrate on text.
#pragma once

#include <string>

#include "jitflow/status.h"

namespace jf {

// The file's bytes. Errors name the file: missing (kNotFound), unreadable (kIoError), or a corrupt
// or truncated xz stream (kCorruptFile).
Result<std::string> read_text_file(const std::string& path);

}  // namespace jf
