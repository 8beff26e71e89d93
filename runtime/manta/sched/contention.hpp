#pragma once

namespace manta::detail {

/// Whether the machine runs more threads than it has cores now. A spinning
/// waiter then only takes CPU from the thread it waits for (which cannot
/// run), and a `sched_yield` hands a whole time slice (milliseconds) to a
/// busy thread, so every spin-then-sleep wait of the runtime (parker,
/// worker pool, lingering actor drainers) goes to the futex at once while
/// this holds: a woken sleeper is scheduled ahead of busy threads.
///
/// Reads the number of runnable threads of the whole machine
/// (/proc/loadavg) at most every few milliseconds (one thread reads, the
/// others see the last answer: an atomic load on the hot path) and
/// compares it, less the runtime's own spinning threads, with the online
/// cores. False if /proc cannot be read.
bool oversubscribed() noexcept;

/// Counts the calling thread among the runtime's spinning threads while it
/// lives: a spinner is runnable but would give its core away at once, so
/// it does not count as load.
class spin_scope {
public:
  spin_scope() noexcept;
  ~spin_scope();
  spin_scope(const spin_scope&) = delete;
  spin_scope& operator=(const spin_scope&) = delete;
};

/// For tests and benchmarks: the number of runnable threads seen at the
/// last check and the online cores it was compared with.
struct contention_sample {
  int runnable;
  int spinners;
  int cores;
};
contention_sample last_contention_sample() noexcept;

} // namespace manta::detail
