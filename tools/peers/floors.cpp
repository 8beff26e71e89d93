// The floors of the peers benchmark: what a synchronous actor call and a
// copying put cannot beat, measured in the same run as Manta.

#include "tools/peers/peers.hpp"

#include "tools/caf_floor.hpp"

#include <cstdlib>
#include <cstring>
#include <vector>

namespace manta::tools::peers {

void memcpy_mapped(const std::vector<unsigned char>& bytes) {
  // One buffer, mapped (written) at the first call, the untimed warm-up,
  // and copied into at every call after it, as a put copies into the
  // buffer the store's pool kept from the previous put of that size.
  static std::vector<unsigned char> dst;
  if (dst.size() != bytes.size())
    dst.assign(bytes.size(), 0);
  std::memcpy(dst.data(), bytes.data(), bytes.size());
  if (bytes.size() > 64 && dst[64] != bytes[64])
    std::abort();
}

double caf_request_response_seconds(int n) {
  // measure_caf_floor times its own round trips after a warm-up, in an
  // actor system of its own with the runtime's CAF settings.
  auto floor = measure_caf_floor(static_cast<size_t>(n));
  return static_cast<double>(n) / floor.request_response;
}

} // namespace manta::tools::peers
