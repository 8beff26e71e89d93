// libFuzzer entry point for manta_fuzz::codec (see fuzz_targets.hpp).
#include "tests/fuzz/fuzz_targets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return manta_fuzz::codec(data, size);
}
