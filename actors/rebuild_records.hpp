#pragma once

#include "manta/cluster/remote_object.hpp"
#include "manta/net/wire.hpp"
#include "manta/resources.hpp"

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <unordered_map>
#include <utility>
#include <vector>

namespace manta::actors {

/// What re-runs a generator task this driver placed on a worker, to
/// rebuild its large items (kept on the worker that yielded them) if that
/// worker dies before they are read: Ray's lineage reconstruction for
/// streaming generators (the generator is deterministic by contract).
/// Shared by the task's live large items (`generator_item`).
struct generator_lineage {
  uint64_t task = 0;
  detail::wire::bytes spec; ///< its TaskSpec, without back pressure
  detail::resource_demand demand;
  int retries_left = 0; ///< re-runs still allowed (its max_retries)
  /// Its live large items: index -> item object id.
  std::map<uint64_t, uint64_t> items;
};

/// A large item of a generator task this driver placed on a worker.
struct generator_item {
  std::shared_ptr<generator_lineage> lineage;
  uint64_t index = 0;
  /// The item's record (held by its slot): moved to the node of a re-run.
  std::weak_ptr<detail::remote_object> record;
  /// The id its node keeps the bytes under: the item's own, or after a
  /// re-run rebuilt it, the id that run gave its item of that index.
  uint64_t held_as = 0;
};

/// What the driver keeps to rebuild objects lost with their node beyond
/// the lineage a result's own record holds (remote_object.hpp): the large
/// items of its generator tasks with their tasks' lineages, the re-runs of
/// those tasks under way, and the nodes that sent a rebuilt object back
/// inline and keep the refs inside it pinned. The steps that rebuild are
/// generator_rebuild.cpp's and object_fetches.cpp's.
class rebuild_records {
public:
  /// The id the node holding object `id` keeps its bytes under (another
  /// than `id` for a generator item a re-run rebuilt).
  uint64_t held_id(uint64_t id) const;

  /// The owner let go of object `id`: forgotten if it is a generator item
  /// (and its task's lineage with its last item). Returns held_id(id).
  uint64_t forget(uint64_t id);

  /// The lineage of generator `task` while one of its large items lives,
  /// or null.
  std::shared_ptr<generator_lineage> lineage(uint64_t task);

  /// Keeps `l` as the lineage of its task while its items live.
  void keep_lineage(const std::shared_ptr<generator_lineage>& l);

  /// Whether any generator task has a live large item (most drivers' have
  /// none: their results need no lookup).
  bool any_lineage() const noexcept { return !lineages_.empty(); }

  /// The live item of index `index` of `l`, and its record; null if none.
  std::pair<generator_item*, detail::remote_ptr> live_item(const generator_lineage& l,
                                                           uint64_t index);

  /// The large generator item `object`, or null if it is none.
  generator_item* item(uint64_t object);

  /// Large item `object` (index `index` of `l`'s task) arrived, `record`
  /// its owner's record: kept, so that it can be rebuilt.
  void add_item(uint64_t object, const std::shared_ptr<generator_lineage>& l, uint64_t index,
                const detail::remote_ptr& record);

  /// Whether this driver re-runs generator `task` now to rebuild lost
  /// items (its items are not new then).
  bool rerunning(uint64_t task) const;

  /// A re-run of generator `task` starts: the items it yields that
  /// nothing lost are dropped, the stream has them already.
  void start_rerun(uint64_t task);

  /// That re-run ended: the task's items are new again (a retry's).
  void end_rerun(uint64_t task);

  /// Node `node` rebuilt object `id` and sent it inline, keeping the refs
  /// inside it pinned for this driver under `held` (contained_refs.hpp:
  /// the result's own id, a small item's `held`) until told it is freed,
  /// which the object's own free (to its lost first home) does not tell it.
  void rebuilt_inline(uint64_t id, uint16_t node, uint64_t held);

  /// The owner let go of object `id`: the nodes that rebuilt it inline,
  /// each with the id it pins the refs under, to be told; forgotten here.
  std::vector<std::pair<uint16_t, uint64_t>> take_rebuilt_inline(uint64_t id);

private:
  /// Large items by item object id, and their lineages by task id.
  std::unordered_map<uint64_t, generator_item> items_;
  std::unordered_map<uint64_t, std::weak_ptr<generator_lineage>> lineages_;
  /// Generator tasks re-run now to rebuild lost items.
  std::set<uint64_t> reruns_;
  /// The nodes that rebuilt an object inline, by its id (`rebuilt_inline`).
  std::unordered_map<uint64_t, std::vector<std::pair<uint16_t, uint64_t>>> inline_;
};

} // namespace manta::actors
