// Streaming generators in a cluster of real node processes (this binary is
// also the head and the worker: cluster_main.hpp): a generator task, or a
// generator method of an actor placed on a worker, streams its items back
// to the driver as they are yielded (the producers below wait until the
// driver has read item 0, which they could not if items came at the end),
// an exception mid-stream is the item where it happened, cancel stops the
// producer there, and one caller's calls keep their order. Items larger
// than the inline limit stay on the worker and are read over the data
// path like a large task result.

#include "tests/cluster_main.hpp"

#include "tests/cluster_checks.hpp"
#include "tests/cluster_helpers.hpp"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {

using manta_test::appears;
using manta_test::touch;

/// Yields the node it runs on, then waits for the driver to have read it
/// (the file `read0`), then yields it again.
void node_stream(manta::generator_sink<int>& out, std::string read0) {
  out.yield(static_cast<int>(manta::current_node()));
  if (!appears(read0, 30s))
    throw std::runtime_error("the driver never read item 0 while the producer ran");
  out.yield(static_cast<int>(manta::current_node()));
}

void fails_at(manta::generator_sink<std::string>& out, int k) {
  for (int i = 0;; ++i) {
    if (i == k)
      throw std::runtime_error("boom at " + std::to_string(k));
    out.yield("item " + std::to_string(i));
  }
}

/// Yields every millisecond for up to 30 s; writes `stopped` when a
/// cancel stops it at a yield.
void endless(manta::generator_sink<int>& out, std::string stopped) {
  auto until = std::chrono::steady_clock::now() + 30s;
  try {
    for (int i = 0; std::chrono::steady_clock::now() < until; ++i) {
      out.yield(i);
      std::this_thread::sleep_for(1ms);
    }
  } catch (const manta::task_cancelled_error&) {
    touch(stopped);
    throw;
  }
}

/// Yields `count` vectors of `bytes` bytes, item k filled from seed k.
void big_items(manta::generator_sink<std::vector<uint64_t>>& out, uint64_t bytes, int count) {
  for (int k = 0; k < count; ++k) {
    std::vector<uint64_t> v(bytes / 8);
    for (size_t i = 0; i < v.size(); ++i)
      v[i] = i * 2654435761u + static_cast<uint64_t>(k);
    out.yield(std::move(v));
  }
}

/// Like big_items, waiting after item `pause - 1` until file `go` exists
/// (at most 30 s) before the rest.
void big_items_paused(manta::generator_sink<std::vector<uint64_t>>& out, uint64_t bytes, int count,
                      int pause, std::string go) {
  for (int k = 0; k < count; ++k) {
    if (k == pause && !appears(go, 30s))
      throw std::runtime_error("the driver never said go");
    std::vector<uint64_t> v(bytes / 8);
    for (size_t i = 0; i < v.size(); ++i)
      v[i] = i * 2654435761u + static_cast<uint64_t>(k);
    out.yield(std::move(v));
  }
}

bool big_item_ok(const std::vector<uint64_t>& v, uint64_t bytes, int k) {
  if (v.size() != bytes / 8)
    return false;
  for (size_t i = 0; i < v.size(); ++i)
    if (v[i] != i * 2654435761u + static_cast<uint64_t>(k))
      return false;
  return true;
}

/// How many of `ids` the store of the node it runs on lists (a worker
/// lists the items it keeps for their owner).
int listed_here(std::vector<uint64_t> ids) {
  int n = 0;
  for (auto& o : manta::memory_summary().objects)
    for (auto id : ids)
      n += o.id.value() == id;
  return n;
}

/// How many objects of at least `bytes` bytes the store of the node it runs
/// on lists (a worker lists the items it keeps for their owner).
int big_here(uint64_t bytes) {
  int n = 0;
  for (auto& o : manta::memory_summary().objects)
    n += o.size_bytes >= bytes;
  return n;
}

/// The number in file `path` (0 while it does not exist): a counter one
/// process writes and another reads.
int read_count(const std::string& path) {
  std::ifstream in{path};
  int n = 0;
  in >> n;
  return n;
}

/// Writes `n` to `path` at once (a rename: a reader sees the old or the new).
void write_count(const std::string& path, int n) {
  std::ofstream{path + ".tmp"} << n;
  std::filesystem::rename(path + ".tmp", path);
}

/// Yields 0..n-1 as fast as it is let, writing the number of yields that
/// returned to file `count` after each.
void paced(manta::generator_sink<int>& out, int n, std::string count) {
  for (int i = 0; i < n; ++i) {
    out.yield(i);
    write_count(count, i + 1);
  }
}

/// Waits (bounded) until file `count` says at least `want`; its value then.
int count_settles_at(const std::string& count, int want) {
  auto deadline = std::chrono::steady_clock::now() + 30s;
  int n = 0;
  while ((n = read_count(count)) < want && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(2ms);
  return n;
}

/// Polls `count()` (items some node still holds) every 20 ms until it is 0,
/// for at most 30 s; its last answer.
template <class Count>
auto count_drops_to_zero(Count count) {
  auto deadline = std::chrono::steady_clock::now() + 30s;
  auto left = count();
  while (left > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
    left = count();
  }
  return left;
}

/// Reads `paced`'s n items produced with back pressure `window`: before
/// the first read the producer has run exactly `window` items ahead (it
/// gets that far while the reader waits, and no further); before each
/// later read it is never more than `window` ahead (the reader acks in
/// steps of half the window, so it may be less). "" if so and the stream
/// completed in order, else what went wrong.
std::string window_problem(manta::object_ref_generator<int> gen, const std::string& count, int n,
                           int window) {
  for (int taken = 0; taken < n; ++taken) {
    int most = std::min(n, taken + window);
    int least = taken == 0 ? most : taken + 1;
    int seen = count_settles_at(count, least);
    if (seen < least || seen > most)
      return "before reading item " + std::to_string(taken) + " the producer had yielded "
             + std::to_string(seen) + " items, not " + std::to_string(least) + " to "
             + std::to_string(most);
    auto ref = gen.next(30s);
    if (!ref)
      return "item " + std::to_string(taken) + " never came";
    if (int v = manta::get(*ref, 10s); v != taken)
      return "item " + std::to_string(taken) + " was " + std::to_string(v);
  }
  if (gen.next(30s).has_value() || !gen.finished())
    return "the stream did not end after its items";
  if (read_count(count) != n)
    return "the producer yielded " + std::to_string(read_count(count)) + " items";
  return "";
}

MANTA_REMOTE(node_stream, fails_at, endless, big_items, big_items_paused, listed_here, big_here,
             paced);

/// A generator actor: its items count on from one call to the next, so
/// the values show the order its calls ran in.
class streamer {
public:
  void numbers(manta::generator_sink<int>& out, int n) {
    for (int i = 0; i < n; ++i)
      out.yield(next_++);
  }
  /// Like node_stream: the node, then (once the driver read it) again.
  void node_twice(manta::generator_sink<int>& out, std::string read0) {
    node_stream(out, std::move(read0));
  }
  void fails(manta::generator_sink<std::string>& out, int k) { fails_at(out, k); }
  void forever(manta::generator_sink<int>& out, std::string stopped) {
    endless(out, std::move(stopped));
  }
  void big(manta::generator_sink<std::vector<uint64_t>>& out, uint64_t bytes, int count) {
    big_items(out, bytes, count);
  }
  void paced_items(manta::generator_sink<int>& out, int n, std::string count) {
    paced(out, n, std::move(count));
  }
  int next() { return next_; }
  int where() { return static_cast<int>(manta::current_node()); }

private:
  int next_ = 0;
};
MANTA_ACTOR(streamer, &streamer::numbers, &streamer::node_twice, &streamer::fails,
            &streamer::forever, &streamer::big, &streamer::paced_items, &streamer::next,
            &streamer::where);

/// Runs on a worker: reads `n` items of a generator method of the actor
/// behind `h` (on the driver, reached through its lent handle).
std::vector<int> numbers_through(manta::actor_handle<streamer> h, int n) {
  std::vector<int> got;
  for (auto ref : h.call(&streamer::numbers).remote(n))
    got.push_back(manta::get(ref, std::chrono::seconds(20)));
  got.push_back(static_cast<int>(manta::current_node()));
  return got;
}
/// Runs on a worker: reads a generator method of the actor behind `h` (on
/// the driver) with back pressure `window` (window_problem).
std::string window_through(manta::actor_handle<streamer> h, int n, int window, std::string count) {
  return window_problem(
    h.call(&streamer::paced_items).generator_backpressure(window).remote(n, count), count, n,
    window);
}
/// Runs on a worker: reads `count` items of `bytes` bytes of the big method
/// of the actor behind `h` (on node `home`) through its lent handle.
/// Returns their ids once each came as a ref held on `home` (not inline)
/// and read byte-exact; throws what went wrong otherwise.
std::vector<uint64_t> big_through(manta::actor_handle<streamer> h, uint64_t bytes, int count,
                                  int home) {
  std::vector<manta::object_ref<std::vector<uint64_t>>> refs;
  auto gen = h.call(&streamer::big).remote(bytes, count);
  while (auto ref = gen.next(60s))
    refs.push_back(*ref);
  if (refs.size() != static_cast<size_t>(count))
    throw std::runtime_error(std::to_string(refs.size()) + " items came");
  std::vector<uint64_t> ids;
  for (int k = 0; k < count; ++k) {
    auto& remote = refs[k].slot()->remote();
    if (remote == nullptr || remote->node.load() != home)
      throw std::runtime_error("item " + std::to_string(k) + " was not held on node "
                               + std::to_string(home));
    if (!big_item_ok(*manta::get_shared(refs[k], 60s), bytes, k))
      throw std::runtime_error("item " + std::to_string(k) + " did not read back byte-exact");
    ids.push_back(refs[k].id().value());
  }
  return ids;
}
/// Runs on a worker: takes `count` items of `bytes` bytes of the big method
/// of the actor behind `h` (on the driver) through its lent handle, writes
/// their ids to file `ids_file`, and holds them until file `release`
/// appears (at most 60 s; the test kills this worker first).
int hold_through(manta::actor_handle<streamer> h, uint64_t bytes, int count, std::string ids_file,
                 std::string release) {
  std::vector<manta::object_ref<std::vector<uint64_t>>> refs;
  auto gen = h.call(&streamer::big).remote(bytes, count);
  while (auto ref = gen.next(60s))
    refs.push_back(*ref);
  {
    std::ofstream out{ids_file + ".tmp"};
    for (auto& r : refs)
      out << r.id().value() << "\n";
  }
  std::filesystem::rename(ids_file + ".tmp", ids_file);
  appears(release, 60s);
  return static_cast<int>(refs.size());
}
MANTA_REMOTE(numbers_through, window_through, big_through, hold_through);

std::string location_of(manta::object_id id) {
  for (auto& o : manta::memory_summary().objects)
    if (o.id == id)
      return o.location;
  return "absent";
}

/// An endless stream cancelled after two items: its producer notes in
/// `stopped` that it stopped, and the stream ends with the cancel's error.
template <class Generator>
void check_cancel_stops(Generator endless_gen, const std::string& stopped) {
  REQUIRE(endless_gen.next(30s).has_value());
  REQUIRE(endless_gen.next(30s).has_value());
  endless_gen.cancel();
  CHECK(appears(stopped, 30s));
  std::vector<manta::object_ref<int>> rest;
  while (auto ref = endless_gen.next(30s))
    rest.push_back(*ref);
  REQUIRE_FALSE(rest.empty());
  CHECK_THROWS_AS(manta::get(rest.back(), 10s), manta::task_cancelled_error);
}

/// A stream that failed after two items: items 0 and 1 readable, the
/// error at item 2, then the end.
template <class Generator>
void check_fails_at_2(Generator failing) {
  std::vector<manta::object_ref<std::string>> refs;
  while (auto ref = failing.next(30s))
    refs.push_back(*ref);
  REQUIRE(refs.size() == 3);
  CHECK(manta::get(refs[0], 10s) == "item 0");
  CHECK(manta::get(refs[1], 10s) == "item 1");
  CHECK_THROWS_WITH_AS(manta::get(refs[2], 10s), doctest::Contains("boom at 2"), manta::task_error);
}

/// This driver (with `local_cpus`) and one worker with 2 CPUs, whose node
/// id is `worker`: the cluster most cases here stream across.
struct one_worker {
  manta::local_cluster c;
  manta::node_id worker = 0;

  explicit one_worker(double local_cpus) {
    c.add_worker(2);
    c.join(local_cpus);
    worker = manta_test::sole_worker_node();
  }
};

/// A driver without CPUs and two workers: `doomed` (node `worker`), which
/// a case kills, and `spare` (node `other`), which takes its work.
struct two_workers {
  manta::local_cluster c;
  pid_t doomed = c.add_worker(2);
  pid_t spare = c.add_worker(2);
  manta::node_id worker = 0;
  manta::node_id other = 0;

  two_workers() {
    c.join(/*local_cpus=*/0);
    auto ids = manta_test::worker_nodes(2);
    REQUIRE(ids.count(doomed) == 1);
    REQUIRE(ids.count(spare) == 1);
    worker = ids[doomed];
    other = ids[spare];
  }
};

} // namespace

TEST_CASE("a generator task on a worker streams its items to the driver as they come") {
  manta::local_cluster c;
  c.add_worker(2);
  c.join(/*local_cpus=*/0); // generators run on the worker
  auto driver = static_cast<int>(manta::current_node());

  auto read0 = c.dir() + "/read0";
  auto gen = manta::task(node_stream).remote(read0);
  auto first = gen.next(30s);
  REQUIRE(first.has_value()); // at the end only, this would time out
  int worker = manta::get(*first, 10s);
  CHECK(worker != driver);
  CHECK_FALSE(gen.finished());
  touch(read0);
  auto second = gen.next(30s);
  REQUIRE(second.has_value());
  CHECK(manta::get(*second, 10s) == worker); // throws if the producer gave up
  CHECK_FALSE(gen.next(20s).has_value());
  CHECK(gen.finished());

  // An exception after 2 items is item 2; the items before stay readable.
  check_fails_at_2(manta::task(fails_at).remote(2));

  // Cancel reaches the worker: the producer stops at its next yield there.
  auto stopped = c.dir() + "/stopped";
  check_cancel_stops(manta::task(endless).remote(stopped), stopped);
}

TEST_CASE("a generator method of an actor on a worker streams, fails, cancels and keeps order") {
  one_worker cluster{/*local_cpus=*/1};
  auto& c = cluster.c;
  auto worker = static_cast<int>(cluster.worker);
  auto a = manta::actor<streamer>().node_affinity(cluster.worker).remote();
  CHECK(manta::get(a.call(&streamer::where).remote(), 20s) == worker);

  // Items come while the method runs: it waits until item 0 was read here.
  auto read0 = c.dir() + "/read0";
  auto gen = a.call(&streamer::node_twice).remote(read0);
  auto first = gen.next(30s);
  REQUIRE(first.has_value()); // at the end only, this would time out
  CHECK(manta::get(*first, 10s) == worker);
  CHECK_FALSE(gen.finished());
  touch(read0);
  auto second = gen.next(30s);
  REQUIRE(second.has_value());
  CHECK(manta::get(*second, 10s) == worker);
  CHECK_FALSE(gen.next(20s).has_value());
  CHECK(gen.finished());

  // One caller's calls run in submission order: the actor's counter runs
  // on from one generator call to the next and to the plain call after.
  auto g1 = a.call(&streamer::numbers).remote(3);
  auto g2 = a.call(&streamer::numbers).remote(2);
  auto after = a.call(&streamer::next).remote();
  std::vector<int> got1, got2;
  for (auto& ref : g1)
    got1.push_back(manta::get(ref, 10s));
  for (auto& ref : g2)
    got2.push_back(manta::get(ref, 10s));
  CHECK(got1 == std::vector<int>{0, 1, 2});
  CHECK(got2 == std::vector<int>{3, 4});
  CHECK(manta::get(after, 20s) == 5);

  // An exception after 2 items is item 2; the items before stay readable.
  check_fails_at_2(a.call(&streamer::fails).remote(2));

  // Cancel reaches the worker: the method stops at its next yield there,
  // and the actor takes calls again.
  auto stopped = c.dir() + "/stopped";
  check_cancel_stops(a.call(&streamer::forever).remote(stopped), stopped);
  CHECK(manta::get(a.call(&streamer::next).remote(), 20s) == 5);

  // A task on the worker calls a generator method of an actor on the
  // driver through its handle: the items stream back to the worker.
  auto here = manta::actor<streamer>().node_affinity(manta::current_node()).remote();
  auto through = manta::get(
    manta::task(numbers_through).node_affinity(cluster.worker).remote(here, 4), 30s);
  CHECK(through == std::vector<int>{0, 1, 2, 3, worker});
}

TEST_CASE("large generator items stay on the worker and are read over the data path") {
  one_worker cluster{/*local_cpus=*/0};
  auto worker = cluster.worker;
  constexpr uint64_t bytes = 8u << 20;

  auto check_stream = [&](manta::object_ref_generator<std::vector<uint64_t>> gen) {
    std::vector<manta::object_ref<std::vector<uint64_t>>> refs;
    while (auto ref = gen.next(60s))
      refs.push_back(*ref);
    REQUIRE(refs.size() == 3);
    std::vector<uint64_t> held;
    for (auto& r : refs) {
      // Not here yet: the item is a ref whose bytes stay on the worker.
      REQUIRE(r.slot()->remote() != nullptr);
      CHECK(r.slot()->remote()->node.load() == worker);
      CHECK(location_of(r.id()) == "node " + std::to_string(worker));
      held.push_back(r.id().value());
    }
    CHECK(manta::get(manta::task(listed_here).node_affinity(worker).remote(held), 20s) == 3);
    for (int k = 0; k < 3; ++k)
      CHECK(big_item_ok(*manta::get_shared(refs[k], 60s), bytes, k));
    CHECK(location_of(refs[0].id()) == "memory");
    // Dropping the refs frees the items on the worker.
    refs.clear();
    CHECK(count_drops_to_zero([&] {
            return manta::get(manta::task(listed_here).node_affinity(worker).remote(held), 20s);
          })
          == 0);
  };
  check_stream(manta::task(big_items).remote(bytes, 3));
  // The same from a generator method of an actor on the worker.
  auto a = manta::actor<streamer>().node_affinity(worker).remote();
  check_stream(a.call(&streamer::big).remote(bytes, 3));
  // Small items still travel inline: resident here at once.
  auto small = manta::task(big_items).remote(4096, 1);
  auto ref = small.next(30s);
  REQUIRE(ref.has_value());
  CHECK(ref->slot()->remote() == nullptr);
  CHECK(big_item_ok(manta::get(*ref, 10s), 4096, 0));
}

TEST_CASE("large items of a generator method read through a lent handle stay on its node") {
  one_worker cluster{/*local_cpus=*/1};
  auto worker = cluster.worker;
  constexpr uint64_t bytes = 8u << 20;
  // A task on the worker reads large items of a method of an actor on the
  // driver through its lent handle: each stays here until the worker reads
  // it over this node's data path, and is freed here once the worker let go.
  auto here = manta::actor<streamer>().node_affinity(manta::current_node()).remote();
  auto lent = manta::get(manta::task(big_through)
                           .node_affinity(worker)
                           .remote(here, bytes, 3, static_cast<int>(manta::current_node())),
                         120s);
  CHECK(lent.size() == 3);
  auto gone = std::chrono::steady_clock::now() + 30s;
  while (listed_here(lent) > 0 && std::chrono::steady_clock::now() < gone)
    std::this_thread::sleep_for(20ms);
  CHECK(listed_here(lent) == 0);
}

TEST_CASE("generator back pressure holds a producer on another node N items ahead") {
  one_worker cluster{/*local_cpus=*/1};
  auto& c = cluster.c;
  auto worker = cluster.worker;

  // A task on the worker; the driver's acks let it go on.
  auto count = c.dir() + "/task_count";
  CHECK(window_problem(
          manta::task(paced).node_affinity(worker).generator_backpressure(3).remote(30, count),
          count, 30, 3)
        == "");
  // A method of an actor on the worker.
  auto a = manta::actor<streamer>().node_affinity(worker).remote();
  count = c.dir() + "/method_count";
  CHECK(window_problem(a.call(&streamer::paced_items).generator_backpressure(4).remote(25, count),
                       count, 25, 4)
        == "");
  // A task on the worker reads a method of an actor on the driver through
  // its lent handle: the worker's acks reach the driver's producer.
  auto here = manta::actor<streamer>().node_affinity(manta::current_node()).remote();
  count = c.dir() + "/lent_count";
  CHECK(
    manta::get(manta::task(window_through).node_affinity(worker).remote(here, 20, 2, count), 120s)
    == "");
}

TEST_CASE("large items of a generator whose worker died while the driver held them are rebuilt") {
  two_workers cluster;
  auto& [c, doomed, spare, worker, other] = cluster;
  constexpr uint64_t bytes = 2u << 20;
  // One retry: a single re-run must rebuild all three items.
  auto gen = manta::task(big_items).node_affinity(worker).max_retries(1).remote(bytes, 3);
  std::vector<manta::object_ref<std::vector<uint64_t>>> refs;
  while (auto ref = gen.next(60s))
    refs.push_back(*ref);
  REQUIRE(refs.size() == 3);
  for (auto& r : refs) {
    REQUIRE(r.slot()->remote() != nullptr); // held on the worker, not read yet
    CHECK(r.slot()->remote()->node.load() == worker);
  }
  c.kill_worker(doomed, 2);
  // Each `get` reads the item the re-run on the other worker yielded.
  for (int k = 0; k < 3; ++k) {
    CHECK(big_item_ok(*manta::get_shared(refs[k], 60s), bytes, k));
    CHECK(refs[k].slot()->remote()->node.load() == other);
  }
  // The re-run's items replaced the lost ones: the stream, read to its end
  // before, hands out none again.
  CHECK_FALSE(gen.next(100ms).has_value());
  CHECK(gen.finished());
  // The rebuilt items are kept on the other worker until their refs go.
  CHECK(manta::get(manta::task(big_here).node_affinity(other).remote(bytes), 20s) == 3);
  refs.clear();
  CHECK(count_drops_to_zero(
          [&] { return manta::get(manta::task(big_here).node_affinity(other).remote(bytes), 20s); })
        == 0);
}

TEST_CASE("large items lost with the worker running their generator come from its retry") {
  two_workers cluster;
  auto& [c, doomed, spare, worker, other] = cluster;
  constexpr uint64_t bytes = 2u << 20;
  auto go = c.dir() + "/go";
  // Two items kept on the doomed worker, which dies while the generator
  // waits there; its retry on the other worker yields them again (they
  // replace the lost ones) and the rest.
  auto gen = manta::task(big_items_paused)
               .node_affinity(worker, /*soft=*/true)
               .max_retries(1)
               .remote(bytes, 4, 2, go);
  std::vector<manta::object_ref<std::vector<uint64_t>>> refs;
  for (int k = 0; k < 2; ++k) {
    auto ref = gen.next(60s);
    REQUIRE(ref.has_value());
    REQUIRE(ref->slot()->remote() != nullptr);
    CHECK(ref->slot()->remote()->node.load() == worker);
    refs.push_back(*ref);
  }
  c.kill_worker(doomed, 2);
  touch(go);
  while (auto ref = gen.next(60s))
    refs.push_back(*ref);
  REQUIRE(refs.size() == 4); // none handed out twice
  for (int k = 0; k < 4; ++k) {
    CHECK(big_item_ok(*manta::get_shared(refs[k], 60s), bytes, k));
    CHECK(refs[k].slot()->remote()->node.load() == other);
  }
}

TEST_CASE("a lost large generator item without retries left is an object_lost_error naming it") {
  manta_test::one_worker_cluster cluster{2, 0};
  auto& [c, pid, worker] = cluster;
  constexpr uint64_t bytes = 2u << 20;
  auto gen = manta::task(big_items).max_retries(0).remote(bytes, 2);
  std::vector<manta::object_ref<std::vector<uint64_t>>> refs;
  while (auto ref = gen.next(60s))
    refs.push_back(*ref);
  REQUIRE(refs.size() == 2);
  REQUIRE(refs[0].slot()->remote() != nullptr); // held on the worker, not read yet
  c.kill_worker(pid, 2);
  for (auto& r : refs) {
    std::string what;
    try {
      (void)manta::get(r, 60s);
    } catch (const manta::object_lost_error& e) {
      what = e.what();
    }
    CHECK(what.find(manta::to_string(r.id())) != std::string::npos);
    CHECK(what.find("node-" + std::to_string(worker) + ", which held it, died before it was read")
          != std::string::npos);
    CHECK(what.find("streaming generator task has no retries left") != std::string::npos);
  }
}

TEST_CASE("large items a driver keeps for a worker through a lent handle go when it dies") {
  manta_test::one_worker_cluster cluster{2, 1};
  auto& [c, pid, worker] = cluster;
  constexpr uint64_t bytes = 2u << 20;
  auto here = manta::actor<streamer>().node_affinity(manta::current_node()).remote();
  auto ids_file = c.dir() + "/held_ids";
  auto held = manta::task(hold_through)
                .node_affinity(worker)
                .max_retries(0)
                .remote(here, bytes, 3, ids_file, c.dir() + "/never");
  REQUIRE(appears(ids_file, 60s));
  std::vector<uint64_t> lent;
  {
    std::ifstream in{ids_file};
    for (uint64_t id; in >> id;)
      lent.push_back(id);
  }
  REQUIRE(lent.size() == 3);
  CHECK(listed_here(lent) == 3); // kept here for the worker
  // The worker dies holding them: nothing can read them any more.
  c.kill_worker(pid, 2);
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (listed_here(lent) > 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(20ms);
  CHECK(listed_here(lent) == 0);
  CHECK_THROWS(manta::get(held, 30s));
}

int main(int argc, char** argv) {
  return manta_test::cluster_test_main(argc, argv);
}
