#include "manta/detail/task_spec.hpp"

#include "actors/task_runner.hpp"
#include "manta/detail/object_table.hpp"
#include "manta/detail/parker.hpp"
#include "manta/detail/runtime.hpp"
#include "manta/detail/typed_task.hpp"
#include "manta/errors.hpp"

#include <caf/all.hpp>

#include <cmath>

namespace manta::detail {

task_spec::task_spec(const std::string& fn_name, task_options options)
  : function_name(fn_name), opts(std::move(options)) {
  // nop
}

task_spec::~task_spec() {
  if (has_runner.load(std::memory_order_acquire))
    std::launder(reinterpret_cast<caf::actor*>(runner_storage))->~actor();
}

void task_spec::request_cancel() noexcept {
  cancelled_.store(true, std::memory_order_release);
  if (auto* p = blocked_on.load(std::memory_order_acquire))
    p->unpark(); // a thread's parker lives as long as the thread
}

void seal_void(object_slot& slot) {
  // A task returning void still seals "something" so that get and wait see
  // it finish; every void result shares this one value.
  static const auto nothing = std::make_shared<const char>('\0');
  slot.seal_value(nothing, typeid(void), 0);
}

slot_ptr submit(task_ptr spec) {
  auto& rt = runtime::require("task(...).remote");
  auto& demand = spec->opts.resources;
  auto bad = [](double x) { return !std::isfinite(x) || x < 0; };
  if (bad(demand.cpus))
    throw invalid_argument_error("task '" + spec->name()
                                 + "': num_cpus must be a finite, non-negative number");
  for (auto& [name, amount] : demand.custom)
    if (bad(amount))
      throw invalid_argument_error("task '" + spec->name() + "': resource '" + name
                                   + "' must be a finite, non-negative amount");
  auto slot = object_table::instance().create(rt.next_object_id(), spec);
  spec->result = slot;
  if (!demand.fits_in(rt.total_cpus(), rt.total_custom())) {
    resource_demand total{rt.total_cpus(), rt.total_custom()};
    slot->seal_error(std::make_exception_ptr(infeasible_task_error(
      "task '" + spec->name() + "' needs " + demand.to_string()
      + " but the cluster has only " + total.to_string()
      + " in total, so it can never run; lower its num_cpus/resources or "
        "start the runtime with more (init_options::num_cpus / resources)")));
    return slot;
  }
  rt.system().spawn<caf::hidden>(actors::task_runner, std::move(spec), &rt.pool());
  return slot;
}

} // namespace manta::detail
