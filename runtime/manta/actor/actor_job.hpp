#pragma once

#include "manta/actor/actor_core.hpp"
#include "manta/sched/task_spec.hpp"

#include <memory>
#include <string>

namespace manta::detail {

/// Where actor jobs "seal their result": nobody reads it, but the pool
/// seals a job it drops at shutdown. Never destroyed and never in the
/// object table.
const slot_ptr& job_sink();

/// A pool job of one actor: build the instance or run queued calls. A
/// caller that runs a call itself (actor_core::run_inline) shows one as the
/// task of its thread, so that the call's code sees what a pool thread
/// would show it (its GPUs, its runtime context).
class actor_job final : public task_spec {
public:
  actor_job(std::shared_ptr<actor_core> core, const std::string& name, actor_core::job_kind kind,
            uint64_t epoch, bool with_lease)
    : task_spec(name, task_options{}), core_(std::move(core)), kind_(kind), epoch_(epoch),
      with_lease_(with_lease) {
    result = job_sink();
    own_options().max_retries = 0;
    if (with_lease) {
      own_options().resources = core_->options().resources;
      keeps_lease = true;
    } else {
      own_options().resources = resource_demand{0.0, {}};
    }
  }

  std::exception_ptr run() noexcept override {
    core_->run_job(kind_, epoch_, with_lease_);
    return nullptr;
  }

  const void* lease_owner() const noexcept override { return core_.get(); }

private:
  std::shared_ptr<actor_core> core_;
  actor_core::job_kind kind_;
  uint64_t epoch_;
  bool with_lease_;
};

} // namespace manta::detail
