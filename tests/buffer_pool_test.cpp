// The store's pool of large buffers (manta/store/buffer_pool.hpp): a put
// copies into the memory a freed object of the same type and size left
// behind, with its pages already mapped; the pool stays within the memory
// budget, gives way to live values, and the budget still limits them. A
// put that finds no kept buffer maps its fresh copy's pages in one call
// before copying. A large read over the data path lands in the memory an
// earlier read left there.

#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
#include <manta/core/runtime.hpp>
#include <manta/store/object_store.hpp>
#include <manta/cluster/object_fetch.hpp>
#include <manta/net/object_transfer.hpp>
#include <manta/store/copy_lanes.hpp>
#include <manta/store/store_copy.hpp>
#include <manta/manta.hpp>

#include "tests/byte_pattern.hpp"
#include "tests/runtime_guard.hpp"
#include "tests/store_budget.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <linux/perf_event.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <thread>
#include <sys/syscall.h>
#include <unistd.h>
#include <vector>

namespace {

constexpr size_t mib = size_t{1} << 20;

std::vector<uint8_t> pattern(size_t n, uint8_t seed) {
  std::vector<uint8_t> xs(n);
  for (size_t i = 0; i < n; ++i)
    xs[i] = static_cast<uint8_t>(seed + i * 7 + (i >> 12));
  return xs;
}

/// Minor page faults of the calling thread so far.
long thread_faults() {
  rusage u{};
  ::getrusage(RUSAGE_THREAD, &u);
  return u.ru_minflt;
}

/// The page faults the calling thread takes from user code (the CPU's
/// fault path, perf's software counter) from construction on. Unlike
/// getrusage's count, it leaves out the pages a system call maps in
/// advance (MADV_POPULATE_WRITE): those are not faults of the copy.
class user_fault_counter {
public:
  user_fault_counter() {
    perf_event_attr attr{};
    attr.size = sizeof(attr);
    attr.type = PERF_TYPE_SOFTWARE;
    attr.config = PERF_COUNT_SW_PAGE_FAULTS;
    attr.exclude_kernel = 1; // allowed at perf_event_paranoid 2
    attr.exclude_hv = 1;
    fd_ = static_cast<int>(::syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0));
  }
  ~user_fault_counter() {
    if (fd_ >= 0)
      ::close(fd_);
  }
  user_fault_counter(const user_fault_counter&) = delete;
  user_fault_counter& operator=(const user_fault_counter&) = delete;
  bool available() const { return fd_ >= 0; }
  long long read() const {
    long long n = -1;
    if (::read(fd_, &n, sizeof(n)) != static_cast<ssize_t>(sizeof(n)))
      return -1;
    return n;
  }

private:
  int fd_ = -1;
};

/// ThreadSanitizer's memcpy writes the shadow of every byte it copies, in
/// fresh pages of its own that fault from user code: 131,110 faults in the
/// 64 MiB put below (a plain memcpy into 64 MiB mapped in advance takes 0,
/// 131,096 under TSan). None is a fault of the copy's, so that count is
/// checked in every other build.
#ifdef __SANITIZE_THREAD__
constexpr bool under_tsan = true;
#else
constexpr bool under_tsan = false;
#endif

auto& pool() {
  return manta::detail::runtime::here().store().pool();
}

size_t store_bytes() {
  return manta::memory_summary().bytes_in_memory;
}

} // namespace

TEST_CASE("a second put of the same size copies into the first one's memory") {
  runtime_guard rt{budget_of(512 * mib)};
  auto first = pattern(64 * mib, 1);
  auto second = pattern(64 * mib, 2);
  auto reuses = pool().reuses();

  auto f0 = thread_faults();
  auto ref = manta::put(first);
  auto first_faults = thread_faults() - f0;
  const auto* first_data = manta::get_shared(ref)->data();
  ref = {};
  CHECK(store_bytes() == 0);
  CHECK(pool().kept_bytes() == 64 * mib); // kept, not counted as a value

  f0 = thread_faults();
  ref = manta::put(second);
  auto second_faults = thread_faults() - f0;
  auto stored = manta::get_shared(ref);
  MESSAGE("page faults: first put " << first_faults << ", second put " << second_faults);
  CHECK(stored->data() == first_data);
  CHECK(pool().reuses() == reuses + 1);
  CHECK(pool().kept_bytes() == 0);
  CHECK(*stored == second); // the second value, not what the memory held
  CHECK(second_faults < first_faults);
  CHECK(store_bytes() == 64 * mib + sizeof(std::vector<uint8_t>)); // buffer and object
}

TEST_CASE("a put with no kept buffer maps its fresh copy's pages before copying") {
  runtime_guard rt{budget_of(512 * mib)};
  REQUIRE(pool().kept_bytes() == 0); // nothing to reuse: fresh memory
  auto value = pattern(64 * mib + 12345, 9); // not a whole number of pages
  auto fresh = manta::detail::fresh_copies();
  auto reuses = pool().reuses();

  user_fault_counter faults;
  if (!faults.available())
    MESSAGE("perf_event_open refused (perf_event_paranoid above 2?): fault count not checked");
  auto ref = manta::put(value);
  auto copy_faults = faults.available() ? faults.read() : 0;
  CHECK(manta::detail::fresh_copies() == fresh + 1);
  CHECK(pool().reuses() == reuses);
  // Copied page by page it takes 32 faults in huge pages, 16,384 in 4 KiB
  // ones; mapped first, only the partial pages at either end and the
  // store's own small allocations fault.
  MESSAGE("page faults in the put: " << copy_faults);
  // glibc's MALLOC_PERTURB_ writes every byte malloc hands out: with it, the
  // allocation itself touches them (meson.build sets it to 0 for this test).
  auto* perturb = std::getenv("MALLOC_PERTURB_");
  if (perturb != nullptr && std::atoi(perturb) != 0)
    MESSAGE("MALLOC_PERTURB_ is set: the page faults of the copy are not checked");
  else if (under_tsan)
    MESSAGE("ThreadSanitizer: the page faults of the copy are not checked");
  else
    CHECK(copy_faults < 16);
  CHECK(*manta::get_shared(ref) == value);
}

TEST_CASE("a kept buffer serves only its own type and about its own size") {
  runtime_guard rt{budget_of(512 * mib)};
  auto bytes = pattern(64 * mib, 3);
  manta::put(bytes); // freed at once: its buffer is kept
  REQUIRE(pool().kept_bytes() == 64 * mib);
  auto reuses = pool().reuses();

  std::vector<int32_t> ints(16 * mib, 7); // 64 MiB of another type
  auto int_ref = manta::put(ints);
  CHECK(pool().reuses() == reuses);
  std::vector<uint8_t> half(bytes.begin(), bytes.begin() + 32 * mib);
  auto half_ref = manta::put(half); // would waste half of the kept buffer
  CHECK(pool().reuses() == reuses);
  CHECK(*manta::get_shared(half_ref) == half);
  CHECK(*manta::get_shared(int_ref) == ints);

  // Slightly smaller than the kept buffer: reused (the budget counts its
  // whole capacity).
  std::vector<uint8_t> most(bytes.begin(), bytes.begin() + 60 * mib);
  auto most_ref = manta::put(most);
  CHECK(pool().reuses() == reuses + 1);
  CHECK(*manta::get_shared(most_ref) == most);
  CHECK(manta::memory_summary().bytes_in_memory >= 64 * mib + 32 * mib + 64 * mib);
}

TEST_CASE("kept buffers stay within the budget and give way to live values") {
  const size_t budget = 96 * mib;
  runtime_guard rt{budget_of(budget)};
  auto a = pattern(64 * mib, 4);
  manta::put(a);
  CHECK(pool().kept_bytes() == 64 * mib);

  // A live value of another size: the pool gives back what the budget no
  // longer leaves free.
  auto b = pattern(48 * mib, 5);
  auto b_ref = manta::put(b);
  CHECK(store_bytes() == 48 * mib + sizeof(std::vector<uint8_t>));
  CHECK(pool().kept_bytes() + store_bytes() <= budget);
  CHECK(pool().kept_bytes() == 0);

  // The budget still limits live values (spilling is off here).
  CHECK_THROWS_AS(manta::put(a), manta::object_store_full_error);
  CHECK(*manta::get_shared(b_ref) == b);

  // A freed buffer is kept only while it fits beside the live values.
  b_ref = {};
  CHECK(pool().kept_bytes() == 48 * mib);
  auto a_ref = manta::put(a);
  CHECK(pool().kept_bytes() + store_bytes() <= budget);
  CHECK(*manta::get_shared(a_ref) == a);
}

TEST_CASE("shutdown empties the pool; after it nothing is kept") {
  manta::detail::object_store* store = nullptr;
  {
    runtime_guard rt{budget_of(256 * mib)};
    store = &manta::detail::runtime::here().store();
    store->retain(); // looked at after shutdown
    auto value = pattern(16 * mib, 6);
    manta::put(value); // copied (an rvalue would be moved, not pooled)
    CHECK(pool().kept_bytes() == 16 * mib);
  }
  CHECK(store->pool().kept_bytes() == 0);
  store->release();
}

TEST_CASE("a large read lands in the memory the last read left in the pool, byte-exact") {
  using namespace manta::detail;
  runtime_guard rt{budget_of(512 * mib)};
  // Sizes that are multiples of neither the 4 MiB chunk nor a page; the
  // second within an eighth of the first (a kept buffer serves it).
  auto big = manta_test::pattern(40 * mib + 12345);
  auto smaller = manta_test::pattern(37 * mib - 7); // within an eighth of `big`
  std::reverse(smaller->begin(), smaller->end()); // other bytes than `big`'s
  transfer_server server{"127.0.0.1", "secret", [&](uint64_t id) -> std::optional<held_bytes> {
                           auto& v = id == 7 ? big : smaller;
                           return held_bytes{v, v->data(), v->size(), nullptr};
                         }};
  auto reuses = pool().reuses();
  std::vector<char> first;
  REQUIRE(fetch_object("127.0.0.1", server.port(), "secret", 7, big->size(), first, 2) == "");
  CHECK(first == *big);
  const char* where = first.data();
  recycle_read_buffer(std::move(first));
  CHECK(pool().kept_bytes() >= big->size());

  std::vector<char> second;
  REQUIRE(fetch_object("127.0.0.1", server.port(), "secret", 8, smaller->size(), second, 2) == "");
  CHECK(second.data() == where);
  CHECK(pool().reuses() == reuses + 1);
  CHECK(second.size() == smaller->size());
  CHECK(second == *smaller); // the new bytes, none of what the memory held

  // A small read's buffer is not kept.
  std::vector<char> small(mib, 'x');
  auto kept = pool().kept_bytes();
  recycle_read_buffer(std::move(small));
  CHECK(pool().kept_bytes() == kept);
}

TEST_CASE("a large put into a kept buffer is copied in lanes, byte-exact") {
  runtime_guard rt{budget_of(1200 * mib)};
  auto& lanes = manta::detail::runtime::here().store().lanes();
  constexpr size_t size = 2 * manta::detail::copy_lanes::default_lane_bytes + 4 * mib;
  auto first = pattern(size, 5);
  auto ref = manta::put(first); // a fresh buffer: filled by one thread
  ref = {};
  REQUIRE(pool().kept_bytes() == size);
  auto started = lanes.helpers_started();
  // A little shorter than the kept buffer's value, and not whole pages:
  // the last lane ends inside a page.
  auto second = pattern(size - 12345, 6);
  ref = manta::put(second);
  CHECK(*manta::get_shared(ref) == second);
  if (std::thread::hardware_concurrency() >= 2)
    CHECK(lanes.helpers_started() > started);
  else
    CHECK(lanes.helpers_started() == started);
}

TEST_CASE("copies in lanes from many threads at once are each byte-exact") {
  constexpr size_t lane = 8 * mib;
  manta::detail::copy_lanes lanes{lane};
  constexpr int copiers = 6;
  std::vector<std::vector<uint8_t>> sources;
  std::vector<std::vector<uint8_t>> targets(copiers);
  for (int i = 0; i < copiers; ++i) {
    sources.push_back(pattern(5 * lane + static_cast<size_t>(i) * 4099, static_cast<uint8_t>(i)));
    targets[i].resize(sources[i].size());
  }
  std::vector<std::thread> threads;
  for (int i = 0; i < copiers; ++i)
    threads.emplace_back(
      [&, i] { lanes.copy(targets[i].data(), sources[i].data(), sources[i].size()); });
  for (auto& t : threads)
    t.join();
  for (int i = 0; i < copiers; ++i)
    CHECK(targets[i] == sources[i]);
  // Small copies never start a helper.
  auto started = lanes.helpers_started();
  std::vector<uint8_t> small(lane * 2 - 1, 1), out(small.size());
  lanes.copy(out.data(), small.data(), small.size());
  CHECK(out == small);
  CHECK(lanes.helpers_started() == started);
}
