#pragma once

#include <caf/error.hpp>

#include <string>

namespace manta::detail {

/// The text of a refusal CAF carries (`caf::make_error(sec, "text")`, a
/// request's answer): its text alone, else CAF's rendering. An exact match
/// for `caf::error`, so it wins over the codec's `error_text(value_error)`,
/// which would take a `caf::error` through its conversion and keep CAF's
/// rendering ("system_error(invalid_argument, (...))") around the text.
inline std::string error_text(const caf::error& err) {
  if (err.context().match_elements<std::string>())
    return err.context().get_as<std::string>(0);
  return caf::to_string(err);
}

} // namespace manta::detail
