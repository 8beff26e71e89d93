#include "manta/core/type_layout.hpp"

namespace manta::detail::layout_detail {

std::string sized_name(const char* prefix, size_t bytes) {
  return prefix + std::to_string(bytes * 8);
}

} // namespace manta::detail::layout_detail
