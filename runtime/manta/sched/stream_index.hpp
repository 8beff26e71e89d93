#pragma once

#include "manta/store/far_objects.hpp"

#include <caf/actor.hpp>
#include <caf/node_id.hpp>

#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace manta::detail {

class item_stream;

/// The container that pins the refs (and actor handles) inside an item on
/// the node that encoded it (`held`, an id of that node; 0: none): let go
/// once this node decoded the item (which sent the +1s of its refs first,
/// on the same route) or dropped it undecoded.
class item_pins {
public:
  item_pins() = default;
  explicit item_pins(uint64_t held) noexcept : held_(held) {}
  item_pins(item_pins&& x) noexcept : held_(std::exchange(x.held_, 0)) {}
  item_pins& operator=(item_pins&& x) noexcept {
    std::swap(held_, x.held_);
    return *this;
  }
  ~item_pins();

private:
  uint64_t held_ = 0;
};

/// An item from another node: its bytes, or the record of a large one that
/// stayed there (dropping the record frees it on that node).
struct far_item {
  uint64_t at = 0; ///< its index in its producer's run
  std::vector<char> bytes; ///< an inline item, encoded
  remote_ptr stored; ///< a large item kept on its node
  caf::actor from; ///< the sender, where back pressure acks go
  item_pins pins; ///< an inline item's refs, pinned on its node meanwhile
};

/// The generator streams of this node by their producer's task id, for the
/// items other nodes send (item_stream.cpp), and the large items it keeps
/// for other nodes' readers (lent_items.cpp), whose functions are its only
/// users. A part of the runtime (`runtime::streams()`): task and object
/// ids start over with each `init`, so a second runtime must not see the
/// first one's streams, early items or lent items; an item that comes with
/// no runtime is dropped. `shutdown` drops the early items while the links
/// still run (their pins and records tell their nodes); the rest goes with
/// the runtime.
struct stream_index {
  /// A stream and its address: a stream that outlived its runtime tells
  /// its own entry from another runtime's under the same id.
  struct entry {
    std::weak_ptr<item_stream> stream; ///< the caller's stream
    const item_stream* at = nullptr; ///< the stream, to compare only
  };

  /// Guards what follows but `lent`.
  std::mutex mtx;
  /// The enrolled streams, by their producer's task id.
  std::unordered_map<uint64_t, entry> streams;
  /// Items that came before their stream was enrolled (it is enrolled right
  /// after submission, so this is rare and short), or for a stream gone
  /// longer ago than `gone` remembers. Past `stream_id_memory()` task ids it is
  /// cleared (its items dropped undecoded): they must not pile up.
  std::unordered_map<uint64_t, std::vector<far_item>> early;
  /// Task ids of the streams gone lately (the last `stream_id_memory()` dropped
  /// before their producer heard of the cancel), and of those whose items
  /// `early` dropped when it was cleared: their late items are dropped at
  /// once, which for a large one frees it on its node (a stream enrolled
  /// after its items were dropped gets an error there: `enroll`).
  std::unordered_set<uint64_t> gone;
  /// `gone` in the order remembered, oldest first.
  std::deque<uint64_t> gone_order;
  /// On a producer's node: the streams of generators with back pressure
  /// that run here for other nodes, by task id, for the owners' acks
  /// (each leaves in its destructor, under `mtx`).
  std::unordered_map<uint64_t, item_stream*> producers;

  /// Remembers `id` in `gone` (under `mtx`), forgetting the oldest past
  /// `stream_id_memory()`.
  void remember_gone(uint64_t id);

  /// Large items this node keeps for workers that read a generator method
  /// of its actors through a lent handle (item_stream::deliver_lent), until
  /// they let go or die: the node of each one's reader (default for
  /// `lend_item`).
  struct lent_items {
    /// Guards `items`.
    std::mutex mtx;
    /// The reader of each item kept, by object id.
    std::unordered_map<uint64_t, caf::node_id> items;
  } lent;
};

} // namespace manta::detail
