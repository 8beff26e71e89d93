// How many times a small result (under the 1 MiB inline limit) is copied
// on its way from a worker node to the driver, counted in real processes:
// each copy of the value into a fresh buffer is one `operator new` of at
// least its size (allocation_hook::count_allocations_from), on the worker
// (the value the task or method returns: a byte vector is its own
// encoding, which travels beside its message) and on the driver (the
// bytes as they arrive, which are the value). CAF's own copies into and
// out of the connections' buffers are not counted (those buffers are
// reused). A copy that crept back into the path would add one per result
// here.

#include "tests/cluster_checks.hpp"
#include "tests/cluster_helpers.hpp"
#include "tests/cluster_main.hpp"

#include <manta/store/allocation_hook.hpp>
#include <manta/manta.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace {

namespace hook = manta::detail::allocation_hook;

/// The value each task and call returns: 700 KiB, inline, and larger than
/// anything else the path allocates (it counts from 600 KiB).
constexpr uint64_t value_bytes = uint64_t{700} << 10;
constexpr uint64_t counted_from = uint64_t{600} << 10;

std::vector<char> blob(uint64_t bytes) {
  return std::vector<char>(bytes, 'v');
}

/// Starts counting in the process it runs in; the count so far.
uint64_t count_here(uint64_t from) {
  hook::count_allocations_from(from);
  return hook::counted_allocations();
}

/// `n` bytes (or elements) of a pattern seeded by `seed`: the results of
/// other types that travel beside their message and are decoded there.
std::vector<char> char_pattern(uint64_t n, uint64_t seed) {
  std::vector<char> v(n);
  for (uint64_t i = 0; i < n; ++i)
    v[i] = static_cast<char>((i * 7 + seed) % 251);
  return v;
}

std::vector<uint64_t> word_pattern(uint64_t n, uint64_t seed) {
  std::vector<uint64_t> v(n);
  for (uint64_t i = 0; i < n; ++i)
    v[i] = i * 0x9E3779B97F4A7C15ull + seed;
  return v;
}

std::string text_pattern(uint64_t n, uint64_t seed) {
  auto v = char_pattern(n, seed);
  return {v.begin(), v.end()};
}

MANTA_REMOTE(blob, count_here, char_pattern, word_pattern, text_pattern);

class maker {
public:
  std::vector<char> make(uint64_t bytes) { return blob(bytes); }
};
MANTA_ACTOR(maker, &maker::make);

class patterns {
public:
  std::vector<char> chars(uint64_t n, uint64_t seed) { return char_pattern(n, seed); }
  std::vector<uint64_t> words(uint64_t n, uint64_t seed) { return word_pattern(n, seed); }
};
MANTA_ACTOR(patterns, &patterns::chars, &patterns::words);

/// Large allocations on the worker and here while `run` makes `n` results
/// one at a time (after three of them, which grow the connections'
/// buffers).
template <class Run>
std::pair<uint64_t, uint64_t> allocations_per_result(Run run, int n) {
  auto on_worker = [] { return manta::get(manta::task(count_here).remote(counted_from)); };
  hook::count_allocations_from(counted_from);
  for (int i = 0; i < 3; ++i)
    REQUIRE(run()->size() == value_bytes);
  auto worker_before = on_worker();
  auto here_before = hook::counted_allocations();
  for (int i = 0; i < n; ++i)
    REQUIRE(run()->size() == value_bytes);
  auto here = hook::counted_allocations() - here_before;
  auto worker = on_worker() - worker_before;
  MESSAGE("allocations of the value's size for " << n << " results: " << worker
                                                 << " on the worker, " << here << " here");
  return {worker, here};
}

/// What a buffer that grows once more in the window may add (CAF's write
/// buffers, a result that leaves in a batch now and then): far below the
/// `n` one more copy per result would add.
constexpr uint64_t slack = 2;

struct one_worker {
  manta::local_cluster c;
  one_worker() {
    c.add_worker(1);
    c.join(0); // no CPUs here: every task runs on the worker
  }
};

} // namespace

TEST_CASE_FIXTURE(one_worker, "a task's small result is not copied on the worker") {
  constexpr int n = 10;
  auto [worker, here] = allocations_per_result(
    [] { return manta::get_shared(manta::task(blob).remote(value_bytes)); }, n);
  // The worker: the value the task returns, nothing more: a vector of bytes
  // is its own encoding (remote_invoker), which travels beside the result
  // message, not copied into it (early_answer), and CAF writes it from
  // there into the connection's buffer (reused, so not counted here).
  CHECK(worker <= n + slack);
  CHECK(worker >= n); // the count sees the path at all
  // The driver: the bytes as they arrive, which are the value (a
  // std::vector<char> is its own encoding: moved into the slot, not
  // decoded).
  CHECK(here <= n + slack);
  CHECK(here >= n);
}

TEST_CASE_FIXTURE(one_worker, "an actor call's small result is not copied on the worker") {
  auto a = manta::actor<maker>().node_affinity(manta_test::sole_worker_node()).remote();
  constexpr int n = 10;
  auto [worker, here] = allocations_per_result(
    [&] { return manta::get_shared(a.call(&maker::make).remote(value_bytes)); }, n);
  // The value the method returns, nothing more: a vector's bytes are its
  // encoding, which travels beside the result message (finished_result),
  // not copied into it.
  CHECK(worker <= n + slack);
  CHECK(worker >= n);
  // Here the bytes as they arrive, which are the value (take_result).
  CHECK(here <= n + slack);
  CHECK(here >= n);
}

TEST_CASE_FIXTURE(one_worker, "a small result beside its message arrives whole, of any type") {
  // 64 KiB and more travel beside their TaskResult (early_answer), less
  // inside it: both sides of that limit, the bytes each byte-exact (a
  // std::vector<char> is the buffer that arrived, others are decoded).
  for (uint64_t n : {uint64_t{1000}, uint64_t{64} << 10, uint64_t{300} << 10}) {
    CAPTURE(n);
    for (uint64_t seed = 1; seed <= 3; ++seed) {
      CHECK(*manta::get_shared(manta::task(char_pattern).remote(n, seed)) == char_pattern(n, seed));
      CHECK(*manta::get_shared(manta::task(word_pattern).remote(n / 8, seed))
            == word_pattern(n / 8, seed));
      CHECK(manta::get(manta::task(text_pattern).remote(n, seed)) == text_pattern(n, seed));
    }
  }
}

TEST_CASE_FIXTURE(one_worker, "results the node manager sends beside their message arrive whole") {
  // The node manager answers actor calls, and tasks while the worker hosts
  // several at once; a byte vector of 64 KiB or more goes beside its
  // message (finished_result), other types and smaller ones inside it.
  auto a = manta::actor<patterns>().node_affinity(manta_test::sole_worker_node()).remote();
  for (uint64_t n : {uint64_t{1000}, uint64_t{64} << 10, uint64_t{300} << 10}) {
    CAPTURE(n);
    for (uint64_t seed = 1; seed <= 3; ++seed) {
      CHECK(*manta::get_shared(a.call(&patterns::chars).remote(n, seed)) == char_pattern(n, seed));
      CHECK(*manta::get_shared(a.call(&patterns::words).remote(n / 8, seed))
            == word_pattern(n / 8, seed));
    }
    std::vector<manta::object_ref<std::vector<char>>> refs;
    for (uint64_t seed = 1; seed <= 8; ++seed)
      refs.push_back(manta::task(char_pattern).remote(n, seed));
    for (uint64_t seed = 1; seed <= 8; ++seed)
      CHECK(*manta::get_shared(refs[seed - 1]) == char_pattern(n, seed));
  }
}

int main(int argc, char** argv) {
  return manta_test::cluster_test_main(argc, argv);
}
