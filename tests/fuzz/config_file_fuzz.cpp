// libFuzzer entry point for manta_fuzz::config_file (see config_target.hpp).
#include "tests/fuzz/config_target.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return manta_fuzz::config_file(data, size);
}
