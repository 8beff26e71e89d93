#pragma once

// What every library's version of the task shapes (peers.hpp) shares: the
// no-op task, the check of its results, and the loops of the two flat shapes
// around a library's own way of submitting a task and reading its result.

#include <cstddef>
#include <cstdlib>
#include <vector>

namespace manta::tools::peers {

/// The no-op task every library runs: its result is checked, so none of
/// them can skip it.
inline int one() {
  return 1;
}

/// Aborts unless the results of `n` runs of `one` add up to `n`.
inline void check_sum(long sum, int n) {
  if (sum != n)
    std::abort();
}

/// Checks `results`, one slot a task, each filled in by a run of `one`.
inline void check_results(const std::vector<int>& results, int n) {
  long sum = 0;
  for (int v : results)
    sum += v;
  check_sum(sum, n);
}

/// `spawn_get` for a library whose `submit()` returns a future of `one`'s
/// result: submits `n`, then reads every result.
template <class Submit>
void spawn_then_get_all(int n, Submit submit) {
  std::vector<decltype(submit())> futures;
  futures.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i)
    futures.push_back(submit());
  long sum = 0;
  for (auto& f : futures)
    sum += f.get();
  check_sum(sum, n);
}

/// `fork_join` for a library whose `spawn(depth)` starts a task running
/// the caller's fork-join function on `depth` and returns its future: the
/// two children, then both their results.
template <class Spawn>
long fork_join_futures(int depth, Spawn spawn) {
  if (depth == 0)
    return 1;
  auto left = spawn(depth - 1);
  auto right = spawn(depth - 1);
  return 1 + left.get() + right.get();
}

/// `fork_join` for a library that runs two closures as tasks and waits for
/// both (`both(left, right)`); `self` is the caller's fork-join function,
/// run by the children on `depth - 1`.
template <class Self, class Both>
long fork_join_both(int depth, Self self, Both both) {
  if (depth == 0)
    return 1;
  long left = 0;
  long right = 0;
  both([&] { left = self(depth - 1); }, [&] { right = self(depth - 1); });
  return 1 + left + right;
}

/// `one_at_a_time`: `run_one()` submits a task of `one` and waits for its
/// result, `n` times.
template <class RunOne>
void one_at_a_time(int n, RunOne run_one) {
  long sum = 0;
  for (int i = 0; i < n; ++i)
    sum += run_one();
  check_sum(sum, n);
}

} // namespace manta::tools::peers
