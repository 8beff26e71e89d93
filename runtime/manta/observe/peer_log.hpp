#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

/// Log lines about what other processes sent. Anyone who can reach a port
/// can send a message the node refuses, so such lines must not let a peer
/// fill the disk, flood the terminal or forge lines: the peer's text in them
/// is cut to `peer_text_limit` bytes with non-printable bytes escaped
/// (`printable`), and each source gets a token bucket of lines
/// (`log_rate_limit`): a burst, then one line a second; what was held back is
/// counted and said with the next line that passes ("N more ... suppressed").
namespace manta::detail {

/// Bytes of a peer's text kept in one log line.
inline constexpr size_t peer_text_limit = 200;

/// `text` fit for one log line: at most `limit` bytes of it, every byte
/// outside printable ASCII (newlines, escape sequences, UTF-8 too) as \xNN,
/// and "...(N more bytes)" where it was cut.
std::string printable(std::string_view text, size_t limit = peer_text_limit);

/// A token bucket per source (a peer's node id, an address): `burst` lines
/// at once, then `per_second` lines a second. At most `max_sources` are
/// tracked; past that, new sources share one bucket (a stream of fresh node
/// ids is one attacker, not news).
class log_rate_limit {
public:
  using clock = std::chrono::steady_clock;

  explicit log_rate_limit(double burst = 10, double per_second = 1, size_t max_sources = 256)
    : burst_(burst), per_second_(per_second), max_sources_(max_sources) {}

  /// Whether a line from `source` may be written at `now`: nullopt if not
  /// (it is counted), else the lines of this source held back since the
  /// last one written.
  std::optional<uint64_t> admit(std::string_view source, clock::time_point now);

private:
  struct bucket {
    double tokens;
    clock::time_point last;
    uint64_t suppressed = 0;
  };
  double burst_;
  double per_second_;
  size_t max_sources_;
  std::unordered_map<std::string, bucket> buckets_;
};

/// Writes the line `make_line()` returns (no newline needed) to stderr if
/// `source` is within its rate (one process-wide `log_rate_limit`), with
/// "(N more lines from SOURCE suppressed)" when some were held back; the
/// line is made only then, so a flood costs no formatting. Thread-safe.
/// Returns whether it was written. Peer text in the line must have gone
/// through `printable`.
bool log_peer_line(std::string_view source, const std::function<std::string()>& make_line);

} // namespace manta::detail
