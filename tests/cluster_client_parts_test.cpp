// The components of the driver's cluster client (actors/cluster_client.hpp),
// alone, without a cluster: the fetch table, the records that rebuild
// generator items, the remote actors' book, the placed tasks, the head link
// and the links to the workers each keep their own state, and these are the
// rules the client's files rely on. Only the links need actors (stand-ins
// for the workers' node managers, found by their address).

#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include "actors/fetch_table.hpp"
#include "actors/head_link.hpp"
#include "actors/node_links.hpp"
#include "actors/placed_tasks.hpp"
#include "actors/rebuild_records.hpp"
#include "actors/remote_actors.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>

#include <algorithm>
#include <memory>
#include <string>

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

detail::wire::node_record worker(uint16_t index, double cpus = 2) {
  detail::wire::node_record rec;
  rec.index = index;
  rec.host = "10.0.0." + std::to_string(index);
  rec.port = static_cast<uint16_t>(7000 + index);
  rec.cpus = cpus;
  return rec;
}

detail::resource_demand cpus(double n) {
  detail::resource_demand d;
  d.cpus = n;
  return d;
}

/// An actor standing in for a worker's node manager: only its address
/// matters here.
caf::actor manager(caf::actor_system& sys) {
  return sys.spawn([] { return caf::behavior{[](int) {}}; });
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

TEST_CASE("node_links: the joins waiting are handed back when the last connection ends") {
  auto list = std::make_shared<detail::worker_list>();
  node_links l;
  l.use(list);
  CHECK(l.all_connected()); // no worker yet: a join is answered at once
  l.start_connecting(worker(1));
  l.start_connecting(worker(2));
  CHECK_FALSE(l.all_connected());
  l.wait_ready(caf::response_promise{});
  l.wait_ready(caf::response_promise{});
  CHECK_FALSE(l.connect_finished()); // node 2 is still being connected
  CHECK(l.connect_finished());
  CHECK(l.all_connected());
  CHECK(l.take_ready().size() == 2);
  CHECK(l.take_ready().empty()); // answered once
}

TEST_CASE("node_links: a worker back after a lost connection was cut off, not dead") {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  auto first = manager(sys);
  auto second = manager(sys);
  {
    auto list = std::make_shared<detail::worker_list>();
    node_links l;
    l.use(list);
    auto now = node_links::clock::now();
    l.start_connecting(worker(1));
    REQUIRE(l.find(1) != nullptr);
    CHECK(l.connected(1) == nullptr); // no manager yet: nothing is sent there
    l.attached(1, first, now);
    CHECK(l.connected(1) != nullptr);
    CHECK(l.by_address(first.address()) == uint16_t{1});
    CHECK(list->num_connected() == 1);

    // Its connection closed: known as reconnecting, its work goes elsewhere.
    auto info = l.find(1)->info;
    l.start_reconnecting(info, now);
    auto loss = l.lose(1);
    CHECK(loss != 0);
    CHECK_FALSE(l.was_cut(loss)); // a death, as far as anyone knows yet
    CHECK(l.undecided(1, loss));   // but the driver still reconnects to it
    CHECK_FALSE(l.undecided(2, loss));
    CHECK(l.find(1) == nullptr);
    CHECK_FALSE(l.by_address(first.address())); // what it sends now does not count
    REQUIRE(l.reconnecting(1) != nullptr);
    CHECK(l.reconnecting(1)->attempts == 0);
    CHECK(l.reconnecting_fits(cpus(2)));
    CHECK_FALSE(l.reconnecting_fits(cpus(2), 2));
    CHECK(list->num_connected() == 0);
    CHECK(list->feasible(cpus(2))); // still listed: tasks it fits wait for it

    // It answers again, through a new node manager.
    l.reconnected(1);
    CHECK(l.reconnecting(1) == nullptr);
    l.attached(1, second, now);
    CHECK(l.was_cut(loss)); // counts against no task's max_node_failures
    CHECK_FALSE(l.undecided(1, loss));
    CHECK(l.by_address(second.address()) == uint16_t{1});
    CHECK_FALSE(l.by_address(first.address()));
    CHECK(list->num_connected() == 1);

    // Then it dies for good: a new loss, not a cut, and it leaves the list.
    auto death = l.lose(1);
    CHECK(death > loss);
    CHECK_FALSE(l.was_cut(death));
    CHECK_FALSE(l.undecided(1, death)); // not reconnected: a death
    CHECK(l.was_cut(loss));
    CHECK_FALSE(list->feasible(cpus(1)));
    CHECK(l.lose(1) == 0); // lost once
  }
  caf::anon_send_exit(first, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(second, caf::exit_reason::user_shutdown);
}

TEST_CASE("node_links: a worker being cut off is connected again only after its old link") {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  auto old_manager = manager(sys);
  {
    auto list = std::make_shared<detail::worker_list>();
    node_links l;
    l.use(list);
    l.start_connecting(worker(1));
    l.attached(1, old_manager, node_links::clock::now());
    l.start_cut(1);
    CHECK(l.cutting(1));
    auto again = worker(1);
    again.port = 9001; // the head announced it again meanwhile
    CHECK(l.defer_while_cut(again));
    CHECK_FALSE(l.defer_while_cut(worker(2))); // not being cut: connected now
    CHECK(l.cut_by(old_manager.address()) == uint16_t{1});
    CHECK_FALSE(l.cut_by(caf::actor_addr{}));
    l.lose(1);
    auto rec = l.end_cut(1); // its down message came
    REQUIRE(rec);
    CHECK(rec->port == 9001);
    CHECK_FALSE(l.cutting(1));
    CHECK_FALSE(l.end_cut(1));
    CHECK_FALSE(l.cut_by(old_manager.address()));
  }
  caf::anon_send_exit(old_manager, caf::exit_reason::user_shutdown);
}

TEST_CASE("node_links: a failed first connection is retried; the worker list follows") {
  auto list = std::make_shared<detail::worker_list>();
  node_links l;
  l.use(list);
  auto now = node_links::clock::now();
  l.start_connecting(worker(3));
  CHECK_FALSE(list->feasible(cpus(2))); // being connected: not counted yet
  l.connect_failed(worker(3), now);
  CHECK(l.find(3) == nullptr);
  REQUIRE(l.reconnecting(3) != nullptr);
  CHECK(list->feasible(cpus(2)));
  CHECK(l.reconnecting_fits(cpus(2), 3));
  CHECK(l.update_reconnecting(worker(3, 4))); // its record, updated in place
  CHECK(l.reconnecting(3)->info.cpus == 4);
  CHECK(list->feasible(cpus(4)));
  CHECK_FALSE(l.update_reconnecting(worker(4)));
  CHECK(l.stop_reconnecting(3)); // the head said it left
  CHECK_FALSE(l.stop_reconnecting(3));
  CHECK_FALSE(l.reconnecting_fits(cpus(1)));
  CHECK_FALSE(list->feasible(cpus(1)));

  l.start_connecting(worker(5));
  l.not_connected(5); // opened without a node manager
  CHECK(l.find(5) == nullptr);
  CHECK(l.reconnecting(5) == nullptr);
}
