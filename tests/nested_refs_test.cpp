// Refs and actor handles written where no task's or call's arguments or
// result hold them (docs/cluster.md, "Borrowed refs"): a large actor call
// result read over the data path, an actor's constructor arguments, a ref
// inside another ref's inlined bytes (one a driver passes on from one
// worker to another), a result rebuilt from its lineage.
// Each keeps its object (or actor) while some node may still read it and
// lets it go once none can. With real worker processes (this binary is also
// the head and the workers: cluster_main.hpp).

#include "tests/cluster_helpers.hpp"
#include "tests/cluster_main.hpp"
#include "tests/store_listing.hpp"
#include "tests/worker_cluster.hpp"

#include <manta/manta.hpp>
#include <manta/store/borrowers.hpp>
#include <manta/store/held_objects.hpp>

#include <atomic>
#include <chrono>
#include <fstream>
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

using text_refs = std::vector<manta::object_ref<std::string>>;

/// Over `ref_inline_bytes` (64 KiB): a borrower reads it over the data path
/// from its holder, so a read fails once its owner freed it.
std::string large_text(char c) {
  return std::string(size_t{96} << 10, c);
}

std::atomic<uint64_t> g_made{0};

/// The id of the object put last by a task or actor of this process.
uint64_t last_made() {
  return g_made.load();
}
MANTA_REMOTE(last_made);

/// Puts a large text here and returns a ref to it beside 2 MiB of text:
/// the result stays on this node until read (and is rebuilt from its
/// lineage if this node dies first).
std::pair<std::string, manta::object_ref<std::string>> big_with_text(char c) {
  auto r = manta::put(large_text(c));
  g_made = r.id().value();
  return {std::string(size_t{2} << 20, 'x'), r};
}
MANTA_REMOTE(big_with_text);

/// As big_with_text the first time (creating file `flag`); once `flag`
/// exists (a re-run rebuilding the lost result), a small result beside the
/// ref, which travels inline.
std::pair<std::string, manta::object_ref<std::string>> shrinking_with_text(std::string flag) {
  auto r = manta::put(large_text('s'));
  g_made = r.id().value();
  if (std::ifstream{flag})
    return {std::string{}, r};
  std::ofstream{flag} << "ran" << std::endl;
  return {std::string(size_t{2} << 20, 'x'), r};
}
MANTA_REMOTE(shrinking_with_text);

/// How many refs it was given (it reads none of the values behind them).
size_t count_outer(std::vector<manta::object_ref<text_refs>> outer) {
  return outer.size();
}
MANTA_REMOTE(count_outer);

/// Reads the values behind the refs inside the value behind each ref.
std::string read_outer(std::vector<manta::object_ref<text_refs>> outer) {
  std::string out;
  for (auto& o : outer)
    for (auto& r : manta::get(o, 20s))
      out += manta::get(r, 20s).substr(0, 1);
  return out;
}
MANTA_REMOTE(read_outer);

/// A value over 64 KiB holding refs: a borrower fetches it over the data
/// path, encoded again by its holder.
using big_refs = std::pair<std::string, text_refs>;

/// Reads the values behind the refs inside each large value.
std::string read_big_outer(std::vector<manta::object_ref<big_refs>> outer) {
  std::string out;
  for (auto& o : outer)
    for (auto& r : manta::get(o, 20s).second)
      out += manta::get(r, 20s).substr(0, 1);
  return out;
}
MANTA_REMOTE(read_big_outer);

/// Puts a large text here and a small value holding a ref to it (so that
/// ref travels inside the small value's ref), and returns a ref to the
/// small value.
manta::object_ref<text_refs> nested_here(char c) {
  auto inner = manta::put(large_text(c));
  g_made = inner.id().value();
  return manta::put(text_refs{inner});
}
MANTA_REMOTE(nested_here);

/// Puts a large text here and a value over 64 KiB holding a ref to it (a
/// borrower reads it over a data path), and returns a ref to that value.
manta::object_ref<big_refs> big_nested_here(char c) {
  auto inner = manta::put(large_text(c));
  g_made = inner.id().value();
  return manta::put(big_refs{large_text('o'), text_refs{inner}});
}
MANTA_REMOTE(big_nested_here);

/// Waits (bounded) for file `path`, then does what big_nested_here does
/// and returns the value itself: a value over 64 KiB holding a ref, made
/// only once the test lets it.
big_refs big_nested_after(std::string path, char c) {
  auto until = std::chrono::steady_clock::now() + 30s;
  while (!std::ifstream{path} && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(2ms);
  auto inner = manta::put(large_text(c));
  g_made = inner.id().value();
  return big_refs{large_text('o'), text_refs{inner}};
}
MANTA_REMOTE(big_nested_after);

/// Submits big_nested_after here and returns its ref at once, inside a
/// vector, while its value is still being computed (owned by this node).
std::vector<manta::object_ref<big_refs>> spawn_big_nested(std::string path, char c) {
  return {manta::task(big_nested_after).remote(std::move(path), c)};
}
MANTA_REMOTE(spawn_big_nested);

/// An actor on the worker: puts large texts and returns refs to them inside
/// 2 MiB results (kept there until the caller fetched them).
class maker {
public:
  std::pair<std::string, manta::object_ref<std::string>> make(char c) {
    auto r = manta::put(large_text(c));
    g_made = r.id().value();
    return {std::string(size_t{2} << 20, 'z'), r};
  }
};
MANTA_ACTOR(maker, &maker::make);

/// An actor on the driver that a handle given to another actor names.
class target {
public:
  int ping() { return 1; }
};
MANTA_ACTOR(target, &target::ping);

/// An actor that keeps the refs (or handle) its constructor is given.
class ctor_keeper {
public:
  explicit ctor_keeper(text_refs refs) : refs_(std::move(refs)) {}
  explicit ctor_keeper(std::vector<manta::actor_handle<target>> hs) : handles_(std::move(hs)) {}

  std::string read() {
    std::string out;
    for (auto& r : refs_)
      out += manta::get(r, 20s).substr(0, 1);
    return out;
  }

  size_t drop() { return std::exchange(refs_, {}).size() + std::exchange(handles_, {}).size(); }

private:
  text_refs refs_;
  std::vector<manta::actor_handle<target>> handles_;
};
MANTA_ACTOR(ctor_keeper, &ctor_keeper::read, &ctor_keeper::drop);

/// An actor that reads the small values behind the refs it is given and
/// keeps only the refs inside them.
class inner_keeper {
public:
  size_t keep(std::vector<manta::object_ref<text_refs>> outer) {
    for (auto& o : outer)
      for (auto& r : manta::get(o, 20s))
        inner_.push_back(r);
    return inner_.size();
  }

  /// Keeps the refs inside the large values behind the refs it is given.
  size_t keep_big(std::vector<manta::object_ref<big_refs>> outer) {
    for (auto& o : outer)
      for (auto& r : manta::get(o, 20s).second)
        inner_.push_back(r);
    return inner_.size();
  }

  /// Keeps the refs inside the small values inside the value behind `list`.
  size_t keep_listed(manta::object_ref<std::vector<manta::object_ref<text_refs>>> list) {
    return keep(manta::get(list, 20s));
  }

  /// The first letter of each kept object, or how reading one failed.
  std::string read() {
    std::string out;
    try {
      for (auto& r : inner_)
        out += manta::get(r, 20s).substr(0, 1);
    } catch (const std::exception& e) {
      out += std::string{" failed: "} + e.what();
    }
    return out;
  }

  size_t drop() { return std::exchange(inner_, {}).size(); }

private:
  text_refs inner_;
};
MANTA_ACTOR(inner_keeper, &inner_keeper::keep, &inner_keeper::keep_big, &inner_keeper::keep_listed,
            &inner_keeper::read, &inner_keeper::drop);

using target_handles = std::vector<manta::actor_handle<target>>;

/// How many refs to lists of handles it was given (it reads none).
size_t count_handle_lists(std::vector<manta::object_ref<target_handles>> outer) {
  return outer.size();
}
MANTA_REMOTE(count_handle_lists);

/// Calls each actor named in the lists behind the refs; the sum.
int ping_handle_lists(std::vector<manta::object_ref<target_handles>> outer) {
  int sum = 0;
  for (auto& o : outer)
    for (auto& h : manta::get(o, 20s))
      sum += manta::get(h.call(&target::ping).remote(), 20s);
  return sum;
}
MANTA_REMOTE(ping_handle_lists);

/// The state API's id of the driver's actor named `name`.
std::string actor_id(const std::string& name) {
  for (auto& a : manta::list_actors())
    if (a.name == name)
      return a.id;
  return {};
}

/// A cluster of 1-CPU workers and this driver with `driver_cpus`.
struct workers : manta_test::worker_cluster {
  explicit workers(size_t n, int driver_cpus = 0) : worker_cluster(n, 1, driver_cpus) {}

  /// The object a task or actor on worker `k` put last.
  uint64_t made(size_t k) {
    return manta::get(manta::task(last_made).node_affinity(node(k)).remote(), 30s);
  }
};

} // namespace

TEST_CASE("a ref inside a 2 MiB actor call result outlives the result the driver dropped") {
  // The result stays on the worker until the driver fetched it; the driver
  // decodes it (+1 for the ref inside) and drops it (free): the worker must
  // hear the +1 first, or it lets the object go while the driver holds it.
  workers w{1};
  auto k = manta::actor<maker>().node_affinity(w.node(0)).remote();
  for (char c : {'a', 'b', 'c', 'd', 'e', 'f'}) {
    CAPTURE(c);
    // The call's result ref is a temporary: gone (freed) right after get.
    auto inner = manta::get(k.call(&maker::make).remote(c), 60s).second;
    auto id = w.made(0);
    REQUIRE(inner.id().value() == id);
    CHECK(w.holds(0, id)); // after the free: the driver's +1 holds it
    CHECK(manta::get(inner, 30s) == large_text(c)); // fetched from the worker now
    inner = {};
    CHECK(eventually([&] { return !w.holds(0, id); }));
  }
}

TEST_CASE("refs in an actor's constructor arguments stay while it keeps them, go when it dies") {
  workers w{1};
  manta::object_id id;
  manta::actor_handle<ctor_keeper> k;
  {
    auto x = manta::put(large_text('k'));
    id = x.id();
    k = manta::actor<ctor_keeper>().node_affinity(w.node(0)).max_restarts(0).remote(text_refs{x});
  } // the driver's own ref is gone
  CHECK(manta::get(k.call(&ctor_keeper::read).remote(), 60s) == "k");
  CHECK(listed(id));
  manta::kill(k);
  CHECK_THROWS_AS(manta::get(k.call(&ctor_keeper::read).remote(), 60s), manta::actor_died_error);
  k = {};
  CHECK(eventually([&] { return !listed(id); }));
}

TEST_CASE("refs and handles in the constructor arguments of an actor never made are let go") {
  // Its node has no "nowhere" resource: the creation fails after the
  // arguments were written, on no node that read them.
  workers w{1, 1};
  manta::object_id id;
  manta::actor_handle<ctor_keeper> with_ref, with_handle;
  std::string target_id;
  {
    auto x = manta::put(large_text('n'));
    id = x.id();
    auto t = manta::actor<target>().name("lent-in-ctor").remote(); // on the driver
    REQUIRE(manta::get(t.call(&target::ping).remote(), 30s) == 1);
    target_id = actor_id("lent-in-ctor");
    auto never = [&] {
      return manta::actor<ctor_keeper>()
        .node_affinity(w.node(0))
        .resources({{"nowhere", 1}})
        .max_restarts(0);
    };
    with_ref = never().remote(text_refs{x});
    with_handle = never().remote(std::vector{t});
  } // the driver's own ref and handle are gone
  REQUIRE(!target_id.empty());
  CHECK_THROWS_AS(manta::get(with_ref.call(&ctor_keeper::read).remote(), 60s),
                  manta::actor_died_error);
  CHECK_THROWS_AS(manta::get(with_handle.call(&ctor_keeper::read).remote(), 60s),
                  manta::actor_died_error);
  with_ref = {};
  with_handle = {};
  CHECK(eventually([&] { return !listed(id); }));
  CHECK(eventually([&] { return actor_ended(target_id); }));
}

TEST_CASE("a ref inside a value inlined in its ref lives while that value does") {
  workers w{1};
  auto there = [&](auto f) { return manta::task(f).node_affinity(w.node(0)); };

  // Never read on the worker: the inner object goes with the outer one.
  manta::object_id inner_id, outer_id;
  {
    auto inner = manta::put(large_text('u'));
    inner_id = inner.id();
    auto outer = manta::put(text_refs{inner});
    outer_id = outer.id();
    CHECK(manta::get(there(count_outer).remote(std::vector{outer}), 60s) == 1);
  }
  CHECK(eventually([&] { return !listed(outer_id); }));
  CHECK(eventually([&] { return !listed(inner_id); }));

  // Read there after the driver dropped its own refs: still there.
  {
    auto inner = manta::put(large_text('r'));
    inner_id = inner.id();
    auto outer = manta::put(text_refs{inner});
    outer_id = outer.id();
    auto gate = there(read_outer).remote(std::vector{outer});
    inner = {};
    outer = {};
    CHECK(manta::get(gate, 60s) == "r");
  }
  CHECK(eventually([&] { return !listed(outer_id); }));
  CHECK(eventually([&] { return !listed(inner_id); }));

  // Made on the worker, returned inline: the driver reads the outer ref
  // only; the inner object goes on the worker once the driver dropped it.
  {
    auto outer = manta::get(there(nested_here).remote('w'), 60s);
    auto id = w.made(0);
    CHECK(w.holds(0, id));
    CHECK(w.holds(0, outer.id().value()));
    auto outer_on_worker = outer.id().value();
    outer = {};
    CHECK(eventually([&] { return !w.holds(0, outer_on_worker); }));
    CHECK(eventually([&] { return !w.holds(0, id); }));
  }

  // Made on the worker and read here: readable after the worker's task
  // ended, freed there once dropped here.
  {
    auto outer = manta::get(there(nested_here).remote('v'), 60s);
    auto id = w.made(0);
    auto refs = manta::get(outer, 30s);
    REQUIRE(refs.size() == 1);
    outer = {};
    CHECK(manta::get(refs[0], 30s) == large_text('v'));
    CHECK(w.holds(0, id));
    refs = {};
    CHECK(eventually([&] { return !w.holds(0, id); }));
  }
}

/// A task on worker 0 makes a value holding a ref to an object there
/// (`make`, given `c`, the inner object's letter), and the driver passes it
/// on to worker 1's keeper `k` (`pass_on`), which keeps only the inner
/// ref: worker 1 has no link to worker 0 and reports to the driver. Once
/// the driver's refs are gone, the outer value is freed on worker 0 and
/// here, while the inner object stays on worker 0, readable from worker 1,
/// until worker 1 dropped it; then it goes there and here.
template <class Outer, class Pass>
void check_passed_on(workers& w, manta::actor_handle<inner_keeper>& k, char c,
                     manta::object_ref<Outer> (*make)(char), Pass pass_on) {
  CAPTURE(c);
  uint64_t outer_id = 0;
  uint64_t inner_id = 0;
  {
    auto outer = manta::get(manta::task(make).node_affinity(w.node(0)).remote(c), 60s);
    outer_id = outer.id().value();
    inner_id = w.made(0);
    CHECK(manta::object_id{inner_id}.node() == w.node(0));
    pass_on(outer);
  } // the driver's refs are gone; worker 1 keeps only the inner ref
  CHECK(eventually([&] { return !w.holds(0, outer_id); }));
  CHECK(!listed(manta::object_id{outer_id}));
  CHECK(w.holds(0, inner_id));
  CHECK(manta::get(k.call(&inner_keeper::read).remote(), 60s) == std::string(1, c));
  CHECK(manta::get(k.call(&inner_keeper::drop).remote(), 30s) == 1);
  CHECK(eventually([&] { return !w.holds(0, inner_id); }));
  CHECK(eventually([&] { return !listed(manta::object_id{inner_id}); }));
}

TEST_CASE("a ref inside a worker's inlined value that the driver passes on lives while kept") {
  workers w{2};
  auto k = manta::actor<inner_keeper>().node_affinity(w.node(1)).remote();
  // The outer ref as an argument.
  check_passed_on(w, k, 'a', nested_here, [&](manta::object_ref<text_refs>& outer) {
    CHECK(manta::get(k.call(&inner_keeper::keep).remote(std::vector{outer}), 60s) == 1);
  });
  // Inside a value the driver put after reading it (resident here).
  check_passed_on(w, k, 'p', nested_here, [&](manta::object_ref<text_refs>& outer) {
    CHECK(manta::get(outer, 30s).size() == 1);
    auto list = manta::put(std::vector{outer});
    CHECK(manta::get(k.call(&inner_keeper::keep_listed).remote(list), 60s) == 1);
  });
}

TEST_CASE("a ref inside a worker's large value that the driver passes on lives while kept") {
  // As above with a value over 64 KiB, which worker 1 reads over a data
  // path (the driver's, which serves it written again).
  workers w{2};
  auto k = manta::actor<inner_keeper>().node_affinity(w.node(1)).remote();
  auto keep = [&](manta::object_ref<big_refs>& outer) {
    CHECK(manta::get(k.call(&inner_keeper::keep_big).remote(std::vector{outer}), 60s) == 1);
  };
  check_passed_on(w, k, 'a', big_nested_here, keep); // passed on unread
  // Read here first (resident here), and by a task on worker 1.
  check_passed_on(w, k, 'p', big_nested_here, [&](manta::object_ref<big_refs>& outer) {
    CHECK(manta::get(outer, 30s).second.size() == 1);
    auto read = manta::task(read_big_outer).node_affinity(w.node(1)).remote(std::vector{outer});
    CHECK(manta::get(read, 60s) == "p");
    keep(outer);
  });
}

TEST_CASE("a ref inside a worker's large value passed on while computed lives while kept") {
  // As above, with the ref to the outer value passed on while worker 0
  // still computes it: worker 1 borrows it from the driver and waits; once
  // it is sealed the driver reads it from worker 0 and tells worker 1 where
  // it is, written again as its own (ref_resolutions), so the ref inside
  // names the driver, to which worker 1 reports.
  workers w{2};
  auto k = manta::actor<inner_keeper>().node_affinity(w.node(1)).remote();
  auto gate = w.c.dir() + "/nested-pending-gate";
  uint64_t outer_id = 0;
  {
    auto refs = manta::get(manta::task(spawn_big_nested).node_affinity(w.node(0)).remote(gate, 'q'),
                           60s);
    REQUIRE(refs.size() == 1);
    outer_id = refs[0].id().value();
    CHECK(manta::object_id{outer_id}.node() == w.node(0));
    auto kept = k.call(&inner_keeper::keep_big).remote(refs);
    CHECK(eventually([&] { return !manta::detail::ref_borrowers(outer_id).empty(); }));
    CHECK_FALSE(refs[0].ready()); // borrowed by worker 1 while still being computed
    std::ofstream{gate} << "go";
    CHECK(manta::get(kept, 60s) == 1);
  } // the driver's refs are gone; worker 1 keeps only the inner ref
  auto inner_id = w.made(0);
  CHECK(manta::object_id{inner_id}.node() == w.node(0));
  CHECK(eventually([&] { return !w.holds(0, outer_id); }));
  CHECK(!listed(manta::object_id{outer_id}));
  CHECK(w.holds(0, inner_id));
  CHECK(manta::get(k.call(&inner_keeper::read).remote(), 60s) == "q");
  CHECK(manta::get(k.call(&inner_keeper::drop).remote(), 30s) == 1);
  CHECK(eventually([&] { return !w.holds(0, inner_id); }));
  CHECK(eventually([&] { return !listed(manta::object_id{inner_id}); }));
}

TEST_CASE("a ref inside a value served over the data path lives while that value does") {
  workers w{1};
  manta::object_id inner_id, outer_id;
  // Fetched and read on the worker after the driver dropped its own refs.
  {
    auto inner = manta::put(large_text('b'));
    inner_id = inner.id();
    auto outer = manta::put(big_refs{large_text('o'), text_refs{inner}});
    outer_id = outer.id();
    auto gate = manta::task(read_big_outer).node_affinity(w.node(0)).remote(std::vector{outer});
    inner = {};
    outer = {};
    CHECK(manta::get(gate, 60s) == "b");
  }
  CHECK(eventually([&] { return !listed(outer_id); }));
  CHECK(eventually([&] { return !listed(inner_id); }));

  // Served for a read whose reader never decodes it (one that died
  // between its fetch and its decode): what the data path serves is
  // encoded again here, and the ref inside goes with the outer value.
  {
    auto inner = manta::put(large_text('n'));
    inner_id = inner.id();
    auto outer = manta::put(big_refs{large_text('o'), text_refs{inner}});
    outer_id = outer.id();
    auto served = manta::detail::local_object_bytes(outer_id.value());
    REQUIRE(served.has_value());
    CHECK(served->size > (size_t{64} << 10));
  }
  CHECK(eventually([&] { return !listed(outer_id); }));
  CHECK(eventually([&] { return !listed(inner_id); }));
}

TEST_CASE("an actor handle inside a value inlined in its ref lives while that value does") {
  workers w{1, 1}; // the actors live on the driver
  auto there = [&](auto f) { return manta::task(f).node_affinity(w.node(0)); };
  for (bool read : {false, true}) {
    CAPTURE(read);
    auto name = std::string{"inlined-handle-"} + (read ? "read" : "unread");
    std::string id;
    {
      auto t = manta::actor<target>().name(name).remote();
      REQUIRE(manta::get(t.call(&target::ping).remote(), 30s) == 1);
      id = actor_id(name);
      auto outer = manta::put(target_handles{t});
      auto sent = std::vector{outer};
      if (read)
        CHECK(manta::get(there(ping_handle_lists).remote(sent), 60s) == 1);
      else
        CHECK(manta::get(there(count_handle_lists).remote(sent), 60s) == 1);
    } // the driver's own handle and the outer ref are gone
    REQUIRE(!id.empty());
    CHECK(eventually([&] { return actor_ended(id); }));
  }
}

TEST_CASE("a ref inside a result rebuilt from its lineage is held and freed on its new node") {
  workers w{2};
  auto result = manta::task(big_with_text).node_affinity(w.node(0)).max_retries(2).remote('L');
  REQUIRE(eventually([&] { return result.ready(); }, 60s)); // kept on worker 0
  w.c.kill_worker(w.pids[0], 1);
  // Rebuilt on worker 1 (the only one left) when read.
  auto r = manta::get(result, 60s);
  CHECK(r.first.size() == size_t{2} << 20);
  auto id = r.second.id().value();
  CHECK(manta::object_id{id}.node() == w.node(1));
  CHECK(w.made(1) == id);
  result = {}; // the rebuilt result: freed on worker 1 after the +1
  CHECK(w.holds(1, id));
  CHECK(manta::get(r.second, 30s) == large_text('L'));
  r = {};
  CHECK(eventually([&] { return !w.holds(1, id); }));
}

TEST_CASE("a ref inside a result rebuilt inline from its lineage is freed on its new node") {
  // Stored on the first worker (2 MiB), lost with it, and small when the
  // other worker runs it again: the rebuilt result travels inline.
  workers w{2};
  auto flag = w.c.dir() + "/ran-once";
  auto result =
    manta::task(shrinking_with_text).node_affinity(w.node(0)).max_retries(2).remote(flag);
  REQUIRE(eventually([&] { return result.ready(); }, 60s)); // kept on worker 0
  w.c.kill_worker(w.pids[0], 1);
  auto r = manta::get(result, 60s);
  CHECK(r.first.empty()); // the re-run's
  auto id = r.second.id().value();
  CHECK(manta::object_id{id}.node() == w.node(1));
  CHECK(manta::get(r.second, 30s) == large_text('s'));
  CHECK(w.holds(1, id));
  result = {};
  r = {};
  CHECK(eventually([&] { return !w.holds(1, id); }));
}

int main(int argc, char** argv) {
  return manta_test::cluster_test_main(argc, argv);
}
