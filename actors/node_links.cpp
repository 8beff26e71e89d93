#include "actors/node_links.hpp"

namespace manta::actors {

using detail::worker_list;

void node_links::use(std::shared_ptr<detail::worker_list> workers) {
  workers_ = std::move(workers);
}

// -- workers being connected or connected --------------------------------------

remote_node* node_links::find(uint16_t index) {
  auto n = nodes_.find(index);
  return n == nodes_.end() ? nullptr : &n->second;
}

const remote_node* node_links::find(uint16_t index) const {
  auto n = nodes_.find(index);
  return n == nodes_.end() ? nullptr : &n->second;
}

remote_node* node_links::connected(uint16_t index) {
  auto* n = find(index);
  return n != nullptr && n->manager ? n : nullptr;
}

remote_node& node_links::at(uint16_t index) {
  return nodes_.at(index);
}

std::optional<uint16_t> node_links::by_address(const caf::actor_addr& addr) const {
  auto i = by_addr_.find(addr);
  if (i == by_addr_.end())
    return std::nullopt;
  return i->second;
}

// -- connecting ----------------------------------------------------------------

void node_links::start_connecting(const detail::wire::node_record& rec) {
  nodes_.emplace(rec.index, remote_node{workers_->put(rec, worker_list::link_state::connecting)});
  ++connecting_;
}

void node_links::attached(uint16_t index, caf::actor manager, clock::time_point now) {
  auto& n = nodes_.at(index);
  // It is back: its last loss was a cut connection, not a death.
  if (auto l = losses_.find(index); l != losses_.end()) {
    cut_losses_.insert(l->second);
    losses_.erase(l);
  }
  by_addr_[manager.address()] = index;
  n.manager = std::move(manager);
  n.last_heard = now;
  workers_->set_state(index, worker_list::link_state::connected);
}

void node_links::not_connected(uint16_t index) {
  nodes_.erase(index);
  forget_if_gone(index);
}

void node_links::connect_failed(const detail::wire::node_record& rec, clock::time_point now) {
  nodes_.erase(rec.index);
  start_reconnecting(rec, now);
}

bool node_links::connect_finished() {
  return --connecting_ == 0;
}

void node_links::wait_ready(caf::response_promise rp) {
  ready_.push_back(std::move(rp));
}

std::vector<caf::response_promise> node_links::take_ready() {
  return std::exchange(ready_, {});
}

// -- losses --------------------------------------------------------------------

uint64_t node_links::lose(uint16_t index) {
  auto n = nodes_.find(index);
  if (n == nodes_.end())
    return 0;
  if (n->second.manager)
    by_addr_.erase(n->second.manager.address());
  nodes_.erase(n);
  forget_if_gone(index);
  auto loss = ++next_loss_;
  losses_[index] = loss;
  return loss;
}

// -- reconnecting --------------------------------------------------------------

void node_links::start_reconnecting(const detail::wire::node_record& rec, clock::time_point now) {
  auto& info = workers_->put(rec, worker_list::link_state::reconnecting);
  reconnecting_.erase(rec.index);
  reconnecting_.emplace(rec.index, lost_connection{info, now, 0});
}

lost_connection* node_links::reconnecting(uint16_t index) {
  auto i = reconnecting_.find(index);
  return i == reconnecting_.end() ? nullptr : &i->second;
}

bool node_links::update_reconnecting(const detail::wire::node_record& rec) {
  if (reconnecting_.count(rec.index) == 0)
    return false;
  workers_->put(rec, worker_list::link_state::reconnecting); // its record there, updated
  return true;
}

void node_links::reconnected(uint16_t index) {
  auto i = reconnecting_.find(index);
  if (i == reconnecting_.end())
    return;
  nodes_.emplace(index, remote_node{i->second.info});
  reconnecting_.erase(i);
}

bool node_links::stop_reconnecting(uint16_t index) {
  bool was = reconnecting_.erase(index) > 0;
  forget_if_gone(index);
  return was;
}

bool node_links::reconnecting_fits(const detail::resource_demand& d, uint16_t node) const {
  for (auto& [index, lost] : reconnecting_)
    if ((node == 0 || index == node) && d.fits_in(lost.info.cpus, lost.info.custom))
      return true;
  return false;
}

// -- cutting off ---------------------------------------------------------------

void node_links::start_cut(uint16_t index) {
  cutting_[index] = {nodes_.at(index).manager.address(), std::nullopt};
}

bool node_links::defer_while_cut(const detail::wire::node_record& rec) {
  auto c = cutting_.find(rec.index);
  if (c == cutting_.end())
    return false;
  c->second.second = rec; // once the old connection is gone
  return true;
}

std::optional<uint16_t> node_links::cut_by(const caf::actor_addr& source) const {
  for (auto& [index, cut] : cutting_)
    if (cut.first == source)
      return index;
  return std::nullopt;
}

std::optional<detail::wire::node_record> node_links::end_cut(uint16_t index) {
  auto c = cutting_.find(index);
  if (c == cutting_.end())
    return std::nullopt;
  auto rec = std::move(c->second.second);
  cutting_.erase(c);
  return rec;
}

// -- private -------------------------------------------------------------------

void node_links::forget_if_gone(uint16_t index) {
  if (nodes_.count(index) == 0 && reconnecting_.count(index) == 0)
    workers_->drop(index);
}

} // namespace manta::actors
