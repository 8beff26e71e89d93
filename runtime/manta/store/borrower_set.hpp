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
/// local stand-in and -1 when its last local copy is gone. A ref lent
/// inside a container (a task's arguments or result, contained_refs.hpp) is
/// also held by that container until it ends (`container_gone`); the
/// borrowers that read it reported before. Once no container holds it
/// and no borrower does (and, if it was ever lent outside a container,
/// some borrower reported), the pin is let go and the thing lives only as
/// long as the owner's own references. `weak` finds it again for a ref
/// still in flight that reports after that.
template <class T>
struct borrower_set {
  std::shared_ptr<T> strong;
  std::weak_ptr<T> weak;
  std::map<uint16_t, int> holds; ///< stand-ins per borrowing node
  bool seen = false;             ///< some borrower reported one
  int contained = 0;             ///< containers holding it, not ended yet
  bool loose = false;            ///< lent outside any container

  /// Sent away (again), inside a container or not: pinned until its
  /// borrowers (and that container) let go.
  void lend(std::shared_ptr<T> x, bool in_container = false) {
    weak = x;
    strong = std::move(x);
    if (in_container)
      ++contained;
    else
      loose = true;
  }

  /// Whether nothing keeps the pin any more.
  bool unpinned() const { return holds.empty() && contained == 0 && (seen || !loose); }

  /// A container it was lent in ended. Returns the pin to let go of, or
  /// null.
  std::shared_ptr<T> container_gone() {
    if (contained > 0)
      --contained;
    if (unpinned())
      return std::move(strong);
    return nullptr;
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
    if (unpinned())
      return std::move(strong);
    return nullptr;
  }

  /// Node `index` is gone (or its link closed): its stand-ins count no
  /// more. Returns the pin to let go of, or null.
  std::shared_ptr<T> node_gone(uint16_t index) {
    if (holds.erase(index) > 0 && holds.empty() && contained == 0 && strong)
      return std::move(strong);
    return nullptr;
  }
};

} // namespace manta::detail
