#include "manta/store/accounted_value.hpp"

#include "manta/store/object_store.hpp"

namespace manta::detail {

value_account::value_account(object_store* store, std::shared_ptr<const void> value,
                             size_t bytes) noexcept
  : store_(store), value_(std::move(value)), bytes_(bytes) {
  if (store_ != nullptr) {
    store_->retain();
    store_->table().account(bytes_);
  }
}

value_account::~value_account() {
  if (store_ != nullptr) {
    store_->table().unaccount(bytes_);
    store_->release();
  }
}

} // namespace manta::detail
