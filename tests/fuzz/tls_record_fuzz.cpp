// libFuzzer entry point for manta_fuzz::tls_record (see net_targets.hpp).
#include "tests/fuzz/net_targets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return manta_fuzz::tls_record(data, size);
}
