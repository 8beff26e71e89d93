#include "actors/remote_actors.hpp"

#include "actors/id_tables.hpp"

#include "manta/actor/actor_core.hpp"
#include "manta/cluster/actor_choice.hpp"

namespace manta::actors {

placed_actor* remote_actors::find(uint64_t id) {
  auto i = actors_.find(id);
  return i == actors_.end() ? nullptr : &i->second;
}

placed_actor& remote_actors::record(uint64_t id) {
  return actors_[id];
}

void remote_actors::erase(uint64_t id) {
  actors_.erase(id);
}

void remote_actors::keep_detached() {
  for (auto& [id, a] : actors_)
    if (auto core = a.core.lock(); core && core->options().detached && !a.creating)
      a.attached = true;
}

std::vector<placed_actor> remote_actors::take_on(uint16_t node) {
  std::vector<placed_actor> gone;
  for (auto i = actors_.begin(); i != actors_.end();) {
    if (i->second.node != node) {
      ++i;
      continue;
    }
    gone.push_back(std::move(i->second));
    i = actors_.erase(i);
  }
  return gone;
}

std::vector<std::pair<uint64_t, uint16_t>> remote_actors::unanswered(clock::time_point now,
                                                                     clock::duration limit) const {
  std::vector<std::pair<uint64_t, uint16_t>> late;
  for (auto& [id, a] : actors_)
    if (a.creating && now - a.asked > limit)
      late.emplace_back(id, a.node);
  return late;
}

detail::node_choice remote_actors::choose(const scheduling_strategy& where,
                                          std::span<const detail::node_view> others) {
  uint32_t spread_last = spread_last_;
  auto choice = detail::choose_actor_node(where, others, spread_last);
  spread_last_ = static_cast<uint16_t>(spread_last);
  return choice;
}

void remote_actors::add_call(uint64_t id, detail::call_request_ptr req) {
  calls_[id] = std::move(req);
}

detail::call_request_ptr remote_actors::take_call(uint64_t id) {
  auto req = take_entry(calls_, id);
  return req ? std::move(*req) : nullptr;
}

uint16_t remote_actors::call_node(uint64_t id) const {
  auto i = calls_.find(id);
  return i == calls_.end() ? 0 : i->second->node;
}

void remote_actors::drop_calls_on(uint16_t node) {
  for (auto i = calls_.begin(); i != calls_.end();)
    i = i->second->node == node ? calls_.erase(i) : std::next(i);
}

void remote_actors::defer(detail::create_request_ptr req) {
  deferred_.push_back(std::move(req));
}

std::vector<detail::create_request_ptr> remote_actors::take_deferred() {
  auto creates = std::move(deferred_);
  deferred_.clear();
  return creates;
}

std::vector<detail::create_request_ptr> remote_actors::take_expired(clock::time_point now,
                                                                    clock::duration window) {
  std::vector<detail::create_request_ptr> expired;
  for (auto i = deferred_.begin(); i != deferred_.end();) {
    if (now - (*i)->since <= window) {
      ++i;
      continue;
    }
    expired.push_back(std::move(*i));
    i = deferred_.erase(i);
  }
  return expired;
}

} // namespace manta::actors
