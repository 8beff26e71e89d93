// Deterministic simulation (docs/simulation.md), in this process: the
// engine's order and streams, tasks and actors on virtual nodes that die,
// virtual time, faults, the schedule file. sim_replay_test.cpp runs whole
// programs as child processes.

#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
#include <manta/manta.hpp>

#include "sim_guard.hpp"
#include "slow_square.hpp"

#include "manta/sim/sim_engine.hpp"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <ctime>
#include <string>
#include <unistd.h>
#include <vector>

using namespace std::chrono_literals;
namespace sim_detail = manta::detail::sim;

using manta_test::exact_latency;
using manta_test::kill_at;
using manta_test::sim_guard;

namespace {

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

/// Spins until this thread has used `ms` milliseconds of CPU time.
long spin_cpu(long ms) {
  auto cpu = [] {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return std::chrono::seconds{ts.tv_sec} + std::chrono::nanoseconds{ts.tv_nsec};
  };
  auto until = cpu() + std::chrono::milliseconds{ms};
  while (cpu() < until) {
  }
  return ms;
}
MANTA_REMOTE(spin_cpu);

/// A cost function of a task's argument (sim::set_cost).
std::chrono::nanoseconds twice_ms(long x) {
  return x * 2ms;
}

std::vector<char> blob(long bytes) {
  return std::vector<char>(static_cast<size_t>(bytes), 'x');
}
MANTA_REMOTE(blob);

long blob_size(const std::vector<char>& b) {
  return static_cast<long>(b.size());
}
MANTA_REMOTE(blob_size);

int node_where_arg(const std::vector<char>&) {
  return static_cast<int>(manta::sim::current_node());
}
MANTA_REMOTE(node_where_arg);

class timed {
public:
  int echo(int x) { return x; }
  long spin(long ms) { return spin_cpu(ms); }
};
MANTA_ACTOR(timed, &timed::echo, &timed::spin);


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
  sim_guard g{exact_latency(4, 0ns, 4)};
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

TEST_CASE("tasks go where the cluster's own placement rule (node_choice.hpp) puts them") {
  // The driver's rule, not one of the simulator's: this node first, then
  // the least-loaded node with room (the lowest index on a tie); SPREAD
  // round robin after the last node it used; the node holding the
  // arguments' bytes before the least loaded. A random placement, or any
  // other rule, gives other nodes.
  auto s = exact_latency(4, 1ms, 2);
  s.task_duration = 10ms;
  sim_guard g{s};
  auto nodes_of = [](std::vector<manta::object_ref<int>> refs) {
    std::vector<int> out;
    for (auto& r : refs)
      out.push_back(manta::get(r));
    return out;
  };
  std::vector<manta::object_ref<int>> plain, spread;
  for (int i = 0; i < 8; ++i)
    plain.push_back(manta::task(node_here).remote());
  CHECK(nodes_of(plain) == std::vector<int>{0, 0, 1, 2, 3, 1, 2, 3});
  for (int i = 0; i < 6; ++i)
    spread.push_back(manta::task(node_here).spread().remote());
  CHECK(nodes_of(spread) == std::vector<int>{1, 2, 3, 0, 1, 2});
  // Locality: node 0 busy, the argument made on node 3: there, though
  // node 1 is as idle and comes first.
  std::vector<manta::object_ref<long>> busy{manta::task(slow_square).node_affinity(0).remote(1L),
                                            manta::task(slow_square).node_affinity(0).remote(2L)};
  auto arg = manta::task(blob).node_affinity(3).remote(100L);
  auto where = manta::task(node_where_arg).remote(arg); // placed once `arg` exists
  CHECK(manta::get(where) == 3);
  for (auto& b : busy)
    manta::get(b);
}

TEST_CASE("tasks on a killed node are retried elsewhere; one pinned there fails as on a cluster") {
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
  CHECK_THROWS_AS(manta::get(lost), manta::infeasible_task_error); // the driver's error
  CHECK(manta::sim::summary().tasks_lost
        == 2); // `lost` waited for a CPU of node 1 and was never placed
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

TEST_CASE(
  "partitions keep tasks on the driver's side until healed; slow nodes and lost messages cost time") {
  manta::simulation_options s;
  s.nodes = 3;
  s.cpus_per_node = 8;
  s.task_duration = 1ms;
  manta::sim_fault slow;
  slow.what = manta::sim_fault::kind::slow;
  slow.node = 2;
  slow.factor = 4;
  s.faults = {manta_test::partition_at(0ns, {1, 2}), manta_test::heal_at(100ms), slow};
  sim_guard g{s};
  manta::sleep(1ms); // the faults at time 0 apply
  // Twice node 0's CPUs at once: the driver's node first, then (the
  // cluster's rule) the other nodes, which are cut off: all wait for node 0.
  std::vector<manta::object_ref<int>> cut_off;
  for (int i = 0; i < 16; ++i)
    cut_off.push_back(manta::task(node_here).remote());
  for (auto& r : cut_off)
    CHECK(manta::get(r) == 0);
  manta::sleep(200ms);
  // Healed: the 8 that node 0 has no room for go to nodes 1 and 2.
  std::vector<manta::object_ref<int>> healed;
  for (int i = 0; i < 16; ++i)
    healed.push_back(manta::task(node_here).remote());
  int elsewhere = 0;
  for (auto& r : healed)
    elsewhere += manta::get(r) != 0;
  CHECK(elsewhere == 8);
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
    CHECK_THROWS_AS(manta::get(lost), manta::infeasible_task_error);
    CHECK(manta::sim::summary().nodes == 2);
  }
  {
    std::ofstream f{path};
    f << R"({"nodes": 2, "faults": [{"at": "5ms", "explode": 1}]})";
  }
  CHECK_MESSAGE(manta_test::schedule_refused(path).find("faults[0].explode") != std::string::npos,
                "a fault with an unknown key was accepted, or refused for another reason");
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

TEST_CASE("cost models: zero, declared, a function of the arguments, measured CPU time") {
  manta::simulation_options s;
  s.nodes = 1; // no network: the virtual times are the costs alone
  s.cpus_per_node = 1;
  s.task_duration = 50ms;
  s.cost = manta::sim_cost::zero;
  s.cpu_quantum = 10ms;
  sim_guard g{s};
  auto took = [](auto&& ref) {
    auto start = manta::now();
    manta::get(ref);
    return manta::now() - start;
  };
  // The default model (zero) ignores task_duration.
  CHECK(took(manta::task(square).remote(3)) == 0ns);
  // Declared per function (set_duration), under another name too.
  manta::sim::set_duration("sq30", 30ms);
  CHECK(took(manta::task(square).name("sq30").remote(3)) == 30ms);
  manta::sim::set_cost("sq_declared", manta::sim_cost::declared); // task_duration
  CHECK(took(manta::task(square).name("sq_declared").remote(3)) == 50ms);
  // A function of the arguments, given by value or as an object.
  manta::sim::set_cost("square", [](long x) { return x * 1ms; });
  CHECK(took(manta::task(square).remote(7)) == 7ms);
  CHECK(took(manta::task(square).remote(manta::put(12L))) == 12ms);
  manta::sim::set_cost("sq_fn", &twice_ms);  // a function, not a lambda
  CHECK(took(manta::task(square).name("sq_fn").remote(4)) == 8ms);
  manta::sim::set_cost("blob_size", [](const std::vector<char>& b) {
    return std::chrono::microseconds{static_cast<long>(b.size())};
  });
  CHECK(took(manta::task(blob_size).remote(manta::task(blob).remote(2500L))) == 2500us);
  // A cost function whose parameters are not the task's is refused by name.
  manta::sim::set_cost("sq_bad", [](long, long) { return 1ms; });
  CHECK_THROWS_WITH_AS(manta::get(manta::task(square).name("sq_bad").remote(1)),
                       doctest::Contains("takes 2 argument(s) but the task has 1"),
                       manta::invalid_argument_error);
  // Measured: the CPU time the code took, to the nearest 10 ms quantum.
  manta::sim::set_cost("spin_cpu", manta::sim_cost::measured);
  CHECK(manta::sim::summary().measured_runs == 0);
  CHECK(took(manta::task(spin_cpu).remote(30L)) == 30ms);
  CHECK(took(manta::task(spin_cpu).remote(50L)) == 50ms);
  CHECK(manta::sim::summary().measured_runs == 2);
  CHECK(manta::sim::to_string(manta::sim::summary()).find(" measured=2") != std::string::npos);
}

TEST_CASE("actor calls take their declared or measured virtual time") {
  manta::simulation_options s;
  s.nodes = 1;
  s.call_duration = 2ms;
  s.cpu_quantum = 10ms;
  sim_guard g{s};
  auto t = manta::actor<timed>().remote();
  manta::get(t.call(&timed::echo).remote(0)); // constructed
  auto start = manta::now();
  CHECK(manta::get(t.call(&timed::echo).remote(1)) == 1);
  CHECK(manta::now() - start == 2ms); // call_duration
  manta::sim::set_duration("timed.echo", 5ms);
  start = manta::now();
  std::vector<manta::object_ref<int>> calls;
  for (int i = 0; i < 4; ++i)
    calls.push_back(t.call(&timed::echo).remote(i));
  for (auto& c : calls)
    manta::get(c);
  CHECK(manta::now() - start == 20ms); // one after the other on a sync actor
  manta::sim::set_cost("timed.spin", manta::sim_cost::measured);
  start = manta::now();
  CHECK(manta::get(t.call(&timed::spin).remote(20L)) == 20);
  CHECK(manta::now() - start == 20ms);
  CHECK(manta::sim::summary().measured_runs == 1);
}

TEST_CASE("results and object arguments cross nodes in latency + size / bandwidth") {
  auto s = exact_latency(2, 1ms);
  s.bandwidth = 1e6; // bytes per second: 1 us a byte
  s.call_duration = 5ms;
  sim_guard g{s};
  // 10,000 bytes made on node 1 (value_size: the buffer and the vector):
  // the spec travels 1 ms, the result 1 ms + 10,024 us.
  auto start = manta::now();
  auto far = manta::task(blob).node_affinity(1).remote(10'000L);
  CHECK(manta::get(far).size() == 10'000);
  CHECK(manta::now() - start == 2ms + 10'024us);
  // Read again on node 0: it is here now.
  start = manta::now();
  manta::get(far);
  CHECK(manta::now() - start == 0ns);
  // Made on the reader's node: no crossing.
  start = manta::now();
  manta::get(manta::task(blob).node_affinity(0).remote(10'000L));
  CHECK(manta::now() - start == 0ns);
  // An object argument made on node 0 is fetched by node 1 before the run:
  // spec 1 ms, fetch 1 ms + 10,024 us, the 8-byte result 1 ms + 8 us.
  auto here = manta::put(std::vector<char>(10'000, 'y'));
  start = manta::now();
  CHECK(manta::get(manta::task(blob_size).node_affinity(1).remote(here)) == 10'000);
  CHECK(manta::now() - start == 3ms + 10'024us + 8us);
  // An actor call on node 1: the job 1 ms, the call 5 ms, its 4-byte
  // result 1 ms + 4 us.
  auto t = manta::actor<timed>().node_affinity(1).remote();
  manta::get(t.call(&timed::echo).remote(0));
  start = manta::now();
  CHECK(manta::get(t.call(&timed::echo).remote(7)) == 7);
  CHECK(manta::now() - start == 7ms + 4us);
}

TEST_CASE("crossings share a node's links; an object crosses to a node once") {
  auto s = exact_latency(3, 1ms);
  s.bandwidth = 1e6; // 1 us a byte: 10,024 us for a 10,000-byte vector
  sim_guard g{s};
  // Two results made at once on nodes 1 and 2 come into node 0 one after
  // the other: its incoming link carries one at a time.
  auto start = manta::now();
  auto a = manta::task(blob).node_affinity(1).remote(10'000L);
  auto b = manta::task(blob).node_affinity(2).remote(10'000L);
  CHECK(manta::get(a).size() + manta::get(b).size() == 20'000);
  CHECK(manta::now() - start == 1ms + 2 * 10'024us + 1ms);
  // One object read at once on nodes 1 and 2: node 0's outgoing link
  // sends one copy, then the other (each 8-byte result then waits its
  // turn on node 0's incoming link).
  auto here = manta::put(std::vector<char>(10'000, 'y'));
  start = manta::now();
  auto r1 = manta::task(blob_size).node_affinity(1).remote(here);
  auto r2 = manta::task(blob_size).node_affinity(2).remote(here);
  CHECK(manta::get(r1) + manta::get(r2) == 20'000);
  CHECK(manta::now() - start == 1ms + 2 * 10'024us + 1ms + 1ms + 8us);
  // Node 1 has its copy now: another task there reads it at once.
  start = manta::now();
  CHECK(manta::get(manta::task(blob_size).node_affinity(1).remote(here)) == 10'000);
  CHECK(manta::now() - start == 2ms + 8us);
}

TEST_CASE("a result's crossing takes jitter and may be lost and sent again") {
  // Ten tasks one after the other on node 1; the trace gives when each
  // one's code ran (its "finish" event), the driver's clock when its
  // result arrived. Latency 1 ms, jitter of mean 1 ms, half the messages lost.
  auto path = "/tmp/manta_sim_crossing_" + std::to_string(::getpid()) + ".trace";
  std::vector<std::chrono::nanoseconds> arrived;
  {
    manta::simulation_options s;
    s.nodes = 2;
    s.seed = 11;
    s.latency = 1ms;
    s.jitter = 1ms;
    s.loss = 0.5;
    s.resend_after = 50ms;
    s.trace_file = path;
    sim_guard g{s};
    for (long i = 0; i < 10; ++i) {
      CHECK(manta::get(manta::task(square).node_affinity(1).remote(i)) == i * i);
      arrived.push_back(manta::now().time_since_epoch());
    }
  }
  std::vector<std::chrono::nanoseconds> ran;
  std::ifstream in{path};
  long long ns = 0;
  std::string kind;
  unsigned node = 0;
  std::string id;
  while (in >> ns >> kind >> node >> id)
    if (kind == "finish" && node == 1)
      ran.emplace_back(ns);
  std::remove(path.c_str());
  REQUIRE(ran.size() == 10);
  int resent = 0;
  for (size_t i = 0; i < 10; ++i) {
    auto crossing = arrived[i] - ran[i];
    CHECK(crossing > 1ms); // the latency and some jitter
    if (crossing >= 51ms)
      ++resent;
  }
  CHECK(resent > 0); // about half: the same ones for this seed every run
  CHECK(resent < 10);
}

TEST_CASE("an actor call across a partition waits for the heal; a get times out meanwhile") {
  sim_guard g{exact_latency(2, 1ms)};
  auto t = manta::actor<timed>().node_affinity(1).remote();
  manta::get(t.call(&timed::echo).remote(0));
  manta::sim::schedule(manta_test::partition_at(manta::now().time_since_epoch(), {1}));
  auto heal = manta_test::heal_at(manta::now().time_since_epoch() + 200ms);
  manta::sim::schedule(heal);
  manta::sleep(1ms); // the partition applies
  auto call = t.call(&timed::echo).remote(5);
  CHECK_THROWS_AS(manta::get(call, 100ms), manta::get_timeout_error);
  CHECK(manta::get(call) == 5);
  CHECK(manta::now().time_since_epoch() >= heal.at);
}

TEST_CASE("an object argument held across a partition is fetched after the heal") {
  auto s = exact_latency(3, 1ms);
  s.resend_after = 10ms;
  s.faults = {manta_test::partition_at(20ms, {1}), manta_test::heal_at(100ms)};
  sim_guard g{s};
  auto start = manta::now(); // virtual time 0
  auto arg = manta::task(blob).node_affinity(1).remote(100L); // made on node 1 at once
  manta::sleep(30ms); // node 1 is cut off now, holding it
  // Runs on node 0 (the driver's node first), which must read it from node 1.
  auto n = manta::task(blob_size).remote(arg);
  CHECK_THROWS_AS(manta::get(n, 30ms), manta::get_timeout_error);
  CHECK(manta::get(n) == 100);
  // Asked every 10 ms: the first ask after the heal (100 ms), + 1 ms of
  // latency + 100 bytes at no bandwidth limit, + the result's 0 (same node).
  auto done = manta::now() - start;
  CHECK(done >= 100ms);
  CHECK(done <= 113ms);
}

TEST_CASE("random partitions and slow spells are drawn from the seed") {
  auto path = "/tmp/manta_sim_faults_" + std::to_string(::getpid());
  auto run = [&](uint64_t seed) {
    manta::simulation_options s;
    s.nodes = 6;
    s.seed = seed;
    s.task_duration = 1ms;
    s.random_partitions = 3;
    s.random_slowdowns = 2;
    s.fault_window = 100ms;
    s.partition_length = 20ms;
    s.slow_length = 30ms;
    s.trace_file = path;
    std::vector<int> nodes;
    uint64_t hash = 0;
    {
      sim_guard g{s};
      for (int i = 0; i < 40; ++i) {
        nodes.push_back(manta::get(manta::task(node_here).remote()));
        manta::sleep(3ms);
      }
      hash = manta::sim::summary().trace_hash;
    }
    std::ifstream in{path};
    std::vector<std::string> faults;
    for (std::string line; std::getline(in, line);)
      if (line.find(" fault ") != std::string::npos)
        faults.push_back(line);
    return std::tuple{nodes, hash, faults};
  };
  auto [nodes1, hash1, faults1] = run(8);
  auto [nodes2, hash2, faults2] = run(8);
  auto [nodes3, hash3, faults3] = run(9);
  CHECK(faults1.size() == 10); // 3 partitions and their heals, 2 slow spells and their ends
  CHECK(faults1 == faults2);
  CHECK(nodes1 == nodes2);
  CHECK(hash1 == hash2);
  CHECK(faults1 != faults3);
  CHECK(hash1 != hash3);
  std::remove(path.c_str());
}
