#pragma once

#include "manta/observe/log_store.hpp"
#include "manta/object_id.hpp"

#include <deque>
#include <iosfwd>
#include <map>
#include <memory>
#include <mutex>
#include <streambuf>
#include <string>
#include <vector>

namespace manta::detail {

/// Makes std::cout and std::cerr say who printed: a line written by task or
/// actor code reaches the terminal as "(add node-0 (pid 42)) the line"
/// (Ray's "(add pid=42)") and is kept for `task_logs`. Lines are buffered
/// per thread until their newline, so lines of concurrent tasks never mix;
/// threads that run no task (the driver's own) pass through untouched.
/// Lines of a task another node sent also go to that task's owner (see
/// log_shipper), which `surface`s them.
/// Installed by the runtime for its lifetime; the streams get their own
/// buffers back at shutdown.
class log_capture {
public:
  log_capture();
  ~log_capture();

  log_capture(const log_capture&) = delete;
  log_capture& operator=(const log_capture&) = delete;

  /// A line that a task of this owner printed on another node (it came in
  /// a LogBatch): kept like a local line and printed to this process's
  /// stdout or stderr as "(add node-2 (pid 4242)) the line", naming the
  /// node that ran it; printed unchanged and not kept when no log_capture
  /// is installed (`log_prefix` off).
  static void surface(object_id id, const std::string& name, const std::string& node,
                      bool to_stderr, const std::string& line);

  /// A task or actor call ends on this thread: what it printed without a
  /// final newline becomes its last line. Called before the run's context
  /// is cleared; one thread-local test when nothing is pending.
  static void end_of_run();

  /// Whether a log_capture is installed now (`log_prefix` on).
  static bool installed() noexcept;

  /// The kept lines of one task (see manta::task_logs).
  static std::vector<std::string> lines_of(object_id id);

  /// The bounds of what is kept (log_store).
  static constexpr size_t max_tasks = log_store::max_tasks;
  static constexpr size_t max_lines_per_task = log_store::max_lines_per_task;

private:
  class prefixing_buf;
  static prefixing_buf& buffer(bool is_stderr);
  /// Never destroyed: a task left running at shutdown may still be inside
  /// one when the streams get their buffers back.
  prefixing_buf* out_;
  prefixing_buf* err_;
};

} // namespace manta::detail
