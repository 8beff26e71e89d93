#pragma once

#include <chrono>
#include <string>
#include <sys/types.h>

namespace manta::tools {

/// How long `manta start` waits for a worker it started to join.
inline constexpr std::chrono::seconds worker_join_wait{10};

/// Waits until the worker `pid` (a child of this process, writing to `log`)
/// says in its log that it joined the cluster. If it exits first, or runs
/// on without a word from Manta, says why on stderr, naming the likely fix
/// (a program that never calls `manta::init(argc, argv)` never becomes a
/// worker), and returns false.
bool await_worker_join(pid_t pid, const std::string& log);

/// The generic worker program, `manta-worker` beside this `manta`
/// (tools/manta_worker.cpp), which `manta start` runs when given no
/// program; "" after printing why there is none.
std::string generic_worker();

} // namespace manta::tools
