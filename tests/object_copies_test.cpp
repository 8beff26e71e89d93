// The object directory across processes: a node that reads an object
// argument keeps it as a copy and reports it to the owner, which names it
// to later readers; the copy outlives the node that made the object, and
// freeing the object frees its copies.

#include "tests/cluster_checks.hpp"
#include "tests/cluster_helpers.hpp"
#include "tests/cluster_main.hpp"

#include <manta/manta.hpp>

#include "manta/core/runtime.hpp"
#include "manta/store/object_store.hpp"
#include "manta/net/object_transfer.hpp"
#include "manta/cluster/remote_object.hpp"

#include <chrono>
#include <cstdint>
#include <cstring>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace std::chrono_literals;

namespace {

/// `mb` MiB of a pattern that starts with the pid of the process that made it.
std::vector<char> make_blob(int mb) {
  std::vector<char> v(static_cast<size_t>(mb) << 20);
  uint64_t x = 0x9E3779B97F4A7C15ull ^ static_cast<uint64_t>(mb);
  for (auto& c : v) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    c = static_cast<char>(x);
  }
  int32_t pid = ::getpid();
  std::memcpy(v.data(), &pid, sizeof(pid));
  return v;
}

/// FNV-1a over every byte.
uint64_t digest(const std::vector<char>& v) {
  uint64_t h = 1469598103934665603ull;
  for (char c : v)
    h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  return h;
}

/// Bytes this node's transfer server has sent.
uint64_t served_here(int) {
  return manta::detail::bytes_served();
}

/// Whether this node holds object `id` (made here or copied).
bool holds(uint64_t id) {
  return manta::detail::runtime::here().store().held().find(id) != nullptr;
}

MANTA_REMOTE(make_blob, digest, served_here, holds);

/// Waits until `node` holds `id` or not, as `want` says; false after 5 s.
bool wait_holds(manta::node_id node, uint64_t id, bool want) {
  for (int i = 0; i < 100; ++i) {
    if (manta::get(manta::task(holds).node_affinity(node).remote(id), 10s) == want)
      return true;
    std::this_thread::sleep_for(50ms);
  }
  return false;
}

uint64_t served_on(manta::node_id node) {
  return manta::get(manta::task(served_here).node_affinity(node).remote(0), 10s);
}

} // namespace

TEST_CASE("a reader's copy serves the owner after the node that made the object died") {
  manta_test::two_worker_cluster cluster;
  auto& [c, maker, reader, node_of] = cluster;
  auto blob = manta::task(make_blob).node_affinity(node_of[maker]).remote(24);
  manta::wait(std::vector{blob}, 1, 20s);
  REQUIRE(blob.slot()->remote() != nullptr); // stored on the maker
  auto id = blob.id().value();
  auto seen = manta::get(manta::task(digest).node_affinity(node_of[reader]).remote(blob), 20s);
  CHECK(wait_holds(node_of[reader], id, true)); // kept as a copy
  auto served_before = served_on(node_of[reader]);
  c.kill_worker(maker, 1);
  c.wait_for_cpus(1);
  // The driver reads it from the copy: the same bytes, made by the dead
  // maker (a lineage rebuild would have run make_blob on the reader).
  auto bytes = manta::get(blob, 20s);
  REQUIRE(bytes.size() == size_t{24} << 20);
  int32_t pid = 0;
  std::memcpy(&pid, bytes.data(), sizeof(pid));
  CHECK(pid == maker);
  CHECK(digest(bytes) == seen);
  CHECK(served_on(node_of[reader]) - served_before >= bytes.size());
}

TEST_CASE("a put object read by two nodes: the second reads from both, free drops the copies") {
  manta_test::two_worker_cluster cluster;
  auto& [c, a, b, node_of] = cluster;
  auto data = make_blob(64);
  auto expect = digest(data);
  auto obj = manta::put(std::move(data));
  auto id = obj.id().value();
  CHECK(manta::get(manta::task(digest).node_affinity(node_of[a]).remote(obj), 20s) == expect);
  CHECK(wait_holds(node_of[a], id, true));
  auto a_before = served_on(node_of[a]);
  auto driver_before = manta::detail::bytes_served();
  CHECK(manta::get(manta::task(digest).node_affinity(node_of[b]).remote(obj), 20s) == expect);
  CHECK(wait_holds(node_of[b], id, true));
  // Both holders served part of the 64 MiB, together all of it.
  auto from_a = served_on(node_of[a]) - a_before;
  auto from_driver = manta::detail::bytes_served() - driver_before;
  CHECK(from_a > 0);
  CHECK(from_driver > 0);
  CHECK(from_a + from_driver >= uint64_t{64} << 20);
  // The owner lets go: the copies go too.
  obj = {};
  CHECK(wait_holds(node_of[a], id, false));
  CHECK(wait_holds(node_of[b], id, false));
}

TEST_CASE("a node that died is no holder: readers go to the copies left") {
  manta::local_cluster c;
  auto a = c.add_worker(1);
  auto b = c.add_worker(1);
  auto d = c.add_worker(1);
  c.join(0);
  auto node_of = manta_test::worker_nodes(3);
  REQUIRE(node_of.size() == 3);
  auto blob = manta::task(make_blob).node_affinity(node_of[a]).remote(16);
  auto first = manta::get(manta::task(digest).node_affinity(node_of[b]).remote(blob), 20s);
  CHECK(wait_holds(node_of[b], blob.id().value(), true));
  c.kill_worker(a, 1);
  c.wait_for_cpus(2);
  // d reads it from b's copy (the maker is gone, nothing is rebuilt).
  auto b_before = served_on(node_of[b]);
  CHECK(manta::get(manta::task(digest).node_affinity(node_of[d]).remote(blob), 20s) == first);
  CHECK(served_on(node_of[b]) - b_before >= uint64_t{16} << 20);
}

int main(int argc, char** argv) {
  return manta_test::cluster_test_main(argc, argv);
}
