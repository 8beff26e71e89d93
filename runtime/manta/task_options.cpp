#include "manta/task_options.hpp"

namespace manta {

task_options::task_options(const task_options&) = default;
task_options::task_options(task_options&&) noexcept = default;
task_options& task_options::operator=(const task_options&) = default;
task_options& task_options::operator=(task_options&&) noexcept = default;
task_options::~task_options() = default;

namespace detail {

const task_options& default_task_options() noexcept {
  static const auto* opts = new task_options{}; // never destroyed: tasks may outlive statics
  return *opts;
}

} // namespace detail

} // namespace manta
