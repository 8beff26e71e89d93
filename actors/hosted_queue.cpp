#include "actors/hosted_queue.hpp"

#include "actors/cluster_atoms.hpp"
#include "manta/observe/task_events.hpp"
#include "manta/net/wire.hpp"
#include "manta/sched/worker_pool.hpp"

#include <caf/all.hpp>

#include <map>
#include <unordered_set>

namespace manta::actors {

void schedule_hosted(node_manager_actor* self, const caf::actor& owner,
                     std::shared_ptr<detail::remote_task> task) {
  auto& st = self->state;
  detail::task_events::on_waiting_for_resources(*task);
  detail::task_ptr t = task;
  if (st.pool->try_schedule(t))
    return;
  // Set before the pool can start it; the id goes to the owner with the
  // next report, and its start with the same or a later one.
  task->starts = st.starts;
  st.queued_news[owner].push_back(task->result->id().value());
  plan_queue_report(self);
  st.pool->schedule(std::move(t));
}

void plan_queue_report(node_manager_actor* self) {
  if (self->state.report_planned)
    return;
  self->state.report_planned = true;
  self->delayed_send(self, queue_report_interval, qreport_atom::value, true);
}

void report_queue(node_manager_actor* self) {
  auto& st = self->state;
  st.report_planned = false;
  std::unordered_set<uint64_t> started;
  if (st.starts)
    for (auto id : st.starts->take())
      started.insert(id);
  std::map<caf::actor, detail::wire::queue_message> out;
  for (auto& [owner, ids] : st.queued_news)
    for (auto id : ids)
      if (started.erase(id) == 0) // queued and started since: nothing to tell
        out[owner].queued.push_back(id);
  st.queued_news.clear();
  for (auto id : started)
    if (auto i = st.running.find(id); i != st.running.end())
      out[i->second.owner].started.push_back(id); // else its result went already
  for (auto& [owner, m] : out)
    self->send(owner, tqueue_atom::value, st.token, detail::wire::encode(m));
}

void give_back(node_manager_actor* self, const std::vector<char>& request) {
  auto& st = self->state;
  auto owner = caf::actor_cast<caf::actor>(self->current_sender());
  detail::wire::queue_message m;
  if (!detail::wire::decode(request, m).empty())
    return; // the owner's tasks stay queued here and run
  std::vector<uint64_t> mine; // only the asker's own tasks, never actor calls
  for (auto id : m.queued)
    if (auto i = st.running.find(id);
        i != st.running.end() && i->second.owner == owner && i->second.actor == 0)
      mine.push_back(id);
  auto taken = st.pool->withdraw(mine, m.limit);
  detail::wire::queue_message answer;
  for (auto& t : taken) {
    auto id = t->result->id().value();
    t->trace.ended.store(true, std::memory_order_release); // no record here: it runs elsewhere
    st.running.erase(id);
    answer.queued.push_back(id);
  }
  taken.clear();
  self->send(owner, stolen_atom::value, st.token, detail::wire::encode(answer));
}

std::shared_ptr<detail::start_log> make_start_log(node_manager_actor* self) {
  auto addr = caf::actor_cast<caf::actor_addr>(self); // weak: no cycle via the state
  return std::make_shared<detail::start_log>([addr] {
    if (auto hdl = caf::actor_cast<caf::actor>(addr))
      caf::anon_send(hdl, qreport_atom::value, false);
  });
}

} // namespace manta::actors
