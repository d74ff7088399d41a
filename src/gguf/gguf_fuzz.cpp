// libFuzzer target for the GGUF reader (built with -DJITFLOW_FUZZ=ON, see scripts/fuzz.sh): any
// bytes must either open or be rejected with a located format error, and an opened file must keep
// every promise checked in gguf_exercise.h. A broken promise traps so libFuzzer saves the input.
#include <cstddef>
#include <cstdint>

#include "gguf/gguf_exercise.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  bool promise_broken = false;
  (void)jf::test::exercise_gguf_bytes(std::vector<uint8_t>(data, data + size), &promise_broken);
  if (promise_broken) __builtin_trap();
  return 0;
}
