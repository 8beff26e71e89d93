// Refs inside a small value one worker made, which reaches another worker
// only through the driver (docs/cluster.md, "Borrowed refs", "Passing on"):
// the value travels inside its ref, and the refs inside it name the worker
// that wrote them, to which the other worker has no link. The driver passes
// them on as its own, so the other worker's +1 and -1 reach a node that
// counts them: an inner object it keeps stays while it keeps it (after the
// outer value is gone everywhere) and is freed once it let go. With real
// worker processes (this binary is also the head and the workers:
// cluster_main.hpp).

#include "tests/cluster_helpers.hpp"
#include "tests/cluster_main.hpp"
#include "tests/store_listing.hpp"

#include <manta/manta.hpp>

#include <atomic>
#include <chrono>
#include <map>
#include <string>
#include <utility>
#include <vector>

using namespace std::chrono_literals;

namespace {

using manta_test::eventually;
using manta_test::listed;

using text_refs = std::vector<manta::object_ref<std::string>>;

/// Over `ref_inline_bytes` (64 KiB): a borrower reads it over the data path
/// from its holder, so a read fails once that node freed it.
std::string large_text(char c) {
  return std::string(size_t{96} << 10, c);
}

/// Whether this process's store lists object `id` (asked on a worker).
bool held_here(uint64_t id) {
  return listed(manta::object_id{id});
}
MANTA_REMOTE(held_here);

std::atomic<uint64_t> g_made{0};

/// The id of the object put last by a task of this process.
uint64_t last_made() {
  return g_made.load();
}
MANTA_REMOTE(last_made);

/// Puts a large text here and a small value holding a ref to it (so that
/// ref travels inside the small value's ref, naming this node), and returns
/// a ref to the small value.
manta::object_ref<text_refs> nested_here(char c) {
  auto inner = manta::put(large_text(c));
  g_made = inner.id().value();
  return manta::put(text_refs{inner});
}
MANTA_REMOTE(nested_here);

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
MANTA_ACTOR(inner_keeper, &inner_keeper::keep, &inner_keeper::keep_listed, &inner_keeper::read,
            &inner_keeper::drop);

/// Two 1-CPU workers, A (maker) and B (keeper), and this driver with none.
struct two_workers {
  manta::local_cluster c;
  std::vector<pid_t> pids{c.add_worker(1), c.add_worker(1)};
  std::map<int, manta::node_id> nodes = joined();

  std::map<int, manta::node_id> joined() {
    c.join(0);
    auto out = manta_test::worker_nodes(2);
    REQUIRE(out.size() == 2);
    return out;
  }

  manta::node_id node(size_t k) { return nodes.at(pids.at(k)); }

  /// Whether worker `k`'s store lists object `id`.
  bool holds(size_t k, uint64_t id) {
    return manta::get(manta::task(held_here).node_affinity(node(k)).remote(id), 30s);
  }

  /// The object a task on worker `k` put last.
  uint64_t made(size_t k) {
    return manta::get(manta::task(last_made).node_affinity(node(k)).remote(), 30s);
  }
};

/// After B's actor keeps only the inner ref, and the outer value is gone on
/// A: B still reads the inner object, then drops it, and A frees it.
void check_kept_then_freed(two_workers& w, manta::actor_handle<inner_keeper>& k, uint64_t outer_id,
                           uint64_t inner_id, char c) {
  CHECK(eventually([&] { return !w.holds(0, outer_id); }));
  CHECK(!listed(manta::object_id{outer_id}));
  CHECK(w.holds(0, inner_id));
  CHECK(manta::get(k.call(&inner_keeper::read).remote(), 60s) == std::string(1, c));
  CHECK(manta::get(k.call(&inner_keeper::drop).remote(), 30s) == 1);
  CHECK(eventually([&] { return !w.holds(0, inner_id); }));
  CHECK(eventually([&] { return !listed(manta::object_id{inner_id}); }));
}

} // namespace

TEST_CASE("a ref inside a worker's inlined value that the driver passes on lives while kept") {
  two_workers w;
  auto k = manta::actor<inner_keeper>().node_affinity(w.node(1)).remote();

  SUBCASE("the outer ref as an argument") {
    uint64_t outer_id = 0;
    uint64_t inner_id = 0;
    {
      auto outer = manta::get(manta::task(nested_here).node_affinity(w.node(0)).remote('p'), 60s);
      outer_id = outer.id().value();
      inner_id = w.made(0);
      CHECK(manta::object_id{inner_id}.node() == w.node(0));
      CHECK(manta::get(k.call(&inner_keeper::keep).remote(std::vector{outer}), 60s) == 1);
    } // the driver's ref to the outer value is gone; B keeps only the inner one
    check_kept_then_freed(w, k, outer_id, inner_id, 'p');
  }

  SUBCASE("the outer ref inside a value the driver put, after the driver read it") {
    uint64_t outer_id = 0;
    uint64_t inner_id = 0;
    {
      auto outer = manta::get(manta::task(nested_here).node_affinity(w.node(0)).remote('q'), 60s);
      outer_id = outer.id().value();
      inner_id = w.made(0);
      CHECK(manta::get(outer, 30s).size() == 1); // read here first: resident on the driver
      auto list = manta::put(std::vector{outer});
      CHECK(manta::get(k.call(&inner_keeper::keep_listed).remote(list), 60s) == 1);
    }
    check_kept_then_freed(w, k, outer_id, inner_id, 'q');
  }
}

int main(int argc, char** argv) {
  return manta_test::cluster_test_main(argc, argv);
}
