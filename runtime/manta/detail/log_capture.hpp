#pragma once

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
/// Installed by the runtime for its lifetime; the streams get their own
/// buffers back at shutdown.
class log_capture {
public:
  log_capture();
  ~log_capture();

  log_capture(const log_capture&) = delete;
  log_capture& operator=(const log_capture&) = delete;

  /// The kept lines of one task (see manta::task_logs).
  static std::vector<std::string> lines_of(object_id id);

  /// Forgets every kept line (a new runtime counts object ids from 1 again).
  static void clear();

  static constexpr size_t max_tasks = 10000;
  static constexpr size_t max_lines_per_task = 1000;

private:
  class prefixing_buf;
  /// Never destroyed: a task left running at shutdown may still be inside
  /// one when the streams get their buffers back.
  prefixing_buf* out_;
  prefixing_buf* err_;
};

} // namespace manta::detail
