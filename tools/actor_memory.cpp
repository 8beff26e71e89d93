// Memory of idle actors: creates N actors (default 100,000), waits until
// every one is constructed, and reports the resident memory they added.
// Exits 1 if the total exceeds 2 GiB (the budget for 100,000 actors).
//
//   build/tools/actor_memory [N]

#include <manta/manta.hpp>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <vector>

namespace {

class idle_actor {
public:
  explicit idle_actor(int id) : id_(id) {}
  int id() const { return id_; }

private:
  int id_;
};
MANTA_ACTOR(idle_actor, &idle_actor::id);

size_t rss_bytes() {
  std::ifstream statm{"/proc/self/statm"};
  size_t pages = 0;
  size_t resident = 0;
  statm >> pages >> resident;
  return resident * 4096;
}

} // namespace

int main(int argc, char** argv) {
  int n = argc > 1 ? std::atoi(argv[1]) : 100000;
  manta::init();
  auto before = rss_bytes();
  std::vector<manta::actor_handle<idle_actor>> actors;
  actors.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i)
    actors.push_back(manta::actor<idle_actor>().remote(i));
  // One call each proves every actor was constructed and is alive.
  std::vector<manta::object_ref<int>> refs;
  refs.reserve(static_cast<size_t>(n));
  for (auto& a : actors)
    refs.push_back(a.call(&idle_actor::id).remote());
  long sum = 0;
  for (auto& r : refs)
    sum += manta::get(r);
  refs.clear();
  auto after = rss_bytes();
  long expected = static_cast<long>(n) * (n - 1) / 2;
  double total = static_cast<double>(after - before);
  std::printf("%d idle actors: %.1f MiB resident, %.0f bytes per actor (budget: 2 GiB "
              "for 100,000 = %.0f bytes each)%s\n",
              n, total / (1 << 20), total / n, 2.0 * (1 << 30) / 100000,
              sum == expected ? "" : " -- WRONG RESULTS");
  manta::shutdown();
  return sum == expected && total * 100000.0 / n < 2.0 * (1 << 30) ? 0 : 1;
}
