#pragma once

#include "manta/store/borrower_set.hpp"
#include "manta/store/object_slot.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <typeinfo>
#include <unordered_map>
#include <vector>

namespace manta::detail {

struct value_codec;

/// Tells this node's router when a lent object that was still being
/// computed is sealed (under the slot's lock: it only posts a message;
/// borrowers.cpp).
struct seal_watch final : waiter {
  uint64_t id = 0; ///< the lent object
  std::weak_ptr<object_slot> slot; ///< its slot, to stop waiting on
  /// Posts (refsealed, id) to the router (borrowers.cpp).
  void on_ready() noexcept override;
  seal_watch() = default;
  seal_watch(const seal_watch&) = delete;
  seal_watch& operator=(const seal_watch&) = delete;
  ~seal_watch() {
    if (auto s = slot.lock())
      s->remove_waiter(this);
  }
};

/// An object whose refs left this node: its borrowers, and for one whose
/// ref was written while it was still being computed, the borrower nodes
/// that wait to hear where it is once it is sealed.
struct lent_ref {
  /// The nodes that hold it and the pin that keeps it for them.
  borrower_set<object_slot> set;
  /// Its ref was written while it was still being computed.
  bool written_pending = false;
  /// The borrower nodes still to be told where it is once sealed.
  std::set<uint16_t> awaiting;
  /// Tells this node's router once it is sealed (written pending).
  std::unique_ptr<seal_watch> watch;
  /// The lends made writing the refs inside its value into its ref's
  /// inlined bytes (a container, contained_refs.hpp): whoever decodes those
  /// bytes holds this object's ref meanwhile, so they are let go with the
  /// pin (`set.strong`) that keeps it for its borrowers.
  std::vector<uint64_t> inner;
  /// The size of its bytes as this driver wrote them again to serve them
  /// itself (a large value another node lent it, `locate`); 0: none.
  /// Dropped with the pin, as `inner` is.
  uint64_t served = 0;
};

/// Borrower side: the borrowed slot of a ref that was pending when
/// written, until its owner says where the object is (ref_resolved).
struct waiting_ref {
  /// The borrowed slot (it may be dropped before the owner answers).
  std::weak_ptr<object_slot> slot;
  /// The ref's value type and its codec, to seal the slot with.
  const std::type_info* type = nullptr;
  const value_codec* codec = nullptr;
  /// The node that owns the object and answers.
  uint16_t owner = 0;
};

/// The object refs this node lent to other nodes and those it borrowed
/// while their objects were still being computed: the state of the
/// borrower protocol (borrowers.hpp), whose functions are its only users.
/// A part of the runtime (`runtime::lent_refs()`), so a second `init`
/// starts with none. `shutdown` lets go of the pins while the node's links
/// still run (`clear_lent_refs`); what is left goes with the runtime, and
/// code running after it (a container dropped late) finds no runtime and
/// nothing to release.
struct object_loans {
  /// Guards the members below.
  std::mutex mtx;
  /// Owner side: the objects whose refs left this node, by id.
  std::unordered_map<uint64_t, lent_ref> lent;
  /// Borrower side: the refs that were pending when written, by id.
  std::unordered_map<uint64_t, waiting_ref> waiting;
  /// Lends since the last sweep of entries whose object is gone.
  size_t lends = 0;
};

} // namespace manta::detail
