// Multiple return values: a task or actor method returning a std::tuple or
// std::pair, called with num_returns<N>(), gives one object_ref per value,
// each readable, passable and freed on its own; on one node and with the
// task on a worker node (this binary is also the head and the workers:
// cluster_main.hpp).

#include "tests/cluster_main.hpp"
#include "tests/runtime_guard.hpp"

#include <manta/manta.hpp>

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

using namespace std::chrono_literals;

namespace {

std::tuple<int, std::string, std::vector<double>> parse(std::string text) {
  auto space = text.find(' ');
  return {std::stoi(text.substr(0, space)), text.substr(space + 1), std::vector<double>(1000, 0.5)};
}

std::pair<int, int> div_mod(int a, int b) {
  if (b == 0)
    throw std::domain_error("division by zero");
  return {a / b, a % b};
}

std::tuple<int, int> where_and_twice(int x) {
  return {static_cast<int>(manta::current_node()), 2 * x};
}

int add(int a, int b) {
  return a + b;
}

MANTA_REMOTE(parse, div_mod, where_and_twice, add);

class splitter {
public:
  std::pair<std::string, std::string> split(std::string s) {
    auto at = s.find('=');
    ++calls_;
    return {s.substr(0, at), s.substr(at + 1)};
  }
  int calls() const { return calls_; }

private:
  int calls_ = 0;
};

MANTA_ACTOR(splitter, &splitter::split, &splitter::calls);

/// Whether the object store lists `id` as live.
bool alive(manta::object_id id) {
  auto report = manta::memory_summary();
  return std::any_of(report.objects.begin(), report.objects.end(),
                     [&](auto& o) { return o.id == id; });
}

/// Waits up to 10 s for `id` to be freed.
bool freed_soon(manta::object_id id) {
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (alive(id) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(2ms);
  return !alive(id);
}


} // namespace

TEST_CASE("num_returns<N>() gives one typed ref per value of the tuple") {
  runtime_guard rt;
  auto [n, rest, weights] = manta::task(parse).num_returns<3>().remote("3 apples");
  static_assert(std::is_same_v<decltype(n), manta::object_ref<int>>);
  static_assert(std::is_same_v<decltype(rest), manta::object_ref<std::string>>);
  CHECK(manta::get(n, 10s) == 3);
  CHECK(manta::get(rest, 10s) == "apples");
  CHECK(manta::get(weights, 10s).size() == 1000);
  CHECK(n.id() != rest.id());
  // A pair too, and each ref feeds other tasks like any other.
  auto [q, r] = manta::task(div_mod).num_returns<2>().remote(17, 5);
  CHECK(manta::get(manta::task(add).remote(q, r), 10s) == 5);
  auto both = manta::wait(std::vector{q, r}, 2, 10s);
  CHECK(both.ready.size() == 2);
}

TEST_CASE("each returned object is freed on its own") {
  runtime_guard rt;
  auto [n, rest, weights] = manta::task(parse).num_returns<3>().remote("7 pears");
  CHECK(manta::get(weights, 10s).size() == 1000);
  manta::get(n, 10s);
  manta::get(rest, 10s);
  auto weights_id = weights.id();
  auto n_id = n.id();
  CHECK(alive(weights_id));
  weights = {}; // drop one value: it goes, the others stay
  CHECK(freed_soon(weights_id));
  CHECK(alive(n_id));
  CHECK(manta::get(n, 10s) == 7);
  CHECK(manta::get(rest, 10s) == "pears");
  // The tuple itself goes once every value was taken out of it (the pool
  // drops the last element task just after it ran): then only the two
  // refs still held are listed.
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (manta::memory_summary().num_objects != 2 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(2ms);
  CHECK(manta::memory_summary().num_objects == 2);
}

TEST_CASE("a failed task fails every returned ref with its error") {
  runtime_guard rt;
  auto [q, r] = manta::task(div_mod).num_returns<2>().remote(1, 0);
  CHECK_THROWS_WITH_AS(manta::get(q, 10s), doctest::Contains("division by zero"),
                       manta::task_error);
  CHECK_THROWS_WITH_AS(manta::get(r, 10s), doctest::Contains("division by zero"),
                       manta::task_error);
}

TEST_CASE("an actor method with num_returns: one call, one ref per value") {
  runtime_guard rt;
  auto s = manta::actor<splitter>().remote();
  auto [key, value] = s.call(&splitter::split).num_returns<2>().remote("color=blue");
  CHECK(manta::get(key, 10s) == "color");
  CHECK(manta::get(value, 10s) == "blue");
  CHECK(manta::get(s.call(&splitter::calls).remote(), 10s) == 1);
  // manta::split does the same for any ref to a tuple.
  auto [a, b] = manta::split(s.call(&splitter::split).remote("x=y"));
  CHECK(manta::get(a, 10s) + manta::get(b, 10s) == "xy");
}

TEST_CASE("on a worker node: the values come back one by one and feed tasks there") {
  manta::local_cluster c;
  c.add_worker(1);
  c.join(/*local_cpus=*/0); // the tasks run on the worker
  auto [node, twice] = manta::task(where_and_twice).num_returns<2>().remote(21);
  CHECK(manta::get(twice, 20s) == 42);
  int ran_on = manta::get(node, 20s);
  CHECK(ran_on != static_cast<int>(manta::current_node()));
  auto sum = manta::task(add).remote(twice, node); // runs on the worker too
  CHECK(manta::get(sum, 20s) == 42 + ran_on);
  auto twice_id = twice.id();
  twice = {};
  CHECK(freed_soon(twice_id));
  CHECK(manta::get(node, 20s) == ran_on);
}

int main(int argc, char** argv) {
  return manta_test::cluster_test_main(argc, argv);
}
