// retry_exceptions with a list of exception types: only those (and types
// derived from them) re-run a task or an actor call; any other exception
// fails it at once. On one node and on a worker node of a real cluster
// (the worker finds the types by name in the same binary). This binary is
// also the head and the workers (cluster_main.hpp).

#include "tests/cluster_main.hpp"
#include "tests/runtime_guard.hpp"

#include <manta/manta.hpp>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>

using namespace std::chrono_literals;

namespace {

struct flaky_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// Derived from flaky_error: `retry_exceptions<flaky_error>` covers it.
struct flakier_error : flaky_error {
  using flaky_error::flaky_error;
};

struct fatal_error : std::logic_error {
  using std::logic_error::logic_error;
};

/// Runs so far per tag, in this process.
int next_try(const std::string& tag) {
  static std::mutex mtx;
  static std::map<std::string, int> tries;
  std::lock_guard<std::mutex> guard{mtx};
  return ++tries[tag];
}

/// Throws `kind` ("flaky", "flakier", "fatal", "plain") on the first
/// `failures` runs of `tag`, then returns {runs, node}.
std::pair<int, int> flaky(std::string tag, std::string kind, int failures) {
  int n = next_try(tag);
  if (n <= failures) {
    auto what = tag + " run " + std::to_string(n);
    if (kind == "flaky")
      throw flaky_error(what);
    if (kind == "flakier")
      throw flakier_error(what);
    if (kind == "fatal")
      throw fatal_error(what);
    throw std::runtime_error(what);
  }
  return {n, static_cast<int>(manta::current_node())};
}

MANTA_REMOTE(flaky);

/// An actor whose method fails the first `failures` calls of each tag; its
/// state shows whether the retries ran on the same instance.
class worker {
public:
  int calls = 0;
  std::pair<int, int> work(std::string tag, std::string kind, int failures) {
    ++calls;
    return flaky(std::move(tag), std::move(kind), failures);
  }
  int seen() const { return calls; }
};

MANTA_ACTOR(worker, &worker::work, &worker::seen);

/// The task_error `get` throws for `r`.
template <class T>
manta::task_error error_of(const manta::object_ref<T>& r) {
  try {
    manta::get(r, 10s);
  } catch (const manta::task_error& e) {
    return e;
  }
  FAIL("the task did not fail with task_error");
  return manta::task_error("", "", "", "");
}


bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

} // namespace

TEST_CASE("a task retries only the exception types it lists") {
  runtime_guard rt;
  // Listed: re-run until it succeeds, within max_retries.
  auto ok = manta::task(flaky).max_retries(3).retry_exceptions<flaky_error>().remote("t1", "flaky",
                                                                                     2);
  CHECK(manta::get(ok, 10s).first == 3);
  // A type derived from a listed one counts.
  auto derived = manta::task(flaky).max_retries(3).retry_exceptions<flaky_error>().remote(
    "t2", "flakier", 1);
  CHECK(manta::get(derived, 10s).first == 2);
  // Not listed: fails on its first run, although retries are left.
  auto other = manta::task(flaky).max_retries(3).retry_exceptions<flaky_error>().remote("t3",
                                                                                        "fatal", 1);
  auto e = error_of(other);
  CHECK(has(e.type_name(), "fatal_error"));
  CHECK(e.message() == "t3 run 1");
  // Several types, given as a value; a base class listed covers more.
  auto tagged = manta::task(flaky)
                  .max_retries(2)
                  .retry_exceptions(manta::exceptions<fatal_error, flaky_error>{})
                  .remote("t4", "fatal", 2);
  CHECK(manta::get(tagged, 10s).first == 3);
  auto base = manta::task(flaky).max_retries(1).retry_exceptions<std::runtime_error>().remote(
    "t5", "flakier", 1);
  CHECK(manta::get(base, 10s).first == 2);
  // max_retries still bounds the runs: the last exception is the error.
  auto spent = manta::task(flaky).max_retries(2).retry_exceptions<flaky_error>().remote("t6",
                                                                                        "flaky", 5);
  CHECK(error_of(spent).message() == "t6 run 3");
}

TEST_CASE("retry_exceptions(true) retries every exception, false and the default none") {
  runtime_guard rt;
  auto all = manta::task(flaky).max_retries(3).retry_exceptions(true).remote("a1", "fatal", 2);
  CHECK(manta::get(all, 10s).first == 3);
  auto none = manta::task(flaky).max_retries(3).remote("a2", "flaky", 1);
  CHECK(error_of(none).message() == "a2 run 1");
  // A later retry_exceptions(false) drops an earlier list.
  auto off = manta::task(flaky)
               .max_retries(3)
               .retry_exceptions<flaky_error>()
               .retry_exceptions(false)
               .remote("a3", "flaky", 1);
  CHECK(error_of(off).message() == "a3 run 1");
  // And a list replaces an earlier "all".
  auto listed =
    manta::task(flaky).max_retries(3).retry_exceptions(true).retry_exceptions<flaky_error>().remote(
      "a4", "fatal", 1);
  CHECK(error_of(listed).message() == "a4 run 1");
}

TEST_CASE(
  "an actor re-runs a call on the same instance for listed exceptions, up to max_task_retries") {
  runtime_guard rt;
  auto w = manta::actor<worker>().max_task_retries(2).retry_exceptions<flaky_error>().remote();
  auto ok = w.call(&worker::work).remote("m1", "flaky", 2);
  CHECK(manta::get(ok, 10s).first == 3);
  CHECK(manta::get(w.call(&worker::seen).remote(), 10s) == 3); // one instance, three runs
  auto other = w.call(&worker::work).remote("m2", "fatal", 1);
  CHECK(error_of(other).message() == "m2 run 1");
  auto spent = w.call(&worker::work).remote("m3", "flaky", 5);
  CHECK(error_of(spent).message() == "m3 run 3");
  // Calls behind a retried one still run after it, in order.
  auto first = w.call(&worker::work).remote("m4", "flaky", 1);
  auto second = w.call(&worker::seen).remote();
  CHECK(manta::get(first, 10s).first == 2);
  CHECK(manta::get(second, 10s) == 3 + 1 + 3 + 2);
  // Without retry_exceptions, max_task_retries covers only actor deaths.
  auto plain = manta::actor<worker>().max_task_retries(2).remote();
  CHECK(error_of(plain.call(&worker::work).remote("m5", "flaky", 1)).message() == "m5 run 1");
  auto any = manta::actor<worker>().max_task_retries(1).retry_exceptions().remote();
  CHECK(manta::get(any.call(&worker::work).remote("m6", "fatal", 1), 10s).first == 2);
}

TEST_CASE("on a worker node: the listed types are retried there, others fail at once") {
  manta::local_cluster c;
  c.add_worker(1);
  c.join(/*local_cpus=*/0); // every task runs on the worker
  auto ok = manta::task(flaky).max_retries(3).retry_exceptions<flaky_error>().remote("w1",
                                                                                     "flakier", 2);
  auto [runs, node] = manta::get(ok, 20s);
  CHECK(runs == 3);
  CHECK(node != static_cast<int>(manta::current_node()));
  auto other = manta::task(flaky).max_retries(3).retry_exceptions<flaky_error>().remote("w2",
                                                                                        "fatal", 1);
  auto e = error_of(other);
  CHECK(has(e.type_name(), "fatal_error"));
  CHECK(e.message() == "w2 run 1");
  // An actor on the worker (the driver has no CPU for it) retries its calls there too.
  auto w =
    manta::actor<worker>().num_cpus(1).max_task_retries(2).retry_exceptions<flaky_error>().remote();
  auto call = w.call(&worker::work).remote("w3", "flaky", 2);
  auto [call_runs, call_node] = manta::get(call, 20s);
  CHECK(call_runs == 3);
  CHECK(call_node != static_cast<int>(manta::current_node()));
  CHECK(error_of(w.call(&worker::work).remote("w4", "fatal", 1)).message() == "w4 run 1");
  CHECK(manta::get(w.call(&worker::seen).remote(), 20s) == 4);
}

int main(int argc, char** argv) {
  return manta_test::cluster_test_main(argc, argv);
}
