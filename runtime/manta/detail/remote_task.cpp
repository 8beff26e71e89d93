#include "manta/detail/remote_task.hpp"

#include <typeinfo>

namespace manta::detail {

task_options options_of(const wire::task_message& msg) {
  task_options opts;
  opts.name = msg.name;
  opts.resources = msg.demand;
  opts.max_retries = msg.max_retries;
  opts.retry_exceptions = msg.retry_exceptions;
  return opts;
}

remote_task::remote_task(const function_info& fn, wire::task_message msg)
  : task_spec(fn.name, options_of(msg)), fn_(fn), msg_(std::move(msg)) {
  // nop
}

std::exception_ptr remote_task::run() noexcept {
  try {
    std::vector<std::span<const char>> args;
    args.reserve(msg_.args.size());
    for (auto& a : msg_.args)
      args.emplace_back(a.data(), a.size());
    auto out = std::make_shared<const std::vector<char>>(fn_.invoke(fn_.fn, args));
    auto size = out->size();
    result->seal_value(std::move(out), typeid(std::vector<char>), size);
    return nullptr;
  } catch (...) {
    return std::current_exception();
  }
}

} // namespace manta::detail
