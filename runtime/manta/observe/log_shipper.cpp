#include "manta/observe/log_shipper.hpp"

namespace manta::detail {

log_shipper::log_shipper(wake_fn wake) : wake_(std::move(wake)) {
  // nop
}

void log_shipper::add(uint64_t task_id, bool to_stderr, std::string text) {
  bool wake = false;
  bool full = false;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (pending_bytes_ + text.size() > max_pending_bytes) {
      ++pending_.dropped[task_id];
      full = true;
    } else {
      pending_bytes_ += text.size();
      pending_.lines.push_back({task_id, to_stderr, std::move(text)});
      full = pending_.lines.size() >= batch_lines || pending_bytes_ >= batch_bytes;
    }
    if (full && !urgent_) {
      urgent_ = wake = true;
    } else if (!full && !scheduled_) {
      scheduled_ = wake = true;
    }
  }
  if (wake)
    wake_(full);
}

log_shipper::batch log_shipper::take() {
  std::lock_guard<std::mutex> guard{mtx_};
  batch out = std::move(pending_);
  pending_ = {};
  pending_bytes_ = 0;
  scheduled_ = urgent_ = false;
  return out;
}

} // namespace manta::detail
