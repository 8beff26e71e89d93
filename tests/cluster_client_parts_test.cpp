// The components of the driver's cluster client (actors/cluster_client.hpp),
// alone, without an actor or a cluster: the fetch table, the records that
// rebuild generator items, the remote actors' book, the placed tasks and the
// head link each
// keep their own state, and these are the rules the client's files rely on.

#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include "actors/fetch_table.hpp"
#include "actors/head_link.hpp"
#include "actors/placed_tasks.hpp"
#include "actors/rebuild_records.hpp"
#include "actors/remote_actors.hpp"

#include <algorithm>
#include <memory>

namespace {

using namespace manta;
using namespace manta::actors;

detail::remote_ptr object(uint64_t id, uint16_t node = 1) {
  return std::make_shared<detail::remote_object>(object_id{id}, node, 10, detail::wire::bytes{},
                                                 detail::resource_demand{}, 0);
}

detail::call_request_ptr call_on(uint16_t node) {
  auto req = std::make_shared<detail::remote_call_request>();
  req->node = node;
  return req;
}

} // namespace

TEST_CASE("fetch_table: one fetch per object, ids from 1, taking one ends it") {
  fetch_table t;
  auto a = object(100);
  auto [first, fresh] = t.open(a);
  CHECK(first == 1);
  CHECK(fresh);
  auto [again, fresh_again] = t.open(a);
  CHECK(again == first); // a second reader waits on the same fetch
  CHECK_FALSE(fresh_again);
  CHECK(t.of(100) == first);
  CHECK(t.of(200) == 0);
  t.at(first).node = 3;
  auto [second, fresh2] = t.open(object(200));
  CHECK(fresh2);
  CHECK(second == 2);
  CHECK(t.reading_from(3) == std::vector<uint64_t>{first});
  auto op = t.take(first);
  CHECK(op.obj == a);
  CHECK(t.find(first) == nullptr); // a late answer finds nothing
  CHECK(t.of(100) == 0);
  CHECK(t.find(second) != nullptr);
  CHECK(t.open(a).first == 3); // read again: a new fetch, never an old id
}

TEST_CASE("rebuild_records: items keep their lineage alive, the last one forgotten drops it") {
  rebuild_records r;
  CHECK_FALSE(r.any_lineage());
  auto l = std::make_shared<generator_lineage>();
  l->task = 7;
  r.keep_lineage(l);
  auto rec0 = object(70);
  auto rec1 = object(71);
  r.add_item(70, l, 0, rec0);
  r.add_item(71, l, 1, rec1);
  l.reset(); // only the items hold it now
  REQUIRE(r.lineage(7) != nullptr);
  CHECK(r.any_lineage());
  auto [live, record] = r.live_item(*r.lineage(7), 1);
  REQUIRE(live != nullptr);
  CHECK(record == rec1);
  live->held_as = 99; // a re-run rebuilt it under its own id
  CHECK(r.held_id(71) == 99);
  CHECK(r.held_id(12345) == 12345); // not an item: its own id
  CHECK(r.forget(71) == 99);
  CHECK(r.item(71) == nullptr);
  CHECK(r.lineage(7) != nullptr); // item 0 still lives
  CHECK(r.forget(70) == 70);
  CHECK(r.lineage(7) == nullptr);
  CHECK_FALSE(r.any_lineage());
}

TEST_CASE("rebuild_records: re-runs and the nodes that rebuilt an object inline") {
  rebuild_records r;
  CHECK_FALSE(r.rerunning(5));
  r.start_rerun(5);
  CHECK(r.rerunning(5));
  r.end_rerun(5);
  CHECK_FALSE(r.rerunning(5));
  r.rebuilt_inline(40, 2, 40);
  r.rebuilt_inline(40, 3, 41);
  auto nodes = r.take_rebuilt_inline(40);
  CHECK(nodes.size() == 2);
  CHECK(nodes[1] == std::pair<uint16_t, uint64_t>{3, 41});
  CHECK(r.take_rebuilt_inline(40).empty()); // told once
}

TEST_CASE("remote_actors: calls by result id, the ones of a lost node dropped") {
  remote_actors a;
  a.add_call(1, call_on(2));
  a.add_call(2, call_on(3));
  CHECK(a.call_node(1) == 2);
  CHECK(a.call_node(9) == 0);
  a.drop_calls_on(2);
  CHECK(a.take_call(1) == nullptr);
  auto req = a.take_call(2);
  REQUIRE(req != nullptr);
  CHECK(req->node == 3);
  CHECK(a.take_call(2) == nullptr); // answered once
}

TEST_CASE("remote_actors: a lost node's actors are taken out, creations bounded in time") {
  remote_actors a;
  auto now = remote_actors::clock::now();
  auto& on2 = a.record(10);
  on2.node = 2;
  on2.creating = std::make_shared<detail::actor_create_request>();
  on2.asked = now - std::chrono::seconds(10);
  a.record(11).node = 3;
  auto late = a.unanswered(now, std::chrono::seconds(5));
  CHECK(late == std::vector<std::pair<uint64_t, uint16_t>>{{10, 2}});
  int created = 0;
  a.for_each_created([&](uint64_t id, const placed_actor&) { created += id == 11; });
  CHECK(created == 1);
  auto gone = a.take_on(2);
  REQUIRE(gone.size() == 1);
  CHECK(gone[0].creating != nullptr);
  CHECK(a.find(10) == nullptr);
  CHECK(a.find(11) != nullptr);

  auto old = std::make_shared<detail::actor_create_request>();
  old->since = now - std::chrono::seconds(100);
  auto young = std::make_shared<detail::actor_create_request>();
  young->since = now;
  a.defer(old);
  a.defer(young);
  auto expired = a.take_expired(now, std::chrono::seconds(30));
  CHECK(expired == std::vector<detail::create_request_ptr>{old});
  CHECK(a.take_deferred() == std::vector<detail::create_request_ptr>{young});
  CHECK(a.take_deferred().empty());
}

TEST_CASE("placed_tasks: placements by id, the ones on a node, waiting groups in order") {
  placed_tasks t;
  t.record(1).node = 2;
  t.record(2).node = 3;
  CHECK(t.on(1, 2) != nullptr);
  CHECK(t.on(1, 3) == nullptr); // what node 3 says of task 1 does not count
  CHECK(t.placed_on(3) == std::vector<uint64_t>{2});
  CHECK(t.under_way(1));
  auto taken = t.take(1);
  REQUIRE(taken);
  CHECK(taken->node == 2);
  CHECK_FALSE(t.take(1)); // its result counts once
  CHECK_FALSE(t.under_way(1));

  detail::resource_demand one;
  one.cpus = 1;
  detail::resource_demand two;
  two.cpus = 2;
  t.wait(10, one, {});
  t.wait(11, two, {});
  t.wait(12, one, {});
  std::vector<uint64_t> offered;
  t.place_waiting([&](uint64_t id) {
    offered.push_back(id);
    return id != 10; // 10 finds no room: 12, behind it in its group, is not offered
  });
  CHECK(offered == std::vector<uint64_t>{10, 11});
  offered.clear();
  t.place_waiting([&](uint64_t id) {
    offered.push_back(id);
    return true;
  });
  CHECK(offered == std::vector<uint64_t>{10, 12}); // 11 left its group
}

TEST_CASE("placed_tasks: a preparation is taken once") {
  placed_tasks t;
  CHECK(t.preparing(5) == nullptr);
  t.prepare(5).missing = 2;
  CHECK(t.under_way(5));
  REQUIRE(t.preparing(5) != nullptr);
  CHECK(--t.preparing(5)->missing == 1);
  auto ready = t.take_prepared(5);
  REQUIRE(ready);
  CHECK(ready->missing == 1);
  CHECK_FALSE(t.take_prepared(5));
  CHECK_FALSE(t.under_way(5));
}

TEST_CASE("head_link: a loss starts one rejoin, joining again forgets it") {
  head_link h;
  auto t0 = head_link::clock::now();
  CHECK_FALSE(h.away());
  CHECK(h.lost(t0));
  CHECK_FALSE(h.lost(t0 + std::chrono::seconds(1))); // a rejoin is under way
  CHECK(h.away());
  h.count_try();
  h.count_try();
  CHECK(h.attempts() == 2);
  CHECK_FALSE(h.away_longer(t0 + std::chrono::seconds(5), std::chrono::seconds(10)));
  CHECK(h.away_longer(t0 + std::chrono::seconds(11), std::chrono::seconds(10)));
  h.joined(caf::actor{});
  CHECK_FALSE(h.away());
  CHECK(h.attempts() == 0);
}
