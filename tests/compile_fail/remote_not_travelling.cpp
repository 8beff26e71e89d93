// A function declared for use across nodes (MANTA_REMOTE) whose parameter
// cannot cross them must not compile; the diagnostic says what to do.
#include <manta/manta.hpp>

struct with_pointer {
  int* p = nullptr;
};

int deref(with_pointer w) {
  return *w.p;
}

MANTA_REMOTE(deref);

int main() {}
