#include "manta/init.hpp"

#include "actors/atoms.hpp"
#include "manta/detail/runtime.hpp"
#include "manta/errors.hpp"

#include <caf/all.hpp>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string_view>

namespace manta {

namespace {

double parse_amount(std::string_view flag, std::string_view text) {
  std::string s{text};
  char* end = nullptr;
  double x = std::strtod(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size() || !std::isfinite(x) || x < 0)
    throw invalid_argument_error("manta::init: " + std::string{flag}
                                 + " expects a finite, non-negative number, got '"
                                 + s + "'");
  return x;
}

/// Parses "GPU:1,disk:2".
resource_map parse_resources(std::string_view text) {
  resource_map out;
  while (!text.empty()) {
    auto comma = text.find(',');
    auto item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    auto colon = item.find(':');
    if (colon == std::string_view::npos || colon == 0)
      throw invalid_argument_error("manta::init: --resources expects NAME:AMOUNT "
                                   "pairs separated by commas (e.g. GPU:1,disk:2), got '"
                                   + std::string{item} + "'");
    out[std::string{item.substr(0, colon)}] =
      parse_amount("--resources", item.substr(colon + 1));
  }
  return out;
}

} // namespace

void init(init_options opts) {
  detail::runtime::start(opts);
}

void init(int argc, char** argv) {
  init_options opts;
  if (auto env = std::getenv("MANTA_NUM_CPUS"); env != nullptr && *env != '\0')
    opts.num_cpus = parse_amount("MANTA_NUM_CPUS", env);
  for (int i = 1; i < argc; ++i) {
    std::string_view arg{argv[i]};
    auto value_of = [&](std::string_view flag) -> std::optional<std::string_view> {
      if (arg.substr(0, flag.size()) != flag)
        return std::nullopt;
      auto rest = arg.substr(flag.size());
      if (rest.empty()) {
        if (i + 1 >= argc)
          throw invalid_argument_error("manta::init: " + std::string{flag}
                                       + " needs a value");
        return std::string_view{argv[++i]};
      }
      if (rest.front() != '=')
        return std::nullopt;
      return rest.substr(1);
    };
    if (auto v = value_of("--num-cpus"))
      opts.num_cpus = parse_amount("--num-cpus", *v);
    else if (auto v = value_of("--resources"))
      opts.resources = parse_resources(*v);
    else if (auto v = value_of("--scheduler-threads"))
      opts.scheduler_threads = static_cast<size_t>(
        std::max(1.0, parse_amount("--scheduler-threads", *v)));
    else if (arg.substr(0, 8) == "--manta-")
      throw invalid_argument_error(
        "manta::init: unknown option '" + std::string{arg}
        + "'; Manta's options are --num-cpus=N, --resources=NAME:AMOUNT,... "
          "and --scheduler-threads=N");
  }
  init(std::move(opts));
}

void shutdown() {
  detail::runtime::stop();
}

bool is_initialized() noexcept {
  return detail::runtime::current() != nullptr;
}

namespace {

std::pair<resource_map, resource_map> query_resources(const char* what) {
  auto& rt = detail::runtime::require(what);
  std::pair<resource_map, resource_map> out;
  caf::scoped_actor self{rt.system()};
  self->request(rt.node_manager(), std::chrono::seconds(10),
                actors::resources_atom::value)
    .receive([&](resource_map& free, resource_map& total) {
               out = {std::move(free), std::move(total)};
             },
             [&](caf::error& err) {
               throw error(std::string{"manta::"} + what
                           + ": the node manager did not answer: "
                           + rt.system().render(err));
             });
  return out;
}

} // namespace

resource_map available_resources() {
  return query_resources("available_resources").first;
}

resource_map cluster_resources() {
  return query_resources("cluster_resources").second;
}

} // namespace manta
