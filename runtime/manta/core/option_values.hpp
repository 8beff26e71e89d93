#pragma once

#include "manta/logging.hpp"
#include "manta/resources.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

/// The values of Manta's options as flags, environment variables and config
/// file keys give them: numbers, byte counts, ports, durations, switches,
/// resource lists and the transport. Each parser throws
/// `invalid_argument_error` naming the option (`flag`: "--num-cpus",
/// "MANTA_NUM_CPUS" or "FILE:LINE: num-cpus") and what it expects; the value
/// itself is shown unless `show` is false (a config file's value may be a
/// line of someone else's file).
namespace manta::detail {

/// The end of an error about a bad value: the value, unless it came from a
/// config file, which may not be the user's (`--config=/etc/shadow` must not
/// print a line of it).
std::string got(std::string_view value, bool show);

/// Whether `text` is a plain decimal number: digits with at most one '.'
/// (no sign, exponent, hex, "inf" or "nan", which strtod would take).
bool is_decimal(std::string_view text);

/// The decimal number at the start of `text` (digits and '.'); the rest
/// (a unit) goes to `unit`.
std::string decimal_prefix(std::string_view text, std::string_view& unit);

/// Parses a non-negative decimal amount ("4", "0.5").
double parse_amount(std::string_view flag, std::string_view text, bool show = true);

/// Parses a byte count: "1073741824", "512M", "2G", "64KiB".
size_t parse_bytes(std::string_view flag, std::string_view text, bool show = true);

/// Parses a TCP port: 0 (any free port) to 65535.
uint16_t parse_port(std::string_view flag, std::string_view text, bool show = true);

/// Parses a duration: "4s", "500ms", "1.5s", "2m"; 100 ms to 1 hour.
std::chrono::milliseconds parse_duration(std::string_view flag, std::string_view text,
                                         bool show = true);

/// Parses on/off (also true/false, 1/0).
bool parse_switch(std::string_view flag, std::string_view text, bool show = true);

/// Parses "GPU:1,disk:2"; a resource named twice is an error.
resource_map parse_resources(std::string_view flag, std::string_view text, bool show = true);

/// Parses a log level: debug, info, warning or error, in any case.
log_level parse_log_level(std::string_view flag, std::string_view text, bool show = true);

/// `--transport`: true for "plain", false for "tls".
bool parse_transport(std::string_view where, std::string_view v);

} // namespace manta::detail
