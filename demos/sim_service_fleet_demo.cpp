// A service fleet on a simulated cluster (docs/simulation.md): clients send
// requests through load-balancer actors to backend actors that take 1-2 ms
// a request (one in 50 takes 20 ms). From 1 s to 2 s of virtual time a
// partition cuts off the backends on nodes 10-15: a load balancer whose call
// gets no answer within 30 ms marks that backend down for 200 ms and asks
// another. The demo prints the requests' latency percentiles before, during
// and after the partition; the same seed prints the same numbers.
//
//   sim_service_fleet_demo                  # seed 1
//   sim_service_fleet_demo --seed=7         # another run, as reproducible

#include <manta/manta.hpp>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

using namespace std::chrono_literals;

namespace {

constexpr int nodes = 16;
constexpr int backends = 12;   // on nodes 4..15
constexpr int balancers = 2;   // on nodes 1 and 2
constexpr int clients = 16;    // on nodes 0..3
constexpr uint32_t first_cut_node = 10;
constexpr auto run_for = 3s;
constexpr auto cut_at = 1s;
constexpr auto heal_at = 2s;
constexpr auto call_timeout = 30ms;
constexpr auto down_for = 200ms;

/// A well-mixed number from `x` (splitmix64): the request's own randomness,
/// the same in every run.
uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

std::chrono::nanoseconds service_time(long req) {
  auto h = mix(static_cast<uint64_t>(req));
  if (h % 50 == 0)
    return 20ms;
  return 1ms + std::chrono::microseconds{static_cast<long>(h % 1000)};
}

class backend {
public:
  long handle(long req) {
    manta::sleep(service_time(req)); // the work, in virtual time
    return req;
  }
};
MANTA_ACTOR(backend, &backend::handle);

/// Round robin over the backends, skipping those marked down; a call that
/// does not answer in time marks its backend down and goes to the next.
class balancer {
public:
  explicit balancer(std::vector<manta::actor_handle<backend>> bs)
    : backends_(std::move(bs)), down_until_(backends_.size()) {}

  long route(long req) {
    for (size_t tries = 0;; ++tries) {
      size_t i = 0;
      {
        std::lock_guard guard{mtx_};
        i = next_++ % backends_.size();
        // Every backend down: ask one anyway rather than fail the request.
        if (manta::now() < down_until_[i] && tries < backends_.size())
          continue;
      }
      auto reply = backends_[i].call(&backend::handle).remote(req);
      try {
        return manta::get(reply, call_timeout);
      } catch (const manta::get_timeout_error&) {
        std::lock_guard guard{mtx_};
        down_until_[i] = manta::now() + down_for;
        ++timeouts_;
      }
    }
  }

  long timeouts() {
    std::lock_guard guard{mtx_};
    return timeouts_;
  }

private:
  std::mutex mtx_; // calls run concurrently (max_concurrency)
  std::vector<manta::actor_handle<backend>> backends_;
  std::vector<std::chrono::steady_clock::time_point> down_until_;
  size_t next_ = 0;
  long timeouts_ = 0;
};
MANTA_ACTOR(balancer, &balancer::route, &balancer::timeouts);

/// One client: requests one after the other, with a think time between
/// them, for `run_for`. Returns (start, latency) pairs in ns since `t0_ns`.
std::vector<int64_t> client(manta::actor_handle<balancer> lb, long id, int64_t t0_ns) {
  std::vector<int64_t> out;
  auto t0 = std::chrono::steady_clock::time_point{std::chrono::nanoseconds{t0_ns}};
  long req = id * 1'000'000;
  while (manta::now() - t0 < run_for) {
    auto start = manta::now();
    manta::get(lb.call(&balancer::route).remote(req));
    auto end = manta::now();
    out.push_back((start - t0).count());
    out.push_back((end - start).count());
    manta::sleep(2ms + std::chrono::microseconds{static_cast<long>(mix(~uint64_t(req)) % 2000)});
    ++req;
  }
  return out;
}
MANTA_REMOTE(client);

double percentile_ms(std::vector<int64_t>& xs, double q) {
  if (xs.empty())
    return 0;
  std::sort(xs.begin(), xs.end());
  auto at = std::min(xs.size() - 1, static_cast<size_t>(q * static_cast<double>(xs.size())));
  return static_cast<double>(xs[at]) / 1e6;
}

} // namespace

int main(int argc, char** argv) {
  // Always a simulation: 16 nodes of 2 CPUs, 200 us (+ jitter) between them.
  std::vector<char*> args(argv, argv + argc);
  static char simulate[] = "--simulate", sim_nodes[] = "--sim-nodes=16";
  args.push_back(simulate);
  args.push_back(sim_nodes);
  manta::init(static_cast<int>(args.size()), args.data());
  // The partition in the middle: nodes 10-15 cut off from 1 s to 2 s.
  manta::sim_fault cut;
  cut.at = cut_at;
  cut.what = manta::sim_fault::kind::partition;
  for (uint32_t n = first_cut_node; n < nodes; ++n)
    cut.group.push_back(n);
  manta::sim_fault heal;
  heal.at = heal_at;
  heal.what = manta::sim_fault::kind::heal;
  manta::sim::schedule(cut);
  manta::sim::schedule(heal);

  std::vector<manta::actor_handle<backend>> bs;
  for (int b = 0; b < backends; ++b)
    bs.push_back(
      manta::actor<backend>().node_affinity(static_cast<manta::node_id>(4 + b)).remote());
  std::vector<manta::actor_handle<balancer>> lbs;
  for (int l = 0; l < balancers; ++l)
    lbs.push_back(manta::actor<balancer>()
                    .node_affinity(static_cast<manta::node_id>(1 + l))
                    .max_concurrency(64)
                    .remote(bs));
  auto t0 = manta::now();
  std::vector<manta::object_ref<std::vector<int64_t>>> runs;
  for (long c = 0; c < clients; ++c)
    runs.push_back(manta::task(client)
                     .node_affinity(static_cast<manta::node_id>(c % 4))
                     .num_cpus(0.125)
                     .remote(lbs[static_cast<size_t>(c) % lbs.size()], c,
                             static_cast<int64_t>(t0.time_since_epoch().count())));
  // Latencies by the phase their request started in.
  std::vector<int64_t> phase[3];
  for (auto& r : runs) {
    auto samples = manta::get(r);
    for (size_t i = 0; i + 1 < samples.size(); i += 2) {
      auto start = std::chrono::nanoseconds{samples[i]};
      int p = start < cut_at ? 0 : start < heal_at ? 1 : 2;
      phase[p].push_back(samples[i + 1]);
    }
  }
  long timeouts = 0;
  for (auto& lb : lbs)
    timeouts += manta::get(lb.call(&balancer::timeouts).remote());

  std::printf("service fleet: %d clients, %d load balancers, %d backends on %d simulated nodes;\n"
              "backends on nodes %u-%d cut off from %.1f s to %.1f s\n",
              clients, balancers, backends, nodes, first_cut_node, nodes - 1,
              std::chrono::duration<double>(cut_at).count(),
              std::chrono::duration<double>(heal_at).count());
  std::printf("%-16s %9s %9s %9s %9s\n", "phase", "requests", "p50 ms", "p99 ms", "p999 ms");
  const char* names[] = {"before (0-1 s)", "during (1-2 s)", "after (2-3 s)"};
  bool all = true;
  for (int p = 0; p < 3; ++p) {
    auto n = phase[p].size();
    all = all && n > 0;
    auto p50 = percentile_ms(phase[p], 0.5);
    auto p99 = percentile_ms(phase[p], 0.99);
    auto p999 = percentile_ms(phase[p], 0.999);
    std::printf("%-16s %9zu %9.3f %9.3f %9.3f\n", names[p], n, p50, p99, p999);
  }
  std::printf("load balancer timeouts: %ld\n", timeouts);
  std::fflush(stdout); // the table before the summary line (stderr)
  manta::shutdown(); // prints the simulation's summary and trace hash
  return all ? 0 : 1;
}
