#include "tools/command_line.hpp"

#include "manta/core/flag_reader.hpp"
#include "tools/command_help.hpp"

#include <boost/program_options/value_semantic.hpp>

namespace manta::tools {

namespace po = boost::program_options;

namespace {

/// The verb's flags for Program_options ("output,o"), and the names of
/// those whose value is optional.
po::options_description descriptions(const command_verb& verb, std::vector<std::string>& optional) {
  po::options_description out;
  auto add = out.add_options();
  for (auto& f : verb.flags) {
    auto name = std::string{f.name};
    if (f.short_name != 0)
      name += std::string{',', f.short_name};
    if (f.value.empty() && !f.help.empty()) {
      add(name.c_str(), ""); // a switch (an init option borrowed has a value)
    } else {
      add(name.c_str(), po::value<std::string>(), "");
      if (f.value.size() > 2 && f.value.front() == '[')
        optional.emplace_back(f.name);
    }
  }
  return out;
}

} // namespace

bool command_args::has(std::string_view name) const {
  for (auto& [n, v] : flags)
    if (n == name)
      return true;
  return false;
}

std::string command_args::value(std::string_view name, std::string fallback) const {
  for (auto& [n, v] : flags)
    if (n == name)
      fallback = v;
  return fallback;
}

std::vector<std::string> command_args::values(std::string_view name) const {
  std::vector<std::string> out;
  for (auto& [n, v] : flags)
    if (n == name)
      out.push_back(v);
  return out;
}

command_args parse_command(std::string_view verb_name, int argc, char** argv) {
  command_args out;
  auto* verb = find_verb(verb_name);
  auto help = "\n  (manta " + std::string{verb_name} + " --help lists its options)";
  std::vector<std::string> args;
  int i = 1;
  for (; i < argc && std::string_view{argv[i]} != "--"; ++i)
    args.emplace_back(argv[i]);
  if (i < argc) {
    if (!verb->program) {
      out.error = unknown_option_text(verb_name, "--", argc, argv);
      return out;
    }
    out.program.assign(argv + i + 1, argv + argc);
  }
  std::vector<std::string> optional;
  auto options = descriptions(*verb, optional);
  po::parsed_options parsed{nullptr};
  try {
    parsed = detail::read_flags(options, args, optional);
  } catch (const po::error& e) {
    out.error = detail::flag_error_text(e) + help;
    return out;
  }
  for (auto& o : parsed.options) {
    if (o.unregistered) {
      out.error = unknown_option_text(verb_name, o.original_tokens.front(), argc, argv);
      return out;
    }
    if (o.position_key >= 0) { // an argument of the verb's own
      if (verb->arguments >= 0 && out.arguments.size() >= size_t(verb->arguments)) {
        out.error = unknown_option_text(verb_name, o.value.front(), argc, argv);
        return out;
      }
      out.arguments.push_back(o.value.front());
      continue;
    }
    out.flags.emplace_back(o.string_key, o.value.empty() ? std::string{} : o.value.front());
  }
  return out;
}

} // namespace manta::tools
