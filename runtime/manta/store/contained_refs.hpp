#pragma once

#include <cstdint>
#include <limits>
#include <vector>

/// The containers of refs (and actor handles) written to other nodes
/// (docs/cluster.md, "Borrowed refs"), Ray's "contained in" bookkeeping: a ref written
/// inside a task's or an actor call's arguments or result is pinned on its
/// owner by that container as well as by the borrowers that report it,
/// and the container's pin goes when the container ends (its task's or
/// call's result arrived or it ended without running; its result was
/// decoded or freed without being read), so a ref that nobody reads does
/// not keep its object for ever. A borrower reports its +1 before the container ends
/// (over the same link, ahead of it). Refs written outside any container
/// keep their pin until some borrower reported and none holds them.
namespace manta::detail {

/// While alive on a thread, the refs and actor handles this node lends
/// there (lend_ref, lend) are pinned by the container being written.
/// Nests: an actor call made inside a task, an actor's constructor
/// arguments and a value inlined in its ref (borrowers.cpp) each collect
/// their own; a pin not taken with `take` goes with the scope.
class lend_scope {
public:
  lend_scope() noexcept;
  ~lend_scope();
  lend_scope(const lend_scope&) = delete;
  lend_scope& operator=(const lend_scope&) = delete;

  /// The objects lent under this scope so far (once per lend).
  std::vector<uint64_t> take() noexcept;

  /// The innermost scope of this thread collecting a container's refs
  /// (an item's while one is being encoded), or null.
  static lend_scope* current() noexcept;

  void add(uint64_t id) { ids_.push_back(id); }

private:
  friend struct item_lending;
  struct detached_t {};
  /// A scope in no thread's chain (an item's, see begin_item_lending).
  explicit lend_scope(detached_t) noexcept : prev_(nullptr), linked_(false) {}

  lend_scope* prev_;
  bool linked_ = true;
  std::vector<uint64_t> ids_;
};

/// A generator run for another node encodes an item on this thread now
/// (item_stream::admit_next, right before its encoding): the refs and
/// actor handles lent until `take_item_lending` are that item's container
/// (pinned until the item's owner decoded or dropped it), whatever
/// container this thread writes otherwise (a generator task's result).
/// A scope opened meanwhile (a ref's inlined bytes) keeps its own.
/// `stream` names the producer's stream (see end_item_lending).
void begin_item_lending(const void* stream) noexcept;

/// The lends of the item encoded on this thread since
/// `begin_item_lending`; the item's sender keeps them as its container
/// (`contain_result` under the id the item travels with). Ends the item.
std::vector<uint64_t> take_item_lending() noexcept;

/// Ends the item encoded on this thread, if any (only one of `stream`,
/// unless null): lends nobody took (an item not sent, or whose encoding
/// threw) keep their objects as refs lent outside a container do.
void end_item_lending(const void* stream = nullptr) noexcept;

/// The item encoded on this thread was not sent: its encoding threw
/// (item_stream::item_unsent). Nothing of it left this node, so no
/// borrower will ever report its refs: its lends go as a dropped
/// container's do (a ref lent nowhere else is then unpinned).
void drop_item_lending() noexcept;

/// The pins a container holds on the refs lent in it; they go with it.
/// Move-only; empty (and free) for a container without refs.
class contained_refs {
public:
  contained_refs() = default;
  explicit contained_refs(std::vector<uint64_t> ids) noexcept : ids_(std::move(ids)) {}
  contained_refs(contained_refs&& x) noexcept : ids_(std::move(x.ids_)) { x.ids_.clear(); }
  contained_refs& operator=(contained_refs&& x) noexcept;
  ~contained_refs();
  contained_refs(const contained_refs&) = delete;
  contained_refs& operator=(const contained_refs&) = delete;

  bool empty() const noexcept { return ids_.empty(); }

private:
  std::vector<uint64_t> ids_;
};

/// Lets go of the pins of a container holding the lends `ids`. With
/// `loosen`, the lends, made under a container, were not part of it (a
/// generator's items): they keep their objects as refs lent outside any
/// container do, until some borrower reported and none holds them.
void release_contained(const std::vector<uint64_t>& ids, bool loosen = false);

/// The side that ran task or actor call `task`: the refs lent in its
/// result (for the node `reader` that owns it), pinned until that node
/// decoded the result (`result_read`), freed it, or is gone.
void contain_result(uint64_t task, uint16_t reader, std::vector<uint64_t> ids);

/// The result of task or call `task` was decoded by its owner (which
/// sent its borrowers' +1 first) or freed: its refs' container pins go.
void result_read(uint64_t task);

/// The `delta` of an `actrelease` that says "the result of task `id` was
/// read here" (result_read) rather than a borrowed slot made or dropped.
inline constexpr int32_t result_read_delta = 0;

/// The `delta` of an `actrelease` about a worker's actor call `id` that
/// the driver hosting it answered: the worker asks after the answer, and
/// the driver echoes it on the route of its +1s (its cluster client), so
/// the echo comes after every +1 for the call's arguments; then the
/// call's container pins go (forwarded_calls.cpp).
inline constexpr int32_t args_read_delta = std::numeric_limits<int32_t>::min();

/// Worker side: node `index`, the reader of some results, is gone: the
/// pins of the results it never read go.
void results_reader_gone(uint16_t index);

/// How many refs of other nodes' objects this thread has read so far
/// (borrow_ref): a task whose arguments held some answers its owner after
/// the +1s it sent, and a result that held some is reported read.
uint64_t refs_borrowed_here() noexcept;

/// How many such reads every thread of this process made so far: an actor
/// call whose method runs on another thread than the one that decoded its
/// arguments answers its owner itself only if no ref was read meanwhile
/// (early_call_answer, actors/hosted_results.hpp).
uint64_t refs_borrowed_in_process() noexcept;

/// Counts one such read on this thread (borrow_ref).
void count_borrowed_here() noexcept;

} // namespace manta::detail
