#include "manta/cluster/remote_task.hpp"

#include "manta/sched/blocking.hpp"
#include "manta/store/contained_refs.hpp"
#include "manta/store/object_store.hpp"
#include "manta/sched/item_stream.hpp"
#include "manta/core/job_id.hpp"
#include "manta/cluster/object_fetch.hpp"
#include "manta/core/runtime.hpp"
#include "manta/errors.hpp"

#include <atomic>
#include <memory>
#include <typeinfo>

namespace manta::detail {

namespace {

thread_local const item_stream::emitter* running_emitter = nullptr;

} // namespace

const item_stream::emitter* current_item_emitter() noexcept {
  return running_emitter;
}

item_emitter_scope::item_emitter_scope(const item_stream::emitter* emit) noexcept
  : prev_(running_emitter) {
  running_emitter = emit;
}

item_emitter_scope::~item_emitter_scope() {
  running_emitter = prev_;
}

task_options options_of(const wire::task_message& msg) {
  task_options opts;
  opts.name = msg.name;
  opts.resources = msg.demand;
  opts.max_retries = msg.max_retries;
  opts.retry_exceptions = msg.retry_exceptions;
  opts.retry_exception_types = msg.retry_exception_types;
  return opts;
}

remote_task::remote_task(const function_info& fn, wire::task_message msg)
  : task_spec(fn.name, options_of(msg)), token(runtime::cluster_token()), fn_(fn),
    msg_(std::move(msg)) {
  library = &fn.library;
}

std::shared_ptr<const std::vector<char>> remote_task::read_argument(const wire::arg_ref& r) {
  auto* rt = runtime::current();
  auto here = rt != nullptr ? rt->node_index() : uint16_t{0};
  std::vector<object_source> sources{{r.host, r.data_port}};
  for (auto& c : r.copies)
    if (c.node != here && c.data_port != 0)
      sources.push_back({c.host, c.data_port});
  auto id = r.object_id;
  auto size = r.size;
  std::shared_ptr<copy_progress> progress;
  std::shared_ptr<std::vector<char>> copy;
  // The store its result goes to (it may outlive the runtime).
  auto& held = result->store()->held();
  if (report_copy)
    copy = held.start_copy(
      id, size, [report = report_copy, id, size] { report(id, size, false); }, progress);
  auto buffer = copy ? copy : std::make_shared<std::vector<char>>();
  auto err = fetch_object(sources, token, id, size, *buffer, transfer_streams, progress.get());
  if (copy) {
    if (err.empty())
      held.finish_copy(id);
    else
      held.abort_copy(id);
  }
  // The owner counted this node among the holders when it sent the task:
  // it learns whether that came true (another task here may be reading
  // the same object into its own copy: that one reports).
  if (report_copy && (copy || !held.view(id)))
    report_copy(id, size, copy && err.empty());
  if (!err.empty())
    throw object_lost_error(
      "argument " + std::to_string(r.position + 1) + " (object " + to_string(object_id{id})
      + " on node-" + std::to_string(r.node)
      + (r.copies.empty() ? "" : " and " + std::to_string(r.copies.size()) + " other holders")
      + ") could not be read: " + err);
  return buffer;
}

std::exception_ptr remote_task::run() noexcept {
  job_scope job{msg_.job_id}; // job_id() in the task: its owner's
  try {
    if (starts)
      std::exchange(starts, nullptr)->push(msg_.task_id); // once, even if retried
    std::vector<std::span<const char>> args;
    args.reserve(msg_.args.size());
    for (auto& a : msg_.args)
      args.emplace_back(a.data(), a.size());
    // Referenced arguments: held here already (made here, or a copy),
    // else read from their holders and kept here as a copy for others.
    std::vector<std::shared_ptr<const std::vector<char>>> fetched;
    std::vector<const wire::arg_ref*> remote;
    // The store its result goes to (it may outlive the runtime).
    auto& store = *result->store();
    for (auto& r : msg_.arg_refs) {
      auto bytes = store.held().find(r.object_id);
      if (!bytes) {
        remote.push_back(&r);
        continue;
      }
      args[r.position] = {bytes->data(), bytes->size()};
      fetched.push_back(std::move(bytes));
    }
    if (!remote.empty()) {
      // The bytes come over the network (on the fetch loop): the task's
      // CPUs go back to the pool meanwhile, so another task runs on them,
      // and it takes them back once its arguments are here.
      cpu_loan loan{this};
      for (auto* r : remote) {
        auto bytes = read_argument(*r);
        args[r->position] = {bytes->data(), bytes->size()};
        fetched.push_back(std::move(bytes));
      }
    }
    // A generator's items (each the container of its own refs: the sink
    // collects them apart, begin_item_lending).
    item_emitter_scope scope{emit_item ? &emit_item : nullptr};
    // The refs its result holds are pinned by the result until its owner
    // read or freed it (contained_refs.hpp).
    lend_scope lending;
    auto borrowed = refs_borrowed_here();
    auto out = std::make_shared<const std::vector<char>>(fn_.invoke(fn_.fn, args));
    // It does not run again here (its owner decides on a retry): the
    // arguments read from other nodes are let go before its result is
    // sealed and answered, as a local task's are (task_spec::release_args).
    args.clear();
    fetched.clear();
    // Its arguments held refs: the +1s went through the node manager, so
    // the result follows them that way (the owner unpins them on it).
    if (refs_borrowed_here() != borrowed)
      via_manager.store(true, std::memory_order_relaxed);
    contain_result(msg_.task_id, object_id{msg_.task_id}.node(), lending.take());
    auto size = out->size();
    // In this node's budget like a local task's result: kept here for its
    // owner (held_objects), it spills, or the task fails as a put would.
    store.budget().admit(size, "task result");
    std::function<void()> answer;
    if (answer_early && !via_manager.load(std::memory_order_relaxed) && !cancelled())
      answer = answer_early(out);
    result->seal_value(std::move(out), typeid(std::vector<char>), size);
    // After the seal, whose news the node manager has then (it ends the
    // task, answering nothing): it counts this task as gone before the
    // owner, answered, can send it another.
    if (answer)
      answer();
    return nullptr;
  } catch (...) {
    return std::current_exception();
  }
}

} // namespace manta::detail
