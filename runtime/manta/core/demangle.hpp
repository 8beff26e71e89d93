#pragma once

#include <string>

namespace manta::detail {

/// The readable name of a type from `typeid(...).name()` (the mangled name
/// itself if it does not demangle). On its own so that the decoders, which
/// name types in their errors, need nothing else of the runtime.
std::string demangle(const char* mangled);

} // namespace manta::detail
