// A cluster to observe from outside (tests/browser/): a head with its
// dashboard, a worker and this process as the driver, with a task running on
// the worker, actor "keeper" there and an object the driver owns. Besides,
// for the logs view and the detail pages: a task on the worker that printed
// a line ("shout 7 from the worker"), and a chain of failures: `boom`
// failed on the worker, `after_boom` (given boom's result) and
// `after_after` (given after_boom's) failed of it on the driver without
// running; a placement group "observed" with its bundle on the worker; two
// more calls of keeper (three in all), for the runs on its detail page.
// Prints where everything is (the lines tests/observed_node.cpp
// prints) and keeps it so until its stdin closes.

#include "tests/observed_cluster.hpp"

#include <manta/local_cluster.hpp>
#include <manta/manta.hpp>

#include <cstdio>
#include <iostream>
#include <stdexcept>
#include <string>

namespace {

int shout(int x) {
  std::cout << "shout " << x << " from the worker" << std::endl;
  return x;
}

int boom(int) {
  throw std::runtime_error("boom: the disk is full");
}

int after_boom(int x) {
  return x + 1;
}

int after_after(int x) {
  return x + 1;
}

MANTA_REMOTE(shout, boom, after_boom, after_after);

} // namespace

int main(int argc, char** argv) {
  if (manta::is_cluster_process(argc, argv)) {
    manta::init(argc, argv); // the head or the worker: never returns
    return 1;
  }
  manta::local_cluster c;
  c.add_worker(2);
  c.join(0);
  {
    manta_test::observed_workload w{c};
    auto shouted = manta::task(shout).node_affinity(w.worker_node()).remote(7);
    manta::get(shouted, std::chrono::seconds(20));
    auto failed = manta::task(boom).node_affinity(w.worker_node()).remote(1);
    auto second = manta::task(after_boom).remote(failed);
    auto third = manta::task(after_after).remote(second);
    try {
      manta::get(third, std::chrono::seconds(20));
      std::fprintf(stderr, "after_after did not fail\n");
      return 1;
    } catch (const manta::task_error&) { // boom's error, through both
    }
    auto keeper_handle = manta::get_actor<manta_test::keeper>("keeper");
    for (int x : {1, 2})
      manta::get(keeper_handle.call(&manta_test::keeper::store).remote(x),
                 std::chrono::seconds(20));
    // A placement group of the driver's, which the head's dashboard lists
    // (the driver has no CPUs: its bundle sits on the worker).
    auto pg = manta::create_placement_group({{{"CPU", 0.5}}}, manta::placement_strategy::pack,
                                            "observed");
    if (!pg.wait(std::chrono::seconds(20))) {
      std::fprintf(stderr, "placement group observed was not reserved within 20 s\n");
      return 1;
    }
    std::printf("dashboard http://%s/\nheld %s\nobject %s\nworker %s\ndriver %s\n"
                "shouted %s\nboom %s\nfailed %s\nready\n",
                c.dashboard_address().c_str(), manta::to_string(w.held()).c_str(),
                manta::to_string(w.object()).c_str(), w.worker().c_str(),
                manta::detail::runtime::node_name().c_str(), manta::to_string(shouted.id()).c_str(),
                manta::to_string(failed.id()).c_str(), manta::to_string(third.id()).c_str());
    std::fflush(stdout);
    std::string line;
    while (std::getline(std::cin, line)) {
      // hold everything until the observer closes our stdin
    }
    std::printf("held became %d\n", w.release());
  }
  return 0;
}
