// Refs inside the items of a streaming generator that runs on a worker
// (docs/cluster.md, "Borrowed refs", "Containers"): each item pins the
// objects its refs name on the worker only until the driver decoded it or
// dropped it undecoded, so an item that arrives after its stream is gone,
// or that a re-run of the generator repeats, no longer keeps them until
// shutdown. With real worker processes (this binary is also the head and
// the workers: cluster_main.hpp).

#include "tests/cluster_helpers.hpp"
#include "tests/cluster_main.hpp"
#include "tests/store_listing.hpp"
#include "tests/worker_cluster.hpp"

#include <manta/core/codec.hpp>
#include <manta/core/runtime.hpp>
#include <manta/sched/item_stream.hpp>
#include <manta/store/object_store.hpp>

#include <manta/manta.hpp>

#include <caf/error.hpp>
#include <caf/meta/save_callback.hpp>
#include <caf/meta/type_name.hpp>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

using namespace std::chrono_literals;

namespace {

using manta_test::appears;
using manta_test::eventually;
using manta_test::listed;
using manta_test::touch;

using refs = std::vector<manta::object_ref<int>>;
/// An item: text (2 MiB makes it a large item, kept on its worker) and refs.
using padded = std::pair<std::string, refs>;

std::mutex g_mtx;
std::vector<uint64_t> g_made; // the objects put for items on this node

/// Puts `n` here for an item and remembers its id.
manta::object_ref<int> made(int n) {
  auto r = manta::put(n);
  std::lock_guard<std::mutex> guard{g_mtx};
  g_made.push_back(r.id().value());
  return r;
}

/// The ids of the objects put for items on this node so far.
std::vector<uint64_t> made_here() {
  std::lock_guard<std::mutex> guard{g_mtx};
  return g_made;
}
MANTA_REMOTE(made_here);


/// Yields a ref to 0, then `late` more items with a ref each, yielded by
/// a thread of its own once file `go` exists: that thread does not see
/// the task's cancel, as a producer that has not heard of it yet does not,
/// so those items reach the driver after it dropped the stream. Writes
/// `done` once they are sent.
void late_items(manta::generator_sink<refs>& out, int late, std::string go, std::string done) {
  out.yield(refs{made(0)});
  std::thread t{[&] {
    if (!appears(go, 30s))
      return;
    for (int k = 1; k <= late; ++k)
      out.yield(refs{made(k)});
    touch(done);
  }};
  t.join();
}
MANTA_REMOTE(late_items);

/// Yields item 0 large (2 MiB of text, kept on this node) and item 1
/// small, each with a ref to its index put here.
void mixed_items(manta::generator_sink<padded>& out) {
  out.yield(padded{std::string(size_t{2} << 20, 'p'), refs{made(0)}});
  out.yield(padded{"small", refs{made(1)}});
}
MANTA_REMOTE(mixed_items);

/// As mixed_items the first time (creating file `flag`); once `flag`
/// exists (a re-run rebuilding the lost item 0), item 0 is small too: it
/// travels inline, against the generator's contract of the same items.
void shrinking_items(manta::generator_sink<padded>& out, std::string flag) {
  bool again = std::filesystem::exists(flag);
  touch(flag);
  out.yield(padded{again ? "small" : std::string(size_t{2} << 20, 'p'), refs{made(0)}});
  out.yield(padded{"small", refs{made(1)}});
}
MANTA_REMOTE(shrinking_items);

/// An actor on a worker whose generator method does what late_items does.
class late_actor {
public:
  void items(manta::generator_sink<refs>& out, int late, std::string go, std::string done) {
    late_items(out, late, go, done);
  }
};
MANTA_ACTOR(late_actor, &late_actor::items);

/// Text of 100 KiB: above the size that travels inside a ref, so a
/// borrower reads it from its owner's node.
std::string fetched_text() {
  return std::string(size_t{100} << 10, 't');
}

using texts = std::pair<std::string, std::vector<manta::object_ref<std::string>>>;

/// Puts fetched_text() here and yields a ref to it twice: in item 0
/// (small) and in item 1 (2 MiB, kept on this node until read); the
/// producer's own ref is gone when it ends.
void twice(manta::generator_sink<texts>& out) {
  auto x = manta::put(fetched_text());
  out.yield(texts{"small", {x}});
  out.yield(texts{std::string(size_t{2} << 20, 'q'), {x}});
}
MANTA_REMOTE(twice);

/// An item whose encoding throws once its refs are written (`fail`): a
/// value that cannot be written for the caller.
struct poisoned {
  refs r;
  bool fail = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, poisoned& x) {
  auto check = caf::meta::save_callback([&]() -> caf::error {
    if (x.fail)
      throw std::runtime_error("this item cannot be written");
    return caf::none;
  });
  return f(caf::meta::type_name("poisoned"), x.r, x.fail, check);
}

/// Yields a ref to 0, then an item with a ref to 1 whose encoding throws;
/// with `go_on` the producer catches that and yields a ref to 2, else the
/// error ends it.
void poisoned_items(manta::generator_sink<poisoned>& out, bool go_on) {
  out.yield(poisoned{refs{made(0)}, false});
  try {
    out.yield(poisoned{refs{made(1)}, true});
  } catch (const std::runtime_error& e) {
    if (!go_on || std::string{e.what()}.find("cannot be written") == std::string::npos)
      throw;
  }
  out.yield(poisoned{refs{made(2)}, false});
}
MANTA_REMOTE(poisoned_items);

/// Yields one item without refs.
void one_item(manta::generator_sink<refs>& out) {
  out.yield(refs{});
}
MANTA_REMOTE(one_item);

/// A cluster of `n` workers of `cpus` CPUs and this driver (no CPUs of its
/// own).
struct workers : manta_test::worker_cluster {
  explicit workers(size_t n, int cpus = 2) : worker_cluster(n, cpus, 0) {}

  std::vector<uint64_t> made_on(size_t i) {
    return manta::get(manta::task(made_here).node_affinity(node(i)).remote(), 30s);
  }

  /// The objects worker `i` made for items, once there are `n` (within
  /// `eventually`'s time); requires that there are.
  std::vector<uint64_t> made_when(size_t i, size_t n) {
    std::vector<uint64_t> ids;
    REQUIRE(eventually([&] {
      ids = made_on(i);
      return ids.size() == n;
    }));
    return ids;
  }

  /// Requires that worker `i` made `n` objects for items, and that its store
  /// lets each of them go in time.
  void check_made_and_freed(size_t i, size_t n) {
    auto ids = made_on(i);
    REQUIRE(ids.size() == n);
    for (auto id : ids)
      CHECK(eventually([&] { return !holds(i, id); }));
  }

  /// After a generator's re-run on worker `i` made `ids` (item 0's object,
  /// read here, and item 1's, dropped undecoded as a repeat): requires that
  /// the first is still held and the second goes, and that the first goes
  /// too once `drop_refs` has let go of this driver's refs to it.
  template <class DropRefs>
  void check_rerun_freed(size_t i, const std::vector<uint64_t>& ids, DropRefs drop_refs) {
    REQUIRE(ids.size() == 2);
    CHECK(holds(i, ids[0])); // read here, still held
    CHECK(eventually([&] { return !holds(i, ids[1]); }));
    drop_refs();
    CHECK(eventually([&] { return !holds(i, ids[0]); }));
  }
};

} // namespace

TEST_CASE("refs inside generator items that arrive after the stream is gone are freed") {
  workers w{1};
  auto go = w.c.dir() + "/go";
  auto done = w.c.dir() + "/done";
  uint64_t first_id = 0;
  {
    auto gen = manta::task(late_items).node_affinity(w.node(0)).remote(3, go, done);
    auto first = gen.next(60s);
    REQUIRE(first.has_value());
    auto inner = manta::get(*first, 30s);
    REQUIRE(inner.size() == 1);
    CHECK(manta::get(inner[0], 30s) == 0);
    first_id = inner[0].id().value();
  } // the stream, item 0 and its ref are gone
  touch(go);
  REQUIRE(appears(done, 60s));
  auto ids = w.made_on(0);
  REQUIRE(ids.size() == 4);
  // Item 0, read and dropped here: freed on the worker (as before).
  CHECK(eventually([&] { return !w.holds(0, first_id); }));
  // Items 1 to 3 came to no stream: dropped undecoded, their refs freed.
  for (size_t k = 1; k < ids.size(); ++k)
    CHECK(eventually([&] { return !w.holds(0, ids[k]); }));
}

TEST_CASE(
  "refs inside items of a generator method that arrive after the stream is gone are freed") {
  workers w{1};
  auto go = w.c.dir() + "/go";
  auto done = w.c.dir() + "/done";
  auto a = manta::actor<late_actor>().node_affinity(w.node(0)).remote();
  {
    auto gen = a.call(&late_actor::items).remote(2, go, done);
    auto first = gen.next(60s);
    REQUIRE(first.has_value());
    CHECK(manta::get(manta::get(*first, 30s).at(0), 30s) == 0);
  }
  touch(go);
  REQUIRE(appears(done, 60s));
  w.check_made_and_freed(0, 3);
}

TEST_CASE("a ref in two generator items stays for the second after the first was dropped") {
  workers w{1};
  auto gen = manta::task(twice).node_affinity(w.node(0)).remote();
  std::vector<manta::object_ref<texts>> items;
  while (auto item = gen.next(60s))
    items.push_back(*item);
  REQUIRE(items.size() == 2);
  REQUIRE(gen.finished()); // the producer's own ref is gone
  REQUIRE(items[1].slot()->remote() != nullptr); // kept on the worker, not read
  uint64_t x_id = 0;
  {
    auto first = manta::get(items[0], 30s);
    REQUIRE(first.second.size() == 1);
    x_id = first.second[0].id().value();
    CHECK(manta::get(first.second[0], 30s) == fetched_text());
  }
  items[0] = {}; // this driver's only copy of the ref goes: the worker hears -1
  // Item 1, unread, still holds the ref: the object is there when it is read.
  auto second = manta::get(items[1], 60s);
  REQUIRE(second.second.size() == 1);
  CHECK(second.second[0].id().value() == x_id);
  CHECK(manta::get(second.second[0], 30s) == fetched_text());
  second = {};
  items.clear();
  CHECK(eventually([&] { return !w.holds(0, x_id); }));
}

TEST_CASE("refs inside generator items a re-run repeats are freed on its node") {
  workers w{2};
  // On worker 0, with one retry: the re-run rebuilds its lost large item.
  auto gen =
    manta::task(mixed_items).node_affinity(w.node(0), /*soft=*/true).max_retries(1).remote();
  auto big = gen.next(60s);
  REQUIRE(big.has_value());
  REQUIRE(big->slot()->remote() != nullptr); // kept on worker 0, not read
  auto small = gen.next(60s);
  REQUIRE(small.has_value());
  CHECK(manta::get(manta::get(*small, 30s).second.at(0), 30s) == 1);
  CHECK_FALSE(gen.next(60s).has_value());
  w.c.kill_worker(w.pids[0], 2);
  // The read of item 0 re-runs the generator on worker 1: its item 0 takes
  // the lost one's place, its item 1 goes nowhere (the stream had one).
  auto value = manta::get(*big, 60s);
  CHECK(value.first.size() == (size_t{2} << 20));
  REQUIRE(value.second.size() == 1);
  CHECK(manta::get(value.second[0], 30s) == 0);
  CHECK(big->slot()->remote()->node.load() == w.node(1));
  // The re-run's item 1 was dropped undecoded: its object goes; item 0's
  // goes once this driver drops it.
  w.check_rerun_freed(1, w.made_when(1, 2), [&] {
    value = {};
    big.reset();
    small.reset();
  });
}

TEST_CASE("refs inside a small item that takes a lost large item's place are freed on its node") {
  workers w{2};
  auto flag = w.c.dir() + "/ran-once";
  auto gen = manta::task(shrinking_items)
               .node_affinity(w.node(0), /*soft=*/true)
               .max_retries(1)
               .remote(flag);
  auto big = gen.next(60s);
  REQUIRE(big.has_value());
  REQUIRE(big->slot()->remote() != nullptr); // kept on worker 0, not read
  auto small = gen.next(60s);
  REQUIRE(small.has_value());
  CHECK_FALSE(gen.next(60s).has_value());
  w.c.kill_worker(w.pids[0], 2);
  // The read of item 0 re-runs the generator on worker 1, whose item 0 is
  // small this time: it comes back inline and is decoded here.
  auto value = manta::get(*big, 60s);
  CHECK(value.first == "small");
  REQUIRE(value.second.size() == 1);
  CHECK(manta::get(value.second[0], 30s) == 0);
  auto ids = w.made_when(1, 2); // the re-run's two objects
  CHECK(value.second[0].id().value() == ids[0]);
  // Item 1, a repeat, dropped: its object goes; item 0's goes once this
  // driver dropped it (and the item).
  w.check_rerun_freed(1, ids, [&] {
    value = {};
    big.reset();
    small.reset();
  });
}

TEST_CASE("an item whose encoding throws lends no refs and its error reaches the caller there") {
  workers w{1};
  {
    auto gen = manta::task(poisoned_items).node_affinity(w.node(0)).remote(false);
    auto first = gen.next(60s);
    REQUIRE(first.has_value());
    CHECK(manta::get(manta::get(*first, 30s).r.at(0), 30s) == 0);
    // The producer's error is the item where it stopped: item 1.
    auto second = gen.next(60s);
    REQUIRE(second.has_value());
    std::string what;
    try {
      manta::get(*second, 30s);
    } catch (const std::exception& e) {
      what = e.what();
    }
    CHECK(what.find("this item cannot be written") != std::string::npos);
    CHECK_FALSE(gen.next(60s).has_value());
  }
  // The ref written into item 1 before its encoding threw went nowhere:
  // nothing pins its object once the producer's own ref is gone.
  w.check_made_and_freed(0, 2);
}

TEST_CASE("the item after one whose encoding threw takes its place") {
  workers w{1};
  {
    auto gen = manta::task(poisoned_items).node_affinity(w.node(0)).remote(true);
    std::vector<int> values;
    while (auto item = gen.next(60s))
      values.push_back(manta::get(manta::get(*item, 30s).r.at(0), 30s));
    std::string seen;
    for (auto v : values)
      seen += std::to_string(v) + " ";
    CHECK(seen == "0 2 ");
    CHECK(gen.finished());
  }
  w.check_made_and_freed(0, 3);
}

TEST_CASE("refs inside late items the early buffer drops when it overflows are freed") {
  // This driver keeps 4 stream ids (main): the late items of 5 streams
  // gone longer ago than that wait in the early buffer, and the fifth
  // stream's overflows it.
  workers w{1, 8};
  auto go = w.c.dir() + "/go";
  auto done = [&](int k) { return w.c.dir() + "/done" + std::to_string(k); };
  // A stream kept meanwhile: its late items reach it.
  auto live = manta::task(late_items).node_affinity(w.node(0)).remote(2, go, done(0));
  auto live_first = live.next(60s);
  REQUIRE(live_first.has_value());
  CHECK(manta::get(manta::get(*live_first, 30s).at(0), 30s) == 0);
  for (int k = 1; k <= 5; ++k) {
    auto gen = manta::task(late_items).node_affinity(w.node(0)).remote(1, go, done(k));
    auto first = gen.next(60s);
    REQUIRE(first.has_value());
    CHECK(manta::get(manta::get(*first, 30s).at(0), 30s) == 0);
  } // gone, their producers still to yield
  for (int k = 0; k < 4; ++k) { // gone after them: no id of theirs is kept
    auto gen = manta::task(one_item).node_affinity(w.node(0)).remote();
    while (gen.next(60s)) {
    }
    REQUIRE(gen.finished());
  }
  touch(go);
  for (int k = 0; k <= 5; ++k)
    REQUIRE(appears(done(k), 60s));
  std::vector<uint64_t> live_ids{manta::get(*live_first, 30s).at(0).id().value()};
  for (int value = 1; value <= 2; ++value) {
    auto item = live.next(60s);
    REQUIRE(item.has_value());
    auto inner = manta::get(*item, 30s);
    REQUIRE(inner.size() == 1);
    CHECK(manta::get(inner[0], 30s) == value);
    live_ids.push_back(inner[0].id().value());
  }
  CHECK_FALSE(live.next(60s).has_value());
  auto ids = w.made_on(0);
  REQUIRE(ids.size() == 13); // 3 for the live stream, 2 for each gone one
  std::vector<uint64_t> late; // the gone streams' late items'
  for (size_t k = 6; k < ids.size(); ++k)
    if (std::find(live_ids.begin(), live_ids.end(), ids[k]) == live_ids.end())
      late.push_back(ids[k]);
  REQUIRE(late.size() == 5);
  auto held = [&] {
    return std::count_if(late.begin(), late.end(), [&](uint64_t id) { return w.holds(0, id); });
  };
  // The overflow dropped the items of the first 4 undecoded: their refs
  // are let go on the worker. The fifth's item waits in the buffer (until
  // the next overflow or the runtime's end) and keeps its object.
  CHECK(eventually([&] { return held() == 1; }));
  CHECK(held() == 1);
  live_first.reset();
  live = {};
  for (size_t k = 0; k < 6; ++k) // the items read here, dropped
    CHECK(eventually([&] { return !w.holds(0, ids[k]); }));
  for (auto id : live_ids)
    CHECK(eventually([&] { return !w.holds(0, id); }));
}

TEST_CASE("a stream enrolled after the early buffer dropped its items gets an error there") {
  workers w{1};
  namespace d = manta::detail;
  auto& rt = d::runtime::require("test");
  // Item 0 of task `task` comes from another node before its stream is
  // enrolled (its caller was descheduled between submitting and
  // enrolling), then items of 4 more tasks: the buffer (4 ids here)
  // overflows and drops it.
  auto bytes = d::encode(refs{});
  auto task = rt.next_object_id().value();
  d::item_stream::deliver(task, 0, bytes);
  for (int k = 0; k < 4; ++k)
    d::item_stream::deliver(rt.next_object_id().value(), 0, bytes);
  // The stream comes now, as start_generator makes it.
  auto stream = std::make_shared<d::item_stream>();
  auto result = rt.store().table().create(manta::object_id{task});
  stream->watch(result);
  stream->decode_item = [](std::span<const char> b) {
    refs value;
    REQUIRE(!d::decode(b, value));
    return manta::put(std::move(value)).slot();
  };
  d::item_stream::enroll(stream);
  manta::object_ref_generator<refs> gen{stream};
  d::item_stream::deliver(task, 1, bytes); // after the hole: not handed out
  result->seal_value(std::make_shared<int>(0), typeid(int), sizeof(int)); // the producer ended
  auto item = gen.next(30s);
  REQUIRE(item.has_value()); // not a silent end
  CHECK_THROWS_AS(manta::get(*item, 30s), manta::object_lost_error);
  CHECK_FALSE(gen.next(30s).has_value());
  CHECK(gen.finished());
}

int main(int argc, char** argv) {
  // The early buffer and the gone streams keep 4 stream ids on the driver
  // (1,024 by default), so a test reaches the buffer's limit.
  ::setenv("MANTA_STREAM_ID_MEMORY", "4", 1);
  return manta_test::cluster_test_main(argc, argv);
}
