// The driver's one list of workers (manta/cluster/worker_list.hpp), alone:
// what the cluster link reports for each connection state, records kept at
// one address while the client refers to them, and readers on other
// threads while the client writes.

#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
#include <manta/cluster/worker_list.hpp>

#include <atomic>
#include <thread>

namespace {

using manta::detail::resource_demand;
using manta::detail::worker_list;
using manta::detail::wire::node_record;
using state = worker_list::link_state;

node_record worker(uint16_t index, double cpus, manta::resource_map custom = {}) {
  node_record rec;
  rec.index = index;
  rec.host = "10.0.0." + std::to_string(index);
  rec.port = 7000;
  rec.cpus = cpus;
  rec.custom = std::move(custom);
  return rec;
}

resource_demand cpus(double n) {
  resource_demand d;
  d.cpus = n;
  return d;
}

} // namespace

TEST_CASE("only connected workers are listed and counted; reconnecting ones stay feasible") {
  worker_list list;
  list.put(worker(1, 2), state::connecting);
  list.put(worker(2, 4, {{"GPU", 1}}), state::connected);
  list.put(worker(3, 8), state::reconnecting);
  CHECK(list.num_connected() == 1);
  auto listed = list.connected();
  REQUIRE(listed.size() == 1);
  CHECK(listed[0].index == 2);
  auto totals = list.connected_totals();
  CHECK(totals.at(manta::cpu_resource) == doctest::Approx(4));
  CHECK(totals.at("GPU") == doctest::Approx(1));
  // Eight CPUs: only the worker being reconnected has them; one still
  // connecting counts for nothing yet.
  CHECK(list.feasible(cpus(8)));
  CHECK_FALSE(list.feasible(cpus(9)));
  list.set_state(1, state::connected);
  CHECK(list.num_connected() == 2);
  CHECK(list.connected_totals().at(manta::cpu_resource) == doctest::Approx(6));
  list.drop(3);
  CHECK_FALSE(list.feasible(cpus(8)));
  CHECK(list.feasible(cpus(4)));
}

TEST_CASE("a record keeps its address while its worker is listed, and put updates it in place") {
  worker_list list;
  const auto& rec = list.put(worker(5, 1), state::connecting);
  for (uint16_t i = 6; i < 40; ++i) // other workers come and go around it
    list.put(worker(i, 1), state::connected);
  for (uint16_t i = 6; i < 40; i += 2)
    list.drop(i);
  CHECK(rec.host == "10.0.0.5");
  auto moved = worker(5, 3);
  moved.host = "10.0.1.5"; // announced again at another address
  const auto& again = list.put(moved, state::reconnecting);
  CHECK(&again == &rec);
  CHECK(rec.host == "10.0.1.5");
  CHECK(rec.cpus == doctest::Approx(3));
  CHECK(list.feasible(cpus(3)));
  CHECK(list.num_connected() == 17);
}

TEST_CASE("readers on other threads see whole records while the writer changes the list") {
  worker_list list;
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0};
  std::thread reader{[&] {
    while (!stop.load()) {
      for (auto& rec : list.connected())
        if (rec.cpus != rec.index || rec.host != "10.0.0." + std::to_string(rec.index))
          bad.fetch_add(1);
      auto n = list.num_connected();
      if (n > 64)
        bad.fetch_add(1);
      (void)list.feasible(cpus(1));
    }
  }};
  for (int round = 0; round < 200; ++round)
    for (uint16_t i = 1; i <= 64; ++i) {
      list.put(worker(i, i), state::connecting);
      list.set_state(i, state::connected);
      if ((i + round) % 3 == 0)
        list.drop(i);
    }
  stop = true;
  reader.join();
  CHECK(bad.load() == 0);
}
