#include "manta/core/flag_reader.hpp"

#include <algorithm>
#include <string_view>

namespace manta::detail {

namespace po = boost::program_options;

po::parsed_options read_flags(const po::options_description& options,
                              const std::vector<std::string>& args,
                              const std::vector<std::string>& optional) {
  auto known = [&](std::string_view name) {
    return options.find_nothrow(std::string{name}, false) != nullptr;
  };
  std::vector<std::string> tokens;
  tokens.reserve(args.size());
  for (auto& arg : args) {
    std::string_view a{arg};
    bool is_long = a.size() > 2 && a.substr(0, 2) == "--";
    // "--NAME=": NAME and the empty text, as two arguments.
    if (is_long && a.back() == '=' && known(a.substr(2, a.size() - 3))) {
      tokens.emplace_back(a.substr(0, a.size() - 1));
      tokens.emplace_back();
      continue;
    }
    // "--NAME" of an option whose value is optional: the empty text, so
    // that the next argument stays what it is.
    if (is_long && std::find(optional.begin(), optional.end(), a.substr(2)) != optional.end()) {
      tokens.push_back(arg);
      tokens.emplace_back();
      continue;
    }
    tokens.push_back(arg);
  }
  namespace style = po::command_line_style;
  return po::command_line_parser(tokens)
    .options(options)
    .style(style::allow_long | style::long_allow_adjacent | style::long_allow_next
           | style::allow_short | style::short_allow_adjacent | style::short_allow_next
           | style::allow_dash_for_short)
    .allow_unregistered()
    .run();
}

std::string flag_error_text(const po::error& e) {
  if (auto* syntax = dynamic_cast<const po::invalid_command_line_syntax*>(&e)) {
    if (syntax->kind() == po::invalid_syntax::missing_parameter)
      return syntax->get_option_name() + " needs a value";
    if (syntax->kind() == po::invalid_syntax::extra_parameter)
      return syntax->get_option_name() + " takes no value";
  }
  return e.what();
}

} // namespace manta::detail
