#include "manta/detail/store_copy.hpp"

#include <cstdint>
#include <sys/mman.h>
#include <unistd.h>

namespace manta::detail {

void advise_huge_pages(void* data, size_t bytes) noexcept {
#ifdef MADV_HUGEPAGE
  auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  auto first = (reinterpret_cast<uintptr_t>(data) + page - 1) / page * page;
  auto last = (reinterpret_cast<uintptr_t>(data) + bytes) / page * page;
  if (last > first)
    ::madvise(reinterpret_cast<void*>(first), last - first, MADV_HUGEPAGE);
#else
  (void) data;
  (void) bytes;
#endif
}

} // namespace manta::detail
