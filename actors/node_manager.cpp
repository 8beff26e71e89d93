#include "actors/node_manager.hpp"

#include "actors/atoms.hpp"
#include "manta/detail/cluster_token.hpp"
#include "manta/detail/function_registry.hpp"
#include "manta/detail/log_shipper.hpp"
#include "manta/detail/remote_task.hpp"
#include "manta/detail/runtime.hpp"
#include "manta/detail/task_error.hpp"
#include "manta/detail/wire.hpp"
#include "manta/detail/worker_pool.hpp"
#include "manta/errors.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <cstdio>

namespace manta::actors {

namespace {

using detail::wire::result_message;

result_message failure(uint64_t id, const std::string& task, std::string type,
                       std::string message) {
  result_message r;
  r.task_id = id;
  r.node = detail::runtime::node_name();
  r.kind = result_message::failure;
  r.error = {std::move(type), std::move(message), task, r.node};
  return r;
}

/// The TaskResult of a finished hosted task; keeps a large value here.
result_message finish(node_manager_actor* self, uint64_t id, detail::task_spec& t) {
  auto& slot = *t.result;
  if (slot.failed()) {
    try {
      std::rethrow_exception(slot.error());
    } catch (const task_error& e) {
      auto r = failure(id, t.name(), e.type_name(), e.message());
      r.error.node = e.node();
      return r;
    } catch (const std::exception& e) {
      return failure(id, t.name(), detail::demangle(typeid(e).name()), e.what());
    } catch (...) {
      return failure(id, t.name(), "<unknown>", "the task failed");
    }
  }
  auto bytes = std::static_pointer_cast<const std::vector<char>>(slot.shared_value());
  result_message r;
  r.task_id = id;
  r.node = detail::runtime::node_name();
  if (bytes->size() <= inline_result_limit) {
    r.kind = result_message::inline_value;
    r.value = *bytes;
  } else {
    r.kind = result_message::stored;
    r.stored_size = bytes->size();
    self->state.objects[id] = std::move(bytes);
  }
  return r;
}

/// Whether a message from another process carries this cluster's token;
/// logs the first refusals (a stream of them is an attack, not news).
bool vetted(node_manager_actor* self, const std::string& token, const char* what) {
  if (detail::tokens_equal(token, self->state.token))
    return true;
  if (++self->state.refused <= 10)
    std::fprintf(stderr, "manta: %s refused a %s message without the cluster token%s\n",
                 detail::runtime::node_name().c_str(), what,
                 self->state.refused == 10 ? " (no more of these are logged)" : "");
  return false;
}

/// The shipper of this node manager: wakes it to send lines to their owners.
std::shared_ptr<detail::log_shipper> make_shipper(node_manager_actor* self) {
  auto addr = caf::actor_cast<caf::actor_addr>(self); // weak: no cycle via the state
  return std::make_shared<detail::log_shipper>([addr](bool full) {
    auto hdl = caf::actor_cast<caf::actor>(addr);
    if (!hdl)
      return;
    if (full)
      caf::anon_send(hdl, flush_atom::value);
    else
      caf::delayed_anon_send(hdl, detail::log_shipper::flush_interval, flush_atom::value);
  });
}

/// Sends every waiting line to the owner of the task that printed it, one
/// LogBatch per owner. Lines of tasks no longer hosted here are dropped.
void ship_logs(node_manager_actor* self) {
  auto waiting = self->state.logs->take();
  std::vector<std::pair<caf::actor, detail::wire::log_batch>> batches;
  auto batch_of = [&](uint64_t id) -> detail::wire::log_batch* {
    auto i = self->state.running.find(id);
    if (i == self->state.running.end())
      return nullptr;
    for (auto& [owner, b] : batches)
      if (owner == i->second.owner)
        return &b;
    batches.emplace_back(i->second.owner, detail::wire::log_batch{});
    batches.back().second.node = detail::runtime::node_name();
    return &batches.back().second;
  };
  for (auto& line : waiting.lines)
    if (auto* b = batch_of(line.task_id))
      b->lines.push_back(std::move(line));
  for (auto& [id, n] : waiting.dropped)
    if (auto* b = batch_of(id))
      b->dropped += n;
  for (auto& [owner, b] : batches)
    self->send(owner, logs_atom::value, self->state.token, detail::wire::encode(b));
}

void submit(node_manager_actor* self, const std::vector<char>& spec) {
  auto owner = caf::actor_cast<caf::actor>(self->current_sender());
  auto& token = self->state.token;
  detail::wire::task_message msg;
  if (auto err = detail::wire::decode(spec, msg); !err.empty()) {
    self->send(owner, result_atom::value, token,
               detail::wire::encode(failure(0, "?", "manta::error", err)));
    return;
  }
  auto id = msg.task_id;
  auto refuse = [&](std::string type, std::string why) {
    self->send(owner, result_atom::value, token,
               detail::wire::encode(failure(id, msg.name, std::move(type), std::move(why))));
  };
  // A second spec with the id of a task still running here would replace
  // the waiter the first one's result slot still points to.
  if (self->state.running.count(id) != 0)
    return refuse("manta::error", "a task with id " + to_string(object_id{id})
                                    + " is already running on " + detail::runtime::node_name()
                                    + " (was the spec sent twice?)");
  auto total = self->state.pool->resources().second;
  auto total_cpus = total[cpu_resource];
  total.erase(cpu_resource);
  if (!msg.demand.fits_in(total_cpus, total))
    return refuse("manta::infeasible_task_error",
                  "task demands " + msg.demand.to_string() + " but "
                    + detail::runtime::node_name() + " has only "
                    + detail::resource_demand{total_cpus, total}.to_string()
                    + " in total; the sender's view of this node is stale or wrong");
  auto* fn = detail::find_function(msg.function_name);
  if (fn == nullptr)
    return refuse("manta::unknown_function_error",
                  "no function named '" + msg.function_name + "' is registered on "
                    + detail::runtime::node_name()
                    + "; every node must run a binary that has MANTA_REMOTE("
                    + msg.function_name + ")");
  if (fn->signature != msg.signature)
    return refuse("manta::unknown_function_error",
                  "function '" + msg.function_name + "' has type "
                    + detail::demangle(fn->signature.c_str()) + " on "
                    + detail::runtime::node_name() + " but the owner called it as "
                    + detail::demangle(msg.signature.c_str()));
  if (fn->invoke == nullptr)
    return refuse("manta::error", "function '" + msg.function_name
                                    + "' has parameter or result types that cannot "
                                      "be serialized, so it cannot run on another node");
  auto task = std::make_shared<detail::remote_task>(*fn, std::move(msg));
  task->log_sink = self->state.logs;
  task->result = std::make_shared<detail::object_slot>(object_id{id}, task);
  detail::task_events::on_submit(task);
  auto& h = self->state.running[id];
  h.owner = owner;
  h.task = task;
  h.waiter = std::make_unique<remote_done_waiter>();
  h.waiter->manager = caf::actor{self};
  h.waiter->id = id;
  if (!task->result->add_waiter(h.waiter.get()))
    self->send(self, done_atom::value, id);
  self->state.pool->schedule(std::move(task));
}

} // namespace

void remote_done_waiter::on_ready() noexcept {
  caf::anon_send(manager, done_atom::value, id);
}

caf::behavior node_manager(node_manager_actor* self, detail::worker_pool* pool,
                           std::string token) {
  self->state.pool = pool;
  self->state.token = std::move(token);
  self->state.logs = make_shipper(self);
  return {
    [=](resources_atom) {
      auto [free, total] = self->state.pool->resources();
      return caf::make_message(std::move(free), std::move(total));
    },
    [=](submit_atom, const std::string& token, const std::vector<char>& spec) {
      if (vetted(self, token, "submit"))
        submit(self, spec);
    },
    [=](ping_atom, const std::string& token) {
      if (vetted(self, token, "ping"))
        self->send(caf::actor_cast<caf::actor>(self->current_sender()), pong_atom::value,
                   self->state.token);
    },
    [=](done_atom, uint64_t id) {
      auto i = self->state.running.find(id);
      if (i == self->state.running.end())
        return;
      ship_logs(self); // the task's lines go before its result
      auto h = std::move(i->second);
      self->state.running.erase(i);
      auto r = finish(self, id, *h.task);
      self->send(h.owner, result_atom::value, self->state.token, detail::wire::encode(r));
    },
    [=](flush_atom) { ship_logs(self); },
    [=](fetch_atom, const std::string& token, uint64_t fetch_id, uint64_t id, uint64_t offset,
        uint64_t length) {
      if (!vetted(self, token, "fetch"))
        return;
      auto sender = caf::actor_cast<caf::actor>(self->current_sender());
      auto i = self->state.objects.find(id);
      if (i == self->state.objects.end()) {
        self->send(sender, missing_atom::value, self->state.token, fetch_id,
                   "object " + to_string(object_id{id}) + " is not on "
                     + detail::runtime::node_name());
        return;
      }
      auto& bytes = *i->second;
      auto from = std::min<uint64_t>(offset, bytes.size());
      auto n = std::min<uint64_t>({length, bytes.size() - from, max_chunk_bytes});
      self->send(sender, chunk_atom::value, self->state.token, fetch_id,
                 detail::wire::encode_chunk(from, {bytes.data() + from, n}));
    },
    [=](free_atom, const std::string& token, uint64_t id) {
      if (vetted(self, token, "free"))
        self->state.objects.erase(id);
    },
  };
}

} // namespace manta::actors
