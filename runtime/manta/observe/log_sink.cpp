#include "manta/observe/log_sink.hpp"

#include <cstdarg>
#include <cstdio>
#include <string>

namespace manta::detail {

namespace {

void write_line(const char* format, va_list args) {
  char buf[1024];
  va_list again;
  va_copy(again, args);
  auto n = std::vsnprintf(buf, sizeof(buf), format, args);
  if (n < 0) {
    va_end(again);
    return;
  }
  if (static_cast<size_t>(n) < sizeof(buf)) {
    std::fwrite(buf, 1, static_cast<size_t>(n), stderr);
  } else {
    std::string long_line(static_cast<size_t>(n) + 1, '\0');
    std::vsnprintf(long_line.data(), long_line.size(), format, again);
    std::fwrite(long_line.data(), 1, static_cast<size_t>(n), stderr);
  }
  va_end(again);
}

} // namespace

void log_line(log_level level, const char* format, ...) {
  if (level < get_log_level())
    return;
  va_list args;
  va_start(args, format);
  write_line(format, args);
  va_end(args);
}

void announce(const char* format, ...) {
  va_list args;
  va_start(args, format);
  write_line(format, args);
  va_end(args);
}

} // namespace manta::detail
