/// A model server: an actor loads its model once, in its constructor, and
/// then answers many predictions from memory. A stateless task would have to
/// load the model on every request; the actor pays that cost once and keeps
/// per-request metrics in its state (the Ray Core tutorial's "Model serving
/// with an actor", in C++).
///
///   model_server_demo [--fast] [--num-cpus=N]
///
/// The model takes 2 s to load and 50 ms per prediction, as in the tutorial;
/// --fast divides both by 10.

#include <manta/manta.hpp>

#include "demo_support.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

namespace {

/// Times a model was loaded in this process, by actors and tasks alike.
std::atomic<int> model_loads{0};

constexpr size_t num_features = 8;

/// A linear classifier: its weights are what "loading" produces.
struct model {
  std::vector<double> weights;
  double bias = 0;

  double score(const std::vector<double>& x) const {
    double s = bias;
    for (size_t i = 0; i < weights.size(); ++i)
      s += weights[i] * x[i];
    return s;
  }
};

/// The weights the model file holds.
model trained_model() {
  model m;
  for (size_t i = 0; i < num_features; ++i)
    m.weights.push_back((i % 2 == 0 ? 1.0 : -1.0) / static_cast<double>(i + 1));
  m.bias = -0.1;
  return m;
}

/// Reads the model from "disk": as slow as a real load, counted.
model load_model(double load_s) {
  std::this_thread::sleep_for(std::chrono::duration<double>{load_s});
  ++model_loads;
  return trained_model();
}

/// Request `i`'s features, the same for the client and the check.
std::vector<double> features(int i) {
  std::vector<double> x;
  for (size_t f = 0; f < num_features; ++f)
    x.push_back(std::sin(0.7 * i + 1.3 * static_cast<double>(f)));
  return x;
}

} // namespace

/// What `predict` answers.
struct prediction {
  int label = 0; // 1 if the score is positive
  double score = 0;
};

/// What `get_metrics` answers.
struct server_metrics {
  long requests = 0;
  double average_latency_ms = 0;
  double load_s = 0;
};

/// Holds a loaded model and serves predictions from it, one at a time.
class model_server {
public:
  model_server(double load_s, double predict_s) : predict_s_(predict_s) {
    auto t0 = clock_type::now();
    model_ = load_model(load_s); // once, for the actor's whole life
    load_s_ = seconds_since(t0);
  }

  prediction predict(std::vector<double> x) {
    auto t0 = clock_type::now();
    // The inference itself: a stand-in for a network's forward pass.
    std::this_thread::sleep_for(std::chrono::duration<double>{predict_s_});
    double s = model_.score(x);
    ++requests_;
    total_latency_s_ += seconds_since(t0);
    return {s > 0 ? 1 : 0, s};
  }

  server_metrics get_metrics() const {
    double avg = requests_ > 0 ? 1e3 * total_latency_s_ / static_cast<double>(requests_) : 0;
    return {requests_, avg, load_s_};
  }

private:
  model model_;
  double predict_s_;
  double load_s_ = 0;
  long requests_ = 0;
  double total_latency_s_ = 0;
};
MANTA_ACTOR(model_server, &model_server::predict, &model_server::get_metrics);

/// The stateless alternative: every request loads the model again.
prediction predict_stateless(std::vector<double> x, double load_s, double predict_s) {
  auto m = load_model(load_s);
  std::this_thread::sleep_for(std::chrono::duration<double>{predict_s});
  double s = m.score(x);
  return {s > 0 ? 1 : 0, s};
}
MANTA_REMOTE(predict_stateless);

int main(int argc, char** argv) {
  manta::init(argc, argv);
  const bool fast = fast_mode(argc, argv);
  const double scale = fast ? 0.1 : 1.0;
  const double load_s = 2.0 * scale, predict_s = 0.05 * scale;
  const int num_requests = 20;
  std::printf("model load %.2f s, prediction %.0f ms, %d requests\n\n", load_s, predict_s * 1e3,
              num_requests);

  // -- the actor: load once, serve many --------------------------------------
  auto t0 = clock_type::now();
  auto server = manta::actor<model_server>().remote(load_s, predict_s);
  double create_s = seconds_since(t0);
  auto first = manta::get(server.call(&model_server::predict).remote(features(0)));
  double first_s = seconds_since(t0);
  std::printf("actor created in %.3f ms (the constructor runs in the background);\n"
              "first prediction after %.3f s: it waited for the model to load\n",
              create_s * 1e3, first_s);

  // The remaining requests, submitted at once: the actor answers them in
  // order, one at a time, each from the model already in memory.
  auto t1 = clock_type::now();
  std::vector<manta::object_ref<prediction>> refs;
  for (int i = 1; i < num_requests; ++i)
    refs.push_back(server.call(&model_server::predict).remote(features(i)));
  auto answers = manta::get(refs);
  double rest_s = seconds_since(t1);
  answers.insert(answers.begin(), first);

  // Every answer is what the model computes locally.
  const model reference = trained_model();
  int correct = 0, positives = 0;
  for (int i = 0; i < num_requests; ++i) {
    double s = reference.score(features(i));
    correct += answers[static_cast<size_t>(i)].score == s
               && answers[static_cast<size_t>(i)].label == (s > 0 ? 1 : 0);
    positives += answers[static_cast<size_t>(i)].label;
  }
  std::printf("%d more predictions in %.3f s (%.1f ms each, no reload)\n", num_requests - 1, rest_s,
              1e3 * rest_s / (num_requests - 1));
  std::printf("predictions correct: %d of %d (%d positive)\n\n", correct, num_requests, positives);

  auto m = manta::get(server.call(&model_server::get_metrics).remote());
  int actor_loads = model_loads.load();
  std::printf("get_metrics: requests: %ld, average latency: %.2f ms, model loaded in "
              "%.3f s\n",
              m.requests, m.average_latency_ms, m.load_s);

  // -- for contrast: stateless tasks reload the model every time -------------
  const int stateless_requests = 3;
  auto t2 = clock_type::now();
  for (int i = 0; i < stateless_requests; ++i)
    manta::get(manta::task(predict_stateless).remote(features(i), load_s, predict_s));
  double stateless_s = seconds_since(t2);
  int task_loads = model_loads.load() - actor_loads;
  std::printf("%d requests as stateless tasks, one after another: %.3f s, %.3f s each "
              "(%d model loads)\n\n",
              stateless_requests, stateless_s, stateless_s / stateless_requests, task_loads);

  manta::shutdown();
  std::printf("model loads by the actor: %d for %ld requests\n", actor_loads, m.requests);
  std::printf("per request: actor %.1f ms, stateless task %.1f ms (%.0fx)\n",
              1e3 * rest_s / (num_requests - 1), 1e3 * stateless_s / stateless_requests,
              (stateless_s / stateless_requests) / (rest_s / (num_requests - 1)));
  bool ok = actor_loads == 1 && m.requests == num_requests && correct == num_requests
            && task_loads == stateless_requests;
  return ok ? 0 : 1;
}
