#include "manta/sched/task_error.hpp"

#include "manta/core/demangle.hpp"
#include "manta/core/runtime.hpp"
#include "manta/errors.hpp"
#include "manta/retry_exceptions.hpp"

#include <memory>
#include <typeinfo>

namespace manta::detail {

std::exception_ptr to_task_error(const std::exception_ptr& error, const std::string& task_name) {
  try {
    std::rethrow_exception(error);
  } catch (const manta::error&) {
    return error;
  } catch (const std::exception& e) {
    return std::make_exception_ptr(
      task_error(demangle(typeid(e).name()), e.what(), task_name, runtime::node_name()));
  } catch (...) {
    return std::make_exception_ptr(task_error(
      "<non-standard exception>", "the task threw a value that does not derive from std::exception",
      task_name, runtime::node_name()));
  }
}

bool is_runtime_error(const std::exception_ptr& error) {
  return exception_is<task_cancelled_error>(error);
}

} // namespace manta::detail

namespace manta::detail::task_events {

// Declared in task_events.hpp; here with the other error texts.
std::string describe(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    return demangle(typeid(x).name()) + ": " + x.what();
  } catch (...) {
    return "an exception that does not derive from std::exception";
  }
}

} // namespace manta::detail::task_events
