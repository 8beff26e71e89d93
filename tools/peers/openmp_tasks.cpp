// OpenMP's version of the peers benchmark's task shapes: explicit tasks
// (`#pragma omp task`) and `taskwait`, inside one parallel region per call
// (its start is counted, as a call of the shape would pay it).

#include "tools/peers/peers.hpp"
#include "tools/peers/task_shapes.hpp"

#include <vector>

namespace manta::tools::peers {

namespace {

long fork_join(int depth) {
  return fork_join_both(depth, fork_join, [](auto left, auto right) {
#pragma omp task
    left();
#pragma omp task
    right();
#pragma omp taskwait
  });
}

void spawn_get(int n) {
  std::vector<int> results(static_cast<size_t>(n));
#pragma omp parallel
#pragma omp single
  {
    for (int i = 0; i < n; ++i) {
#pragma omp task shared(results) firstprivate(i)
      results[static_cast<size_t>(i)] = one();
    }
#pragma omp taskwait
  }
  check_results(results, n);
}

void one_by_one(int n) {
#pragma omp parallel
#pragma omp single
  one_at_a_time(n, [] {
    int result = 0;
#pragma omp task shared(result)
    result = one();
#pragma omp taskwait
    return result;
  });
}

long fork_join_root(int depth) {
  long total = 0;
#pragma omp parallel
#pragma omp single
  {
    // The root is a task too, as Manta's is.
#pragma omp task shared(total)
    total = fork_join(depth);
#pragma omp taskwait
  }
  return total;
}

} // namespace

task_library openmp_tasks() {
  return {"OpenMP", spawn_get, one_by_one, fork_join_root};
}

} // namespace manta::tools::peers
