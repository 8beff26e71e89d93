// An actor whose node died with no other live node that fits it waits to
// restart until one joins (issue 21): its calls queue, the state API and
// `manta why` say what it waits for, and a fitting node started later runs
// them. Real worker processes (this binary is the head, the workers and
// the driver, see cluster_main.hpp).

#include "tests/cluster_helpers.hpp"
#include "tests/cluster_main.hpp"
#include "tests/counter_actor.hpp"

#include <manta/manta.hpp>

#include <chrono>
#include <string>
#include <thread>
#include <unistd.h>

using namespace std::chrono_literals;

namespace {

/// The driver's record of the actor (by its class), once `pred` holds for
/// it; an empty record if it did not within `limit`.
template <class Pred>
manta::actor_info actor_when(Pred pred, std::chrono::milliseconds limit) {
  for (auto until = std::chrono::steady_clock::now() + limit;
       std::chrono::steady_clock::now() < until; std::this_thread::sleep_for(10ms))
    for (auto& a : manta::list_actors())
      if (a.class_name == "counter" && pred(a))
        return a;
  return {};
}

} // namespace

TEST_CASE("an actor whose node died waits for a node that fits, then runs its calls") {
  manta::local_cluster c;
  auto a = c.add_worker(1, "only_a:1");
  c.join(1);
  auto h = manta::actor<counter>().resources({{"only_a", 1}}).max_restarts(1).remote();
  CHECK(manta::get(h.call(&counter::pid).remote(), 30s) == a);
  CHECK(manta::get(h.call(&counter::incr).remote(5), 30s) == 5);
  c.kill_worker(a, 1);
  // No live node offers only_a: the actor waits to restart instead of dying,
  // and says for what (it used to be DEAD here: "cannot be placed").
  auto waiting = actor_when(
    [](auto& r) {
      return r.state == "DEAD" || (r.state == "RESTARTING" && !r.death_cause.empty());
    },
    30s);
  CHECK(waiting.state == "RESTARTING");
  CHECK(waiting.death_cause.find("waits for a node that offers") != std::string::npos);
  CHECK(waiting.death_cause.find("only_a") != std::string::npos);
  // Calls queue meanwhile; `why` names what the actor waits for.
  auto r1 = h.call(&counter::incr).remote(1);
  auto r2 = h.call(&counter::incr).remote(2);
  auto said = manta::why(r1.id());
  CHECK(said.find("RESTARTING") != std::string::npos);
  CHECK(said.find("waits for a node that offers") != std::string::npos);
  auto [ready, pending] = manta::wait(std::vector{r1, r2}, 1, 0ms);
  CHECK(ready.empty());
  // Still waiting a while later, after the head said node A left (that used
  // to kill it at once).
  CHECK(actor_when([](auto& r) { return r.state == "DEAD"; }, 500ms).state.empty());
  // A node that fits joins: the actor restarts there and runs the calls.
  auto b = c.add_worker(1, "only_a:1");
  c.wait_for_cpus(2);
  CHECK(manta::get(r1, 30s) == 1); // a fresh instance: state starts over
  CHECK(manta::get(r2, 30s) == 3);
  CHECK(manta::get(h.call(&counter::pid).remote(), 30s) == b);
  CHECK(manta::get(h.call(&counter::restarted).remote(), 30s));
  CHECK(actor_when([](auto& r) { return r.state == "ALIVE"; }, 5s).death_cause.empty());
}

int main(int argc, char** argv) {
  return manta_test::cluster_test_main(argc, argv);
}
