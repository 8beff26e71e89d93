// Explicitly serializing a type without an encoding must not compile, and
// the diagnostic must say what to add.
#include <manta/core/codec.hpp>

struct no_inspect {
  int* p = nullptr;
};

int main() {
  auto bytes = manta::detail::encode(no_inspect{});
  return static_cast<int>(bytes.size());
}
