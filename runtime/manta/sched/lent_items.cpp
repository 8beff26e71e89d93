#include "manta/sched/item_stream.hpp"
#include "manta/store/object_store.hpp"
#include "manta/core/runtime.hpp"
#include "manta/sched/stream_index.hpp"
#include "manta/sched/stream_items.hpp"

#include <mutex>
#include <unordered_map>
#include <vector>

namespace manta::detail {

void item_stream::lend_item(uint64_t object) {
  lend_item_to(object, caf::node_id{});
}

void lend_item_to(uint64_t object, const caf::node_id& borrower) {
  // The items kept are the runtime's (stream_index.hpp); with none, its
  // bytes went with the store's held results.
  auto* rt = runtime::live();
  if (rt == nullptr)
    return;
  auto& x = rt->streams().lent;
  std::lock_guard<std::mutex> guard{x.mtx};
  x.items[object] = borrower;
}

size_t lent_items_node_gone(const caf::node_id& borrower) {
  if (borrower == caf::node_id{})
    return 0;
  auto* rt = runtime::live();
  if (rt == nullptr)
    return 0;
  std::vector<uint64_t> gone;
  {
    auto& x = rt->streams().lent;
    std::lock_guard<std::mutex> guard{x.mtx};
    for (auto i = x.items.begin(); i != x.items.end();) {
      if (i->second == borrower) {
        gone.push_back(i->first);
        i = x.items.erase(i);
      } else {
        ++i;
      }
    }
  }
  for (auto object : gone)
    rt->store().held().erase(object);
  return gone.size();
}

bool item_stream::lent_item_gone(uint64_t object) {
  auto* rt = runtime::live();
  if (rt == nullptr)
    return false;
  {
    auto& x = rt->streams().lent;
    std::lock_guard<std::mutex> guard{x.mtx};
    if (x.items.erase(object) == 0)
      return false;
  }
  rt->store().held().erase(object);
  return true;
}

} // namespace manta::detail
