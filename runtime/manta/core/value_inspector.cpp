#include "manta/core/value_inspector.hpp"

#include <iomanip>
#include <limits>
#include <sstream>

namespace manta::detail {

// As CAF 0.17's binary serializer writes a long double: IEEE 754 does not
// cover it, so it travels as text of full precision.
std::string long_double_text(long double x) {
  std::ostringstream oss;
  oss << std::setprecision(std::numeric_limits<long double>::digits) << x;
  return oss.str();
}

bool long_double_from_text(const std::string& text, long double& x) {
  std::istringstream iss{text};
  return static_cast<bool>(iss >> x);
}

} // namespace manta::detail
