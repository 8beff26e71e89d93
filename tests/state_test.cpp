// The state API: tasks in each state with times, threads and errors,
// actor calls, the bounded history, events off, actors, nodes, objects and
// filters.

#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
#include <manta/manta.hpp>
#include "manta/observe/task_history.hpp"

#include "tests/runtime_guard.hpp"

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {

std::atomic<bool> g_open{false};

/// Runs until the test opens the gate.
int gate(int x) {
  while (!g_open.load())
    std::this_thread::sleep_for(1ms);
  return x;
}

int add(int a, int b) {
  return a + b;
}

int boom(int) {
  throw std::runtime_error("boom: deliberate failure");
}

int parent_task(int x) {
  return manta::get(manta::task(add).remote(x, 1));
}

MANTA_REMOTE(gate, add, boom, parent_task);

class counter {
public:
  explicit counter(int start) : n_(start) {}
  int incr(int by) { return n_ += by; }
  /// Submits a task from actor code.
  int incr_by_task(int by) { return n_ += manta::get(manta::task(add).remote(by, 0)); }

private:
  int n_;
};
MANTA_ACTOR(counter, &counter::incr, &counter::incr_by_task);

const manta::task_info* find(const std::vector<manta::task_info>& ts, manta::object_id id) {
  for (auto& t : ts)
    if (t.id == id)
      return &t;
  return nullptr;
}

/// Polls `list_tasks` until the task reaches `s` (states change on other
/// threads) or 10 s pass.
manta::task_info wait_for_state(manta::object_id id, manta::task_state s) {
  auto until = std::chrono::steady_clock::now() + 10s;
  for (;;) {
    auto ts = manta::list_tasks();
    auto* t = find(ts, id);
    if ((t != nullptr && t->state == s) || std::chrono::steady_clock::now() > until) {
      REQUIRE(t != nullptr);
      return *t;
    }
    std::this_thread::sleep_for(1ms);
  }
}

} // namespace

TEST_CASE("tasks show their state: pending args, waiting for resources, running, finished") {
  runtime_guard rt{1};
  g_open = false;
  auto running = manta::task(gate).remote(1);
  auto waiting = manta::task(gate).remote(2);          // the one CPU is taken
  auto pending = manta::task(add).remote(running, 10); // its argument does not exist yet
  auto r = wait_for_state(running.id(), manta::task_state::running);
  CHECK(r.name == "gate");
  CHECK(r.kind == "task");
  CHECK(r.thread.rfind("executor-", 0) == 0);
  CHECK(r.thread_id > 0);
  CHECK(r.submitted_us > 0);
  CHECK(r.started_us >= r.submitted_us);
  CHECK(r.ended_us == 0);
  CHECK(wait_for_state(waiting.id(), manta::task_state::waiting_for_resources).started_us == 0);
  CHECK(wait_for_state(pending.id(), manta::task_state::pending_args).name == "add");

  auto filtered = manta::list_tasks(manta::list_filter::parse({"state=running"}));
  REQUIRE(filtered.size() == 1);
  CHECK(filtered[0].id == running.id());

  g_open = true;
  CHECK(manta::get(pending, 10s) == 11);
  CHECK(manta::get(waiting, 10s) == 2);
  for (auto id : {running.id(), waiting.id(), pending.id()}) {
    auto t = wait_for_state(id, manta::task_state::finished);
    CHECK(t.submitted_us <= t.started_us);
    CHECK(t.started_us <= t.ended_us);
    CHECK(t.error.empty());
  }
  // A run's record is pushed just after its result is sealed (which is what
  // the state above reads): the totals may trail by microseconds.
  auto counts = manta::count_tasks();
  for (int i = 0; i < 200 && counts.finished < 3; ++i) {
    std::this_thread::sleep_for(5ms);
    counts = manta::count_tasks();
  }
  CHECK(counts.finished == 3);
  CHECK(counts.running == 0);
}

TEST_CASE("failed and cancelled tasks keep why") {
  runtime_guard rt{1};
  g_open = false;
  auto failing = manta::task(boom).remote(1);
  CHECK_THROWS(manta::get(failing, 10s));
  auto f = wait_for_state(failing.id(), manta::task_state::failed);
  CHECK(f.error.find("boom: deliberate failure") != std::string::npos);

  auto downstream = manta::task(add).remote(failing, 1); // a failed argument
  CHECK_THROWS(manta::get(downstream, 10s));
  auto d = wait_for_state(downstream.id(), manta::task_state::failed);
  CHECK(d.error.find("boom") != std::string::npos);
  // It never ran: it failed of its argument, which the record names (the
  // detail page's chain), with its object arguments.
  CHECK(d.started_us == 0);
  CHECK(d.caused_by == failing.id());
  REQUIRE(d.args.size() == 1);
  CHECK(d.args[0].id == failing.id());
  CHECK_FALSE(f.caused_by.valid()); // boom itself ran and threw

  auto blocker = manta::task(gate).remote(0);
  auto queued = manta::task(gate).remote(1);
  wait_for_state(queued.id(), manta::task_state::waiting_for_resources);
  manta::cancel(queued);
  auto c = wait_for_state(queued.id(), manta::task_state::cancelled);
  CHECK(c.error.find("cancelled") != std::string::npos);
  g_open = true;
  manta::get(blocker, 10s);
  auto counts = manta::count_tasks();
  CHECK(counts.failed == 2);
  CHECK(counts.cancelled == 1);
}

TEST_CASE("a nested task names its parent") {
  runtime_guard rt{2};
  auto outer = manta::task(parent_task).remote(5);
  CHECK(manta::get(outer, 10s) == 6);
  auto children = manta::list_tasks(
    manta::list_filter::parse({"parent=" + manta::to_string(outer.id())}));
  REQUIRE(children.size() == 1);
  CHECK(children[0].name == "add");
  CHECK(children[0].started_us
        >= wait_for_state(outer.id(), manta::task_state::finished).started_us);
}

TEST_CASE("the history of finished tasks is bounded; totals are not") {
  auto opts = runtime_guard::with_cpus(2);
  opts.task_history = 100;
  runtime_guard rt{std::move(opts)};
  std::vector<manta::object_ref<int>> refs;
  for (int i = 0; i < 1000; ++i)
    refs.push_back(manta::task(add).remote(i, 1));
  manta::get(refs, 10s);
  refs.clear(); // the specs go; their records stay in the ring
  auto until = std::chrono::steady_clock::now() + 10s;
  while (manta::count_tasks().finished < 1000 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(1ms);
  CHECK(manta::count_tasks().finished == 1000);
  auto ts = manta::list_tasks();
  CHECK(ts.size() == 100);
  // The most recent ones are kept, oldest first.
  for (size_t i = 1; i < ts.size(); ++i)
    CHECK(ts[i - 1].ended_us <= ts[i].ended_us);
  // The dashboard's bounded read: the same newest records, converting only
  // those; by state too, and a state no record has gives none.
  auto newest = manta::detail::list_newest_tasks({}, 10);
  REQUIRE(newest.size() == 10);
  for (size_t i = 0; i < 10; ++i)
    CHECK(newest[i].id == ts[ts.size() - 10 + i].id);
  CHECK(manta::detail::list_newest_tasks(manta::list_filter::parse({"state=finished"}), 5).size()
        == 5);
  CHECK(manta::detail::list_newest_tasks(manta::list_filter::parse({"state=FAILED"}), 5).empty());
  CHECK(manta::detail::list_newest_tasks(manta::list_filter::parse({"name=add"}), 7).size() == 7);
  // An argument given by value is not an object argument.
  CHECK(ts.back().args.empty());
}

TEST_CASE("with task events off nothing is recorded") {
  auto opts = runtime_guard::with_cpus(1);
  opts.task_events = false;
  runtime_guard rt{std::move(opts)};
  CHECK(manta::get(manta::task(add).remote(1, 2), 10s) == 3);
  CHECK(manta::list_tasks().empty());
  CHECK(manta::count_tasks().finished == 0);
}

TEST_CASE("actors and their calls") {
  runtime_guard rt{2};
  auto c = manta::actor<counter>().name("c1").remote(0);
  auto r = c.call(&counter::incr).remote(5);
  CHECK(manta::get(r, 10s) == 5);
  auto actors = manta::list_actors(manta::list_filter::parse({"name=c1"}));
  REQUIRE(actors.size() == 1);
  CHECK(actors[0].class_name == "counter");
  CHECK(actors[0].state == "ALIVE");
  CHECK(actors[0].node.find("node-0") == 0);

  auto via_task = c.call(&counter::incr_by_task).remote(2);
  CHECK(manta::get(via_task, 10s) == 7);
  auto children = manta::list_tasks(
    manta::list_filter::parse({"parent=" + manta::to_string(via_task.id())}));
  REQUIRE(children.size() == 1);
  CHECK(children[0].name == "add"); // an actor call is the parent of what it submits

  auto call = wait_for_state(r.id(), manta::task_state::finished);
  CHECK(call.kind == "actor_call");
  CHECK(call.name == "counter.incr");
  CHECK(call.actor == "counter 'c1'");
  CHECK(call.thread_id > 0);

  manta::kill(c);
  auto dead = manta::list_actors(manta::list_filter::parse({"state=DEAD"}));
  REQUIRE(dead.size() == 1);
  CHECK(dead[0].name == "c1");
  CHECK(dead[0].death_cause.find("killed") != std::string::npos);
}

TEST_CASE("an actor's state history: created, alive, each restart with its cause, dead") {
  runtime_guard rt{2};
  auto c = manta::actor<counter>().name("h1").max_restarts(1).remote(0);
  CHECK(manta::get(c.call(&counter::incr).remote(1), 10s) == 1);
  auto one = [] {
    auto a = manta::list_actors(manta::list_filter::parse({"name=h1"}));
    REQUIRE(a.size() == 1);
    return a[0];
  };
  auto born = one();
  REQUIRE(born.history.size() == 2);
  CHECK(born.history[0].state == "PENDING_CREATION");
  CHECK(born.history[1].state == "ALIVE");
  CHECK(born.history[0].at_us > 0);
  CHECK(born.history[1].at_us >= born.history[0].at_us);

  manta::kill(c, /*no_restart=*/false);
  // Calls after a restartable kill run on the new instance.
  CHECK(manta::get(c.call(&counter::incr).remote(2), 10s) == 2);
  auto again = one();
  REQUIRE(again.history.size() == 4);
  CHECK(again.history[2].state == "RESTARTING");
  CHECK(again.history[2].detail.find("killed") != std::string::npos);
  CHECK(again.history[3].state == "ALIVE");

  manta::kill(c);
  auto dead = one();
  REQUIRE(dead.history.size() == 5);
  CHECK(dead.history[4].state == "DEAD");
  CHECK(dead.history[4].detail == dead.death_cause);
  for (size_t i = 1; i < dead.history.size(); ++i)
    CHECK(dead.history[i].at_us >= dead.history[i - 1].at_us);
}

TEST_CASE("nodes and objects") {
  runtime_guard rt{3};
  auto nodes = manta::list_nodes();
  REQUIRE(nodes.size() == 1);
  CHECK(nodes[0].role == "driver");
  CHECK(nodes[0].total.at("CPU") == 3);
  CHECK(nodes[0].executor_threads >= 1);

  auto ref = manta::put(std::string(1000, 'x'));
  auto objs = manta::list_objects(manta::list_filter::parse({"id=" + manta::to_string(ref.id())}));
  REQUIRE(objs.size() == 1);
  CHECK(objs[0].location == "memory");
  CHECK(objs[0].size_bytes >= 1000);
  CHECK_THROWS_AS(manta::list_filter::parse({"no-equals-sign"}), manta::invalid_argument_error);
}

TEST_CASE("why explains a chain of waits, missing resources and actor queues") {
  runtime_guard rt{1};
  g_open = false;
  auto running = manta::task(gate).remote(1);
  auto waiting = manta::task(gate).remote(2);
  auto pending = manta::task(add).remote(waiting, 1);
  wait_for_state(running.id(), manta::task_state::running);
  wait_for_state(waiting.id(), manta::task_state::waiting_for_resources);
  auto text = manta::why(pending.id());
  CHECK(text.find("object " + manta::to_string(pending.id()) + " (task add, PENDING_ARGS)")
        != std::string::npos);
  CHECK(text.find("waits for its arguments") != std::string::npos);
  CHECK(text.find("object " + manta::to_string(waiting.id())) != std::string::npos);
  CHECK(text.find("waits for resources: it needs") != std::string::npos);
  CHECK(text.find("\"CPU\":0") != std::string::npos); // nothing free
  CHECK(text.find("held by running task " + manta::to_string(running.id()) + " gate")
        != std::string::npos);

  // The actor's constructor needs the one CPU, which `running` holds.
  auto c = manta::actor<counter>().name("busy").num_cpus(1).remote(0);
  auto blocked = c.call(&counter::incr).remote(running); // waits for its argument
  auto queued = c.call(&counter::incr).remote(1);       // behind it
  auto queued_text = manta::why(queued.id());
  CHECK(queued_text.find("counter.incr") != std::string::npos);
  CHECK(queued_text.find("is queued in actor counter 'busy' (PENDING_CREATION, 2 call(s) queued")
        != std::string::npos);
  CHECK(queued_text.find("its constructor waits for its arguments or for its resources "
                         "{\"CPU\":1}")
        != std::string::npos);
  CHECK(manta::why(manta::object_id{0xfffffff}).find("unknown here") != std::string::npos);
  CHECK(manta::parse_object_id("00000000000000zz") == std::nullopt);
  CHECK(manta::parse_object_id(manta::to_string(running.id())) == running.id());

  // Once created the actor would hold the CPU for its life, and `waiting`
  // could never run: kill it first; its calls fail, and why says so.
  manta::kill(c);
  CHECK_THROWS_AS(manta::get(queued, 10s), manta::actor_died_error);
  CHECK(manta::why(queued.id()).find(": failed: manta::actor_died_error") != std::string::npos);
  g_open = true;
  CHECK(manta::get(pending, 10s) == 3);
  CHECK(manta::why(pending.id()).find(": ready") != std::string::npos);
}
