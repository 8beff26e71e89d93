#include "manta/observe/peer_log.hpp"

#include "manta/observe/log_sink.hpp"

#include <algorithm>
#include <cstdio>
#include <utility>

namespace manta::detail {

std::string printable(std::string_view text, size_t limit) {
  std::string out;
  auto keep = std::min(text.size(), limit);
  out.reserve(keep + 24);
  for (size_t i = 0; i < keep; ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      out += buf;
    }
  }
  if (text.size() > keep)
    out += "...(" + std::to_string(text.size() - keep) + " more bytes)";
  return out;
}

std::optional<uint64_t> log_rate_limit::admit(std::string_view source, clock::time_point now) {
  std::string key{source};
  auto i = buckets_.find(key);
  if (i == buckets_.end()) {
    if (buckets_.size() >= max_sources_)
      key = "(other peers)";
    i = buckets_.try_emplace(key, bucket{burst_, now}).first;
  }
  auto& b = i->second;
  auto elapsed = std::chrono::duration<double>(now - b.last).count();
  b.tokens = std::min(burst_, b.tokens + std::max(0.0, elapsed) * per_second_);
  b.last = now;
  if (b.tokens < 1) {
    ++b.suppressed;
    return std::nullopt;
  }
  b.tokens -= 1;
  return std::exchange(b.suppressed, 0);
}

bool log_peer_line(std::string_view source, const std::function<std::string()>& make_line) {
  static std::mutex mtx;
  static log_rate_limit limit;
  std::optional<uint64_t> held;
  {
    std::lock_guard<std::mutex> guard{mtx};
    held = limit.admit(source, log_rate_limit::clock::now());
  }
  if (!held)
    return false;
  auto line = make_line();
  // The user's output, which the worker's own level already filtered: not
  // the runtime's to drop, so written at every level, as announcements are.
  if (*held > 0)
    announce("%s (%llu more lines from %s suppressed)\n", line.c_str(),
             static_cast<unsigned long long>(*held), printable(source).c_str());
  else
    announce("%s\n", line.c_str());
  return true;
}

} // namespace manta::detail
