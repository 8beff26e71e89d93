// libFuzzer entry point for manta_fuzz::wire_logs (see fuzz_targets.hpp).
#include "tests/fuzz/fuzz_targets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return manta_fuzz::wire_logs(data, size);
}
