#include "tools/progress_bar.hpp"

#include <algorithm>
#include <cstdio>

#include <unistd.h>

namespace manta::tools {

progress_bar::progress_bar(size_t total, bool enabled)
  : total_(std::max<size_t>(1, total)), active_(enabled && ::isatty(STDOUT_FILENO) != 0) {}

progress_bar::~progress_bar() {
  clear();
}

std::string progress_bar::render(size_t done, size_t total, const std::string& label,
                                 size_t width) {
  total = std::max<size_t>(1, total);
  done = std::min(done, total);
  auto filled = done * width / total;
  std::string out = "[";
  out.append(filled, '#');
  out.append(width - filled, '.');
  out += "] ";
  out += std::to_string(done);
  out += '/';
  out += std::to_string(total);
  if (!label.empty()) {
    out += ' ';
    out += label;
  }
  return out;
}

void progress_bar::show(size_t done, const std::string& label) {
  if (!active_)
    return;
  // \r and "erase line" redraw in place without scrolling.
  std::printf("\r\033[K%s", render(done, total_, label).c_str());
  std::fflush(stdout);
  shown_ = true;
}

void progress_bar::clear() {
  if (!active_ || !shown_)
    return;
  std::printf("\r\033[K");
  std::fflush(stdout);
  shown_ = false;
}

} // namespace manta::tools
