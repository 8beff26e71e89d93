// The parameter-server pattern: an actor holds the model, worker tasks get
// its handle, pull the weights, compute gradients on their shard of the data
// and push them back. Linear regression y = 3x - 2 must converge.

#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
#include <manta/manta.hpp>

#include "tests/runtime_guard.hpp"

#include <chrono>
#include <cmath>
#include <vector>

using namespace std::chrono_literals;

namespace {


/// Weights {w, b}; applies gradients with a fixed learning rate.
class parameter_server {
public:
  explicit parameter_server(double lr) : lr_(lr) {}
  std::vector<double> pull() const { return weights_; }
  std::vector<double> push(std::vector<double> grad) {
    for (size_t i = 0; i < weights_.size(); ++i)
      weights_[i] -= lr_ * grad[i];
    ++updates_;
    return weights_;
  }
  int updates() const { return updates_; }

private:
  double lr_;
  std::vector<double> weights_{0.0, 0.0};
  int updates_ = 0;
};
MANTA_ACTOR(parameter_server, &parameter_server::pull, &parameter_server::push,
            &parameter_server::updates);

/// Shard `k` of 4: every 4th of 200 points x in [-1, 1], y = 3x - 2. Each
/// shard spans the whole range, so training converges however the workers'
/// pushes interleave (contiguous shards would pull the weights towards each
/// shard's own valley when the workers happen to run one after another).
void shard(int k, std::vector<double>& xs, std::vector<double>& ys) {
  for (int i = 0; i < 50; ++i) {
    double x = -1.0 + 2.0 * (i * 4 + k) / 199.0;
    xs.push_back(x);
    ys.push_back(3.0 * x - 2.0);
  }
}

double loss(const std::vector<double>& w) {
  double sum = 0;
  for (int k = 0; k < 4; ++k) {
    std::vector<double> xs, ys;
    shard(k, xs, ys);
    for (size_t i = 0; i < xs.size(); ++i) {
      double e = w[0] * xs[i] + w[1] - ys[i];
      sum += e * e;
    }
  }
  return sum / 200.0;
}

int train_worker(manta::actor_handle<parameter_server> ps, int k, int steps) {
  std::vector<double> xs, ys;
  shard(k, xs, ys);
  auto w = manta::get(ps.call(&parameter_server::pull).remote(), 10s);
  for (int s = 0; s < steps; ++s) {
    std::vector<double> g{0.0, 0.0};
    for (size_t i = 0; i < xs.size(); ++i) {
      double e = w[0] * xs[i] + w[1] - ys[i];
      g[0] += 2 * e * xs[i] / xs.size();
      g[1] += 2 * e / xs.size();
    }
    w = manta::get(ps.call(&parameter_server::push).remote(g), 10s);
  }
  return steps;
}
MANTA_REMOTE(train_worker);

} // namespace

TEST_CASE("a parameter server trained by 4 worker tasks converges") {
  runtime_guard rt{4};
  auto ps = manta::actor<parameter_server>().remote(0.05);
  double initial = loss(manta::get(ps.call(&parameter_server::pull).remote(), 10s));
  std::vector<manta::object_ref<int>> workers;
  for (int k = 0; k < 4; ++k)
    workers.push_back(manta::task(train_worker).remote(ps, k, 100));
  manta::get(workers, 60s);
  CHECK(manta::get(ps.call(&parameter_server::updates).remote(), 10s) == 400);
  auto w = manta::get(ps.call(&parameter_server::pull).remote(), 10s);
  double final_loss = loss(w);
  INFO("initial loss " << initial << ", final " << final_loss << ", w=" << w[0] << " b=" << w[1]);
  CHECK(initial > 4.0);
  CHECK(final_loss < 1e-3);
  CHECK(std::abs(w[0] - 3.0) < 0.05);
  CHECK(std::abs(w[1] + 2.0) < 0.05);
}
