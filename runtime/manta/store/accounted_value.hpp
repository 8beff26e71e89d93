#pragma once

#include <cstddef>
#include <memory>

namespace manta::detail {

class object_store;

/// Keeps a value's bytes counted in its object store's memory
/// (`object_table::bytes_used`, what the memory budget limits) for exactly
/// as long as the value lives: counted when made, uncounted when the last
/// `shared_ptr` to it is gone. So a value still read through `get_shared`
/// (or sent by the transfer server) after its object was freed or spilled
/// keeps counting, and a later `put` spills or fails instead of
/// over-committing the budget. Keeps the store alive meanwhile (a null
/// store: counted nowhere).
class value_account {
public:
  value_account(object_store* store, std::shared_ptr<const void> value, size_t bytes) noexcept;
  ~value_account();

  value_account(const value_account&) = delete;
  value_account& operator=(const value_account&) = delete;

  /// Whether nobody but this account holds the value itself (a value the
  /// caller of `put(shared_ptr)` kept is shared beyond the store).
  bool sole_owner() const noexcept { return value_.use_count() == 1; }

private:
  object_store* store_;
  std::shared_ptr<const void> value_;
  size_t bytes_;
};

/// `value`, counted in `store` as `bytes` until every copy of the returned
/// pointer (which shares ownership with a `value_account`) is gone.
template <class T>
std::shared_ptr<T> accounted(object_store& store, std::shared_ptr<T> value, size_t bytes) {
  auto* raw = value.get();
  auto account = std::make_shared<const value_account>(&store, std::move(value), bytes);
  return std::shared_ptr<T>(std::move(account), raw);
}

} // namespace manta::detail
