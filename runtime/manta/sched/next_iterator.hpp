#pragma once

#include <cstddef>
#include <iterator>
#include <optional>

namespace manta::detail {

/// The range-for iterator of a source of refs that hands them out one by
/// one through `std::optional<Ref> next()` (nullopt: no more), such as
/// `completed_refs` (as_completed.hpp) and `object_ref_generator`
/// (generator.hpp). Each step waits in `next()`; one pass only.
template <class Owner, class Ref>
class next_iterator {
public:
  using iterator_category = std::input_iterator_tag; ///< One pass only.
  using value_type = Ref;                            ///< What a step yields.
  using difference_type = std::ptrdiff_t;            ///< Required by the concept.
  using pointer = Ref*;                              ///< Required by the concept.
  using reference = Ref&;                            ///< Required by the concept.

  next_iterator() = default; ///< The end.
  /// The first ref of `owner` (blocks until it is there).
  explicit next_iterator(Owner* owner) : owner_(owner) { ++*this; }
  reference operator*() { return *current_; } ///< The ref now.
  /// Waits for the next ref.
  next_iterator& operator++() {
    current_ = owner_->next();
    if (!current_)
      owner_ = nullptr;
    return *this;
  }
  /// Equal once both are at the end.
  bool operator==(const next_iterator& other) const { return owner_ == other.owner_; }
  bool operator!=(const next_iterator& other) const { return !(*this == other); } ///< Negation.

private:
  Owner* owner_ = nullptr;
  std::optional<Ref> current_;
};

} // namespace manta::detail
