#include "manta/sched/item_stream.hpp"
#include "manta/store/object_store.hpp"
#include "manta/core/runtime.hpp"
#include "manta/sched/stream_items.hpp"

#include <mutex>
#include <unordered_map>
#include <vector>

namespace manta::detail {

namespace {

/// Large items this node keeps for workers that read a generator method
/// of its actors through a lent handle (item_stream::deliver_lent), until
/// they let go or die: the node of each one's reader (default for
/// `lend_item`).
struct lent_item_index {
  std::mutex mtx;
  std::unordered_map<uint64_t, caf::node_id> items;
};

lent_item_index& lent_items() {
  static auto* x = new lent_item_index; // never destroyed: a late release finds it
  return *x;
}

} // namespace

void item_stream::lend_item(uint64_t object) {
  lend_item_to(object, caf::node_id{});
}

void lend_item_to(uint64_t object, const caf::node_id& borrower) {
  auto& x = lent_items();
  std::lock_guard<std::mutex> guard{x.mtx};
  x.items[object] = borrower;
}

size_t lent_items_node_gone(const caf::node_id& borrower) {
  if (borrower == caf::node_id{})
    return 0;
  std::vector<uint64_t> gone;
  {
    auto& x = lent_items();
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
  if (auto* rt = runtime::live())
    for (auto object : gone)
      rt->store().held().erase(object);
  return gone.size();
}

bool item_stream::lent_item_gone(uint64_t object) {
  {
    auto& x = lent_items();
    std::lock_guard<std::mutex> guard{x.mtx};
    if (x.items.erase(object) == 0)
      return false;
  }
  if (auto* rt = runtime::live())
    rt->store().held().erase(object);
  return true;
}

} // namespace manta::detail
