#pragma once

#include <cstdint>
#include <map>
#include <memory>

namespace manta::detail {

/// The owner's side of Ray's borrower protocol, for one thing this node
/// lent to others (an actor handle, lent_handles.hpp; an object ref,
/// borrowers.hpp): which nodes reported holding it, and the pin that keeps
/// it alive for them.
///
/// Lending pins it (`strong`) at once, before any borrower can report:
/// the ref is on its way. Each borrower node reports +1 when it makes its
/// local stand-in and -1 when its last local copy is gone; once some
/// borrower reported and none holds it any more (or the ones that did
/// died), the pin is let go and the thing lives only as long as the
/// owner's own references. `weak` finds it again for a ref still in
/// flight that reports after that.
template <class T>
struct borrower_set {
  std::shared_ptr<T> strong;
  std::weak_ptr<T> weak;
  std::map<uint16_t, int> holds; ///< stand-ins per borrowing node
  bool seen = false;             ///< some borrower reported one

  /// Sent away (again): pinned until its borrowers let go.
  void lend(std::shared_ptr<T> x) {
    weak = x;
    strong = std::move(x);
  }

  /// The lent thing, pinned or not; null once gone.
  std::shared_ptr<T> get() const { return strong ? strong : weak.lock(); }

  /// Node `from` made (+1) or dropped (-1) its stand-in. Returns the pin
  /// to let go of (outside the caller's lock: it may be the last
  /// reference), or null.
  std::shared_ptr<T> held(uint16_t from, int32_t delta) {
    auto& n = holds[from];
    n += delta;
    if (n <= 0)
      holds.erase(from);
    if (delta > 0) {
      seen = true;
      if (!strong)
        strong = weak.lock(); // a ref that was still in flight
      return nullptr;
    }
    if (seen && holds.empty())
      return std::move(strong);
    return nullptr;
  }

  /// Node `index` is gone (or its link closed): its stand-ins count no
  /// more. Returns the pin to let go of, or null.
  std::shared_ptr<T> node_gone(uint16_t index) {
    if (holds.erase(index) > 0 && holds.empty() && strong)
      return std::move(strong);
    return nullptr;
  }
};

} // namespace manta::detail
