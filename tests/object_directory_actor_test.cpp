// The driver's object directory actor (actors/object_directory_actor.hpp)
// alone, on CAF's deterministic test scheduler: messages sent to it are
// applied in the order it receives them, and its lookups answer from what
// came before. No runtime, no cluster, no thread but this one.

#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include "actors/object_directory_actor.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <vector>

namespace {

using namespace manta::actors;
using nodes = std::vector<uint16_t>;

caf::actor_system_config& testing_config(caf::actor_system_config& cfg) {
  cfg.set("scheduler.policy", caf::atom("testing"));
  cfg.set("logger.file-verbosity", caf::atom("quiet"));
  cfg.set("logger.console", caf::atom("none"));
  return cfg;
}

/// An actor system on the test coordinator, a directory actor in it, and a
/// scoped actor that talks to it. Nothing runs until `sched.run()`.
struct fixture {
  caf::actor_system_config cfg;
  caf::actor_system sys{testing_config(cfg)};
  caf::scheduler::test_coordinator& sched{
    dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler())};
  caf::scoped_actor self{sys, true};
  std::shared_ptr<directory_door> door = std::make_shared<directory_door>();
  caf::actor dir = sys.spawn(object_directory_behavior, door);
  /// What keeps the objects alive (their slots at the owner).
  std::shared_ptr<int> slot = std::make_shared<int>(0);

  fixture() { sched.run(); }

  ~fixture() {
    caf::anon_send_exit(dir, caf::exit_reason::user_shutdown);
    sched.run();
  }

  /// The one reply waiting for the scoped actor, if any.
  template <class T>
  std::optional<T> reply() {
    std::optional<T> out;
    self->receive([&](T& x) { out = std::move(x); }, caf::after(std::chrono::seconds(0)) >> [] {});
    return out;
  }

  /// Asks the directory (after everything sent before) and runs it.
  nodes copies(uint64_t id) {
    self->send(dir, copies_atom::value, id);
    sched.run();
    auto got = reply<nodes>();
    REQUIRE(got.has_value());
    return *got;
  }

  void add(uint64_t id, uint16_t node) {
    self->send(dir, copy_add_atom::value, id, node, std::weak_ptr<const void>{slot});
  }
};

} // namespace

TEST_CASE_FIXTURE(fixture, "a copy added is what a later lookup answers, even before it ran") {
  CHECK(copies(7).empty());
  // Both in the mailbox before the directory runs: the lookup comes second.
  add(7, 2);
  add(7, 3);
  self->send(dir, copies_atom::value, uint64_t{7});
  CHECK(sched.jobs.size() == 1); // the directory, with three messages
  CHECK_FALSE(reply<nodes>().has_value());
  // One message a step: the two adds, then the lookup that sees both.
  sched.run_once();
  sched.run_once();
  CHECK_FALSE(reply<nodes>().has_value());
  sched.run_once();
  CHECK_FALSE(sched.has_job());
  CHECK(reply<nodes>() == nodes{2, 3});
  add(7, 2); // once
  CHECK(copies(7) == nodes{2, 3});
  CHECK(copies(8).empty());
}

TEST_CASE_FIXTURE(fixture, "a lost node's copies go; a dropped copy is not answered") {
  add(9, 2);
  add(9, 4);
  add(10, 4);
  self->send(dir, node_lost_atom::value, uint16_t{4});
  CHECK(copies(9) == nodes{2});
  CHECK(copies(10).empty());
  add(9, 5);
  self->send(dir, copy_gone_atom::value, uint64_t{9}, uint16_t{2});
  CHECK(copies(9) == nodes{5});
  // A loss after the lookup was sent does not change its answer.
  self->send(dir, copies_atom::value, uint64_t{9});
  self->send(dir, node_lost_atom::value, uint16_t{5});
  sched.run();
  CHECK(reply<nodes>() == nodes{5});
  CHECK(copies(9).empty());
}

TEST_CASE_FIXTURE(fixture, "a reported copy outlives its task's end; an unreported one does not") {
  add(11, 2);
  add(11, 3);
  self->send(dir, copy_held_atom::value, uint64_t{11}, uint16_t{2});
  self->send(dir, copy_settle_atom::value, uint64_t{11}, uint16_t{2});
  self->send(dir, copy_settle_atom::value, uint64_t{11}, uint16_t{3});
  sched.run();
  CHECK(reply<bool>() == true); // the owner tracks it: the node keeps it
  CHECK(copies(11) == nodes{2});
  // A report for an object the owner does not track: the node frees it.
  self->send(dir, copy_held_atom::value, uint64_t{12}, uint16_t{2});
  sched.run();
  CHECK(reply<bool>() == false);
  CHECK(copies(12).empty());
}

TEST_CASE_FIXTURE(fixture, "freeing and letting go hand back the holders to free") {
  add(13, 2);
  add(13, 6);
  self->send(dir, copy_erase_atom::value, uint64_t{13});
  sched.run();
  CHECK(reply<nodes>() == nodes{2, 6});
  CHECK(copies(13).empty());
  add(14, 3);
  slot.reset(); // the owner let go of every object it tracked
  self->send(dir, copy_sweep_atom::value);
  sched.run();
  auto swept = reply<swept_copies>();
  REQUIRE(swept.has_value());
  CHECK(*swept == swept_copies{{14, nodes{3}}});
  CHECK(door->size() == 0);
}

TEST_CASE_FIXTURE(fixture, "the door and the messages share one directory, in order") {
  // The client's synchronous steps through the door, seen by a message.
  door->add(15, 2, slot);
  CHECK(copies(15) == nodes{2});
  // A message the directory has not run yet is not seen through the door.
  add(15, 3);
  CHECK(door->copies(15) == nodes{2});
  sched.run();
  CHECK(door->copies(15) == nodes{2, 3});
  // A broadcast's readers spread: each reader named the least-named holder.
  nodes holders{1, 2, 3};
  door->balance(15, holders, 1, slot);
  CHECK(holders.front() == 1);
  holders = {1, 2, 3};
  door->balance(15, holders, 1, slot);
  CHECK(holders.front() == 2);
  CHECK(door->erase(15) == nodes{2, 3});
  CHECK(copies(15).empty());
}

TEST_CASE_FIXTURE(fixture, "spawned linked, it ends with the actor that spawned it") {
  caf::actor child;
  auto parent = sys.spawn([&](caf::event_based_actor* p) -> caf::behavior {
    child = p->spawn<caf::linked>(object_directory_behavior, door);
    return {[](int) {}};
  });
  sched.run();
  REQUIRE(child);
  self->monitor(child);
  caf::anon_send_exit(parent, caf::exit_reason::user_shutdown);
  sched.run();
  bool down = false;
  self->receive([&](const caf::down_msg& m) { down = m.source == child.address(); },
                caf::after(std::chrono::seconds(0)) >> [] {});
  CHECK(down);
}
