#include "manta/logging.hpp"

#include "manta/actor/actor_core.hpp"
#include "manta/observe/log_capture.hpp"
#include "manta/observe/log_sink.hpp"
#include "manta/core/option_values.hpp"
#include "manta/core/runtime.hpp"
#include "manta/sched/worker_pool.hpp"

#include <atomic>
#include <cstdlib>
#include <iostream>

namespace manta {

namespace {

/// MANTA_LOG_LEVEL, else info. `init` reads the variable again as an option
/// (init_flags.cpp) and refuses a bad value; here, before any init, a bad
/// value is said once and passed over.
log_level level_from_environment() noexcept {
  const char* v = std::getenv("MANTA_LOG_LEVEL");
  if (v == nullptr)
    return log_level::info;
  try {
    return detail::parse_log_level("MANTA_LOG_LEVEL", v);
  } catch (const std::exception&) {
    detail::announce("manta: MANTA_LOG_LEVEL=%s is not a level (debug, info, warning, error); "
                     "logging at info\n",
                     v);
  }
  return log_level::info;
}

std::atomic<log_level>& current_level() noexcept {
  static std::atomic<log_level> level{level_from_environment()};
  return level;
}

/// Who the calling thread runs code for: the actor, the task, or empty
/// for a thread that runs neither (the driver's own).
std::string running_for() {
  if (auto* actor = detail::current_actor())
    return actor->display_name();
  auto* t = detail::this_task().task;
  return t != nullptr && t->result && t->result->id().valid() ? t->name() : std::string{};
}

} // namespace

void set_log_level(log_level level) noexcept {
  current_level().store(level, std::memory_order_relaxed);
}

log_level get_log_level() noexcept {
  return current_level().load(std::memory_order_relaxed);
}

const char* to_string(log_level level) noexcept {
  switch (level) {
    case log_level::debug:
      return "DEBUG";
    case log_level::info:
      return "INFO";
    case log_level::warning:
      return "WARNING";
    case log_level::error:
      return "ERROR";
  }
  return "INFO";
}

void log_message(log_level level, std::string_view text) {
  if (level < get_log_level())
    return;
  // Inside a task the log capture (when on) prefixes each line with the
  // task or actor and the node and sends it where the task's printed
  // lines go; elsewhere, or with capture off, the line says it itself.
  std::string prefix;
  auto who = running_for();
  if (who.empty() || !detail::log_capture::installed()) {
    prefix.append("(").append(who.empty() ? "driver" : who).append(" ");
    prefix.append(detail::runtime::current() != nullptr ? detail::runtime::node_name()
                                                        : std::string{"no node"});
    prefix.append(") ");
  }
  std::string out;
  for (;;) { // one write per line: lines of other threads never cut in
    auto nl = text.find('\n');
    auto line = text.substr(0, nl);
    out.append(prefix).append("[").append(to_string(level)).append("] ").append(line);
    out += '\n';
    if (nl == std::string_view::npos || nl + 1 == text.size())
      break;
    text.remove_prefix(nl + 1);
  }
  std::cerr << out << std::flush;
}

} // namespace manta
