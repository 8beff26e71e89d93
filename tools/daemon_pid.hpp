#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <sys/types.h>

/// The pid files of the daemons `manta start` forks (head.pid,
/// worker-<pid>.pid in the runtime folder). A pid alone names a process only
/// while it lives: once the daemon ended, the number may be any process's,
/// and a pid file someone else wrote may name any process at all. So a pid
/// file also records the process's start time, and `manta stop` (and `manta
/// start`, asking whether a head runs) signals a pid only after checking
/// that it is still that daemon: the process belongs to this user, started
/// when the file says, and runs as the daemon it should (its command line).
namespace manta::tools {

/// A daemon as its pid file records it.
struct daemon_record {
  pid_t pid = 0;
  /// When it started: field 22 of /proc/<pid>/stat (clock ticks since boot).
  uint64_t start_time = 0;
};

/// The start time of `pid`, or 0 if there is no such process.
uint64_t process_start_time(pid_t pid);

/// Whether `pid` has ended: no such process, or a zombie no one reaped (a
/// daemon's parent, `manta start`, is gone, and what adopts it may never
/// reap it).
bool process_ended(pid_t pid);

/// What `manta start` writes to the pid file of the daemon `pid`: "PID
/// START_TIME\n".
std::string pid_file_text(pid_t pid);

/// Parses a pid file's text into `out`; returns why it is not one, or "".
std::string parse_pid_file(std::string_view text, daemon_record& out);

/// Why signalling `rec.pid` could hit another process than the daemon
/// recorded, or "" if it is that daemon: its /proc entry must belong to
/// this user, its start time must be the recorded one, and its command line
/// must hold the argument `marker` ("--head" for the head, "--manta-worker"
/// for a worker node).
std::string verify_daemon(const daemon_record& rec, std::string_view marker);

} // namespace manta::tools
