#include "manta/store/accounted_value.hpp"

#include "manta/store/object_table.hpp"

namespace manta::detail {

value_account::value_account(std::shared_ptr<const void> value, size_t bytes) noexcept
  : value_(std::move(value)), bytes_(bytes) {
  object_table::instance().account(bytes_);
}

value_account::~value_account() {
  object_table::instance().unaccount(bytes_);
}

} // namespace manta::detail
