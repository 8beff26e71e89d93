#pragma once

#include <cstdint>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace manta::detail {

/// Worker side: the containers of the refs and actor handles lent in
/// results this node sent and their owners have not read yet
/// (contained_refs.hpp, `contain_result`), whose functions are its only
/// users. A part of the runtime (`runtime::result_lends()`), so a second
/// `init` starts with none (task ids start over with it); a result read
/// after shutdown finds no runtime and nothing to release.
struct unread_results {
  /// The lends inside one result, with the node that owns its task.
  struct container {
    uint16_t reader = 0; ///< the node that reads the result
    std::vector<uint64_t> ids; ///< the lends, as `release_contained` takes them
  };

  /// Guards `by_task`.
  std::mutex mtx;
  /// The results not read yet, by task.
  std::unordered_map<uint64_t, container> by_task;
};

} // namespace manta::detail
