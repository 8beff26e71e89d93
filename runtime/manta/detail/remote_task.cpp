#include "manta/detail/remote_task.hpp"

#include "manta/detail/object_transfer.hpp"
#include "manta/detail/runtime.hpp"
#include "manta/errors.hpp"

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
    // Referenced arguments: held here already, or read from their node.
    std::vector<std::shared_ptr<const std::vector<char>>> fetched;
    for (auto& r : msg_.arg_refs) {
      auto* rt = runtime::current();
      auto bytes = rt != nullptr && r.node == rt->node_index()
                     ? held_objects::instance().find(r.object_id)
                     : nullptr;
      if (!bytes) {
        auto buffer = std::make_shared<std::vector<char>>();
        auto err = fetch_object(r.host, r.data_port, runtime::cluster_token(), r.object_id,
                                r.size, *buffer, transfer_streams);
        if (!err.empty())
          throw object_lost_error("argument " + std::to_string(r.position + 1) + " (object "
                                  + to_string(object_id{r.object_id}) + " on node-"
                                  + std::to_string(r.node) + ") could not be read: " + err);
        bytes = std::move(buffer);
      }
      args[r.position] = {bytes->data(), bytes->size()};
      fetched.push_back(std::move(bytes));
    }
    auto out = std::make_shared<const std::vector<char>>(fn_.invoke(fn_.fn, args));
    auto size = out->size();
    result->seal_value(std::move(out), typeid(std::vector<char>), size);
    return nullptr;
  } catch (...) {
    return std::current_exception();
  }
}

} // namespace manta::detail
