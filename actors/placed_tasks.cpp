#include "actors/placed_tasks.hpp"

#include "actors/id_tables.hpp"
#include "manta/cluster/code_loader.hpp"

namespace manta::actors {

placed_task* placed_tasks::find(uint64_t id) {
  auto i = placed_.find(id);
  return i == placed_.end() ? nullptr : &i->second;
}

placed_task* placed_tasks::on(uint64_t id, uint16_t node) {
  auto* p = find(id);
  return p == nullptr || p->node != node ? nullptr : p;
}

placed_task& placed_tasks::record(uint64_t id) {
  return placed_[id];
}

std::optional<placed_task> placed_tasks::take(uint64_t id) {
  return take_entry(placed_, id);
}

void placed_tasks::erase(uint64_t id) {
  placed_.erase(id);
}

std::vector<uint64_t> placed_tasks::placed_on(uint16_t node) const {
  return ids_on_node(placed_, node);
}

bool placed_tasks::under_way(uint64_t id) const {
  return placed_.count(id) > 0 || preparing_.count(id) > 0;
}

void placed_tasks::wait(uint64_t id, const detail::resource_demand& demand,
                        const scheduling_strategy& where) {
  for (auto& g : waiting_) {
    if (g.demand == demand && g.where.kind == where.kind && g.where.node == where.node) {
      g.ids.push_back(id);
      return;
    }
  }
  waiting_.push_back(waiting_group{demand, where, {id}});
}

detail::node_choice placed_tasks::choose(const detail::placement_ask& ask,
                                         std::span<const detail::node_view> others) {
  uint32_t spread_last = spread_last_;
  auto choice = detail::choose_node(ask, others, spread_last);
  spread_last_ = static_cast<uint16_t>(spread_last);
  return choice;
}

preparing_task* placed_tasks::preparing(uint64_t id) {
  auto i = preparing_.find(id);
  return i == preparing_.end() ? nullptr : &i->second;
}

preparing_task& placed_tasks::prepare(uint64_t id) {
  return preparing_[id];
}

std::optional<preparing_task> placed_tasks::take_prepared(uint64_t id) {
  return take_entry(preparing_, id);
}

detail::wire::task_message spec_fields(const detail::task_spec& t, const std::string& job_id) {
  detail::wire::task_message msg;
  msg.task_id = t.result->id().value();
  msg.function_name = t.function_name;
  msg.signature = t.signature();
  msg.layout_hash = t.layout_hash();
  msg.code = detail::code_for(t.library != nullptr ? *t.library : std::string{});
  msg.name = t.name();
  msg.job_id = job_id;
  msg.demand = t.opts.resources;
  msg.max_retries = t.opts.max_retries;
  msg.retry_exceptions = t.opts.retry_exceptions;
  msg.retry_exception_types = t.opts.retry_exception_types;
  msg.item_window = t.item_window;
  return msg;
}

} // namespace manta::actors
