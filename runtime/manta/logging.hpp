#pragma once

#include <sstream>
#include <string>
#include <string_view>

/// Logging for user code. A line logged inside a task or actor call goes
/// the way its printed output goes (log_capture): to the terminal prefixed
/// with the task or actor and the node ("(add node-0 (pid 42)) [INFO] ..."),
/// into `task_logs` and `manta logs`, and from a worker node to the
/// driver. Outside tasks it is printed with a "(driver node-0 ...)" prefix.
///
///     manta::log_info() << "loaded " << n << " rows";
///     manta::log_message(manta::log_level::warning, "slow disk");
namespace manta {

/// How important a line is; lines below the current level are dropped.
enum class log_level { debug, info, warning, error };

/// Drops lines below `level` from now on in this process. The starting
/// level is `MANTA_LOG_LEVEL` (debug, info, warning or error; a node
/// started by `manta start` inherits the variable), else info.
void set_log_level(log_level level) noexcept;

/// The current level.
log_level get_log_level() noexcept;

/// "DEBUG", "INFO", "WARNING" or "ERROR".
const char* to_string(log_level level) noexcept;

/// Logs one line (a multi-line text becomes several lines) at `level`.
void log_message(log_level level, std::string_view text);

/// Collects one line with `<<` and logs it at the end of the statement.
class log_stream {
public:
  /// A line at `level`; collects nothing when the level is off.
  explicit log_stream(log_level level) : level_(level), on_(level >= get_log_level()) {}
  log_stream(const log_stream&) = delete;
  log_stream& operator=(const log_stream&) = delete;
  /// Logs the collected line.
  ~log_stream() {
    if (on_)
      log_message(level_, out_.str());
  }

  /// Appends `x` as `std::ostream` would print it (nothing when the level
  /// is off: the arguments are not even formatted).
  template <class T>
  log_stream& operator<<(const T& x) {
    if (on_)
      out_ << x;
    return *this;
  }

private:
  log_level level_;
  bool on_;
  std::ostringstream out_;
};

inline log_stream log_debug() {
  return log_stream{log_level::debug};
}     ///< A debug line.
inline log_stream log_info() {
  return log_stream{log_level::info};
}       ///< An info line.
inline log_stream log_warning() {
  return log_stream{log_level::warning};
} ///< A warning.
inline log_stream log_error() {
  return log_stream{log_level::error};
}     ///< An error line.

} // namespace manta
