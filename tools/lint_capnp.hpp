#pragma once

/// Read first by clang-tidy only (tools/lint.sh passes `-include` this file),
/// never by the build. Cap'n Proto 0.9's capnp/blob.h compares
/// `const char* == kj::StringPtr` and leaves the operator out when the
/// compiler has C++20's rewritten comparisons; clang 16 (which implements
/// P2468R2) then finds no operator, because StringPtr declares an
/// `operator!=` beside its `operator==`, and stops with an error in every
/// file that includes a schema. gcc 12 accepts it. These are the two
/// operators kj declares before C++20, so clang sees what gcc compiles.
#include <kj/string.h>

namespace kj {

inline bool operator==(const char* a, const StringPtr& b) {
  return b == StringPtr{a};
}

inline bool operator!=(const char* a, const StringPtr& b) {
  return !(b == StringPtr{a});
}

} // namespace kj
