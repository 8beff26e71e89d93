#include "tests/job_code/job_a.hpp"

namespace job_code {

int64_t shared_name(int64_t x) {
  return x + 1;
}

int64_t twice(int64_t x) {
  return 2 * x;
}

int64_t only_a(int64_t x) {
  return -x;
}

int64_t nested_twice(int64_t x) {
  return manta::get(manta::task(twice).remote(x));
}

double measure(point p) {
  return static_cast<double>(p.x) + static_cast<double>(p.y);
}

MANTA_REMOTE(shared_name, twice, only_a, nested_twice, measure);

job_actor::job_actor(int64_t start) : total_(start) {
  // nop
}

int64_t job_actor::add(int64_t x) {
  return total_ += x;
}

int64_t job_actor::node() {
  return static_cast<int64_t>(manta::current_node());
}

MANTA_ACTOR(job_actor, &job_actor::add, &job_actor::node);

manta::actor_handle<job_actor> make_job_actor(int64_t start) {
  return manta::actor<job_actor>().num_cpus(1).remote(start);
}

} // namespace job_code
