// Deterministic simulation (docs/simulation.md), in this process: the
// engine's order and streams, tasks and actors on virtual nodes that die,
// virtual time, faults, the schedule file. sim_replay_test.cpp runs whole
// programs as child processes.

#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
#include <manta/manta.hpp>

#include "manta/detail/sim_engine.hpp"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <unistd.h>
#include <vector>

using namespace std::chrono_literals;
namespace sim_detail = manta::detail::sim;

namespace {

long slow_square(long x) {
  manta::sleep(10ms);
  return x * x;
}
MANTA_REMOTE(slow_square);

int node_here() {
  return static_cast<int>(manta::sim::current_node());
}
MANTA_REMOTE(node_here);

long square(long x) {
  return x * x;
}
MANTA_REMOTE(square);

long outer(long x) {
  // A task blocked in get: the simulation runs the inner task meanwhile.
  return manta::get(manta::task(slow_square).remote(x)) + 1;
}
MANTA_REMOTE(outer);

class where_am_i {
public:
  std::pair<int, bool> ask() {
    return {static_cast<int>(manta::sim::current_node()), manta::was_restarted()};
  }
};
MANTA_ACTOR(where_am_i, &where_am_i::ask);

class pooled {
public:
  int work(int i) {
    manta::sleep(10ms);
    return i;
  }
};
MANTA_ACTOR(pooled, &pooled::work);

/// Starts a simulation for one test case and stops it however it ends.
struct sim_guard {
  explicit sim_guard(manta::simulation_options s) {
    s.print_summary = false;
    manta::init_options opts;
    opts.task_events = false;
    manta::init(opts, std::move(s));
  }
  ~sim_guard() { manta::shutdown(); }
};

manta::sim_fault kill_at(std::chrono::nanoseconds at, uint32_t node) {
  manta::sim_fault f;
  f.at = at;
  f.what = manta::sim_fault::kind::kill;
  f.node = node;
  return f;
}

} // namespace

TEST_CASE("events run in time order, ties in the order they were queued") {
  sim_detail::engine e{7};
  std::vector<int> order;
  e.at(sim_detail::vtime{5}, sim_detail::event_kind::wake, 0, 1, [&] { order.push_back(1); });
  e.at(sim_detail::vtime{2}, sim_detail::event_kind::wake, 0, 2, [&] { order.push_back(2); });
  e.at(sim_detail::vtime{5}, sim_detail::event_kind::wake, 0, 3, [&] { order.push_back(3); });
  e.at(sim_detail::vtime{2}, sim_detail::event_kind::wake, 0, 4, [&] {
    order.push_back(4);
    e.after(sim_detail::vtime{3}, sim_detail::event_kind::wake, 0, 5, [&] { order.push_back(5); });
  });
  while (e.step()) {
  }
  CHECK(order == std::vector<int>{2, 4, 1, 3, 5});
  CHECK(e.now() == sim_detail::vtime{5});
  CHECK(e.events() == 5);
}

TEST_CASE("a purpose's random stream does not move when another is drawn from") {
  sim_detail::engine a{42}, b{42}, c{43};
  for (int i = 0; i < 100; ++i)
    b.stream("network")();
  CHECK(a.stream("placement")() == b.stream("placement")());
  CHECK(a.stream("placement")() != c.stream("placement")());
}

TEST_CASE("the trace hash follows every event's time, kind, node and id") {
  auto run = [](uint32_t node) {
    sim_detail::engine e{1};
    e.at(sim_detail::vtime{10}, sim_detail::event_kind::arrive, node, 9, nullptr);
    e.step();
    return e.trace_hash();
  };
  CHECK(run(1) == run(1));
  CHECK(run(1) != run(2));
}

TEST_CASE("virtual time: sleep and timeouts take no real time") {
  manta::simulation_options s;
  s.nodes = 2;
  sim_guard g{s};
  auto real = std::chrono::steady_clock::now();
  auto before = manta::now();
  manta::sleep(1h);
  CHECK(manta::now() - before == 1h);
  manta::sim::set_duration("slow_square", 10s);
  auto r = manta::task(slow_square).remote(3);
  CHECK_THROWS_AS(manta::get(r, 1s), manta::get_timeout_error);
  CHECK(manta::get(r) == 9);
  CHECK(manta::get(manta::task(outer).remote(4)) == 17);
  CHECK(std::chrono::steady_clock::now() - real < 30s);
  CHECK(manta::sim::summary().virtual_time >= 1h + 10s);
}

TEST_CASE("as_completed hands results back in virtual finishing order") {
  manta::simulation_options s;
  s.nodes = 4;
  s.cpus_per_node = 4;
  s.latency = 0ns;
  s.jitter = 0ns;
  sim_guard g{s};
  std::vector<manta::object_ref<long>> refs;
  const long durations_ms[] = {40, 10, 30, 20};
  for (long i = 0; i < 4; ++i) {
    auto name = "sq" + std::to_string(i);
    manta::sim::set_duration(name, std::chrono::milliseconds{durations_ms[i]});
    refs.push_back(manta::task(square).name(name).remote(i));
  }
  std::vector<long> order;
  for (auto& r : manta::as_completed(std::move(refs)))
    order.push_back(manta::get(r));
  CHECK(order == std::vector<long>{1, 9, 4, 0}); // 10, 20, 30, 40 ms
  // Blocking inside tasks: each run sleeps on its own fiber, so a task that
  // started first and sleeps longer does not hold up those after it.
  std::vector<manta::object_ref<long>> sleepers;
  for (long i = 0; i < 4; ++i) {
    auto name = "slow" + std::to_string(i);
    manta::sim::set_duration(name, std::chrono::milliseconds{durations_ms[i]});
    sleepers.push_back(manta::task(slow_square).name(name).remote(i));
  }
  auto start = manta::now();
  std::vector<long> slept;
  std::vector<std::chrono::nanoseconds> when;
  for (auto& r : manta::as_completed(std::move(sleepers))) {
    slept.push_back(manta::get(r));
    when.push_back(manta::now() - start);
  }
  CHECK(slept == std::vector<long>{1, 9, 4, 0});
  CHECK(when.front() == 20ms); // 10 ms of run time, then its 10 ms sleep
  CHECK(when.back() == 50ms);
}

TEST_CASE("a sleeping task keeps its CPU; a task blocked in get lends it") {
  manta::simulation_options s;
  s.nodes = 1;
  s.cpus_per_node = 1;
  sim_guard g{s};
  auto start = manta::now();
  auto a = manta::task(slow_square).remote(2);
  auto b = manta::task(slow_square).remote(3);
  CHECK(manta::get(a) + manta::get(b) == 13);
  CHECK(manta::now() - start == 20ms); // one after the other on the one CPU
  // `outer` holds the only CPU while its inner task needs one: it lends it.
  CHECK(manta::get(manta::task(outer).remote(5)) == 26);
  CHECK(manta::now() - start == 30ms);
}

TEST_CASE("a threaded actor's calls that sleep overlap up to max_concurrency") {
  manta::simulation_options s;
  s.nodes = 2;
  sim_guard g{s};
  auto p = manta::actor<pooled>().max_concurrency(4).remote();
  manta::get(p.call(&pooled::work).remote(0)); // constructed and placed
  auto start = manta::now();
  std::vector<manta::object_ref<int>> calls;
  for (int i = 1; i <= 8; ++i)
    calls.push_back(p.call(&pooled::work).remote(i));
  int sum = 0;
  for (auto& c : calls)
    sum += manta::get(c);
  CHECK(sum == 36);
  auto took = manta::now() - start;
  CHECK(took >= 20ms); // two rounds of four
  CHECK(took < 30ms);
}

TEST_CASE("tasks on a killed node are retried elsewhere, or fail with node_died_error") {
  manta::simulation_options s;
  s.nodes = 3;
  s.task_duration = 20ms;
  s.faults = {kill_at(5ms, 1)};
  sim_guard g{s};
  // Soft: the retry may go to another node; hard: it has nowhere else.
  auto a = manta::task(slow_square).node_affinity(1, true).max_retries(1).remote(5);
  auto b = manta::task(slow_square).node_affinity(1, true).max_retries(1).remote(6);
  auto lost = manta::task(slow_square).node_affinity(1).max_retries(0).remote(7);
  CHECK(manta::get(a) == 25);
  CHECK(manta::get(b) == 36);
  CHECK_THROWS_AS(manta::get(lost), manta::node_died_error);
  CHECK(manta::sim::summary().tasks_lost == 2); // `lost` waited for a CPU of node 1 and was never placed
}

TEST_CASE("an actor on a killed node restarts on another one") {
  manta::simulation_options s;
  s.nodes = 3;
  s.faults = {kill_at(50ms, 2)};
  sim_guard g{s};
  auto h = manta::actor<where_am_i>().node_affinity(2, true).max_restarts(1).remote();
  auto first = manta::get(h.call(&where_am_i::ask).remote());
  CHECK(first == std::pair<int, bool>{2, false});
  manta::sleep(500ms); // past the death and its detection
  auto second = manta::get(h.call(&where_am_i::ask).remote());
  CHECK(second.first != 2);
  CHECK(second.second);
  CHECK(manta::sim::summary().actors_killed == 1);
}

TEST_CASE("partitions keep tasks on the driver's side until healed; slow nodes and lost messages cost time") {
  manta::simulation_options s;
  s.nodes = 3;
  s.cpus_per_node = 8;
  s.task_duration = 1ms;
  manta::sim_fault cut;
  cut.what = manta::sim_fault::kind::partition;
  cut.group = {1, 2};
  manta::sim_fault heal;
  heal.at = 100ms;
  heal.what = manta::sim_fault::kind::heal;
  manta::sim_fault slow;
  slow.what = manta::sim_fault::kind::slow;
  slow.node = 2;
  slow.factor = 4;
  s.faults = {cut, heal, slow};
  sim_guard g{s};
  manta::sleep(1ms); // the faults at time 0 apply
  std::vector<manta::object_ref<int>> cut_off;
  for (int i = 0; i < 8; ++i)
    cut_off.push_back(manta::task(node_here).remote());
  for (auto& r : cut_off)
    CHECK(manta::get(r) == 0);
  manta::sleep(200ms);
  int elsewhere = 0;
  for (int i = 0; i < 16; ++i)
    elsewhere += manta::get(manta::task(node_here).remote()) != 0;
  CHECK(elsewhere > 0);
  // A task pinned to the slow node takes four times its duration.
  auto before = manta::now();
  manta::get(manta::task(node_here).node_affinity(2).remote());
  auto took = manta::now() - before;
  CHECK(took >= 4ms);
  CHECK(took < 5ms);
}

TEST_CASE("lost messages are sent again: results stay right, time grows") {
  auto run = [](double loss) {
    manta::simulation_options s;
    s.nodes = 4;
    s.loss = loss;
    s.seed = 5;
    sim_guard g{s};
    long sum = 0;
    std::vector<manta::object_ref<long>> refs;
    for (long i = 0; i < 50; ++i)
      refs.push_back(manta::task(square).remote(i));
    for (auto& r : refs)
      sum += manta::get(r);
    return std::pair{sum, manta::sim::summary().virtual_time};
  };
  auto clean = run(0.0);
  auto lossy = run(0.5);
  CHECK(clean.first == lossy.first);
  CHECK(lossy.second > clean.second + 40ms); // at least one resend_after (50 ms)
}

TEST_CASE("a schedule file sets the cluster and its faults; a bad one is refused by name") {
  auto path = "/tmp/manta_sim_test_" + std::to_string(::getpid()) + ".json";
  {
    std::ofstream f{path};
    f << R"({"nodes": 2, "task_duration": "20ms", "faults": [{"at": "5ms", "kill": 1}]})";
  }
  {
    manta::simulation_options s;
    s.schedule_file = path;
    sim_guard g{s};
    auto lost = manta::task(slow_square).node_affinity(1).remote(2);
    CHECK_THROWS_AS(manta::get(lost), manta::node_died_error);
    CHECK(manta::sim::summary().nodes == 2);
  }
  {
    std::ofstream f{path};
    f << R"({"nodes": 2, "faults": [{"at": "5ms", "explode": 1}]})";
  }
  manta::simulation_options s;
  s.schedule_file = path;
  try {
    manta::init({}, s);
    manta::shutdown();
    FAIL("a fault with an unknown key was accepted");
  } catch (const manta::invalid_argument_error& e) {
    CHECK(std::string{e.what()}.find("faults[0].explode") != std::string::npos);
  }
  CHECK(!manta::is_initialized());
  std::remove(path.c_str());
}

TEST_CASE("two simulations in one process with the same seed give the same trace") {
  auto run = [] {
    manta::simulation_options s;
    s.nodes = 4;
    s.seed = 3;
    s.random_kills = 1;
    s.kill_window = 20ms;
    s.task_duration = 2ms;
    sim_guard g{s};
    std::vector<manta::object_ref<long>> refs;
    for (long i = 0; i < 30; ++i)
      refs.push_back(manta::task(outer).max_retries(2).remote(i));
    auto h = manta::actor<where_am_i>().max_restarts(1).remote();
    manta::get(h.call(&where_am_i::ask).remote());
    long sum = 0;
    for (auto& r : refs)
      sum += manta::get(r);
    return std::pair{sum, manta::sim::summary().trace_hash};
  };
  auto one = run();
  auto two = run();
  CHECK(one.first == two.first);
  CHECK(one.second == two.second);
}

TEST_CASE("a task blocked in get stops when it is cancelled") {
  manta::simulation_options s;
  s.nodes = 2;
  sim_guard g{s};
  manta::sim::set_duration("slow_square", 1h);
  auto start = manta::now();
  auto waiting = manta::task(outer).remote(2); // its inner task takes an hour
  manta::sleep(10ms);
  manta::cancel(waiting);
  CHECK_THROWS_AS(manta::get(waiting), manta::task_cancelled_error);
  CHECK(manta::now() - start < 1h);
}
