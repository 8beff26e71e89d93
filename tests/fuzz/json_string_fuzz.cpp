// libFuzzer entry point for manta_fuzz::json_string (see net_targets.hpp).
#include "tests/fuzz/net_targets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return manta_fuzz::json_string(data, size);
}
