// A cluster to observe from outside (tests/browser/): a head with its
// dashboard, a worker and this process as the driver, with a task running on
// the worker, actor "keeper" there and an object the driver owns. Prints
// where everything is (the lines tests/observed_node.cpp prints) and keeps it
// so until its stdin closes.

#include "tests/observed_cluster.hpp"

#include <manta/local_cluster.hpp>
#include <manta/manta.hpp>

#include <cstdio>
#include <iostream>
#include <string>

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
    std::printf("dashboard http://%s/\nheld %s\nobject %s\nworker %s\ndriver %s\nready\n",
                c.dashboard_address().c_str(), manta::to_string(w.held()).c_str(),
                manta::to_string(w.object()).c_str(), w.worker().c_str(),
                manta::detail::runtime::node_name().c_str());
    std::fflush(stdout);
    std::string line;
    while (std::getline(std::cin, line)) {
      // hold everything until the observer closes our stdin
    }
    std::printf("held became %d\n", w.release());
  }
  return 0;
}
