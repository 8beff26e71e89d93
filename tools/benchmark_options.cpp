#include "tools/benchmark_options.hpp"

#include "manta/core/flag_reader.hpp"

#include <boost/program_options/value_semantic.hpp>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <stdexcept>

namespace manta::tools {

namespace po = boost::program_options;

benchmark_options::benchmark_options(std::string program, std::string usage)
  : program_(std::move(program)), usage_(std::move(usage)) {}

benchmark_options& benchmark_options::number(std::string name, long fallback, long least,
                                             std::string help, long most) {
  flags_.push_back(
    {std::move(name), std::move(help), true, least, most, {}, std::to_string(fallback)});
  numbers_[flags_.back().name] = fallback;
  return *this;
}

benchmark_options& benchmark_options::text(std::string name, std::string fallback, std::string help,
                                           std::vector<std::string> choices) {
  flags_.push_back(
    {std::move(name), std::move(help), false, 0, 0, std::move(choices), std::move(fallback)});
  return *this;
}

const benchmark_options::flag& benchmark_options::find(std::string_view name) const {
  for (auto& f : flags_)
    if (f.name == name)
      return f;
  throw std::logic_error("benchmark_options: no flag --" + std::string{name});
}

long benchmark_options::number(std::string_view name) const {
  auto i = numbers_.find(name);
  if (i == numbers_.end())
    throw std::logic_error("benchmark_options: no number flag --" + std::string{name});
  return i->second;
}

const std::string& benchmark_options::text(std::string_view name) const {
  return find(name).value;
}

std::string benchmark_options::refusal(const flag& f, const std::string& given) const {
  if (f.is_number) {
    long out = 0;
    auto [end, ec] = std::from_chars(given.data(), given.data() + given.size(), out);
    if (ec != std::errc{} || end != given.data() + given.size() || given.empty())
      return "--" + f.name + " expects a whole decimal number, not '" + given + "'";
    if (out < f.least || out > f.most)
      return "--" + f.name + " is " + std::to_string(f.least)
             + (f.most == std::numeric_limits<long>::max() ? " or more"
                                                           : " to " + std::to_string(f.most))
             + ", not " + given;
    return {};
  }
  if (f.choices.empty())
    return {};
  std::string list;
  for (auto& c : f.choices) {
    if (c == given)
      return {};
    list += (list.empty() ? "" : " or ") + c;
  }
  return "--" + f.name + " is " + list + ", not '" + given + "'";
}

std::optional<int> benchmark_options::read(int argc, char** argv) {
  po::options_description options;
  auto add = options.add_options();
  add("help,h", "");
  for (auto& f : flags_)
    add(f.name.c_str(), po::value<std::string>(), "");
  std::vector<std::string> args(argv + 1, argv + argc);
  auto bad = [&](const std::string& why) {
    printed_ = program_ + ": " + why + "\n  (" + program_ + " --help lists its options)\n";
    std::fputs(printed_.c_str(), stderr);
    return 2;
  };
  po::parsed_options parsed{nullptr};
  try {
    parsed = detail::read_flags(options, args);
  } catch (const po::error& e) {
    return bad(detail::flag_error_text(e));
  }
  for (auto& o : parsed.options) {
    if (o.unregistered || o.position_key >= 0)
      return bad(std::string{o.original_tokens.front().starts_with("-") ? "unknown option"
                                                                        : "unexpected argument"}
                 + " '" + o.original_tokens.front() + "'");
    if (o.string_key == "help") {
      printed_ = help();
      std::fputs(printed_.c_str(), stdout);
      return 0;
    }
  }
  for (auto& o : parsed.options) {
    auto& f = *std::find_if(flags_.begin(), flags_.end(),
                            [&](const flag& g) { return g.name == o.string_key; });
    auto given = o.value.empty() ? std::string{} : o.value.front();
    if (auto why = refusal(f, given); !why.empty())
      return bad(why);
    f.value = given;
    if (f.is_number)
      numbers_[f.name] = std::stol(given);
  }
  return std::nullopt;
}

std::string benchmark_options::help() const {
  auto out = usage_ + "\noptions:\n";
  for (auto& f : flags_) {
    auto line = "  --" + f.name + "=" + (f.is_number ? "N" : "TEXT");
    line.resize(std::max<size_t>(line.size() + 2, 28), ' ');
    out += line + f.help + " (default " + (f.value.empty() ? "none" : f.value) + ")\n";
  }
  out += "  --help                    this text\n";
  return out;
}

} // namespace manta::tools
