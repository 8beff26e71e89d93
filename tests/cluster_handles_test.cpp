// Actor handles across nodes (issue 21, item 5): a handle passed to a task
// or an actor method that runs on a worker process works there, whether
// the actor lives on the driver or on a third node; calls from one caller
// keep their order; handles come back from tasks; a dead actor gives
// actor_died_error there too. Real worker processes (this binary is the
// head, the workers and the driver, see cluster_main.hpp).

#include "tests/cluster_checks.hpp"
#include "tests/cluster_helpers.hpp"
#include "tests/cluster_main.hpp"
#include "tests/counter_actor.hpp"

#include <manta/manta.hpp>

#include <chrono>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace std::chrono_literals;

namespace {

/// Submits `n` increments by 1 through `h` (all before the first get, so
/// order is the runtime's), then reads them; the last element is the pid
/// of the process that ran this task.
std::vector<int> use_counter(manta::actor_handle<counter> h, int n) {
  std::vector<manta::object_ref<int>> refs;
  for (int i = 0; i < n; ++i)
    refs.push_back(h.call(&counter::incr).remote(1));
  std::vector<int> out;
  for (auto& r : refs)
    out.push_back(manta::get(r, std::chrono::seconds(20)));
  out.push_back(static_cast<int>(::getpid()));
  return out;
}
MANTA_REMOTE(use_counter);

/// The pid of the process the actor behind `h` runs in, asked from here.
int actor_pid(manta::actor_handle<counter> h) {
  return manta::get(h.call(&counter::pid).remote(), std::chrono::seconds(20));
}
MANTA_REMOTE(actor_pid);

/// Returns the handle it was given.
manta::actor_handle<counter> echo(manta::actor_handle<counter> h) {
  return h;
}
MANTA_REMOTE(echo);

/// Creates a counter here (on the worker) and returns its handle.
manta::actor_handle<counter> make_counter() {
  return manta::actor<counter>().remote();
}
MANTA_REMOTE(make_counter);

/// Calls `h` and says how it ended: "ok N" or "died: <what>" or "other: <what>".
std::string try_call(manta::actor_handle<counter> h) {
  try {
    return "ok " + std::to_string(manta::get(h.call(&counter::incr).remote(1), 20s));
  } catch (const manta::actor_died_error& e) {
    return std::string{"died: "} + e.what();
  } catch (const std::exception& e) {
    return std::string{"other: "} + e.what();
  }
}
MANTA_REMOTE(try_call);

/// An actor that keeps a handle it is given and calls it.
class relay {
public:
  int keep(manta::actor_handle<counter> h) {
    target_ = h;
    return static_cast<int>(::getpid());
  }
  int poke(int by) { return manta::get(target_.call(&counter::incr).remote(by), 20s); }

private:
  manta::actor_handle<counter> target_;
};
MANTA_ACTOR(relay, &relay::keep, &relay::poke);

std::vector<int> one_to(int n) {
  std::vector<int> v;
  for (int i = 1; i <= n; ++i)
    v.push_back(i);
  return v;
}

} // namespace

TEST_CASE("a task on a worker calls an actor living on the driver, in order") {
  manta_test::one_worker_cluster w{1, 1};
  auto& [c, worker, node] = w;
  auto h = manta::actor<counter>().remote();
  auto out = manta::get(manta::task(use_counter).node_affinity(node).remote(h, 50), 60s);
  REQUIRE(out.size() == 51);
  CHECK(out.back() == worker); // the task ran on the worker
  out.pop_back();
  CHECK(out == one_to(50)); // its calls ran in submission order
  // The actor is the driver's own: its state has the worker's 50 calls.
  CHECK(manta::get(h.call(&counter::incr).remote(0), 20s) == 50);
  CHECK(manta::get(h.call(&counter::pid).remote(), 20s) == ::getpid());
  // Two tasks on the worker share it; each sees its own calls in order.
  auto a = manta::task(use_counter).node_affinity(node).remote(h, 20);
  auto b = manta::task(use_counter).node_affinity(node).remote(h, 20);
  auto ra = manta::get(a, 60s);
  auto rb = manta::get(b, 60s);
  ra.pop_back();
  rb.pop_back();
  CHECK(std::is_sorted(ra.begin(), ra.end()));
  CHECK(std::is_sorted(rb.begin(), rb.end()));
  CHECK(manta::get(h.call(&counter::incr).remote(0), 20s) == 90);
}

TEST_CASE("a task on one worker calls an actor on another worker") {
  manta_test::two_worker_cluster cluster;
  auto& [c, home, user, nodes] = cluster;
  auto h = manta::actor<counter>().node_affinity(nodes[home]).remote();
  CHECK(manta::get(h.call(&counter::pid).remote(), 30s) == home);
  CHECK(manta::get(manta::task(actor_pid).node_affinity(nodes[user]).remote(h), 60s) == home);
  auto out = manta::get(manta::task(use_counter).node_affinity(nodes[user]).remote(h, 30), 60s);
  REQUIRE(out.size() == 31);
  CHECK(out.back() == user);
  out.pop_back();
  CHECK(out == one_to(30));
  CHECK(manta::get(h.call(&counter::incr).remote(0), 20s) == 30);
  // An actor a task made on one worker, its handle returned to the driver
  // and passed to a task on the other worker (which has no link to the
  // first: the calls go through the driver).
  auto made = manta::get(manta::task(make_counter).node_affinity(nodes[home]).remote(), 60s);
  CHECK(manta::get(manta::task(actor_pid).node_affinity(nodes[user]).remote(made), 60s) == home);
  auto seq = manta::get(manta::task(use_counter).node_affinity(nodes[user]).remote(made, 10), 60s);
  seq.pop_back();
  CHECK(seq == one_to(10));
}

TEST_CASE("an actor on a worker keeps a handle and calls it later") {
  manta_test::one_worker_cluster w{1, 1};
  auto& [c, worker, node] = w;
  auto target = manta::actor<counter>().remote();
  auto r = manta::actor<relay>().node_affinity(node).remote();
  CHECK(manta::get(r.call(&relay::keep).remote(target), 30s) == worker);
  CHECK(manta::get(r.call(&relay::poke).remote(5), 30s) == 5);
  CHECK(manta::get(r.call(&relay::poke).remote(2), 30s) == 7);
  CHECK(manta::get(target.call(&counter::incr).remote(0), 20s) == 7);
}

TEST_CASE("handles come back from tasks on a worker") {
  manta_test::one_worker_cluster w{1, 1};
  auto& [c, worker, node] = w;
  // The driver's handle, sent there and back, is the same actor.
  auto h = manta::actor<counter>().remote();
  auto back = manta::get(manta::task(echo).node_affinity(node).remote(h), 60s);
  CHECK(back == h);
  CHECK(manta::get(back.call(&counter::incr).remote(3), 20s) == 3);
  // An actor the task created on the worker is called from the driver.
  auto made = manta::get(manta::task(make_counter).node_affinity(node).remote(), 60s);
  CHECK(manta::get(made.call(&counter::pid).remote(), 30s) == worker);
  CHECK(manta::get(made.call(&counter::incr).remote(4), 30s) == 4);
  CHECK(manta::get(made.call(&counter::incr).remote(4), 30s) == 8);
}

TEST_CASE("a dead actor's handle gives actor_died_error on the worker too") {
  manta_test::one_worker_cluster w{1, 1};
  auto& [c, worker, node] = w;
  auto h = manta::actor<counter>().name("doomed").remote();
  CHECK(manta::get(manta::task(try_call).node_affinity(node).remote(h), 60s) == "ok 1");
  manta::kill(h);
  auto said = manta::get(manta::task(try_call).node_affinity(node).remote(h), 60s);
  CHECK(said.rfind("died: ", 0) == 0);
  CHECK(said.find("counter 'doomed'") != std::string::npos);
}

TEST_CASE("an actor lent to a worker ends once no node holds a handle to it") {
  manta_test::one_worker_cluster w{1, 1};
  auto& [c, worker, node] = w;
  std::string id;
  {
    auto h = manta::actor<counter>().name("lent").remote();
    CHECK(manta::get(manta::task(try_call).node_affinity(node).remote(h), 60s) == "ok 1");
    for (auto& a : manta::list_actors())
      if (a.name == "lent")
        id = a.id;
  } // the driver's last handle goes; the worker dropped its own after the task
  REQUIRE(!id.empty());
  auto ended = [&] {
    for (auto& a : manta::list_actors())
      if (a.id == id)
        return a.state == "DEAD";
    return true;
  };
  auto until = std::chrono::steady_clock::now() + 20s;
  while (!ended() && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(10ms);
  CHECK(ended());
}

int main(int argc, char** argv) {
  return manta_test::cluster_test_main(argc, argv);
}
