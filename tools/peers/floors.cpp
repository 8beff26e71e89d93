// The floors of the peers benchmark: what a synchronous actor call and a
// copying put cannot beat, measured in the same run as Manta.

#include "tools/peers/peers.hpp"

#include "manta/detail/store_copy.hpp"
#include "tools/caf_floor.hpp"

#include <cstdlib>
#include <cstring>
#include <memory>

namespace manta::tools::peers {

void memcpy_fresh(const std::vector<unsigned char>& bytes) {
  // Fresh, untouched memory each time, as the store's copy gets.
  std::unique_ptr<unsigned char[]> dst{new unsigned char[bytes.size()]};
  detail::advise_huge_pages(dst.get(), bytes.size());
  std::memcpy(dst.get(), bytes.data(), bytes.size());
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
