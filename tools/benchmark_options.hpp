#pragma once

#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace manta::tools {

/// The flags of a benchmark program (cluster_benchmark, netns_benchmark,
/// data_path_benchmark), declared once with their defaults and read with
/// Program_options as every Manta flag is (core/flag_reader.hpp):
/// `--NAME=VALUE` or `--NAME VALUE`, and `--help`. A flag it does not
/// know, a number that is not one or is out of range, or a value not
/// among a flag's choices is bad usage named by the flag, not ignored: a
/// misspelt `--round-trip=5` once ran the whole benchmark with defaults.
class benchmark_options {
public:
  /// `program`: its name in messages; `usage`: what `--help` prints above
  /// the flags (what it measures, how to run it).
  benchmark_options(std::string program, std::string usage);

  /// A whole decimal number, `fallback` unless given, from `least` to
  /// `most`.
  benchmark_options& number(std::string name, long fallback, long least, std::string help,
                            long most = std::numeric_limits<long>::max());
  /// A text, `fallback` unless given; one of `choices` unless that is empty.
  benchmark_options& text(std::string name, std::string fallback, std::string help,
                          std::vector<std::string> choices = {});

  /// Reads `argv[1..argc)`. Returns the exit code to end with (0 after
  /// printing the help, 2 after printing what is wrong with the flags), or
  /// nothing when the program goes on.
  std::optional<int> read(int argc, char** argv);

  /// The value of number flag `name` (read or its default).
  long number(std::string_view name) const;
  /// The value of text flag `name`.
  const std::string& text(std::string_view name) const;

  /// The help: the usage, then every flag with its default.
  std::string help() const;

  /// What `read` printed last (the help, or what was wrong), "" if nothing.
  const std::string& printed() const noexcept { return printed_; }

private:
  struct flag {
    std::string name;
    std::string help;
    bool is_number = false;
    long least = 0;
    long most = 0;
    std::vector<std::string> choices;
    std::string value; ///< the default until read
  };
  const flag& find(std::string_view name) const;
  /// Why `f`'s value `given` is bad, or "".
  std::string refusal(const flag& f, const std::string& given) const;
  std::string program_;
  std::string usage_;
  std::vector<flag> flags_;
  std::map<std::string, long, std::less<>> numbers_;
  std::string printed_;
};

} // namespace manta::tools
