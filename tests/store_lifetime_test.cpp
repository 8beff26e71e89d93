// The object store belongs to its runtime and lives on while objects of it
// are still referenced: what a user keeps past `shutdown` drops into the
// store it came from, never into the next runtime's (object_store.hpp).

#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
#include <manta/manta.hpp>

#include <manta/core/runtime.hpp>
#include <manta/store/object_store.hpp>

#include <cstdint>
#include <memory>
#include <vector>

namespace {

using manta::detail::object_store;
using manta::detail::runtime;

constexpr size_t mib = size_t{1} << 20;

manta::init_options options() {
  manta::init_options opts;
  opts.num_cpus = 1;
  opts.object_store_memory = 256 * mib;
  return opts;
}

int twice(int x) {
  return 2 * x;
}

MANTA_REMOTE(twice);

/// A reference to the running runtime's store, to look at it after its
/// runtime is gone; let go at the end, which destroys it.
struct kept_store {
  object_store* store = &runtime::here().store();
  kept_store() { store->retain(); }
  ~kept_store() { store->release(); }
  kept_store(const kept_store&) = delete;
  kept_store& operator=(const kept_store&) = delete;
};

} // namespace

TEST_CASE("refs kept past shutdown drop into their own store, not the next runtime's") {
  manta::init(options());
  auto first = std::make_unique<kept_store>();
  auto& one = *first->store;
  // A large value (counted by its own account), a small one (counted by
  // its slot), a task's result and a pooled copy read through get_shared.
  std::vector<uint8_t> big(2 * mib, 7);
  auto big_ref = manta::put(big); // an lvalue: a pooled copy
  auto big_value = manta::get_shared(big_ref);
  auto small_ref = manta::put(42);
  auto result = manta::task(twice).remote(21);
  CHECK(manta::get(result) == 42);
  auto big_id = big_ref.id();
  REQUIRE(one.table().count() >= 3);
  REQUIRE(one.table().bytes_used() >= 2 * mib);
  manta::shutdown();

  manta::init(options());
  auto& two = runtime::here().store();
  CHECK(&two != &one);
  // The first runtime's objects are not in the second's store.
  CHECK(two.table().find(big_id) == nullptr);
  auto count = two.table().count();
  auto used = two.table().bytes_used();
  // Still readable: the first store keeps their values.
  CHECK((*big_value)[mib] == 7);
  CHECK(manta::get(small_ref) == 42);
  CHECK(one.table().bytes_used() >= 2 * mib);

  big_ref = {};
  big_value = nullptr;
  small_ref = {};
  result = {};
  // They dropped into the first store, which counts nothing any more and
  // keeps no buffer (it closed at shutdown); the second is untouched.
  CHECK(one.table().count() == 0);
  CHECK(one.table().bytes_used() == 0);
  CHECK(one.pool().kept_bytes() == 0);
  CHECK(two.table().count() == count);
  CHECK(two.table().bytes_used() == used);
  CHECK(two.pool().kept_bytes() == 0);
  first.reset(); // the first store's last reference: it goes

  // The second store works as the first did.
  auto ref = manta::put(big);
  CHECK(two.table().find(ref.id()) != nullptr);
  CHECK(two.table().bytes_used() >= used + 2 * mib);
  ref = {};
  CHECK(two.table().bytes_used() == used);
  CHECK(two.pool().kept_bytes() == 2 * mib); // its pooled copy, kept for reuse
  manta::shutdown();
}

TEST_CASE("an object put in one runtime is not visible in the next") {
  manta::object_id id;
  {
    manta::init(options());
    auto ref = manta::put(std::vector<int>(1000, 1));
    id = ref.id();
    CHECK(runtime::here().store().table().find(id) != nullptr);
    manta::shutdown();
  }
  manta::init(options());
  CHECK(runtime::here().store().table().find(id) == nullptr);
  manta::shutdown();
}
