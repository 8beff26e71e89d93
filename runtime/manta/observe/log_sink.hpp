#pragma once

#include "manta/logging.hpp"

/// Manta's own messages on stderr ("manta: ...", "manta head: ..."): one
/// sink with the levels of logging.hpp, so `MANTA_LOG_LEVEL` (or
/// `set_log_level`) quiets the runtime too. A user's lines go through
/// `manta::log_message` and the log capture instead; these are the
/// runtime's, written as they are, a line in one write.
namespace manta::detail {

/// Writes the printf-formatted line (with its '\n') to stderr unless
/// `level` is below the current level.
void log_line(log_level level, const char* format, ...) __attribute__((format(printf, 2, 3)));

/// Writes a line that other programs read (a node's address, that it
/// joined: `manta start` and tests wait for them) whatever the level.
void announce(const char* format, ...) __attribute__((format(printf, 1, 2)));

} // namespace manta::detail
