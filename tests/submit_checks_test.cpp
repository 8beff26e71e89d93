// Input checks at submission, as Ray does them: wait on duplicate refs and
// on an empty list, resource demands (empty names, amounts of 0 or below,
// fractions above 1) refused at .remote(), blank actor names refused as bad
// input rather than looked up.

#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
#include <manta/manta.hpp>

#include "tests/runtime_guard.hpp"

#include <chrono>
#include <string>
#include <vector>

using namespace std::chrono_literals;

namespace {

int answer() {
  return 42;
}

int twice(int x) {
  return 2 * x;
}

MANTA_REMOTE(answer, twice);

class box {
public:
  explicit box(int v) : v_(v) {}
  int value() const { return v_; }

private:
  int v_;
};

MANTA_ACTOR(box, &box::value);

/// The message of the invalid_argument_error `f` throws; fails the case
/// when it throws nothing or something else.
template <class F>
std::string invalid_argument_of(F&& f) {
  try {
    f();
  } catch (const manta::invalid_argument_error& e) {
    return e.what();
  } catch (const std::exception& e) {
    FAIL("threw something other than invalid_argument_error: " << e.what());
  }
  FAIL("threw nothing");
  return {};
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

} // namespace

TEST_CASE("wait refuses a list that holds one ref twice") {
  runtime_guard rt{2};
  auto a = manta::task(answer).remote();
  auto b = manta::task(twice).remote(4);
  auto msg = invalid_argument_of([&] { manta::wait(std::vector{a, b, a}, 1); });
  CHECK(has(msg, "more than once"));
  // Copies of one ref are the same object: refused too, with a timeout as well.
  auto copy = b;
  CHECK(has(invalid_argument_of([&] {
              manta::wait(std::vector{b, copy}, 2, 1s);
            }),
            "more than once"));
  // A long list (sorted, not compared pairwise) with its duplicate at the end.
  std::vector<manta::object_ref<int>> many;
  for (int i = 0; i < 40; ++i)
    many.push_back(manta::task(twice).remote(i));
  many.push_back(many[17]);
  CHECK(has(invalid_argument_of([&] { manta::wait(many, 1); }), "more than once"));
  many.pop_back();
  CHECK(manta::wait(many, 40, 10s).ready.size() == 40);
  // Out of order (not the order they were made in): checked all the same.
  std::vector<manta::object_ref<int>> shuffled(many.rbegin(), many.rend());
  shuffled.insert(shuffled.begin() + 20, many[3]);
  CHECK(has(invalid_argument_of([&] { manta::wait(shuffled, 1); }), "more than once"));
  shuffled.erase(shuffled.begin() + 20);
  CHECK(manta::wait(shuffled, 40, 10s).ready.size() == 40);
  // Distinct refs to the same value are fine.
  auto c = manta::put(42);
  auto d = manta::put(42);
  CHECK(manta::wait(std::vector{c, d}, 2).ready.size() == 2);
}

TEST_CASE("wait on an empty list returns two empty lists at once") {
  runtime_guard rt{1};
  std::vector<manta::object_ref<int>> none;
  auto t0 = steady::now();
  auto r = manta::wait(none);
  CHECK(r.ready.empty());
  CHECK(r.pending.empty());
  auto r2 = manta::wait(std::vector<manta::object_ref<int>>{}, 1, 5s);
  CHECK(r2.ready.empty());
  CHECK(r2.pending.empty());
  CHECK(seconds_since(t0) < 1.0);
}

TEST_CASE("task resources: empty names, amounts of 0 or below and fractions above 1 are refused") {
  runtime_guard rt{2, {{"GPU", 2}, {"disk", 4}}};
  auto at_remote = [](const manta::resource_map& rs) {
    return invalid_argument_of([&] { manta::task(answer).resources(rs).remote(); });
  };
  CHECK(has(at_remote({{"", 1}}), "empty name"));
  CHECK(has(at_remote({{"GPU", 0}}), "'GPU' = 0"));
  CHECK(has(at_remote({{"GPU", -1}}), "must be positive"));
  CHECK(has(at_remote({{"disk", 1.5}}), "above 1 must be whole"));
  CHECK(has(at_remote({{"CPU", 2.5}}), "above 1 must be whole"));
  CHECK(has(invalid_argument_of([] { manta::task(answer).num_cpus(-1).remote(); }), "'CPU' = -1"));
  CHECK(
    has(invalid_argument_of([] { manta::task(answer).num_cpus(1.5).remote(); }), "ask for 1 or 2"));
  // The message names the task.
  CHECK(has(invalid_argument_of([] {
              manta::task(answer).name("probe").resources({{"GPU", 0}}).remote();
            }),
            "task 'probe'"));
  // What Ray accepts runs: fractions below 1, whole amounts, 0 CPUs.
  CHECK(manta::get(manta::task(answer).resources({{"GPU", 0.5}}).remote(), 10s) == 42);
  CHECK(manta::get(manta::task(answer).resources({{"GPU", 2}, {"disk", 1}}).remote(), 10s) == 42);
  CHECK(manta::get(manta::task(answer).num_cpus(0).remote(), 10s) == 42);
  CHECK(manta::get(manta::task(answer).num_cpus(2).remote(), 10s) == 42);
}

TEST_CASE("actor resources are checked the same way at .remote()") {
  runtime_guard rt{2, {{"GPU", 2}}};
  CHECK(has(invalid_argument_of([] {
              manta::actor<box>().resources({{"GPU", 0}}).remote(1);
            }),
            "actor box"));
  CHECK(has(invalid_argument_of([] {
              manta::actor<box>().resources({{"", 1}}).remote(1);
            }),
            "empty name"));
  CHECK(has(invalid_argument_of([] {
              manta::actor<box>().resources({{"GPU", 1.5}}).remote(1);
            }),
            "must be whole"));
  CHECK(has(invalid_argument_of([] { manta::actor<box>().num_cpus(-0.5).remote(1); }),
            "must be positive"));
  auto ok = manta::actor<box>().resources({{"GPU", 0.5}}).remote(7);
  CHECK(manta::get(ok.call(&box::value).remote(), 10s) == 7);
}

TEST_CASE("a blank actor name or namespace is invalid input, not an unknown actor") {
  runtime_guard rt{1};
  CHECK(has(invalid_argument_of([] { manta::get_actor<box>(""); }), "must not be blank"));
  CHECK(has(invalid_argument_of([] { manta::get_actor<box>("   "); }), "must not be blank"));
  CHECK(has(invalid_argument_of([] { manta::get_actor<box>("b", ""); }), "namespace"));
  CHECK(has(invalid_argument_of([] { manta::actor<box>().name("").remote(1); }), "anonymous"));
  CHECK(has(invalid_argument_of([] { manta::actor<box>().name("\t").remote(1); }),
            "must not be blank"));
  CHECK(has(invalid_argument_of([] { manta::actor<box>().name("b").namespace_("").remote(1); }),
            "namespace"));
  // A name that is merely unknown is still actor_not_found_error.
  CHECK_THROWS_AS(manta::get_actor<box>("nobody"), manta::actor_not_found_error);
  // And a real name works.
  auto b = manta::actor<box>().name("b").remote(3);
  CHECK(manta::get(manta::get_actor<box>("b").call(&box::value).remote(), 10s) == 3);
}
