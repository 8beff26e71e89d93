#include "manta/object_id.hpp"

#include <cstdio>

namespace manta {

std::string to_string(object_id id) {
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(id.value()));
  return buf;
}

} // namespace manta
