#include "manta/sched/submit_checks.hpp"

#include "manta/actor/actor_anchor.hpp"
#include "manta/errors.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <sstream>

namespace manta::detail {

namespace {

/// "2.5" rather than "2.500000".
std::string amount_text(double x) {
  std::ostringstream out;
  out << x;
  return out.str();
}

/// Why `amount` of resource `name` cannot be asked for; empty if it can.
std::string amount_problem(const std::string& name, double amount, bool zero_ok) {
  if (!std::isfinite(amount) || amount < 0 || (amount == 0 && !zero_ok))
    return "resource '" + name + "' = " + amount_text(amount) + ": amounts must be positive"
           + (zero_ok ? " or 0" : "") + " (leave a resource out rather than ask for none of it)";
  double whole = 0;
  if (amount > 1 && std::modf(amount, &whole) != 0.0)
    return "resource '" + name + "' = " + amount_text(amount)
           + ": an amount above 1 must be whole (a fraction of one unit may be "
             "shared, as in Ray: 0.5 is fine, 1.5 is not); ask for "
           + amount_text(std::floor(amount)) + " or " + amount_text(std::ceil(amount));
  return {};
}

} // namespace

std::string demand_problem(const resource_demand& d) {
  // The common demand (at most one CPU, nothing else; NaN fails both
  // tests), checked on every submit, returns before any call.
  if (d.custom.empty() && d.cpus >= 0 && d.cpus <= 1)
    return {};
  if (auto why = amount_problem(cpu_resource, d.cpus, true); !why.empty())
    return why;
  for (auto& [name, amount] : d.custom) {
    if (name.empty())
      return "a resource has an empty name (resources({{\"\", " + amount_text(amount)
             + "}})); name it, e.g. {{\"GPU\", 1}}";
    if (auto why = amount_problem(name, amount, false); !why.empty())
      return why;
  }
  return {};
}

void check_demand(const resource_demand& d, const std::string& who) {
  if (auto why = demand_problem(d); !why.empty())
    throw invalid_argument_error(who + ": " + why);
}

void check_actor_name(const std::string& value, const char* what, const char* where) {
  bool blank = std::all_of(value.begin(), value.end(),
                           [](unsigned char c) { return std::isspace(c) != 0; });
  if (blank)
    throw invalid_argument_error(std::string{where} + "(\"" + value + "\"): an actor's " + what
                                 + " must not be blank; give a non-empty " + what
                                 + (std::string_view{what} == "name"
                                      ? ", or leave the name out for an anonymous actor"
                                      : ", or leave it out for \"default\""));
}

} // namespace manta::detail
