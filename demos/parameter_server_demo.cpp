/// A parameter server: an actor holds a linear model's weights; in every
/// round, worker tasks take the current weights (an object_ref straight from
/// the actor's call, never fetched by the driver) and the shared data set
/// (put once), compute the gradient on their shard, and the server applies
/// the sum. The loss falls round after round until it reaches the noise
/// floor (the Ray Core tutorial's "Parameter server", in C++).
///
///   parameter_server_demo [--fast] [--num-cpus=N]
///
/// 4 workers, 8,000 samples of 5 features, 30 rounds; --fast: 2,000 samples,
/// 20 rounds.

#include <manta/manta.hpp>

#include "demo_support.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <vector>

namespace {

/// Uniform in [0, 1) from counter i.
double uniform(uint64_t i) {
  return static_cast<double>(splitmix(i) >> 11) * 0x1.0p-53;
}

constexpr int num_features = 5;
constexpr int num_workers = 4;
/// The model the data comes from: y = w . x + b + noise.
const double true_weights[num_features] = {2.0, -3.0, 0.5, 1.5, -1.0};
constexpr double true_bias = 0.7;
constexpr double noise_sd = 0.1;

} // namespace

/// Samples in rows: x is n * num_features values, y has n.
struct dataset {
  std::vector<double> x;
  std::vector<double> y;
  size_t size() const { return y.size(); }
};

/// Weights then bias: num_features + 1 values.
using params = std::vector<double>;

/// A shard's share of the full-batch gradient of the mean squared error,
/// and its share of the loss at the weights it was given.
struct gradient {
  params grad;
  double loss = 0;
};

/// Holds the weights; applies the workers' gradients once per round.
class parameter_server {
public:
  explicit parameter_server(double learning_rate) : lr_(learning_rate) {}

  params get_weights() const { return weights_; }

  /// Applies the sum of the shards' gradients; returns the new weights.
  params apply_gradients(std::vector<gradient> grads) {
    for (auto& g : grads)
      for (size_t i = 0; i < weights_.size(); ++i)
        weights_[i] -= lr_ * g.grad[i];
    ++rounds_;
    return weights_;
  }

  int rounds() const { return rounds_; }

private:
  double lr_;
  params weights_ = params(num_features + 1, 0.0);
  int rounds_ = 0;
};
MANTA_ACTOR(parameter_server, &parameter_server::get_weights, &parameter_server::apply_gradients,
            &parameter_server::rounds);

/// Worker k of `workers`: the gradient over samples k, k + workers, ...
/// divided by the whole data set's size, so the shards' gradients add up to
/// the full one.
gradient compute_gradient(const dataset& data, const params& w, int k, int workers) {
  gradient g{params(num_features + 1, 0.0), 0.0};
  const double n = static_cast<double>(data.size());
  for (size_t s = static_cast<size_t>(k); s < data.size(); s += static_cast<size_t>(workers)) {
    const double* x = &data.x[s * num_features];
    double e = w[num_features] - data.y[s];
    for (int f = 0; f < num_features; ++f)
      e += w[static_cast<size_t>(f)] * x[f];
    for (int f = 0; f < num_features; ++f)
      g.grad[static_cast<size_t>(f)] += 2 * e * x[f] / n;
    g.grad[num_features] += 2 * e / n;
    g.loss += e * e / n;
  }
  return g;
}
MANTA_REMOTE(compute_gradient);

namespace {

dataset make_dataset(size_t n) {
  dataset d;
  uint64_t c = 0;
  for (size_t s = 0; s < n; ++s) {
    double y = true_bias;
    for (int f = 0; f < num_features; ++f) {
      double x = 2 * uniform(c++) - 1;
      d.x.push_back(x);
      y += true_weights[f] * x;
    }
    // Gaussian noise: the sum of 12 uniforms has variance 1 (Irwin-Hall).
    double z = -6;
    for (int i = 0; i < 12; ++i)
      z += uniform(c++);
    d.y.push_back(y + noise_sd * z);
  }
  return d;
}

double loss_of(const std::vector<gradient>& gs) {
  double l = 0;
  for (auto& g : gs)
    l += g.loss;
  return l;
}

} // namespace

int main(int argc, char** argv) {
  manta::init(argc, argv);
  const bool fast = fast_mode(argc, argv);
  const size_t samples = fast ? 2'000 : 8'000;
  const int rounds = fast ? 20 : 30;
  const double lr = 0.5;
  std::printf("%zu samples, %d features, %d workers, %d rounds, learning rate %g\n", samples,
              num_features, num_workers, rounds, lr);
  std::printf("noise floor: the loss cannot go below the noise variance %.4f\n\n",
              noise_sd * noise_sd);

  auto data = manta::put(make_dataset(samples)); // shared by every worker, every round
  auto ps = manta::actor<parameter_server>().remote(lr);
  auto weights = ps.call(&parameter_server::get_weights).remote();

  std::vector<double> losses;
  std::printf("%5s  %12s\n", "round", "loss");
  for (int r = 0; r < rounds; ++r) {
    std::vector<manta::object_ref<gradient>> refs;
    for (int k = 0; k < num_workers; ++k)
      refs.push_back(manta::task(compute_gradient).remote(data, weights, k, num_workers));
    auto grads = manta::get(refs);
    losses.push_back(loss_of(grads)); // the loss at this round's weights
    std::printf("%5d  %12.6f\n", r, losses.back());
    weights = ps.call(&parameter_server::apply_gradients).remote(std::move(grads));
  }
  // The loss of the final weights.
  std::vector<manta::object_ref<gradient>> refs;
  for (int k = 0; k < num_workers; ++k)
    refs.push_back(manta::task(compute_gradient).remote(data, weights, k, num_workers));
  double final_loss = loss_of(manta::get(refs));
  auto w = manta::get(weights);
  int applied = manta::get(ps.call(&parameter_server::rounds).remote());

  manta::shutdown();
  int decreasing = 0;
  for (size_t i = 1; i < losses.size(); ++i)
    decreasing += losses[i] < losses[i - 1];
  std::printf("\nlearned: w = [");
  for (int f = 0; f < num_features; ++f)
    std::printf("%s%.3f", f ? ", " : "", w[static_cast<size_t>(f)]);
  std::printf("], b = %.3f\n", w[num_features]);
  std::printf("true:    w = [");
  for (int f = 0; f < num_features; ++f)
    std::printf("%s%.3f", f ? ", " : "", true_weights[f]);
  std::printf("], b = %.3f\n", true_bias);
  std::printf("rounds applied by the server: %d\n", applied);
  std::printf("loss decreased in %d of %zu rounds\n", decreasing, losses.size() - 1);
  std::printf("initial loss: %.6f\n", losses.front());
  std::printf("final loss: %.6f\n", final_loss);
  return applied == rounds && final_loss < losses.front() ? 0 : 1;
}
