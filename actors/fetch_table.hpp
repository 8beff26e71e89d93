#pragma once

#include "manta/cluster/remote_object.hpp"
#include "manta/net/wire.hpp"

#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace manta::actors {

/// Called with an error text (empty on success) and the fetched bytes.
using fetch_callback = std::function<void(const std::string&, detail::wire::bytes&)>;

/// Called with where the object's bytes can be read now (`at`), or with
/// the bytes themselves when a rebuild brought them back inline (`data`),
/// or with why neither (`err`, non-empty).
using locate_callback = std::function<void(const std::string& err, const detail::wire::holder* at,
                                           detail::wire::bytes* data)>;

/// Bringing a remote object's bytes here, chunk by chunk; or only finding
/// a live node that holds them (rebuilding the object first if none is
/// left), for a borrower whose holder could not serve them (`located`).
struct fetch_op {
  detail::remote_ptr obj;
  uint16_t node = 0;
  detail::wire::bytes buffer;
  uint64_t requested = 0;
  std::vector<fetch_callback> done;
  std::vector<locate_callback> located;
  /// Bumped at each (re)start, so a late answer of an earlier one is
  /// recognized and dropped.
  uint32_t attempt = 0;
};

/// The driver's fetches under way, by fetch id, and the one of each object
/// being fetched: every reader of an object waits on its one fetch, and an
/// answer names its fetch by id, so one that ended is told from one under
/// way. The steps of a fetch are object_fetches.cpp's.
class fetch_table {
public:
  /// Fetch `fetch_id`, or null if it ended (the answer is late).
  fetch_op* find(uint64_t fetch_id);

  /// Fetch `fetch_id`, which is under way.
  fetch_op& at(uint64_t fetch_id);

  /// The id of the fetch of object `object` under way, or 0 if none (ids
  /// start at 1).
  uint64_t of(uint64_t object) const;

  /// The fetch of `obj` under way, or a new one for it: its id, and whether
  /// it is new (then its first attempt is the caller's to start).
  std::pair<uint64_t, bool> open(const detail::remote_ptr& obj);

  /// Ends fetch `fetch_id`, which is under way: taken out, so that its
  /// waiters are answered once (a new read of the object starts anew).
  fetch_op take(uint64_t fetch_id);

  /// The fetches reading from `node` now (restarted when it is lost).
  std::vector<uint64_t> reading_from(uint16_t node) const;

private:
  std::unordered_map<uint64_t, fetch_op> fetches_;
  std::unordered_map<uint64_t, uint64_t> by_object_;
  uint64_t next_ = 1;
};

} // namespace manta::actors
