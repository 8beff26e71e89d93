// Refs as values (issue 21, item 4): an object_ref<T> parameter receives the
// ref unresolved; refs inside put values, task results and containers keep
// their objects alive; and across nodes Ray's borrower protocol keeps a
// borrowed object alive until every borrower dropped it, then frees it. On
// one node and with real worker processes (this binary is also the head and
// the workers: cluster_main.hpp).

#include "tests/cluster_checks.hpp"
#include "tests/cluster_helpers.hpp"
#include "tests/cluster_main.hpp"
#include "tests/file_gate.hpp"
#include "tests/runtime_guard.hpp"
#include "tests/store_listing.hpp"

#include <manta/store/borrowers.hpp>
#include <manta/manta.hpp>

#include <atomic>
#include <chrono>
#include <fstream>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace std::chrono_literals;

namespace {

using manta_test::eventually;
using manta_test::listed;

std::atomic<bool> g_release{false};

/// Waits (bounded) until the test lets it go, then returns 7.
int gated_seven() {
  auto until = std::chrono::steady_clock::now() + 20s;
  while (!g_release.load() && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(1ms);
  return 7;
}
MANTA_REMOTE(gated_seven);

/// Whether its ref argument's object existed when the task started.
bool ready_at_start(manta::object_ref<int> r) {
  return r.ready();
}
MANTA_REMOTE(ready_at_start);

/// Reads a ref it was given unresolved.
int read_plus_one(manta::object_ref<int> r) {
  return manta::get(r, 20s) + 1;
}
MANTA_REMOTE(read_plus_one);

/// Sums the values behind a container of refs.
int sum_refs(std::vector<manta::object_ref<int>> refs) {
  int sum = 0;
  for (auto& r : refs)
    sum += manta::get(r, 20s);
  return sum;
}
MANTA_REMOTE(sum_refs);

/// Puts 0..n-1 here (on whatever node runs it) and returns the refs.
std::vector<manta::object_ref<int>> make_refs(int n) {
  std::vector<manta::object_ref<int>> out;
  for (int i = 0; i < n; ++i)
    out.push_back(manta::put(i * 10));
  return out;
}
MANTA_REMOTE(make_refs);

/// A value holding a ref among other fields.
struct labelled {
  std::string label;
  manta::object_ref<std::string> text;
};

/// An actor that keeps the refs it is given, reads and drops them.
class keeper {
public:
  int keep(std::vector<manta::object_ref<std::string>> refs) {
    refs_ = std::move(refs);
    return static_cast<int>(::getpid());
  }
  std::string read() {
    std::string out;
    for (auto& r : refs_)
      out += manta::get(r, 20s);
    return out;
  }
  bool holds(uint64_t id) const { return listed(manta::object_id{id}); }
  int drop() {
    auto n = static_cast<int>(refs_.size());
    refs_.clear();
    return n;
  }

private:
  std::vector<manta::object_ref<std::string>> refs_;
};
MANTA_ACTOR(keeper, &keeper::keep, &keeper::read, &keeper::holds, &keeper::drop);

/// An actor whose constructor takes a ref itself, unresolved, as a task's
/// `object_ref<T>` parameter does; another of its constructors takes the
/// value (an argument it is given as a ref is read first).
class ref_holder {
public:
  explicit ref_holder(manta::object_ref<int> r) : ready_(r.ready()), ref_(std::move(r)) {}
  ref_holder(manta::object_ref<int> r, int plus)
    : ready_(r.ready()), ref_(std::move(r)), plus_(plus) {}
  explicit ref_holder(const std::string& s) : ready_(true), plus_(static_cast<int>(s.size())) {}

  /// Whether its ref's object existed when the constructor ran.
  bool was_ready() const { return ready_; }
  /// The ref's value (0 with none) plus the number it was given.
  int read() const { return (ref_ ? manta::get(ref_, 20s) : 0) + plus_; }

private:
  bool ready_;
  manta::object_ref<int> ref_;
  int plus_ = 0;
};
MANTA_ACTOR(ref_holder, &ref_holder::was_ready, &ref_holder::read);


} // namespace

TEST_CASE("an object_ref<T> parameter receives the ref unresolved") {
  runtime_guard rt;
  g_release = false;
  auto pending = manta::task(gated_seven).remote();
  // The task runs while its argument's object does not exist yet: it got
  // the ref, not the value (a T parameter would have waited for it).
  CHECK_FALSE(manta::get(manta::task(ready_at_start).remote(pending), 20s));
  auto plus = manta::task(read_plus_one).remote(pending);
  g_release = true;
  CHECK(manta::get(plus, 20s) == 8);
  CHECK(manta::get(manta::task(ready_at_start).remote(pending), 20s));
}

TEST_CASE("an actor constructor's object_ref<T> parameter receives the ref unresolved") {
  runtime_guard rt;
  g_release = false;
  auto pending = manta::task(gated_seven).remote();
  // Constructed while the object does not exist yet: it got the ref.
  auto h = manta::actor<ref_holder>().remote(pending);
  CHECK_FALSE(manta::get(h.call(&ref_holder::was_ready).remote(), 20s));
  // With a second argument given as a ref to an int parameter: that one is
  // read first, the first is still the ref itself.
  auto mixed = manta::actor<ref_holder>().remote(pending, manta::put(10));
  CHECK_FALSE(manta::get(mixed.call(&ref_holder::was_ready).remote(), 20s));
  g_release = true;
  CHECK(manta::get(h.call(&ref_holder::read).remote(), 20s) == 7);
  CHECK(manta::get(mixed.call(&ref_holder::read).remote(), 20s) == 17);
  // A ref for a parameter of the value's type is resolved, as before.
  auto text = manta::actor<ref_holder>().remote(manta::put(std::string{"abc"}));
  CHECK(manta::get(text.call(&ref_holder::read).remote(), 20s) == 3);
}

TEST_CASE("a ref inside a put value keeps its object alive until the value goes") {
  runtime_guard rt;
  manta::object_id inner_id;
  manta::object_ref<std::vector<manta::object_ref<int>>> outer;
  manta::object_ref<labelled> tagged;
  manta::object_id text_id;
  {
    auto inner = manta::put(42);
    inner_id = inner.id();
    outer = manta::put(std::vector<manta::object_ref<int>>{inner});
    auto text = manta::put(std::string{"kept"});
    text_id = text.id();
    tagged = manta::put(labelled{"a", text});
  } // the caller's own refs to the inner objects are gone
  CHECK(listed(inner_id));
  CHECK(listed(text_id));
  CHECK(manta::get(manta::get(outer).at(0)) == 42);
  CHECK(manta::get(manta::get(tagged).text) == "kept");
  CHECK(manta::get(manta::task(sum_refs).remote(outer), 20s) == 42);
  outer = {};
  CHECK(eventually([&] { return !listed(inner_id); }));
  CHECK(listed(text_id));
  tagged = {};
  CHECK(eventually([&] { return !listed(text_id); }));
}

TEST_CASE("refs returned inside a task's result stay readable after the task") {
  runtime_guard rt;
  auto refs = manta::get(manta::task(make_refs).remote(3), 20s);
  REQUIRE(refs.size() == 3);
  CHECK(manta::get(refs[2]) == 20);
  CHECK(manta::get(manta::task(sum_refs).remote(refs), 20s) == 30);
  auto id = refs[1].id();
  refs.clear();
  CHECK(eventually([&] { return !listed(id); }));
}

TEST_CASE("a ref in a container is borrowed by an actor on a worker, then freed") {
  manta_test::one_worker_cluster w{1, 1};
  auto& [c, worker, node] = w;
  auto k = manta::actor<keeper>().node_affinity(node).remote();
  manta::object_id id, big_id;
  std::string big_text(300000, 'x'); // above ref_inline_bytes: read over the data path
  {
    auto inner = manta::put(std::string{"borrowed"});
    auto big = manta::put(big_text);
    id = inner.id();
    big_id = big.id();
    CHECK(manta::get(k.call(&keeper::keep).remote(std::vector{inner, big}), 60s) == worker);
  } // the driver, the objects' owner, drops its own refs
  // The worker reported its copies: the owner keeps the objects for it.
  auto borrower = std::vector<uint16_t>{static_cast<uint16_t>(node)};
  CHECK(eventually([&] { return manta::detail::ref_borrowers(id.value()) == borrower; }));
  CHECK(eventually([&] { return manta::detail::ref_borrowers(big_id.value()) == borrower; }));
  bool summary_says = false;
  for (auto& o : manta::memory_summary().objects)
    if (o.id == id)
      summary_says = o.borrowers == borrower;
  CHECK(summary_says);
  CHECK(listed(id));
  CHECK(listed(big_id));
  CHECK(manta::get(k.call(&keeper::read).remote(), 30s) == "borrowed" + big_text);
  CHECK(manta::get(k.call(&keeper::holds).remote(id.value()), 30s));
  CHECK(manta::get(k.call(&keeper::holds).remote(big_id.value()), 30s));
  // The worker drops them: freed there, then on the owner.
  CHECK(manta::get(k.call(&keeper::drop).remote(), 30s) == 2);
  CHECK_FALSE(manta::get(k.call(&keeper::holds).remote(id.value()), 30s));
  CHECK_FALSE(manta::get(k.call(&keeper::holds).remote(big_id.value()), 30s));
  CHECK(eventually([&] { return !listed(id) && !listed(big_id); }));
  CHECK(manta::detail::ref_borrowers(id.value()).empty());
}

TEST_CASE("refs made on a worker come back inside a result and are freed there later") {
  manta::local_cluster c;
  auto worker = c.add_worker(1);
  c.join(1);
  auto nodes = manta_test::worker_nodes(1);
  REQUIRE(nodes.count(worker) == 1);
  auto there = manta::task(make_refs).node_affinity(nodes[worker]);
  auto refs = manta::get(there.remote(4), 60s);
  REQUIRE(refs.size() == 4);
  auto id = refs[3].id();
  CHECK(id.node() == nodes[worker]); // owned by the worker that put it
  // The task is over: the worker keeps the objects for the driver.
  CHECK(manta_test::held_on(nodes[worker], id.value()));
  CHECK(manta::get(refs[3], 30s) == 30);
  CHECK(manta::get(manta::task(sum_refs).remote(refs), 30s) == 60);
  // Passed back to a task on the worker: it reads its own objects.
  CHECK(manta::get(manta::task(sum_refs).node_affinity(nodes[worker]).remote(refs), 30s) == 60);
  refs.clear();
  CHECK(eventually([&] { return !manta_test::held_on(nodes[worker], id.value()); }));
}

/// Puts one string here and returns it inside a vector (owned by this node).
std::vector<manta::object_ref<std::string>> make_text(std::string text) {
  return {manta::put(std::move(text))};
}
MANTA_REMOTE(make_text);

/// How reading the first ref ended, named by the class it raised.
std::string read_class(std::vector<manta::object_ref<int>> refs) {
  try {
    return std::to_string(manta::get(refs.at(0), 20s));
  } catch (const manta::task_error& e) {
    return "task_error " + e.type_name() + ": " + e.message();
  } catch (const manta::invalid_argument_error& e) {
    return std::string{"invalid_argument_error: "} + e.what();
  } catch (const manta::owner_died_error& e) {
    return std::string{"owner died: "} + e.what();
  } catch (const manta::object_lost_error& e) {
    return std::string{"lost: "} + e.what();
  } catch (const std::exception& e) {
    return std::string{"other: "} + e.what();
  }
}
MANTA_REMOTE(read_class);

/// A driver with no CPUs and two workers of one CPU: a maker of objects
/// and a user, with a keeper actor on the user.
struct maker_and_user {
  manta::local_cluster c;
  int maker = c.add_worker(1);
  int user = c.add_worker(1);
  std::map<int, manta::node_id> nodes = joined();
  manta::actor_handle<keeper> k = manta::actor<keeper>().node_affinity(nodes.at(user)).remote();

  std::map<int, manta::node_id> joined() {
    c.join(0);
    auto out = manta_test::worker_nodes(2);
    REQUIRE(out.size() == 2);
    return out;
  }
};

TEST_CASE("a ref owned by one worker reaches another through the driver") {
  maker_and_user w;
  auto& [c, maker, user, nodes, k] = w;
  manta::object_id id;
  std::string filler(100000, '.');
  {
    // Large (not inlined in the ref): the user reads it from A's data path.
    auto refs = manta::get(
      manta::task(make_text).node_affinity(nodes[maker]).remote("from A" + filler), 60s);
    REQUIRE(refs.size() == 1);
    id = refs[0].id();
    CHECK(id.node() == nodes[maker]);
    CHECK(manta::get(k.call(&keeper::keep).remote(refs), 60s) == user);
  } // the driver's refs are gone; it lent them to the user as its own
  auto on_maker = [&] { return manta_test::held_on(nodes[maker], id.value()); };
  CHECK(manta::get(k.call(&keeper::read).remote(), 30s) == "from A" + filler); // read from A
  CHECK(on_maker());
  CHECK(manta::get(k.call(&keeper::drop).remote(), 30s) == 1);
  // The user let go, so the driver let go of its borrowed copy, so A frees it.
  CHECK(eventually([&] { return !listed(id); }));
  CHECK(eventually([&] { return !on_maker(); }));
}

/// 2 MiB of `c` (kept on the node that made it), or only "small" when the
/// file `flag` exists (a re-run); creates the flag.
std::string sized_text(char c, std::string flag) {
  if (std::ifstream{flag}.good())
    return "small";
  std::ofstream{flag} << "ran";
  return std::string(size_t{2} << 20, c);
}
MANTA_REMOTE(sized_text);

TEST_CASE("a borrowed object whose holder died is found again through its owner, rebuilt") {
  maker_and_user w;
  auto& [c, maker, user, nodes, k] = w;
  auto flags = c.dir() + "/sized-";
  // Over 1 MiB: each result stays on the maker; the driver owns it (with
  // its lineage) and lends it to the user's actor, which has not read it
  // when the maker dies.
  auto rebuilt = manta::task(sized_text).node_affinity(nodes[maker]).max_retries(2);
  auto large = rebuilt.remote('L', flags + "never");       // the same size again
  auto shrinking = rebuilt.remote('S', flags + "shrinks"); // small when run again: inline
  auto seen = rebuilt.remote('K', flags + "seen"); // read by the driver: small if run again
  auto spent =
    manta::task(sized_text).node_affinity(nodes[maker]).max_retries(0).remote('X', flags + "spent");
  REQUIRE(eventually(
    [&] { return large.ready() && shrinking.ready() && seen.ready() && spent.ready(); }, 60s));
  CHECK(manta::get(seen, 30s).size() == size_t{2} << 20);
  auto k2 = manta::actor<keeper>().node_affinity(nodes[user]).remote();
  CHECK(manta::get(k.call(&keeper::keep).remote(std::vector{large, shrinking, seen}), 60s) == user);
  CHECK(manta::get(k2.call(&keeper::keep).remote(std::vector{spent}), 60s) == user);
  ::unlink((flags + "never").c_str()); // its re-run makes 2 MiB again
  c.kill_worker(maker, 1);
  // The user's reads from the dead maker fail; its owner rebuilds each on
  // the user's node (the only one left) and says where it is, or sends the
  // small re-run's bytes inside its answer; the one the driver read is
  // served from the driver (not run again: that run would say "small").
  auto read = manta::get(k.call(&keeper::read).remote(), 60s);
  CHECK(read.size() == (size_t{4} << 20) + 5);
  CHECK(read == std::string(size_t{2} << 20, 'L') + "small" + std::string(size_t{2} << 20, 'K'));
  // One with no retries left cannot be rebuilt: the owner says why.
  try {
    manta::get(k2.call(&keeper::read).remote(), 60s);
    FAIL("a lost object with no retries was read");
  } catch (const manta::object_lost_error& e) {
    CHECK(std::string{e.what()}.find("no retries left") != std::string::npos);
  }
  // The owner reads the rebuilt objects too.
  CHECK(manta::get(large, 30s).size() == size_t{2} << 20);
  CHECK(manta::get(shrinking, 30s) == "small");
}

/// Submits wait_for_file here (on whatever node runs it) and returns its
/// ref inside a vector at once, while its object is still being computed.
std::vector<manta::object_ref<int>> spawn_waiting(std::string path) {
  return {manta::task(wait_for_file).remote(std::move(path), 20)};
}
MANTA_REMOTE(spawn_waiting);

TEST_CASE("a ref to an unfinished object sent inside a value is waited for there") {
  manta_test::one_worker_cluster w{2, 0};
  auto& [c, worker, node] = w;
  auto gate = c.dir() + "/borrowing-gate";
  // Runs on the worker until the test creates the gate file: its result is
  // still pending on the driver when the vector holding its ref is sent.
  auto pending = manta::task(wait_for_file).node_affinity(node).remote(gate, 20);
  auto reading = manta::task(read_class)
                   .node_affinity(node)
                   .remote(std::vector<manta::object_ref<int>>{pending});
  // The reader borrowed the ref before the object existed: its get waits
  // until the owner (the driver) says where the object is.
  CHECK(eventually([&] { return !manta::detail::ref_borrowers(pending.id().value()).empty(); }));
  CHECK_FALSE(reading.ready());
  std::ofstream{gate} << "go";
  CHECK(manta::get(reading, 30s) == "1");
  CHECK(manta::get(pending, 30s) == 1);
  // The borrower's slot is gone with the task: the driver no longer keeps
  // the object for it.
  CHECK(eventually([&] { return manta::detail::ref_borrowers(pending.id().value()).empty(); }));

  // The other way: a task on the worker returns a ref to a task it
  // submitted there, still running; the driver borrows it and waits.
  auto gate2 = c.dir() + "/borrowing-gate-2";
  auto refs = manta::get(manta::task(spawn_waiting).node_affinity(node).remote(gate2), 30s);
  REQUIRE(refs.size() == 1);
  CHECK(refs[0].id().node() == node); // owned by the worker
  CHECK_FALSE(refs[0].ready());
  std::ofstream{gate2} << "go";
  CHECK(manta::get(refs[0], 30s) == 1);
}

TEST_CASE("an actor constructor on a worker receives an object_ref<T> argument unresolved") {
  manta_test::one_worker_cluster w{2, 0};
  auto& [c, worker, node] = w;
  auto gate = c.dir() + "/borrowing-ctor-gate";
  auto pending = manta::task(wait_for_file).node_affinity(node).remote(gate, 20);
  // Constructed on the worker before the object exists: the ref crossed
  // inside the constructor's arguments, borrowed there from the driver.
  auto h = manta::actor<ref_holder>().node_affinity(node).remote(pending);
  CHECK_FALSE(manta::get(h.call(&ref_holder::was_ready).remote(), 60s));
  CHECK(eventually([&] { return !manta::detail::ref_borrowers(pending.id().value()).empty(); }));
  std::ofstream{gate} << "go";
  CHECK(manta::get(h.call(&ref_holder::read).remote(), 60s) == 1);
}

TEST_CASE("a borrower node that dies no longer keeps the object") {
  manta_test::one_worker_cluster w{1, 1};
  auto& [c, worker, node] = w;
  auto k = manta::actor<keeper>().node_affinity(node).remote();
  manta::object_id id;
  {
    auto inner = manta::put(std::string{"orphan"});
    id = inner.id();
    CHECK(manta::get(k.call(&keeper::keep).remote(std::vector{inner}), 60s) == worker);
  }
  CHECK(eventually([&] { return !manta::detail::ref_borrowers(id.value()).empty(); }));
  CHECK(listed(id));
  c.kill_worker(worker, 1);
  CHECK(eventually([&] { return !listed(id); }));
}

TEST_CASE("a borrowed object whose owner died names that death") {
  manta_test::one_worker_cluster w{1, 1};
  auto& [c, worker, node] = w;
  // Over 64 KiB: read from the worker's data path, not inside its ref.
  auto there = manta::task(make_text).node_affinity(node);
  auto refs = manta::get(there.remote(std::string(size_t{96} << 10, 'd')), 60s);
  REQUIRE(refs.size() == 1);
  c.kill_worker(worker, 1);
  c.wait_for_cpus(1); // the driver lost its link to the worker
  try {
    manta::get(refs[0], 30s);
    FAIL("an object whose owner died was read");
  } catch (const manta::object_lost_error& e) { // Ray's OwnerDiedError is an ObjectLostError
    std::string what = e.what();
    CAPTURE(what);
    CHECK(dynamic_cast<const manta::owner_died_error*>(&e) != nullptr);
    auto owner = "node-" + std::to_string(static_cast<unsigned>(node));
    CHECK(what.find(owner + ", its owner") != std::string::npos);
    CHECK(what.find("does not outlive its owner") != std::string::npos);
  }
  CHECK_THROWS_AS(manta::get(refs[0], 30s), manta::owner_died_error); // and again
}

TEST_CASE("a borrowed ref whose owner died before computing it raises owner_died_error") {
  maker_and_user w;
  auto& [c, maker, user, nodes, k] = w;
  // A task on the maker returns a ref to a task it submitted there, which
  // waits for a gate never opened: the maker owns an object still being
  // computed when it dies. The driver borrows it, and passes it on to a
  // task on the user, which borrows it from the driver.
  auto refs = manta::get(
    manta::task(spawn_waiting).node_affinity(nodes[maker]).remote(c.dir() + "/never"), 60s);
  REQUIRE(refs.size() == 1);
  CHECK(refs[0].id().node() == nodes[maker]);
  auto reading = manta::task(read_class).node_affinity(nodes[user]).remote(refs);
  CHECK(eventually([&] { return !manta::detail::ref_borrowers(refs[0].id().value()).empty(); }));
  CHECK_FALSE(refs[0].ready());
  CHECK_FALSE(reading.ready());
  c.kill_worker(maker, 1);
  auto owner = "node-" + std::to_string(static_cast<unsigned>(nodes[maker]));
  try {
    manta::get(refs[0], 30s);
    FAIL("an object whose owner died was read");
  } catch (const manta::object_lost_error& e) {
    std::string what = e.what();
    CAPTURE(what);
    CHECK(dynamic_cast<const manta::owner_died_error*>(&e) != nullptr);
    CHECK(what.find(owner + ", its owner, is gone") != std::string::npos);
  }
  // The user hears it from the driver as the same class (its kind code on
  // the wire).
  auto read = manta::get(reading, 30s);
  CAPTURE(read);
  CHECK(read.starts_with("owner died: "));
  CHECK(read.find(owner + ", its owner, is gone") != std::string::npos);
}

int main(int argc, char** argv) {
  return manta_test::cluster_test_main(argc, argv);
}

/// Fails with an exception of the user's own (0) or one of Manta's (1).
int fail_with(int how) {
  if (how == 0)
    throw std::runtime_error("boom from a task");
  throw manta::invalid_argument_error("bad input from a task");
}
MANTA_REMOTE(fail_with);

/// Waits (bounded) for file `path`, then fails with a runtime_error.
int fail_after_file(std::string path) {
  wait_for_file(std::move(path), 20);
  throw std::runtime_error("late boom");
}
MANTA_REMOTE(fail_after_file);


TEST_CASE("a ref to a failed object raises the same error where it is borrowed") {
  manta_test::one_worker_cluster w{2, 0};
  auto& [c, worker, node] = w;
  auto read_there = [&](const manta::object_ref<int>& r) {
    return manta::get(
      manta::task(read_class).node_affinity(node).remote(std::vector<manta::object_ref<int>>{r}),
      30s);
  };
  // Failed before its ref is sent: the user's exception arrives as the
  // task_error naming its type and text (as `get` of the task's own result
  // on another node raises), Manta's own error as its own class.
  auto user = manta::task(fail_with).remote(0);
  CHECK_THROWS_AS(manta::get(user, 30s), manta::task_error);
  CHECK(read_there(user) == "task_error std::runtime_error: boom from a task");
  auto own = manta::task(fail_with).remote(1);
  CHECK_THROWS_AS(manta::get(own, 30s), manta::invalid_argument_error);
  CHECK(read_there(own) == "invalid_argument_error: bad input from a task");
  // Still running when its ref is sent, failing later: the borrower's wait
  // ends with the same error when the owner tells it.
  auto gate = c.dir() + "/borrowing-fail-gate";
  auto late = manta::task(fail_after_file).node_affinity(node).remote(gate);
  auto reading =
    manta::task(read_class).node_affinity(node).remote(std::vector<manta::object_ref<int>>{late});
  CHECK(eventually([&] { return !manta::detail::ref_borrowers(late.id().value()).empty(); }));
  CHECK_FALSE(reading.ready());
  std::ofstream{gate} << "go";
  CHECK(manta::get(reading, 30s) == "task_error std::runtime_error: late boom");
}
