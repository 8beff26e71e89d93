// What a node lends to and borrows from other nodes (actor handles, object
// refs, the lends inside results not read yet) is kept by parts of its
// runtime (runtime.hpp): a second `init` starts with none of the first's,
// though shutdown no longer clears all of it by hand, and what drops after
// shutdown finds no runtime and does nothing.

#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
#include <manta/manta.hpp>

#include <manta/core/codec.hpp>
#include <manta/core/runtime.hpp>
#include <manta/store/borrowers.hpp>
#include <manta/store/contained_refs.hpp>
#include <manta/store/handle_loans.hpp>
#include <manta/store/lent_handles.hpp>
#include <manta/store/object_loans.hpp>
#include <manta/store/object_store.hpp>
#include <manta/store/unread_results.hpp>

#include "tests/running_total_actor.hpp"

#include <cstdint>
#include <memory>
#include <typeinfo>
#include <vector>

namespace {

using manta::detail::runtime;

manta::init_options options() {
  manta::init_options opts;
  opts.num_cpus = 2;
  return opts;
}

/// A ref to object `index` of node 1, written there while it was still
/// being computed: reading it here makes a borrowed slot that waits for
/// node 1 to say where the object is.
manta::detail::ref_wire pending_ref(uint64_t index) {
  manta::detail::ref_wire w;
  w.state = manta::detail::ref_wire::pending;
  w.owner = 1;
  w.id = manta::object_id::make(1, index).value();
  w.type = typeid(int).name();
  return w;
}

/// The task id whose result's lends the tests record.
constexpr uint64_t task_id = 4242;

} // namespace

TEST_CASE("what one runtime lent and borrowed is not seen by the next") {
  manta::init(options());
  auto& one = runtime::here();
  auto* one_refs = &one.lent_refs();
  auto* one_results = &one.result_lends();

  // An actor handle written for another node: lent, found by its id.
  auto c = manta::actor<running_total>().remote(1);
  CHECK(manta::get(c.call(&running_total::add).remote(1)) == 2);
  auto lent = manta::detail::lend(c.anchor());
  REQUIRE(lent.id != 0);
  CHECK(manta::detail::lent_actor(lent.id) == c.anchor());
  // Its last handle here goes: the lent pin keeps the actor for the node
  // it was written to.
  auto* core = c.anchor()->core.get();
  c = manta::actor_handle<running_total>{};
  REQUIRE(manta::detail::lent_actor(lent.id) != nullptr);
  CHECK(manta::detail::lent_actor(lent.id)->core.get() == core);
  // A ref borrowed while its object was still being computed on node 1.
  auto wire = pending_ref(77);
  auto borrowed = manta::detail::borrow_ref(typeid(int), manta::detail::codec_for<int>(), wire);
  REQUIRE(borrowed != nullptr);
  CHECK(!borrowed->done());
  CHECK(one_refs->waiting.count(wire.id) == 1);
  // A result sent to node 1 holding the handle, not read there yet: kept
  // until node 1 reads it, and not cleared by hand at shutdown.
  manta::detail::contain_result(task_id, 1, {lent.id});
  CHECK(one_results->by_task.count(task_id) == 1);
  // A container of the handle that outlives the runtime.
  auto late = std::make_unique<manta::detail::contained_refs>(std::vector<uint64_t>{lent.id});
  manta::shutdown();

  // Late drops with no runtime: nothing to release, nothing breaks.
  late.reset();
  manta::detail::release_contained({lent.id, wire.id});
  manta::detail::result_read(task_id);
  CHECK(manta::detail::lent_actor(lent.id) == nullptr);
  CHECK(!manta::detail::ref_held(wire.id, 1, -1));
  CHECK(manta::detail::ref_borrowers(wire.id).empty());

  manta::init(options());
  auto& two = runtime::here();
  // Fresh parts: none of the first runtime's loans, waits or results (the
  // results not read were never cleared: they went with their runtime).
  CHECK(two.lent_handles().lent.empty());
  CHECK(two.lent_handles().borrowed.empty());
  CHECK(two.lent_refs().lent.empty());
  CHECK(two.lent_refs().waiting.empty());
  CHECK(two.result_lends().by_task.empty());
  CHECK(manta::detail::lent_actor(lent.id) == nullptr);
  // The first runtime's borrowed slot is dropped here, into its own store.
  CHECK(two.store().table().find(manta::object_id{wire.id}) == nullptr);
  borrowed = nullptr;

  // The second runtime lends and borrows as the first did.
  auto d = manta::actor<running_total>().remote(5);
  CHECK(manta::get(d.call(&running_total::add).remote(1)) == 6);
  auto again = manta::detail::lend(d.anchor());
  CHECK(manta::detail::lent_actor(again.id) == d.anchor());
  auto slot = manta::detail::borrow_ref(typeid(int), manta::detail::codec_for<int>(), wire);
  CHECK(two.lent_refs().waiting.count(wire.id) == 1);
  manta::detail::contain_result(task_id, 1, {again.id});
  manta::detail::result_read(task_id); // node 1 read it: its lends go
  CHECK(two.result_lends().by_task.empty());
  d = manta::actor_handle<running_total>{};
  manta::shutdown();
  slot = nullptr; // a borrowed slot dropped after shutdown
}

TEST_CASE("late calls about another node with no runtime do nothing") {
  // A link's message or a container handled after shutdown (no runtime).
  CHECK(runtime::live() == nullptr);
  manta::detail::lent_held(1234, 1, -1);
  manta::detail::lent_handles_container_gone({1234}, false);
  manta::detail::lent_node_gone(1);
  manta::detail::contain_result(task_id, 1, {1234});
  manta::detail::results_reader_gone(1);
  manta::detail::update_lent({1234},
                             [](manta::detail::borrower_set<manta::detail::object_slot>& set) {
                               return set.container_gone();
                             });
  manta::detail::clear_lent();
  CHECK(manta::detail::ref_borrowers(1234).empty());
}
