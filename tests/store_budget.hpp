#pragma once

// The runtime the memory suites (block cache, buffer pool) start: one CPU and
// an object store of a given size, without spilling, so that the budget alone
// bounds what is kept.

#include <manta/manta.hpp>

#include <cstddef>

inline manta::init_options budget_of(size_t bytes) {
  manta::init_options opts;
  opts.num_cpus = 1;
  opts.object_store_memory = bytes;
  opts.object_spilling = false;
  return opts;
}
