#include "manta/sched/task_end.hpp"

#include "manta/sched/task_error.hpp"
#include "manta/observe/task_events.hpp"
#include "manta/sched/task_spec.hpp"

namespace manta::detail {

bool end_task(task_spec& t, task_state state, std::exception_ptr error) {
  if (!t.result->seal_error(error))
    return false; // it ended meanwhile
  task_events::on_end(t, state, error);
  return true;
}

bool end_task(task_spec& t, std::exception_ptr error) {
  auto state = is_runtime_error(error) ? task_state::cancelled : task_state::failed;
  return end_task(t, state, std::move(error));
}

} // namespace manta::detail
