#pragma once

namespace manta::detail {

/// Whether the machine runs more threads than it has cores now. A spinning
/// waiter then only takes CPU from the thread it waits for (which cannot
/// run), and a `sched_yield` hands a whole time slice (milliseconds) to a
/// busy thread, so every spin-then-sleep wait of the runtime (parker,
/// worker pool; lingering actor drainers ask `no_core_to_spare`) goes to
/// the futex at once while this holds: a woken sleeper is scheduled ahead
/// of busy threads.
///
/// Reads the number of runnable threads of the whole machine
/// (/proc/loadavg) at most every few milliseconds (one thread reads, the
/// others see the last answer: an atomic load on the hot path) and
/// compares it, less the runtime's own spinning threads, with the online
/// cores (`oversubscribed_given`). False if /proc cannot be read.
bool oversubscribed() noexcept;

/// Stricter than `oversubscribed`: whether the last reading leaves no core
/// free beside the reader and the other running threads. A spinner that
/// waits for a thread that is running now (the other end of a round trip)
/// asks `oversubscribed`; one that waits for work its caller has not made
/// yet (a lingering actor drainer) asks this, since spinning on the core
/// beside that caller runs the two in step, a call at a time, where the
/// caller alone would pile a burst up (docs/performance.md, "Calls in a
/// burst").
bool no_core_to_spare() noexcept;

/// The answer `oversubscribed` gives for one reading: `runnable` threads
/// of the machine (the reading thread among them: it runs while it reads),
/// `spinners` of them this process's spinners, `reader_spins` whether the
/// reader is one of those. True when the non-spinning runnable threads,
/// with the reader counted once as the thread that wants to spin, exceed
/// the `cores`; false for an unread count (negative). Apart so that
/// tests can check the rule without loading the machine.
bool oversubscribed_given(int runnable, int spinners, bool reader_spins, int cores) noexcept;

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
