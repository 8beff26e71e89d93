// A node to observe from outside (tests/cli_test.cpp, tests/browser/):
// starts a runtime with a dashboard on an ephemeral port, leaves a task
// running, one waiting for it, a named actor, a placement group and an
// object, prints where
// everything is, and keeps it so until its stdin closes.

#include <manta/manta.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

namespace {

std::atomic<bool> g_open{false};
std::atomic<bool> g_running{false};

int blocked_step(int x) {
  g_running = true;
  while (!g_open.load())
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  return x;
}

int add_one(int x) {
  return x + 1;
}

MANTA_REMOTE(blocked_step, add_one);

class keeper {
public:
  int store(int x) { return total_ += x; }

private:
  int total_ = 0;
};
MANTA_ACTOR(keeper, &keeper::store);

} // namespace

int main() {
  manta::init_options opts;
  opts.num_cpus = 2;
  opts.dashboard_port = 0;
  manta::init(std::move(opts));
  {
    std::vector<manta::object_ref<int>> done;
    for (int i = 0; i < 10; ++i)
      done.push_back(manta::task(add_one).remote(i));
    manta::get(done);
    auto k = manta::actor<keeper>().name("keeper").remote();
    manta::get(k.call(&keeper::store).remote(5));
    // A placement group for `manta list placement-groups` (half a CPU: the
    // tasks below still find theirs).
    auto pg = manta::create_placement_group({{{"CPU", 0.5}}},
                                            manta::placement_strategy::strict_pack, "observed");
    manta::get(pg.ready());
    auto object = manta::put(std::vector<double>(1 << 16, 1.5));
    auto blocked = manta::task(blocked_step).remote(41);
    auto pending = manta::task(add_one).remote(blocked);
    while (!g_running.load()) // observers expect it RUNNING once we say "ready"
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    std::printf("dashboard %s\nblocked %s\npending %s\nobject %s\nready\n",
                manta::dashboard_url().c_str(), manta::to_string(blocked.id()).c_str(),
                manta::to_string(pending.id()).c_str(), manta::to_string(object.id()).c_str());
    std::fflush(stdout);
    std::string line;
    while (std::getline(std::cin, line)) {
      // nop: hold everything until the observer closes our stdin
    }
    g_open = true;
    int v = manta::get(pending);
    std::printf("pending became %d\n", v);
  }
  manta::shutdown();
  return 0;
}
