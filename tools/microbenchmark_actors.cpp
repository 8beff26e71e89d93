// Ray's actor metrics (ray_perf.py) for `manta microbenchmark`: the same
// actors, call patterns and counts, for threaded and async actors.

#include "tools/metric.hpp"

#include <manta/manta.hpp>

#include <algorithm>
#include <string>
#include <type_traits>
#include <thread>
#include <vector>

namespace {

using manta::tools::metric;

/// The actor of the actor metrics (Ray's `Actor` in ray_perf.py).
class bench_actor {
public:
  bench_actor() = default;
  int small_value() { return 0; }
  int small_value_arg(int x) { return x; }
};
MANTA_ACTOR(bench_actor, &bench_actor::small_value, &bench_actor::small_value_arg);

/// Ray's `AsyncActor`: the same methods as coroutines on an event loop.
class async_bench_actor {
public:
  async_bench_actor() = default;
  manta::async<int> small_value() { co_return 0; }
  manta::async<int> small_value_arg(int x) { co_return x; }
};
MANTA_ACTOR(async_bench_actor, &async_bench_actor::small_value,
            &async_bench_actor::small_value_arg);

/// Ray's `Client`: an actor that calls its servers (actors of type A).
template <class A>
class client_of {
public:
  explicit client_of(std::vector<manta::actor_handle<A>> servers) : servers_(std::move(servers)) {}

  /// n calls to each server, then gets them all.
  int small_value_batch(int n) {
    std::vector<manta::object_ref<int>> refs;
    refs.reserve(static_cast<size_t>(n) * servers_.size());
    for (auto& s : servers_)
      for (int i = 0; i < n; ++i)
        refs.push_back(s.call(&A::small_value).remote());
    manta::get(refs);
    return n;
  }

  /// n calls with an object argument to each server, then gets them all.
  int small_value_batch_arg(int n) {
    auto x = manta::put(0);
    std::vector<manta::object_ref<int>> refs;
    refs.reserve(static_cast<size_t>(n) * servers_.size());
    for (auto& s : servers_)
      for (int i = 0; i < n; ++i)
        refs.push_back(s.call(&A::small_value_arg).remote(x));
    manta::get(refs);
    return n;
  }

private:
  std::vector<manta::actor_handle<A>> servers_;
};

using bench_client = client_of<bench_actor>;
MANTA_ACTOR(bench_client, &bench_client::small_value_batch, &bench_client::small_value_batch_arg);
using async_bench_client = client_of<async_bench_actor>;
MANTA_ACTOR(async_bench_client, &async_bench_client::small_value_batch,
            &async_bench_client::small_value_batch_arg);

/// Ray's `work(actors)` of n:n actor calls: n calls spread over the actors.
template <class A>
int actor_work(std::vector<manta::actor_handle<A>> actors, int n) {
  std::vector<manta::object_ref<int>> refs;
  refs.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i)
    refs.push_back(actors[static_cast<size_t>(i) % actors.size()].call(&A::small_value).remote());
  manta::get(refs);
  return n;
}
MANTA_REMOTE(actor_work<bench_actor>);
MANTA_REMOTE(actor_work<async_bench_actor>);

/// Submits `calls` calls in batches of `batch`, getting each batch.
template <class A, class M>
void batched_calls(const manta::actor_handle<A>& a, M method, int calls, int batch) {
  std::vector<manta::object_ref<int>> refs;
  refs.reserve(static_cast<size_t>(batch));
  for (int done = 0; done < calls; done += batch) {
    refs.clear();
    for (int i = 0; i < batch; ++i) {
      if constexpr (std::is_invocable_v<M, A&>)
        refs.push_back(a.call(method).remote());
      else
        refs.push_back(a.call(method).remote(i));
    }
    manta::get(refs);
  }
}

/// The metrics of one actor type under Ray's names with `prefix`
/// ("actor" or "async_actor"); n_cpu is half the cores, as in Ray.
template <class A>
void add_metrics_of(std::vector<metric>& ms, const std::string& prefix, double rr) {
  using client = client_of<A>;
  auto n_cpu = std::max<size_t>(1, std::thread::hardware_concurrency() / 2);
  auto name = [&](const char* shape, const char* kind) {
    return std::string{shape} + "_" + prefix + "_calls" + kind;
  };
  auto one = manta::actor<A>().remote();
  // Call and get, one call at a time.
  ms.push_back({name("1_1", "_sync"), 10000,
                [one] {
                  for (int i = 0; i < 10000; ++i)
                    manta::get(one.call(&A::small_value).remote());
                },
                "caf_request_response", rr});
  // Submit 1000 calls, then get them all; 10 rounds.
  ms.push_back({name("1_1", "_async"), 10000,
                [one] { batched_calls(one, &A::small_value, 10000, 1000); }, "caf_request_response",
                rr});
  if constexpr (std::is_same_v<A, bench_actor>) {
    auto concurrent = manta::actor<A>().max_concurrency(16).remote();
    ms.push_back({name("1_1", "_concurrent"), 10000,
                  [concurrent] { batched_calls(concurrent, &A::small_value, 10000, 1000); },
                  "caf_request_response", rr});
  } else {
    ms.push_back({name("1_1", "_with_args_async"), 10000,
                  [one] { batched_calls(one, &A::small_value_arg, 10000, 1000); },
                  "caf_request_response", rr});
  }
  // One client actor calling n_cpu actors, 5000 calls each.
  std::vector<manta::actor_handle<A>> servers;
  for (size_t i = 0; i < n_cpu; ++i)
    servers.push_back(manta::actor<A>().remote());
  auto c = manta::actor<client>().remote(servers);
  ms.push_back({name("1_n", "_async"), 5000 * n_cpu,
                [c] { manta::get(c.call(&client::small_value_batch).remote(5000)); }, nullptr, 0});
  // m = 4 tasks, each making 5000 calls spread over n_cpu actors.
  ms.push_back({name("n_n", "_async"), 4 * 5000,
                [servers] {
                  std::vector<manta::object_ref<int>> refs;
                  for (int t = 0; t < 4; ++t)
                    refs.push_back(manta::task(actor_work<A>).remote(servers, 5000));
                  manta::get(refs);
                },
                nullptr, 0});
  if constexpr (!std::is_same_v<A, bench_actor>)
    return;
  // n_cpu clients, each with its own actor, 1000 calls with an object arg.
  std::vector<manta::actor_handle<client>> clients;
  for (size_t i = 0; i < n_cpu; ++i)
    clients.push_back(manta::actor<client>().remote(
      std::vector<manta::actor_handle<A>>{manta::actor<A>().remote()}));
  ms.push_back({name("n_n", "_with_arg_async"), 1000 * n_cpu,
                [clients] {
                  std::vector<manta::object_ref<int>> refs;
                  for (auto& cl : clients)
                    refs.push_back(cl.call(&client::small_value_batch_arg).remote(1000));
                  manta::get(refs);
                },
                nullptr, 0});
}

} // namespace

namespace manta::tools {

void add_actor_metrics(std::vector<metric>& ms, double rr) {
  add_metrics_of<bench_actor>(ms, "actor", rr);
  add_metrics_of<async_bench_actor>(ms, "async_actor", rr);
}

} // namespace manta::tools
