#pragma once

#include "manta/actor/actor_anchor.hpp"
#include "manta/store/borrower_set.hpp"
#include "manta/store/lent_handles.hpp"

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <utility>

namespace manta::detail {

class actor_core;

/// The actor handles this node lent to other nodes and the stand-ins it
/// made for handles other nodes lent it: the state of lent_handles.hpp,
/// whose functions are its only users. A part of the runtime
/// (`runtime::lent_handles()`), so a second `init` starts with none (and
/// ids the new runtime hands out again find nothing of the old one).
/// `shutdown` lets go of the pins once its actors are stopped
/// (`clear_lent`); code running after it (a container dropped late) finds
/// no runtime and nothing to release.
struct handle_loans {
  /// A borrowed stand-in's core (the weak pointer tells a live stand-in
  /// from a new core at the address of one that is gone) and what it is.
  struct borrowed_entry {
    std::weak_ptr<actor_core> core;
    handle_wire wire;
  };

  /// Guards the members below.
  std::mutex mtx;
  /// Home side: the engines of actors whose handles left this node, by the
  /// id they travel under, each with its borrowers (borrower_set.hpp).
  std::unordered_map<uint64_t, borrower_set<actor_anchor>> lent;
  /// Home side: that id by engine.
  std::unordered_map<const actor_core*, uint64_t> lent_ids;
  /// Borrower side: the stand-ins of other homes' actors by (home, id).
  std::map<std::pair<uint16_t, uint64_t>, std::weak_ptr<actor_anchor>> borrowed;
  /// Borrower side: what each stand-in is, by its core.
  std::unordered_map<const actor_core*, borrowed_entry> borrowed_wire;
};

} // namespace manta::detail
