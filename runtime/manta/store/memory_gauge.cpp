#include "manta/store/memory_gauge.hpp"

#include <cstdio>
#include <cstring>
#include <unistd.h>

namespace manta::detail {

namespace {

constexpr const char* v2_dir = "/sys/fs/cgroup/";
constexpr const char* v1_dir = "/sys/fs/cgroup/memory/";

/// The number a small file starts with; `ok` false when the file is
/// missing or holds no number ("max").
uint64_t read_number(const std::string& path, bool& ok) {
  ok = false;
  auto* f = std::fopen(path.c_str(), "re");
  if (f == nullptr)
    return 0;
  unsigned long long x = 0;
  ok = std::fscanf(f, "%llu", &x) == 1;
  std::fclose(f);
  return ok ? x : 0;
}

/// The value of `key` in a file of "key value" lines (memory.stat).
uint64_t read_keyed(const std::string& path, const char* key) {
  auto* f = std::fopen(path.c_str(), "re");
  if (f == nullptr)
    return 0;
  char name[64];
  unsigned long long x = 0;
  uint64_t out = 0;
  while (std::fscanf(f, "%63s %llu", name, &x) == 2) {
    if (std::strcmp(name, key) == 0) {
      out = x;
      break;
    }
  }
  std::fclose(f);
  return out;
}

/// MemTotal - MemAvailable from /proc/meminfo, in bytes.
uint64_t machine_used() {
  auto* f = std::fopen("/proc/meminfo", "re");
  if (f == nullptr)
    return 0;
  char line[128];
  unsigned long long total = 0;
  unsigned long long available = 0;
  int found = 0;
  while (found < 2 && std::fgets(line, sizeof(line), f) != nullptr) {
    if (std::sscanf(line, "MemTotal: %llu kB", &total) == 1)
      ++found;
    else if (std::sscanf(line, "MemAvailable: %llu kB", &available) == 1)
      ++found;
  }
  std::fclose(f);
  return found == 2 && total > available ? (total - available) * 1024 : 0;
}

uint64_t physical_memory() {
  auto pages = ::sysconf(_SC_PHYS_PAGES);
  auto page = ::sysconf(_SC_PAGE_SIZE);
  return pages > 0 && page > 0 ? static_cast<uint64_t>(pages) * static_cast<uint64_t>(page) : 0;
}

} // namespace

memory_gauge::memory_gauge(uint64_t explicit_limit) {
  if (explicit_limit > 0) {
    kind_ = kind::process;
    limit_ = explicit_limit;
    source_ = "the process's resident memory against --memory-limit";
    return;
  }
  auto physical = physical_memory();
  bool ok = false;
  if (auto v2 = read_number(std::string{v2_dir} + "memory.max", ok); ok && v2 < physical) {
    kind_ = kind::cgroup_v2;
    limit_ = v2;
    source_ = "the container's memory (cgroup memory.current without inactive file "
              "cache) against its memory.max";
    return;
  }
  if (auto v1 = read_number(std::string{v1_dir} + "memory.limit_in_bytes", ok);
      ok && v1 < physical) {
    kind_ = kind::cgroup_v1;
    limit_ = v1;
    source_ = "the container's memory (cgroup memory.usage_in_bytes without inactive file "
              "cache) against its memory.limit_in_bytes";
    return;
  }
  kind_ = kind::machine;
  limit_ = physical;
  source_ = "the machine's memory in use (MemTotal - MemAvailable) against MemTotal";
}

uint64_t memory_gauge::process_rss() {
  bool ok = false;
  auto* f = std::fopen("/proc/self/statm", "re");
  if (f == nullptr)
    return 0;
  unsigned long long size = 0;
  unsigned long long resident = 0;
  ok = std::fscanf(f, "%llu %llu", &size, &resident) == 2;
  std::fclose(f);
  auto page = ::sysconf(_SC_PAGE_SIZE);
  return ok && page > 0 ? resident * static_cast<uint64_t>(page) : 0;
}

uint64_t memory_gauge::used() const {
  bool ok = false;
  switch (kind_) {
    case kind::process:
      return process_rss();
    case kind::cgroup_v2: {
      auto current = read_number(std::string{v2_dir} + "memory.current", ok);
      auto cache = read_keyed(std::string{v2_dir} + "memory.stat", "inactive_file");
      return current > cache ? current - cache : current;
    }
    case kind::cgroup_v1: {
      auto current = read_number(std::string{v1_dir} + "memory.usage_in_bytes", ok);
      auto cache = read_keyed(std::string{v1_dir} + "memory.stat", "total_inactive_file");
      return current > cache ? current - cache : current;
    }
    case kind::machine:
      return machine_used();
  }
  return 0;
}

} // namespace manta::detail
