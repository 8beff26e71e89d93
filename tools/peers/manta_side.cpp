// Manta's side of the peers benchmark: the task shapes of peers.hpp with
// `task(f).remote()` and `get`, a synchronous actor call and a large put.

#include "tools/peers/peers.hpp"
#include "tools/peers/task_shapes.hpp"
#include "tools/fork_join_task.hpp"

#include <manta/manta.hpp>

#include <cstdlib>
#include <vector>

namespace {

using manta::tools::peers::one;
MANTA_REMOTE(one);

/// The actor of the synchronous call.
class echo_actor {
public:
  int one() { return 1; }
};
MANTA_ACTOR(echo_actor, &echo_actor::one);

void spawn_get(int n) {
  std::vector<manta::object_ref<int>> refs;
  refs.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i)
    refs.push_back(manta::task(one).remote());
  manta::tools::peers::check_results(manta::get(refs), n);
}

void one_by_one(int n) {
  manta::tools::peers::one_at_a_time(n, [] { return manta::get(manta::task(one).remote()); });
}

long fork_join_root(int depth) {
  return manta::get(manta::task(manta_tools::fork_join).remote(depth));
}

} // namespace

namespace manta::tools::peers {

task_library manta_tasks() {
  return {"Manta", spawn_get, one_by_one, fork_join_root};
}

std::function<void(int n)> manta_actor_sync() {
  auto actor = manta::actor<echo_actor>().remote();
  return [actor](int n) {
    one_at_a_time(n, [&actor] { return manta::get(actor.call(&echo_actor::one).remote()); });
  };
}

void manta_put(const std::vector<unsigned char>& bytes) {
  auto ref = manta::put(bytes);
  if (!ref)
    std::abort();
}

} // namespace manta::tools::peers
