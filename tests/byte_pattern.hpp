#pragma once

// Object bytes for transfer tests: a fixed xorshift sequence, so a wrong
// offset or a dropped chunk shows as a mismatch.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace manta_test {

/// `n` bytes of the same pseudo-random sequence every time.
inline std::shared_ptr<std::vector<char>> pattern(size_t n) {
  auto v = std::make_shared<std::vector<char>>(n);
  uint64_t x = 88172645463325252ull;
  for (auto& c : *v) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    c = static_cast<char>(x);
  }
  return v;
}

} // namespace manta_test
