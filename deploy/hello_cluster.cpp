// The deployment example: a driver that runs tasks on a cluster's workers
// and prints where they ran. The same binary is the worker (started with
// --manta-worker) and the driver, as every Manta cluster program is
// (docs/cluster.md). The Slurm test, the systemd units and the container
// image use it; tests read its output.

#include <manta/manta.hpp>

#include <cstdint>
#include <cstdio>
#include <set>
#include <string>
#include <unistd.h>
#include <vector>

namespace {

/// x squared, and which node and process computed it.
std::vector<int64_t> square_where(int64_t x) {
  return {x * x, static_cast<int64_t>(manta::current_node()), static_cast<int64_t>(::getpid())};
}

std::string joined(const std::set<int64_t>& xs) {
  std::string out;
  for (auto x : xs)
    out += (out.empty() ? "" : ",") + std::to_string(x);
  return out;
}

} // namespace

MANTA_REMOTE(square_where);

int main(int argc, char** argv) {
  manta::init(argc, argv); // a worker (--manta-worker) never returns from here
  std::vector<manta::object_ref<std::vector<int64_t>>> refs;
  for (int64_t i = 1; i <= 8; ++i)
    refs.push_back(manta::task(square_where).remote(i));
  int64_t sum = 0;
  std::set<int64_t> nodes, pids;
  for (auto& r : manta::get(refs)) {
    sum += r[0];
    nodes.insert(r[1]);
    pids.insert(r[2]);
  }
  std::printf("driver: node %u, pid %d\n", unsigned{manta::current_node()}, ::getpid());
  std::printf("tasks ran on nodes %s, pids %s\n", joined(nodes).c_str(), joined(pids).c_str());
  std::printf("sum of squares 1..8 = %lld\n", static_cast<long long>(sum));
  manta::shutdown();
}
