#include "manta/cluster/worker_list.hpp"

#include <mutex>

namespace manta::detail {

const wire::node_record& worker_list::put(const wire::node_record& rec, link_state s) {
  std::unique_lock<std::shared_mutex> guard{mtx_};
  auto& e = entries_[rec.index];
  e.info = rec;
  e.state = s;
  return e.info;
}

void worker_list::set_state(uint16_t index, link_state s) {
  std::unique_lock<std::shared_mutex> guard{mtx_};
  if (auto i = entries_.find(index); i != entries_.end())
    i->second.state = s;
}

void worker_list::drop(uint16_t index) {
  std::unique_lock<std::shared_mutex> guard{mtx_};
  entries_.erase(index);
}

bool worker_list::feasible(const resource_demand& d) const {
  std::shared_lock<std::shared_mutex> guard{mtx_};
  for (auto& [_, e] : entries_)
    if (e.state != link_state::connecting && d.fits_in(e.info.cpus, e.info.custom))
      return true;
  return false;
}

resource_map worker_list::connected_totals() const {
  std::shared_lock<std::shared_mutex> guard{mtx_};
  resource_map out;
  for (auto& [_, e] : entries_) {
    if (e.state != link_state::connected)
      continue;
    out[cpu_resource] += e.info.cpus;
    for (auto& [name, amount] : e.info.custom)
      out[name] += amount;
  }
  return out;
}

std::vector<wire::node_record> worker_list::connected() const {
  std::shared_lock<std::shared_mutex> guard{mtx_};
  std::vector<wire::node_record> out;
  for (auto& [_, e] : entries_)
    if (e.state == link_state::connected)
      out.push_back(e.info);
  return out;
}

size_t worker_list::num_connected() const {
  std::shared_lock<std::shared_mutex> guard{mtx_};
  size_t n = 0;
  for (auto& [_, e] : entries_)
    n += e.state == link_state::connected ? 1 : 0;
  return n;
}

} // namespace manta::detail
