#pragma once

#include <cstdint>
#include <string>

namespace manta::detail {

/// Reads how much memory the node uses against the limit the kernel would
/// kill it at, for the memory monitor. The limit is chosen once:
///
/// - an explicit limit (`--memory-limit`): the process's resident set
///   (/proc/self/statm) against it;
/// - else a container's limit, cgroup v2 `memory.max` or v1
///   `memory.limit_in_bytes` when below physical memory: the cgroup's use
///   without its inactive file cache (what the kernel reclaims before it
///   kills), as Ray does;
/// - else the machine's memory: MemTotal - MemAvailable against MemTotal
///   (/proc/meminfo).
///
/// In the last two cases other processes count too, as they do for the
/// kernel's OOM killer.
class memory_gauge {
public:
  /// `explicit_limit` 0: the container's or the machine's.
  explicit memory_gauge(uint64_t explicit_limit);

  /// Bytes the limit counts now (0 if unreadable).
  uint64_t used() const;

  uint64_t limit() const noexcept { return limit_; }

  /// What is measured against what, for messages ("the process's resident
  /// memory against --memory-limit").
  const std::string& source() const noexcept { return source_; }

  /// The resident set of this process in bytes.
  static uint64_t process_rss();

private:
  enum class kind { process, cgroup_v2, cgroup_v1, machine };
  kind kind_ = kind::machine;
  uint64_t limit_ = 0;
  std::string source_;
};

} // namespace manta::detail
