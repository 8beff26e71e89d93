#include "tests/job_code/job_b.hpp"

namespace job_code {

std::string shared_name(std::string s) {
  return "b:" + s;
}

int64_t twice(int64_t x) {
  return 2 * x + 1000;
}

std::string only_b(std::string s) {
  return s + s;
}

MANTA_REMOTE(shared_name, twice, only_b);

job_actor::job_actor(std::string start) : text_(std::move(start)) {
  // nop
}

std::string job_actor::add(std::string s) {
  return text_ += s;
}

int64_t job_actor::node() {
  return static_cast<int64_t>(manta::current_node());
}

MANTA_ACTOR(job_actor, &job_actor::add, &job_actor::node);

manta::actor_handle<job_actor> make_job_actor(std::string start) {
  return manta::actor<job_actor>().num_cpus(1).remote(std::move(start));
}

} // namespace job_code
