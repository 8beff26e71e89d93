// Refs written to another node but never read there (docs/cluster.md,
// "Borrowed refs"): the task or result that carries them pins their objects
// on the owner only until it ends, so a task that never ran or a result
// nobody decoded does not keep them until shutdown, and a ref written again
// inside a result stays while that result is unread. With real worker
// processes (this binary is also the head and the workers: cluster_main.hpp).

#include "tests/cluster_checks.hpp"
#include "tests/cluster_helpers.hpp"
#include "tests/cluster_main.hpp"
#include "tests/file_gate.hpp"
#include "tests/store_listing.hpp"

#include <manta/manta.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <string>
#include <thread>
#include <utility>
#include <vector>

using namespace std::chrono_literals;

namespace {

using manta_test::actor_ended;
using manta_test::eventually;
using manta_test::listed;

/// Joins the strings behind the refs (never runs in these tests' first case).
std::string join_refs(std::vector<manta::object_ref<std::string>> refs) {
  std::string out;
  for (auto& r : refs)
    out += manta::get(r, 20s);
  return out;
}
MANTA_REMOTE(join_refs);

std::atomic<uint64_t> g_made{0};

/// Puts `n` here and returns a ref to it beside 2 MiB of text: the result
/// is too large to travel inline, so it stays on this node until read.
std::pair<std::string, manta::object_ref<int>> big_with_ref(int n) {
  auto r = manta::put(n);
  g_made = r.id().value();
  return {std::string(size_t{2} << 20, 'x'), r};
}
MANTA_REMOTE(big_with_ref);

/// Returns the ref it is given beside 2 MiB of text (kept on this node).
std::pair<std::string, manta::object_ref<int>> big_with_given(manta::object_ref<int> r) {
  return {std::string(size_t{2} << 20, 'y'), std::move(r)};
}
MANTA_REMOTE(big_with_given);

/// The id of the object big_with_ref put last on this node.
uint64_t last_made() {
  return g_made.load();
}
MANTA_REMOTE(last_made);

/// Whether the driver dispatched task `id` to node `node` (its arguments
/// were written then), as the state API says: running there or queued.
bool dispatched(manta::object_id id, manta::node_id node) {
  for (auto& t : manta::list_tasks())
    if (t.id == id)
      return t.node == "node-" + std::to_string(node)
             && (t.state == manta::task_state::running
                 || t.state == manta::task_state::waiting_for_resources);
  return false;
}

/// Whether actor call `id` went to the actor's node (its arguments were
/// written then), as the state API says.
bool call_running(manta::object_id id) {
  for (auto& t : manta::list_tasks())
    if (t.id == id)
      return t.state == manta::task_state::running;
  return false;
}

/// Whether every thread of process `pid` is stopped (SIGSTOP reaches the
/// threads of a process one by one).
bool stopped(pid_t pid) {
  namespace fs = std::filesystem;
  std::error_code ec;
  for (auto& t : fs::directory_iterator{"/proc/" + std::to_string(pid) + "/task", ec}) {
    std::ifstream in{t.path() / "stat"};
    std::string stat{std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
    auto paren = stat.rfind(')'); // "tid (comm) S ...": the state follows the name
    if (paren == std::string::npos || paren + 2 >= stat.size() || stat[paren + 2] != 'T')
      return false;
  }
  return !ec;
}

/// An actor on the worker: counts the refs a call gives it, and puts values
/// whose refs it returns inside its results (it keeps none of them).
class ref_actor {
public:
  size_t count(std::vector<manta::object_ref<std::string>> refs) { return refs.size(); }

  /// A ref to `n`, put here, beside `pad` bytes of text (over 1 MiB: the
  /// result stays on this node until its caller fetched it).
  std::pair<std::string, manta::object_ref<int>> make(int n, size_t pad) {
    auto r = manta::put(n);
    made_ = r.id().value();
    return {std::string(pad, 'z'), r};
  }

  uint64_t made() const { return made_; }

private:
  uint64_t made_ = 0;
};
MANTA_ACTOR(ref_actor, &ref_actor::count, &ref_actor::make, &ref_actor::made);

/// An actor on the driver that keeps the refs a call gives it.
class keeper {
public:
  size_t keep(std::vector<manta::object_ref<int>> refs) {
    kept_ = std::move(refs);
    return kept_.size();
  }

  int sum() {
    int s = 0;
    for (auto& r : kept_)
      s += manta::get(r, 20s);
    return s;
  }

  size_t drop() { return std::exchange(kept_, {}).size(); }

private:
  std::vector<manta::object_ref<int>> kept_;
};
MANTA_ACTOR(keeper, &keeper::keep, &keeper::sum, &keeper::drop);

/// On the worker: puts `n` and gives a ref to it to `k` inside a call's
/// arguments, then drops its own ref. Returns the object's id and how the
/// call ended ("kept N" or "died: <what>").
std::pair<uint64_t, std::string> give_to(manta::actor_handle<keeper> k, int n) {
  auto r = manta::put(n);
  auto id = r.id().value();
  try {
    return {id, "kept "
                  + std::to_string(manta::get(k.call(&keeper::keep).remote(std::vector{r}), 30s))};
  } catch (const manta::actor_died_error& e) {
    return {id, std::string{"died: "} + e.what()};
  }
}
MANTA_REMOTE(give_to);

/// On the worker, for the second driver (call_driver_main): puts an object
/// here and writes its id to DIR/put.id, waits for DIR/call.gate, then
/// calls `k` (on that driver, killed meanwhile) with a ref to the object
/// inside the call's arguments.
std::string give_when_told(manta::actor_handle<keeper> k, std::string dir) {
  auto r = manta::put(21);
  std::ofstream{dir + "/put.id.tmp"} << r.id().value() << std::endl;
  std::filesystem::rename(dir + "/put.id.tmp", dir + "/put.id");
  wait_for_file(dir + "/call.gate", 60);
  try {
    return "kept " + std::to_string(manta::get(k.call(&keeper::keep).remote(std::vector{r}), 30s));
  } catch (const std::exception& e) {
    return e.what();
  }
}
MANTA_REMOTE(give_when_told);

/// The second driver of the worker-call case, run with --call-driver DIR:
/// an actor here, and a task on the worker that calls it when told
/// (give_when_told). Says "ready" in DIR/driver.status, then waits to be
/// killed.
int call_driver_main(const std::string& dir) {
  auto status = dir + "/driver.status";
  auto opts = manta_test::second_driver_options(dir, 1);
  manta::init(opts);
  auto nodes = manta_test::worker_nodes(1);
  if (nodes.size() != 1) {
    std::ofstream{status} << "error: no worker" << std::endl;
    return 2;
  }
  auto k = manta::actor<keeper>().remote(); // here: this driver has a CPU
  if (manta::get(k.call(&keeper::drop).remote(), 30s) != 0) {
    std::ofstream{status} << "error: the actor" << std::endl;
    return 2;
  }
  auto t = manta::task(give_when_told).node_affinity(nodes.begin()->second).remote(k, dir);
  std::ofstream{status} << "ready" << std::endl;
  std::this_thread::sleep_for(600s); // until killed
  return 0;
}

/// Calls `k` once (never runs in these tests: it is cancelled queued).
size_t drop_kept(manta::actor_handle<keeper> k) {
  return manta::get(k.call(&keeper::drop).remote(), 20s);
}
MANTA_REMOTE(drop_kept);

} // namespace

TEST_CASE("refs inside the arguments of tasks that never ran are freed when they end") {
  manta_test::one_worker_cluster w{1, 0};
  auto& [c, worker, node] = w;
  auto there = [&] { return manta::task(join_refs).node_affinity(node); };
  // Holds the worker's only CPU: the tasks below wait in its queue.
  auto gate = c.dir() + "/unread-gate";
  auto busy = manta::task(wait_for_file).node_affinity(node).remote(gate, 60);
  manta::object_id cancelled_id, killed_id;
  manta::object_ref<std::string> cancelled, killed;
  {
    auto a = manta::put(std::string{"never read: its task is cancelled"});
    auto b = manta::put(std::string{"never read: its worker dies"});
    cancelled_id = a.id();
    killed_id = b.id();
    cancelled = there().max_retries(0).remote(std::vector{a});
    killed = there().max_retries(0).max_node_failures(0).remote(std::vector{b});
  } // the driver's own refs are gone; the tasks' specs still hold them
  REQUIRE(
    eventually([&] { return dispatched(cancelled.id(), node) && dispatched(killed.id(), node); }));
  CHECK(listed(cancelled_id));
  CHECK(listed(killed_id));

  // Cancelled in the worker's queue, before it decoded its arguments.
  manta::cancel(cancelled);
  CHECK_THROWS_AS(manta::get(cancelled, 30s), manta::task_cancelled_error);
  cancelled = {};
  CHECK(eventually([&] { return !listed(cancelled_id); }));
  CHECK(listed(killed_id)); // its task is still queued there

  // The worker dies with the task still queued: the task fails.
  c.kill_worker(worker, 1);
  CHECK_THROWS(manta::get(killed, 60s));
  CHECK_THROWS(manta::get(busy, 60s));
  killed = {};
  CHECK(eventually([&] { return !listed(killed_id); }));
}

/// A cluster of one 1-CPU worker and this driver (no CPUs of its own).
struct one_worker {
  manta::local_cluster c;
  pid_t worker = c.add_worker(1);
  std::map<int, manta::node_id> nodes;

  one_worker() {
    c.join(0);
    nodes = manta_test::worker_nodes(1);
    REQUIRE(nodes.count(worker) == 1);
  }

  /// Whether the worker's store lists object `id`.
  bool holds(uint64_t id) { return manta_test::held_on(nodes[worker], id); }
};

TEST_CASE("a ref inside a result the driver never reads is freed on its owner with it") {
  one_worker w;
  auto& nodes = w.nodes;
  auto worker = w.worker;
  auto on_worker = [&](uint64_t id) { return w.holds(id); };
  auto made_last = [&] {
    return manta::get(manta::task(last_made).node_affinity(nodes[worker]).remote(), 30s);
  };

  // Read by the driver: the worker keeps the object while the driver does.
  auto read = manta::task(big_with_ref).node_affinity(nodes[worker]).remote(6);
  CHECK(manta::get(manta::get(read, 60s).second, 30s) == 6);
  auto read_id = made_last();
  CHECK(on_worker(read_id));

  // Never read: the driver sees it ready (it stays on the worker) and drops it.
  auto unread = manta::task(big_with_ref).node_affinity(nodes[worker]).remote(5);
  REQUIRE(eventually([&] { return unread.ready(); }, 60s));
  auto unread_id = made_last();
  REQUIRE(unread_id != read_id);
  CHECK(on_worker(unread_id)); // the result holds it while it lives
  unread = {};
  CHECK(eventually([&] { return !on_worker(unread_id); }));

  CHECK(on_worker(read_id)); // the driver still holds the one it read
  read = {};
  CHECK(eventually([&] { return !on_worker(read_id); }));
}

TEST_CASE("a ref written again inside a result stays while that result is unread") {
  one_worker w;
  auto& nodes = w.nodes;
  auto worker = w.worker;
  auto on_worker = [&](uint64_t id) { return w.holds(id); };
  auto first = manta::task(big_with_ref).node_affinity(nodes[worker]).remote(9);
  auto x = manta::get(first, 60s).second; // owned by the worker, borrowed here
  auto x_id = x.id();
  REQUIRE(x_id.node() == nodes[worker]);
  // The worker writes it again, inside a result kept there and not read.
  auto second = manta::task(big_with_given).node_affinity(nodes[worker]).remote(x);
  REQUIRE(eventually([&] { return second.ready(); }, 60s));
  // This driver drops every copy it read: its last one goes, and the
  // worker hears so before the next task it is sent.
  x = {};
  first = {};
  CHECK(eventually([&] { return !listed(x_id); }));
  CHECK(on_worker(x_id.value())); // the unread result still holds it
  CHECK(manta::get(manta::get(second, 60s).second, 30s) == 9);
  second = {};
  CHECK(eventually([&] { return !on_worker(x_id.value()); }));
}

TEST_CASE("refs inside the arguments of an actor call its node never read are freed when it ends") {
  one_worker w;
  auto k = manta::actor<ref_actor>().node_affinity(w.nodes[w.worker]).max_restarts(0).remote();
  using refs = std::vector<manta::object_ref<std::string>>;
  REQUIRE(manta::get(k.call(&ref_actor::count).remote(refs{}), 60s) == 0); // it is up
  // Stopped, the worker reads no message: the call below is never decoded.
  REQUIRE(::kill(w.worker, SIGSTOP) == 0);
  REQUIRE(eventually([&] { return stopped(w.worker); }));
  manta::object_id id;
  manta::object_ref<size_t> call;
  {
    auto a = manta::put(std::string{"never read: its actor's node dies"});
    id = a.id();
    call = k.call(&ref_actor::count).remote(refs{a});
  } // the driver's own ref is gone; the call's arguments still hold it
  REQUIRE(eventually([&] { return call_running(call.id()); }));
  CHECK(listed(id));
  w.c.kill_worker(w.worker, 1); // the call fails there, never having run
  CHECK_THROWS_AS(manta::get(call, 60s), manta::actor_died_error);
  call = {};
  CHECK(eventually([&] { return !listed(id); }));
}

TEST_CASE(
  "a ref inside an actor call's result is freed on the actor's node once read and dropped") {
  one_worker w;
  auto k = manta::actor<ref_actor>().node_affinity(w.nodes[w.worker]).remote();
  // Small (inline, read as it arrives) and large (kept there, fetched):
  // the driver reports each result read, or frees it, after its +1.
  for (size_t pad : {size_t{16}, size_t{2} << 20}) {
    CAPTURE(pad);
    auto r = manta::get(k.call(&ref_actor::make).remote(7, pad), 60s);
    CHECK(r.first.size() == pad);
    auto id = manta::get(k.call(&ref_actor::made).remote(), 30s);
    REQUIRE(manta::object_id{id}.node() == w.nodes[w.worker]);
    CHECK(manta::get(r.second, 30s) == 7);
    CHECK(w.holds(id)); // the driver borrows it
    r = {};
    CHECK(eventually([&] { return !w.holds(id); }));
  }
}

TEST_CASE("refs a worker puts in its call to an actor on the driver are freed once no node "
          "holds them") {
  // The driver has a CPU: the actors below live on it.
  manta_test::one_worker_cluster w{1, 1};
  auto& [c, worker, node] = w;
  auto on_worker = [&](uint64_t id) { return manta_test::held_on(node, id); };
  auto give = [&](const manta::actor_handle<keeper>& k, int n) {
    return manta::get(manta::task(give_to).node_affinity(node).remote(k, n), 60s);
  };

  // Read and kept by the actor: the worker keeps the object after its own
  // ref and the call are gone, while the driver's actor holds it.
  auto k = manta::actor<keeper>().remote();
  auto [kept_id, kept_said] = give(k, 11);
  CHECK(kept_said == "kept 1");
  REQUIRE(manta::object_id{kept_id}.node() == node);
  CHECK(on_worker(kept_id));
  CHECK(manta::get(k.call(&keeper::sum).remote(), 30s) == 11);
  CHECK(on_worker(kept_id));
  CHECK(manta::get(k.call(&keeper::drop).remote(), 30s) == 1);
  CHECK(eventually([&] { return !on_worker(kept_id); }));

  // Never read: the actor is dead, its call fails on the driver before
  // its arguments are decoded, and the worker's object goes with it.
  auto dead = manta::actor<keeper>().max_restarts(0).remote();
  REQUIRE(manta::get(dead.call(&keeper::drop).remote(), 30s) == 0); // it is up
  manta::kill(dead);
  auto [unread_id, unread_said] = give(dead, 12);
  CHECK(unread_said.rfind("died: ", 0) == 0);
  CHECK(eventually([&] { return !on_worker(unread_id); }));
}

TEST_CASE("a ref a worker puts in its call to a driver that died before reading it is freed") {
  // This driver reads the worker's store; a second one (a process of its
  // own) owns the actor and the task that calls it, and is killed before
  // that call is read.
  // Two CPUs on the worker: one for that driver's task, one for this
  // driver's looks at the worker's store.
  manta::local_cluster c;
  auto worker = c.add_worker(2);
  c.join(0);
  auto node = manta_test::only_worker_node(worker); // before the second driver joins
  auto holds = [&](uint64_t id) { return manta_test::held_on(node, id); };
  auto status = c.dir() + "/driver.status";
  auto driver = c.spawn({"--call-driver", c.dir()}, c.dir() + "/driver.log");
  bool ready = manta_test::wait_for_text(status, "ready", 60s)
               && eventually([&] { return std::ifstream{c.dir() + "/put.id"}.good(); }, 60s);
  INFO("driver status:\n"
       << manta_test::read_all(status) << "\ndriver log:\n"
       << manta_test::read_all(c.dir() + "/driver.log"));
  REQUIRE(ready);
  auto id = std::stoull(manta_test::read_word(c.dir() + "/put.id"));
  REQUIRE(manta::object_id{id}.node() == node);
  CHECK(holds(id)); // the worker's task holds it
  REQUIRE(::kill(driver, SIGKILL) == 0);
  CHECK(manta_test::exit_status(driver, 30s) != 0);
  std::ofstream{c.dir() + "/call.gate"} << "go" << std::endl;
  // The call fails unread (its driver is gone), the task ends, and no
  // container or borrower holds the object any more.
  CHECK(eventually([&] { return !holds(id); }));
}

TEST_CASE("an actor whose handle is in the arguments of a task that never ran ends with it") {
  one_worker w;
  auto gate = w.c.dir() + "/handle-gate";
  // Holds the worker's only CPU: the task below waits in its queue.
  auto busy = manta::task(wait_for_file).node_affinity(w.nodes[w.worker]).remote(gate, 60);
  std::string id;
  manta::object_ref<size_t> queued;
  {
    auto k = manta::actor<keeper>().name("unread-handle").remote();
    REQUIRE(manta::get(k.call(&keeper::drop).remote(), 60s) == 0); // it is up
    for (auto& a : manta::list_actors())
      if (a.name == "unread-handle")
        id = a.id;
    queued = manta::task(drop_kept).node_affinity(w.nodes[w.worker]).max_retries(0).remote(k);
  } // the driver's own handle is gone; the task's spec still holds it
  REQUIRE(!id.empty());
  REQUIRE(eventually([&] { return dispatched(queued.id(), w.nodes[w.worker]); }));
  CHECK(!actor_ended(id));
  // Cancelled in the worker's queue, before it decoded its arguments.
  manta::cancel(queued);
  CHECK_THROWS_AS(manta::get(queued, 30s), manta::task_cancelled_error);
  queued = {};
  CHECK(eventually([&] { return actor_ended(id); }));
  std::ofstream{gate} << "go";
  CHECK(manta::get(busy, 60s) == 1);
}

int main(int argc, char** argv) {
  for (int i = 1; i + 1 < argc; ++i)
    if (std::string{argv[i]} == "--call-driver")
      return call_driver_main(argv[i + 1]);
  return manta_test::cluster_test_main(argc, argv);
}
