#pragma once

#include <cstddef>
#include <string>

namespace manta::tools {

/// A one-line progress bar on the terminal ("[#####.....] 5/12 name"),
/// redrawn in place. Silent unless stdout is a terminal, so piped or
/// captured output (tests, --json) stays exactly as it was.
class progress_bar {
public:
  explicit progress_bar(size_t total, bool enabled = true);
  ~progress_bar();

  progress_bar(const progress_bar&) = delete;
  progress_bar& operator=(const progress_bar&) = delete;

  /// Shows `done` of the total steps, working on `label`.
  void show(size_t done, const std::string& label);

  /// Erases the bar, so a result line can be printed in its place.
  void clear();

  bool active() const noexcept { return active_; }

  /// The text of the bar, without terminal control codes (for tests).
  static std::string render(size_t done, size_t total, const std::string& label, size_t width = 30);

private:
  size_t total_;
  bool active_;
  bool shown_ = false;
};

} // namespace manta::tools
