// A parameter server trained by 100 worker tasks per step on a simulated
// cluster whose nodes die at random (docs/simulation.md). The server actor
// lives on node 0 (the driver's, never killed); a worker task lost with its
// node runs again elsewhere (max_retries), so the loss still converges, and
// the same seed prints the same numbers and trace hash.
//
//   sim_parameter_server_demo                       # seed 1, 16 nodes, 6 kills
//   sim_parameter_server_demo --seed=7 --sim-nodes=32 --sim-kills=10
//
// Without simulation flags it runs the same program on the local node.

#include <manta/manta.hpp>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

using namespace std::chrono_literals;

namespace {

constexpr int dim = 8;
constexpr int workers = 100;
constexpr int steps = 30;
constexpr int shard_rows = 64;

/// The weights the data were made with: what training should find.
double true_weight(int j) {
  return 0.5 * (j + 1) * (j % 2 == 0 ? 1 : -1);
}

/// One worker's shard of a linear regression, made from its id alone.
void shard(int id, std::vector<double>& xs, std::vector<double>& ys) {
  std::mt19937_64 rng{static_cast<uint64_t>(id) * 7919 + 1};
  std::normal_distribution<double> n{0.0, 1.0};
  xs.resize(static_cast<size_t>(shard_rows * dim));
  ys.resize(shard_rows);
  for (int r = 0; r < shard_rows; ++r) {
    double y = 0;
    for (int j = 0; j < dim; ++j) {
      double x = n(rng);
      xs[static_cast<size_t>(r * dim + j)] = x;
      y += true_weight(j) * x;
    }
    ys[static_cast<size_t>(r)] = y + 0.01 * n(rng);
  }
}

/// The mean squared error's gradient on worker `id`'s shard.
std::vector<double> gradient(const std::vector<double>& w, int id) {
  manta::sleep(5ms); // the work, in virtual time under a simulation
  std::vector<double> xs, ys, g(dim, 0.0);
  shard(id, xs, ys);
  for (int r = 0; r < shard_rows; ++r) {
    double err = -ys[static_cast<size_t>(r)];
    for (int j = 0; j < dim; ++j)
      err += w[static_cast<size_t>(j)] * xs[static_cast<size_t>(r * dim + j)];
    for (int j = 0; j < dim; ++j)
      g[static_cast<size_t>(j)] += 2 * err * xs[static_cast<size_t>(r * dim + j)] / shard_rows;
  }
  return g;
}
MANTA_REMOTE(gradient);

class parameter_server {
public:
  parameter_server() : w_(dim, 0.0) {}
  std::vector<double> weights() { return w_; }
  std::vector<double> apply(std::vector<double> g, double lr) {
    for (int j = 0; j < dim; ++j)
      w_[static_cast<size_t>(j)] -= lr * g[static_cast<size_t>(j)];
    return w_;
  }

private:
  std::vector<double> w_;
};
MANTA_ACTOR(parameter_server, &parameter_server::weights, &parameter_server::apply);

double distance(const std::vector<double>& w) {
  double d = 0;
  for (int j = 0; j < dim; ++j)
    d += std::pow(w[static_cast<size_t>(j)] - true_weight(j), 2);
  return std::sqrt(d);
}

} // namespace

int main(int argc, char** argv) {
  // A simulation by default (--real: the local node): 16 nodes, 6 of them
  // killed in the first 150 ms, unless the flags say otherwise.
  std::vector<char*> args(argv, argv + argc);
  auto given = [&](const char* prefix) {
    for (int i = 1; i < argc; ++i)
      if (std::strncmp(argv[i], prefix, std::strlen(prefix)) == 0)
        return true;
    return false;
  };
  static char simulate[] = "--simulate", nodes[] = "--sim-nodes=16", kills[] = "--sim-kills=6",
              window[] = "--sim-kill-window=150ms";
  if (!given("--real")) {
    args.push_back(simulate);
    for (auto* extra : {nodes, kills, window})
      if (!given(std::string{extra, std::strchr(extra, '=')}.c_str()))
        args.push_back(extra);
  }
  manta::init(static_cast<int>(args.size()), args.data());
  auto t0 = manta::now();
  auto ps = manta::actor<parameter_server>().node_affinity(0).remote();
  auto w = manta::get(ps.call(&parameter_server::weights).remote());
  double start = distance(w);
  for (int step = 1; step <= steps; ++step) {
    auto shared = manta::put(w);
    std::vector<manta::object_ref<std::vector<double>>> grads;
    for (int id = 0; id < workers; ++id)
      grads.push_back(manta::task(gradient).max_retries(5).remote(shared, id));
    std::vector<double> sum(dim, 0.0);
    for (auto& g : grads) {
      auto v = manta::get(g);
      for (int j = 0; j < dim; ++j)
        sum[static_cast<size_t>(j)] += v[static_cast<size_t>(j)] / workers;
    }
    w = manta::get(ps.call(&parameter_server::apply).remote(sum, 0.1));
    if (step % 5 == 0 || step == 1)
      std::printf("step %2d  distance to the true weights %.6f  time %.3f s\n", step, distance(w),
                  std::chrono::duration<double>(manta::now() - t0).count());
  }
  auto summary = manta::sim::active() ? manta::sim::summary() : manta::sim::run_summary{};
  double end = distance(w);
  std::printf("distance %.6f -> %.6f: %s\n", start, end,
              end < start / 100 ? "converged" : "DID NOT CONVERGE");
  if (manta::sim::active())
    std::printf("tasks lost with their nodes: %llu\n",
                static_cast<unsigned long long>(summary.tasks_lost));
  manta::shutdown();
  return end < start / 100 ? 0 : 1;
}
