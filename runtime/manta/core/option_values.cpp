#include "manta/core/option_values.hpp"

#include "manta/core/text_pairs.hpp"
#include "manta/errors.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <string>

namespace manta::detail {

/// The end of an error about a bad value: the value, unless it came from a
/// config file, which may not be the user's (`--config=/etc/shadow` must not
/// print a line of it).
std::string got(std::string_view value, bool show) {
  if (!show)
    return " (the value in the file is not shown)";
  return ", got '" + std::string{value} + "'";
}

/// Whether `text` is a plain decimal number: digits with at most one '.'
/// (no sign, exponent, hex, "inf" or "nan", which strtod would take).
bool is_decimal(std::string_view text) {
  bool digit = false, dot = false;
  for (char c : text) {
    if (c >= '0' && c <= '9')
      digit = true;
    else if (c == '.' && !dot)
      dot = true;
    else
      return false;
  }
  return digit;
}

/// The decimal number at the start of `text` (digits and '.'); the rest
/// (a unit) goes to `unit`.
std::string decimal_prefix(std::string_view text, std::string_view& unit) {
  auto n = text.find_first_not_of("0123456789.");
  auto number = text.substr(0, n);
  unit = n == std::string_view::npos ? std::string_view{} : text.substr(n);
  return std::string{number};
}

double parse_amount(std::string_view flag, std::string_view text, bool show) {
  std::string s{text};
  double x = is_decimal(s) ? std::strtod(s.c_str(), nullptr) : -1;
  if (!std::isfinite(x) || x < 0)
    throw invalid_argument_error("manta::init: " + std::string{flag}
                                 + " expects a non-negative decimal number such as 4 or 0.5"
                                 + got(s, show));
  return x;
}

/// Parses a byte count: "1073741824", "512M", "2G", "64KiB".
size_t parse_bytes(std::string_view flag, std::string_view text, bool show) {
  std::string s{text};
  std::string_view unit;
  auto number = decimal_prefix(s, unit);
  double x = is_decimal(number) ? std::strtod(number.c_str(), nullptr) : 0;
  double scale = 0;
  if (unit.empty() || unit == "B")
    scale = 1;
  else if (unit == "K" || unit == "KB" || unit == "KiB" || unit == "k")
    scale = 1024.0;
  else if (unit == "M" || unit == "MB" || unit == "MiB")
    scale = 1024.0 * 1024.0;
  else if (unit == "G" || unit == "GB" || unit == "GiB")
    scale = 1024.0 * 1024.0 * 1024.0;
  if (scale == 0 || !std::isfinite(x) || x * scale < 1 || x * scale > 1e18)
    throw invalid_argument_error("manta::init: " + std::string{flag}
                                 + " expects a positive byte count such as "
                                   "1073741824, 512M or 2G"
                                 + got(s, show));
  return static_cast<size_t>(x * scale);
}

/// Parses a TCP port: 0 (any free port) to 65535.
uint16_t parse_port(std::string_view flag, std::string_view text, bool show) {
  std::string s{text};
  bool digits = !s.empty() && s.size() <= 5 && s.find_first_not_of("0123456789") == s.npos;
  auto x = digits ? std::strtol(s.c_str(), nullptr, 10) : -1;
  if (x < 0 || x > 65535)
    throw invalid_argument_error("manta::init: " + std::string{flag}
                                 + " expects a port from 0 (any free port) to 65535"
                                 + got(s, show));
  return static_cast<uint16_t>(x);
}

/// Parses a duration: "4s", "500ms", "1.5s", "2m"; 100 ms to 1 hour.
std::chrono::milliseconds parse_duration(std::string_view flag, std::string_view text, bool show) {
  std::string s{text};
  std::string_view unit;
  auto number = decimal_prefix(s, unit);
  double x = is_decimal(number) ? std::strtod(number.c_str(), nullptr) : 0;
  double ms = unit == "ms" ? 1 : unit == "s" ? 1e3 : unit == "m" ? 60e3 : 0;
  if (ms == 0 || !std::isfinite(x) || x * ms < 100 || x * ms > 3600e3)
    throw invalid_argument_error("manta::init: " + std::string{flag}
                                 + " expects a duration from 100ms to 1h with its unit, "
                                   "such as 4s, 500ms or 2m"
                                 + got(s, show));
  return std::chrono::milliseconds{static_cast<int64_t>(x * ms)};
}

bool parse_switch(std::string_view flag, std::string_view text, bool show) {
  if (text == "on" || text == "true" || text == "1")
    return true;
  if (text == "off" || text == "false" || text == "0")
    return false;
  throw invalid_argument_error("manta::init: " + std::string{flag} + " expects on or off"
                               + got(text, show));
}

/// Parses "GPU:1,disk:2"; a resource named twice is an error.
resource_map parse_resources(std::string_view flag, std::string_view text, bool show) {
  resource_map out;
  for_each_pair(
    text, ',', ':',
    [&](std::string_view key, std::string_view amount) {
      auto name = std::string{key};
      if (out.count(name) != 0)
        throw invalid_argument_error(
          "manta::init: " + std::string{flag} + " names "
          + (show ? "the resource '" + name + "'" : std::string{"a resource"})
          + " twice; give each resource once with its whole amount" + got(text, show));
      out[name] = parse_amount(flag, amount, show);
    },
    [&](std::string_view item) {
      throw invalid_argument_error("manta::init: " + std::string{flag}
                                   + " expects NAME:AMOUNT pairs separated by commas (e.g. "
                                     "GPU:1,disk:2)"
                                   + got(item, show));
    });
  return out;
}

log_level parse_log_level(std::string_view flag, std::string_view text, bool show) {
  for (auto l : {log_level::debug, log_level::info, log_level::warning, log_level::error}) {
    std::string_view name = to_string(l);
    if (text.size() == name.size()
        && std::equal(text.begin(), text.end(), name.begin(), [](char a, char b) {
             return std::toupper(static_cast<unsigned char>(a)) == b;
           }))
      return l;
  }
  throw invalid_argument_error("manta::init: " + std::string{flag}
                               + " expects debug, info, warning or error" + got(text, show));
}

/// `--transport`: true for "plain", false for "tls".
bool parse_transport(std::string_view where, std::string_view v) {
  if (v == "tls")
    return false;
  if (v == "plain")
    return true;
  throw invalid_argument_error("manta::init: " + std::string{where}
                               + " expects tls (the default: every "
                                 "connection authenticated with the cluster token) or plain "
                                 "(unauthenticated, for a trusted network only), got '"
                               + std::string{v} + "'");
}

} // namespace manta::detail
