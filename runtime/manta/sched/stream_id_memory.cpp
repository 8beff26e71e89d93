#include "manta/sched/stream_id_memory.hpp"

#include "manta/errors.hpp"

#include <cstdlib>
#include <string>

namespace manta::detail {

size_t stream_id_memory() noexcept {
  static const size_t n = [] {
    size_t out = 1024;
    if (auto env = std::getenv("MANTA_STREAM_ID_MEMORY"); env != nullptr && *env != '\0') {
      char* end = nullptr;
      auto v = std::strtoull(env, &end, 10);
      if (end != env && *end == '\0' && v > 0)
        out = static_cast<size_t>(v);
    }
    return out;
  }();
  return n;
}

std::exception_ptr early_items_dropped() noexcept {
  try {
    return std::make_exception_ptr(object_lost_error(
      "manta: the items of this generator that came from another node before its stream was "
      "enrolled were dropped: more than "
      + std::to_string(stream_id_memory()) + " streams had items waiting to be enrolled"));
  } catch (...) {
    return std::current_exception(); // the message could not be made
  }
}

} // namespace manta::detail
