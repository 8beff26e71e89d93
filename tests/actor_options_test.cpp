// Actor options (issue 21, item 7): max_pending_calls back pressure,
// get-if-exists creation, the job's namespace and default actor lifetime
// set at init, concurrency groups, and per-call options (name, group).

#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
#include <manta/manta.hpp>

#include "tests/runtime_guard.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

using namespace std::chrono_literals;

namespace {

/// Holds methods until the test opens it (with a deadline, so a broken
/// test ends instead of hanging), and counts who waits, per tag.
struct gate {
  std::mutex mtx;
  std::condition_variable cv;
  bool open = false;
  std::map<std::string, int> running;
  std::map<std::string, int> peak;

  void enter(const std::string& tag) {
    std::unique_lock<std::mutex> lock{mtx};
    int now = ++running[tag];
    peak[tag] = std::max(peak[tag], now);
    cv.notify_all();
    cv.wait_for(lock, 20s, [&] { return open; });
    --running[tag];
  }
  void release() {
    std::lock_guard<std::mutex> lock{mtx};
    open = true;
    cv.notify_all();
  }
  /// Waits until `pred(running)` holds; false after 10 s.
  template <class Pred>
  bool wait_until(Pred pred) {
    std::unique_lock<std::mutex> lock{mtx};
    return cv.wait_for(lock, 10s, [&] { return pred(running); });
  }
  void reset() {
    std::lock_guard<std::mutex> lock{mtx};
    open = false;
    running.clear();
    peak.clear();
  }
};

gate the_gate;
std::atomic<int> constructed{0};

class worker {
public:
  explicit worker(int id) : id_(id) { ++constructed; }
  int id() const { return id_; }
  int hold(std::string tag) {
    the_gate.enter(tag);
    return id_;
  }
  int fail() { throw std::runtime_error("boom"); }
  int push(int x) {
    seen_.push_back(x);
    return x;
  }
  std::vector<int> seen() const { return seen_; }
  std::tuple<int, std::string> pair() const { return {id_, "w" + std::to_string(id_)}; }

private:
  int id_;
  std::vector<int> seen_;
};
MANTA_ACTOR(worker, &worker::id, &worker::hold, &worker::fail, &worker::push, &worker::seen,
            &worker::pair);

class other {
public:
  int one() { return 1; }
};
MANTA_ACTOR(other, &other::one);

struct gate_reset {
  gate_reset() { the_gate.reset(); }
  ~gate_reset() { the_gate.release(); } // never leave an actor blocked
};

/// Whether the actor named `name` is listed alive.
bool listed_alive(const std::string& name) {
  for (auto& a : manta::list_actors())
    if (a.name == name && a.state == "ALIVE")
      return true;
  return false;
}

} // namespace

TEST_SUITE("max_pending_calls") {

TEST_CASE("past the limit .remote() throws a back-pressure error naming the actor") {
  runtime_guard rt{4};
  gate_reset g;
  auto w = manta::actor<worker>().name("bp").max_pending_calls(2).remote(1);
  auto a = w.call(&worker::hold).remote("a"); // running
  auto b = w.call(&worker::hold).remote("b"); // queued
  try {
    w.call(&worker::id).remote();
    FAIL("a third pending call was accepted");
  } catch (const manta::pending_calls_limit_error& e) {
    std::string msg = e.what();
    CHECK(msg.find("worker 'bp'") != std::string::npos);
    CHECK(msg.find("max_pending_calls(2)") != std::string::npos);
    CHECK(msg.find("wait for earlier results") != std::string::npos);
  }
  // A handle found by name shares the limit (it counts per actor).
  CHECK_THROWS_AS(manta::get_actor<worker>("bp").call(&worker::id).remote(),
                  manta::pending_calls_limit_error);
  the_gate.release();
  CHECK(manta::get(a, 10s) == 1);
  CHECK(manta::get(b, 10s) == 1);
  // Finished calls no longer count: two fit again, the third does not.
  auto c = w.call(&worker::id).remote();
  auto d = w.call(&worker::id).remote();
  CHECK(manta::get(c, 10s) == 1);
  CHECK(manta::get(d, 10s) == 1);
}

TEST_CASE("failed, cancelled and dead calls stop counting") {
  runtime_guard rt{4};
  gate_reset g;
  auto w = manta::actor<worker>().max_pending_calls(1).remote(2);
  CHECK_THROWS_AS(manta::get(w.call(&worker::fail).remote(), 10s), manta::task_error);
  CHECK(manta::get(w.call(&worker::id).remote(), 10s) == 2);
  auto held = w.call(&worker::hold).remote("x");
  CHECK_THROWS_AS(w.call(&worker::id).remote(), manta::pending_calls_limit_error);
  manta::cancel(held);
  CHECK_THROWS_AS(manta::get(held, 10s), manta::task_cancelled_error);
  the_gate.release();
  // The cancelled call's result is sealed: it no longer counts.
  CHECK(manta::get(w.call(&worker::id).remote(), 10s) == 2);
  manta::kill(w);
  // Calls to a dead actor fail, and never fill the limit.
  for (int i = 0; i < 3; ++i)
    CHECK_THROWS_AS(manta::get(w.call(&worker::id).remote(), 10s), manta::actor_died_error);
}

TEST_CASE("racing submitters get exactly the limit accepted") {
  runtime_guard rt{4};
  gate_reset g;
  auto w = manta::actor<worker>().max_pending_calls(5).remote(3);
  auto first = w.call(&worker::hold).remote("r"); // keeps the rest queued
  std::atomic<int> accepted{0}, refused{0};
  std::vector<std::thread> ts;
  std::mutex refs_mtx;
  std::vector<manta::object_ref<int>> refs;
  for (int t = 0; t < 4; ++t)
    ts.emplace_back([&] {
      for (int i = 0; i < 10; ++i) {
        try {
          auto r = w.call(&worker::id).remote();
          std::lock_guard<std::mutex> lock{refs_mtx};
          refs.push_back(r);
          ++accepted;
        } catch (const manta::pending_calls_limit_error&) {
          ++refused;
        }
      }
    });
  for (auto& t : ts)
    t.join();
  CHECK(accepted == 4); // 5 with the held one
  CHECK(refused == 36);
  the_gate.release();
  for (auto& r : refs)
    CHECK(manta::get(r, 10s) == 3);
}

TEST_CASE("bad limits are refused; no limit by default") {
  runtime_guard rt{2};
  CHECK_THROWS_AS(manta::actor<worker>().max_pending_calls(-2).remote(1),
                  manta::invalid_argument_error);
  auto w = manta::actor<worker>().max_pending_calls(0).remote(1); // 0: no limit
  auto u = manta::actor<worker>().remote(1);
  std::vector<manta::object_ref<int>> refs;
  for (int i = 0; i < 200; ++i) {
    refs.push_back(w.call(&worker::push).remote(i));
    refs.push_back(u.call(&worker::push).remote(i));
  }
  for (auto& r : refs)
    manta::get(r, 10s);
}

} // TEST_SUITE

TEST_SUITE("get_if_exists") {

TEST_CASE("returns the live actor of that name, or creates it") {
  runtime_guard rt{2};
  constructed = 0;
  auto a = manta::actor<worker>().name("gx").get_if_exists().remote(1);
  auto b = manta::actor<worker>().name("gx").get_if_exists().remote(2);
  CHECK(a == b);
  CHECK(manta::get(b.call(&worker::id).remote(), 10s) == 1);
  CHECK(constructed == 1);
  // Without it a taken name stays an error; another namespace is another name.
  CHECK_THROWS_AS(manta::actor<worker>().name("gx").remote(3), manta::actor_exists_error);
  auto c = manta::actor<worker>().name("gx").namespace_("elsewhere").get_if_exists().remote(4);
  CHECK_FALSE(c == a);
  CHECK(manta::get(c.call(&worker::id).remote(), 10s) == 4);
}

TEST_CASE("racing creators share one actor") {
  runtime_guard rt{4};
  constructed = 0;
  std::vector<manta::actor_handle<worker>> hs(8);
  std::vector<std::thread> ts;
  for (int i = 0; i < 8; ++i)
    ts.emplace_back(
      [&, i] { hs[i] = manta::actor<worker>().name("race").get_if_exists().remote(i); });
  for (auto& t : ts)
    t.join();
  for (auto& h : hs)
    CHECK(h == hs[0]);
  int id = manta::get(hs[0].call(&worker::id).remote(), 10s);
  for (auto& h : hs)
    CHECK(manta::get(h.call(&worker::id).remote(), 10s) == id);
  CHECK(constructed == 1);
  int named = 0;
  for (auto& a : manta::list_actors())
    named += a.name == "race" && a.state != "DEAD";
  CHECK(named == 1);
}

TEST_CASE("needs a name, and the existing actor's class") {
  runtime_guard rt{2};
  CHECK_THROWS_AS(manta::actor<worker>().get_if_exists().remote(1), manta::invalid_argument_error);
  auto o = manta::actor<other>().name("taken").remote();
  CHECK_THROWS_AS(manta::actor<worker>().name("taken").get_if_exists().remote(1),
                  manta::actor_not_found_error);
}

} // TEST_SUITE

TEST_SUITE("init defaults") {

TEST_CASE("the job's namespace is set at init and read back") {
  {
    manta::init_options opts = runtime_guard::with_cpus(2);
    opts.ns = "team";
    runtime_guard rt{opts};
    CHECK(manta::get_runtime_context().get_namespace() == "team");
    auto w = manta::actor<worker>().name("svc").remote(7);
    CHECK(manta::get(manta::get_actor<worker>("svc").call(&worker::id).remote(), 10s) == 7);
    CHECK(manta::get_actor<worker>("svc", "team") == w);
    CHECK_THROWS_AS(manta::get_actor<worker>("svc", "default"), manta::actor_not_found_error);
    auto listed = manta::list_actors();
    auto i = std::find_if(listed.begin(), listed.end(), [](auto& a) { return a.name == "svc"; });
    REQUIRE(i != listed.end());
    CHECK(i->ns == "team");
    // An explicit namespace still wins.
    auto o = manta::actor<other>().namespace_("x").name("o").remote();
    CHECK(manta::get_actor<other>("o", "x") == o);
  }
  runtime_guard rt{2}; // a later init without one: "default" again
  CHECK(manta::get_runtime_context().get_namespace() == "default");
}

TEST_CASE("a blank namespace is refused at init, naming the option") {
  manta::init_options opts = runtime_guard::with_cpus(2);
  opts.ns = "  ";
  try {
    manta::init(opts);
    manta::shutdown();
    FAIL("init took a blank namespace");
  } catch (const manta::invalid_argument_error& e) {
    CHECK(std::string{e.what()}.find("init_options::ns") != std::string::npos);
  }
  CHECK_FALSE(manta::is_initialized());
}

TEST_CASE("--namespace and --default-actor-lifetime flags") {
  const char* argv[] = {"prog", "--namespace=flagged", "--default-actor-lifetime=detached"};
  {
    runtime_guard rt{3, const_cast<char**>(argv)};
    CHECK(manta::get_runtime_context().get_namespace() == "flagged");
  }
  const char* bad[] = {"prog", "--default-actor-lifetime=forever"};
  CHECK_THROWS_AS(manta::init(2, const_cast<char**>(bad)), manta::invalid_argument_error);
  CHECK_FALSE(manta::is_initialized());
}

TEST_CASE("default actor lifetime applies to named actors without their own") {
  manta::init_options opts = runtime_guard::with_cpus(2);
  opts.default_actor_lifetime = manta::actor_lifetime::detached;
  runtime_guard rt{opts};
  {
    auto kept = manta::actor<worker>().name("kept").remote(1);
    auto gone =
      manta::actor<worker>().name("gone").lifetime(manta::actor_lifetime::non_detached).remote(2);
    auto anon = manta::actor<worker>().remote(3); // anonymous: not detached
    CHECK(manta::get(anon.call(&worker::id).remote(), 10s) == 3);
    CHECK(manta::get(gone.call(&worker::id).remote(), 10s) == 2);
  } // every handle dropped
  auto deadline = steady::now() + 10s;
  while (listed_alive("gone") && steady::now() < deadline)
    std::this_thread::yield();
  CHECK_FALSE(listed_alive("gone"));
  CHECK(listed_alive("kept"));
  CHECK(manta::get(manta::get_actor<worker>("kept").call(&worker::id).remote(), 10s) == 1);
}

TEST_CASE("without a default lifetime named actors exit with their handles") {
  runtime_guard rt{2};
  { auto w = manta::actor<worker>().name("brief").remote(1); }
  auto deadline = steady::now() + 10s;
  while (listed_alive("brief") && steady::now() < deadline)
    std::this_thread::yield();
  CHECK_FALSE(listed_alive("brief"));
}

} // TEST_SUITE

TEST_SUITE("concurrency groups") {

TEST_CASE("each group has its own limit and does not hold back the others") {
  runtime_guard rt{4};
  gate_reset g;
  auto w = manta::actor<worker>()
             .concurrency_groups({{"io", 2}, {"compute", 1}})
             .concurrency_group(&worker::hold, "io")
             .remote(5);
  std::vector<manta::object_ref<int>> refs;
  for (int i = 0; i < 3; ++i)
    refs.push_back(w.call(&worker::hold).remote("io"));
  for (int i = 0; i < 2; ++i) // the per-call group overrides the method's
    refs.push_back(w.call(&worker::hold).concurrency_group("compute").remote("compute"));
  refs.push_back(w.call(&worker::hold).concurrency_group("default").remote("default"));
  // The actor runs 1 (default) + 2 + 1 = 4 calls at once, 2 of them io.
  REQUIRE(the_gate.wait_until([](auto& r) { return r["io"] + r["compute"] + r["default"] == 4; }));
  {
    std::lock_guard<std::mutex> lock{the_gate.mtx};
    CHECK(the_gate.running["io"] == 2);
    CHECK(the_gate.running["compute"] == 1);
    CHECK(the_gate.running["default"] == 1);
  }
  // The default group is free once its call ends; io and compute are full.
  the_gate.release();
  for (auto& r : refs)
    CHECK(manta::get(r, 10s) == 5);
  CHECK(the_gate.peak["io"] == 2);
  CHECK(the_gate.peak["compute"] == 1);
}

TEST_CASE("a full group does not block a call of another group behind it") {
  runtime_guard rt{4};
  gate_reset g;
  auto w = manta::actor<worker>().concurrency_groups({{"slow", 1}}).remote(6);
  auto held = w.call(&worker::hold).concurrency_group("slow").remote("slow");
  auto queued = w.call(&worker::hold).concurrency_group("slow").remote("slow");
  REQUIRE(the_gate.wait_until([](auto& r) { return r["slow"] == 1; }));
  // Behind two slow calls, a default-group call runs at once.
  CHECK(manta::get(w.call(&worker::id).remote(), 10s) == 6);
  the_gate.release();
  CHECK(manta::get(held, 10s) == 6);
  CHECK(manta::get(queued, 10s) == 6);
}

TEST_CASE("calls keep their order within a group") {
  runtime_guard rt{4};
  auto w = manta::actor<worker>()
             .concurrency_groups({{"ordered", 1}, {"other", 3}})
             .concurrency_group(&worker::push, "ordered")
             .remote(1);
  std::vector<manta::object_ref<int>> refs;
  for (int i = 0; i < 50; ++i) {
    refs.push_back(w.call(&worker::push).remote(i));
    refs.push_back(w.call(&worker::id).concurrency_group("other").remote());
  }
  for (auto& r : refs)
    manta::get(r, 10s);
  auto seen = manta::get(w.call(&worker::seen).concurrency_group("ordered").remote(), 10s);
  REQUIRE(seen.size() == 50);
  for (int i = 0; i < 50; ++i)
    CHECK(seen[i] == i);
}

TEST_CASE("bad groups are refused with errors naming them") {
  runtime_guard rt{2};
  using manta::invalid_argument_error;
  auto no_groups = manta::actor<worker>().remote(1);
  CHECK_THROWS_WITH_AS(no_groups.call(&worker::id).concurrency_group("io").remote(),
                       doctest::Contains("no concurrency groups"), invalid_argument_error);
  auto w = manta::actor<worker>().concurrency_groups({{"io", 2}}).remote(1);
  CHECK_THROWS_WITH_AS(w.call(&worker::id).concurrency_group("disk").remote(),
                       doctest::Contains("'default', 'io'"), invalid_argument_error);
  CHECK_THROWS_AS(manta::actor<worker>().concurrency_groups({{"io", 0}}).remote(1),
                  invalid_argument_error);
  CHECK_THROWS_AS(manta::actor<worker>().concurrency_groups({{"io", 1}, {"io", 2}}).remote(1),
                  invalid_argument_error);
  CHECK_THROWS_AS(manta::actor<worker>().concurrency_groups({{"default", 1}}).remote(1),
                  invalid_argument_error);
  CHECK_THROWS_AS(manta::actor<worker>().concurrency_groups({{" ", 1}}).remote(1),
                  invalid_argument_error);
  CHECK_THROWS_WITH_AS(manta::actor<worker>()
                         .concurrency_groups({{"io", 1}})
                         .concurrency_group(&worker::id, "cpu")
                         .remote(1),
                       doctest::Contains("concurrency_group(&T::id, \"cpu\"): no such group"),
                       invalid_argument_error);
}

} // TEST_SUITE

TEST_SUITE("per-call options") {

TEST_CASE("a call's name shows in the state API while queued and when finished") {
  runtime_guard rt{2};
  gate_reset g;
  auto w = manta::actor<worker>().remote(8);
  auto held = w.call(&worker::hold).name("held-call").remote("n");
  auto queued = w.call(&worker::id).name("queued-call").remote();
  REQUIRE(the_gate.wait_until([](auto& r) { return r["n"] == 1; }));
  auto names = [] {
    std::vector<std::string> out;
    for (auto& t : manta::list_tasks())
      out.push_back(t.name);
    return out;
  };
  auto live = names();
  CHECK(std::count(live.begin(), live.end(), "held-call") == 1);
  CHECK(std::count(live.begin(), live.end(), "queued-call") == 1);
  the_gate.release();
  CHECK(manta::get(queued, 10s) == 8);
  manta::get(held, 10s);
  auto plain = w.call(&worker::id).remote();
  manta::get(plain, 10s);
  auto done = names();
  CHECK(std::count(done.begin(), done.end(), "queued-call") == 1);
  CHECK(std::count(done.begin(), done.end(), "worker.id") >= 1);
}

TEST_CASE("name, group and num_returns chain on one call") {
  runtime_guard rt{2};
  auto w = manta::actor<worker>().concurrency_groups({{"io", 1}}).remote(9);
  auto [n,
        s] = w.call(&worker::pair).name("split").concurrency_group("io").num_returns<2>().remote();
  CHECK(manta::get(n, 10s) == 9);
  CHECK(manta::get(s, 10s) == "w9");
}

} // TEST_SUITE
